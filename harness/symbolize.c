/* symbolize.c: code addresses to function, file and line, with libdw.
 *
 * libdwfl reads the symbol tables (so static functions of the main program
 * are named without -rdynamic) and the DWARF line tables of every loaded
 * object, straight from the files in /proc/self/maps. Results are cached per
 * address for the life of the process: reports ask for the same few hundred
 * addresses over and over. All of it runs as the library's own code, so its
 * allocations are never tracked. */
#include "internal.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct sym_entry {
    uintptr_t pc;
    lc_frame frame;
    struct sym_entry *next;
} sym_entry;

#define SYM_BUCKETS 4096
static sym_entry *cache[SYM_BUCKETS];
static pthread_mutex_t sym_lock = PTHREAD_MUTEX_INITIALIZER;
static Dwfl *dwfl;
static char cwd[512];
static size_t cwd_len;

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

static void dwfl_reload(void) {
    if (dwfl) dwfl_end(dwfl);
    dwfl = dwfl_begin(&callbacks);
    if (!dwfl) return;
    if (dwfl_linux_proc_report(dwfl, getpid()) != 0 || dwfl_report_end(dwfl, NULL, NULL) != 0) {
        dwfl_end(dwfl);
        dwfl = NULL;
    }
    if (getcwd(cwd, sizeof cwd)) {
        cwd_len = strlen(cwd);
    }
}

static const char *relative(const char *path) {
    if (path && cwd_len && strncmp(path, cwd, cwd_len) == 0 && path[cwd_len] == '/')
        return path + cwd_len + 1;
    return path;
}

/* Compilers that emit no .debug_aranges (clang) leave libdwfl without an
 * address index for line lookups; walk the compile units and ask each
 * whether it covers pc. */
static const char *line_by_cu_walk(Dwfl_Module *mod, uintptr_t pc, int *lineno) {
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    if (!dw) return NULL;
    Dwarf_Off off = 0, next;
    size_t header;
    while (dwarf_nextcu(dw, off, &next, &header, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu;
        if (dwarf_offdie(dw, off + header, &cu) && dwarf_haspc(&cu, pc - bias) > 0) {
            Dwarf_Line *line = dwarf_getsrc_die(&cu, pc - bias);
            if (line && dwarf_lineno(line, lineno) == 0) return dwarf_linesrc(line, NULL, NULL);
            return NULL;
        }
        off = next;
    }
    return NULL;
}

static void resolve(uintptr_t pc, lc_frame *f) {
    memset(f, 0, sizeof *f);
    f->pc = pc;
    Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, pc) : NULL;
    if (!mod) {
        dwfl_reload(); /* a dlopen since the last load */
        mod = dwfl ? dwfl_addrmodule(dwfl, pc) : NULL;
    }
    if (!mod) return;
    Dwarf_Addr base = 0;
    const char *modname = dwfl_module_info(mod, NULL, &base, NULL, NULL, NULL, NULL, NULL);
    f->offset = pc - (uintptr_t)base;
    f->module = modname ? strdup(modname) : NULL;
    GElf_Sym sym;
    GElf_Off off;
    const char *name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
    f->function = name ? strdup(name) : NULL;
    Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
    int lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL)
                            : line_by_cu_walk(mod, pc, &lineno);
    if (file) {
        f->file = strdup(relative(file));
        f->line = lineno;
    }
}

int lc_symbolize_pc(uintptr_t pc, lc_frame *out) {
    lc_self_enter();
    pthread_mutex_lock(&sym_lock);
    if (!dwfl) dwfl_reload();
    size_t b = (pc >> 2) % SYM_BUCKETS;
    sym_entry *e = cache[b];
    while (e && e->pc != pc)
        e = e->next;
    if (!e && (e = calloc(1, sizeof *e))) {
        e->pc = pc;
        resolve(pc, &e->frame);
        e->next = cache[b];
        cache[b] = e;
    }
    if (e) *out = e->frame;
    pthread_mutex_unlock(&sym_lock);
    lc_self_leave();
    return e && (e->frame.function || e->frame.file) ? 0 : -1;
}

void lc_symbolize_lock(void) {
    pthread_mutex_lock(&sym_lock);
}
void lc_symbolize_unlock(void) {
    pthread_mutex_unlock(&sym_lock);
}

/* Return addresses point after the call; the call itself is one byte
 * earlier, which matters when the call is the last instruction of a line. */
static uintptr_t call_site(uintptr_t return_address) {
    return return_address - 1;
}

int lc_stack_frame(uint32_t stack_id, int i, lc_frame *f) {
    const uintptr_t *pcs;
    int depth = lc_stack_get(stack_id, &pcs);
    if (i < 0 || i >= depth) return -1;
    lc_symbolize_pc(call_site(pcs[i]), f);
    f->pc = pcs[i];
    f->offset += 1; /* the return address, as the pc above */
    return 0;
}

int lc_stack_site_frame(lc_stack_id id, lc_frame *f) {
    const uintptr_t *pcs;
    int depth = lc_stack_get(id, &pcs);
    for (int i = 0; i < depth; i++) {
        if (lc_os_pc_in_runtime(pcs[i]) && i + 1 < depth) continue;
        return lc_stack_frame(id, i, f);
    }
    return -1;
}
