/* unwind.c: capturing call stacks.
 *
 * Two unwinders, chosen per call. Walking frame pointers costs about a
 * nanosecond a frame and is what keeps tracking cheaper than the sanitizers;
 * it needs the program built with -fno-omit-frame-pointer (leakcheck.pc adds
 * it). The C runtime is built without frame pointers, so an allocation made
 * inside libc (strdup, fopen, getline, ...) would lose the caller's frame: for
 * those, and everywhere when LEAKCHECK_UNWIND=dwarf, libunwind unwinds from
 * the DWARF call-frame information instead. */
#define UNW_LOCAL_ONLY
#include "internal.h"

#include <libunwind.h>
#include <valgrind/memcheck.h>

/* Code built without frame pointers leaves whatever it likes in the frame
 * pointer register, including values memcheck considers uninitialised;
 * the walk validates every link itself, so under valgrind the loaded words
 * are declared defined rather than reported. */
static inline uintptr_t load_word(const uintptr_t *p) {
    uintptr_t w = *p;
    if (LC_UNLIKELY(lc_cfg.under_valgrind)) VALGRIND_MAKE_MEM_DEFINED(&w, sizeof w);
    return w;
}

static int walk_frame_pointers(uintptr_t *pcs, int max, void *frame, uintptr_t caller) {
    uintptr_t lo, hi;
    int n = 0;
    pcs[n++] = caller;
    if (!lc_os_thread_stack(&lo, &hi)) return n;
    uintptr_t fp = (uintptr_t)frame;
    /* frame points at the interposer's saved frame pointer; its caller's
     * frame is the next link. Every link must move up the stack, stay inside
     * it and be aligned, or the walk stops. */
    while (n < max) {
        if (fp < lo || fp + 2 * sizeof(uintptr_t) > hi || (fp & (sizeof(uintptr_t) - 1))) break;
        uintptr_t next = load_word((uintptr_t *)fp);
        if (next <= fp || next >= hi) break;
        uintptr_t ret = load_word((uintptr_t *)next + 1);
        if (ret < 4096) break;
        pcs[n++] = ret;
        fp = next;
    }
    return n;
}

static int walk_dwarf(uintptr_t *pcs, int max, uintptr_t caller) {
    void *buf[LC_MAX_DEPTH + 8];
    int got = unw_backtrace(buf, max + 8 < (int)(sizeof buf / sizeof buf[0])
                                     ? max + 8
                                     : (int)(sizeof buf / sizeof buf[0]));
    /* Drop the library's own frames: everything up to the interposer's
     * return address, which is the first frame of the report. */
    int start = 0;
    while (start < got && (uintptr_t)buf[start] != caller)
        start++;
    if (start == got) {
        pcs[0] = caller;
        return 1;
    }
    int n = 0;
    for (int i = start; i < got && n < max; i++)
        pcs[n++] = (uintptr_t)buf[i];
    return n;
}

int lc_unwind(uintptr_t *pcs, int max, void *frame, uintptr_t caller) {
    if (max <= 0) return 0;
    if (lc_cfg.unwind_dwarf || lc_os_pc_in_runtime(caller)) return walk_dwarf(pcs, max, caller);
    return walk_frame_pointers(pcs, max, frame, caller);
}

int lc_unwind_here(uintptr_t *pcs, int max, int skip) {
    void *buf[LC_MAX_DEPTH + 16];
    int want = max + skip;
    if (want > (int)(sizeof buf / sizeof buf[0])) want = (int)(sizeof buf / sizeof buf[0]);
    int got = unw_backtrace(buf, want);
    int n = 0;
    for (int i = skip; i < got && n < max; i++)
        pcs[n++] = (uintptr_t)buf[i];
    return n;
}
