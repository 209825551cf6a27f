/* SPDX-License-Identifier: MIT */
/* holes.c: the files and lines of a checked process's report, filled in by
 * the supervisor.
 *
 * Under `leakcheck run` a process names its frames from the objects' own
 * symbol tables (harness/elf_symbols.c) and loads nothing to find source
 * lines: each frame's file and line is a hole (harness/buf.h: a marker
 * byte, a form letter, a key, the marker), and PID.modules maps the keys'
 * module numbers to files, load biases and build ids, with the process's
 * working directory first. Here, outside the program, libdw reads the
 * DWARF of those files (and of their separate debug files, found on this
 * machine only, as harness/symbolize.c finds them) and each hole becomes
 * the text the process would have written had it looked the line up
 * itself. An object unloaded by dlclose is read from its file all the same.
 * A file whose build id is no longer the one the process ran gives no
 * lines: its frames keep their module and offset. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "supervise.h"
#include "symbols.h"

/* The supervisor's main thread fills holes while the line service's thread
 * answers questions (line_server.c): libdw is used by one at a time. */
static pthread_mutex_t dw_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct module {
    char *path;
    unsigned long bias;
    unsigned char build_id[64];
    int build_id_len;
    Dwfl *dwfl; /* opened at its first hole */
    Dwfl_Module *mod;
    bool tried;
} module;

typedef struct modmap {
    char cwd[4096];
    size_t cwd_len;
    module *v;
    size_t n;
} modmap;

/* ------------------------------------------------------------ debug files */

/* By build id under /usr/lib/debug, then by .gnu_debuglink: never through
 * debuginfod, as the process's own symbolizer does (the same search). */
static int find_local_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                                Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                                GElf_Word debuglink_crc, char **debuginfo_file_name) {
    (void)userdata, (void)modname, (void)base, (void)debuglink_crc;
    const unsigned char *id;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &id, &vaddr);
    return lc_open_local_debuginfo(len > 0 ? id : NULL, len, file_name, debuglink_file,
                                   debuginfo_file_name);
}

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = find_local_debuginfo,
};

/* The module's own session: an unloaded object and one loaded later at its
 * address never meet. NULL when its file is gone or is another build. */
static Dwfl_Module *open_module(module *m) {
    if (m->tried) return m->mod;
    m->tried = true;
    if (!m->path) return NULL;
    if (!(m->dwfl = dwfl_begin(&callbacks))) return NULL;
    m->mod = dwfl_report_elf(m->dwfl, m->path, m->path, -1, m->bias, false);
    dwfl_report_end(m->dwfl, NULL, NULL);
    const unsigned char *id;
    GElf_Addr vaddr;
    int len = m->mod ? dwfl_module_build_id(m->mod, &id, &vaddr) : 0;
    if (m->mod && m->build_id_len &&
        (len != m->build_id_len || memcmp(id, m->build_id, (size_t)len) != 0))
        m->mod = NULL;
    return m->mod;
}

static const char *relative(const modmap *mm, const char *path) {
    if (path && mm->cwd_len && strncmp(path, mm->cwd, mm->cwd_len) == 0 && path[mm->cwd_len] == '/')
        return path + mm->cwd_len + 1;
    return path;
}

/* ------------------------------------------------------------ lookups */

/* As harness/symbolize.c: the line table, else (no .debug_aranges, as
 * clang leaves) a walk over the compile units. */
static const char *line_of(Dwfl_Module *mod, Dwarf_Addr pc, int *lineno) {
    Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
    if (line) return dwfl_lineinfo(line, NULL, lineno, NULL, NULL, NULL);
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    if (!dw) return NULL;
    Dwarf_Off off = 0, next;
    size_t header;
    while (dwarf_nextcu(dw, off, &next, &header, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu;
        if (dwarf_offdie(dw, off + header, &cu) && dwarf_haspc(&cu, pc - bias) > 0) {
            Dwarf_Line *l = dwarf_getsrc_die(&cu, pc - bias);
            if (l && dwarf_lineno(l, lineno) == 0) return dwarf_linesrc(l, NULL, NULL);
            return NULL;
        }
        off = next;
    }
    return NULL;
}

/* Where DWARF declares the file-scope variable at ELF address `value`
 * (with tls, at that offset of the TLS block). */
static const char *declared_at(Dwfl_Module *mod, Dwarf_Addr value, bool tls, int *lineno) {
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    if (!dw) return NULL;
    Dwarf_Off off = 0, next;
    size_t header;
    while (dwarf_nextcu(dw, off, &next, &header, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu, die;
        if (dwarf_offdie(dw, off + header, &cu) && dwarf_child(&cu, &die) == 0) {
            do {
                if (dwarf_tag(&die) != DW_TAG_variable) continue;
                Dwarf_Attribute attr;
                Dwarf_Op *ops;
                size_t nops;
                if (!dwarf_attr(&die, DW_AT_location, &attr) ||
                    dwarf_getlocation(&attr, &ops, &nops) != 0 || nops == 0)
                    continue;
                bool addr_op = ops[0].atom == DW_OP_addr || ops[0].atom == DW_OP_const8u ||
                               ops[0].atom == DW_OP_const4u;
                if (!addr_op || ops[0].number != value || (nops > 1) != tls) continue;
                *lineno = 0;
                dwarf_decl_line(&die, lineno);
                return dwarf_decl_file(&die);
            } while (dwarf_siblingof(&die, &die) == 0);
        }
        off = next;
    }
    return NULL;
}

/* ------------------------------------------------------------ filling */

static void fill_one(lc_buf *out, modmap *mm, char form, const char *key) {
    unsigned long index = 0, addr = 0, offset = 0;
    char kind = 0;
    int got = form == 'p' || form == 'j' ? sscanf(key, "%lu,%lx,%c", &index, &addr, &kind)
                                         : sscanf(key, "%lu,%lx,%lx", &index, &addr, &offset);
    module *m = got >= 2 && index < mm->n ? &mm->v[index] : NULL;
    Dwfl_Module *mod = m ? open_module(m) : NULL;
    const char *file = NULL;
    int line = 0;
    if (mod && (form == 'p' || form == 'j'))
        file = declared_at(mod, addr, kind == 't', &line);
    else if (mod)
        file = line_of(mod, m->bias + addr, &line);
    file = relative(mm, file);
    switch (form) {
    case 'T':
        if (file) {
            lc_buf_printf(out, " (%s:%d)", file, line);
        } else {
            const char *path = m ? m->path : "?";
            const char *base = strrchr(path, '/');
            lc_buf_printf(out, " (%s+0x%lx)", base ? base + 1 : path, offset);
        }
        break;
    case 'P':
    case 'p':
        if (file) lc_buf_printf(out, " (%s:%d)", file, line);
        break;
    case 'A':
        if (file) lc_buf_printf(out, " at %s:%d", file, line);
        break;
    case 'J':
        lc_buf_printf(out, "\"file\": ");
        lc_buf_json_str(out, file);
        lc_buf_printf(out, ", \"line\": %d", file ? line : 0);
        break;
    case 'j':
        if (!file) {
            lc_buf_printf(out, "null");
            break;
        }
        lc_buf_printf(out, "{\"function\": null, \"file\": ");
        lc_buf_json_str(out, file);
        lc_buf_printf(out, ", \"line\": %d}", line);
        break;
    }
}

/* A build id as a module map and a question write it: hex, or "-" for none.
 * Its length in bytes. */
static int parse_build_id(const char *hex, unsigned char *out, size_t max) {
    size_t len = hex[0] == '-' ? 0 : strlen(hex) / 2;
    int n = 0;
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) break;
        out[n++] = (unsigned char)byte;
    }
    return n;
}

/* A module map: the working directory, then "INDEX BIAS BUILD-ID PATH"
 * lines, up to `end` (or the end of the text). */
static void read_modules(modmap *mm, const char *text, const char *end) {
    if (!end) end = text + strlen(text);
    const char *nl = memchr(text, '\n', (size_t)(end - text));
    if (!nl) return;
    if ((size_t)(nl - text) < sizeof mm->cwd) {
        memcpy(mm->cwd, text, (size_t)(nl - text));
        mm->cwd[nl - text] = '\0';
        mm->cwd_len = strlen(mm->cwd);
    }
    for (const char *p = nl + 1; p < end; p = nl + 1) {
        if (!(nl = memchr(p, '\n', (size_t)(end - p)))) nl = end;
        char line[8192];
        snprintf(line, sizeof line, "%.*s", (int)(nl - p), p);
        unsigned long index, bias;
        char id[160];
        int at = 0;
        if (sscanf(line, "%lu %lx %159s %n", &index, &bias, id, &at) != 3 || !at) continue;
        if (index >= 1u << 20) continue;
        if (index >= mm->n) {
            module *v = realloc(mm->v, (index + 1) * sizeof *v);
            if (!v) break;
            memset(v + mm->n, 0, (index + 1 - mm->n) * sizeof *v);
            mm->v = v;
            mm->n = index + 1;
        }
        module *m = &mm->v[index];
        free(m->path);
        m->path = strdup(line + at);
        m->bias = bias;
        m->build_id_len = parse_build_id(id, m->build_id, sizeof m->build_id);
    }
}

static void free_modules(modmap *mm) {
    for (size_t i = 0; i < mm->n; i++) {
        if (mm->v[i].dwfl) dwfl_end(mm->v[i].dwfl);
        free(mm->v[i].path);
    }
    free(mm->v);
}

/* ------------------------------------------------------------ questions */

/* Every module a process asked about (line_server.c), each opened once;
 * only the line service's thread uses it. */
static modmap asked;

static module *asked_module(const char *path, unsigned long bias, const char *id) {
    unsigned char build_id[sizeof asked.v->build_id];
    int id_len = parse_build_id(id, build_id, sizeof build_id);
    for (size_t i = 0; i < asked.n; i++) {
        module *m = &asked.v[i];
        if (m->bias == bias && m->build_id_len == id_len && strcmp(m->path, path) == 0 &&
            memcmp(m->build_id, build_id, (size_t)id_len) == 0)
            return m;
    }
    module *v = realloc(asked.v, (asked.n + 1) * sizeof *v);
    if (!v) return NULL;
    asked.v = v;
    module *m = &v[asked.n];
    memset(m, 0, sizeof *m);
    if (!(m->path = strdup(path))) return NULL;
    asked.n++;
    m->bias = bias;
    memcpy(m->build_id, build_id, (size_t)id_len);
    m->build_id_len = id_len;
    return m;
}

static const char *answer_locked(const char *question, int *line) {
    char kind;
    unsigned long addr, bias;
    char id[160];
    int at = 0;
    *line = 0;
    if (sscanf(question, "%c %lx %lx %159s %n", &kind, &addr, &bias, id, &at) != 4 || !at)
        return NULL;
    module *m = asked_module(question + at, bias, id);
    Dwfl_Module *mod = m ? open_module(m) : NULL;
    if (!mod) return NULL;
    if (kind == 'g' || kind == 't') return declared_at(mod, addr, kind == 't', line);
    return kind == 'L' ? line_of(mod, bias + addr, line) : NULL;
}

const char *lc_holes_answer(const char *question, int *line) {
    pthread_mutex_lock(&dw_lock);
    const char *file = answer_locked(question, line);
    pthread_mutex_unlock(&dw_lock);
    return file; /* a DWARF string, kept until lc_holes_answers_end */
}

void lc_holes_answers_end(void) {
    pthread_mutex_lock(&dw_lock);
    free_modules(&asked);
    memset(&asked, 0, sizeof asked);
    pthread_mutex_unlock(&dw_lock);
}

/* Appends text[0, len) to out with its holes filled through mm. */
static void fill_text(lc_buf *out, modmap *mm, const char *p, const char *stop) {
    for (const char *h; (h = memchr(p, LC_HOLE, (size_t)(stop - p)));) {
        lc_buf_printf(out, "%.*s", (int)(h - p), p);
        const char *end = memchr(h + 1, LC_HOLE, (size_t)(stop - h - 1));
        if (!end || end == h + 1) { /* not a hole: the marker left out */
            p = h + 1;
            continue;
        }
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(end - h - 2), h + 2);
        fill_one(out, mm, h[1], key);
        p = end + 1;
    }
    lc_buf_printf(out, "%.*s", (int)(stop - p), p);
}

static char *replace(char *text, lc_buf *out) {
    if (out->failed || !out->data) {
        lc_buf_free(out);
        return text;
    }
    free(text);
    return out->data;
}

char *lc_holes_fill(const char *dir, int pid, char *text) {
    if (!text || !strchr(text, LC_HOLE)) return text;
    char path[4200];
    snprintf(path, sizeof path, "%s/%d.modules", dir, pid);
    modmap mm = {0};
    FILE *f = fopen(path, "re");
    if (f) {
        char *map = NULL;
        size_t len = 0;
        if (getdelim(&map, &len, '\0', f) >= 0) read_modules(&mm, map, NULL);
        free(map);
        fclose(f);
    }
    lc_buf out = {0};
    pthread_mutex_lock(&dw_lock);
    fill_text(&out, &mm, text, text + strlen(text));
    free_modules(&mm);
    pthread_mutex_unlock(&dw_lock);
    return replace(text, &out);
}

char *lc_holes_fill_inline(char *text) {
    if (!text || !strchr(text, LC_HOLE)) return text;
    lc_buf out = {0};
    const char *p = text;
    pthread_mutex_lock(&dw_lock);
    for (;;) {
        const char *begin = strstr(p, "\nmodules:\n");
        const char *end = begin ? strstr(begin, "\nend modules\n") : NULL;
        if (!end) break;
        modmap mm = {0};
        read_modules(&mm, begin + strlen("\nmodules:\n"), end + 1);
        fill_text(&out, &mm, p, begin + 1);
        free_modules(&mm);
        p = end + strlen("\nend modules\n");
    }
    modmap none = {0};
    fill_text(&out, &none, p, p + strlen(p));
    pthread_mutex_unlock(&dw_lock);
    return replace(text, &out);
}
