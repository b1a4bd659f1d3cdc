/* convergence.c — the truncation error of S (extra solves with one more level, extrapolated
 * with the uncoupled tails) and levels = auto by a tolerance on S. See convergence.h for
 * the estimate and what it was checked against.
 *
 * Invariants: the model passed in is never changed except by qs_model_auto_levels_s (its
 * auto oscillators' levels); every extra solve works on a private copy of the model.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"
#include "qsync/convergence.h"
#include "qsync/truncation.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void qs_convergence_defaults(qs_convergence_options *o)
{
    memset(o, 0, sizeof *o);
    qs_steady_defaults(&o->steady);
}

void qs_auto_defaults(qs_auto_options *o)
{
    memset(o, 0, sizeof *o);
    o->s_tol = QS_S_TOL_DEFAULT;
    o->guess_tail = QS_AUTO_GUESS_TAIL;
    o->max_unknowns = 4e5;
    o->max_rounds = 8;
    qs_steady_defaults(&o->steady);
}

static int raised(const qs_convergence_options *o, int j) { return !o->raise || o->raise[j]; }

double qs_convergence_cost(const qs_model *model, const qs_convergence_options *o)
{
    qs_convergence_options d;
    if (!o) { qs_convergence_defaults(&d); o = &d; }
    int n = model->n;
    int *levels = malloc((size_t)n * sizeof *levels);
    if (!levels) return INFINITY;
    for (int j = 0; j < n; j++) levels[j] = model->osc[j].levels + (!o->per_oscillator && raised(o, j));
    double worst = 0.0;
    if (!o->per_oscillator) worst = qs_basis_sector_estimate(n, levels);
    else
        for (int j = 0; j < n; j++) {
            if (!raised(o, j)) continue;
            levels[j]++;
            double c = qs_basis_sector_estimate(n, levels);
            if (c > worst) worst = c;
            levels[j]--;
        }
    free(levels);
    return worst;
}

/* S and φ_max of every pair of `state` (n oscillators) into S[], phi[]. */
static int pair_measures(const qs_state *state, int n, double *S, double *phi)
{
    int p = 0;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++, p++) {
            int la = qs_state_levels(state, a), lb = qs_state_levels(state, b);
            int lmax = (la < lb ? la : lb) - 1;
            double complex *c = malloc((size_t)(lmax + 1) * sizeof *c);
            if (!c) return QS_ENOMEM;
            qs_state_phase_coefficients(state, a, b, lmax, c);
            qs_phase_max(lmax, c, &S[p], &phi[p]);
            free(c);
        }
    return QS_OK;
}

/* Solve `model` and write its pairs' S and φ_max. */
static int solve_measures(const qs_model *model, const qs_steady_options *opt, double *S, double *phi,
                          double *unknowns, const char *what, qs_error *err)
{
    qs_steady *st = NULL;
    qs_error sub;
    int status = qs_steady_create(model, opt, &st, &sub);
    if (status >= 0) status = qs_steady_solve(st, model, &sub);
    if (status < 0) {
        qs_steady_free(&st);
        return qs_error_set(err, status, "truncation check (%s): %s", what, sub.message);
    }
    qs_steady_stats stats;
    qs_steady_get_stats(st, &stats);
    if (unknowns && (double)stats.sector_dimension > *unknowns) *unknowns = (double)stats.sector_dimension;
    status = pair_measures(qs_steady_state(st), model->n, S, phi);
    qs_steady_free(&st);
    return status == QS_OK ? QS_OK : qs_error_set(err, status, "out of memory");
}

void qs_convergence_free(qs_convergence **r)
{
    if (!r || !*r) return;
    qs_convergence *c = *r;
    free(c->S);
    free(c->phi_max);
    free(c->S_more);
    free(c->change);
    free(c->phi_change);
    free(c->error);
    free(c->osc_change);
    free(c->factor);
    free(c);
    *r = NULL;
}

static double circle_distance(double a, double b)
{
    double d = fmod(fabs(a - b), 2 * M_PI);
    return d > M_PI ? 2 * M_PI - d : d;
}

int qs_convergence_estimate(const qs_model *model, const qs_state *state,
                            const qs_convergence_options *options, qs_convergence **result, qs_error *err)
{
    qs_convergence_options d;
    if (!options) { qs_convergence_defaults(&d); options = &d; }
    int n = model->n, np = n * (n - 1) / 2, m = np ? np : 1;
    for (int j = 0; j < n; j++)
        if (model->osc[j].levels == QS_LEVELS_AUTO || model->osc[j].levels >= QS_LEVELS_MAX)
            return qs_error_set(err, QS_EINPUT, "oscillator %s: the truncation check needs resolved levels below %d",
                                model->names[j], QS_LEVELS_MAX);
    qs_convergence *c = calloc(1, sizeof *c);
    qs_model *more = qs_model_copy(model);
    double *S1 = malloc((size_t)m * sizeof *S1), *phi1 = malloc((size_t)m * sizeof *phi1);
    int status = QS_OK;
    if (c) {
        c->S = calloc((size_t)m, sizeof(double));
        c->phi_max = calloc((size_t)m, sizeof(double));
        c->S_more = calloc((size_t)m, sizeof(double));
        c->change = calloc((size_t)m, sizeof(double));
        c->phi_change = calloc((size_t)m, sizeof(double));
        c->error = calloc((size_t)m, sizeof(double));
        c->factor = calloc((size_t)(n ? n : 1), sizeof(double));
        if (options->per_oscillator) c->osc_change = calloc((size_t)m * (size_t)(n ? n : 1), sizeof(double));
    }
    if (!c || !more || !S1 || !phi1 || !c->S || !c->phi_max || !c->S_more || !c->change || !c->phi_change ||
        !c->error || !c->factor || (options->per_oscillator && !c->osc_change)) {
        status = qs_error_set(err, QS_ENOMEM, "out of memory");
        goto done;
    }
    c->n = n;
    c->n_pairs = np;
    c->per_oscillator = options->per_oscillator;
    double t0 = now();
    if (state) {
        if ((status = pair_measures(state, n, c->S, c->phi_max)) != QS_OK) { qs_error_set(err, status, "out of memory"); goto done; }
    } else if ((status = solve_measures(model, &options->steady, c->S, c->phi_max, NULL, "at the model's levels", err)) != QS_OK)
        goto done;

    /* extrapolation factors from the uncoupled tails */
    int finite = 1;
    c->inside = -1;
    for (int j = 0; j < n; j++) {
        if (!raised(options, j)) continue;
        if (model->osc[j].levels < model->osc[j].n_minus + 2) {
            c->factor[j] = NAN;
            finite = 0;
            if (c->inside < 0) c->inside = j;
            continue;
        }
        double T[2];
        qs_error sub;
        if (qs_osc_tail(&model->osc[j], model->osc[j].levels, 2, T, &sub) == QS_OK && T[0] > T[1]) c->factor[j] = T[0] / (T[0] - T[1]);
        else { c->factor[j] = NAN; finite = 0; }
    }

    if (!options->per_oscillator) {
        char what[96];
        for (int j = 0; j < n; j++) more->osc[j].levels += raised(options, j);
        snprintf(what, sizeof what, "one more level for every oscillator");
        if ((status = solve_measures(more, &options->steady, c->S_more, phi1, &c->sector_dimension, what, err)) != QS_OK) goto done;
        c->solves = 1;
        double F = 0.0;
        for (int j = 0; j < n; j++) if (raised(options, j) && !(c->factor[j] <= F)) F = c->factor[j];
        for (int p = 0; p < np; p++) {
            c->change[p] = c->S_more[p] - c->S[p];
            c->phi_change[p] = circle_distance(phi1[p], c->phi_max[p]);
            c->error[p] = finite ? fabs(c->change[p]) * F : NAN;
        }
    } else {
        for (int p = 0; p < np; p++) { c->change[p] = 0.0; c->error[p] = 0.0; c->phi_change[p] = NAN; }
        for (int j = 0; j < n; j++) {
            if (!raised(options, j)) continue;
            char what[160];
            more->osc[j].levels = model->osc[j].levels + 1;
            snprintf(what, sizeof what, "one more level for oscillator %s", model->names[j]);
            status = solve_measures(more, &options->steady, S1, phi1, &c->sector_dimension, what, err);
            more->osc[j].levels = model->osc[j].levels;
            if (status != QS_OK) goto done;
            c->solves++;
            for (int p = 0; p < np; p++) {
                double dj = S1[p] - c->S[p];
                c->osc_change[(size_t)j * (size_t)np + (size_t)p] = dj;
                c->change[p] += dj;
                c->error[p] += fabs(dj) * c->factor[j];   /* NaN propagates: no finite tail */
            }
        }
        for (int p = 0; p < np; p++) c->S_more[p] = c->S[p] + c->change[p];
    }
    c->max_error = 0.0;
    c->max_pair = 0;
    for (int p = 0; p < np; p++)
        if (!(c->error[p] <= c->max_error)) { c->max_error = c->error[p]; c->max_pair = p; if (isnan(c->error[p])) break; }
    c->seconds = now() - t0;

done:
    free(S1);
    free(phi1);
    qs_model_free(&more);
    if (status != QS_OK) qs_convergence_free(&c);
    *result = c;
    return status;
}

int qs_model_auto_levels_s(qs_model *model, const qs_auto_options *options, qs_convergence **result,
                           int *rounds, qs_error *err)
{
    qs_auto_options d;
    if (!options) { qs_auto_defaults(&d); options = &d; }
    if (result) *result = NULL;
    int n = model->n, st = QS_OK;
    int *is_auto = calloc((size_t)(n ? n : 1), sizeof *is_auto);
    if (!is_auto) return qs_error_set(err, QS_ENOMEM, "out of memory");
    int any = 0;
    for (int j = 0; j < n; j++) any |= is_auto[j] = model->osc[j].levels == QS_LEVELS_AUTO;
    if (!any) { free(is_auto); if (rounds) *rounds = 0; return QS_OK; }
    /* the guess: a looser tail */
    for (int j = 0; j < n && st == QS_OK; j++) {
        if (!is_auto[j]) continue;
        int L;
        double tail;
        qs_error sub;
        st = qs_osc_auto_levels(&model->osc[j], options->guess_tail, QS_AUTO_LEVELS_MAX, &L, &tail, &sub);
        if (st != QS_OK) st = qs_error_set(err, st, "oscillator %s: %s", model->names[j], sub.message);
        else {
            int floor_L = (int)ceil(model->osc[j].n_minus) + 2;   /* the tail rule needs the top level beyond n− */
            model->osc[j].levels = L < floor_L ? floor_L : L;
        }
    }
    qs_convergence_options co;
    qs_convergence_defaults(&co);
    co.raise = is_auto;
    co.steady = options->steady;
    qs_convergence *c = NULL;
    int round = 0;
    while (st == QS_OK) {
        round++;
        double cost = qs_convergence_cost(model, &co);
        if (cost > options->max_unknowns) {
            st = c ? qs_error_set(err, QS_ETOOBIG,
                                  "levels = auto: the estimated truncation error of S is %.2g (above the tolerance %g) and one more "
                                  "level needs a sector of %.0f unknowns (more than %.0f): give levels explicitly or a larger --s-tol",
                                  c->max_error, options->s_tol, cost, options->max_unknowns)
                   : qs_error_set(err, QS_ETOOBIG,
                                  "levels = auto: checking S at the first guess needs a sector of %.0f unknowns (more than %.0f): "
                                  "give levels explicitly", cost, options->max_unknowns);
            break;
        }
        qs_convergence_free(&c);
        st = qs_convergence_estimate(model, NULL, &co, &c, err);
        if (st != QS_OK) break;
        if (c->max_error <= options->s_tol) break;
        if (isnan(c->max_error)) { st = qs_error_set(err, QS_EINPUT, "levels = auto: an uncoupled tail is not finite"); break; }
        if (round >= options->max_rounds) {
            st = qs_error_set(err, QS_EINPUT, "levels = auto: the estimated error of S is still %.2g after %d rounds (tolerance %g)",
                              c->max_error, round, options->s_tol);
            break;
        }
        /* error ∝ T(L): aim at 0.8 s_tol, by each auto oscillator's tail */
        double want = 0.8 * options->s_tol / c->max_error;
        for (int j = 0; j < n && st == QS_OK; j++) {
            if (!is_auto[j]) continue;
            int L0 = model->osc[j].levels, count = QS_AUTO_LEVELS_MAX - L0 + 1, L = L0 + 1;
            double *T = count > 1 ? malloc((size_t)count * sizeof *T) : NULL;
            qs_error sub;
            if (!T) { st = qs_error_set(err, count > 1 ? QS_ENOMEM : QS_EINPUT, "levels = auto: more than %d levels needed", QS_AUTO_LEVELS_MAX); break; }
            if ((st = qs_osc_tail(&model->osc[j], L0, count, T, &sub)) != QS_OK) { qs_error_set(err, st, "%s", sub.message); free(T); break; }
            while (L < QS_AUTO_LEVELS_MAX && T[L - L0] > want * T[0]) L++;
            free(T);
            model->osc[j].levels = L;
        }
    }
    if (rounds) *rounds = round;
    if (st == QS_OK && result) *result = c;
    else qs_convergence_free(&c);
    if (st != QS_OK)
        for (int j = 0; j < n; j++) if (is_auto[j]) model->osc[j].levels = QS_LEVELS_AUTO;
    free(is_auto);
    return st;
}
