/* SPDX-License-Identifier: MIT */
/* stack_report.c: how stacks and frames are written in reports.
 *
 * One place decides what a frame looks like in text ("make_ctx (x.c:30)")
 * and in JSON, and which frames of an allocation stack are worth showing:
 * the allocator family inside the C runtime (malloc's callers such as
 * strdup) stays, the library's own frames never appear. Under the
 * supervisor the file and line of a frame are a hole the supervisor fills
 * (tool/holes.c), and the module map the holes refer to is written here. */
#include "buf.h"
#include "os.h"
#include "stacks.h"
#include "symbols.h"

#include <string.h>
#include <unistd.h>

static atomic_bool holes;

bool lc_report_set_holes(bool on) {
    return atomic_exchange(&holes, on);
}

bool lc_report_holes_on(void) {
    return atomic_load(&holes);
}

/* A deferred file in a report with holes: the hole, its key the frame's
 * (module and address) and, with `offset`, the module offset the
 * supervisor shows when DWARF has no line. */
static bool hole(lc_buf *b, const char *file, int line, char form, const uintptr_t *offset) {
    if (!lc_frame_deferred(file, line) || !atomic_load(&holes)) return false;
    char key[96];
    if (offset)
        snprintf(key, sizeof key, "%s,%lx", file, (unsigned long)*offset);
    else
        snprintf(key, sizeof key, "%s", file);
    lc_buf_hole(b, form, key);
    return true;
}

void lc_report_file_line(lc_buf *b, const char *file, int line, char form) {
    if (hole(b, file, line, form, NULL)) return;
    bool known = file && !lc_frame_deferred(file, line);
    switch (form) {
    case 'P':
    case 'p':
        if (known) lc_buf_printf(b, " (%s:%d)", file, line);
        break;
    case 'A':
        if (known) lc_buf_printf(b, " at %s:%d", file, line);
        break;
    case 'J':
        lc_buf_printf(b, "\"file\": ");
        lc_buf_json_str(b, known ? file : NULL);
        lc_buf_printf(b, ", \"line\": %d", known ? line : 0);
        break;
    case 'j':
        if (!known) {
            lc_buf_printf(b, "null");
            break;
        }
        lc_buf_printf(b, "{\"function\": null, \"file\": ");
        lc_buf_json_str(b, file);
        lc_buf_printf(b, ", \"line\": %d}", line);
        break;
    }
}

void lc_report_frame_text(lc_buf *b, const lc_frame *f, const char *indent) {
    const char *fn = f->function ? f->function : "??";
    if (lc_frame_deferred(f->file, f->line) && atomic_load(&holes)) {
        lc_buf_printf(b, "%s%s", indent, fn);
        hole(b, f->file, f->line, 'T', &f->offset);
        lc_buf_printf(b, "\n");
    } else if (f->file && !lc_frame_deferred(f->file, f->line))
        lc_buf_printf(b, "%s%s (%s:%d)\n", indent, fn, f->file, f->line);
    else if (f->module) {
        const char *base = strrchr(f->module, '/');
        lc_buf_printf(b, "%s%s (%s+0x%lx)\n", indent, fn, base ? base + 1 : f->module,
                      (unsigned long)f->offset);
    } else
        lc_buf_printf(b, "%s%s (0x%lx)\n", indent, fn, (unsigned long)f->pc);
}

int lc_report_useful_depth(lc_stack_id id) {
    const uintptr_t *pcs;
    int depth = lc_stack_get(id, &pcs);
    /* Below the program's outermost frame there is only the C runtime's
     * start code (__libc_start_main, _start, start_thread, clone3), or in a
     * thread the library's trampoline that ran the start routine. */
    bool seen_program = false;
    for (int i = 0; i < depth; i++) {
        bool runtime = lc_os_pc_in_runtime(pcs[i]);
        if (seen_program && runtime) return i;
        if (seen_program) {
            lc_frame f;
            lc_symbolize_pc(pcs[i] - 1, &f);
            if (f.function && strcmp(f.function, "lc_thread_trampoline") == 0) return i;
        }
        seen_program |= !runtime;
    }
    return depth;
}

void lc_report_stack(lc_buf *b, lc_stack_id id, const char *indent, int max_frames) {
    lc_frame f;
    int useful = lc_report_useful_depth(id);
    int i = 0;
    for (; i < max_frames && i < useful && lc_stack_frame_at(id, i, &f) == 0; i++)
        lc_report_frame_text(b, &f, indent);
    if (useful == 0)
        lc_buf_printf(b, "%s(no stack recorded: LEAKCHECK_STACK_DEPTH=0)\n", indent);
    else if (useful > i)
        lc_buf_printf(b, "%s... %d more frames\n", indent, useful - i);
    /* Said once per process, below the first stack it concerns. */
    static atomic_bool told;
    const char *why = i > 0 ? lc_symbolize_problem() : NULL;
    if (why && !atomic_exchange(&told, true))
        lc_buf_printf(b, "%s(%s: frames show module+offset and exported names only)\n", indent,
                      why);
}

void lc_report_stack_json(lc_buf *b, const lc_frame *frames, int n) {
    lc_buf_printf(b, "[");
    for (int i = 0; i < n; i++) {
        lc_buf_printf(b, "%s{\"function\": ", i ? ", " : "");
        lc_buf_json_str(b, frames[i].function);
        lc_buf_printf(b, ", ");
        lc_report_file_line(b, frames[i].file, frames[i].line, 'J');
        lc_buf_printf(b, ", \"pc\": \"0x%lx\"}", (unsigned long)frames[i].pc);
    }
    lc_buf_printf(b, "]");
}

static void module_line(const lc_module *m, void *arg) {
    lc_buf *b = arg;
    lc_buf_printf(b, "%d %lx ", m->index, (unsigned long)m->bias);
    for (int i = 0; i < m->build_id_len; i++)
        lc_buf_printf(b, "%02x", m->build_id[i]);
    lc_buf_printf(b, "%s %s\n", m->build_id_len ? "" : "-", m->path);
}

void lc_report_modules(lc_buf *b) {
    char cwd[4096];
    lc_buf_printf(b, "%s\n", getcwd(cwd, sizeof cwd) ? cwd : "");
    lc_elf_for_each_module(module_line, b);
}
