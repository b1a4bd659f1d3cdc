/* qsync/evolve.h — quench dynamics (MODEL.md §8): ρ(t) = e^{Lt} ρ(0) on the zero
 * excitation-difference sector, sampled on a grid of times, with every observable of the
 * table (observables.h) at every sample.
 *
 * ρ(0) is the product of each oscillator's uncoupled steady state (qs_osc_populations; the
 * default) or a product of Fock states |N_1, N_2, …⟩; the couplings act from t = 0. Both are
 * diagonal, so ρ(t) stays in the sector for all t.
 *
 * Real unknowns. ρ is Hermitian and L maps Hermitian matrices to Hermitian matrices, so slot
 * (s, t) holds Re ρ_st and slot (t, s) holds Im ρ_st (s < t), as in the steady solver; L becomes
 * a real sparse matrix with about twice the entries of the complex one (half the unknowns of
 * [Re; Im] pairs).
 *
 * Integrators. QS_EVOLVE_KRYLOV (default): Sidje's exponential Krylov method (Expokit expv):
 * each step maps ρ to e^{τL}ρ through a Krylov space of dimension krylov_dim, τ chosen so that
 * the estimated local error (2-norm of ρ) is at most atol per unit time; only products with L.
 * QS_EVOLVE_BDF: SUNDIALS CVODE, BDF (orders 1–5) with local error control (weights
 * rtol |ρ_i| + atol), Newton iterations with the exact Jacobian L factorised by KLU; it must
 * follow every rotating coherence and refactorise as its step changes (BENCHMARKS.md: slower on
 * every case measured, far slower where KLU's LU fills), and is kept as an independent
 * cross-check. Both give ρ at t_k = kT/(N−1), k = 0 … N−1 (Krylov: by stepping to each sample;
 * BDF: by CVODE's interpolant, the last sample at T exactly).
 *
 * Checks at every sample, each a failure (QS_ENUMERIC, naming the check and the time t_k) when it
 * exceeds the tolerance max(QS_EVOLVE_CHECK_MIN, QS_EVOLVE_CHECK_FACTOR · ε(t_k)), ε the error
 * bound of the integrator at t_k: Krylov, the sum of its local error estimates up to t_k (each
 * at most 1.2 τ atol, so ε ≤ 1.2 atol t_k); BDF, rtol + atol (its local tolerances: BDF has no
 * global bound, so the check is tight and a failure asks for tighter ones):
 *   - the trace error |Tr ρ − 1| (L preserves the trace; the integrators do up to their error);
 *   - the Hermiticity error max |ρ_st − conj ρ_ts| of the state handed to the observables (zero
 *     by construction of the real unknowns; checked);
 *   - the smallest eigenvalue of every pair's reduced state, ≥ −tolerance (positivity).
 * The worst of each is kept. Refused before any work (QS_EINPUT): rtol or atol outside
 * [QS_EVOLVE_TOL_MIN, QS_EVOLVE_TOL_MAX); for Krylov, atol · T > QS_EVOLVE_GLOBAL_MAX (the bound
 * on the error of ρ(T) must be ≪ 1, else the run could end anywhere: ε(T) ≤ 1.2 atol T ≤ 1.2e-3
 * admitted); and T/(samples − 1) below DBL_MIN (sample times not representable) or T not finite.
 *
 * The result is an opaque handle read by getters returning plain numbers and pointers into
 * the handle (valid until qs_evolve_free), for a C foreign function interface.
 */
#ifndef QSYNC_EVOLVE_H
#define QSYNC_EVOLVE_H

#include <stddef.h>
#include "qsync/error.h"
#include "qsync/model.h"
#include "qsync/state.h"

#define QS_EVOLVE_RTOL_DEFAULT 1e-10
#define QS_EVOLVE_ATOL_DEFAULT 1e-12
#define QS_EVOLVE_MAX_STEPS_DEFAULT 10000000L
#define QS_EVOLVE_MAX_SAMPLES 10000000
#define QS_EVOLVE_KRYLOV_DIM_DEFAULT 30
#define QS_EVOLVE_TOL_MIN 1e-16    /* the smallest rtol or atol: the round-off of a trace-1 state */
#define QS_EVOLVE_TOL_MAX 1e-2     /* rtol and atol lie below: a looser tolerance is no accuracy request */
#define QS_EVOLVE_GLOBAL_MAX 1e-3  /* Krylov: atol · T (its bound on the error of ρ(T)) at most this */
#define QS_EVOLVE_CHECK_MIN 1e-8   /* the checks' tolerance: max(CHECK_MIN, CHECK_FACTOR · error bound) */
#define QS_EVOLVE_CHECK_FACTOR 100.0

/* Integrators (see the top of this file). */
enum { QS_EVOLVE_KRYLOV = 0, QS_EVOLVE_BDF = 1 };

/* Called after each sample k (0 … samples−1) is recorded: the time reached, the end time and
 * the steps taken so far. */
typedef void (*qs_evolve_progress)(void *ctx, int k, double t, double T, long steps);

typedef struct {
    int method;              /* QS_EVOLVE_KRYLOV (default) or QS_EVOLVE_BDF */
    double rtol;             /* BDF: relative tolerance (default QS_EVOLVE_RTOL_DEFAULT) */
    double atol;             /* BDF: absolute tolerance on every real unknown; Krylov: the local error
                                of ρ (2-norm) allowed per unit time. Tr ρ = 1 (QS_EVOLVE_ATOL_DEFAULT) */
    int krylov_dim;          /* Krylov: dimension m of the Krylov spaces, 4..200 (QS_EVOLVE_KRYLOV_DIM_DEFAULT) */
    long max_steps;          /* steps in all before giving up (QS_ENUMERIC; default QS_EVOLVE_MAX_STEPS_DEFAULT) */
    const int *fock;         /* NULL (default): ρ(0) the uncoupled product; else N_j per oscillator
                                (read; 0 ≤ N_j < levels_j): ρ(0) = |N⟩⟨N| */
    int n_which;             /* observables recorded at every sample, indices into the table of */
    const int *which;        /* observables.h (read); n_which = 0 (default): S and mean_n */
    double memory_limit;     /* bytes the plan may use; 0 (default): the memory available now */
    volatile int *stop;      /* if non-NULL: the run gives up (QS_EINPUT, "interrupted") once *stop
                                is non-zero; it is polled between steps */
    qs_evolve_progress progress;  /* NULL (default): none */
    void *progress_ctx;
} qs_evolve_options;

typedef struct qs_evolve qs_evolve;

void qs_evolve_defaults(qs_evolve_options *options);

/* Evolve `model` (read; levels resolved: QS_EINPUT for levels = auto) from t = 0 to T > 0,
 * recording `samples` ≥ 2 samples at t_k = kT/(samples−1). options NULL: defaults. On success
 * *result is a new handle; on an error it is NULL and err says why: QS_EINPUT (bad T, samples,
 * Fock state, observable index, tolerances (above), or interrupted), QS_ETOOBIG (the plan exceeds the memory limit;
 * the message gives the amount), QS_ENOMEM, QS_ENUMERIC (the integrator failed, or a check
 * failed at a sample: above). */
int qs_evolve_run(const qs_model *model, double T, int samples, const qs_evolve_options *options,
                  qs_evolve **result, qs_error *err);

void qs_evolve_free(qs_evolve **result);

/* The model evolved (a copy owned by the handle). */
const qs_model *qs_evolve_model(const qs_evolve *e);
/* Samples, and their times t_k (samples values). */
int qs_evolve_samples(const qs_evolve *e);
const double *qs_evolve_times(const qs_evolve *e);

/* The observables recorded (indices into the table) and their count. */
int qs_evolve_observed(const qs_evolve *e, const int **which);
/* Values per sample: qs_observe_width of the observables recorded. */
size_t qs_evolve_width(const qs_evolve *e);
/* Value v (0 … width−1, in the layout of qs_state_observe) at every sample: samples values. */
const double *qs_evolve_value(const qs_evolve *e, size_t v);
/* One observable by name at every sample: `index` is the oscillator (per-oscillator), the pair
 * (layout of observables.h: a < b, a slowest) or, for populations, Σ_{i<j} levels_i + n. NULL
 * when that observable was not recorded or index is out of range. */
const double *qs_evolve_series(const qs_evolve *e, const char *name, int index);

/* Checks at every sample (samples values each) and their worst over the run. */
const double *qs_evolve_trace_errors(const qs_evolve *e);
const double *qs_evolve_hermiticity_errors(const qs_evolve *e);
const double *qs_evolve_min_eigenvalues(const qs_evolve *e);   /* smallest over the pairs (NaN: one oscillator) */
double qs_evolve_trace_error_max(const qs_evolve *e);
double qs_evolve_hermiticity_error_max(const qs_evolve *e);
double qs_evolve_min_eigenvalue(const qs_evolve *e);
/* Steps taken up to each sample (samples values, cumulative), and in all. */
const long *qs_evolve_steps(const qs_evolve *e);
long qs_evolve_total_steps(const qs_evolve *e);
/* Products with L (Krylov: the Arnoldi steps, BDF: right-hand sides), KLU factorisations (BDF;
 * 0 for Krylov), rejected steps (Krylov) or error-test failures (BDF). */
long qs_evolve_rhs_evaluations(const qs_evolve *e);
long qs_evolve_factorizations(const qs_evolve *e);
long qs_evolve_error_test_failures(const qs_evolve *e);
/* The tolerances used. */
double qs_evolve_rtol(const qs_evolve *e);
double qs_evolve_atol(const qs_evolve *e);
/* Sector dimension (real unknowns), entries of the real Jacobian, bytes planned, seconds. */
size_t qs_evolve_dimension(const qs_evolve *e);
size_t qs_evolve_nnz(const qs_evolve *e);
double qs_evolve_memory_planned(const qs_evolve *e);
double qs_evolve_seconds(const qs_evolve *e);
/* Krylov: the sum of the local error estimates (a bound on the 2-norm error of ρ(T) as
 * estimated; NaN for BDF). The integrator used: "krylov" or "bdf". */
double qs_evolve_error_estimate(const qs_evolve *e);
const char *qs_evolve_method(const qs_evolve *e);
/* The state at the last sample t = T (owned by the handle). */
const qs_state *qs_evolve_state(const qs_evolve *e);

#endif
