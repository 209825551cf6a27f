/* SPDX-License-Identifier: MIT */
/* symbols.h: code and data addresses as names (symbolize.c), and stacks
 * as the lines of a report (stack_report.c). */
#ifndef LC_SYMBOLS_H
#define LC_SYMBOLS_H

#include "buf.h"
#include "stacks.h"

/* Symbolize a code address (pc is used as given; pass pc - 1 for return
 * addresses). Strings are cached for the life of the process. */
int lc_symbolize_pc(uintptr_t pc, lc_frame *f);
/* The first frame of a stack that is not inside the C runtime's allocation
 * family (so strdup's caller, not strdup, is named as the site). */
int lc_stack_site_frame(lc_stack_id id, lc_frame *f);
/* The variable at a data address of `module` (a name as
 * lc_os_for_each_data_region gives it; static variables too): its name, the
 * offset into it, and the file and line that declare it when DWARF says.
 * With tls, addr is an offset into the module's TLS block instead. */
typedef struct lc_data_sym {
    const char *name; /* NULL when unknown */
    uintptr_t offset;
    const char *file;
    int line;
    const char *module;
} lc_data_sym;
int lc_symbolize_data(uintptr_t addr, const char *module, bool tls, lc_data_sym *out);
/* Why frames lack function, file and line (libdw could not be loaded),
 * once a symbolization tried; NULL when nothing is missing. */
const char *lc_symbolize_problem(void);
/* Load libdw now rather than at the first symbolization, for callers that
 * will symbolize from the allocation path (a fault-injection scope). */
void lc_symbolize_prepare(void);
void lc_symbolize_lock(void);
void lc_symbolize_unlock(void);

/* Stacks in reports (stack_report.c). */
void lc_report_frame_text(lc_buf *b, const lc_frame *f, const char *indent);
void lc_report_stack(lc_buf *b, lc_stack_id id, const char *indent, int max_frames);
/* Frames of a stack worth showing: up to the program's outermost frame. */
int lc_report_useful_depth(lc_stack_id id);
void lc_report_stack_json(lc_buf *b, const lc_frame *frames, int n);

#endif
