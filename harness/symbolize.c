/* SPDX-License-Identifier: MIT */
/* symbolize.c: code and data addresses to function, file and line.
 *
 * Results are cached per address for the life of the process: reports ask
 * for the same few hundred addresses over and over. All of it runs as the
 * library's own code, so its allocations are never tracked. C++ names are
 * demangled.
 *
 * Two sources. In a process on its own, libdw (symbolize_dw.c, loaded at
 * the first symbolization); when it cannot be loaded, frames keep their
 * module and offset and the names dladdr can vouch for, and the report says
 * why once. Under `leakcheck run` (lc_symbolize_defer_lines) libdw is never
 * loaded: names come from the objects' own symbol tables (elf_symbols.c),
 * and a frame's file is a key the report turns into a hole for the
 * supervisor (stack_report.c, tool/holes.c), its line LC_LINE_DEFERRED.
 * Where the process needs the file itself (a suppression by file, a
 * profile, the program's own lc_diff_print), the supervisor is asked for it
 * (line_client.c). */
#include "core.h"
#include "os.h"
#include "stacks.h"
#include "symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

LC_FORK_STATE static pthread_mutex_t sym_lock = PTHREAD_MUTEX_INITIALIZER;

static bool defer_lines;

void lc_symbolize_prepare(void) {
    if (defer_lines) {
        lc_elf_modules_refresh(); /* the objects are known before an allocation asks */
        return;
    }
    lc_self_enter();
    pthread_mutex_lock(&sym_lock);
    (void)lc_dw_ready();
    pthread_mutex_unlock(&sym_lock);
    lc_self_leave();
}

const char *lc_symbolize_problem(void) {
    pthread_mutex_lock(&sym_lock);
    const char *why = lc_dw_problem();
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
static char cwd[512];
static size_t cwd_len;

void lc_symbolize_note_cwd(void) {
    cwd_len = getcwd(cwd, sizeof cwd) ? strlen(cwd) : 0;
}

const char *lc_symbolize_relative(const char *path) {
    if (path && cwd_len && strncmp(path, cwd, cwd_len) == 0 && path[cwd_len] == '/')
        return path + cwd_len + 1;
    return path;
}

/* C++ names as people write them, "kv::Store::make(int)" for
 * _ZN2kv5Store4makeEi, as LeakSanitizer shows them and matches its
 * suppressions. The demangler is the C++ runtime's own __cxa_demangle
 * (libstdc++ or libc++abi), looked up only once a C++ name is met: a
 * program with C++ names has its runtime loaded, and a C program never
 * loads one. Called as the library's own code (lc_symbolize_pc entered it),
 * so the demangler's allocations are never tracked. */
typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);

char *lc_symbolize_demangle(const char *name) {
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
        f->function = lc_symbolize_demangle(info.dli_sname);
}

/* Under the supervisor: the name from the object's own symbol table
 * (elf_symbols.c), and in place of the file a key the report's hole names
 * (the module and its address there), for the supervisor to look up. */

void lc_symbolize_defer_lines(void) {
    defer_lines = true;
}

/* Where an answer of the supervisor goes: a deferred file and its line,
 * of a frame or a variable. */
typedef struct answer_slot {
    const char **file;
    int *line;
} answer_slot;

static void take_answer(size_t i, const char *file, int line, void *arg) {
    answer_slot *slots = arg;
    char *copy = strdup(lc_symbolize_relative(file));
    if (!copy) return;
    *slots[i].file = copy; /* the key stays allocated: copies of the frame may point to it */
    *slots[i].line = line;
}

/* The files and lines of deferred frames or variables, asked of the
 * supervisor in one exchange (line_client.c); with sym_lock held. Those it
 * does not answer stay deferred, so that a report can still leave a hole. */
static void ask(const lc_line_question *q, answer_slot *slots, size_t n) {
    if (!n) return;
    lc_symbolize_note_cwd();
    lc_line_service_ask_all(q, n, take_answer, slots);
}

static void settle(uintptr_t pc, lc_frame *f) {
    const char *name;
    uintptr_t off;
    unsigned char type;
    const lc_module *m = lc_elf_symbol(pc, &name, &off, &type);
    if (!m) return;
    lc_line_question q = {m, 'L', pc - m->bias};
    answer_slot slot = {&f->file, &f->line};
    ask(&q, &slot, 1);
}

static void resolve_elf(uintptr_t pc, lc_frame *f) {
    const char *name;
    uintptr_t off;
    unsigned char type;
    const lc_module *m = lc_elf_symbol(pc, &name, &off, &type);
    if (!m) return;
    f->module = m->path;
    f->offset = pc - m->start;
    f->function = name ? lc_symbolize_demangle(name) : NULL;
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
    if (!lc_dw_ready())
        resolve_without_libdw(pc, f);
    else
        lc_dw_resolve(pc, f);
}

/* The cache entry of pc, made on first use; with sym_lock held. */
static sym_entry *entry(uintptr_t pc) {
    if (!defer_lines) lc_dw_open();
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

/* Frames whose files are to be asked together (lc_symbolize_want_stack);
 * under sym_lock. */
static struct {
    answer_slot *slots;
    lc_line_question *questions;
    size_t n, cap;
} wanted;

static bool want(sym_entry *e, const lc_module *m, uintptr_t pc) {
    if (wanted.n == wanted.cap) {
        size_t cap = wanted.cap ? 2 * wanted.cap : 256;
        answer_slot *slots = realloc(wanted.slots, cap * sizeof *slots);
        if (slots) wanted.slots = slots;
        lc_line_question *q = slots ? realloc(wanted.questions, cap * sizeof *q) : NULL;
        if (!q) return false;
        wanted.questions = q;
        wanted.cap = cap;
    }
    wanted.slots[wanted.n] = (answer_slot){&e->frame.file, &e->frame.line};
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
    ask(wanted.questions, wanted.slots, wanted.n);
    free(wanted.slots);
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

typedef struct data_entry {
    uintptr_t addr;
    const char *module;
    bool tls;
    bool asked;
    lc_data_sym sym;
    lc_line_question question; /* of its declaration, when deferred */
    struct data_entry *next;
} data_entry;
static data_entry *data_cache;

/* The variable from the object's own symbol table; the key of its
 * declaration is the module and the variable's ELF address (TLS: its offset
 * in the block). */
static void resolve_data_elf(uintptr_t addr, const char *module, bool tls, data_entry *e) {
    lc_data_sym *out = &e->sym;
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
    out->name = lc_symbolize_demangle(name);
    out->offset = off;
    char key[64];
    snprintf(key, sizeof key, "%d,%lx,%c", m->index, (unsigned long)value, tls ? 't' : 'g');
    out->file = strdup(key);
    out->line = out->file ? LC_LINE_DEFERRED : 0;
    e->question = (lc_line_question){m, tls ? 't' : 'g', value};
}

int lc_symbolize_data(uintptr_t addr, const char *module, bool tls, lc_data_sym *out) {
    lc_self_enter();
    pthread_mutex_lock(&sym_lock);
    if (!defer_lines) lc_dw_open();
    data_entry *e = data_cache;
    while (e && !(e->addr == addr && e->module == module && e->tls == tls))
        e = e->next;
    if (!e && (e = calloc(1, sizeof *e))) {
        e->addr = addr;
        e->module = module;
        e->tls = tls;
        if (defer_lines)
            resolve_data_elf(addr, module, tls, e);
        else if (lc_dw_ready())
            lc_dw_resolve_data(addr, module, tls, &e->sym);
        e->next = data_cache;
        data_cache = e;
    }
    if (e && !e->asked && e->question.module && lc_frame_deferred(e->sym.file, e->sym.line) &&
        !lc_report_holes_on()) {
        e->asked = true;
        answer_slot slot = {&e->sym.file, &e->sym.line};
        ask(&e->question, &slot, 1);
    }
    if (e) *out = e->sym;
    pthread_mutex_unlock(&sym_lock);
    lc_self_leave();
    return e && e->sym.name ? 0 : -1;
}
