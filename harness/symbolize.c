/* SPDX-License-Identifier: MIT */
/* symbolize.c: code addresses to function, file and line, with libdw.
 *
 * libdwfl reads the symbol tables (so static functions of the main program
 * are named without -rdynamic) and the DWARF line tables of every loaded
 * object, straight from the files in /proc/self/maps. Results are cached per
 * address for the life of the process: reports ask for the same few hundred
 * addresses over and over. All of it runs as the library's own code, so its
 * allocations are never tracked. C++ names are demangled.
 *
 * libdw is not linked: it is loaded at the first symbolization (dlopen), so
 * a process that never prints a report never maps it and the objects it
 * brings (libelf, libbz2), which every process start would relocate and
 * every fork copy the mappings of (docs/dependencies.md). When it cannot be
 * loaded, frames keep their module and offset and the names dladdr can
 * vouch for, and the report says why once.
 *
 * Separate debug files are looked up on this machine only (by build id
 * under /usr/lib/debug, then by .gnu_debuglink), never through debuginfod:
 * libdwfl's standard lookup loads libdebuginfod, and with it libcurl and
 * some thirty libraries, into the checked program at exit, where they
 * allocate and may meet libraries the program already shut down.
 *
 * Under `leakcheck run` (lc_symbolize_defer_lines) libdw is never loaded:
 * names come from the objects' own symbol tables (elf_symbols.c), and a
 * frame's file is a key the report turns into a hole for the supervisor
 * (stack_report.c, tool/holes.c), its line LC_LINE_DEFERRED. Where the
 * process needs the file itself (a suppression by file, a profile, the
 * program's own lc_diff_print), the supervisor is asked for it
 * (line_client.c). */
#include "core.h"
#include "os.h"
#include "stacks.h"
#include "symbols.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <fcntl.h>
#include <stdio.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ loading libdw */

LC_FORK_STATE static pthread_mutex_t sym_lock = PTHREAD_MUTEX_INITIALIZER;

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

static bool dw_ready(void) {
    pthread_once(&dw_once, dw_load);
    return dw_loaded;
}

static bool defer_lines;

void lc_symbolize_prepare(void) {
    if (defer_lines) {
        lc_elf_modules_refresh(); /* the objects are known before an allocation asks */
        return;
    }
    lc_self_enter();
    pthread_mutex_lock(&sym_lock);
    (void)dw_ready();
    pthread_mutex_unlock(&sym_lock);
    lc_self_leave();
}

const char *lc_symbolize_problem(void) {
    pthread_mutex_lock(&sym_lock);
    const char *why = dw_problem[0] ? dw_problem : NULL;
    pthread_mutex_unlock(&sym_lock);
    return why;
}

typedef struct sym_entry {
    uintptr_t pc;
    bool asked; /* the supervisor was asked for its file: once is enough */
    lc_frame frame;
    struct sym_entry *next;
} sym_entry;

#define SYM_BUCKETS 4096
static sym_entry *cache[SYM_BUCKETS];
static Dwfl *dwfl;
static char cwd[512];
static size_t cwd_len;

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

/* C++ names as people write them, "kv::Store::make(int)" for
 * _ZN2kv5Store4makeEi, as LeakSanitizer shows them and matches its
 * suppressions. The demangler is the C++ runtime's own __cxa_demangle
 * (libstdc++ or libc++abi), looked up only once a C++ name is met: a
 * program with C++ names has its runtime loaded, and a C program never
 * loads one. Called as the library's own code (lc_symbolize_pc entered it),
 * so the demangler's allocations are never tracked. */
typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);

static char *demangled(const char *name) {
    static cxa_demangle_fn demangle;
    if (strncmp(name, "_Z", 2) != 0) return strdup(name);
    /* Until found: a dlopen may load the runtime later. */
    if (!demangle) *(void **)&demangle = dlsym(RTLD_DEFAULT, "__cxa_demangle");
    int status = -1;
    char *out = demangle ? demangle(name, NULL, NULL, &status) : NULL;
    if (status == 0 && out) return out;
    free(out);
    return strdup(name);
}

/* Without libdw: the module and offset, and a name only where dladdr finds
 * an exported symbol whose extent holds pc. dladdr alone would name the
 * nearest exported symbol below pc, which for a static function is
 * another function's name. */
static void resolve_without_libdw(uintptr_t pc, lc_frame *f) {
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1((void *)pc, &info, (void **)&sym, RTLD_DL_SYMENT)) return;
    char exe[512];
    const char *module = info.dli_fname;
    if ((!module || !module[0]) && lc_os_exe_path(exe, sizeof exe) >= 0) module = exe;
    f->module = module && module[0] ? strdup(module) : NULL;
    f->offset = pc - (uintptr_t)info.dli_fbase;
    if (info.dli_sname && info.dli_saddr && sym && pc >= (uintptr_t)info.dli_saddr &&
        pc - (uintptr_t)info.dli_saddr < sym->st_size)
        f->function = demangled(info.dli_sname);
}

/* Under the supervisor: the name from the object's own symbol table
 * (elf_symbols.c), and in place of the file a key the report's hole names
 * (the module and its address there), for the supervisor to look up. */

void lc_symbolize_defer_lines(void) {
    defer_lines = true;
}

/* The file and line of a deferred frame (or variable), asked of the
 * supervisor (line_client.c); kept deferred when it does not answer, so
 * that a report can still leave a hole for it. */
static bool ask_service(const lc_module *m, char kind, uintptr_t addr, const char **file,
                        int *line) {
    if (!lc_frame_deferred(*file, *line) || !m) return false;
    char source[4096];
    int number;
    if (lc_line_service_ask(m, kind, addr, source, sizeof source, &number) != 0) return false;
    if (getcwd(cwd, sizeof cwd))
        cwd_len = strlen(cwd);
    else
        cwd_len = 0;
    char *copy = strdup(relative(source));
    if (!copy) return false;
    *file = copy; /* the key stays allocated: copies of the frame may point to it */
    *line = number;
    return true;
}

static void settle(uintptr_t pc, lc_frame *f) {
    if (!lc_frame_deferred(f->file, f->line)) return;
    const char *name;
    uintptr_t off;
    unsigned char type;
    const lc_module *m = lc_elf_symbol(pc, &name, &off, &type);
    if (m) ask_service(m, 'L', pc - m->bias, &f->file, &f->line);
}

static void resolve_elf(uintptr_t pc, lc_frame *f) {
    const char *name;
    uintptr_t off;
    unsigned char type;
    const lc_module *m = lc_elf_symbol(pc, &name, &off, &type);
    if (!m) return;
    f->module = m->path;
    f->offset = pc - m->start;
    f->function = name ? demangled(name) : NULL;
    char key[64];
    snprintf(key, sizeof key, "%d,%lx", m->index, (unsigned long)(pc - m->bias));
    f->file = strdup(key);
    f->line = f->file ? LC_LINE_DEFERRED : 0;
}

static void resolve(uintptr_t pc, lc_frame *f) {
    memset(f, 0, sizeof *f);
    f->pc = pc;
    if (defer_lines) {
        resolve_elf(pc, f);
        return;
    }
    if (!dw_ready()) {
        resolve_without_libdw(pc, f);
        return;
    }
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
    f->function = name ? demangled(name) : NULL;
    Dwfl_Line *line = DW(dwfl_module_getsrc)(mod, pc);
    int lineno = 0;
    const char *file = line ? DW(dwfl_lineinfo)(line, NULL, &lineno, NULL, NULL, NULL)
                            : line_by_cu_walk(mod, pc, &lineno);
    if (file) {
        f->file = strdup(relative(file));
        f->line = lineno;
    }
}

/* The cache entry of pc, made on first use; with sym_lock held. */
static sym_entry *entry(uintptr_t pc) {
    if (!defer_lines && !dwfl && dw_ready()) dwfl_reload();
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
    return e;
}

static int lookup(uintptr_t pc, lc_frame *out, bool settled) {
    lc_self_enter();
    pthread_mutex_lock(&sym_lock);
    sym_entry *e = entry(pc);
    if (e && !e->asked && lc_frame_deferred(e->frame.file, e->frame.line) &&
        (settled || !lc_report_holes_on())) {
        e->asked = true;
        settle(pc, &e->frame);
    }
    if (e) *out = e->frame;
    pthread_mutex_unlock(&sym_lock);
    lc_self_leave();
    return e && (e->frame.function || e->frame.file) ? 0 : -1;
}

/* Return addresses point after the call; the call itself is one byte
 * earlier, which matters when the call is the last instruction of a line. */
static uintptr_t call_site(uintptr_t return_address) {
    return return_address - 1;
}

static void take_answer(size_t i, const char *file, int line, void *arg) {
    sym_entry **waiting = arg;
    char *copy = strdup(relative(file));
    if (!copy) return;
    waiting[i]->frame.file = copy; /* the key stays allocated, as in ask_service */
    waiting[i]->frame.line = line;
}

/* Frames whose files are to be asked together (lc_symbolize_want_stack);
 * under sym_lock. */
static struct {
    sym_entry **entries;
    lc_line_question *questions;
    size_t n, cap;
} wanted;

static bool want(sym_entry *e, const lc_module *m, uintptr_t pc) {
    if (wanted.n == wanted.cap) {
        size_t cap = wanted.cap ? 2 * wanted.cap : 256;
        sym_entry **entries = realloc(wanted.entries, cap * sizeof *entries);
        if (entries) wanted.entries = entries;
        lc_line_question *q = entries ? realloc(wanted.questions, cap * sizeof *q) : NULL;
        if (!q) return false;
        wanted.questions = q;
        wanted.cap = cap;
    }
    wanted.entries[wanted.n] = e;
    wanted.questions[wanted.n++] = (lc_line_question){m, 'L', pc - m->bias};
    return true;
}

void lc_symbolize_want_stack(lc_stack_id id) {
    if (!defer_lines || !lc_line_service_known()) return;
    const uintptr_t *pcs;
    int depth = lc_stack_get(id, &pcs);
    lc_self_enter();
    pthread_mutex_lock(&sym_lock);
    for (int i = 0; i < depth; i++) {
        uintptr_t pc = call_site(pcs[i]);
        sym_entry *e = entry(pc);
        if (!e || e->asked || !lc_frame_deferred(e->frame.file, e->frame.line)) continue;
        const char *name;
        uintptr_t off;
        unsigned char type;
        const lc_module *m = lc_elf_symbol(pc, &name, &off, &type);
        if (!m || !want(e, m, pc)) continue;
        e->asked = true;
    }
    pthread_mutex_unlock(&sym_lock);
    lc_self_leave();
}

void lc_symbolize_ask_wanted(void) {
    lc_self_enter();
    pthread_mutex_lock(&sym_lock);
    if (wanted.n) {
        cwd_len = getcwd(cwd, sizeof cwd) ? strlen(cwd) : 0;
        lc_line_service_ask_all(wanted.questions, wanted.n, take_answer, wanted.entries);
    }
    free(wanted.entries);
    free(wanted.questions);
    memset(&wanted, 0, sizeof wanted);
    pthread_mutex_unlock(&sym_lock);
    lc_self_leave();
}

/* A deferred file is asked of the supervisor when no report is leaving
 * holes: what is written now has no supervisor to fill it afterwards. */
int lc_symbolize_pc(uintptr_t pc, lc_frame *out) {
    return lookup(pc, out, false);
}

/* The program's own question, or a frame whose line is wanted now: a
 * deferred file is asked of the supervisor, and if it cannot say, the frame
 * has no file (a key is not one the program can be given). */
int lc_symbolize_pc_now(uintptr_t pc, lc_frame *out) {
    int rc = lookup(pc, out, true);
    if (lc_frame_deferred(out->file, out->line)) out->file = NULL, out->line = 0;
    return rc;
}

void lc_symbolize_lock(void) {
    pthread_mutex_lock(&sym_lock);
    lc_elf_lock();
}
void lc_symbolize_unlock(void) {
    lc_elf_unlock();
    pthread_mutex_unlock(&sym_lock);
}

int lc_stack_frame_at(uint32_t stack_id, int i, lc_frame *f) {
    const uintptr_t *pcs;
    int depth = lc_stack_get(stack_id, &pcs);
    if (i < 0 || i >= depth) return -1;
    lc_symbolize_pc(call_site(pcs[i]), f);
    f->pc = pcs[i];
    f->offset += 1; /* the return address, as the pc above */
    return 0;
}

/* The program's own question: a file the supervisor will find is not one
 * it can be given. */
int lc_stack_frame(uint32_t stack_id, int i, lc_frame *f) {
    const uintptr_t *pcs;
    int depth = lc_stack_get(stack_id, &pcs);
    if (i < 0 || i >= depth) return -1;
    lc_symbolize_pc_now(call_site(pcs[i]), f);
    f->pc = pcs[i];
    f->offset += 1; /* the return address, as lc_stack_frame_at */
    return 0;
}

int lc_stack_site_frame(lc_stack_id id, lc_frame *f) {
    const uintptr_t *pcs;
    int depth = lc_stack_get(id, &pcs);
    for (int i = 0; i < depth; i++) {
        if (lc_os_pc_in_runtime(pcs[i]) && i + 1 < depth) continue;
        return lc_stack_frame_at(id, i, f);
    }
    return -1;
}

/* ------------------------------------------------------------ variables */

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
                out->file = file ? strdup(relative(file)) : NULL;
                out->line = line;
                return;
            } while (DW(dwarf_siblingof)(&die, &die) == 0);
        }
        off = next;
    }
}

typedef struct data_entry {
    uintptr_t addr;
    const char *module;
    bool tls;
    bool asked;
    lc_data_sym sym;
    struct data_entry *next;
} data_entry;
static data_entry *data_cache;

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
    out->name = demangled(name);
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
        out->name = demangled(name);
        out->offset = offset - sym.st_value;
        declared_at(mod, sym.st_value, true, out);
        return;
    }
}

/* The variable from the object's own symbol table; the key of its
 * declaration is the module and the variable's ELF address (TLS: its offset
 * in the block). */
static void resolve_data_elf(uintptr_t addr, const char *module, bool tls, lc_data_sym *out) {
    const lc_module *m = lc_elf_module_named(module);
    if (!m) return;
    char path[512];
    if (strcmp(module, "(main program)") != 0 || lc_os_exe_path(path, sizeof path) < 0)
        snprintf(path, sizeof path, "%s", module);
    out->module = strdup(path);
    const char *name = NULL;
    uintptr_t off = 0, value;
    if (tls) {
        name = lc_elf_tls_symbol(m, addr, &off);
        value = addr - off;
    } else {
        unsigned char type = STT_NOTYPE;
        if (lc_elf_symbol(addr, &name, &off, &type) != m || type == STT_FUNC) name = NULL;
        value = addr - off - m->bias;
    }
    if (!name) return;
    out->name = demangled(name);
    out->offset = off;
    char key[64];
    snprintf(key, sizeof key, "%d,%lx,%c", m->index, (unsigned long)value, tls ? 't' : 'g');
    out->file = strdup(key);
    out->line = out->file ? LC_LINE_DEFERRED : 0;
}

int lc_symbolize_data(uintptr_t addr, const char *module, bool tls, lc_data_sym *out) {
    lc_self_enter();
    pthread_mutex_lock(&sym_lock);
    if (!defer_lines && !dwfl && dw_ready()) dwfl_reload();
    data_entry *e = data_cache;
    while (e && !(e->addr == addr && e->module == module && e->tls == tls))
        e = e->next;
    if (!e && (e = calloc(1, sizeof *e))) {
        e->addr = addr;
        e->module = module;
        e->tls = tls;
        if (defer_lines)
            resolve_data_elf(addr, module, tls, &e->sym);
        else if (tls)
            resolve_tls(module, addr, &e->sym);
        else
            resolve_data(addr, module, &e->sym);
        e->next = data_cache;
        data_cache = e;
    }
    unsigned long value;
    char kind;
    if (e && !e->asked && lc_frame_deferred(e->sym.file, e->sym.line) && !lc_report_holes_on() &&
        sscanf(e->sym.file, "%*d,%lx,%c", &value, &kind) == 2 && (e->asked = true))
        ask_service(lc_elf_module_named(module), kind, value, &e->sym.file, &e->sym.line);
    if (e) *out = e->sym;
    pthread_mutex_unlock(&sym_lock);
    lc_self_leave();
    return e && e->sym.name ? 0 : -1;
}
