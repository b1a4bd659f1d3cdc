/* qsync/spectrum.h — frequency entrainment and relaxation (MODEL.md §8): the power spectrum
 * S_j(ω) of every oscillator, its spectral lines, and the decay rates of the Liouvillian.
 *
 * Sectors. L maps the block of ρ with excitation difference k (ket minus bra) to itself;
 * k = 0 holds the steady state, a_j ρ_ss lies in k = −1. The spectrum is
 *     S_j(ω) = 2 Re Tr[a_j† (iω − L)^{−1} (a_j ρ_ss)]        (QuTiP's spectrum(H, w, c_ops, a†, a))
 * solved on sector −1 by a complex sparse LU planned once and refactorised per frequency
 * (only the diagonal shift iω changes). A free oscillator ω a†a peaks at +ω.
 *
 * Spectral lines. The eigenvalues λ_m of L on sector −1 with right and left eigenvectors
 * r_m, l_m (l_m · r_m = 1) give S_j(ω) = Σ_m 2 Re[w_jm / (iω − λ_m)], w_jm = Tr[a_j† r_m]
 * (l_m · a_j ρ_ss); line m sits at ν_m = Im λ_m with half-width −Re λ_m. Dense LAPACK (zgeev)
 * for sectors up to options.dense_max unknowns: the left eigenvectors are the rows of R^{−1}
 * (R the right eigenvectors), so l_m·r_m = 1 holds inside degenerate eigenspaces too, and
 * the lines' sum equals the direct solve to round-off. Larger sectors (lines_method "arpack"):
 * ARPACK shift-invert around σ = iν at every bare transition ν = ω_j − 2K_j(n−1) whose weight
 * n p_j(n) is at least 1e−6 of ⟨n_j⟩, max(6, 2 × oscillators) eigenvalues per shift, one
 * complex LU of L − σ per shift serving the right eigenvectors ((L − σ)^{−1}) and the left
 * ones (the adjoint (L − σ)^{−H}, same LU); each line's eigenvectors pass a relative residual
 * ‖Lr − λr‖/(‖L‖‖r‖) ≤ 1e−9 or the line is dropped (counted). The set is partial: the lines
 * nearest the shifts; qs_spectrum_lines_captured says how much of each ⟨n_j⟩ they carry.
 *
 * Relaxation. relaxation_rate: the smallest −Re λ over the non-zero eigenvalues of L on
 * sector 0 (how fast S and the populations settle); coherence_rate: the smallest −Re λ on
 * sector −1 (the narrowest line). Sectors up to dense_max unknowns: every eigenvalue (zgeev),
 * exact. Larger sectors: ARPACK shift-invert, sector 0 around σ = 1e−6 ‖L‖ (the eigenvalue
 * nearest 0 must be 0 with a small residual: the steady state, left out), sector −1 around
 * every bare transition iν; the rate is the smallest −Re λ among the eigenvalues found near
 * those shifts (residual-checked): the slowest of those, not a proof of the global minimum.
 *
 * Every function takes the model with its levels resolved (no levels = auto) and, for the
 * spectrum, the steady state solved for that model (qs_steady, qs_analysis). The results are
 * opaque handles read by getters returning plain numbers, for a C foreign function interface.
 */
#ifndef QSYNC_SPECTRUM_H
#define QSYNC_SPECTRUM_H

#include <complex.h>
#include <stddef.h>
#include "qsync/error.h"
#include "qsync/model.h"
#include "qsync/state.h"

/* Points of the default grid, and the most points of any grid (qsync spectrum --omega,
 * sweep --spectrum, the Python package). */
#define QS_SPECTRUM_DEFAULT_POINTS 2001
#define QS_SPECTRUM_MAX_POINTS 1000000
/* Relative residual above which a solve fails the run (default of residual_tol). */
#define QS_SPECTRUM_RESIDUAL_TOL 1e-10
/* Sectors up to this many unknowns get dense eigenvalues (LAPACK zgeev): the lines with their
 * weights, the relaxation rates, and the check that no coherence is undamped. */
#define QS_SPECTRUM_DENSE_MAX 2000

typedef struct {
    double omega_min, omega_max;  /* the grid's ends; both NaN (the default): a range covering
                                     every line of every oscillator (qs_spectrum_default_range) */
    int n_omega;                  /* points, ≥ 2 (default QS_SPECTRUM_DEFAULT_POINTS) */
    int lines;                    /* 1: also the spectral lines (default 0) */
    int threads;                  /* frequencies solved at once (0: OpenMP's default) */
    double memory_limit;          /* bytes the plan may use (0: what is available) */
    double residual_tol;          /* a solve above this relative residual fails the run
                                     (default QS_SPECTRUM_RESIDUAL_TOL) */
    int dense_max;                /* dense eigenvalues up to this sector size (QS_SPECTRUM_DENSE_MAX) */
    int solver;                   /* QS_SPECTRUM_AUTO (default), _DIRECT or _ITERATIVE */
    volatile int *stop;           /* if non-NULL: the run gives up (QS_EINPUT, "interrupted") once
                                     *stop is non-zero; polled between blocks of frequencies */
    void (*progress)(void *ctx, int done, int total);   /* NULL (default): none; else called
                                     (one thread at a time) as frequencies are solved */
    void *progress_ctx;
} qs_spectrum_options;

/* Solvers of iω − L. Direct: the complex LU (KLU), planned once, refactorised per frequency.
 * Iterative: GMRES right-preconditioned by the uncoupled (iω − L_0)^{−1}, which is applied
 * exactly by diagonalising each oscillator's population generator once (L_0 is a Kronecker
 * sum on each block of slots with the same per-oscillator excitation differences); it
 * converges in a few dozen iterations when the couplings are weak against the rates. Auto:
 * iterative when sector −1 has more than 2000 unknowns and the LU would hold over 40 times
 * L's entries (a ring of four oscillators), else direct. Both check every residual. */
enum { QS_SPECTRUM_AUTO = 0, QS_SPECTRUM_DIRECT = 1, QS_SPECTRUM_ITERATIVE = 2 };

typedef struct qs_spectrum qs_spectrum;

void qs_spectrum_defaults(qs_spectrum_options *options);

/* The default ω range for `model`: every bare transition ν = ω_j − 2K_j(n−1) of every
 * oscillator and level, widened by a few of the largest half-widths, and the coupling.
 * QS_EINPUT when that widening is below 1e3 ε of the largest |ν| (the lines' widths are not
 * representable beside their frequencies: give the grid). */
int qs_spectrum_default_range(const qs_model *model, double *omega_min, double *omega_max, qs_error *err);

/* Whether A:B:N is a grid: A, B, B − A finite, A < B, 2 ≤ N ≤ QS_SPECTRUM_MAX_POINTS and
 * the step (B − A)/(N − 1) resolvable at A and B (every point distinct). QS_OK or QS_EINPUT. */
int qs_spectrum_check_grid(double omega_min, double omega_max, int n_omega, qs_error *err);

/* The spectra of every oscillator of `model` in its steady state `state` on the grid of the
 * options (NULL: defaults). QS_ENUMERIC when iω − L is singular on sector −1 (a coherence
 * that never decays, e.g. γ = 0) or a solve's residual is not small. */
int qs_spectrum_run(const qs_model *model, const qs_state *state, const qs_spectrum_options *options,
                    qs_spectrum **result, qs_error *err);
void qs_spectrum_free(qs_spectrum **result);

int qs_spectrum_size(const qs_spectrum *s);             /* oscillators */
int qs_spectrum_points(const qs_spectrum *s);           /* ω points */
const double *qs_spectrum_omega(const qs_spectrum *s);  /* the grid */
const double *qs_spectrum_values(const qs_spectrum *s, int j);   /* S_j at every ω */
/* The global maximum of S_j, refined between grid points (not grid-limited), and that peak's
 * full width at half its height: the half-height crossings bracketed outward from the refined
 * peak and root-found on fresh solves, so > 0 even for a line narrower than the grid spacing;
 * NaN when the half height is not reached inside the grid. All three NaN when S_j ≡ 0
 * (⟨n_j⟩ = 0: nothing to peak). */
double qs_spectrum_peak_frequency(const qs_spectrum *s, int j);
double qs_spectrum_peak_height(const qs_spectrum *s, int j);
double qs_spectrum_fwhm(const qs_spectrum *s, int j);
/* ∫ S_j dω/2π over the grid's range, and ⟨n_j⟩ it tends to over the whole line. */
double qs_spectrum_sum_rule(const qs_spectrum *s, int j);
double qs_spectrum_mean_n(const qs_spectrum *s, int j);
/* What to distrust in oscillator j's peak, width and sum rule, "" when nothing: S_j ≡ 0, the
 * peak at an end of the grid, a grid spacing above half the FWHM (the line not resolved), no
 * FWHM inside the grid, a sum rule off ⟨n_j⟩ by more than QS_SPECTRUM_SUM_RULE_TOL. One
 * note a line (separated by '\n'). */
#define QS_SPECTRUM_SUM_RULE_TOL 0.05
const char *qs_spectrum_warning(const qs_spectrum *s, int j);
/* The largest relative residual ‖(iω − L)x − b‖∞ / (‖iω − L‖∞ ‖x‖∞) over the solves. */
double qs_spectrum_residual(const qs_spectrum *s);
/* Dimension of sector −1, and how the lines were found ("dense", "arpack"; "" without). */
size_t qs_spectrum_sector_dimension(const qs_spectrum *s);
const char *qs_spectrum_lines_method(const qs_spectrum *s);
/* "direct" or "iterative": how iω − L was solved. */
const char *qs_spectrum_solver(const qs_spectrum *s);

/* Lines (with options.lines): count, then line m's frequency Im λ_m, half-width −Re λ_m and
 * weights w_jm of every oscillator j (written, qs_spectrum_size entries), ordered by
 * frequency. */
int qs_spectrum_line_count(const qs_spectrum *s);
int qs_spectrum_line(const qs_spectrum *s, int m, double *frequency, double *half_width, double complex *weights);
/* Σ_m Re w_jm / ⟨n_j⟩ over the lines found: 1 when they carry all of S_j's weight (dense:
 * 1 to round-off; ARPACK: the fraction of the sum rule the lines near the shifts carry). */
double qs_spectrum_lines_captured(const qs_spectrum *s, int j);
/* ARPACK: eigenpairs found but left out (residual above 1e−9, or right and left vectors of a
 * cluster not paired), and the largest relative residual ‖Lr − λr‖/(‖L‖‖r‖) of a line kept
 * (0 for dense lines). */
int qs_spectrum_lines_dropped(const qs_spectrum *s);
double qs_spectrum_lines_residual(const qs_spectrum *s);
/* Σ_m over the lines of S_j at ω: the spectrum rebuilt from its lines. */
double qs_spectrum_from_lines(const qs_spectrum *s, int j, double omega);

/* relaxation_rate (sector 0) and coherence_rate (sector −1) of `model`, either pointer may be
 * NULL (that sector is then not computed). Dense eigenvalues (zgeev) of L on the sector, for
 * sectors up to QS_SPECTRUM_DENSE_MAX unknowns (options.dense_max), exact; larger sectors by
 * ARPACK shift-invert (see Relaxation above: the slowest eigenvalue near the shifts). On
 * sector 0 the eigenvalue nearest 0 is the steady state's and is left out; the model's levels
 * must be resolved. ARPACK keeps state inside a run: do not run it from two threads at once. A rate within
 * 64 ε ‖L‖ of zero is not resolved by the eigenvalues (their last bits follow round-off): NaN;
 * one below −64 ε ‖L‖ (a growing mode) is QS_ENUMERIC. */
int qs_relaxation_rates(const qs_model *model, double *relaxation_rate, double *coherence_rate, qs_error *err);
/* The same with options. */
typedef struct {
    int dense_max;                /* dense eigenvalues up to this sector size (QS_SPECTRUM_DENSE_MAX) */
    double memory_limit;          /* bytes the dense matrices may use (0: no limit) */
    int dense_only;               /* 1: sectors above dense_max refused (QS_ETOOBIG); 0 (default): ARPACK */
} qs_relaxation_options;
void qs_relaxation_defaults(qs_relaxation_options *options);
int qs_relaxation_rates_run(const qs_model *model, const qs_relaxation_options *options, double *relaxation_rate,
                            double *coherence_rate, qs_error *err);

#endif
