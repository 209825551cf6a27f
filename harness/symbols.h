/* SPDX-License-Identifier: MIT */
/* symbols.h: code and data addresses as names (symbolize.c, elf_symbols.c,
 * and under the supervisor line_client.c), and stacks as the lines of a
 * report (stack_report.c). */
#ifndef LC_SYMBOLS_H
#define LC_SYMBOLS_H

#include "buf.h"
#include "stacks.h"

/* Symbolize a code address (pc is used as given; pass pc - 1 for return
 * addresses). Strings are cached for the life of the process. */
int lc_symbolize_pc(uintptr_t pc, lc_frame *f);
/* The same with a file and line now or none, never a deferred one: for
 * answers the program itself reads (lc_stack_frame, lc_diff_print). */
int lc_symbolize_pc_now(uintptr_t pc, lc_frame *f);
/* Under the supervisor, the files of every frame of the stacks wanted,
 * asked in one exchange when ask_wanted is called, before a caller reads
 * them all (suppression matching): one round trip, not one a frame. */
void lc_symbolize_want_stack(lc_stack_id id);
void lc_symbolize_ask_wanted(void);
/* Frame i of a stack as reports use it (lc_stack_frame, the public one,
 * gives no deferred file). */
int lc_stack_frame_at(uint32_t stack_id, int i, lc_frame *f);
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

/* The separate debug file of an object, as libdwfl's find_debuginfo
 * callback wants it, searched locally only (never debuginfod): by build id
 * under /usr/lib/debug/.build-id, then by its .gnu_debuglink name beside
 * file_name, in its .debug directory and under /usr/lib/debug. An open fd
 * with *debuginfo_file_name set (malloc'd, libdwfl frees it), or -1. */
int lc_open_local_debuginfo(const unsigned char *id, int id_len, const char *file_name,
                            const char *debuglink_file, char **debuginfo_file_name);
/* Why frames lack function, file and line (libdw could not be loaded),
 * once a symbolization tried; NULL when nothing is missing. */
const char *lc_symbolize_problem(void);
/* Load libdw now rather than at the first symbolization, for callers that
 * will symbolize from the allocation path (a fault-injection scope). */
void lc_symbolize_prepare(void);
void lc_symbolize_lock(void);
void lc_symbolize_unlock(void);

/* Within the module: symbolize.c's helpers, and the libdw side
 * (symbolize_dw.c), called with the symbolizer's lock held. */
void lc_symbolize_note_cwd(void); /* files under it are shown relative to it */
const char *lc_symbolize_relative(const char *path);
char *lc_symbolize_demangle(const char *name); /* malloc'd */
bool lc_dw_ready(void);                        /* libdw loaded, once */
const char *lc_dw_problem(void);               /* why not, or NULL */
void lc_dw_open(void);                         /* the process's objects reported */
void lc_dw_resolve(uintptr_t pc, lc_frame *f);
void lc_dw_resolve_data(uintptr_t addr, const char *module, bool tls, lc_data_sym *out);

/* The loaded objects as elf_symbols.c reads them, without libdw: every
 * object seen, kept after dlclose (gone). */
#define LC_BUILD_ID_MAX 40
typedef struct lc_module {
    const char *path;     /* as /proc/self/maps shows it */
    uintptr_t bias;       /* load bias: run-time address - ELF address */
    uintptr_t start, end; /* lowest (page-aligned) and highest address mapped */
    unsigned char build_id[LC_BUILD_ID_MAX];
    int build_id_len;
    int index; /* 0, 1, ... in the order met */
    bool gone; /* unloaded by dlclose */
} lc_module;
/* The module holding pc and the symbol containing it (name NULL when none:
 * the name points into a mapped string table, mangled as the file has it;
 * offset is pc - the symbol's address; type its STT_ type). NULL when no
 * object holds pc. */
const lc_module *lc_elf_symbol(uintptr_t pc, const char **name, uintptr_t *offset,
                               unsigned char *type);
/* The loaded object dl_iterate_phdr calls `name` ("(main program)"). */
const lc_module *lc_elf_module_named(const char *name);
/* The TLS variable of m at `offset` in its TLS block, and the offset into it. */
const char *lc_elf_tls_symbol(const lc_module *m, uintptr_t offset, uintptr_t *into);
/* Note objects loaded or unloaded since the last look. */
void lc_elf_modules_refresh(void);
/* In the order met; fn must not call back into this module. */
void lc_elf_for_each_module(void (*fn)(const lc_module *m, void *arg), void *arg);
void lc_elf_lock(void);
void lc_elf_unlock(void);

/* Under the supervisor (process_mode.c): names come from elf_symbols.c and
 * libdw is never loaded; a frame's file is then a key for the supervisor
 * and its line LC_LINE_DEFERRED (lc_frame_deferred), and reports write a
 * hole in place of the file and line (lc_report_file_line). */
#define LC_LINE_DEFERRED (-1)
void lc_symbolize_defer_lines(void);
/* Where a file and line are needed inside the process (a suppression by
 * file, a profile, a graph, a live dump, the program's own questions), the
 * supervisor answers them (line_client.c): set its socket (false when the
 * path cannot be one). symbolize.c then asks it for a deferred file read
 * while no report leaves holes (lc_symbolize_pc) or wanted now
 * (lc_symbolize_pc_now). A hold makes a run of questions share one
 * connection until released (holds nest). */
bool lc_line_service_use(const char *socket_path);
bool lc_line_service_known(void);
void lc_line_service_hold(void);
void lc_line_service_release(void);
void lc_line_service_after_fork_child(void);
/* Questions on one connection, answered in order: each asks for the source
 * of an ELF address of a module, kind 'L' the line of code at addr, 'g' and
 * 't' the declaration of the global (TLS) variable at addr. answer(i, file,
 * line, arg) for each the supervisor knows. 0, or -1 when the service could
 * not be asked or the exchange broke (the answers given before stand). */
typedef struct lc_line_question {
    const lc_module *module;
    char kind;
    uintptr_t addr;
} lc_line_question;
typedef void lc_line_answer_fn(size_t i, const char *file, int line, void *arg);
int lc_line_service_ask_all(const lc_line_question *q, size_t n, lc_line_answer_fn *answer,
                            void *arg);
static inline bool lc_frame_deferred(const char *file, int line) {
    return file && line == LC_LINE_DEFERRED;
}

/* Stacks in reports (stack_report.c). */
void lc_report_frame_text(lc_buf *b, const lc_frame *f, const char *indent);
void lc_report_stack(lc_buf *b, lc_stack_id id, const char *indent, int max_frames);
/* Frames of a stack worth showing: up to the program's outermost frame. */
int lc_report_useful_depth(lc_stack_id id);
void lc_report_stack_json(lc_buf *b, const lc_frame *frames, int n);
/* Holes in the reports being written (under the supervisor, at exit and
 * at the deadline); otherwise a deferred file is written as no file. */
bool lc_report_set_holes(bool on); /* returns the previous setting */
bool lc_report_holes_on(void);
/* The file and line of a frame (or, with form 'p' and 'j', of a
 * variable's declaration) in one of the report's forms:
 *   'P' " (FILE:LINE)" or nothing     'A' " at FILE:LINE" or nothing
 *   'J' "\"file\": F, \"line\": N" (null and 0 when unknown)
 *   'p' as 'P', of a declaration      'j' a site object or null. */
void lc_report_file_line(lc_buf *b, const char *file, int line, char form);
/* The module map the holes refer to: the process's working directory, then
 * a line per object seen: "INDEX BIAS BUILD-ID PATH" (hex; "-" without a
 * build id). Inside another file, between a line "modules:" and a line
 * "end modules". */
void lc_report_modules(lc_buf *b);

#endif
