/* model_ini.c — reading a model file (MODEL.md §5) with libinih.
 *
 * inih splits lines into sections and key = value pairs and strips comments; it does not
 * report line numbers or empty sections. Our reader callback hands it one line at a time,
 * so it counts lines and sees section headers itself: every message names file:line.
 *
 * Semantics: each section records its assignments in order; an oscillator is
 * the built-in defaults, then every [defaults] line, then its own lines, in order.
 * Couplings are resolved after the whole file is read (they may name oscillators
 * that come later).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>
#include "internal.h"

#define MAX_VALUE 160

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
    FILE *fp;
    int line;                  /* line being processed */
    int kind;                  /* SEC_* of the current section */
    int osc;                   /* current oscillator index */
    int n_osc, cap_osc;
    char (*names)[QS_NAME_MAX];
    int *osc_line;
    assignment *as;
    int n_as, cap_as;
    coupling_line *cl;
    int n_cl, cap_cl;
    int failed;
    qs_error *err;
} loader;

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

static int fail(loader *ld, int status, const char *fmt, const char *a, const char *b)
{
    char msg[400];
    snprintf(msg, sizeof msg, fmt, a, b);
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
    if (strncmp(name, "oscillator", 10) == 0 && isspace((unsigned char)name[10])) {
        char *osc = trim(name + 10);
        if (!qs_name_valid(osc))
            return fail(ld, QS_EINPUT, "bad oscillator name '%s' (letters, digits and _ only, at most 63)", osc, "");
        for (int j = 0; j < ld->n_osc; j++)
            if (strcmp(ld->names[j], osc) == 0)
                return fail(ld, QS_EINPUT, "oscillator '%s' is defined twice", osc, "");
        if (!grow((void **)&ld->names, &ld->cap_osc, ld->n_osc + 1, sizeof *ld->names) ||
            !(ld->osc_line = realloc(ld->osc_line, (size_t)ld->cap_osc * sizeof *ld->osc_line)))
            return fail(ld, QS_ENOMEM, "out of memory%s%s", "", "");
        strcpy(ld->names[ld->n_osc], osc);
        ld->osc_line[ld->n_osc] = ld->line;
        ld->osc = ld->n_osc++;
        ld->kind = SEC_OSC;
        return 1;
    }
    return fail(ld, QS_EINPUT, "unknown section [%s] (sections: [defaults], [oscillator NAME], [coupling])", name, "");
}

/* inih's line source: one whole line per call; counts lines, spots section headers. */
static char *read_line(char *str, int num, void *stream)
{
    loader *ld = stream;
    if (ld->failed || !fgets(str, num, ld->fp)) return NULL;
    ld->line++;
    size_t len = strlen(str);
    if (len == (size_t)num - 1 && str[len - 1] != '\n' && !feof(ld->fp)) {
        fail(ld, QS_EINPUT, "line longer than %s characters%s", "198", "");
        return NULL;
    }
    char *p = str;
    if (ld->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '[') {
        char *end = strchr(p, ']');
        if (end) {
            char name[256];
            size_t n = (size_t)(end - p - 1);
            if (n >= sizeof name) n = sizeof name - 1;
            memcpy(name, p + 1, n);
            name[n] = '\0';
            if (!open_section(ld, name)) return NULL;
        }
    }
    return str;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    loader *ld = user;
    (void)section;
    if (ld->failed) return 1;
    char v[MAX_VALUE];
    if (strlen(value) >= sizeof v)
        return fail(ld, QS_EINPUT, "value of '%s' is too long%s", name, "");
    strcpy(v, value);
    char *hash = strchr(v, '#');          /* allow "# comment" after a value too */
    if (hash && (hash == v || isspace((unsigned char)hash[-1]))) *hash = '\0';
    char *val = trim(v);
    char where[300];
    snprintf(where, sizeof where, "%s:%d", ld->file, ld->line);

    switch (ld->kind) {
    case SEC_NONE:
        return fail(ld, QS_EINPUT, "'%s' appears before any section%s", name, "");
    case SEC_COUPLING: {
        char pair[2 * QS_NAME_MAX + 2];
        if (strlen(name) >= sizeof pair)
            return fail(ld, QS_EINPUT, "coupling name '%.60s' is too long%s", name, "");
        strcpy(pair, name);
        char *dash = strchr(pair, '-');
        if (!dash)
            return fail(ld, QS_EINPUT, "coupling '%s' must be written A-B with two oscillator names%s", name, "");
        *dash = '\0';
        if (!qs_name_valid(pair) || !qs_name_valid(dash + 1))
            return fail(ld, QS_EINPUT, "coupling '%s' must be written A-B with two oscillator names%s", name, "");
        double complex c;
        if (qs_parse_complex(val, &c) != QS_OK)
            return fail(ld, QS_EINPUT, "coupling %s needs a finite number such as 0.1, -0.2i or 0.1+0.05i, not '%s'", name, val);
        if (!grow((void **)&ld->cl, &ld->cap_cl, ld->n_cl + 1, sizeof *ld->cl))
            return fail(ld, QS_ENOMEM, "out of memory%s%s", "", "");
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
            return fail(ld, QS_EINPUT, "key '%s' too long%s", name, "");
        if (!grow((void **)&ld->as, &ld->cap_as, ld->n_as + 1, sizeof *ld->as))
            return fail(ld, QS_ENOMEM, "out of memory%s%s", "", "");
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

/* Turn the recorded sections into a model. */
static int build(loader *ld, qs_model **out)
{
    qs_error *err = ld->err;
    if (ld->n_osc == 0)
        return qs_error_set(err, QS_EINPUT, "%s: no [oscillator NAME] section", ld->file);
    qs_model *m = qs_model_alloc(ld->n_osc, ld->n_cl);
    if (!m) return qs_error_set(err, QS_ENOMEM, "%s: out of memory", ld->file);
    snprintf(m->source, sizeof m->source, "%s", ld->file);
    char where[300];
    for (int j = 0; j < ld->n_osc; j++) {
        qs_osc o = builtin_defaults();
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < ld->n_as; i++) {
                if (ld->as[i].section != (pass == 0 ? -1 : j)) continue;
                snprintf(where, sizeof where, "%s:%d", ld->file, ld->as[i].line);
                qs_osc_apply(&o, ld->as[i].key, ld->as[i].value, where, NULL); /* checked when read */
            }
        snprintf(where, sizeof where, "%s:%d: oscillator %s", ld->file, ld->osc_line[j], ld->names[j]);
        int st = qs_model_validate_osc(&o, where, err);
        if (st != QS_OK) { qs_model_free(&m); return st; }
        strcpy(m->names[j], ld->names[j]);
        m->osc[j] = o;
    }
    for (int i = 0; i < ld->n_cl; i++) {
        const coupling_line *cl = &ld->cl[i];
        int j = qs_model_find(m, cl->a), k = qs_model_find(m, cl->b);
        int st = QS_OK;
        if (j < 0 || k < 0)
            st = qs_error_set(err, QS_EINPUT, "%s:%d: coupling %s-%s names no oscillator '%s'", ld->file, cl->line,
                              cl->a, cl->b, j < 0 ? cl->a : cl->b);
        else if (j == k)
            st = qs_error_set(err, QS_EINPUT, "%s:%d: coupling %s-%s couples an oscillator to itself (C_jj = 0)",
                              ld->file, cl->line, cl->a, cl->b);
        else
            for (int p = 0; p < m->n_couplings; p++)
                if ((m->couplings[p].j == j && m->couplings[p].k == k) || (m->couplings[p].j == k && m->couplings[p].k == j))
                    st = qs_error_set(err, QS_EINPUT, "%s:%d: duplicate coupling %s-%s", ld->file, cl->line, cl->a, cl->b);
        if (st == QS_OK && qs_model_set_coupling(m, j, k, cl->c) != QS_OK)
            st = qs_error_set(err, QS_ENOMEM, "%s: out of memory", ld->file);
        if (st != QS_OK) { qs_model_free(&m); return st; }
    }
    *out = m;
    return QS_OK;
}

static int load_stream(FILE *fp, const char *name, qs_model **model, qs_error *err)
{
    loader ld = {0};
    ld.file = name;
    ld.fp = fp;
    ld.err = err;
    int rc = ini_parse_stream(read_line, &ld, on_pair, &ld);
    int st;
    if (ld.failed)
        st = err ? err->status : QS_EINPUT;
    else if (rc > 0)
        st = qs_error_set(err, QS_EINPUT, "%s:%d: syntax error (expected [section], key = value, or a comment)", name, rc);
    else if (rc < 0)
        st = qs_error_set(err, QS_ENOMEM, "%s: out of memory while reading", name);
    else if (ferror(fp))
        st = qs_error_set(err, QS_EIO, "%s: read error", name);
    else
        st = build(&ld, model);
    free(ld.names);
    free(ld.osc_line);
    free(ld.as);
    free(ld.cl);
    return st;
}

int qs_model_load(const char *path, qs_model **model, qs_error *err)
{
    *model = NULL;
    FILE *fp = fopen(path, "r");
    if (!fp) return qs_error_set(err, QS_EINPUT, "%s: cannot open model file", path);
    int st = load_stream(fp, path, model, err);
    fclose(fp);
    return st;
}

int qs_model_load_string(const char *text, const char *name, qs_model **model, qs_error *err)
{
    *model = NULL;
    FILE *fp = fmemopen((void *)text, strlen(text), "r");
    if (!fp) return qs_error_set(err, QS_ENOMEM, "%s: cannot read text", name);
    int st = load_stream(fp, name, model, err);
    fclose(fp);
    return st;
}
