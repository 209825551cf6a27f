/* SPDX-License-Identifier: MIT */
/* elf_symbols.c: names of code and data from the loaded objects' own symbol
 * tables, with no library but the C library.
 *
 * Under `leakcheck run` nothing is loaded into the checked program to name
 * its frames: the supervisor finds files and lines in DWARF once the process
 * is gone. The check's own decisions still need function names in the
 * process (suppressions, fault scopes, thread rules, the report's function
 * names), and this file reads them: the .symtab of each loaded object, else
 * that of its separate debug file (/usr/lib/debug/.build-id/xx/yyyy.debug,
 * then the .gnu_debuglink forms), else its .dynsym: libdwfl's order, so that
 * the names are the ones libdw gives outside the supervisor. Files are
 * mapped read-only and stay mapped; indexes and module records live in
 * pages of the library's own (lc_os_alloc), never in the program's heap.
 *
 * Every object seen is remembered with its path, load address and build id,
 * after dlclose too (the dlclose interposer refreshes the list first), so a
 * block a plugin allocated before it was unloaded is still named by the
 * plugin's path and function. Callers hold the symbolizer's lock. */
#include "core.h"
#include "os.h"
#include "symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct elf_sym {
    uintptr_t addr, size; /* run-time address; a TLS symbol's offset in its block */
    const char *name;     /* in a mapped string table */
    unsigned char rank;   /* global 0, weak 1, local 2: the name preferred at one address */
    unsigned char type;
    uint16_t shndx; /* its section */
} elf_sym;

typedef struct elf_module {
    lc_module m;           /* what reports and the module map say */
    char *name;            /* as dl_iterate_phdr names it ("" for the executable) */
    bool loaded;           /* symbols read (or found missing) */
    elf_sym *syms;         /* sorted by address, then rank */
    size_t nsyms, bytes;   /* bytes: the lc_os_alloc size of syms */
    const ElfW(Shdr) * sh; /* the sections the symbols' shndx count in */
    size_t nsh;
    struct elf_module *next;
} elf_module;

static elf_module *modules; /* newest first */
static int nmodules;
/* Taken by every entry point, after the symbolizer's lock when both are:
 * the dlclose interposer takes this one alone, so that a dlclose under the
 * symbolizer's lock (a failed load of libdw) cannot wait for itself. */
LC_FORK_STATE static pthread_mutex_t elf_lock = PTHREAD_MUTEX_INITIALIZER;

void lc_elf_lock(void) {
    pthread_mutex_lock(&elf_lock);
}
void lc_elf_unlock(void) {
    pthread_mutex_unlock(&elf_lock);
}

/* ------------------------------------------------------------ ELF files */

typedef struct elf_file {
    const unsigned char *p;
    size_t len;
} elf_file;

static bool map_file(const char *path, elf_file *f) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > (off_t)sizeof(ElfW(Ehdr)))
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return false;
    *f = (elf_file){p, (size_t)st.st_size};
    return true;
}

static bool in_file(const elf_file *f, uint64_t off, uint64_t len) {
    return off <= f->len && len <= f->len - off;
}

static const ElfW(Shdr) * sections(const elf_file *f, size_t *n) {
    const ElfW(Ehdr) *e = (const void *)f->p;
    if (f->len < sizeof *e || memcmp(e->e_ident, ELFMAG, SELFMAG) != 0 ||
        e->e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
        e->e_shentsize != sizeof(ElfW(Shdr)) ||
        !in_file(f, e->e_shoff, (uint64_t)e->e_shnum * sizeof(ElfW(Shdr))))
        return NULL;
    *n = e->e_shnum;
    return (const void *)(f->p + e->e_shoff);
}

/* The section of type `type` (SHT_SYMTAB, SHT_DYNSYM), or NULL. */
static const ElfW(Shdr) * section_of_type(const elf_file *f, uint32_t type) {
    size_t n;
    const ElfW(Shdr) *sh = sections(f, &n);
    for (size_t i = 0; sh && i < n; i++)
        if (sh[i].sh_type == type && sh[i].sh_size && in_file(f, sh[i].sh_offset, sh[i].sh_size))
            return &sh[i];
    return NULL;
}

/* The file named by the .gnu_debuglink section, or NULL. */
static const char *debuglink(const elf_file *f) {
    size_t n;
    const ElfW(Shdr) *sh = sections(f, &n);
    const ElfW(Ehdr) *e = (const void *)f->p;
    if (!sh || e->e_shstrndx >= n) return NULL;
    const ElfW(Shdr) *names = &sh[e->e_shstrndx];
    if (!in_file(f, names->sh_offset, names->sh_size)) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (sh[i].sh_name >= names->sh_size || !in_file(f, sh[i].sh_offset, sh[i].sh_size))
            continue;
        const char *name = (const char *)f->p + names->sh_offset + sh[i].sh_name;
        size_t room = names->sh_size - sh[i].sh_name;
        if (strnlen(name, room) == room || strcmp(name, ".gnu_debuglink") != 0) continue;
        const char *link = (const char *)f->p + sh[i].sh_offset;
        return strnlen(link, sh[i].sh_size) < sh[i].sh_size ? link : NULL;
    }
    return NULL;
}

/* The separate debug file of m whose .symtab is readable, by build id, then
 * by debuglink next to the object, in .debug/ beside it and under
 * /usr/lib/debug (symbolize.c's forms, gdb's). */
static bool debug_file(const lc_module *m, const elf_file *main, elf_file *out) {
    char path[1200];
    if (m->build_id_len > 1) {
        int n = snprintf(path, sizeof path, "/usr/lib/debug/.build-id/%02x/", m->build_id[0]);
        for (int i = 1; i < m->build_id_len; i++)
            n += snprintf(path + n, sizeof path - (size_t)n, "%02x", m->build_id[i]);
        snprintf(path + n, sizeof path - (size_t)n, ".debug");
        if (map_file(path, out)) {
            if (section_of_type(out, SHT_SYMTAB)) return true;
            munmap((void *)out->p, out->len);
        }
    }
    const char *link = main ? debuglink(main) : NULL;
    if (!link || m->path[0] != '/') return false;
    const char *slash = strrchr(m->path, '/');
    int dir_len = (int)(slash - m->path);
    const char *forms[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        snprintf(path, sizeof path, forms[i], dir_len, m->path, link);
        if (strcmp(path, m->path) == 0 || !map_file(path, out)) continue;
        if (section_of_type(out, SHT_SYMTAB)) return true;
        munmap((void *)out->p, out->len);
    }
    return false;
}

static int by_addr_then_rank(const void *a, const void *b) {
    const elf_sym *x = a, *y = b;
    if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
    return (int)x->rank - (int)y->rank;
}

/* The index of one symbol table: what libdwfl would consider, by address. */
static void index_table(elf_module *em, const elf_file *f, const ElfW(Shdr) * tab) {
    size_t n;
    const ElfW(Shdr) *sh = sections(f, &n);
    if (tab->sh_link >= n || tab->sh_entsize != sizeof(ElfW(Sym))) return;
    const ElfW(Shdr) *str = &sh[tab->sh_link];
    if (!in_file(f, str->sh_offset, str->sh_size) || !str->sh_size) return;
    const char *strings = (const char *)f->p + str->sh_offset;
    if (strings[str->sh_size - 1] != '\0') return;
    size_t count = tab->sh_size / sizeof(ElfW(Sym));
    const ElfW(Sym) *s = (const void *)(f->p + tab->sh_offset);
    em->bytes = count * sizeof(elf_sym) + 1;
    if (!(em->syms = lc_os_alloc(em->bytes))) return;
    for (size_t i = 1; i < count; i++) {
        unsigned char type = ELF64_ST_TYPE(s[i].st_info), bind = ELF64_ST_BIND(s[i].st_info);
        if (s[i].st_name >= str->sh_size || !strings[s[i].st_name] || s[i].st_shndx == SHN_UNDEF ||
            s[i].st_shndx == SHN_ABS || s[i].st_shndx == SHN_COMMON || type == STT_SECTION ||
            type == STT_FILE || (!s[i].st_value && type != STT_TLS))
            continue;
        unsigned char rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
        uintptr_t addr = type == STT_TLS ? s[i].st_value : em->m.bias + s[i].st_value;
        em->syms[em->nsyms++] =
            (elf_sym){addr, s[i].st_size, strings + s[i].st_name, rank, type, s[i].st_shndx};
    }
    em->sh = sh;
    em->nsh = n;
    qsort(em->syms, em->nsyms, sizeof *em->syms, by_addr_then_rank);
}

/* The vDSO is an ELF image in memory only. */
static bool map_vdso(const lc_module *m, elf_file *f) {
    if (strcmp(m->path, "[vdso]") != 0 || m->end <= m->start) return false;
    *f = (elf_file){(const unsigned char *)m->start, m->end - m->start};
    return true;
}

static void load_symbols(elf_module *em) {
    em->loaded = true;
    elf_file main = {0}, debug = {0};
    bool have_main = map_vdso(&em->m, &main) || map_file(em->m.path, &main);
    const ElfW(Shdr) *tab = have_main ? section_of_type(&main, SHT_SYMTAB) : NULL;
    if (tab) {
        index_table(em, &main, tab);
    } else if (debug_file(&em->m, have_main ? &main : NULL, &debug)) {
        index_table(em, &debug, section_of_type(&debug, SHT_SYMTAB));
    } else if (have_main && (tab = section_of_type(&main, SHT_DYNSYM))) {
        index_table(em, &main, tab);
    }
    /* The mappings stay: the index's names point into them. */
}

/* ------------------------------------------------------------ the objects */

typedef struct seen {
    uintptr_t bias, start, end;
    unsigned char build_id[LC_BUILD_ID_MAX];
    int build_id_len;
    char name[512];
    char path[1024]; /* from the mappings, for an object not yet known */
    bool known;
} seen;

#define SEEN_MAX 1024
typedef struct seen_list {
    seen *v;
    size_t n;
} seen_list;

static void note_build_id(seen *s, const ElfW(Phdr) * ph, uintptr_t bias) {
    const unsigned char *p = (const void *)(bias + ph->p_vaddr), *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
        const ElfW(Nhdr) *nh = (const void *)p;
        size_t name = (nh->n_namesz + 3) & ~(size_t)3, desc = (nh->n_descsz + 3) & ~(size_t)3;
        const unsigned char *d = p + sizeof *nh + name;
        if (d + desc > end) return;
        if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
            memcmp(p + sizeof *nh, "GNU", 4) == 0 && nh->n_descsz <= LC_BUILD_ID_MAX) {
            memcpy(s->build_id, d, nh->n_descsz);
            s->build_id_len = (int)nh->n_descsz;
            return;
        }
        p = d + desc;
    }
}

static int collect(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    seen_list *l = arg;
    if (l->n == SEEN_MAX) return 1;
    seen *s = &l->v[l->n];
    memset(s, 0, sizeof *s);
    s->bias = info->dlpi_addr;
    s->start = UINTPTR_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_NOTE && !s->build_id_len) note_build_id(s, ph, info->dlpi_addr);
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t lo = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)4095;
        uintptr_t hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        if (lo < s->start) s->start = lo;
        if (hi > s->end) s->end = hi;
    }
    if (s->start == UINTPTR_MAX) return 0;
    snprintf(s->name, sizeof s->name, "%s", info->dlpi_name ? info->dlpi_name : "");
    l->n++;
    return 0;
}

static bool same(const elf_module *em, const seen *s) {
    return !em->m.gone && em->m.bias == s->bias && em->m.start == s->start && em->m.end == s->end &&
           strcmp(em->name, s->name) == 0;
}

/* The path of the file mapped at each new object's start, as
 * /proc/self/maps shows it (symbolic links resolved, as libdwfl names
 * modules): one pass over the mappings for all of them. */
static void match_mapping(const lc_mapping *m, void *arg) {
    seen_list *l = arg;
    if (!m->name[0]) return;
    for (size_t i = 0; i < l->n; i++) {
        seen *s = &l->v[i];
        if (!s->known && !s->path[0] && m->start <= s->start && s->start < m->end)
            snprintf(s->path, sizeof s->path, "%s", m->name);
    }
}

static void add_module(const seen *s) {
    char path[1024];
    snprintf(path, sizeof path, "%s", s->path);
    if (!path[0] && !s->name[0] && lc_os_exe_path(path, sizeof path) < 0) path[0] = '\0';
    if (!path[0]) snprintf(path, sizeof path, "%s", s->name);
    size_t plen = strlen(path), nlen = strlen(s->name);
    elf_module *em = lc_os_alloc(sizeof *em + plen + nlen + 2);
    if (!em) return;
    char *strings = (char *)(em + 1);
    memcpy(strings, path, plen + 1);
    memcpy(strings + plen + 1, s->name, nlen + 1);
    em->m = (lc_module){.path = strings,
                        .bias = s->bias,
                        .start = s->start,
                        .end = s->end,
                        .build_id_len = s->build_id_len,
                        .index = nmodules++};
    memcpy(em->m.build_id, s->build_id, sizeof s->build_id);
    em->name = strings + plen + 1;
    em->next = modules;
    modules = em;
}

static void refresh(void) {
    seen_list l = {lc_os_alloc(SEEN_MAX * sizeof(seen)), 0};
    if (!l.v) return;
    dl_iterate_phdr(collect, &l);
    for (elf_module *em = modules; em; em = em->next) {
        bool present = false;
        for (size_t i = 0; i < l.n && !present; i++)
            present = same(em, &l.v[i]);
        if (!present) em->m.gone = true; /* unloaded: kept, and still named */
    }
    size_t fresh = 0;
    for (size_t i = 0; i < l.n; i++) {
        for (elf_module *em = modules; em && !l.v[i].known; em = em->next)
            l.v[i].known = same(em, &l.v[i]);
        fresh += !l.v[i].known;
    }
    if (fresh) lc_os_for_each_mapping(match_mapping, &l);
    for (size_t i = 0; i < l.n; i++)
        if (!l.v[i].known) add_module(&l.v[i]);
    lc_os_free(l.v, SEEN_MAX * sizeof(seen));
}

/* The module holding pc: a loaded one first, then the newest unloaded. */
static elf_module *module_at(uintptr_t pc) {
    elf_module *gone = NULL;
    for (elf_module *em = modules; em; em = em->next) {
        if (pc < em->m.start || pc >= em->m.end) continue;
        if (!em->m.gone) return em;
        if (!gone) gone = em;
    }
    return gone;
}

/* ------------------------------------------------------------ lookups */

#define LOOKBACK 64 /* symbols below an address searched for one containing it */

static size_t upper_bound(const elf_module *em, uintptr_t addr) {
    size_t lo = 0, hi = em->nsyms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (em->syms[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The best-ranked symbol at syms[i]'s address that contains addr. */
static const elf_sym *best_at(const elf_module *em, size_t i, uintptr_t addr) {
    while (i > 0 && em->syms[i - 1].addr == em->syms[i].addr)
        i--;
    for (; i < em->nsyms && em->syms[i].addr <= addr; i++) {
        const elf_sym *s = &em->syms[i];
        if (s->type == STT_TLS) continue;
        if (s->size && addr < s->addr + s->size) return s;
    }
    return NULL;
}

/* The allocated section holding addr, or 0. */
static size_t section_at(const elf_module *em, uintptr_t addr) {
    for (size_t i = 1; i < em->nsh; i++) {
        const ElfW(Shdr) *sh = &em->sh[i];
        uintptr_t at = em->m.bias + sh->sh_addr;
        if ((sh->sh_flags & SHF_ALLOC) && addr >= at && addr - at < sh->sh_size) return i;
    }
    return 0;
}

/* The best-ranked label (sizeless symbol) at syms[i]'s address. */
static const elf_sym *label_at(const elf_module *em, size_t i) {
    while (i > 0 && em->syms[i - 1].addr == em->syms[i].addr)
        i--;
    const elf_sym *best = NULL;
    for (uintptr_t at = em->syms[i].addr; i < em->nsyms && em->syms[i].addr == at; i++)
        if (!em->syms[i].size && em->syms[i].type != STT_TLS && !best) best = &em->syms[i];
    return best;
}

/* As libdwfl chooses: the sized symbol containing addr that starts highest,
 * global before weak before local at one address; else the nearest label
 * (a sizeless symbol, _init or an assembly routine) of addr's section that
 * no sized symbol below addr reaches past. */
static const elf_sym *symbol_containing(const elf_module *em, uintptr_t addr) {
    size_t lo = upper_bound(em, addr), section = SIZE_MAX;
    const elf_sym *label = NULL;
    uintptr_t min_label = 0; /* the highest end of a sized symbol below addr */
    for (size_t i = lo; i-- > 0 && lo - i <= LOOKBACK;) {
        const elf_sym *s = &em->syms[i];
        if (s->type == STT_TLS) continue;
        if (s->size && addr < s->addr + s->size) return best_at(em, i, addr);
        if (s->size) {
            if (s->addr + s->size > min_label) min_label = s->addr + s->size;
            continue;
        }
        if (label) continue;
        if (section == SIZE_MAX) section = section_at(em, addr);
        if (section && s->shndx == section) label = label_at(em, i);
    }
    return label && label->addr >= min_label ? label : NULL;
}

static const lc_module *symbol(uintptr_t pc, const char **name, uintptr_t *offset,
                               unsigned char *type) {
    elf_module *em = module_at(pc);
    if (!em) {
        refresh(); /* a dlopen since */
        em = module_at(pc);
    }
    *name = NULL;
    if (!em) return NULL;
    if (!em->loaded) load_symbols(em);
    const elf_sym *s = em->syms ? symbol_containing(em, pc) : NULL;
    if (s) {
        *name = s->name;
        *offset = pc - s->addr;
        *type = s->type;
    }
    return &em->m;
}

static const lc_module *module_named(const char *name) {
    if (!modules) refresh();
    const char *key = strcmp(name, "(main program)") == 0 ? "" : name;
    for (elf_module *em = modules; em; em = em->next)
        if (!em->m.gone && strcmp(em->name, key) == 0) return &em->m;
    return NULL;
}

static const char *tls_symbol(const lc_module *m, uintptr_t offset, uintptr_t *into) {
    elf_module *em = (elf_module *)m; /* m is its first member */
    if (!em->loaded) load_symbols(em);
    for (size_t i = 0; i < em->nsyms; i++) {
        const elf_sym *s = &em->syms[i];
        if (s->type != STT_TLS || offset < s->addr || offset >= s->addr + (s->size ? s->size : 1))
            continue;
        *into = offset - s->addr;
        return s->name;
    }
    return NULL;
}

/* ------------------------------------------------------------ entry points
 *
 * Each takes the lock and runs as the library's own code (qsort may
 * allocate). Records are never freed, so what they return stays valid. */

#define LOCKED(type, call)                                                                         \
    lc_self_enter();                                                                               \
    pthread_mutex_lock(&elf_lock);                                                                 \
    type result = call;                                                                            \
    pthread_mutex_unlock(&elf_lock);                                                               \
    lc_self_leave();                                                                               \
    return result

const lc_module *lc_elf_symbol(uintptr_t pc, const char **name, uintptr_t *offset,
                               unsigned char *type) {
    LOCKED(const lc_module *, symbol(pc, name, offset, type));
}

const lc_module *lc_elf_module_named(const char *name) {
    LOCKED(const lc_module *, module_named(name));
}

const char *lc_elf_tls_symbol(const lc_module *m, uintptr_t offset, uintptr_t *into) {
    LOCKED(const char *, tls_symbol(m, offset, into));
}

void lc_elf_modules_refresh(void) {
    lc_self_enter();
    pthread_mutex_lock(&elf_lock);
    refresh();
    pthread_mutex_unlock(&elf_lock);
    lc_self_leave();
}

void lc_elf_for_each_module(void (*fn)(const lc_module *m, void *arg), void *arg) {
    pthread_mutex_lock(&elf_lock);
    /* In the order the objects were met (the list is newest first). */
    for (int i = 0; i < nmodules; i++)
        for (const elf_module *em = modules; em; em = em->next)
            if (em->m.index == i) fn(&em->m, arg);
    pthread_mutex_unlock(&elf_lock);
}

/* An object about to be unloaded is noted first (with every other object
 * loaded since the last look), so that its record outlives it, and marked
 * gone after. */
__attribute__((visibility("default"))) int dlclose(void *handle) {
    static int (*real_dlclose)(void *);
    lc_elf_modules_refresh();
    if (!real_dlclose) {
        lc_self_enter();
        *(void **)&real_dlclose = dlsym(RTLD_NEXT, "dlclose");
        lc_self_leave();
    }
    int rc = real_dlclose ? real_dlclose(handle) : -1;
    lc_elf_modules_refresh();
    return rc;
}
