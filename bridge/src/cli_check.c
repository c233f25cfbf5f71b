/* SPDX-License-Identifier: MIT */
/* `asyncbridge check`: placeholder, replaced by the real command. */
#include "cli.h"

int bridge_cmd_check(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    bridge_errorf("check: not implemented yet");
    return 2;
}
