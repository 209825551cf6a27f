/* SPDX-License-Identifier: MIT */
/* symbolize_dw.c: names, files and lines from libdw, for symbolize.c.
 *
 * libdwfl reads the symbol tables (so static functions of the main program
 * are named without -rdynamic) and the DWARF line tables of every loaded
 * object, straight from the files in /proc/self/maps. libdw is not linked:
 * it is loaded at the first symbolization (dlopen), so a process that never
 * prints a report never maps it and the objects it brings (libelf, libbz2),
 * which every process start would relocate and every fork copy the
 * mappings of (docs/dependencies.md). Separate debug files are looked up on
 * this machine only (by build id under /usr/lib/debug, then by
 * .gnu_debuglink), never through debuginfod. Under `leakcheck run` none of
 * this is used: the process never loads libdw.
 *
 * Every function here runs under symbolize.c's lock, as the library's own
 * code (its allocations untracked). */
#include "core.h"
#include "os.h"
#include "stacks.h"
#include "symbols.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ loading libdw */

/* Every libdw function this file calls, reached through `libdw`. */
#define DW_FUNCTIONS(X)                                                                            \
    X(dwfl_begin)                                                                                  \
    X(dwfl_end)                                                                                    \
    X(dwfl_linux_proc_report)                                                                      \
    X(dwfl_linux_proc_find_elf)                                                                    \
    X(dwfl_report_end)                                                                             \
    X(dwfl_addrmodule)                                                                             \
    X(dwfl_getmodules)                                                                             \
    X(dwfl_module_info)                                                                            \
    X(dwfl_module_build_id)                                                                        \
    X(dwfl_module_addrinfo)                                                                        \
    X(dwfl_module_getsymtab)                                                                       \
    X(dwfl_module_getsym_info)                                                                     \
    X(dwfl_module_getsrc)                                                                          \
    X(dwfl_module_getdwarf)                                                                        \
    X(dwfl_lineinfo)                                                                               \
    X(dwarf_nextcu)                                                                                \
    X(dwarf_offdie)                                                                                \
    X(dwarf_child)                                                                                 \
    X(dwarf_siblingof)                                                                             \
    X(dwarf_tag)                                                                                   \
    X(dwarf_attr)                                                                                  \
    X(dwarf_getlocation)                                                                           \
    X(dwarf_haspc)                                                                                 \
    X(dwarf_getsrc_die)                                                                            \
    X(dwarf_lineno)                                                                                \
    X(dwarf_linesrc)                                                                               \
    X(dwarf_decl_file)                                                                             \
    X(dwarf_decl_line)

#define DW_FIELD(name) __typeof__(&name) name;
static struct { DW_FUNCTIONS(DW_FIELD) } libdw;
#define DW(name) (libdw.name)

static bool dw_loaded;
static char dw_problem[320]; /* why it is not, once a load was tried */
static pthread_once_t dw_once = PTHREAD_ONCE_INIT;
static Dwfl_Callbacks callbacks; /* filled by dw_load */
static Dwfl *dwfl;
static int find_local_debuginfo(Dwfl_Module *, void **, const char *, Dwarf_Addr, const char *,
                                const char *, GElf_Word, char **);

/* Runs once, in the first thread that symbolizes, under sym_lock: the fork
 * handler (assertions/init.c) takes that lock too, so no child is forked in
 * the middle of a load and inherits a once that never completes. Nothing
 * here runs inside a dl_iterate_phdr callback or a signal handler: reports
 * are made from ordinary code (a check, the exit handler). RTLD_LOCAL keeps
 * libdw's names out of the program's lookups; RTLD_NOW binds them all here
 * rather than in the middle of a report. */
static void dw_load(void) {
    /* zlib first, by name: loaded as libdw's dependency, memcheck reports
     * 40 bytes of the dynamic linker's (_dl_map_object_deps) definitely
     * lost, in every valgrind run that symbolizes; loaded on its own, as the
     * profile writer does (pprof_gzip.c), nothing. A failure here is
     * libdw's to report. */
    (void)dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(dw_problem, sizeof dw_problem, "libdw could not be loaded: %s",
                 e ? e : "dlopen failed");
        return;
    }
#define DW_LOOKUP(name)                                                                            \
    if (!(*(void **)&libdw.name = dlsym(h, #name))) {                                              \
        snprintf(dw_problem, sizeof dw_problem, "libdw could not be loaded: libdw.so.1 has no %s", \
                 #name);                                                                           \
        dlclose(h);                                                                                \
        return;                                                                                    \
    }
    DW_FUNCTIONS(DW_LOOKUP)
#undef DW_LOOKUP
    callbacks.find_elf = libdw.dwfl_linux_proc_find_elf;
    callbacks.find_debuginfo = find_local_debuginfo;
    dw_loaded = true;
}

static int open_debug_file(const char *path, char **name) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    *name = strdup(path); /* libdwfl owns and frees it */
    if (!*name) {
        close(fd);
        return -1;
    }
    return fd;
}

int lc_open_local_debuginfo(const unsigned char *id, int id_len, const char *file_name,
                            const char *debuglink_file, char **debuginfo_file_name) {
    char path[1024];
    if (id && id_len > 1 && id_len < 64) {
        int n = snprintf(path, sizeof path, "/usr/lib/debug/.build-id/%02x/", id[0]);
        for (int i = 1; i < id_len && n > 0 && (size_t)n < sizeof path - 8; i++)
            n += snprintf(path + n, sizeof path - (size_t)n, "%02x", id[i]);
        snprintf(path + n, sizeof path - (size_t)n, ".debug");
        int fd = open_debug_file(path, debuginfo_file_name);
        if (fd >= 0) return fd;
    }
    if (!debuglink_file || !file_name) return -1;
    const char *slash = strrchr(file_name, '/');
    int dir_len = slash ? (int)(slash - file_name) : 0;
    const char *forms[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        snprintf(path, sizeof path, forms[i], dir_len, file_name, debuglink_file);
        if (strcmp(path, file_name) == 0) continue;
        int fd = open_debug_file(path, debuginfo_file_name);
        if (fd >= 0) return fd;
    }
    return -1;
}

static int find_local_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                                Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                                GElf_Word debuglink_crc, char **debuginfo_file_name) {
    (void)userdata, (void)modname, (void)base, (void)debuglink_crc;
    const unsigned char *id;
    GElf_Addr vaddr;
    int len = DW(dwfl_module_build_id)(mod, &id, &vaddr);
    return lc_open_local_debuginfo(len > 0 ? id : NULL, len, file_name, debuglink_file,
                                   debuginfo_file_name);
}

/* ------------------------------------------------------------ symbol index */

/* libdwfl names the symbol of an address with a linear pass over the
 * symbol table. For an object of tens of thousands of symbols (gcc's cc1
 * exports 29,000) and a report of thousands of distinct frames, that pass
 * was most of the report's time; such objects get an index sorted by
 * address, built once. Smaller ones keep libdwfl's answer. */
#define INDEX_MIN_SYMBOLS 4096
#define INDEX_LOOKBACK 64 /* symbols below an address searched for one containing it */

typedef struct sym_ix {
    uintptr_t addr, size;
    const char *name; /* libdwfl's, valid while dwfl is */
    int rank;         /* global 0, weak 1, local 2: the name preferred at one address */
    unsigned char type;
} sym_ix;

typedef struct sym_index {
    Dwfl_Module *mod;
    sym_ix *v; /* NULL: too few symbols to need one */
    size_t n;
    struct sym_index *next;
} sym_index;

static sym_index *indexes;

static int by_addr_then_rank(const void *a, const void *b) {
    const sym_ix *x = a, *y = b;
    if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
    return x->rank - y->rank;
}

static void index_build(sym_index *x) {
    int n = DW(dwfl_module_getsymtab)(x->mod);
    if (n < INDEX_MIN_SYMBOLS || !(x->v = malloc((size_t)n * sizeof *x->v))) return;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr value;
        const char *name = DW(dwfl_module_getsym_info)(x->mod, i, &sym, &value, NULL, NULL, NULL);
        unsigned char type = GELF_ST_TYPE(sym.st_info);
        if (!name || !name[0] || sym.st_shndx == SHN_UNDEF || !value || type == STT_SECTION ||
            type == STT_FILE || type == STT_TLS)
            continue;
        int bind = GELF_ST_BIND(sym.st_info);
        x->v[x->n++] = (sym_ix){value, sym.st_size, name,
                                bind == STB_GLOBAL ? 0
                                : bind == STB_WEAK ? 1
                                                   : 2,
                                type};
    }
    qsort(x->v, x->n, sizeof *x->v, by_addr_then_rank);
}

static const sym_index *index_of(Dwfl_Module *mod) {
    for (sym_index *x = indexes; x; x = x->next)
        if (x->mod == mod) return x;
    sym_index *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->mod = mod;
    index_build(x);
    x->next = indexes;
    indexes = x;
    return x;
}

/* The lowest-ranked of the symbols at v[i]'s address, from v[i] down. */
static size_t best_at(const sym_ix *v, size_t i) {
    while (i > 0 && v[i - 1].addr == v[i].addr)
        i--;
    return i;
}

/* The sized symbol containing addr that starts highest, global before weak
 * before local at one address, as libdwfl chooses. An address no sized
 * symbol contains goes unnamed: libdwfl would search the whole table again
 * for each, to name at most a linker-defined marker (__bss_start, _end). */
static const sym_ix *index_lookup(const sym_index *x, uintptr_t addr) {
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->v[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i-- > 0 && lo - i <= INDEX_LOOKBACK;) {
        const sym_ix *s = &x->v[i];
        if (!s->size || addr >= s->addr + s->size) continue;
        size_t b = best_at(x->v, i);
        while (!(x->v[b].size && addr < x->v[b].addr + x->v[b].size))
            b++;
        return &x->v[b];
    }
    return NULL;
}

/* The name of the symbol at addr, its offset there and its type. */
static const char *symbol_at(Dwfl_Module *mod, uintptr_t addr, GElf_Off *off, unsigned char *type) {
    const sym_index *x = index_of(mod);
    if (x && x->v) {
        const sym_ix *s = index_lookup(x, addr);
        *type = s ? s->type : STT_NOTYPE;
        *off = s ? addr - s->addr : 0;
        return s ? s->name : NULL;
    }
    GElf_Sym sym;
    const char *name = DW(dwfl_module_addrinfo)(mod, addr, off, &sym, NULL, NULL, NULL);
    *type = name ? GELF_ST_TYPE(sym.st_info) : STT_NOTYPE;
    return name;
}

static void index_free_all(void) {
    while (indexes) {
        sym_index *x = indexes;
        indexes = x->next;
        free(x->v);
        free(x);
    }
}

static void dwfl_reload(void) {
    index_free_all(); /* its names are the old dwfl's */
    if (dwfl) DW(dwfl_end)(dwfl);
    dwfl = DW(dwfl_begin)(&callbacks);
    if (!dwfl) return;
    /* By this thread's id: after main's pthread_exit the process id names
     * a zombie whose maps are empty. */
    if (DW(dwfl_linux_proc_report)(dwfl, lc_os_tid()) != 0 ||
        DW(dwfl_report_end)(dwfl, NULL, NULL) != 0) {
        DW(dwfl_end)(dwfl);
        dwfl = NULL;
    }
    lc_symbolize_note_cwd();
}

/* Compilers that emit no .debug_aranges (clang) leave libdwfl without an
 * address index for line lookups; walk the compile units and ask each
 * whether it covers pc. */
static const char *line_by_cu_walk(Dwfl_Module *mod, uintptr_t pc, int *lineno) {
    Dwarf_Addr bias;
    Dwarf *dw = DW(dwfl_module_getdwarf)(mod, &bias);
    if (!dw) return NULL;
    Dwarf_Off off = 0, next;
    size_t header;
    while (DW(dwarf_nextcu)(dw, off, &next, &header, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu;
        if (DW(dwarf_offdie)(dw, off + header, &cu) && DW(dwarf_haspc)(&cu, pc - bias) > 0) {
            Dwarf_Line *line = DW(dwarf_getsrc_die)(&cu, pc - bias);
            if (line && DW(dwarf_lineno)(line, lineno) == 0)
                return DW(dwarf_linesrc)(line, NULL, NULL);
            return NULL;
        }
        off = next;
    }
    return NULL;
}

/* Where DWARF declares the variable at the run-time address `value` (or,
 * with tls, at that TLS offset): a file-scope variable of some compile
 * unit. */
static void declared_at(Dwfl_Module *mod, GElf_Addr value, bool tls, lc_data_sym *out) {
    Dwarf_Addr bias;
    Dwarf *dw = DW(dwfl_module_getdwarf)(mod, &bias);
    if (!dw) return;
    if (!tls) value -= bias;
    Dwarf_Off off = 0, next;
    size_t header;
    while (DW(dwarf_nextcu)(dw, off, &next, &header, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu, die;
        if (DW(dwarf_offdie)(dw, off + header, &cu) && DW(dwarf_child)(&cu, &die) == 0) {
            do {
                if (DW(dwarf_tag)(&die) != DW_TAG_variable) continue;
                Dwarf_Attribute attr;
                Dwarf_Op *ops;
                size_t nops;
                if (!DW(dwarf_attr)(&die, DW_AT_location, &attr) ||
                    DW(dwarf_getlocation)(&attr, &ops, &nops) != 0 || nops == 0)
                    continue;
                bool addr_op = ops[0].atom == DW_OP_addr || ops[0].atom == DW_OP_const8u ||
                               ops[0].atom == DW_OP_const4u;
                if (!addr_op || ops[0].number != value || (nops > 1) != tls) continue;
                const char *file = DW(dwarf_decl_file)(&die);
                int line = 0;
                DW(dwarf_decl_line)(&die, &line);
                out->file = file ? strdup(lc_symbolize_relative(file)) : NULL;
                out->line = line;
                return;
            } while (DW(dwarf_siblingof)(&die, &die) == 0);
        }
        off = next;
    }
}

typedef struct module_find {
    const char *path;
    Dwfl_Module *found;
} module_find;

static int match_module(Dwfl_Module *mod, void **user, const char *name, Dwarf_Addr start,
                        void *arg) {
    (void)user;
    (void)start;
    module_find *m = arg;
    const char *file = NULL;
    DW(dwfl_module_info)(mod, NULL, NULL, NULL, NULL, NULL, &file, NULL);
    if ((name && strcmp(name, m->path) == 0) || (file && strcmp(file, m->path) == 0)) {
        m->found = mod;
        return DWARF_CB_ABORT;
    }
    return DWARF_CB_OK;
}

/* The module dl_iterate_phdr calls `name` ("(main program)" for the
 * executable). By name, not by address: libdwfl's module ranges come from
 * the file mappings, and a large .bss lies beyond them. */
static Dwfl_Module *module_named(const char *name, char *path, size_t len) {
    snprintf(path, len, "%s", name);
    if (strcmp(name, "(main program)") == 0) {
        if (lc_os_exe_path(path, len) < 0) return NULL;
    }
    module_find m = {path, NULL};
    if (dwfl) DW(dwfl_getmodules)(dwfl, match_module, &m, 0);
    return m.found;
}

static void resolve_data(uintptr_t addr, const char *module, lc_data_sym *out) {
    char path[512];
    Dwfl_Module *mod = module_named(module, path, sizeof path);
    if (!mod) return;
    out->module = strdup(path);
    GElf_Off off;
    unsigned char type;
    const char *name = symbol_at(mod, addr, &off, &type);
    if (!name || type == STT_FUNC) return;
    out->name = lc_symbolize_demangle(name);
    out->offset = off;
    declared_at(mod, addr - off, false, out);
}

static void resolve_tls(const char *module, uintptr_t offset, lc_data_sym *out) {
    char path[512];
    Dwfl_Module *mod = module_named(module, path, sizeof path);
    if (!mod) return;
    out->module = strdup(path);
    int nsyms = DW(dwfl_module_getsymtab)(mod);
    for (int i = 1; i < nsyms; i++) {
        GElf_Sym sym;
        GElf_Addr value;
        const char *name = DW(dwfl_module_getsym_info)(mod, i, &sym, &value, NULL, NULL, NULL);
        if (!name || GELF_ST_TYPE(sym.st_info) != STT_TLS) continue;
        if (offset < sym.st_value || offset >= sym.st_value + (sym.st_size ? sym.st_size : 1))
            continue;
        out->name = lc_symbolize_demangle(name);
        out->offset = offset - sym.st_value;
        declared_at(mod, sym.st_value, true, out);
        return;
    }
}

bool lc_dw_ready(void) {
    pthread_once(&dw_once, dw_load);
    return dw_loaded;
}

const char *lc_dw_problem(void) {
    return dw_problem[0] ? dw_problem : NULL;
}

void lc_dw_open(void) {
    if (!dwfl && lc_dw_ready()) dwfl_reload();
}

void lc_dw_resolve(uintptr_t pc, lc_frame *f) {
    Dwfl_Module *mod = dwfl ? DW(dwfl_addrmodule)(dwfl, pc) : NULL;
    if (!mod) {
        dwfl_reload(); /* a dlopen since the last load */
        mod = dwfl ? DW(dwfl_addrmodule)(dwfl, pc) : NULL;
    }
    if (!mod) return;
    Dwarf_Addr base = 0;
    const char *modname = DW(dwfl_module_info)(mod, NULL, &base, NULL, NULL, NULL, NULL, NULL);
    f->offset = pc - (uintptr_t)base;
    f->module = modname ? strdup(modname) : NULL;
    GElf_Off off;
    unsigned char type;
    const char *name = symbol_at(mod, pc, &off, &type);
    f->function = name ? lc_symbolize_demangle(name) : NULL;
    Dwfl_Line *line = DW(dwfl_module_getsrc)(mod, pc);
    int lineno = 0;
    const char *file = line ? DW(dwfl_lineinfo)(line, NULL, &lineno, NULL, NULL, NULL)
                            : line_by_cu_walk(mod, pc, &lineno);
    if (file) {
        f->file = strdup(lc_symbolize_relative(file));
        f->line = lineno;
    }
}

void lc_dw_resolve_data(uintptr_t addr, const char *module, bool tls, lc_data_sym *out) {
    if (tls)
        resolve_tls(module, addr, out);
    else
        resolve_data(addr, module, out);
}
