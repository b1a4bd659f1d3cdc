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

/* One extra solve: a model with raised levels and its steady plan, made once. */
typedef struct {
    qs_model *model;    /* the caller's model with levels raised (values refreshed per run) */
    qs_steady *steady;
    int raised_osc;     /* per oscillator: which one is raised; −1: all raised at once */
} extra_solve;

struct qs_convergence_plan {
    int n, n_pairs, per_oscillator;
    int *raise;                 /* [n] */
    int *levels;                /* [n] the base levels the plan was made for */
    qs_steady_options steady;
    int n_extra;
    extra_solve *extra;         /* [n_extra] */
    qs_osc *tail_osc;           /* [n] parameters the cached factor was computed for */
    int *tail_known;            /* [n] */
    double *S1, *phi1;          /* [n_pairs] workspace */
    qs_convergence *result;
};

static qs_convergence *result_alloc(int n, int np, int per_osc)
{
    int m = np ? np : 1;
    qs_convergence *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->n = n;
    c->n_pairs = np;
    c->per_oscillator = per_osc;
    c->S = calloc((size_t)m, sizeof(double));
    c->phi_max = calloc((size_t)m, sizeof(double));
    c->S_more = calloc((size_t)m, sizeof(double));
    c->change = calloc((size_t)m, sizeof(double));
    c->phi_change = calloc((size_t)m, sizeof(double));
    c->error = calloc((size_t)m, sizeof(double));
    c->factor = calloc((size_t)(n ? n : 1), sizeof(double));
    if (per_osc) c->osc_change = calloc((size_t)m * (size_t)(n ? n : 1), sizeof(double));
    if (!c->S || !c->phi_max || !c->S_more || !c->change || !c->phi_change || !c->error || !c->factor ||
        (per_osc && !c->osc_change))
        qs_convergence_free(&c);
    return c;
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

void qs_convergence_plan_free(qs_convergence_plan **pp)
{
    if (!pp || !*pp) return;
    qs_convergence_plan *p = *pp;
    for (int k = 0; p->extra && k < p->n_extra; k++) {
        qs_steady_free(&p->extra[k].steady);
        qs_model_free(&p->extra[k].model);
    }
    free(p->extra);
    free(p->raise);
    free(p->levels);
    free(p->tail_osc);
    free(p->tail_known);
    free(p->S1);
    free(p->phi1);
    qs_convergence_free(&p->result);
    free(p);
    *pp = NULL;
}

static double circle_distance(double a, double b)
{
    double d = fmod(fabs(a - b), 2 * M_PI);
    return d > M_PI ? 2 * M_PI - d : d;
}

/* Copy `model`'s values into extra solve x and raise its levels. */
static int refresh(const qs_convergence_plan *p, extra_solve *x, const qs_model *model)
{
    if (qs_model_assign(x->model, model) != QS_OK) return QS_EINPUT;
    for (int j = 0; j < p->n; j++)
        x->model->osc[j].levels = p->levels[j] + (x->raised_osc < 0 ? p->raise[j] : x->raised_osc == j);
    return QS_OK;
}

int qs_convergence_plan_create(const qs_model *model, const qs_convergence_options *options,
                               qs_convergence_plan **plan, qs_error *err)
{
    qs_convergence_options d;
    if (!options) { qs_convergence_defaults(&d); options = &d; }
    *plan = NULL;
    int n = model->n, np = n * (n - 1) / 2;
    for (int j = 0; j < n; j++)
        if (model->osc[j].levels == QS_LEVELS_AUTO || model->osc[j].levels >= QS_LEVELS_MAX)
            return qs_error_set(err, QS_EINPUT, "oscillator %s: the truncation check needs resolved levels below %d",
                                model->names[j], QS_LEVELS_MAX);
    qs_convergence_plan *p = calloc(1, sizeof *p);
    if (!p) return qs_error_set(err, QS_ENOMEM, "out of memory");
    size_t nn = (size_t)(n ? n : 1), mm = (size_t)(np ? np : 1);
    p->n = n;
    p->n_pairs = np;
    p->per_oscillator = options->per_oscillator;
    p->steady = options->steady;
    p->steady.lean = 0;                 /* a check that does not fit as planned is refused, not slowed */
    p->raise = calloc(nn, sizeof *p->raise);
    p->levels = calloc(nn, sizeof *p->levels);
    p->tail_osc = calloc(nn, sizeof *p->tail_osc);
    p->tail_known = calloc(nn, sizeof *p->tail_known);
    p->S1 = calloc(mm, sizeof *p->S1);
    p->phi1 = calloc(mm, sizeof *p->phi1);
    p->result = result_alloc(n, np, options->per_oscillator);
    int n_raised = 0;
    if (p->raise)
        for (int j = 0; j < n; j++) { p->raise[j] = raised(options, j); n_raised += p->raise[j]; }
    p->n_extra = options->per_oscillator ? n_raised : 1;
    p->extra = calloc((size_t)(p->n_extra ? p->n_extra : 1), sizeof *p->extra);
    if (!p->raise || !p->levels || !p->tail_osc || !p->tail_known || !p->S1 || !p->phi1 || !p->result || !p->extra) {
        qs_convergence_plan_free(&p);
        return qs_error_set(err, QS_ENOMEM, "out of memory");
    }
    for (int j = 0; j < n; j++) p->levels[j] = model->osc[j].levels;
    int status = QS_OK;
    for (int k = 0, j = -1; k < p->n_extra && status == QS_OK; k++) {
        extra_solve *x = &p->extra[k];
        if (options->per_oscillator) { do j++; while (!p->raise[j]); x->raised_osc = j; }
        else x->raised_osc = -1;
        if (!(x->model = qs_model_copy(model))) { status = qs_error_set(err, QS_ENOMEM, "out of memory"); break; }
        refresh(p, x, model);
        qs_error sub;
        status = qs_steady_create(x->model, &p->steady, &x->steady, &sub);
        if (status < 0)
            qs_error_set(err, status, "truncation check (one more level for %s): %s",
                         x->raised_osc < 0 ? "every oscillator" : model->names[x->raised_osc], sub.message);
        else {
            qs_steady_stats stats;
            qs_steady_get_stats(x->steady, &stats);
            if ((double)stats.sector_dimension > p->result->sector_dimension) p->result->sector_dimension = (double)stats.sector_dimension;
            status = QS_OK;
        }
    }
    if (status != QS_OK) { qs_convergence_plan_free(&p); return status; }
    *plan = p;
    return QS_OK;
}

/* F_j for oscillator j of `model`, cached while its parameters stay the same. */
static double factor(qs_convergence_plan *p, const qs_model *model, int j)
{
    const qs_osc *o = &model->osc[j];
    if (o->levels < o->n_minus + 2) return NAN;   /* inside the populated range: no tail rule */
    if (p->tail_known[j] && memcmp(&p->tail_osc[j], o, sizeof *o) == 0) return p->result->factor[j];
    double F;
    qs_error sub;
    if (qs_osc_tail_factor(o, o->levels, &F, &sub) != QS_OK) F = NAN;
    p->tail_osc[j] = *o;
    p->tail_known[j] = 1;
    return F;
}

int qs_convergence_plan_run(qs_convergence_plan *p, const qs_model *model, const qs_state *state,
                            const qs_convergence **result, qs_error *err)
{
    if (result) *result = NULL;
    if (model->n != p->n) return qs_error_set(err, QS_EINPUT, "the model differs from the truncation check's plan");
    for (int j = 0; j < p->n; j++)
        if (model->osc[j].levels != p->levels[j])
            return qs_error_set(err, QS_EINPUT, "oscillator %s: levels %d, the truncation check was planned for %d",
                                model->names[j], model->osc[j].levels, p->levels[j]);
    qs_convergence *c = p->result;
    int n = p->n, np = p->n_pairs, status;
    double t0 = now();
    if (state) {
        if ((status = qs_state_sync(state, c->S, c->phi_max, err)) != QS_OK) return status;
    } else {
        qs_steady *st = NULL;
        qs_error sub;
        status = qs_steady_create(model, &p->steady, &st, &sub);
        if (status >= 0) status = qs_steady_solve(st, model, &sub);
        if (status >= 0) status = qs_state_sync(qs_steady_state(st), c->S, c->phi_max, &sub);
        qs_steady_free(&st);
        if (status < 0) return qs_error_set(err, status, "truncation check (at the model's levels): %s", sub.message);
    }
    int finite = 1;
    c->inside = -1;
    for (int j = 0; j < n; j++) {
        c->factor[j] = p->raise[j] ? factor(p, model, j) : 0.0;
        if (p->raise[j] && isnan(c->factor[j])) {
            finite = 0;
            if (c->inside < 0 && model->osc[j].levels < model->osc[j].n_minus + 2) c->inside = j;
        }
    }
    for (int q = 0; q < np; q++) {
        c->change[q] = 0.0;
        c->error[q] = 0.0;
        c->phi_change[q] = NAN;
    }
    c->solves = 0;
    for (int k = 0; k < p->n_extra; k++) {
        extra_solve *x = &p->extra[k];
        qs_error sub;
        if (refresh(p, x, model) != QS_OK) return qs_error_set(err, QS_EINPUT, "the model differs from the truncation check's plan");
        status = qs_steady_solve(x->steady, x->model, &sub);
        if (status >= 0) status = qs_state_sync(qs_steady_state(x->steady), p->S1, p->phi1, &sub);
        if (status < 0)
            return qs_error_set(err, status, "truncation check (one more level for %s): %s",
                                x->raised_osc < 0 ? "every oscillator" : model->names[x->raised_osc], sub.message);
        c->solves++;
        if (x->raised_osc < 0) {
            double F = 0.0;
            for (int j = 0; j < n; j++) if (p->raise[j] && !(c->factor[j] <= F)) F = c->factor[j];
            for (int q = 0; q < np; q++) {
                c->change[q] = p->S1[q] - c->S[q];
                c->phi_change[q] = circle_distance(p->phi1[q], c->phi_max[q]);
                c->error[q] = finite ? fabs(c->change[q]) * F : NAN;
            }
        } else {
            int j = x->raised_osc;
            for (int q = 0; q < np; q++) {
                double dj = p->S1[q] - c->S[q];
                c->osc_change[(size_t)j * (size_t)np + (size_t)q] = dj;
                c->change[q] += dj;
                c->error[q] += fabs(dj) * c->factor[j];   /* NaN propagates: no tail rule */
            }
        }
    }
    for (int q = 0; q < np; q++) c->S_more[q] = c->S[q] + c->change[q];
    c->max_error = 0.0;
    c->max_pair = 0;
    for (int q = 0; q < np; q++)
        if (!(c->error[q] <= c->max_error)) { c->max_error = c->error[q]; c->max_pair = q; if (isnan(c->error[q])) break; }
    c->seconds = now() - t0;
    if (result) *result = c;
    return QS_OK;
}

int qs_convergence_estimate(const qs_model *model, const qs_state *state,
                            const qs_convergence_options *options, qs_convergence **result, qs_error *err)
{
    *result = NULL;
    qs_convergence_plan *p = NULL;
    double t0 = now();
    int status = qs_convergence_plan_create(model, options, &p, err);
    if (status == QS_OK) status = qs_convergence_plan_run(p, model, state, NULL, err);
    if (status == QS_OK) {
        *result = p->result;   /* handed over to the caller */
        p->result = NULL;
        (*result)->seconds = now() - t0;
    }
    qs_convergence_plan_free(&p);
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
    co.steady.lean = 0;                 /* the search's many solves: refused rather than slowed */
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
