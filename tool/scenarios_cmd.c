/* SPDX-License-Identifier: MIT */
/* scenarios_cmd.c: `leakcheck scenarios list | run`.
 *
 * The built-in reproductions (scenarios/registry.c) through the same
 * command line a user's scenario program gets from lc_scenarios_main
 * (assertions/scenario_cli.c): the tool only supplies its catalogue. */
#include "tool.h"

#include "opts.h"
#include "scenario.h"
#include "scenarios.h"

#include <stdlib.h>

int lc_cli_scenarios(int argc, char **argv) {
    const lc_scenario **list = calloc(lc_scenario_count, sizeof *list);
    if (!list) return lc_opts_fail("scenarios", "out of memory");
    for (size_t i = 0; i < lc_scenario_count; i++)
        list[i] = &lc_scenarios[i];
    int status = lc_scenarios_cli("leakcheck", "scenarios", list, lc_scenario_count, argc, argv);
    free(list);
    return status;
}
