/* SPDX-License-Identifier: MIT */
/*
 * Runner for the unit-test harness in test.h: runs every registered test,
 * or those whose name contains argv[1], and prints "N passed, N failed".
 */
#include "test.h"

#include <stdarg.h>

#define TEST_MAX 1024

static struct {
    const char *name;
    test_fn fn;
} tests[TEST_MAX];
static int n_tests;
static int current_failed;

void test_register(const char *name, test_fn fn)
{
    if (n_tests == TEST_MAX) {
        fprintf(stderr, "too many tests, raise TEST_MAX\n");
        exit(2);
    }
    tests[n_tests].name = name;
    tests[n_tests].fn = fn;
    n_tests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failed = 1;
}

int test_failed(void)
{
    return current_failed;
}

const char *test_data_dir(void)
{
    const char *d = getenv("ASYNCBRIDGE_TESTDATA");
    return d ? d : TEST_DATA_DIR;
}

const char *test_fixtures_dir(void)
{
    return TEST_FIXTURES_DIR;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;

    for (int i = 0; i < n_tests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]))
            continue;
        current_failed = 0;
        tests[i].fn();
        if (current_failed) {
            printf("FAIL %s\n", tests[i].name);
            failed++;
        } else {
            printf("ok   %s\n", tests[i].name);
            passed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : (passed ? 0 : 1);
}
