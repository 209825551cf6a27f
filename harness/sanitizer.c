/* SPDX-License-Identifier: MIT */
/* sanitizer.c: running inside a program built with AddressSanitizer,
 * LeakSanitizer or ThreadSanitizer.
 *
 * Such a program calls the sanitizer's malloc: clang links the runtime into
 * the executable and gcc loads libasan.so before every other library, so it
 * wins symbol resolution and the interposers of alloc_hooks.c never run.
 * Taking the name back would break the sanitizer's own checks, so the
 * library registers with the allocation hooks every sanitizer runtime offers
 * (__sanitizer_install_malloc_and_free_hooks) and feeds the same live-block
 * table from them. The choice is made once, at start-up, and the hooks are
 * installed only when `malloc` does not resolve to the interposers, so no
 * block is ever counted twice (a runtime such as UBSan's exports the hook
 * API without replacing malloc).
 *
 * The hooks run deep inside the sanitizer's allocator. The stack is walked
 * from there (frame pointers, or DWARF where the chain breaks) and cut just
 * below the allocation function the program called, whose bounds are read
 * from the dynamic symbol table at start-up, so a report names the
 * program's function first, as it does natively. What the runtime's own
 * internals allocate through the C library is flagged as the C runtime's,
 * as the dynamic linker's allocations are.
 *
 * Under LSan, alone or inside ASan, a collection point also runs LSan's
 * recoverable leak check, and the report shows its verdict beside the
 * harness's own. */
#define UNW_LOCAL_ONLY
#include "alloc.h"
#include "buf.h"
#include "core.h"
#include "os.h"
#include "sanitizer.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef void (*malloc_hook_fn)(const volatile void *, size_t);
typedef void (*free_hook_fn)(const volatile void *);
typedef int (*install_hooks_fn)(malloc_hook_fn, free_hook_fn);
typedef int (*lsan_check_fn)(void);

static bool hooked, interposed;
static const char *runtime_name;
static lsan_check_fn lsan_check;

/* Every call LSan makes to __lsan_is_turned_off starts a leak search; a
 * check that returns without one was disabled (detect_leaks=0). */
static atomic_uint lsan_searches;

int __lsan_is_turned_off(void) {
    atomic_fetch_add_explicit(&lsan_searches, 1, memory_order_relaxed);
    return 0;
}

/* Code of the sanitizer runtime: its interceptors stand between the
 * program and the C library (read, poll, pthread_create ...), and a stack
 * that shows them must be judged as if they were the C library's frames.
 * Its internals (the __asan::, __sanitizer:: ... namespaces) are kept apart
 * as well: what the C library allocates when they call it (the attributes
 * pthread_getattr_np builds for a starting thread) is the runtime's own,
 * whereas an interceptor allocates on the program's behalf (getline's
 * buffer). */
typedef struct region_set {
    lc_region *r;
    size_t n, bytes;
} region_set;
static region_set runtime_text, internal_text;

static bool set_add(region_set *s, uintptr_t start, uintptr_t end) {
    if ((s->n + 1) * sizeof(lc_region) > s->bytes) {
        size_t bytes = s->bytes ? s->bytes * 2 : 1024 * sizeof(lc_region);
        lc_region *r = lc_os_alloc(bytes);
        if (!r) return false;
        if (s->r) {
            memcpy(r, s->r, s->n * sizeof *r);
            lc_os_free(s->r, s->bytes);
        }
        s->r = r;
        s->bytes = bytes;
    }
    s->r[s->n++] = (lc_region){start, end};
    return true;
}

static bool set_contains(const region_set *s, uintptr_t pc) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->r[mid].start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && pc < s->r[lo - 1].end;
}

/* The allocation functions a program calls, as the sanitizer defines them:
 * a stack is cut below the innermost frame that falls in one of them. */
static const char *const family_names[] = {
    "malloc",
    "calloc",
    "realloc",
    "reallocarray",
    "free",
    "posix_memalign",
    "aligned_alloc",
    "memalign",
    "valloc",
    "pvalloc",
    "strdup",
    "strndup",
    "__strdup",
    "__strndup",
    "wcsdup",
    "_Znwm",
    "_Znam",
    "_ZnwmRKSt9nothrow_t",
    "_ZnamRKSt9nothrow_t",
    "_ZnwmSt11align_val_t",
    "_ZnamSt11align_val_t",
    "_ZnwmSt11align_val_tRKSt9nothrow_t",
    "_ZnamSt11align_val_tRKSt9nothrow_t",
};
#define NFAMILY (sizeof family_names / sizeof family_names[0])
static lc_region family[NFAMILY];
static size_t nfamily;

static void load_family(void) {
    for (size_t i = 0; i < NFAMILY; i++) {
        void *addr = dlsym(RTLD_DEFAULT, family_names[i]);
        Dl_info info;
        const ElfW(Sym) *sym = NULL;
        if (!addr || !dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || !sym->st_size)
            continue;
        uintptr_t start = (uintptr_t)addr;
        family[nfamily++] = (lc_region){start, start + sym->st_size};
    }
}

static bool in_family(uintptr_t pc) {
    /* A return address: the call it returns from lies just before it. */
    uintptr_t at = pc - 1;
    for (size_t i = 0; i < nfamily; i++)
        if (at >= family[i].start && at < family[i].end) return true;
    return false;
}

/* Walk the frame-pointer chain from the hook. The runtime's allocation
 * entry points keep a frame pointer (the sanitizer's own fast unwinder
 * needs it), and functions built without one leave the register alone or
 * break the chain, which every check below stops at. */
static int walk_frame_pointers(uintptr_t *buf, int max) {
    uintptr_t lo, hi;
    if (!lc_os_thread_stack(&lo, &hi)) return 0;
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    int n = 0;
    while (n < max) {
        if (fp < lo || fp + 2 * sizeof(uintptr_t) > hi || (fp & (sizeof(uintptr_t) - 1))) break;
        uintptr_t next = ((const uintptr_t *)fp)[0];
        uintptr_t ret = ((const uintptr_t *)fp)[1];
        /* Code without frame pointers leaves anything in the register: a
         * word that is no return address ends the chain (and the caller
         * falls back to DWARF when the chain does not get far enough). */
        if (!lc_os_pc_in_code(ret)) break;
        buf[n++] = ret;
        if (next <= fp || next >= hi) break;
        fp = next;
    }
    return n;
}

static int first_after_family(const uintptr_t *buf, int got) {
    for (int i = 0; i < got; i++)
        if (in_family(buf[i])) return i + 1;
    return -1;
}

int lc_sanitizer_unwind(uintptr_t *pcs, int max, bool *runtime_own) {
    /* Room for the library's and the sanitizer's own frames above the
     * program's, which are dropped. */
    uintptr_t buf[LC_MAX_DEPTH + 32];
    int want =
        max + 32 < (int)(sizeof buf / sizeof buf[0]) ? max + 32 : (int)(sizeof buf / sizeof buf[0]);
    /* Frame pointers first: libunwind takes locks of its own and the
     * dynamic linker's, and a child forked while another thread held them
     * would hang in its first allocation. DWARF (the learned rules, then
     * libunwind) only when the chain does not reach the allocation
     * function, or stops right after it, and the stack has room for
     * libunwind. */
    int got = walk_frame_pointers(buf, want);
    int start = first_after_family(buf, got);
    bool chain_only = false;
    if (start < 0 || (start == got && got < want)) {
        if (lc_unwind_room_for_dwarf(__builtin_frame_address(0))) {
            got = lc_unwind_dwarf_here(buf, want);
            start = first_after_family(buf, got);
        } else {
            chain_only = true;
        }
    }
    /* On a stack too small for libunwind, a chain that ends inside the
     * runtime before reaching the allocation function is the runtime's own
     * allocation when it passes through the runtime's internals. */
    bool internal = false;
    for (int i = 0; chain_only && start < 0 && i < got && !internal; i++)
        internal = set_contains(&internal_text, buf[i]);
    if (start < 0)
        /* Allocated by something outside the known family (the
         * sanitizer's own replacement of a libc function that allocates):
         * drop the library's and the runtime's frames. */
        for (start = 0; start < got &&
                        (lc_os_pc_in_self(buf[start]) || lc_sanitizer_pc_in_runtime(buf[start]));)
            start++;
    *runtime_own = internal;
    for (int i = start; i < got && !*runtime_own; i++)
        *runtime_own = set_contains(&internal_text, buf[i]);

    int n = 0;
    for (int i = start; i < got && n < max; i++)
        pcs[n++] = buf[i];
    return n;
}

/* ------------------------------------------------ the runtime's own code */

static const char *const runtime_prefixes[] = {
    "__interceptor_", "___interceptor_",  "__interception",      "__asan_",    "__lsan_",
    "__tsan_",        "__msan_",          "__hwasan_",           "__ubsan_",   "__sanitizer_",
    "_ZN6__asan",     "_ZN6__lsan",       "_ZN6__tsan",          "_ZN6__msan", "_ZN8__hwasan",
    "_ZN7__ubsan",    "_ZN11__sanitizer", "_ZN14__interception",
};

static bool runtime_symbol(const char *name) {
    for (size_t i = 0; i < sizeof runtime_prefixes / sizeof runtime_prefixes[0]; i++)
        if (strncmp(name, runtime_prefixes[i], strlen(runtime_prefixes[i])) == 0) return true;
    return false;
}

static int region_order(const void *a, const void *b) {
    const lc_region *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* A runtime linked into the executable (clang's default) shares its text
 * with the program: its functions are told apart by their names, from the
 * full symbol table when the executable keeps one. The file is read here
 * with <elf.h> alone (the symbol table is never compressed), so that the
 * library needs no ELF library at start-up. */
static void load_runtime_symbols(uintptr_t bias) {
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) fd = open("/proc/thread-self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    size_t size = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size : 0;
    const unsigned char *file =
        size >= sizeof(ElfW(Ehdr)) ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (file == MAP_FAILED) return;
    const ElfW(Ehdr) *eh = (const void *)file;
    const ElfW(Shdr) *sh = (const void *)(file + eh->e_shoff);
    bool sane = memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
                eh->e_ident[EI_CLASS] == (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) &&
                eh->e_shentsize == sizeof(ElfW(Shdr)) && eh->e_shoff < size &&
                eh->e_shnum <= (size - eh->e_shoff) / sizeof(ElfW(Shdr));
    const ElfW(Shdr) *best = NULL;
    for (size_t i = 0; sane && i < eh->e_shnum; i++)
        if (sh[i].sh_type == SHT_SYMTAB || (sh[i].sh_type == SHT_DYNSYM && !best)) best = &sh[i];
    const ElfW(Shdr) *strs = best && best->sh_link < eh->e_shnum ? &sh[best->sh_link] : NULL;
    bool inside = strs && best->sh_offset <= size && best->sh_size <= size - best->sh_offset &&
                  strs->sh_offset <= size && strs->sh_size <= size - strs->sh_offset;
    size_t count = inside ? best->sh_size / sizeof(ElfW(Sym)) : 0;
    const ElfW(Sym) *syms = inside ? (const void *)(file + best->sh_offset) : NULL;
    const char *names = inside ? (const char *)file + strs->sh_offset : NULL;
    for (size_t i = 0; i < count; i++) {
        const ElfW(Sym) *sym = &syms[i];
        if (ELF64_ST_TYPE(sym->st_info) != STT_FUNC || sym->st_shndx == SHN_UNDEF ||
            !sym->st_size || sym->st_name >= strs->sh_size ||
            !memchr(names + sym->st_name, 0, strs->sh_size - sym->st_name))
            continue;
        const char *name = names + sym->st_name;
        if (!runtime_symbol(name)) continue;
        uintptr_t start = bias + sym->st_value;
        if (!set_add(&runtime_text, start, start + sym->st_size)) break;
        if (strncmp(name, "_ZN", 3) == 0 && !set_add(&internal_text, start, start + sym->st_size))
            break;
    }
    munmap((void *)(uintptr_t)file, size);
}

typedef struct module_find {
    uintptr_t addr;  /* an address inside the runtime */
    bool is_program; /* the runtime is the executable itself */
    uintptr_t bias;
} module_find;

/* A runtime in its own shared object (gcc's libasan.so): all of its
 * executable segments are the runtime's. */
static int find_runtime_module(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    module_find *m = arg;
    bool first = info->dlpi_name == NULL || info->dlpi_name[0] == '\0';
    bool holds = false;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && m->addr >= start && m->addr < start + ph->p_memsz)
            holds = true;
    }
    if (!holds) return 0;
    m->bias = info->dlpi_addr;
    m->is_program = first;
    if (first) return 1;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (!set_add(&runtime_text, start, start + ph->p_memsz)) return 1;
    }
    return 1;
}

static void load_runtime_text(void *runtime_symbol_addr) {
    module_find m = {.addr = (uintptr_t)runtime_symbol_addr};
    dl_iterate_phdr(find_runtime_module, &m);
    if (m.is_program) load_runtime_symbols(m.bias);
    qsort(runtime_text.r, runtime_text.n, sizeof(lc_region), region_order);
    qsort(internal_text.r, internal_text.n, sizeof(lc_region), region_order);
}

bool lc_sanitizer_pc_in_runtime(uintptr_t pc) {
    return set_contains(&runtime_text, pc);
}

/* ------------------------------------------------------------- the hooks */

static void on_sanitizer_malloc(const volatile void *p, size_t size) {
    lc_alloc_hooked((void *)(uintptr_t)p, size, lc_sanitizer_unwind);
}

static void on_sanitizer_free(const volatile void *p) {
    lc_free_hooked((void *)(uintptr_t)p);
}

static const char *detect_runtime(void) {
    static const struct {
        const char *symbol, *name;
    } runtimes[] = {
        {"__asan_init", "AddressSanitizer"},       {"__tsan_init", "ThreadSanitizer"},
        {"__msan_init", "MemorySanitizer"},        {"__hwasan_init", "HWAddressSanitizer"},
        {"__lsan_do_leak_check", "LeakSanitizer"},
    };
    for (size_t i = 0; i < sizeof runtimes / sizeof runtimes[0]; i++)
        if (dlsym(RTLD_DEFAULT, runtimes[i].symbol)) return runtimes[i].name;
    return "a sanitizer";
}

/* ThreadSanitizer starts a thread of its own with the program's first
 * pthread_create; started inside a test, it would be that test's leaked
 * thread. One short-lived thread at start-up has it exist before any
 * baseline. */
static void *no_work(void *arg) {
    return arg;
}

static void start_runtime_threads(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, no_work, NULL) == 0) pthread_join(t, NULL);
}

void lc_sanitizer_init(void) {
    lc_self_enter();
    install_hooks_fn install =
        (install_hooks_fn)dlsym(RTLD_DEFAULT, "__sanitizer_install_malloc_and_free_hooks");
    lsan_check = (lsan_check_fn)dlsym(RTLD_DEFAULT, "__lsan_do_recoverable_leak_check");
    interposed = lc_alloc_interposers_active();
    if (install) runtime_name = detect_runtime();
    if (install) load_runtime_text((void *)(uintptr_t)install);
    /* Its code is judged like the C runtime's wherever the OS layer is
     * asked (stack capture, reports). */
    if (install) lc_os_set_runtime_pc_test(lc_sanitizer_pc_in_runtime);
    if (install && !interposed) {
        load_family();
        /* The runtime keeps a handful of hook slots; 0 means none was left,
         * and the report then says that the heap is not tracked. */
        hooked = install(on_sanitizer_malloc, on_sanitizer_free) != 0;
    }
    lc_self_leave();
    if (lc_sanitizer_owns_thread_start()) start_runtime_threads();
}

bool lc_heap_untracked(char *why, size_t len) {
    if (interposed || hooked) return false;
    if (runtime_name) {
        snprintf(why, len, "%s's allocation hooks were all taken: heap blocks are not tracked",
                 runtime_name);
        return true;
    }
    lc_self_enter();
    void *resolved = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info;
    const char *where = resolved && dladdr(resolved, &info) && info.dli_fname && info.dli_fname[0]
                            ? info.dli_fname
                            : "the program";
    lc_self_leave();
    snprintf(why, len,
             "the program's malloc is its own (defined in %s), not leakcheck's: heap blocks are "
             "not tracked",
             where);
    return true;
}

bool lc_sanitizer_hooked(void) {
    return hooked;
}

const char *lc_sanitizer_name(void) {
    return runtime_name;
}

bool lc_sanitizer_owns_thread_start(void) {
    return runtime_name && strcmp(runtime_name, "ThreadSanitizer") == 0;
}

bool lc_lsan_available(void) {
    return lsan_check != NULL;
}

void lc_lsan_leak_check(lc_lsan_result *out) {
    lc_lsan_result r = {.available = lsan_check != NULL};
    if (lsan_check) {
        unsigned before = atomic_load_explicit(&lsan_searches, memory_order_relaxed);
        r.leaks = lsan_check() != 0;
        r.ran = atomic_load_explicit(&lsan_searches, memory_order_relaxed) != before;
    }
    if (out) *out = r;
}

void lc_lsan_text(lc_buf *text, const lc_lsan_result *r) {
    if (!r->available) return;
    if (!r->ran)
        lc_buf_printf(text, "\nLeakSanitizer: its leak check is disabled (detect_leaks=0)\n");
    else
        lc_buf_printf(text, "\nLeakSanitizer (whole process, not only since the baseline): %s\n",
                      r->leaks ? "leaks found (its own report precedes this one)" : "no leaks");
}

void lc_lsan_json(lc_buf *json, const lc_lsan_result *r) {
    if (!r->available) return;
    if (!r->ran)
        lc_buf_printf(json, ", \"lsan\": {\"ran\": false, \"leaks\": null}");
    else
        lc_buf_printf(json, ", \"lsan\": {\"ran\": true, \"leaks\": %s}",
                      r->leaks ? "true" : "false");
}
