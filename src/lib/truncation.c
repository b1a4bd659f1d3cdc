/* truncation.c — uncoupled populations (detailed balance) and levels = auto.
 *
 * Populations are computed in logarithms, log p(n) = Σ_{k≤n} [log γ+ f+(k) − log γ− f−(k)],
 * so that neither long chains nor steep ratios overflow. For the tail of the untruncated
 * chain the sum runs to TAIL_TERMS terms and adds the remainder of a power law fitted to
 * the last octave: with γ+σ+² = γ−σ−² the ratio tends to 1 and p(n) ~ n^−2(n−−n+).
 */
#include <math.h>
#include <stdlib.h>
#include "internal.h"

#define TAIL_TERMS (1 << 20)

/* log of the ratio p(n)/p(n−1); ±INFINITY when one rate vanishes. */
static double log_ratio(const qs_osc *o, int n)
{
    return log(o->gamma_plus * qs_osc_f_plus(o, n)) - log(o->gamma_minus * qs_osc_f_minus(o, n));
}

/* The untruncated chain: log p(n) (up to a constant) for n < TAIL_TERMS into a new array
 * *lp, its largest value *top, and the exponent *s of p(n) ~ n^−s over the last octave.
 * Returns QS_OK or QS_ENOMEM. */
static int long_chain(const qs_osc *o, double **lp, double *top, double *s)
{
    double *l = malloc(TAIL_TERMS * sizeof *l);
    if (!l) return QS_ENOMEM;
    double acc = 0.0;
    *top = 0.0;
    l[0] = 0.0;
    for (int n = 1; n < TAIL_TERMS; n++) {
        acc += log_ratio(o, n);
        l[n] = acc;
        if (acc > *top) *top = acc;
    }
    *s = -(l[TAIL_TERMS - 1] - l[TAIL_TERMS / 2 - 1]) / log(2.0);
    *lp = l;
    return QS_OK;
}

int qs_osc_populations(const qs_osc *o, int levels, double *p)
{
    if (levels < 2) return QS_EINPUT;
    if (o->gamma_plus == 0 && o->gamma_minus == 0) return QS_EINPUT;
    double lp = 0.0, top = 0.0;
    p[0] = 0.0;
    for (int n = 1; n < levels; n++) {   /* p temporarily holds log p */
        lp += log_ratio(o, n);
        p[n] = lp;
        if (lp > top) top = lp;
    }
    double sum = 0.0;
    for (int n = 0; n < levels; n++) {
        p[n] = isnan(p[n]) ? 0.0 : (p[n] == INFINITY ? 1.0 : exp(p[n] - top));
        sum += p[n];
    }
    for (int n = 0; n < levels; n++) p[n] /= sum;
    return QS_OK;
}

int qs_osc_auto_levels(const qs_osc *o, double tail_tol, int max_levels, int *levels,
                       double *tail, qs_error *err)
{
    if (o->gamma_plus == 0 && o->gamma_minus == 0)
        return qs_error_set(err, QS_EINPUT, "no dissipation (gamma_plus = gamma_minus = 0): the steady state is not unique");
    if (o->gamma_minus == 0)
        return qs_error_set(err, QS_EINPUT, "gamma_minus = 0: nothing limits the amplitude, levels = auto impossible");
    double *lp, top, s;
    if (long_chain(o, &lp, &top, &s) != QS_OK) return qs_error_set(err, QS_ENOMEM, "out of memory");
    int st = QS_OK;
    if (!(s > 1.05)) {
        if (s <= 0)
            st = qs_error_set(err, QS_EINPUT, "the uncoupled populations grow with n (gamma_plus sigma_plus^2 >= "
                              "gamma_minus sigma_minus^2): levels = auto impossible, give levels explicitly");
        else if (isnan(s))
            st = qs_error_set(err, QS_EINPUT, "the uncoupled populations cannot be evaluated in double precision (a rate "
                              "over- or underflows): levels = auto impossible, give levels explicitly");
        else
            st = qs_error_set(err, QS_EINPUT, "the uncoupled populations decay only as n^-%.3g, too slowly to "
                              "normalise: levels = auto impossible, give levels explicitly", s);
    } else {
        double total = 0.0;
        for (int n = TAIL_TERMS - 1; n >= 0; n--) total += exp(lp[n] - top);
        total += exp(lp[TAIL_TERMS - 1] - top) * TAIL_TERMS / (s - 1.0);
        double below = 0.0;
        int L = 0;
        for (int n = 0; n < max_levels; n++) {
            below += exp(lp[n] - top);
            if (n >= 1 && (total - below) / total <= tail_tol) { L = n + 1; break; }
        }
        if (L == 0)
            st = qs_error_set(err, QS_EINPUT,
                "levels = auto needs more than %d levels to leave a tail below %g (p(n) ~ n^-%.3g): "
                "give levels explicitly or a larger tail tolerance", max_levels, tail_tol, s);
        else {
            *levels = L;
            *tail = (total - below) / total;
        }
    }
    free(lp);
    return st;
}

int qs_model_resolve_levels(qs_model *model, double tail_tol, int max_levels, qs_error *err)
{
    for (int j = 0; j < model->n; j++) {
        if (model->osc[j].levels != QS_LEVELS_AUTO) continue;
        int L;
        double tail;
        qs_error sub;
        int st = qs_osc_auto_levels(&model->osc[j], tail_tol, max_levels, &L, &tail, &sub);
        if (st != QS_OK)
            return qs_error_set(err, st, "oscillator %s: %s", model->names[j], sub.message);
        model->osc[j].levels = L;
    }
    return QS_OK;
}

/* T(L) = Σ_{n≥L} p_∞(n) for L = from..from+count−1, from the chain of long_chain (as
 * qs_osc_auto_levels: log populations to TAIL_TERMS terms, power-law remainder), summed from the far end so
 * that small tails keep their relative accuracy. */
int qs_osc_tail(const qs_osc *o, int from, int count, double *tail, qs_error *err)
{
    if (from < 1 || count < 1 || from > TAIL_TERMS / 2 - count)
        return qs_error_set(err, QS_EINPUT, "tail at levels %d..%d: out of range", from, from + count - 1);
    if (o->gamma_minus == 0)
        return qs_error_set(err, QS_EINPUT, "gamma_minus = 0: the uncoupled populations have no tail");
    double *lp, top, s;
    if (long_chain(o, &lp, &top, &s) != QS_OK) return qs_error_set(err, QS_ENOMEM, "out of memory");
    int st = QS_OK;
    if (!(s > 1.05))
        st = qs_error_set(err, QS_EINPUT, "the uncoupled populations decay as n^-%.3g: no finite tail", s);
    else {
        double above = exp(lp[TAIL_TERMS - 1] - top) * TAIL_TERMS / (s - 1.0);
        for (int n = TAIL_TERMS - 1; n >= from; n--) {
            above += exp(lp[n] - top);
            if (n < from + count) tail[n - from] = above;
        }
        double total = above;
        for (int n = from - 1; n >= 0; n--) total += exp(lp[n] - top);
        for (int i = 0; i < count; i++) tail[i] /= total;
    }
    free(lp);
    return st;
}

/* F(L) = T(L) / p(L) = Σ_{n≥L} p(n)/p(L): needs no normalisation, so a few thousand terms
 * and the power-law remainder suffice (about 50 µs, against 10 ms for qs_osc_tail). */
int qs_osc_tail_factor(const qs_osc *o, int levels, double *factor, qs_error *err)
{
    if (levels < 1 || levels > TAIL_TERMS / 2)
        return qs_error_set(err, QS_EINPUT, "tail factor at %d levels: out of range", levels);
    if (o->gamma_minus == 0)
        return qs_error_set(err, QS_EINPUT, "gamma_minus = 0: the uncoupled populations have no tail");
    int M = 64 * levels > 4096 ? 64 * levels : 4096;
    double lp = 0.0, sum = 1.0, lp_half = 0.0;   /* log p(n)/p(L), n from L */
    for (int n = levels + 1; n < levels + M; n++) {
        lp += log_ratio(o, n);
        if (n == levels + M / 2) lp_half = lp;
        sum += exp(lp);
    }
    int last = levels + M - 1, half = levels + M / 2;
    double s = -(lp - lp_half) / log((double)last / half);
    if (!(s > 1.05) || !isfinite(sum))
        return qs_error_set(err, QS_EINPUT, "the uncoupled populations decay as n^-%.3g: no finite tail", s);
    *factor = sum + exp(lp) * last / (s - 1.0);
    return QS_OK;
}
