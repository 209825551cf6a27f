/* SPDX-License-Identifier: MIT */
/* scenarios_cmd.c: `leakcheck scenarios list | run`.
 *
 * The built-in reproductions (scenarios/registry.c) through the same
 * command line a user's scenario program gets from lc_scenarios_main
 * (assertions/scenario_cli.c): the tool only supplies its catalogue. */
#include "tool.h"

#include "scenario.h"
#include "scenarios.h"

int lc_cli_scenarios(int argc, char **argv) {
    const lc_scenario *list[64];
    size_t n = 0;
    for (size_t i = 0; i < lc_scenario_count && n < sizeof list / sizeof *list; i++)
        list[n++] = &lc_scenarios[i];
    return lc_scenarios_cli("leakcheck", "scenarios", list, n, argc, argv);
}
