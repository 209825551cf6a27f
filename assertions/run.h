/* run.h: what runs the check for the program: start-up and fork
 * (init.c), process mode (process_mode.c), the fault sweep
 * (fault_sweep.c). */
#ifndef LC_RUN_H
#define LC_RUN_H

#include "core.h"

/* Process mode (`leakcheck run`): installs the check at exit when
 * LEAKCHECK_MODE=process; called at the end of start-up. */
void lc_process_mode_init(void);

#endif
