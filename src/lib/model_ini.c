/* model_ini.c — reading a model file (MODEL.md §5) with libinih.
 *
 * The whole file is read into memory first (at most QS_MODEL_FILE_MAX bytes, from a regular
 * file or a pipe; directories and devices are refused before they are opened), then handed
 * to inih one line at a time by our own line source, which
 *   - counts lines, so every message names file:line;
 *   - refuses a NUL byte, a carriage return other than that of a CRLF line end, and every
 *     other control character but the tab: a model file is plain text, and nothing in it
 *     may hide text from the person reading it;
 *   - removes comments (';' or '#' at the start or after a blank) and surrounding blanks,
 *     so an indented line is an ordinary line (inih would take it as the continuation of
 *     the previous value) and only the content counts against the line limit;
 *   - spots section headers and refuses "key: value" and lines without '='.
 *
 * Semantics: each section records its assignments in order; an oscillator is
 * the built-in defaults, then every [defaults] line, then its own lines, in order.
 * Couplings are resolved after the whole file is read (they may name oscillators
 * that come later).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ini.h>
#include "internal.h"

#define MAX_VALUE INI_MAX_LINE   /* a value is part of one line */
#define TOO_BIG "%s: larger than 1 MiB (%d bytes), the most a model file may hold"

typedef struct {
    int section;               /* -1 defaults, ≥0 oscillator index */
    int line;
    char key[32];
    char value[MAX_VALUE];
} assignment;

typedef struct {
    int line;
    char a[QS_NAME_MAX], b[QS_NAME_MAX];
    double complex c;
} coupling_line;

enum { SEC_NONE, SEC_DEFAULTS, SEC_OSC, SEC_COUPLING };

typedef struct {
    const char *file;
    const char *text;          /* the whole file */
    size_t len, pos;           /* its length, and where the next line starts */
    int line;                  /* line being processed */
    int kind;                  /* SEC_* of the current section */
    int osc;                   /* current oscillator index */
    int n_osc, cap_osc;
    char (*names)[QS_NAME_MAX];
    int *osc_line;
    int *table, table_size;    /* hash table of oscillator names: index or -1; size a power of 2 */
    assignment *as;
    int n_as, cap_as;
    coupling_line *cl;
    int n_cl, cap_cl;
    int failed;
    qs_error *err;
} loader;

/* ---- oscillator names: a hash table, so that reading stays linear in the file ---- */

static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u;                  /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Index of the oscillator called name, or -1. */
static int name_find(const loader *ld, const char *name)
{
    if (!ld->table_size) return -1;
    for (unsigned i = name_hash(name) & (unsigned)(ld->table_size - 1);; i = (i + 1) & (unsigned)(ld->table_size - 1)) {
        int j = ld->table[i];
        if (j < 0 || strcmp(ld->names[j], name) == 0) return j;
    }
}

/* Enter oscillator j (its name already in ld->names); the table is kept at most half full. */
static int name_add(loader *ld, int j)
{
    if (2 * (j + 1) > ld->table_size) {
        int size = ld->table_size ? 2 * ld->table_size : 64;
        int *t = malloc((size_t)size * sizeof *t);
        if (!t) return 0;
        free(ld->table);
        ld->table = t;
        ld->table_size = size;
        for (int i = 0; i < size; i++) t[i] = -1;
        for (int k = 0; k < j; k++) name_add(ld, k);
    }
    unsigned i = name_hash(ld->names[j]) & (unsigned)(ld->table_size - 1);
    while (ld->table[i] >= 0) i = (i + 1) & (unsigned)(ld->table_size - 1);
    ld->table[i] = j;
    return 1;
}

static int grow(void **p, int *cap, int need, size_t elem)
{
    if (need <= *cap) return 1;
    int ncap = *cap ? 2 * *cap : 8;
    while (ncap < need) ncap *= 2;
    void *q = realloc(*p, (size_t)ncap * elem);
    if (!q) return 0;
    *p = q;
    *cap = ncap;
    return 1;
}

/* Record an error at the current line; returns 0 (inih's "stop" and our "failed"). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(loader *ld, int status, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    qs_error_set(ld->err, status, "%s:%d: %s", ld->file, ld->line, msg);
    ld->failed = 1;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

/* A section header seen by the reader. Returns 0 on error (ld->failed set). */
static int open_section(loader *ld, char *name)
{
    name = trim(name);
    if (strcmp(name, "defaults") == 0) { ld->kind = SEC_DEFAULTS; return 1; }
    if (strcmp(name, "coupling") == 0) { ld->kind = SEC_COUPLING; return 1; }
    if (strcmp(name, "oscillator") == 0)
        return fail(ld, QS_EINPUT, "[oscillator] needs a name: [oscillator NAME]");
    if (strncmp(name, "oscillator", 10) == 0 && isspace((unsigned char)name[10])) {
        char *osc = trim(name + 10);
        if (!qs_name_valid(osc))
            return fail(ld, QS_EINPUT, "bad oscillator name '%s' (letters, digits and _ only, at most %d)", osc,
                        QS_NAME_MAX - 1);
        int j = name_find(ld, osc);
        if (j >= 0)
            return fail(ld, QS_EINPUT, "oscillator '%s' is defined twice (first at line %d)", osc, ld->osc_line[j]);
        int cap_names = ld->cap_osc;
        if (!grow((void **)&ld->osc_line, &cap_names, ld->n_osc + 1, sizeof *ld->osc_line) ||
            !grow((void **)&ld->names, &ld->cap_osc, ld->n_osc + 1, sizeof *ld->names))
            return fail(ld, QS_ENOMEM, "out of memory");
        strcpy(ld->names[ld->n_osc], osc);
        ld->osc_line[ld->n_osc] = ld->line;
        if (!name_add(ld, ld->n_osc)) return fail(ld, QS_ENOMEM, "out of memory");
        ld->osc = ld->n_osc++;
        ld->kind = SEC_OSC;
        return 1;
    }
    return fail(ld, QS_EINPUT, "unknown section [%s] (sections: [defaults], [oscillator NAME], [coupling])", name);
}

/* inih's line source: the next line of ld->text, checked, its comment and surrounding blanks
 * removed, copied into str (num bytes); section headers are opened here. NULL ends the
 * parse (end of text, or ld->failed). */
static char *read_line(char *str, int num, void *stream)
{
    loader *ld = stream;
    if (ld->failed || ld->pos >= ld->len) return NULL;
    const char *s = ld->text + ld->pos, *nl = memchr(s, '\n', ld->len - ld->pos);
    size_t n = nl ? (size_t)(nl - s) : ld->len - ld->pos;
    ld->pos += n + (nl != NULL);
    ld->line++;
    if (n > 0 && s[n - 1] == '\r') n--;                        /* CRLF line end */
    if (ld->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) { s += 3; n -= 3; }   /* UTF-8 BOM */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0') {
            fail(ld, QS_EINPUT, "NUL byte at column %zu (a model file is plain text)", i + 1);
            return NULL;
        }
        if (c == '\r') {
            fail(ld, QS_EINPUT, "carriage return at column %zu (lines end in LF or CRLF)", i + 1);
            return NULL;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            fail(ld, QS_EINPUT, "control character 0x%02x at column %zu (a model file is plain text)", c, i + 1);
            return NULL;
        }
    }
    size_t end = n, start = 0;
    for (size_t i = 0; i < n; i++)                           /* the comment, if any */
        if ((s[i] == ';' || s[i] == '#') && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) { end = i; break; }
    while (start < end && (s[start] == ' ' || s[start] == '\t')) start++;
    while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t')) end--;
    if (end - start > (size_t)num - 1) {
        fail(ld, QS_EINPUT, "line is longer than %d characters (comments aside)", num - 1);
        return NULL;
    }
    memcpy(str, s + start, end - start);
    str[end - start] = '\0';
    if (str[0] == '[') {
        char *close = strchr(str, ']');
        if (!close) {
            fail(ld, QS_EINPUT, "section header without ']'");
            return NULL;
        }
        if (close[1] != '\0') {
            fail(ld, QS_EINPUT, "text after the section header: '%s'", close + 1);
            return NULL;
        }
        char name[INI_MAX_LINE];
        size_t len = (size_t)(close - str - 1);
        memcpy(name, str + 1, len);
        name[len] = '\0';
        if (!open_section(ld, name)) return NULL;
    } else if (str[0] != '\0') {
        char *eq = strchr(str, '='), *colon = strchr(str, ':');
        if (!eq) {
            fail(ld, QS_EINPUT, "expected key = value, [section] or a comment, not '%s'", str);
            return NULL;
        }
        if (colon && colon < eq) {
            fail(ld, QS_EINPUT, "expected key = value; ':' is not a separator here");
            return NULL;
        }
    }
    return str;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    loader *ld = user;
    (void)section;
    if (ld->failed) return 1;
    char val[MAX_VALUE];
    if (strlen(value) >= sizeof val)          /* unreachable: a value is part of one line */
        return fail(ld, QS_EINPUT, "value of '%s' is longer than %zu characters", name, sizeof val - 1);
    strcpy(val, value);
    char where[300];
    snprintf(where, sizeof where, "%s:%d", ld->file, ld->line);

    switch (ld->kind) {
    case SEC_NONE:
        return fail(ld, QS_EINPUT, "'%s' appears before any section", name);
    case SEC_COUPLING: {
        char pair[2 * QS_NAME_MAX + 2];
        if (strlen(name) >= sizeof pair)
            return fail(ld, QS_EINPUT, "coupling name '%.60s...' is too long", name);
        strcpy(pair, name);
        char *dash = strchr(pair, '-');
        if (dash) *dash = '\0';
        if (!dash || !qs_name_valid(pair) || !qs_name_valid(dash + 1))
            return fail(ld, QS_EINPUT, "coupling '%s' must be written A-B with two oscillator names", name);
        double complex c;
        if (qs_parse_complex(val, &c) != QS_OK)
            return fail(ld, QS_EINPUT, "coupling %s needs a finite number such as 0.1, -0.2i or 0.1+0.05i, not '%s'", name, val);
        if (!grow((void **)&ld->cl, &ld->cap_cl, ld->n_cl + 1, sizeof *ld->cl))
            return fail(ld, QS_ENOMEM, "out of memory");
        coupling_line *cl = &ld->cl[ld->n_cl++];
        cl->line = ld->line;
        strcpy(cl->a, pair);
        strcpy(cl->b, dash + 1);
        cl->c = c;
        return 1;
    }
    default: {
        qs_osc scratch = {0};
        scratch.sigma_plus = scratch.sigma_minus = 1.0;
        if (qs_osc_apply(&scratch, name, val, where, ld->err) != QS_OK) {
            ld->failed = 1;
            return 0;
        }
        if (strlen(name) >= sizeof ld->as->key)   /* unreachable: the key was recognised */
            return fail(ld, QS_EINPUT, "key '%s' is too long", name);
        if (!grow((void **)&ld->as, &ld->cap_as, ld->n_as + 1, sizeof *ld->as))
            return fail(ld, QS_ENOMEM, "out of memory");
        assignment *a = &ld->as[ld->n_as++];
        a->section = ld->kind == SEC_DEFAULTS ? -1 : ld->osc;
        a->line = ld->line;
        strcpy(a->key, name);
        strcpy(a->value, val);
        return 1;
    }
    }
}

static qs_osc builtin_defaults(void)
{
    qs_osc o = {0};
    o.gamma_plus = o.gamma_minus = 1.0;
    o.sigma_plus = o.sigma_minus = NAN;
    o.n_plus = o.n_minus = NAN;
    o.levels = QS_LEVELS_AUTO;
    return o;
}

/* Couplings by unordered pair, then by line: the order in which duplicates show. */
typedef struct { int lo, hi, line, index; } pair_key;

static int pair_cmp(const void *pa, const void *pb)
{
    const pair_key *a = pa, *b = pb;
    if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
    if (a->hi != b->hi) return a->hi < b->hi ? -1 : 1;
    return (a->line > b->line) - (a->line < b->line);
}

/* Turn the recorded sections into a model; linear in the file but for one sort of the couplings. */
static int build(loader *ld, qs_model **out)
{
    qs_error *err = ld->err;
    if (ld->n_osc == 0)
        return qs_error_set(err, QS_EINPUT, "%s: no [oscillator NAME] section", ld->file);
    qs_model *m = qs_model_alloc(ld->n_osc, ld->n_cl);
    int *first = calloc((size_t)ld->n_osc + 1, sizeof *first), *order = malloc(((size_t)ld->n_as + 1) * sizeof *order);
    pair_key *keys = malloc(((size_t)ld->n_cl + 1) * sizeof *keys);
    int st = QS_OK;
    if (!m || !first || !order || !keys) {
        st = qs_error_set(err, QS_ENOMEM, "%s: out of memory", ld->file);
        goto done;
    }
    snprintf(m->source, sizeof m->source, "%s", ld->file);
    char where[512];
    /* built-in defaults, then every [defaults] line, in order: the start of every oscillator */
    qs_osc base = builtin_defaults();
    for (int i = 0; i < ld->n_as; i++)
        if (ld->as[i].section < 0) {
            snprintf(where, sizeof where, "%s:%d", ld->file, ld->as[i].line);
            qs_osc_apply(&base, ld->as[i].key, ld->as[i].value, where, NULL);   /* checked when read */
        }
    /* each oscillator's own lines, in order (a counting sort by section keeps the order) */
    for (int i = 0; i < ld->n_as; i++)
        if (ld->as[i].section >= 0) first[ld->as[i].section + 1]++;
    for (int j = 0; j < ld->n_osc; j++) first[j + 1] += first[j];
    for (int i = 0; i < ld->n_as; i++)
        if (ld->as[i].section >= 0) order[first[ld->as[i].section]++] = i;
    for (int j = 0, i = 0; j < ld->n_osc; j++) {       /* first[j] is now the end of j's lines */
        qs_osc o = base;
        for (; i < first[j]; i++) {
            const assignment *a = &ld->as[order[i]];
            snprintf(where, sizeof where, "%s:%d", ld->file, a->line);
            qs_osc_apply(&o, a->key, a->value, where, NULL);
        }
        snprintf(where, sizeof where, "%s:%d: oscillator %s", ld->file, ld->osc_line[j], ld->names[j]);
        if ((st = qs_model_validate_osc(&o, where, err)) != QS_OK) goto done;
        strcpy(m->names[j], ld->names[j]);
        m->osc[j] = o;
    }
    /* couplings: names, self-couplings and duplicates; the first faulty line is reported */
    int bad = -1;                                       /* index of the first faulty coupling line */
    for (int i = 0; i < ld->n_cl; i++) {
        int j = name_find(ld, ld->cl[i].a), k = name_find(ld, ld->cl[i].b);
        keys[i] = (pair_key){j < k ? j : k, j < k ? k : j, ld->cl[i].line, i};
        if ((j < 0 || k < 0 || j == k) && bad < 0) bad = i;
    }
    qsort(keys, (size_t)ld->n_cl, sizeof *keys, pair_cmp);
    int dup = -1;                                       /* the duplicate on the earliest line */
    for (int i = 1; i < ld->n_cl; i++)
        if (keys[i].lo >= 0 && keys[i].lo == keys[i - 1].lo && keys[i].hi == keys[i - 1].hi &&
            (dup < 0 || keys[i].line < ld->cl[dup].line)) dup = keys[i].index;
    if (dup >= 0 && (bad < 0 || ld->cl[dup].line < ld->cl[bad].line)) bad = dup;
    if (bad >= 0) {
        const coupling_line *cl = &ld->cl[bad];
        int j = name_find(ld, cl->a), k = name_find(ld, cl->b);
        if (j < 0 || k < 0)
            st = qs_error_set(err, QS_EINPUT, "%s:%d: coupling %s-%s names no oscillator '%s'", ld->file, cl->line,
                              cl->a, cl->b, j < 0 ? cl->a : cl->b);
        else if (j == k)
            st = qs_error_set(err, QS_EINPUT, "%s:%d: coupling %s-%s couples an oscillator to itself (C_jj = 0)",
                              ld->file, cl->line, cl->a, cl->b);
        else
            st = qs_error_set(err, QS_EINPUT, "%s:%d: duplicate coupling %s-%s", ld->file, cl->line, cl->a, cl->b);
        goto done;
    }
    for (int i = 0; i < ld->n_cl; i++) {                /* in file order; stored as j < k, C_jk */
        int j = name_find(ld, ld->cl[i].a), k = name_find(ld, ld->cl[i].b);
        m->couplings[i] = j < k ? (qs_coupling){j, k, ld->cl[i].c} : (qs_coupling){k, j, conj(ld->cl[i].c)};
    }
    m->n_couplings = ld->n_cl;
done:
    free(first);
    free(order);
    free(keys);
    if (st != QS_OK) qs_model_free(&m);
    else *out = m;
    return st;
}

/* Parse text[0..len) (not NUL-terminated) read from `name`. */
static int load_text(const char *text, size_t len, const char *name, qs_model **model, qs_error *err)
{
    *model = NULL;
    if (strlen(name) >= sizeof ((qs_model *)0)->source)
        return qs_error_set(err, QS_EINPUT, "model file name longer than %zu characters: '%.60s...'",
                            sizeof ((qs_model *)0)->source - 1, name);
    if (len > QS_MODEL_FILE_MAX)
        return qs_error_set(err, QS_EINPUT, TOO_BIG, name, QS_MODEL_FILE_MAX);
    loader ld = {0};
    ld.file = name;
    ld.text = text;
    ld.len = len;
    ld.err = err;
    int rc = ini_parse_stream(read_line, &ld, on_pair, &ld);
    int st;
    if (ld.failed)
        st = err ? err->status : QS_EINPUT;
    else if (rc > 0)                  /* unreachable: read_line refuses what inih would */
        st = qs_error_set(err, QS_EINPUT, "%s:%d: syntax error (expected [section], key = value, or a comment)", name, rc);
    else if (rc < 0)
        st = qs_error_set(err, QS_ENOMEM, "%s: out of memory while reading", name);
    else
        st = build(&ld, model);
    free(ld.names);
    free(ld.osc_line);
    free(ld.table);
    free(ld.as);
    free(ld.cl);
    return st;
}

static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode) ? "a directory" : S_ISCHR(mode) ? "a character device" : S_ISBLK(mode) ? "a block device"
         : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

/* Read the file at path (a regular file or a pipe, symbolic links followed) into a new
 * buffer of *len bytes; at most QS_MODEL_FILE_MAX. */
static int read_file(const char *path, char **text, size_t *len, qs_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)        /* before opening: a device or a directory is never opened */
        return qs_error_set(err, QS_EINPUT, "%s: cannot open model file (%s)", path, strerror(errno));
    if (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode))
        return qs_error_set(err, QS_EINPUT, "%s: is %s, not a model file (a regular file or a pipe)", path,
                            file_kind(sb.st_mode));
    if (S_ISREG(sb.st_mode) && sb.st_size > QS_MODEL_FILE_MAX)
        return qs_error_set(err, QS_EINPUT, TOO_BIG, path, QS_MODEL_FILE_MAX);
    /* without blocking: a named pipe with no writer reads as an empty file instead of waiting
     * for ever; then reads block again, so a pipe being written is read whole */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return qs_error_set(err, QS_EINPUT, "%s: cannot open model file (%s)", path, strerror(errno));
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    int st = QS_OK;
    char *buf = NULL;
    size_t n = 0;
    if (fstat(fd, &sb) != 0 || (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode)))
        st = qs_error_set(err, QS_EINPUT, "%s: changed into something other than a regular file or a pipe while being opened", path);
    else if (!(buf = malloc((size_t)QS_MODEL_FILE_MAX + 1)))
        st = qs_error_set(err, QS_ENOMEM, "%s: out of memory", path);
    while (st == QS_OK && n <= QS_MODEL_FILE_MAX) {   /* one byte beyond the limit tells it is exceeded */
        ssize_t r = read(fd, buf + n, (size_t)QS_MODEL_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) st = qs_error_set(err, QS_EINPUT, "%s: cannot read model file (%s)", path, strerror(errno));
        else if (r == 0) break;
        else n += (size_t)r;
    }
    close(fd);
    if (st == QS_OK && n > QS_MODEL_FILE_MAX)
        st = qs_error_set(err, QS_EINPUT, TOO_BIG, path, QS_MODEL_FILE_MAX);
    if (st != QS_OK) {
        free(buf);
        return st;
    }
    *text = buf;
    *len = n;
    return QS_OK;
}

int qs_model_load(const char *path, qs_model **model, qs_error *err)
{
    *model = NULL;
    char *text = NULL;
    size_t len = 0;
    int st = read_file(path, &text, &len, err);
    if (st != QS_OK) return st;
    st = load_text(text, len, path, model, err);
    free(text);
    return st;
}

int qs_model_load_string(const char *text, const char *name, qs_model **model, qs_error *err)
{
    return load_text(text, strlen(text), name, model, err);
}
