/* SPDX-License-Identifier: MIT */
/* `asyncbridge lint`: placeholder, replaced by the real command. */
#include "cli.h"

int bridge_cmd_lint(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    bridge_errorf("lint: not implemented yet");
    return 2;
}
