/* sweep.c — S and the other observables over a grid of parameters, and the store of the
 * grid's results (see qsync/sweep.h).
 *
 * Invariants: base holds the couplings of every point (couplings named by the axes and
 * ties exist, levels resolved); every grid point's model has been built and checked at
 * creation, and levels_max[j] is the largest truncation of oscillator j at any point (levels
 * may be an axis), which fixes the layout of every point's observables (width values, the
 * populations of a point with fewer levels padded with 0); perms is the symmetry group common
 * to all points. A quantum point computes its observables in one qs_observe call: those
 * asked, then S and phi_max when not asked (result.S, result.phi, and the truncation status
 * speak of S). Each thread keeps up to PLANS_PER_THREAD plans, one per distinct structure, and
 * resets a plan the first time a block uses it, so a point's numbers depend only on its
 * block. Beside each steady plan sits the truncation check's plan for that structure
 * (convergence.h), made afresh the first time a block uses it (it has no reset of its own);
 * a structure whose check is too costly (auto) has none and its points carry NaN. Threads share nothing but the read-only sweep and the report callback, which runs
 * in a critical section.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <matheval.h>
#include <omp.h>
#include "qsync/sweep.h"
#include "qsync/observables.h"
#include "qsync/spectrum.h"
#include "internal.h"

#define MAX_VARS 16
#define PLANS_PER_THREAD 4

typedef struct {
    char path[2 * QS_NAME_MAX + 32];
    int osc;                     /* −1: every oscillator */
    int coupling;                /* 1: path is a coupling "A-B" (set once per point) */
    char key[32];
    void *eval;                  /* libmatheval evaluator */
    int n_vars;
    char *vars[MAX_VARS];        /* variable names, owned by the evaluator */
    int field[MAX_VARS];         /* which parameter each variable reads */
    int var_osc[MAX_VARS];       /* of which oscillator (−1: the one being set) */
} tie;

struct qs_sweep {
    qs_model *base;
    int n_axes;
    qs_axis *axes;               /* paths point into path_store */
    char **path_store;
    int n_paths_total;
    double complex *value_store; /* explicit axis values */
    int n_ties;
    tie *ties;
    qs_sweep_options opt;
    size_t size;
    int pairs;
    int *levels_max;             /* [n] largest levels of each oscillator at any point */
    int *perms, n_perms;
    /* observables of every quantum point: those asked (or S, phi_max), then S and phi_max
     * when not asked, so that result.S and result.phi always have theirs */
    int n_user, n_obs;
    int *obs;                    /* [n_obs]; opt.observe points at its first n_user (asked) */
    size_t user_width, width;    /* values asked; all, at levels_max */
    size_t S_at, phi_at;         /* where S and phi_max start in the values */
    size_t finished;             /* points finished by the current run (read while it runs) */
};

static const char *const var_names[] = {"omega", "K", "gamma_plus", "gamma_minus", "sigma_plus", "sigma_minus",
    "n_plus", "n_minus", "noise", "gamma_T", "gamma", "sigma", "nbar"};
static const int var_field[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2, 4, 6};

static double osc_field(const qs_osc *o, int f)
{
    switch (f) {
    case 0: return o->omega;
    case 1: return o->K;
    case 2: return o->gamma_plus;
    case 3: return o->gamma_minus;
    case 4: return o->sigma_plus;
    case 5: return o->sigma_minus;
    case 6: return o->n_plus;
    case 7: return o->n_minus;
    case 8: return o->noise;
    default: return o->gamma_T;
    }
}

void qs_sweep_defaults(qs_sweep_options *o)
{
    qs_steady_defaults(&o->steady);
    o->tail_tol = QS_AUTO_GUESS_TAIL;
    o->truncation = QS_SWEEP_TRUNCATION_SAMPLED;
    o->s_tol = QS_S_TOL_DEFAULT;
    o->block = 16;
    o->threads = 0;
    o->perturb = 0;
    o->classical = 0;
    qs_classical_defaults(&o->classical_options);
    o->target_err = 0;
    o->part = 0;
    o->parts = 1;
    o->stop = NULL;
    o->n_observe = 0;
    o->observe = NULL;
    o->spectrum_points = 0;
    o->spectrum_min = o->spectrum_max = 0;
}

void qs_sweep_free(qs_sweep **sweep)
{
    if (!sweep || !*sweep) return;
    qs_sweep *s = *sweep;
    qs_model_free(&s->base);
    for (int i = 0; i < s->n_paths_total; i++) free(s->path_store[i]);
    free(s->path_store);
    free(s->value_store);
    free(s->axes);
    for (int t = 0; t < s->n_ties; t++)
        if (s->ties[t].eval) evaluator_destroy(s->ties[t].eval);
    free(s->ties);
    free(s->perms);
    free(s->levels_max);
    free(s->obs);
    free(s);
    *sweep = NULL;
}

size_t qs_sweep_size(const qs_sweep *s) { return s->size; }
int qs_sweep_block_size(const qs_sweep *s) { return s->opt.block; }
const qs_sweep_options *qs_sweep_options_used(const qs_sweep *s) { return &s->opt; }
int qs_sweep_pairs(const qs_sweep *s) { return s->pairs; }
const qs_model *qs_sweep_model(const qs_sweep *s) { return s->base; }
/* classical: the frequencies of every point as result.values, ν, ν_err per oscillator and
 * beat, beat_err per pair (qs_classical_nu, …) */
static size_t classical_width(const qs_sweep *s) { return 2 * (size_t)s->base->n + 2 * (size_t)s->pairs; }
size_t qs_sweep_observe_width(const qs_sweep *s) { return s->opt.classical ? classical_width(s) : s->user_width; }
double qs_sweep_spectrum_omega(const qs_sweep *s, int k)
{
    int n = s->opt.spectrum_points;
    if (k < 0 || k >= n) return NAN;
    return k == n - 1 ? s->opt.spectrum_max : s->opt.spectrum_min + (s->opt.spectrum_max - s->opt.spectrum_min) * k / (n - 1);
}
int qs_sweep_levels_max(const qs_sweep *s, int j) { return j >= 0 && j < s->base->n ? s->levels_max[j] : 0; }

const char *qs_sweep_status_word(int st)
{
    switch (st) {
    case QS_OK: return "ok";
    case QS_WARN_TRUNCATION: return "top-level";
    case QS_SWEEP_STATUS_TRUNCATION: return "truncation";
    case QS_ENUMERIC: return "numerical";
    case QS_ETOOBIG: case QS_ENOMEM: return "memory";
    default: return "input";
    }
}

int qs_sweep_status_parse(const char *word, int *status)
{
    static const int codes[] = {QS_OK, QS_WARN_TRUNCATION, QS_SWEEP_STATUS_TRUNCATION, QS_ENUMERIC, QS_ETOOBIG, QS_EINPUT};
    for (size_t k = 0; k < sizeof codes / sizeof codes[0]; k++)
        if (strcmp(word, qs_sweep_status_word(codes[k])) == 0) { *status = codes[k]; return 1; }
    return 0;
}

static double complex axis_value(const qs_axis *a, size_t i)
{
    if (a->values) return a->values[i];
    if (a->count <= 1) return a->start;
    double t = (double)i / (double)(a->count - 1);
    double re = creal(a->start) + (creal(a->stop) - creal(a->start)) * t;
    double im = cimag(a->start) + (cimag(a->stop) - cimag(a->start)) * t;
    return CMPLX(re, im);
}

int qs_sweep_axis_complex(const qs_sweep *s, int axis)
{
    const qs_axis *a = &s->axes[axis];
    if (!a->values) return cimag(a->start) != 0 || cimag(a->stop) != 0;
    for (int i = 0; i < a->count; i++) if (cimag(a->values[i]) != 0) return 1;
    return 0;
}

void qs_sweep_coordinates(const qs_sweep *s, size_t point, double complex *values)
{
    for (int a = s->n_axes - 1; a >= 0; a--) {
        size_t c = (size_t)s->axes[a].count;
        values[a] = axis_value(&s->axes[a], point % c);
        point /= c;
    }
}

/* "%.17g", or "%.17g%+.17gi" when the value has an imaginary part (parameter text). */
static void format_value(char *text, size_t size, double complex v)
{
    if (cimag(v) != 0) snprintf(text, size, "%.17g%+.17gi", creal(v), cimag(v));
    else snprintf(text, size, "%.17g", creal(v));
}

/* Apply the axes at `point` and then the ties to `m` (already assigned from base). */
static int apply_point(const qs_sweep *s, size_t point, qs_model *m, qs_error *err)
{
    double complex v[64];
    qs_sweep_coordinates(s, point, v);
    char text[96];
    for (int a = 0; a < s->n_axes; a++) {
        format_value(text, sizeof text, v[a]);
        for (int p = 0; p < s->axes[a].n_paths; p++) {
            int st = qs_model_set(m, s->axes[a].paths[p], text, err);
            if (st != QS_OK) return qs_error_prefix(err, st, "--vary %s: ", s->axes[a].paths[p]);   /* the caller's path */
        }
    }
    for (int t = 0; t < s->n_ties; t++) {
        const tie *ti = &s->ties[t];
        for (int j = 0; j < m->n; j++) {
            if (!ti->coupling && ti->osc >= 0 && ti->osc != j) continue;
            double vals[MAX_VARS], x;
            for (int k = 0; k < ti->n_vars; k++)
                vals[k] = osc_field(&m->osc[ti->var_osc[k] >= 0 ? ti->var_osc[k] : j], ti->field[k]);
#pragma omp critical(qs_tie_evaluate)
            x = evaluator_evaluate(ti->eval, ti->n_vars, (char **)ti->vars, vals);
            if (!isfinite(x))
                return qs_error_set(err, QS_EINPUT, "--tie %s: the expression gives %s, not a finite number", ti->path,
                                    isnan(x) ? "NaN" : x > 0 ? "+infinity" : "-infinity");
            char where[2 * QS_NAME_MAX + 40];
            if (ti->coupling) snprintf(where, sizeof where, "%s", ti->path);
            else snprintf(where, sizeof where, "%s.%s", m->names[j], ti->key);
            snprintf(text, sizeof text, "%.17g", x);
            int st = qs_model_set(m, where, text, err);
            if (st != QS_OK) return qs_error_prefix(err, st, "--tie %s: ", ti->path);
            if (ti->coupling) break;
        }
    }
    return QS_OK;
}

int qs_sweep_point_model(const qs_sweep *s, size_t point, qs_model *m, qs_error *err)
{
    if (qs_model_assign(m, s->base) != QS_OK) return qs_error_set(err, QS_EINPUT, "model does not match the sweep");
    return apply_point(s, point, m, err);
}

/* Variable `name` of a tie: KEY (the oscillator being set: *osc = −1) or KEY_NAME (oscillator
 * NAME). Returns the field, or −1 when it names no key. */
static int tie_variable(const qs_model *m, const char *name, int *osc)
{
    size_t nk = sizeof var_names / sizeof var_names[0];
    *osc = -1;
    for (size_t f = 0; f < nk; f++)
        if (strcmp(name, var_names[f]) == 0) return var_field[f];
    for (const char *u = strchr(name, '_'); u; u = strchr(u + 1, '_')) {
        int j = qs_model_find(m, u + 1);
        if (j < 0) continue;
        for (size_t f = 0; f < nk; f++)
            if (strlen(var_names[f]) == (size_t)(u - name) && strncmp(name, var_names[f], (size_t)(u - name)) == 0) {
                *osc = j;
                return var_field[f];
            }
    }
    return -1;
}

static int make_tie(qs_sweep *s, const qs_tie *in, tie *t, qs_error *err)
{
    snprintf(t->path, sizeof t->path, "%s", in->path);
    const char *dot = strchr(in->path, '.');
    t->osc = -1;
    t->coupling = !dot && strchr(in->path, '-') != NULL;
    if (dot) {
        char name[QS_NAME_MAX];
        snprintf(name, sizeof name, "%.*s", (int)(dot - in->path), in->path);
        t->osc = qs_model_find(s->base, name);
        if (t->osc < 0) return qs_error_set(err, QS_EINPUT, "--tie %s: no oscillator named '%s'", in->path, name);
    }
    snprintf(t->key, sizeof t->key, "%s", dot ? dot + 1 : in->path);
    if ((!t->coupling && strchr(t->key, '-')) || strcmp(t->key, "levels") == 0)
        return qs_error_set(err, QS_EINPUT, "--tie %s: ties set oscillator keys or couplings A-B (not levels)", in->path);
    t->eval = evaluator_create((char *)in->expression);
    if (!t->eval) return qs_error_set(err, QS_EINPUT, "--tie %s: cannot parse the expression '%s'", in->path, in->expression);
    char **names;
    int count;
    evaluator_get_variables(t->eval, &names, &count);
    if (count > MAX_VARS) return qs_error_set(err, QS_EINPUT, "--tie %s: too many variables", in->path);
    t->n_vars = count;
    for (int k = 0; k < count; k++) {
        t->vars[k] = names[k];
        t->field[k] = tie_variable(s->base, names[k], &t->var_osc[k]);
        if (t->field[k] < 0)
            return qs_error_set(err, QS_EINPUT, "--tie %s: unknown variable '%s' (use the oscillator's keys: omega K gamma "
                                "gamma_plus gamma_minus sigma sigma_plus sigma_minus nbar n_plus n_minus noise gamma_T, "
                                "or KEY_NAME for oscillator NAME's)", in->path, names[k]);
        if (t->coupling && t->var_osc[k] < 0)
            return qs_error_set(err, QS_EINPUT, "--tie %s: a coupling has no keys of its own; name the oscillator, "
                                "e.g. '%s_%s' instead of '%s'", in->path, names[k], qs_model_name(s->base, 0), names[k]);
    }
    return QS_OK;
}

/* Prefix err's message with the grid point and its axis values ("grid point 3 (sigma = 0.1): "). */
static void point_error(const qs_sweep *s, size_t point, int st, qs_error *err)
{
    if (!err) return;
    double complex v[64];
    char where[256], text[96];
    qs_sweep_coordinates(s, point, v);
    size_t k = (size_t)snprintf(where, sizeof where, "grid point %zu (", point);
    for (int a = 0; a < s->n_axes && k < sizeof where; a++) {
        format_value(text, sizeof text, v[a]);
        k += (size_t)snprintf(where + k, sizeof where - k, "%s%s = %s", a ? ", " : "", s->axes[a].paths[0], text);
    }
    qs_error_prefix(err, st, "%.200s): ", where);
}

/* Whether two parameter paths can name the same parameter: equal, a coupling in either
 * order ("A-B", "B-A"), or a key of every oscillator and one oscillator's ("K", "A.K"). */
static int paths_overlap(const char *p, const char *q)
{
    if (strcmp(p, q) == 0) return 1;
    const char *dp = strchr(p, '.'), *dq = strchr(q, '.');
    if (!dp && !dq) {
        const char *hp = strchr(p, '-'), *hq = strchr(q, '-');
        if (!hp || !hq) return 0;
        size_t lp = (size_t)(hp - p), lq = (size_t)(hq - q);
        return strlen(hp + 1) == lq && strncmp(hp + 1, q, lq) == 0 && strlen(hq + 1) == lp && strncmp(hq + 1, p, lp) == 0;
    }
    if (dp && dq) return 0;
    const char *whole = dp ? q : p, *one = dp ? dp + 1 : dq + 1;
    return !strchr(whole, '-') && strcmp(whole, one) == 0;
}

/* Path k of the axes' paths followed by the ties' (k < the total), and its flag. */
static const char *path_at(int k, int n_axes, const qs_axis *axes, const qs_tie *ties, const char **flag)
{
    for (int a = 0; a < n_axes; a++, k -= axes[a - 1].n_paths)
        if (k < axes[a].n_paths) { *flag = "--vary"; return axes[a].paths[k]; }
    *flag = "--tie";
    return ties[k].path;
}

/* The first two paths of the axes and ties that name the same parameter (a grid whose
 * columns would not say what was solved): an error naming both, else QS_OK. */
static int check_paths_distinct(int n_axes, const qs_axis *axes, int n_ties, const qs_tie *ties, qs_error *err)
{
    int total = n_ties;
    for (int a = 0; a < n_axes; a++) total += axes[a].n_paths;
    for (int x = 0; x < total; x++)
        for (int y = x + 1; y < total; y++) {
            const char *fx, *fy, *px = path_at(x, n_axes, axes, ties, &fx), *py = path_at(y, n_axes, axes, ties, &fy);
            if (paths_overlap(px, py))
                return qs_error_set(err, QS_EINPUT, "%s %s and %s %s name the same parameter: each may be varied or tied once",
                                    fx, px, fy, py);
        }
    return QS_OK;
}

/* The observables of every point (s->obs) from options.observe: checked (known, each once,
 * quantum only), S and phi_max added when not asked; opt.observe then points at the copy. */
static int set_observables(qs_sweep *s, qs_error *err)
{
    int n_user = s->opt.n_observe > 0 ? s->opt.n_observe : 0;
    if (n_user > 0 && !s->opt.observe) return qs_error_set(err, QS_EINPUT, "observables: n_observe > 0 without the list");
    if (n_user > 0 && s->opt.classical)
        return qs_error_set(err, QS_EINPUT, "observables are of the quantum steady state; a classical sweep gives S, S_err "
                            "and phi_max only");
    int total = qs_observable_count();
    if (n_user > total) return qs_error_set(err, QS_EINPUT, "observables: %d asked, the table has %d", n_user, total);
    s->obs = malloc(((size_t)n_user + 2) * sizeof *s->obs);
    if (!s->obs) return qs_error_set(err, QS_ENOMEM, "out of memory");
    const int S = qs_observable_find("S"), phi = qs_observable_find("phi_max");
    if (n_user == 0) {
        s->obs[s->n_obs++] = S;
        s->obs[s->n_obs++] = phi;
        s->n_user = 2;
    } else {
        for (int k = 0; k < n_user; k++) {
            int w = s->opt.observe[k];
            if (!qs_observable_get(w)) return qs_error_set(err, QS_EINPUT, "observables: no observable of index %d", w);
            for (int i = 0; i < k; i++)
                if (s->obs[i] == w) return qs_error_set(err, QS_EINPUT, "observables: %s asked twice", qs_observable_get(w)->name);
            s->obs[s->n_obs++] = w;
        }
        s->n_user = n_user;
        int has_S = 0, has_phi = 0;
        for (int k = 0; k < n_user; k++) has_S |= s->obs[k] == S, has_phi |= s->obs[k] == phi;
        if (!has_S) s->obs[s->n_obs++] = S;
        if (!has_phi) s->obs[s->n_obs++] = phi;
    }
    s->opt.n_observe = n_user;
    s->opt.observe = n_user ? s->obs : NULL;
    return QS_OK;
}

int qs_sweep_create(const qs_model *base, int n_axes, const qs_axis *axes, int n_ties, const qs_tie *ties,
                    const qs_sweep_options *options, qs_sweep **out, qs_error *err)
{
    *out = NULL;
    if (n_axes < 1 || n_axes > 64) return qs_error_set(err, QS_EINPUT, "a sweep needs 1 to 64 --vary axes");
    qs_sweep *s = calloc(1, sizeof *s);
    int st;
    if (!s) return qs_error_set(err, QS_ENOMEM, "out of memory");
    if (options) s->opt = *options; else qs_sweep_defaults(&s->opt);
    if (!s->opt.classical && (st = qs_steady_options_check(&s->opt.steady, err)) != QS_OK) { free(s); return st; }
    /* sampling takes a point's estimate from neighbours of the same levels: with the levels
     * themselves on an axis there are none, so every point is estimated */
    for (int a = 0; a < n_axes && s->opt.truncation == QS_SWEEP_TRUNCATION_SAMPLED; a++)
        for (int q = 0; q < axes[a].n_paths; q++) {
            const char *dot = strrchr(axes[a].paths[q], '.');
            if (strcmp(dot ? dot + 1 : axes[a].paths[q], "levels") == 0) s->opt.truncation = QS_SWEEP_TRUNCATION_AUTO;
        }
    if ((st = set_observables(s, err)) != QS_OK) { qs_sweep_free(&s); return st; }
    if (s->opt.spectrum_points < 0 || (s->opt.spectrum_points > 0 && s->opt.classical)) {
        st = qs_error_set(err, QS_EINPUT, s->opt.classical ? "spectra are of the quantum model; a classical sweep has none"
                          : "spectrum: at least 2 frequencies from a lower to a higher finite one");
        qs_sweep_free(&s);
        return st;
    }
    if (s->opt.spectrum_points > 0 && (st = qs_spectrum_check_grid(s->opt.spectrum_min, s->opt.spectrum_max, s->opt.spectrum_points, err)) != QS_OK) {
        st = qs_error_prefix(err, QS_EINPUT, "spectrum: ");
        qs_sweep_free(&s);
        return st;
    }
    if (s->opt.block < 1) s->opt.block = 1;
    if (s->opt.parts < 1 || s->opt.part < 0 || s->opt.part >= s->opt.parts) { s->opt.parts = 1; s->opt.part = 0; }
    s->base = qs_model_copy(base);
    s->axes = calloc((size_t)n_axes, sizeof *s->axes);
    s->ties = calloc((size_t)(n_ties > 0 ? n_ties : 1), sizeof *s->ties);
    size_t n_values = 0;
    for (int a = 0; a < n_axes; a++) {
        s->n_paths_total += axes[a].n_paths;
        if (axes[a].values) n_values += (size_t)axes[a].count;
    }
    s->value_store = malloc((n_values ? n_values : 1) * sizeof *s->value_store);
    s->path_store = calloc((size_t)s->n_paths_total + 1, sizeof *s->path_store);
    if (!s->base || !s->axes || !s->ties || !s->path_store || !s->value_store) { qs_sweep_free(&s); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
    s->n_axes = n_axes;
    s->size = 1;
    int k = 0;
    size_t vk = 0;
    for (int a = 0; a < n_axes; a++) {
        s->axes[a] = axes[a];
        if (axes[a].values) {
            memcpy(s->value_store + vk, axes[a].values, (size_t)axes[a].count * sizeof *s->value_store);
            s->axes[a].values = s->value_store + vk;
            vk += (size_t)axes[a].count;
        }
        s->axes[a].paths = (const char *const *)(s->path_store + k);
        if (axes[a].count < 1 || axes[a].n_paths < 1) { qs_sweep_free(&s); return qs_error_set(err, QS_EINPUT, "--vary needs COUNT >= 1 and a path"); }
        for (int p = 0; p < axes[a].n_paths; p++)
            if (!(s->path_store[k++] = strdup(axes[a].paths[p]))) { qs_sweep_free(&s); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
        if (!qs_mul_size(s->size, (size_t)axes[a].count, &s->size) || s->size > QS_SWEEP_MAX_POINTS) {
            qs_sweep_free(&s);
            return qs_error_set(err, QS_EINPUT, "--vary: the grid has more than %d points (the largest sweep); "
                                "split it into several sweeps", QS_SWEEP_MAX_POINTS);
        }
        if (!axes[a].values && (!isfinite(creal(axes[a].stop) - creal(axes[a].start)) ||
                                !isfinite(cimag(axes[a].stop) - cimag(axes[a].start)))) {
            qs_sweep_free(&s);
            return qs_error_set(err, QS_EINPUT, "--vary %s: the range from its start to its stop overflows a double",
                                axes[a].paths[0]);
        }
        if (qs_sweep_axis_complex(s, a))
            for (int p = 0; p < axes[a].n_paths; p++)
                if (strchr(axes[a].paths[p], '.') || !strchr(axes[a].paths[p], '-')) {
                    qs_sweep_free(&s);
                    return qs_error_set(err, QS_EINPUT, "--vary %s: complex values only on couplings (A-B), not on '%s'",
                                        axes[a].paths[0], axes[a].paths[p]);
                }
    }
    if ((st = check_paths_distinct(n_axes, axes, n_ties, ties, err)) != QS_OK) { qs_sweep_free(&s); return st; }
    for (int t = 0; t < n_ties; t++, s->n_ties++)
        if ((st = make_tie(s, &ties[t], &s->ties[t], err)) != QS_OK) { s->n_ties++; qs_sweep_free(&s); return st; }
    int n = s->base->n;
    s->pairs = n * (n - 1) / 2;

    /* structure: every coupling an axis or tie names exists in base (set at point 0) */
    if ((st = apply_point(s, 0, s->base, err)) != QS_OK) {
        point_error(s, 0, st, err);
        qs_sweep_free(&s);
        return st;
    }
    qs_model *m;
    /* levels = auto: by the tolerance on S (qs_model_auto_levels_s), the largest choice over
     * the corners of the grid and its centre */
    int *levels = calloc((size_t)n, sizeof *levels), any_auto = 0;
    for (int j = 0; j < n && !s->opt.classical; j++) any_auto |= s->base->osc[j].levels == QS_LEVELS_AUTO;
    m = qs_model_copy(s->base);
    if (!levels || !m) { free(levels); qs_model_free(&m); qs_sweep_free(&s); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
    size_t corners = (size_t)1 << (n_axes < 16 ? n_axes : 16);
    for (size_t corner = 0; any_auto && corner <= corners; corner++) {   /* corner == corners: the centre */
        size_t point = 0;
        for (int a = 0; a < n_axes; a++)
            point = point * (size_t)axes[a].count + (corner == corners ? (size_t)axes[a].count / 2
                                                     : (corner >> a) & 1 ? (size_t)axes[a].count - 1 : 0);
        qs_auto_options ao;
        qs_auto_defaults(&ao);
        ao.s_tol = s->opt.s_tol;
        ao.guess_tail = s->opt.tail_tol;
        ao.steady = s->opt.steady;
        if ((st = qs_sweep_point_model(s, point, m, err)) != QS_OK ||
            (st = qs_model_auto_levels_s(m, &ao, NULL, NULL, err)) != QS_OK) {
            if (st != QS_OK) point_error(s, point, st, err);
            free(levels); qs_model_free(&m); qs_sweep_free(&s); return st;
        }
        for (int j = 0; j < n; j++) if (m->osc[j].levels > levels[j]) levels[j] = m->osc[j].levels;
    }
    for (int j = 0; any_auto && j < n; j++)
        if (s->base->osc[j].levels == QS_LEVELS_AUTO) s->base->osc[j].levels = levels[j];
    free(levels);
    /* every point builds; the symmetry group is what all of them share: the points refine
     * the labels of what a symmetry must keep, and the group is found once at the end */
    qs_symmetry_labels *labels = NULL;
    if (!(s->levels_max = calloc((size_t)n, sizeof *s->levels_max)) || qs_symmetry_labels_create(n, &labels) != QS_OK ||
        qs_symmetry_labels_add(labels, s->base) != QS_OK) {
        qs_symmetry_labels_free(&labels);
        qs_model_free(&m);
        qs_sweep_free(&s);
        return qs_error_set(err, QS_ENOMEM, "out of memory");
    }
    for (size_t p = 0; p < s->size; p++) {
        if (p % 4096 == 4095 && s->opt.stop && *s->opt.stop) {
            qs_symmetry_labels_free(&labels);
            qs_model_free(&m);
            qs_sweep_free(&s);
            return qs_error_set(err, QS_EINPUT, "interrupted");
        }
        if ((st = qs_sweep_point_model(s, p, m, err)) != QS_OK) {
            point_error(s, p, st, err);
            qs_symmetry_labels_free(&labels);
            qs_model_free(&m);
            qs_sweep_free(&s);
            return st;
        }
        for (int j = 0; j < n; j++)
            if (m->osc[j].levels > s->levels_max[j]) s->levels_max[j] = m->osc[j].levels;
        if (qs_symmetry_labels_add(labels, m) != QS_OK) st = QS_ENOMEM;
        if (st != QS_OK) break;
    }
    qs_model_free(&m);
    if (st == QS_OK) st = qs_symmetry_labels_group(labels, &s->perms, &s->n_perms, NULL);
    qs_symmetry_labels_free(&labels);
    if (st != QS_OK) { qs_sweep_free(&s); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
    if (!s->opt.classical) {
        s->user_width = qs_observe_width(n, s->levels_max, s->n_user, s->obs);
        s->width = qs_observe_width(n, s->levels_max, s->n_obs, s->obs);
        for (int w = 0; w < s->n_obs; w++) {
            size_t at = qs_observe_width(n, s->levels_max, w, s->obs);
            if (strcmp(qs_observable_get(s->obs[w])->name, "S") == 0) s->S_at = at;
            if (strcmp(qs_observable_get(s->obs[w])->name, "phi_max") == 0) s->phi_at = at;
        }
    }
    *out = s;
    return QS_OK;
}

/* The classical sweep: points one after the other, each an ensemble run on every thread. */
static int run_classical(qs_sweep *s, const unsigned char *done, qs_sweep_report report, void *ctx, volatile int *stop,
                         qs_error *err)
{
    size_t block = (size_t)s->opt.block, np = (size_t)(s->pairs ? s->pairs : 1);
    qs_model *m = qs_model_copy(s->base);
    qs_sweep_result *res = malloc(block * sizeof *res);
    double *S = malloc(3 * block * np * sizeof *S);
    size_t nv = classical_width(s);
    double *V = malloc(block * nv * sizeof *V);
    if (!m || !res || !S || !V) {
        qs_model_free(&m); free(res); free(S); free(V);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the sweep's workspaces");
    }
    for (size_t b = 0; b * block < s->size && !*stop; b++) {
        if (b % (size_t)s->opt.parts != (size_t)s->opt.part) continue;
        int n = 0;
        for (size_t p = b * block; p < (b + 1) * block && p < s->size && !*stop; p++) {
            if (done && done[p]) continue;
            qs_sweep_result *r = &res[n];
            double *Sp = S + (size_t)n * np, *Ep = S + (block + (size_t)n) * np, *Pp = S + (2 * block + (size_t)n) * np;
            double *Vp = V + (size_t)n * nv;
            *r = (qs_sweep_result){.point = p, .S = Sp, .S_err = Ep, .phi = Pp, .residual = NAN, .top_population = NAN,
                                   .escaped_fraction = NAN, .truncation_error = NAN, .values = Vp};
            for (int q = 0; q < s->pairs; q++) Sp[q] = Ep[q] = Pp[q] = NAN;
            for (size_t k = 0; k < nv; k++) Vp[k] = NAN;
            qs_error e;
            qs_classical_result cr;
            qs_classical_ensemble *ens = NULL;
            int st = qs_sweep_point_model(s, p, m, &e), traj = s->opt.classical_options.trajectories;
            if (st == QS_OK) st = qs_classical_ensemble_create(m, &s->opt.classical_options, &ens, &e);
            if (st == QS_OK) st = qs_classical_ensemble_grow(ens, traj, &e);
            if (st == QS_OK) st = qs_classical_ensemble_result(ens, &cr, &e);
            /* a pilot, then the same ensemble grown until the error is below the target (at most
             * 8 rounds; growing wastes nothing, so the margin for the jackknife error's own
             * uncertainty can be small) */
            for (int round = 0; st == QS_OK && s->opt.target_err > 0 && round < 8; round++) {
                double worst = 0;
                for (int q = 0; q < s->pairs; q++) worst = fmax(worst, cr.pair[q].S_err);
                if (!(worst > s->opt.target_err)) break;
                double need = traj * (worst / s->opt.target_err) * (worst / s->opt.target_err) * 1.1;
                qs_classical_result_free(&cr);
                traj = (int)fmin(ceil(need), 64.0 * s->opt.classical_options.trajectories);
                st = qs_classical_ensemble_grow(ens, traj, &e);
                if (st == QS_OK) st = qs_classical_ensemble_result(ens, &cr, &e);
            }
            qs_classical_ensemble_free(&ens);
            r->status = st;
            if (st == QS_OK) {
                for (int q = 0; q < s->pairs; q++) { Sp[q] = cr.pair[q].S; Ep[q] = cr.pair[q].S_err; Pp[q] = cr.pair[q].phi_max; }
                r->escaped_fraction = cr.escaped_fraction;
                int nj = m->n;
                for (int j = 0; j < nj; j++) { Vp[j] = qs_classical_nu(&cr, j); Vp[nj + j] = qs_classical_nu_err(&cr, j); }
                for (int q = 0; q < s->pairs; q++) {
                    Vp[2 * nj + q] = qs_classical_beat(&cr, q);
                    Vp[2 * nj + s->pairs + q] = qs_classical_beat_err(&cr, q);
                }
                qs_classical_result_free(&cr);
            }
            n++;
#pragma omp atomic update
            s->finished++;
        }
        if (n > 0 && report) report(ctx, res, n);
    }
    qs_model_free(&m);
    free(res);
    free(S);
    free(V);
    return QS_OK;
}

/* The observables of a solved point into values (s->width, the layout at the grid's largest
 * levels): computed once at the point's own levels, and a population above them is 0. */
static int observe_point(const qs_sweep *s, const qs_model *m, const qs_state *state, double *values, double *scratch,
                         qs_error *e)
{
    int n = m->n, same = 1;
    for (int j = 0; j < n; j++) same &= m->osc[j].levels == s->levels_max[j];
    int st = qs_observe(m, state, s->n_obs, s->obs, same ? values : scratch, e);
    if (st != QS_OK || same) return st;
    size_t from = 0, to = 0;
    for (int k = 0; k < s->n_obs; k++) {
        const qs_observable *o = qs_observable_get(s->obs[k]);
        if (o->kind == QS_OBS_OSCILLATOR && o->per_level) {
            for (int j = 0; j < n; j++) {
                size_t l = (size_t)m->osc[j].levels;
                memcpy(values + to, scratch + from, l * sizeof *values);
                for (; l < (size_t)s->levels_max[j]; l++) values[to + l] = 0.0;
                from += (size_t)m->osc[j].levels;
                to += (size_t)s->levels_max[j];
            }
        } else {
            size_t w = o->kind == QS_OBS_PAIR ? (size_t)s->pairs : o->kind == QS_OBS_NETWORK ? 1 : (size_t)n;
            memcpy(values + to, scratch + from, w * sizeof *values);
            from += w;
            to += w;
        }
    }
    return QS_OK;
}

/* The spectra of a solved point on the sweep's grid of frequencies into out
 * ([oscillators × spectrum_points]), the frequencies of one point solved on its own thread. */
static int spectrum_point(const qs_sweep *s, const qs_model *m, const qs_state *state, double *out, qs_error *e)
{
    qs_spectrum_options so;
    qs_spectrum_defaults(&so);
    so.omega_min = s->opt.spectrum_min;
    so.omega_max = s->opt.spectrum_max;
    so.n_omega = s->opt.spectrum_points;
    so.threads = 1;
    qs_spectrum *sp = NULL;
    int st = qs_spectrum_run(m, state, &so, &sp, e);
    for (int j = 0; st == QS_OK && j < m->n; j++)
        memcpy(out + (size_t)j * (size_t)so.n_omega, qs_spectrum_values(sp, j), (size_t)so.n_omega * sizeof *out);
    qs_spectrum_free(&sp);
    return st;
}

/* A thread's plans, one per distinct structure; `used` marks those reset in this block. */
typedef struct {
    qs_steady *plan[PLANS_PER_THREAD];
    qs_convergence_plan *check[PLANS_PER_THREAD];  /* the truncation check of that structure */
    int check_state[PLANS_PER_THREAD];             /* 0 not made in this block, 1 made, −1 too costly */
    int used[PLANS_PER_THREAD];
    unsigned long last[PLANS_PER_THREAD];
    unsigned long clock;
} plan_cache;

/* The plan for m's structure, reset the first time a block uses it (a new one is fresh). */
static int cache_plan(plan_cache *pc, const qs_model *m, const qs_steady_options *so, qs_steady **plan, int *which,
                      qs_error *e)
{
    int slot = -1, oldest = 0;
    for (int i = 0; i < PLANS_PER_THREAD; i++) {
        if (pc->plan[i] && qs_steady_compatible(pc->plan[i], m)) { slot = i; break; }
        if (!pc->plan[i] || (pc->plan[oldest] && pc->last[i] < pc->last[oldest])) oldest = i;
    }
    if (slot < 0) {
        slot = oldest;
        qs_steady_free(&pc->plan[slot]);
        qs_convergence_plan_free(&pc->check[slot]);
        pc->check_state[slot] = 0;
        int st = qs_steady_create(m, so, &pc->plan[slot], e);
        if (st != QS_OK) return st;
        pc->used[slot] = 1;
    } else if (!pc->used[slot]) {
        qs_steady_reset(pc->plan[slot]);
        pc->used[slot] = 1;
    }
    pc->last[slot] = ++pc->clock;
    *plan = pc->plan[slot];
    *which = slot;
    return QS_OK;
}

/* The truncation check of slot's structure for m: made afresh the first time a block uses
 * it (so its numbers depend only on the block), NULL when the sweep does not check this
 * structure (off, or auto and too costly). QS_OK or the error of making it. */
static int cache_check(plan_cache *pc, int slot, const qs_model *m, const qs_sweep_options *opt,
                       const qs_steady_options *so, qs_convergence_plan **check, qs_error *e)
{
    *check = NULL;
    if (opt->truncation == QS_SWEEP_TRUNCATION_OFF) return QS_OK;
    int by_cost = opt->truncation != QS_SWEEP_TRUNCATION_ON;
    if (pc->check_state[slot] == 0) {
        qs_convergence_plan_free(&pc->check[slot]);
        qs_convergence_options co;
        qs_convergence_defaults(&co);
        co.steady = *so;
        co.steady.full = 0;       /* so.perms: the group every point shares, kept by one more level */
        if (by_cost && qs_convergence_cost(m, &co) > QS_CONVERGENCE_AUTO_MAX) {
            pc->check_state[slot] = -1;
            return QS_OK;
        }
        int st = qs_convergence_plan_create(m, &co, &pc->check[slot], e);
        if (st != QS_OK) {
            if (by_cost) { pc->check_state[slot] = -1; return QS_OK; }
            return st;
        }
        pc->check_state[slot] = 1;
    }
    *check = pc->check[slot];
    return QS_OK;
}

int qs_sweep_run(qs_sweep *s, const unsigned char *done, qs_sweep_report report, void *ctx, volatile int *stop,
                 qs_error *err)
{
#pragma omp atomic write
    s->finished = 0;
    if (s->opt.classical) return run_classical(s, done, report, ctx, stop, err);
    size_t block = (size_t)s->opt.block, nblocks = (s->size + block - 1) / block;
    int threads = s->opt.threads > 0 ? s->opt.threads : omp_get_max_threads();
    int failed = 0;
    size_t np = (size_t)(s->pairs ? s->pairs : 1);
#pragma omp parallel num_threads(threads)
    {
        omp_set_num_threads(1);    /* the solver's own loops stay on this thread, even in a team of one */
        qs_model *m = qs_model_copy(s->base);
        plan_cache pc;
        memset(&pc, 0, sizeof pc);
        qs_sweep_result *res = malloc(block * sizeof *res);
        double *S1 = malloc(block * np * sizeof *S1);
        double *values = malloc(block * s->width * sizeof *values);   /* the observables of each point */
        double *scratch = malloc(s->width * sizeof *scratch);
        size_t n_spec = (size_t)s->base->n * (size_t)s->opt.spectrum_points;   /* one point's spectra */
        double *spectra = malloc((n_spec ? block * n_spec : 1) * sizeof *spectra);
        int *slots = malloc(block * sizeof *slots);      /* plan slot (structure) of each point of the block */
        qs_steady_options so = s->opt.steady;
        so.perms = s->perms;
        so.n_perms = s->n_perms;
        if (so.memory_limit == 0) so.memory_limit = qs_memory_available() / threads;
        if (!m || !res || !S1 || !values || !scratch || !slots || !spectra) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < nblocks; b++) {
            if (failed || *stop || b % (size_t)s->opt.parts != (size_t)s->opt.part) continue;
            int n = 0;
            for (int i = 0; i < PLANS_PER_THREAD; i++) pc.used[i] = pc.check_state[i] = 0;
            for (size_t p = b * block; p < (b + 1) * block && p < s->size; p++) {
                if (done && done[p]) continue;
                qs_sweep_result *r = &res[n];
                double *S1p = S1 + (size_t)n * np, *vp = values + (size_t)n * s->width;
                r->point = p;
                r->values = vp;
                r->S = vp + s->S_at;
                r->phi = vp + s->phi_at;
                r->S1 = s->opt.perturb ? S1p : NULL;
                r->spectrum = n_spec ? spectra + (size_t)n * n_spec : NULL;
                for (size_t k = 0; k < n_spec; k++) spectra[(size_t)n * n_spec + k] = NAN;
                r->S_err = NULL;
                r->escaped_fraction = NAN;
                r->residual = NAN;
                r->top_population = NAN;
                r->truncation_checked = 0;
                slots[n] = -1;
                r->truncation_error = r->truncation_nearby = NAN;
                for (int q = 0; q < s->pairs; q++) S1p[q] = NAN;
                for (size_t k = 0; k < s->width; k++) vp[k] = NAN;
                qs_error e;
                qs_steady *plan = NULL;
                int slot = 0;
                int st = qs_sweep_point_model(s, p, m, &e);
                if (st == QS_OK && s->opt.perturb) {
                    int q = 0;
                    for (int a = 0; a < m->n; a++)
                        for (int bb = a + 1; bb < m->n; bb++, q++) {
                            double complex c1;
                            if (qs_perturb_pair(m, a, bb, &c1, NULL) == QS_OK) S1p[q] = 2 * cabs(c1);
                        }
                }
                if (st == QS_OK) st = cache_plan(&pc, m, &so, &plan, &slot, &e);
                if (st == QS_ETOOBIG || st == QS_ENOMEM) {     /* room for this plan alone, then */
                    for (int i = 0; i < PLANS_PER_THREAD; i++) {
                        qs_steady_free(&pc.plan[i]);
                        qs_convergence_plan_free(&pc.check[i]);
                        pc.check_state[i] = 0;
                    }
                    st = cache_plan(&pc, m, &so, &plan, &slot, &e);
                }
                if (st == QS_OK) st = qs_steady_solve(plan, m, &e);
                if (st >= 0) slots[n] = slot;
                r->status = st;
                if (st >= 0) {
                    const qs_state *state = qs_steady_state(plan);
                    qs_steady_stats stats;
                    qs_steady_get_stats(plan, &stats);
                    r->residual = stats.residual;
                    r->top_population = 0;
                    for (int j = 0; j < m->n; j++) {
                        double top = qs_state_population(state, j, m->osc[j].levels - 1);
                        if (top > r->top_population) r->top_population = top;
                    }
                    int ost = observe_point(s, m, state, vp, scratch, &e);
                    if (ost == QS_OK && n_spec) ost = spectrum_point(s, m, state, spectra + (size_t)n * n_spec, &e);
                    if (ost != QS_OK) {                          /* not computed: the point failed */
                        for (size_t k = 0; k < s->width; k++) vp[k] = NAN;
                        for (size_t k = 0; k < n_spec; k++) spectra[(size_t)n * n_spec + k] = NAN;
                        r->status = st = ost;
                        slots[n] = -1;
                        n++;
#pragma omp atomic update
                        s->finished++;
                        continue;
                    }
                    /* the truncation error of S: one more level for every oscillator */
                    qs_convergence_plan *check = NULL;
                    const qs_convergence *conv = NULL;
                    /* sampled: by the index along the fastest axis, so a point samples as in any
                     * sweep with that axis (a --vary levels=... row as in a separate run) */
                    size_t fast = (size_t)s->axes[s->n_axes - 1].count, k = p % fast;
                    int sampled = s->opt.truncation != QS_SWEEP_TRUNCATION_SAMPLED || k % QS_SWEEP_SAMPLE_EVERY == 0 ||
                                  k == fast - 1;
                    int cs = sampled ? cache_check(&pc, slot, m, &s->opt, &so, &check, &e) : QS_OK;
                    if (cs == QS_OK && check) cs = qs_convergence_plan_run(check, m, state, &conv, &e);
                    if (cs == QS_OK && conv) {
                        r->truncation_checked = 1;
                        r->truncation_error = s->pairs ? conv->max_error : 0.0;
                    } else if (cs != QS_OK && s->opt.truncation == QS_SWEEP_TRUNCATION_ON) {
                        r->status = cs;                         /* asked for and not computed: failed */
                    }
                }
                n++;
#pragma omp atomic update
                s->finished++;
            }
            /* sampled: a point between estimates takes the larger of its nearest neighbours' */
            for (int i = 0; s->opt.truncation == QS_SWEEP_TRUNCATION_SAMPLED && i < n; i++) {
                if (res[i].truncation_checked || res[i].status < 0) continue;
                int before = i - 1, after = i + 1;
                /* the nearest estimated points of the same structure (levels may be an axis) */
                while (before >= 0 && (res[before].truncation_checked != 1 || slots[before] != slots[i])) before--;
                while (after < n && (res[after].truncation_checked != 1 || slots[after] != slots[i])) after++;
                if (before < 0 && after >= n) continue;
                double x = before >= 0 ? res[before].truncation_error : 0.0, y = after < n ? res[after].truncation_error : 0.0;
                res[i].truncation_checked = 2;
                res[i].truncation_nearby = x >= y ? x : y;   /* NaN (unknown) wins */
                if (isnan(x) || isnan(y)) res[i].truncation_nearby = NAN;
            }
            if (n > 0 && report) {
#pragma omp critical(qs_sweep_report)
                report(ctx, res, n);
            }
        }
        for (int i = 0; i < PLANS_PER_THREAD; i++) {
            qs_steady_free(&pc.plan[i]);
            qs_convergence_plan_free(&pc.check[i]);
        }
        qs_model_free(&m);
        free(res);
        free(S1);
        free(values);
        free(scratch);
        free(spectra);
        free(slots);
    }
    if (failed) return qs_error_set(err, QS_ENOMEM, "out of memory for the sweep's workspaces");
    return QS_OK;
}

size_t qs_sweep_points_finished(const qs_sweep *s)
{
    size_t n;
#pragma omp atomic read
    n = s->finished;
    return n;
}

/* ---- the store ---- */

struct qs_sweep_store {
    size_t size;
    int columns, pairs, classical;
    char **names;
    double **data;               /* [columns], NULL for status */
    int *status;
    unsigned char *done;
    double s_tol;
    int status_column;
    int first_result;            /* the first column after the axes */
    /* where each part of a result goes (column of its first value; −1: none) */
    int at_S, at_phi, at_values, at_S1, at_S_err, at_escaped, at_residual, at_top, at_trunc;
    size_t n_values;             /* result.values entries filed (observables asked) */
    size_t n_spectrum;           /* spectra of one point (oscillators × frequencies), 0: none */
    double *spectra;             /* [size × n_spectrum] */
};

void qs_sweep_store_free(qs_sweep_store **store)
{
    if (!store || !*store) return;
    qs_sweep_store *t = *store;
    for (int c = 0; c < t->columns; c++) {
        if (t->names) free(t->names[c]);
        if (t->data) free(t->data[c]);
    }
    free(t->names);
    free(t->data);
    free(t->status);
    free(t->done);
    free(t->spectra);
    free(t);
    *store = NULL;
}

/* Name column t->columns (printf format) and give it its NaN-filled data (none for status);
 * 0 when out of memory. */
static int add_column(qs_sweep_store *t, int with_data, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int add_column(qs_sweep_store *t, int with_data, const char *fmt, ...)
{
    char name[3 * QS_NAME_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int c = t->columns;
    if (!(t->names[c] = strdup(name))) return 0;
    t->columns++;
    if (!with_data) return 1;
    if (!(t->data[c] = malloc(t->size * sizeof *t->data[c]))) return 0;
    for (size_t p = 0; p < t->size; p++) t->data[c][p] = NAN;
    return 1;
}

/* One column per pair, PREFIX_<a>-<b>; the first's index, −1 when out of memory. */
static int pair_columns(qs_sweep_store *t, const qs_model *m, const char *prefix)
{
    int first = t->columns;
    for (int a = 0; a < m->n; a++)
        for (int b = a + 1; b < m->n; b++)
            if (!add_column(t, 1, "%s_%s-%s", prefix, m->names[a], m->names[b])) return -1;
    return first;
}

int qs_sweep_store_create(const qs_sweep *s, qs_sweep_store **out, qs_error *err)
{
    *out = NULL;
    qs_sweep_store *t = calloc(1, sizeof *t);
    if (!t) return qs_error_set(err, QS_ENOMEM, "out of memory");
    const qs_model *m = s->base;
    int n = m->n, complex_axes = 0;
    for (int a = 0; a < s->n_axes; a++) complex_axes += qs_sweep_axis_complex(s, a);
    size_t max_columns = (size_t)s->n_axes + (size_t)complex_axes + 8 + 4 * (size_t)(s->pairs ? s->pairs : 1) + qs_sweep_observe_width(s);
    t->size = s->size;
    t->pairs = s->pairs;
    t->classical = s->opt.classical;
    t->s_tol = s->opt.s_tol;
    t->at_S = t->at_phi = t->at_values = t->at_S1 = t->at_S_err = t->at_escaped = t->at_residual = t->at_top = t->at_trunc = -1;
    t->names = calloc(max_columns, sizeof *t->names);
    t->data = calloc(max_columns, sizeof *t->data);
    t->status = malloc(t->size * sizeof *t->status);
    t->done = calloc(t->size, 1);
    int ok = t->names && t->data && t->status && t->done;
    if (ok && !s->opt.classical && s->opt.spectrum_points > 0) {
        t->n_spectrum = (size_t)n * (size_t)s->opt.spectrum_points;
        if (t->size > SIZE_MAX / sizeof *t->spectra / t->n_spectrum) ok = 0;
        else if ((ok = (t->spectra = malloc(t->size * t->n_spectrum * sizeof *t->spectra)) != NULL))
            for (size_t k = 0; k < t->size * t->n_spectrum; k++) t->spectra[k] = NAN;
    }
    /* the axes, filled now */
    for (int a = 0; ok && a < s->n_axes; a++) {
        int c = t->columns, im = qs_sweep_axis_complex(s, a);
        ok = add_column(t, 1, "%s", s->axes[a].paths[0]) && (!im || add_column(t, 1, "%s_im", s->axes[a].paths[0]));
        for (size_t p = 0; ok && p < t->size; p++) {
            size_t i = p, stride = 1;
            for (int b = s->n_axes - 1; b > a; b--) stride *= (size_t)s->axes[b].count;
            i = (p / stride) % (size_t)s->axes[a].count;
            double complex v = axis_value(&s->axes[a], i);
            t->data[c][p] = creal(v);
            if (im) t->data[c + 1][p] = cimag(v);
        }
    }
    int by_default = s->opt.n_observe == 0;
    t->first_result = t->columns;
    if (!ok) {
    } else if (t->classical) {
        ok = (t->at_S = pair_columns(t, m, "S")) >= 0 && (t->at_S_err = pair_columns(t, m, "S_err")) >= 0 &&
             add_column(t, 1, "escaped_fraction");
        t->at_escaped = t->columns - 1;
        t->status_column = t->columns;
        ok = ok && add_column(t, 0, "status") && (t->at_phi = pair_columns(t, m, "phi")) >= 0;
        t->at_values = t->columns;                                 /* the frequencies, as result.values */
        t->n_values = qs_sweep_observe_width(s);
        for (int j = 0; ok && j < n; j++) ok = add_column(t, 1, "nu_%s", m->names[j]);
        for (int j = 0; ok && j < n; j++) ok = add_column(t, 1, "nu_err_%s", m->names[j]);
        ok = ok && pair_columns(t, m, "beat") >= 0 && pair_columns(t, m, "beat_err") >= 0;
    } else {
        if (by_default) {
            ok = (t->at_S = pair_columns(t, m, "S")) >= 0;
        } else {
            t->at_values = t->columns;
            t->n_values = s->user_width;
            for (int k = 0; ok && k < s->n_user; k++) {
                const qs_observable *o = qs_observable_get(s->obs[k]);
                if (o->kind == QS_OBS_PAIR) ok = pair_columns(t, m, o->name) >= 0;
                else if (o->kind == QS_OBS_NETWORK) ok = add_column(t, 1, "%s", o->name);
                else
                    for (int j = 0; ok && j < n; j++)
                        if (o->per_level)
                            for (int l = 0; ok && l < s->levels_max[j]; l++) ok = add_column(t, 1, "%s_%s_%d", o->name, m->names[j], l);
                        else
                            ok = add_column(t, 1, "%s_%s", o->name, m->names[j]);
            }
        }
        t->at_residual = t->columns;
        t->at_top = t->columns + 1;
        t->status_column = t->columns + 2;
        ok = ok && add_column(t, 1, "residual") && add_column(t, 1, "top_population") && add_column(t, 0, "status");
        if (ok && s->opt.perturb) ok = (t->at_S1 = pair_columns(t, m, "S1")) >= 0;
        if (ok && by_default) ok = (t->at_phi = pair_columns(t, m, "phi")) >= 0;
        t->at_trunc = t->columns;
        ok = ok && add_column(t, 1, "truncation_error");
    }
    if (!ok) {
        qs_sweep_store_free(&t);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the results of %zu points", s->size);
    }
    for (size_t p = 0; p < t->size; p++) t->status[p] = QS_EINPUT;
    *out = t;
    return QS_OK;
}

static void put_pairs(qs_sweep_store *t, int at, const double *v, size_t p)
{
    for (int q = 0; at >= 0 && q < t->pairs; q++) t->data[at + q][p] = v ? v[q] : NAN;
}

void qs_sweep_store_add(void *ctx, const qs_sweep_result *r, int count)
{
    qs_sweep_store *t = ctx;
    for (int i = 0; i < count; i++) {
        size_t p = r[i].point;
        if (p >= t->size) continue;
        put_pairs(t, t->at_S, r[i].S, p);
        put_pairs(t, t->at_phi, r[i].phi, p);
        put_pairs(t, t->at_S1, r[i].S1, p);
        put_pairs(t, t->at_S_err, r[i].S_err, p);
        for (size_t k = 0; t->at_values >= 0 && k < t->n_values; k++)
            t->data[t->at_values + (int)k][p] = r[i].values ? r[i].values[k] : NAN;
        if (t->at_escaped >= 0) t->data[t->at_escaped][p] = r[i].escaped_fraction;
        if (t->at_residual >= 0) t->data[t->at_residual][p] = r[i].residual;
        if (t->at_top >= 0) t->data[t->at_top][p] = r[i].top_population;
        for (size_t k = 0; k < t->n_spectrum; k++) t->spectra[p * t->n_spectrum + k] = r[i].spectrum ? r[i].spectrum[k] : NAN;
        int st = r[i].status;
        if (t->at_trunc >= 0) {
            /* the status speaks of S: ok or truncation when estimated, top-level only without */
            t->data[t->at_trunc][p] = r[i].truncation_error;
            if (st >= 0 && r[i].truncation_checked == 1)
                st = r[i].truncation_error <= t->s_tol ? QS_OK : QS_SWEEP_STATUS_TRUNCATION;
            else if (st >= 0 && r[i].truncation_checked == 2)   /* sampled: by its neighbours */
                st = r[i].truncation_nearby <= t->s_tol ? QS_OK : QS_SWEEP_STATUS_TRUNCATION;
        }
        t->status[p] = st;
        t->done[p] = 1;
    }
}

int qs_sweep_store_put(qs_sweep_store *t, size_t p, const double *row, qs_error *err)
{
    if (p >= t->size) return qs_error_set(err, QS_EINPUT, "point %zu outside the grid of %zu points", p, t->size);
    for (int c = t->first_result; c < t->columns; c++)
        if (t->data[c]) t->data[c][p] = row ? row[c] : NAN;
    t->status[p] = row ? (int)row[t->status_column] : QS_EINPUT;
    t->done[p] = row != NULL;
    for (size_t k = 0; !row && k < t->n_spectrum; k++) t->spectra[p * t->n_spectrum + k] = NAN;
    return QS_OK;
}

double *qs_sweep_store_spectrum(const qs_sweep_store *t, size_t p)
{
    return t->n_spectrum && p < t->size ? t->spectra + p * t->n_spectrum : NULL;
}

int qs_sweep_store_columns(const qs_sweep_store *t) { return t->columns; }
const char *qs_sweep_store_name(const qs_sweep_store *t, int c) { return c >= 0 && c < t->columns ? t->names[c] : NULL; }
const double *qs_sweep_store_column(const qs_sweep_store *t, int c) { return c >= 0 && c < t->columns ? t->data[c] : NULL; }
const int *qs_sweep_store_status(const qs_sweep_store *t) { return t->status; }
const unsigned char *qs_sweep_store_done(const qs_sweep_store *t) { return t->done; }

int qs_sweep_store_find(const qs_sweep_store *t, const char *name)
{
    for (int c = 0; c < t->columns; c++) if (strcmp(t->names[c], name) == 0) return c;
    return -1;
}
