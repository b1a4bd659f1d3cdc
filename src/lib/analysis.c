/* analysis.c — one steady state analysed in full (analysis.h): levels = auto, the solve,
 * the truncation error of S, every observable of the table (the dynamical ones as their cost
 * allows: qs_state_observe gives the state's, qs_observe the Liouvillian's, each scattered to
 * its place in the table's layout). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "qsync/analysis.h"
#include "qsync/spectrum.h"

struct qs_analysis {
    qs_analysis_options opt;
    qs_model *model;          /* owned copy, levels resolved */
    int *was_auto;            /* [n] */
    int auto_rounds;
    double auto_error;        /* levels = auto: the estimated error of S at the chosen levels */
    qs_steady *steady;
    qs_steady_stats stats;
    int status;               /* QS_WARN_TRUNCATION exactly when warning[0] != 0 */
    qs_convergence *conv;     /* NULL: not estimated */
    char skipped[600];        /* why not */
    char unknown[400];        /* why the estimate is NaN */
    char warning[1300];
    char dynamics[600];       /* why the dynamical observables were not computed ("" when they were) */
    double dynamics_seconds;
    size_t n_values;
    double *values;           /* every observable of the table */
    size_t *start;            /* [count+1] where each observable's values start */
    double *min_eig, *c1, *top;
};

void qs_analysis_defaults(qs_analysis_options *o)
{
    memset(o, 0, sizeof *o);
    qs_steady_defaults(&o->steady);
    o->s_tol = QS_S_TOL_DEFAULT;
    o->guess_tail = QS_AUTO_GUESS_TAIL;
    o->truncation = QS_TRUNCATION_BY_COST;
    o->dynamics = QS_DYNAMICS_NEVER;      /* a caller after the state alone pays nothing; qsync steady asks by cost */
}

void qs_analysis_free(qs_analysis **ap)
{
    if (!ap || !*ap) return;
    qs_analysis *a = *ap;
    qs_convergence_free(&a->conv);
    qs_steady_free(&a->steady);
    qs_model_free(&a->model);
    free(a->was_auto);
    free(a->values);
    free(a->start);
    free(a->min_eig);
    free(a->c1);
    free(a->top);
    free(a);
    *ap = NULL;
}

/* Why a truncation estimate is unknown (max_error NaN). */
static void unknown_reason(qs_analysis *a)
{
    const qs_convergence *c = a->conv;
    const qs_model *m = a->model;
    if (c->inside >= 0)
        snprintf(a->unknown, sizeof a->unknown, "oscillator %s has %d levels, not beyond its populated range (n- = %g)",
                 m->names[c->inside], m->osc[c->inside].levels, m->osc[c->inside].n_minus);
    else
        snprintf(a->unknown, sizeof a->unknown,
                 "an oscillator's uncoupled populations do not fall off with n (e.g. gamma_plus sigma_plus^2 >= "
                 "gamma_minus sigma_minus^2), so there is no tail to extrapolate by");
}

static void compose_warning(qs_analysis *a, const char *top_warning)
{
    const qs_convergence *c = a->conv;
    const qs_model *m = a->model;
    int n = m->n, n_pairs = n * (n - 1) / 2;
    if (c && n_pairs && !(c->max_error <= a->opt.s_tol)) {
        int q = c->max_pair, pa = 0, pb = 1, k = 0;
        for (int x = 0; x < n; x++)
            for (int y = x + 1; y < n; y++, k++)
                if (k == q) { pa = x; pb = y; }
        if (isnan(c->max_error)) {
            double most = 0;
            for (int r = 0; r < n_pairs; r++) if (fabs(c->change[r]) > most) most = fabs(c->change[r]);
            snprintf(a->warning, sizeof a->warning,
                     "the truncation error of S cannot be estimated: %s, so S(L) need not approach its limit smoothly; "
                     "S changes by up to %.2g with one more level: raise levels", a->unknown, most);
        } else
            snprintf(a->warning, sizeof a->warning,
                     "the estimated truncation error of S is %.2g (pair %s-%s: S changes by %.2g with one more level%s), above --s-tol %g: "
                     "raise levels (or use levels = auto)", c->max_error, m->names[pa], m->names[pb], c->change[q],
                     c->per_oscillator ? ", oscillators one at a time" : " per oscillator", a->opt.s_tol);
    } else if (!c && top_warning[0])
        snprintf(a->warning, sizeof a->warning, "%s; the truncation error of S was not estimated: %s", top_warning, a->skipped);
}

/* The observables of the table with needs_model == dynamical into their places in a->values
 * (qs_observe for the dynamical ones, qs_state_observe for the others). */
static int observe_part(qs_analysis *a, int dynamical, const int *levels, qs_error *err)
{
    const qs_state *state = qs_steady_state(a->steady);
    int n = a->model->n, k = qs_observable_count(), m = 0;
    int *which = malloc((size_t)k * sizeof *which);
    double *v = malloc((a->n_values ? a->n_values : 1) * sizeof *v);
    if (!which || !v) { free(which); free(v); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
    for (int i = 0; i < k; i++)
        if (qs_observable_get(i)->needs_model == dynamical) which[m++] = i;
    int status = dynamical ? qs_observe(a->model, state, m, which, v, err) : qs_state_observe(state, m, which, v, err);
    size_t from = 0;
    for (int r = 0; r < m && status == QS_OK; r++) {
        size_t w = qs_observe_width(n, levels, 1, &which[r]);
        memcpy(a->values + a->start[which[r]], v + from, w * sizeof *v);
        from += w;
    }
    free(which);
    free(v);
    return status;
}

/* The dynamical observables as options.dynamics asks; by cost a failure is recorded. */
static int observe_dynamics(qs_analysis *a, const int *levels, qs_error *err)
{
    double unknowns = (double)a->stats.sector_dimension;
    if (a->opt.dynamics == QS_DYNAMICS_NEVER) {
        snprintf(a->dynamics, sizeof a->dynamics, "not asked (--no-dynamics)");
        return QS_OK;
    }
    if (a->opt.dynamics == QS_DYNAMICS_BY_COST && unknowns > QS_DYNAMICS_AUTO_MAX) {
        snprintf(a->dynamics, sizeof a->dynamics, "sector 0 has %.0f unknowns, above %d (the spectra solve sector -1 "
                 "once per frequency, %d frequencies); --dynamics computes them", unknowns, QS_DYNAMICS_AUTO_MAX,
                 QS_SPECTRUM_DEFAULT_POINTS);
        return QS_OK;
    }
    qs_error sub;
    double t0 = qs_now();
    int status = observe_part(a, 1, levels, &sub);
    a->dynamics_seconds = qs_now() - t0;
    if (status == QS_OK) return QS_OK;
    for (int i = 0; i < qs_observable_count(); i++)           /* none of them, rather than some */
        if (qs_observable_get(i)->needs_model)
            for (size_t r = a->start[i]; r < a->start[i + 1]; r++) a->values[r] = NAN;
    if (a->opt.dynamics == QS_DYNAMICS_ALWAYS) {
        if (err) *err = sub;
        return status;
    }
    snprintf(a->dynamics, sizeof a->dynamics, "%s", sub.message);
    return QS_OK;
}

/* Every observable, each pair's smallest eigenvalue and c_1, the top populations. */
static int observe_all(qs_analysis *a, qs_error *err)
{
    const qs_state *state = qs_steady_state(a->steady);
    int n = a->model->n, k = qs_observable_count(), n_pairs = n * (n - 1) / 2;
    a->start = malloc(((size_t)k + 1) * sizeof *a->start);
    a->min_eig = malloc((size_t)(n_pairs ? n_pairs : 1) * sizeof *a->min_eig);
    a->c1 = malloc((size_t)(n_pairs ? 2 * n_pairs : 1) * sizeof *a->c1);
    a->top = malloc((size_t)n * sizeof *a->top);
    int *levels = malloc((size_t)n * sizeof *levels);
    int status = a->start && a->min_eig && a->c1 && a->top && levels ? QS_OK : QS_ENOMEM;
    if (status == QS_OK) {
        for (int j = 0; j < n; j++) levels[j] = a->model->osc[j].levels;
        a->start[0] = 0;
        for (int i = 0; i < k; i++) a->start[i + 1] = a->start[i] + qs_observe_width(n, levels, 1, &i);
        a->n_values = a->start[k];
        if (!(a->values = malloc((a->n_values ? a->n_values : 1) * sizeof *a->values))) status = QS_ENOMEM;
    }
    if (status != QS_OK) {
        free(levels);
        return qs_error_set(err, QS_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < a->n_values; r++) a->values[r] = NAN;
    status = observe_part(a, 0, levels, err);
    if (status == QS_OK) status = observe_dynamics(a, levels, err);
    for (int j = 0; j < n; j++) a->top[j] = qs_state_population(state, j, levels[j] - 1);
    int q = 0;
    double complex c[2];
    for (int x = 0; x < n && status == QS_OK; x++)
        for (int y = x + 1; y < n && status == QS_OK; y++, q++) {
            status = qs_state_pair_min_eigenvalue(state, x, y, &a->min_eig[q], err);
            qs_state_phase_coefficients(state, x, y, 1, c);
            a->c1[2 * q] = creal(c[1]);
            a->c1[2 * q + 1] = cimag(c[1]);
        }
    free(levels);
    return status;
}

int qs_analysis_run(const qs_model *model, const qs_analysis_options *options, qs_analysis **result, qs_error *err)
{
    *result = NULL;
    qs_analysis *a = calloc(1, sizeof *a);
    if (!a) return qs_error_set(err, QS_ENOMEM, "out of memory");
    if (options) a->opt = *options;
    else qs_analysis_defaults(&a->opt);
    if (a->opt.per_oscillator && a->opt.truncation == QS_TRUNCATION_NEVER) {
        free(a);
        return qs_error_set(err, QS_EINPUT, "the estimate per oscillator contradicts no truncation estimate");
    }
    int n = model->n, status = QS_OK;
    a->model = qs_model_copy(model);
    a->was_auto = calloc((size_t)n, sizeof *a->was_auto);
    if (!a->model || !a->was_auto) { qs_analysis_free(&a); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
    a->opt.steady.perms = NULL;             /* the symmetries of this model, found by the solve */
    a->opt.steady.n_perms = 0;
    a->auto_error = NAN;
    int any_auto = 0;
    for (int j = 0; j < n; j++) any_auto |= a->was_auto[j] = model->osc[j].levels == QS_LEVELS_AUTO;
    if (any_auto) {
        qs_auto_options ao;
        qs_auto_defaults(&ao);
        ao.s_tol = a->opt.s_tol;
        ao.guess_tail = a->opt.guess_tail;
        ao.steady = a->opt.steady;
        if ((status = qs_model_auto_levels_s(a->model, &ao, &a->conv, &a->auto_rounds, err)) != QS_OK) {
            qs_analysis_free(&a);
            return status;
        }
        a->auto_error = a->conv->max_error;
        /* the estimate at the chosen levels serves unless it is to be made per oscillator or not shown */
        if (a->opt.per_oscillator || a->opt.truncation == QS_TRUNCATION_NEVER) qs_convergence_free(&a->conv);
    }
    qs_error sub;
    status = qs_steady_create(a->model, &a->opt.steady, &a->steady, &sub);
    if (status == QS_OK) status = qs_steady_solve(a->steady, a->model, &sub);
    if (status < 0) {
        if (err) *err = sub;
        qs_analysis_free(&a);
        return status;
    }
    char top_warning[600] = "";
    if (status == QS_WARN_TRUNCATION) snprintf(top_warning, sizeof top_warning, "%s", sub.message);
    qs_steady_get_stats(a->steady, &a->stats);
    const qs_state *state = qs_steady_state(a->steady);

    /* the truncation error of S */
    if (!a->conv && a->opt.truncation != QS_TRUNCATION_NEVER) {
        qs_convergence_options co;
        qs_convergence_defaults(&co);
        co.per_oscillator = a->opt.per_oscillator;
        co.steady = a->opt.steady;
        co.steady.full = 0;
        double cost = qs_convergence_cost(a->model, &co);
        int st;
        if (a->opt.truncation == QS_TRUNCATION_BY_COST && cost > QS_CONVERGENCE_AUTO_MAX)
            snprintf(a->skipped, sizeof a->skipped, "one more level needs a sector of %.0f unknowns, above %d; "
                     "--truncation-check computes it", cost, QS_CONVERGENCE_AUTO_MAX);
        else if ((st = qs_convergence_estimate(a->model, state, &co, &a->conv, &sub)) != QS_OK) {
            if (a->opt.truncation == QS_TRUNCATION_ALWAYS) {
                if (err) *err = sub;
                qs_analysis_free(&a);
                return st;
            }
            snprintf(a->skipped, sizeof a->skipped, "%s", sub.message);
        }
    } else if (!a->conv)
        snprintf(a->skipped, sizeof a->skipped, "--no-truncation-check");
    if (a->conv && isnan(a->conv->max_error)) unknown_reason(a);
    compose_warning(a, top_warning);
    a->status = a->warning[0] ? QS_WARN_TRUNCATION : QS_OK;   /* one verdict: the warning's */

    if ((status = observe_all(a, err)) != QS_OK) {
        qs_analysis_free(&a);
        return status;
    }
    *result = a;
    return a->status;
}

const qs_model *qs_analysis_model(const qs_analysis *a) { return a->model; }
int qs_analysis_levels_auto(const qs_analysis *a, int j) { return j >= 0 && j < a->model->n ? a->was_auto[j] : 0; }
int qs_analysis_auto_rounds(const qs_analysis *a) { return a->auto_rounds; }
double qs_analysis_auto_error(const qs_analysis *a) { return a->auto_rounds > 0 ? a->auto_error : NAN; }
const qs_state *qs_analysis_state(const qs_analysis *a) { return qs_steady_state(a->steady); }
const qs_steady_stats *qs_analysis_stats(const qs_analysis *a) { return &a->stats; }
int qs_analysis_status(const qs_analysis *a) { return a->status; }

const double *qs_analysis_values(const qs_analysis *a, size_t *count)
{
    if (count) *count = a->n_values;
    return a->values;
}

const double *qs_analysis_observable(const qs_analysis *a, const char *name, size_t *count)
{
    int i = qs_observable_find(name);
    if (count) *count = 0;
    if (i < 0) return NULL;
    if (count) *count = a->start[i + 1] - a->start[i];
    return a->values + a->start[i];
}

const double *qs_analysis_min_eigenvalues(const qs_analysis *a) { return a->min_eig; }
const double *qs_analysis_c1(const qs_analysis *a) { return a->c1; }
const double *qs_analysis_top_population(const qs_analysis *a) { return a->top; }
const qs_convergence *qs_analysis_truncation(const qs_analysis *a) { return a->conv; }
const char *qs_analysis_truncation_reason(const qs_analysis *a) { return a->skipped; }
double qs_analysis_truncation_error(const qs_analysis *a) { return a->conv ? a->conv->max_error : NAN; }
const char *qs_analysis_unknown_reason(const qs_analysis *a) { return a->unknown; }
const char *qs_analysis_warning(const qs_analysis *a) { return a->warning; }
const char *qs_analysis_dynamics_reason(const qs_analysis *a) { return a->dynamics; }
double qs_analysis_dynamics_seconds(const qs_analysis *a) { return a->dynamics_seconds; }
const qs_analysis_options *qs_analysis_options_used(const qs_analysis *a) { return &a->opt; }
