/* qsync/convergence.h — the truncation error of S itself, and levels = auto by a tolerance on S.
 *
 * The top-level population says little about S: an uncoupled oscillator's populations fall
 * only as 1/n² (MODEL.md §1), so every affordable truncation leaves ~1e−3 in its top level,
 * while S may already be accurate to 1e−3. What matters is how S moves with the truncation.
 *
 * Estimate. Solve once more with every oscillator (or the chosen ones) one level higher and
 * take the change δ = S(L+1) − S(L) of every pair. The one-level change underestimates the
 * distance to the untruncated S: with tails ~1/n², S(L) − S(∞) falls only as 1/L, so
 * it is about L times δ. The estimate extrapolates δ with the uncoupled tails
 * T_j(L) = Σ_{n≥L} p_j(n) (truncation.h): assuming S(L) − S(∞) ∝ T(L),
 *     error = |δ| · F,  F = max_j T_j(L_j) / (T_j(L_j) − T_j(L_j + 1))   (F ≈ L for 1/n² tails).
 * Per oscillator (on request, N extra solves) error = Σ_j |δ_j| F_j with δ_j the change when
 * only oscillator j is raised. The tail rule holds only beyond the populated range: with
 * levels < n− + 2 (e.g. levels = 2, where S = 0 exactly) the error is NaN (unknown) and
 * only the change is reported. Measured against S at 60 levels (tests/truncation.py,
 * README): the true error is 0.5–1.0 times this estimate (Fig. 2b, 3a models, at resonance,
 * in the blockade and at V = 0.5); it is an estimate of size, not a bound.
 * Limitation: a Kerr resonance Δ = 2K m that needs levels beyond L + 1 (small K, large Δ)
 * is invisible to one more level. Fig. 3d's model at K = 1, Δ = 20: S(10) = 0.0082,
 * S(14) = 0.0080, S(18) = 0.0058 = S(22), while the estimate at 10 levels is 2.2e-4; at
 * 18 levels it is 7.8e-5 and right. When 2K·L is not well beyond the detunings of
 * interest, check with more levels.
 *
 * Cost: one extra solve (N with per_oscillator) with one more level, i.e. the sector of
 * qs_convergence_cost() unknowns; for two oscillators about 1.5× the unknowns, for three 2×.
 */
#ifndef QSYNC_CONVERGENCE_H
#define QSYNC_CONVERGENCE_H

#include "qsync/model.h"
#include "qsync/state.h"
#include "qsync/steady.h"

/* qsync steady computes the estimate by default when the sector with one more level has at
 * most this many unknowns (two oscillators up to 40 levels; Fig. 4 up to 7; ring4 at 4). */
#define QS_CONVERGENCE_AUTO_MAX 60000
/* Default tolerance on the estimated truncation error of S (absolute). */
#define QS_S_TOL_DEFAULT 5e-3
/* levels = auto: the starting guess leaves this uncoupled tail (looser than the tail rule). */
#define QS_AUTO_GUESS_TAIL 3e-2

typedef struct {
    int per_oscillator;        /* 0 (default): one solve, every raised oscillator +1 at once;
                                  1: one solve per raised oscillator */
    const int *raise;          /* if non-NULL, [n] flags: raise only these oscillators */
    qs_steady_options steady;  /* options of the extra solves (default qs_steady_defaults) */
} qs_convergence_options;

typedef struct {
    int n;                     /* oscillators */
    int n_pairs;               /* n(n−1)/2, pairs (a, b), a < b, in file order */
    double *S, *phi_max;       /* [n_pairs] at the model's levels */
    double *S_more;            /* [n_pairs] all raised at once (per_oscillator: S + Σ_j δ_j) */
    double *change;            /* [n_pairs] S_more − S */
    double *phi_change;        /* [n_pairs] |φ_max(L+1) − φ_max(L)| on the circle (all at once) or NaN */
    double *error;             /* [n_pairs] estimated |S − S(∞)|; NaN when a tail is not finite */
    double *osc_change;        /* per_oscillator: [n × n_pairs], δ_j of pair p at j·n_pairs + p; else NULL */
    double *factor;            /* [n] F_j = T_j(L)/(T_j(L) − T_j(L+1)); 0 for oscillators not raised */
    int inside;                /* −1, or an oscillator whose top level lies inside its populated range
                                  (levels < n− + 2): no tail to extrapolate by, error NaN */
    double max_error;          /* max over pairs of error (NaN if any is) */
    int max_pair;              /* the pair of max_error */
    int per_oscillator;        /* how it was computed */
    int solves;                /* extra solves made */
    double sector_dimension;   /* unknowns of the largest extra solve */
    double seconds;            /* time of the extra solves */
} qs_convergence;

void qs_convergence_defaults(qs_convergence_options *options);

/* Unknowns (before symmetry) of the largest extra solve the estimate needs for `model`
 * (levels resolved). */
double qs_convergence_cost(const qs_model *model, const qs_convergence_options *options);

/* Estimate the truncation error of S for `model` (levels resolved). `state` is its steady
 * state (read; NULL: solved here, one more solve). On success *result is new (free it with
 * qs_convergence_free). Errors of the extra solves (QS_ETOOBIG, QS_ENUMERIC) are returned
 * with a message saying which solve; a tail that is not finite leaves error NaN (QS_OK). */
int qs_convergence_estimate(const qs_model *model, const qs_state *state,
                            const qs_convergence_options *options, qs_convergence **result,
                            qs_error *err);

void qs_convergence_free(qs_convergence **result);

/* Plan once, run many (a sweep): the plan holds the extra solves' models and steady plans
 * (made once for the structure of `model`); each run refreshes their values from a model
 * with the same structure and levels, solves, and fills the plan's result, returned in
 * *result (owned by the plan, valid until the next run or the free). The tail factors are
 * recomputed only when an oscillator's parameters change. qs_convergence_estimate is
 * create + run + free. */
typedef struct qs_convergence_plan qs_convergence_plan;
int qs_convergence_plan_create(const qs_model *model, const qs_convergence_options *options,
                               qs_convergence_plan **plan, qs_error *err);
int qs_convergence_plan_run(qs_convergence_plan *plan, const qs_model *model, const qs_state *state,
                            const qs_convergence **result, qs_error *err);
void qs_convergence_plan_free(qs_convergence_plan **plan);

/* levels = auto by a tolerance on S. */
typedef struct {
    double s_tol;              /* estimated error of every pair's S at most this (default QS_S_TOL_DEFAULT) */
    double guess_tail;         /* starting guess: uncoupled tail below this (default QS_AUTO_GUESS_TAIL) */
    double max_unknowns;       /* refuse a check above this sector size (default 4e5) */
    int max_rounds;            /* raises before giving up (default 8) */
    qs_steady_options steady;
} qs_auto_options;

void qs_auto_defaults(qs_auto_options *options);

/* Resolve every oscillator with levels = QS_LEVELS_AUTO in `model` (written): start from
 * the tail guess, then raise the auto oscillators until the estimate is below s_tol. Each
 * round costs two solves (L and L+1). The next guess scales the tails by s_tol/error, since
 * the error ∝ T(L). On success *result (if non-NULL) is the estimate at the chosen levels and
 * *rounds the number of rounds. QS_EINPUT/QS_ETOOBIG when the tolerance is out of reach
 * within max_unknowns or max_rounds; the message says the best error reached. */
int qs_model_auto_levels_s(qs_model *model, const qs_auto_options *options,
                           qs_convergence **result, int *rounds, qs_error *err);

#endif
