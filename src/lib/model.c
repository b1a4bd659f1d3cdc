/* model.c — the qs_model handle: storage, getters, parameter paths and validation.
 *
 * Invariants: names are non-empty, unique, made of letters, digits and '_'; every
 * oscillator has passed qs_model_validate_osc; couplings are stored once per unordered
 * pair with j < k and C_kj = conj(C_jk) implied.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

qs_model *qs_model_alloc(int n, int m)
{
    qs_model *model = calloc(1, sizeof *model);
    if (!model) return NULL;
    model->names = calloc((size_t)(n > 0 ? n : 1), sizeof *model->names);
    model->osc = calloc((size_t)(n > 0 ? n : 1), sizeof *model->osc);
    model->couplings = calloc((size_t)(m > 0 ? m : 1), sizeof *model->couplings);
    if (!model->names || !model->osc || !model->couplings) {
        qs_model_free(&model);
        return NULL;
    }
    model->n = n;
    model->cap_couplings = m > 0 ? m : 1;
    return model;
}

void qs_model_free(qs_model **model)
{
    if (!model || !*model) return;
    free((*model)->names);
    free((*model)->osc);
    free((*model)->couplings);
    free(*model);
    *model = NULL;
}

qs_model *qs_model_copy(const qs_model *src)
{
    qs_model *dst = qs_model_alloc(src->n, src->n_couplings);
    if (!dst) return NULL;
    memcpy(dst->source, src->source, sizeof dst->source);
    memcpy(dst->names, src->names, (size_t)src->n * sizeof *src->names);
    memcpy(dst->osc, src->osc, (size_t)src->n * sizeof *src->osc);
    memcpy(dst->couplings, src->couplings, (size_t)src->n_couplings * sizeof *src->couplings);
    dst->n_couplings = src->n_couplings;
    return dst;
}

int qs_model_assign(qs_model *dst, const qs_model *src)
{
    if (dst->n != src->n || dst->cap_couplings < src->n_couplings) return QS_EINPUT;
    memcpy(dst->osc, src->osc, (size_t)src->n * sizeof *src->osc);
    memcpy(dst->couplings, src->couplings, (size_t)src->n_couplings * sizeof *src->couplings);
    dst->n_couplings = src->n_couplings;
    return QS_OK;
}

int qs_model_size(const qs_model *model) { return model->n; }
const char *qs_model_name(const qs_model *model, int j) { return model->names[j]; }
const qs_osc *qs_model_osc(const qs_model *model, int j) { return &model->osc[j]; }
const char *qs_model_source(const qs_model *model) { return model->source; }
int qs_model_coupling_count(const qs_model *model) { return model->n_couplings; }

int qs_model_find(const qs_model *model, const char *name)
{
    for (int j = 0; j < model->n; j++)
        if (strcmp(model->names[j], name) == 0) return j;
    return -1;
}

void qs_model_coupling(const qs_model *model, int i, int *j, int *k, double complex *c_jk)
{
    *j = model->couplings[i].j;
    *k = model->couplings[i].k;
    *c_jk = model->couplings[i].c;
}

/* ---- physics of one oscillator ---- */

double qs_osc_energy(const qs_osc *o, double n) { return o->omega * n - o->K * n * (n - 1.0); }

static double lorentz(double n, double centre, double sigma)
{
    double d = n - centre;
    return sigma * sigma / (d * d + sigma * sigma);
}

double qs_osc_f_plus(const qs_osc *o, double n) { return lorentz(n, o->n_plus, o->sigma_plus); }
double qs_osc_f_minus(const qs_osc *o, double n) { return lorentz(n, o->n_minus, o->sigma_minus); }
double qs_osc_rate_up(const qs_osc *o, int n) { return o->gamma_plus * qs_osc_f_plus(o, n) * n; }
double qs_osc_rate_down(const qs_osc *o, int n) { return o->gamma_minus * qs_osc_f_minus(o, n) * n; }

/* ---- numbers ---- */

static const char *skip_space(const char *p)
{
    while (isspace((unsigned char)*p)) p++;
    return p;
}

int qs_parse_real(const char *text, double *value)
{
    const char *p = skip_space(text);
    char *end;
    if (*p == '\0') return QS_EINPUT;
    errno = 0;
    double x = strtod(p, &end);
    if (end == p || *skip_space(end) != '\0' || !isfinite(x)) return QS_EINPUT;
    *value = x;
    return QS_OK;
}

int qs_parse_complex(const char *text, double complex *value)
{
    const char *p = skip_space(text);
    char *end;
    double re = 0.0, im = 0.0;
    if (*p == '\0') return QS_EINPUT;
    double x = strtod(p, &end);
    if (end == p) {                       /* "i", "+i", "-i" */
        if (*p == 'i') { im = 1.0; end = (char *)p + 1; }
        else if ((*p == '+' || *p == '-') && p[1] == 'i') { im = *p == '-' ? -1.0 : 1.0; end = (char *)p + 2; }
        else return QS_EINPUT;
    } else if (*end == 'i') {             /* "bi" */
        im = x;
        end++;
    } else if (*end == '+' || *end == '-') { /* "a+bi" */
        const char *q = end;
        double y = strtod(q, &end);
        if (end == q) {
            if (q[1] != 'i') return QS_EINPUT;
            y = *q == '-' ? -1.0 : 1.0;
            end = (char *)q + 1;
        }
        if (*end != 'i') return QS_EINPUT;
        end++;
        re = x;
        im = y;
    } else {
        re = x;
    }
    if (*skip_space(end) != '\0' || !isfinite(re) || !isfinite(im)) return QS_EINPUT;
    *value = CMPLX(re, im);
    return QS_OK;
}

/* ---- oscillator keys ---- */

static int valid_name(const char *s)
{
    if (!*s || strlen(s) >= QS_NAME_MAX) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

/* Apply "key = value" to o. Messages read "WHERE: LABEL …" (no "WHERE: " when where is
 * NULL): LABEL names the key as the user wrote it, the key in a file, the parameter path
 * ("1.K", "K") on the command line. Values are quoted as written, never re-printed. */
static int osc_apply(qs_osc *o, const char *key, const char *value, const char *where, const char *label,
                     qs_error *err)
{
    static const char *const keys[] = {"omega", "K", "gamma", "gamma_plus", "gamma_minus",
        "sigma", "sigma_plus", "sigma_minus", "nbar", "n_plus", "n_minus", "noise",
        "gamma_T", "levels"};
    const char *sep = where ? ": " : "";
    if (!where) where = "";
    size_t nkeys = sizeof keys / sizeof keys[0], which = nkeys;
    for (size_t i = 0; i < nkeys; i++)
        if (strcmp(key, keys[i]) == 0) which = i;
    if (which == nkeys)
        return qs_error_set(err, QS_EINPUT,
            "%s%sunknown key '%s'%s%s%s (oscillator keys: omega K gamma gamma_plus gamma_minus sigma "
            "sigma_plus sigma_minus nbar n_plus n_minus noise gamma_T levels)", where, sep, key,
            strcmp(label, key) ? " in '" : "", strcmp(label, key) ? label : "", strcmp(label, key) ? "'" : "");

    if (strcmp(key, "levels") == 0) {
        const char *p = skip_space(value);
        char *end;
        if (strncmp(p, "auto", 4) == 0 && *skip_space(p + 4) == '\0') {
            o->levels = QS_LEVELS_AUTO;
            return QS_OK;
        }
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || *skip_space(end) != '\0' || errno || v < 2 || v > QS_LEVELS_MAX)
            return qs_error_set(err, QS_EINPUT, "%s%s%s must be an integer from 2 to %d, or auto, not '%s'", where, sep,
                                label, QS_LEVELS_MAX, value);
        o->levels = (int)v;
        return QS_OK;
    }

    double x;
    if (qs_parse_real(value, &x) != QS_OK)
        return qs_error_set(err, QS_EINPUT, "%s%s%s needs a finite real number, not '%s'%s", where, sep, label, value,
                            strchr(value, '=') ? " (one key = value per line)" : "");
    if ((which >= 5 && which <= 7) && !(x > 0))
        return qs_error_set(err, QS_EINPUT, "%s%s%s must be > 0, not '%s'", where, sep, label, value);
    if (((which >= 2 && which <= 4) || which == 11 || which == 12) && x < 0)
        return qs_error_set(err, QS_EINPUT, "%s%s%s must be >= 0, not '%s'", where, sep, label, value);
    switch (which) {
    case 0: o->omega = x; break;
    case 1: o->K = x; break;
    case 2: o->gamma_plus = o->gamma_minus = x; break;
    case 3: o->gamma_plus = x; break;
    case 4: o->gamma_minus = x; break;
    case 5: o->sigma_plus = o->sigma_minus = x; break;
    case 6: o->sigma_plus = x; break;
    case 7: o->sigma_minus = x; break;
    case 8: o->n_plus = x; o->n_minus = x + 1.0; break;
    case 9: o->n_plus = x; break;
    case 10: o->n_minus = x; break;
    case 11: o->noise = x; break;
    case 12: o->gamma_T = x; break;
    }
    return QS_OK;
}

int qs_osc_apply(qs_osc *o, const char *key, const char *value, const char *where, qs_error *err)
{
    return osc_apply(o, key, value, where, key, err);
}

int qs_model_validate_osc(const qs_osc *o, const char *where, qs_error *err)
{
    static const char *const hint[] = {"sigma or sigma_plus", "sigma or sigma_minus", "nbar or n_plus", "nbar or n_minus"};
    const double v[] = {o->sigma_plus, o->sigma_minus, o->n_plus, o->n_minus};
    static const char *const name[] = {"sigma_plus", "sigma_minus", "n_plus", "n_minus"};
    for (int i = 0; i < 4; i++)
        if (isnan(v[i]))
            return qs_error_set(err, QS_EINPUT, "%s: %s is not set (give %s, in [defaults] or the oscillator's section)",
                                where, name[i], hint[i]);
    return QS_OK;
}

/* ---- parameter paths ---- */

static int find_coupling(const qs_model *model, int j, int k)
{
    for (int i = 0; i < model->n_couplings; i++)
        if ((model->couplings[i].j == j && model->couplings[i].k == k) ||
            (model->couplings[i].j == k && model->couplings[i].k == j)) return i;
    return -1;
}

/* Set C_jk = c (j ≠ k, any order), adding the coupling if absent. */
int qs_model_set_coupling(qs_model *model, int j, int k, double complex c)
{
    if (j > k) { int t = j; j = k; k = t; c = conj(c); }
    int i = find_coupling(model, j, k);
    if (i < 0) {
        if (model->n_couplings == model->cap_couplings) {
            qs_coupling *grown = realloc(model->couplings, (size_t)(2 * model->cap_couplings) * sizeof *grown);
            if (!grown) return QS_ENOMEM;
            model->couplings = grown;
            model->cap_couplings *= 2;
        }
        i = model->n_couplings++;
    }
    model->couplings[i] = (qs_coupling){j, k, c};
    return QS_OK;
}

int qs_model_set(qs_model *model, const char *path, const char *value, qs_error *err)
{
    char buf[2 * QS_NAME_MAX + 32];
    if (strlen(path) >= sizeof buf)
        return qs_error_set(err, QS_EINPUT, "parameter path '%.40s...' is too long", path);
    strcpy(buf, path);
    char *dot = strchr(buf, '.'), *dash = strchr(buf, '-');
    if (dot) {                                       /* NAME.key */
        *dot = '\0';
        int j = qs_model_find(model, buf);
        if (j < 0)
            return qs_error_set(err, QS_EINPUT, "no oscillator named '%s' (in '%s')", buf, path);
        qs_osc o = model->osc[j];
        int st = osc_apply(&o, dot + 1, value, NULL, path, err);
        if (st != QS_OK) return st;
        model->osc[j] = o;
        return QS_OK;
    }
    if (dash) {                                      /* A-B */
        *dash = '\0';
        int j = qs_model_find(model, buf), k = qs_model_find(model, dash + 1);
        if (j < 0 || k < 0)
            return qs_error_set(err, QS_EINPUT, "no oscillator named '%s' (in '%s')", j < 0 ? buf : dash + 1, path);
        if (j == k)
            return qs_error_set(err, QS_EINPUT, "coupling %s: an oscillator cannot couple to itself (C_jj = 0)", path);
        double complex c;
        if (qs_parse_complex(value, &c) != QS_OK)
            return qs_error_set(err, QS_EINPUT, "coupling %s needs a finite number such as 0.1, -0.2i or 0.1+0.05i, not '%s'",
                                path, value);
        if (qs_model_set_coupling(model, j, k, c) != QS_OK)
            return qs_error_set(err, QS_ENOMEM, "out of memory setting coupling %s", path);
        return QS_OK;
    }
    for (int j = 0; j < model->n; j++) {             /* key, all oscillators */
        qs_osc o = model->osc[j];
        int st = osc_apply(&o, buf, value, NULL, path, err);
        if (st != QS_OK) return st;
        model->osc[j] = o;
    }
    return QS_OK;
}

int qs_name_valid(const char *name) { return valid_name(name); }
