/* qsync/perturb.h — first-order perturbation theory in the coupling (MODEL.md §1).
 *
 * For a pair (a, b) with uncoupled populations p (of a) and q (of b):
 * c_1 = Σ_{n≥1, m≤L_b−2} −i C_ab √(n(m+1)) (p_{n−1} q_{m+1} − p_n q_m) / (Γ_nm + i Δ_nm),
 * Δ_nm = [ω_a − 2K_a(n−1)] − [ω_b − 2K_b m],  Γ_nm = ½[Γ_a(n) + Γ_a(n−1) + Γ_b(m) + Γ_b(m+1)],
 * Γ(k) the total out-rate of level k. S ≈ 2|c_1|, phi_max ≈ arg c_1.
 * Resonances Δ_nm = 0 are Eq. 7.
 */
#ifndef QSYNC_PERTURB_H
#define QSYNC_PERTURB_H

#include <complex.h>
#include "qsync/model.h"

/* First-order c_1 of the pair (a, b) of `model` (levels resolved), using only C_ab.
 * Writes *c1; S = 2|c1|. */
int qs_perturb_pair(const qs_model *model, int a, int b, double complex *c1, qs_error *err);

#endif
