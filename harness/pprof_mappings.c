/* SPDX-License-Identifier: MIT */
/* pprof_mappings.c: the executable segments of the loaded objects, as a
 * profile's mappings.
 *
 * pprof names a frame it cannot symbolize by its object and its offset in
 * it, and matches objects across processes by build id, so the writer
 * records every executable segment of every loaded object with both. Kept
 * apart from the encoder (pprof_encode.c) because it is the only part that
 * reads the process rather than the model it is given. */
#include "os.h"
#include "pprof.h"

#include <elf.h>
#include <link.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uintptr_t page_down(uintptr_t x, uintptr_t page) {
    return x & ~(page - 1);
}

static const char *object_name(const struct dl_phdr_info *info, const lc_pprof_segments *w) {
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    /* The main program is reported first, without a name. */
    if (!name[0] && w->objects_seen == 0) return w->main_path;
    return name;
}

static int count_segments(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    lc_pprof_segments *w = arg;
    size_t executable = 0;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD && (info->dlpi_phdr[i].p_flags & PF_X))
            executable++;
    if (executable) {
        w->cap += executable;
        w->names_cap += strlen(object_name(info, w)) + 1;
    }
    w->objects_seen++;
    return 0;
}

static void read_build_id(const struct dl_phdr_info *info, char *hex) {
    hex[0] = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        size_t left = ph->p_memsz;
        while (left >= sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *note = (const ElfW(Nhdr) *)p;
            size_t name_size = ((size_t)note->n_namesz + 3) & ~(size_t)3;
            size_t desc_size = ((size_t)note->n_descsz + 3) & ~(size_t)3;
            size_t whole = sizeof *note + name_size + desc_size;
            if (name_size > left || desc_size > left || whole > left) break;
            const char *name = (const char *)(note + 1);
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
                memcmp(name, "GNU", 4) == 0 && note->n_descsz > 0 &&
                note->n_descsz <= LC_PPROF_BUILD_ID_MAX) {
                const uint8_t *id = (const uint8_t *)name + name_size;
                static const char digits[] = "0123456789abcdef";
                for (size_t k = 0; k < note->n_descsz; k++) {
                    hex[2 * k] = digits[id[k] >> 4];
                    hex[2 * k + 1] = digits[id[k] & 15];
                }
                hex[2 * note->n_descsz] = 0;
                return;
            }
            p += whole;
            left -= whole;
        }
    }
}

static int fill_segments(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    lc_pprof_segments *w = arg;
    const char *name = object_name(info, w);
    w->objects_seen++;
    const char *pooled = NULL;
    char build_id[2 * LC_PPROF_BUILD_ID_MAX + 1];
    int have_build_id = 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        if (w->count == w->cap) return 1;
        if (!pooled) {
            size_t n = strlen(name) + 1;
            if (n > w->names_cap - w->names_len) return 1;
            memcpy(w->names + w->names_len, name, n);
            pooled = w->names + w->names_len;
            w->names_len += n;
        }
        if (!have_build_id) {
            read_build_id(info, build_id);
            have_build_id = 1;
        }
        lc_pprof_segment *s = &w->segments[w->count++];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        s->start = page_down(start, page);
        s->limit = page_down(start + ph->p_memsz + page - 1, page);
        s->file_offset = page_down(ph->p_offset, page);
        s->name = pooled;
        memcpy(s->build_id, build_id, sizeof build_id);
        s->id = (uint32_t)w->count;
        s->has_functions = s->has_filenames = s->has_line_numbers = 0;
    }
    return 0;
}

int lc_pprof_segments_collect(lc_pprof_segments *w) {
    if (lc_os_exe_path(w->main_path, sizeof w->main_path) < 0) w->main_path[0] = 0;

    dl_iterate_phdr(count_segments, w);
    if (w->cap == 0) return 0;
    w->segments = calloc(w->cap, sizeof *w->segments);
    w->names = malloc(w->names_cap);
    if (!w->segments || !w->names) return -1;
    w->objects_seen = 0;
    dl_iterate_phdr(fill_segments, w);
    return 0;
}

/* The segment holding pc, by binary search of a table sorted by start. */
lc_pprof_segment *lc_pprof_segment_of(lc_pprof_segment **by_start, size_t n, uintptr_t pc) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (by_start[mid]->start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return NULL;
    lc_pprof_segment *s = by_start[lo - 1];
    return pc < s->limit ? s : NULL;
}

static int by_start_order(const void *a, const void *b) {
    const lc_pprof_segment *x = *(lc_pprof_segment *const *)a, *y = *(lc_pprof_segment *const *)b;
    return x->start < y->start ? -1 : x->start > y->start;
}

void lc_pprof_segments_sort(lc_pprof_segment **by_start, size_t n) {
    qsort(by_start, n, sizeof *by_start, by_start_order);
}

void lc_pprof_segments_free(lc_pprof_segments *w) {
    free(w->segments);
    free(w->names);
}
