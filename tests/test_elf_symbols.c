/* SPDX-License-Identifier: MIT */
/* test_elf_symbols.c: the specification of the symbol reader that needs no
 * library (harness/elf_symbols.c).
 *
 * It names code addresses from the loaded objects' own symbol tables, and
 * its names are the ones libdw gives (symbolize.c, the test mode's path):
 * the same function, module and module offset for addresses swept across
 * the program's text and the C library's. An address outside every object
 * has no module. Every object it saw is remembered after dlclose, with its
 * path and names, because the dlclose interposer notes the objects before
 * the C library's dlclose unloads one; an object unloaded behind the
 * interposer's back (the C library's own dlclose, called directly) was never
 * seen and is not named. */
#include <check.h>
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leakcheck.h"
#include "os.h"
#include "symbols.h"

/* ------------------------------------------------------------ helpers */

static __attribute__((noinline)) int static_target(int x) {
    return x * 3 + 2;
}

/* The executable text ranges of the program and of the C library. */
typedef struct text {
    uintptr_t start, end;
} text;

typedef struct texts {
    text exe, libc;
} texts;

static int find_text(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    texts *t = arg;
    text *into = NULL;
    if (!info->dlpi_name || !info->dlpi_name[0])
        into = &t->exe;
    else if (strstr(info->dlpi_name, "/libc.so.6"))
        into = &t->libc;
    for (int i = 0; into && i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            into->start = info->dlpi_addr + ph->p_vaddr;
            into->end = into->start + ph->p_memsz;
        }
    }
    return 0;
}

static const char *base_name(const char *path) {
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path;
}

static bool same_name(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Sweeps [start, end) at a stride and counts the addresses where the
 * reader and libdw disagree (printing the first few). */
static int disagreements(uintptr_t start, uintptr_t end, uintptr_t stride, int *compared) {
    int bad = 0;
    for (uintptr_t pc = start; pc < end; pc += stride) {
        const char *name;
        uintptr_t off;
        unsigned char type;
        const lc_module *m = lc_elf_symbol(pc, &name, &off, &type);
        lc_frame f;
        lc_symbolize_pc(pc, &f);
        bool agree = m && same_name(name, f.function) &&
                     same_name(base_name(m->path), base_name(f.module)) &&
                     pc - m->start == f.offset;
        (*compared)++;
        if (!agree && bad++ < 5)
            fprintf(stderr, "%#lx: reader %s in %s+%#lx, libdw %s in %s+%#lx\n", (unsigned long)pc,
                    name ? name : "(none)", m ? m->path : "(none)",
                    m ? (unsigned long)(pc - m->start) : 0ul, f.function ? f.function : "(none)",
                    f.module ? f.module : "(none)", (unsigned long)f.offset);
    }
    return bad;
}

static char plugin[4200];

static void plugin_path(void) {
    char exe[4096];
    long n = lc_os_exe_path(exe, sizeof exe);
    ck_assert_int_gt(n, 0);
    *strrchr(exe, '/') = '\0';
    snprintf(plugin, sizeof plugin, "%s/libsymbols_plugin.so", exe);
}

/* ------------------------------------------------------------ the program */

START_TEST(test_names_a_static_function_of_the_program) {
    uintptr_t pc = (uintptr_t)static_target + 1;
    const char *name;
    uintptr_t off = 0;
    unsigned char type = 0;
    const lc_module *m = lc_elf_symbol(pc, &name, &off, &type);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(name, "static_target");
    ck_assert_uint_eq(off, 1);
    ck_assert_int_eq(type, STT_FUNC);
    char exe[4096];
    ck_assert_int_gt(lc_os_exe_path(exe, sizeof exe), 0);
    ck_assert_str_eq(m->path, exe);
    ck_assert(!m->gone);
    ck_assert_int_eq(static_target(1), 5);
}
END_TEST

START_TEST(test_records_the_build_id_the_program_was_linked_with) {
    const char *name;
    uintptr_t off;
    unsigned char type;
    const lc_module *m = lc_elf_symbol((uintptr_t)static_target, &name, &off, &type);
    ck_assert_ptr_nonnull(m);
    /* The linker's note, also readable from the file with readelf -n. */
    char cmd[4200], want[128] = "";
    char exe[4096];
    ck_assert_int_gt(lc_os_exe_path(exe, sizeof exe), 0);
    snprintf(cmd, sizeof cmd, "readelf -n '%s' | sed -n 's/.*Build ID: *//p'", exe);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    if (!fgets(want, sizeof want, p)) want[0] = '\0';
    pclose(p);
    want[strcspn(want, "\n")] = '\0';
    ck_assert_int_gt(strlen(want), 0);
    char got[2 * LC_BUILD_ID_MAX + 1] = "";
    for (int i = 0; i < m->build_id_len; i++)
        snprintf(got + 2 * i, 3, "%02x", m->build_id[i]);
    ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_an_address_outside_every_object_has_no_module) {
    int local = 0;
    const char *name = "x";
    uintptr_t off;
    unsigned char type;
    ck_assert_ptr_null(lc_elf_symbol((uintptr_t)&local, &name, &off, &type));
    ck_assert_ptr_null(name);
}
END_TEST

/* ------------------------------------------------------------ as libdw names */

START_TEST(test_names_the_program_text_as_libdw_does) {
    texts t = {0};
    dl_iterate_phdr(find_text, &t);
    ck_assert_uint_gt(t.exe.end, t.exe.start);
    int compared = 0;
    ck_assert_int_eq(disagreements(t.exe.start, t.exe.end, 61, &compared), 0);
    ck_assert_int_gt(compared, 100);
}
END_TEST

START_TEST(test_names_the_c_library_text_as_libdw_does) {
    texts t = {0};
    dl_iterate_phdr(find_text, &t);
    ck_assert_uint_gt(t.libc.end, t.libc.start);
    int compared = 0;
    ck_assert_int_eq(disagreements(t.libc.start, t.libc.end, 997, &compared), 0);
    ck_assert_int_gt(compared, 1000);
}
END_TEST

/* ------------------------------------------------------------ dlclose */

START_TEST(test_an_unloaded_object_keeps_its_path_and_names) {
    plugin_path();
    void *h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(h != NULL, "%s", dlerror());
    uintptr_t pc = (uintptr_t)dlsym(h, "symbols_plugin_answer") + 1;
    ck_assert_int_eq(dlclose(h), 0);
    Dl_info info;
    ck_assert_msg(!dladdr((void *)pc, &info), "the plugin is still loaded");
    const char *name;
    uintptr_t off;
    unsigned char type;
    const lc_module *m = lc_elf_symbol(pc, &name, &off, &type);
    ck_assert_ptr_nonnull(m);
    ck_assert(m->gone);
    ck_assert_str_eq(base_name(m->path), "libsymbols_plugin.so");
    ck_assert_str_eq(name, "symbols_plugin_answer");
    ck_assert_uint_eq(off, 1);
}
END_TEST

START_TEST(test_an_object_unloaded_behind_the_interposer_is_not_named) {
    plugin_path();
    /* A copy under a name of its own: an earlier test's record of the
     * plugin, at the same address, says nothing about this one. */
    char dir[] = "/tmp/test_elf_symbols.XXXXXX", twin[64], cmd[4400];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(twin, sizeof twin, "%s/libtwin.so", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", plugin, twin);
    ck_assert_int_eq(system(cmd), 0);
    void *h = dlopen(twin, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(h != NULL, "%s", dlerror());
    uintptr_t pc = (uintptr_t)dlsym(h, "symbols_plugin_answer") + 1;
    int (*libc_dlclose)(void *) = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    ck_assert_ptr_nonnull(libc_dlclose);
    ck_assert_int_eq(libc_dlclose(h), 0);
    const char *name;
    uintptr_t off;
    unsigned char type;
    const lc_module *m = lc_elf_symbol(pc, &name, &off, &type);
    ck_assert(!m || strcmp(m->path, twin) != 0);
    unlink(twin);
    rmdir(dir);
}
END_TEST

static Suite *elf_symbols_suite(void) {
    Suite *s = suite_create("elf_symbols");
    TCase *tc = tcase_create("reader");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_names_a_static_function_of_the_program);
    tcase_add_test(tc, test_records_the_build_id_the_program_was_linked_with);
    tcase_add_test(tc, test_an_address_outside_every_object_has_no_module);
    tcase_add_test(tc, test_names_the_program_text_as_libdw_does);
    tcase_add_test(tc, test_names_the_c_library_text_as_libdw_does);
    tcase_add_test(tc, test_an_unloaded_object_keeps_its_path_and_names);
    tcase_add_test(tc, test_an_object_unloaded_behind_the_interposer_is_not_named);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(elf_symbols_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
