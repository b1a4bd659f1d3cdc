/* qsync/state.h — a density matrix in the zero excitation-difference sector, and what
 * is read from it: populations, reduced pair states, and the synchronization measure.
 * Every named observable, the reduced and full states as matrices, and P(φ), P_Q(φ) are
 * in observables.h.
 *
 * Synchronization measure (Eq. 6, MODEL.md §2): for a pair (a, b) and φ = φ_a − φ_b,
 * P(φ) = (1/2π)[1 + 2 Re Σ_{l≥1} c_l e^{−ilφ}],  c_l = Σ ρ_{(n_a,n_b),(n_a−l,n_b+l)},
 * S = 2π max P − 1. The maximum is found to round-off (qs_phase_max).
 */
#ifndef QSYNC_STATE_H
#define QSYNC_STATE_H

#include <complex.h>
#include "qsync/error.h"

typedef struct qs_state qs_state;

int qs_state_size(const qs_state *state);             /* oscillators */
int qs_state_levels(const qs_state *state, int j);    /* Fock levels of oscillator j */

/* Population of Fock level n of oscillator j. */
double qs_state_population(const qs_state *state, int j, int n);

/* Coefficients c_0..c_lmax (written, lmax+1 entries) for the pair (a, b), a ≠ b;
 * lmax = min(levels_a, levels_b) − 1 is the largest non-trivial order. */
int qs_state_phase_coefficients(const qs_state *state, int a, int b, int lmax,
                                double complex *c);

/* Smallest eigenvalue of the reduced density matrix of the pair (a, b). */
int qs_state_pair_min_eigenvalue(const qs_state *state, int a, int b, double *lambda,
                                 qs_error *err);

/* Maximum of s(φ) = 2 Re Σ_{l=1..lmax} c_l e^{−ilφ} over φ ∈ [0, 2π): writes S and the
 * maximiser phi_max. c[0] is ignored. Accurate to ~1e−14 relative to Σ|c_l|. */
void qs_phase_max(int lmax, const double complex *c, double *S, double *phi_max);

/* φ reduced to [0, 2π) so that it also reads below 2π when printed with `digits` decimals
 * ("%.*f"): a value that would print as 2π is the same point of the circle as 0, and is 0.
 * qs_phase_max's phi_max is wrapped with 12 decimals (its accuracy); printers of fewer
 * decimals wrap again with theirs. NaN and ±inf are returned as they are. */
double qs_phase_wrap(double phi, int digits);

/* P(φ) = (1/2π)(1 + s(φ)) for the same coefficients. */
double qs_phase_density(int lmax, const double complex *c, double phi);

#endif
