/* qsync/truncation.h — uncoupled populations and the choice of Fock truncation.
 *
 * An uncoupled oscillator's steady state is diagonal and obeys detailed balance:
 * p(n) = p(0) Π_{k=1..n} γ+ f+(k) / (γ− f−(k))  (MODEL.md §1).
 * Truncating at L levels conditions this chain on n < L, so the population an L-level
 * oscillator misses is the tail T(L) = Σ_{n≥L} p_∞(n). `levels = auto` picks the smallest
 * L with T(L) ≤ tail_tol.
 */
#ifndef QSYNC_TRUNCATION_H
#define QSYNC_TRUNCATION_H

#include "qsync/model.h"

/* Default tail tolerance for levels = auto, and the largest truncation auto may choose. */
#define QS_TAIL_TOL_DEFAULT 1e-3
#define QS_AUTO_LEVELS_MAX 400

/* Uncoupled steady-state populations p[0..levels−1] (written) of oscillator o truncated
 * at `levels` ≥ 2; they sum to 1. */
int qs_osc_populations(const qs_osc *o, int levels, double *p);

/* Smallest truncation with tail T(L) ≤ tail_tol, at most max_levels. Writes *levels and
 * the tail it leaves (*tail). QS_EINPUT when the untruncated chain is not normalisable
 * or needs more than max_levels (the message says which). */
int qs_osc_auto_levels(const qs_osc *o, double tail_tol, int max_levels, int *levels,
                       double *tail, qs_error *err);

/* Tails of the untruncated chain: tail[i] = T(from + i) = Σ_{n ≥ from+i} p_∞(n) for
 * i = 0..count−1 (written), 1 ≤ from. QS_EINPUT when the chain is not normalisable. About
 * 10 ms (a million terms). convergence.h uses them to extrapolate the change of S. */
int qs_osc_tail(const qs_osc *o, int from, int count, double *tail, qs_error *err);

/* F(L) = T(L)/p_∞(L) = T(L)/(T(L) − T(L+1)) (written), computed without normalising the
 * chain (about 50 µs): the factor by which the truncation error exceeds the change at one
 * more level when that error scales as T(L) (convergence.h). */
int qs_osc_tail_factor(const qs_osc *o, int levels, double *factor, qs_error *err);

/* Apply qs_osc_auto_levels to every oscillator whose levels are QS_LEVELS_AUTO. */
int qs_model_resolve_levels(qs_model *model, double tail_tol, int max_levels, qs_error *err);

#endif
