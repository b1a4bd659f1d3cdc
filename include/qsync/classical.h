/* qsync/classical.h — the classical Langevin model (Eq. 5) by Monte Carlo (MODEL.md §3).
 *
 * dα_j = [−(iΩ_j + Γ_j/2 + γ_T/2) α_j − i Σ_k C_jk α_k] dt + dη_j,  Ω_j = ω_j − 2K_j|α_j|²,
 * Γ_j = γ− f−(|α_j|²) − γ+ f+(|α_j|²),  ⟨dη_j dη_k*⟩ = D_j δ_jk dt  (D = the key `noise`).
 *
 * Integrator (per step dt, Strang splitting): local half step (rotation by Ω(|α|²), exact
 * because it keeps |α|; damping with Γ at the half-step amplitude), coupling half step
 * (the exact unitary exp(−iC dt/2)), noise, coupling half step, local half step. The
 * rotation, which dominates (|Ω| ≫ Γ), is never approximated, so no energy is injected.
 * The noise step adds √(D dt/2)(ξ1 + iξ2) with ξ = 0, ±√3 (probabilities 2/3, 1/6, 1/6):
 * the moments of a normal variable up to the fifth, enough for the scheme's weak second
 * order, which is all an average over the stationary ensemble sees.
 *
 * Ensemble: the model has no normalisable steady state (Γ → 0 for large |α|²); a
 * trajectory leaves the averages once some |α_j|² exceeds `cutoff` (the quasi-stationary
 * ensemble) and the escaped fraction is reported. gamma_T > 0 makes it well posed.
 *
 * Randomness: Philox4x32-10 (Random123), keyed by (seed, trajectory), counter (step,
 * pair of oscillators): every trajectory is the same whatever the thread count or order, and the
 * averages are combined in a fixed order, so results are bit-identical.
 *
 * Frequencies: every step after the burn-in, each lane still in the ensemble adds
 * arg(α_new/α_old) of every oscillator to its own sum (kept per trajectory, summed per chunk
 * in trajectory order: bit-identical for any thread count as well).
 *
 * Estimator of S: the Fourier coefficients c_l = ⟨e^{ilφ}⟩ of φ = φ_a − φ_b, averaged over
 * trajectories and sampling times after the burn-in; harmonics l = 1, 2, … are kept while
 * they stand above their noise (|c_l| > 2 standard errors); S = max_φ 2 Re Σ c_l e^{−ilφ}
 * (qs_phase_max). Errors: jackknife over `replicas` independent groups of trajectories,
 * the choice of harmonics made again for every left-out group.
 */
#ifndef QSYNC_CLASSICAL_H
#define QSYNC_CLASSICAL_H

#include "qsync/model.h"

#define QS_CLASSICAL_HARMONICS 24   /* largest harmonic estimated */
#define QS_CLASSICAL_CHUNK 32        /* trajectories per chunk: replica r holds chunks r, r + R, … */
#define QS_CLASSICAL_MIN_REPLICAS 3  /* the jackknife leaves one out and tests harmonics on the rest: two at least */
#define QS_CLASSICAL_MAX_STEPS 1e9   /* (burn_in + t_measure)/dt and sample_every/dt at most */
/* Frequencies a double can follow: each half step's phase −(ω_j − 2K_j|α_j|²) dt/2 and the
 * amplitude (its cosine and sine) are rounded to ε |Ω_j| dt/2, ε = DBL_EPSILON, so over the run
 * the errors add up to at most ε (|ω_j| + 2|K_j| cutoff)(burn_in + t_measure); a model where
 * this exceeds QS_CLASSICAL_PHASE_ERROR_MAX is refused (QS_EINPUT naming the oscillator and
 * omega or K): with the defaults (250 time units) |Ω| up to about 1.8e10. */
#define QS_CLASSICAL_PHASE_ERROR_MAX 1e-3

typedef struct {
    double dt;            /* time step (default 0.02) */
    double burn_in;       /* time before sampling starts (default 50) */
    double t_measure;     /* sampling time after the burn-in (default 200) */
    double sample_every;  /* time between samples (default 0.5) */
    int trajectories;     /* default 2048 */
    int replicas;         /* independent groups for the errors (default 16) */
    unsigned long long seed; /* default 1 */
    int threads;          /* 0: OpenMP's default */
    double cutoff;        /* |α|² beyond which a trajectory has escaped (default 8) */
    double significance;  /* harmonics 1, 2, … kept while |c_l| > significance · error (default 2) */
    int hist_bins;        /* histogram of |α_j|² over the samples: bins on [0, hist_max) (default 0: none) */
    double hist_max;
} qs_classical_options;

typedef struct {
    double S, S_err, phi_max;
    int harmonics;        /* harmonics kept */
} qs_classical_pair;

typedef struct {
    int n, pairs;
    qs_classical_pair *pair;   /* [pairs], a < b in file order */
    double *mean_x;            /* [n] mean |α_j|² over the sampled ensemble */
    double *hist;              /* [n · hist_bins] sample counts of |α_j|² per bin, or NULL */
    double escaped_fraction;   /* trajectories escaped by the end */
    double samples;            /* phase samples per pair */
    double osc_steps;          /* oscillator-steps integrated: each trajectory's steps until it
                                  escapes (it is not stepped any further) */
    double seconds;
} qs_classical_result;

void qs_classical_defaults(qs_classical_options *options);

/* Run the ensemble for `model` (read). *result is allocated; free with qs_classical_result_free. */
int qs_classical_run(const qs_model *model, const qs_classical_options *options,
                     qs_classical_result *result, qs_error *err);

void qs_classical_result_free(qs_classical_result *result);

/* Observed frequencies (MODEL.md §9) of a result, with their jackknife errors over the
 * replicas (as S_err): ν_j = −⟨d arg α_j/dt⟩ of oscillator j (0 ≤ j < n), the unwrapped phase
 * increments arg(α_new/α_old) of every step summed over the trajectories while they are in
 * the quasi-stationary ensemble after the burn-in, divided by the time they spent there; the
 * beat ν_a − ν_b of pair q (0 ≤ q < pairs, a < b in file order), its error the jackknife of
 * the difference. NaN for an index outside. (They are held in the result's own allocation,
 * freed by qs_classical_result_free.) */
double qs_classical_nu(const qs_classical_result *result, int j);
double qs_classical_nu_err(const qs_classical_result *result, int j);
double qs_classical_beat(const qs_classical_result *result, int q);
double qs_classical_beat_err(const qs_classical_result *result, int q);

/* An ensemble grown in steps, e.g. until S_err reaches a target: trajectories 0..N−1 are
 * the same whatever the steps, and the result of an ensemble grown to N is bit for bit that
 * of qs_classical_run with N trajectories (options.trajectories is ignored here). */
typedef struct qs_classical_ensemble qs_classical_ensemble;
int qs_classical_ensemble_create(const qs_model *model, const qs_classical_options *options,
                                 qs_classical_ensemble **ensemble, qs_error *err);
/* Run trajectories up to `trajectories` in all (the model must stay alive and unchanged). */
int qs_classical_ensemble_grow(qs_classical_ensemble *ensemble, int trajectories, qs_error *err);
int qs_classical_ensemble_result(const qs_classical_ensemble *ensemble, qs_classical_result *result, qs_error *err);
void qs_classical_ensemble_free(qs_classical_ensemble **ensemble);

#endif
