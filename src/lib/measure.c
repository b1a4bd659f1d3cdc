/* measure.c — reading a sector state: populations, and the maximum of the phase
 * distribution behind S (Eq. 6, MODEL.md §2); the reduction of a pair and the observables
 * are in observables.c.
 *
 * The maximum of the trigonometric polynomial
 * s(φ) = 2 Re Σ c_l e^{−ilφ} is bracketed on a grid of 16 points per order and refined by
 * safeguarded Newton steps on s′ from every grid maximum.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

int qs_state_size(const qs_state *state) { return state->basis->n; }
int qs_state_levels(const qs_state *state, int j) { return state->basis->levels[j]; }

double qs_state_population(const qs_state *state, int j, int n)
{
    const qs_basis *b = state->basis;
    double p = 0.0;
    for (size_t s = 0; s < b->dim; s++)
        if (qs_basis_occ(b, s, j) == n) p += creal(state->rho[qs_basis_sector_index(b, s, s)]);
    return p;
}

/* s(φ) and its first two derivatives */
static void phase_poly(int lmax, const double complex *c, double phi, double *f, double *f1, double *f2)
{
    double complex z = cexp(-I * phi), zl = 1.0;
    double s0 = 0, s1 = 0, s2 = 0;
    for (int l = 1; l <= lmax; l++) {
        zl *= z;
        double complex term = c[l] * zl;
        s0 += creal(term);
        s1 += l * cimag(term);        /* d/dφ Re(c e^{−ilφ}) = l Im(c e^{−ilφ}) */
        s2 -= (double)l * l * creal(term);
    }
    *f = 2 * s0;
    if (f1) *f1 = 2 * s1;
    if (f2) *f2 = 2 * s2;
}

double qs_phase_density(int lmax, const double complex *c, double phi)
{
    double f;
    phase_poly(lmax, c, phi, &f, NULL, NULL);
    return (1.0 + f) / (2 * M_PI);
}

/* Refine a grid maximum at x0 inside [x0 − h, x0 + h]: Newton on s′ kept in a bracket. */
static double refine(int lmax, const double complex *c, double x0, double h)
{
    double lo = x0 - h, hi = x0 + h, flo, dlo, dhi, f, d, d2;
    phase_poly(lmax, c, lo, &flo, &dlo, NULL);
    phase_poly(lmax, c, hi, &f, &dhi, NULL);
    if (!(dlo > 0 && dhi < 0)) return x0;          /* no sign change: keep the grid point */
    double x = x0;
    for (int it = 0; it < 200; it++) {
        phase_poly(lmax, c, x, &f, &d, &d2);
        if (d > 0) lo = x; else hi = x;
        double next = d2 < 0 ? x - d / d2 : 0.5 * (lo + hi);
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (fabs(next - x) < 1e-15 * (1.0 + fabs(x)) || hi - lo < 1e-15) { x = next; break; }
        x = next;
    }
    return x;
}

void qs_phase_max(int lmax, const double complex *c, double *S, double *phi_max)
{
    double scale = 0;
    for (int l = 1; l <= lmax; l++) scale += cabs(c[l]);
    if (lmax < 1 || scale == 0) { *S = 0; *phi_max = 0; return; }
    int M = 16 * (lmax + 1);
    if (M < 64) M = 64;
    double h = 2 * M_PI / M, best = -INFINITY, best_x = 0;
    double fprev, fcur, fnext;
    phase_poly(lmax, c, -h, &fprev, NULL, NULL);
    phase_poly(lmax, c, 0, &fcur, NULL, NULL);
    for (int i = 0; i < M; i++) {
        phase_poly(lmax, c, (i + 1) * h, &fnext, NULL, NULL);
        if (fcur >= fprev && fcur >= fnext) {
            double x = refine(lmax, c, i * h, h), f;
            phase_poly(lmax, c, x, &f, NULL, NULL);
            if (f > best) { best = f; best_x = x; }
        }
        fprev = fcur;
        fcur = fnext;
    }
    *S = best;
    *phi_max = qs_phase_wrap(best_x, 12);       /* the maximiser is good to about 1e-12 */
}

double qs_phase_wrap(double phi, int digits)
{
    if (!isfinite(phi)) return phi;
    phi = fmod(phi, 2 * M_PI);
    if (phi < 0) phi += 2 * M_PI;              /* may round up to 2π itself */
    if (digits > 17) digits = 17;
    if (digits < 0) digits = 0;
    char p[40], full[40];
    snprintf(p, sizeof p, "%.*f", digits, phi);
    snprintf(full, sizeof full, "%.*f", digits, 2 * M_PI);
    return phi >= 2 * M_PI || strcmp(p, full) == 0 ? 0.0 : phi;
}
