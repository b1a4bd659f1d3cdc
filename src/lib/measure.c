/* measure.c — reading a sector state: populations, reduced pair states, and the
 * synchronization measure S (Eq. 6, MODEL.md §2).
 *
 * A pair (a, b) is reduced by summing ρ_st over the other oscillators with equal ket and
 * bra occupations; since the sector conserves total excitations, the pair's reduced
 * matrix is block diagonal in n_a + n_b. The maximum of the trigonometric polynomial
 * s(φ) = 2 Re Σ c_l e^{−ilφ} is bracketed on a grid of 16 points per order and refined by
 * safeguarded Newton steps on s′ from every grid maximum.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lapacke.h>
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

/* ket s and bra t agree on every oscillator but a and b */
static int others_equal(const qs_basis *b, size_t s, size_t t, int a, int bb)
{
    size_t rs = s - (size_t)qs_basis_occ(b, s, a) * b->stride[a] - (size_t)qs_basis_occ(b, s, bb) * b->stride[bb];
    size_t rt = t - (size_t)qs_basis_occ(b, t, a) * b->stride[a] - (size_t)qs_basis_occ(b, t, bb) * b->stride[bb];
    return rs == rt;
}

/* Visit every element ρ_st of the sector whose ket and bra agree on all oscillators but a
 * and b: the elements that the reduced state of the pair sums. */
typedef void (*pair_visit)(void *ctx, int sa, int sb, int ta, int tb, double complex v);

static void for_pair_elements(const qs_state *state, int a, int b, pair_visit visit, void *ctx)
{
    const qs_basis *B = state->basis;
    for (int N = 0; N <= B->max_total; N++) {
        size_t d = B->block_size[N];
        const size_t *states = B->block_states[N];
        const double complex *blk = state->rho + B->block_offset[N];
        for (size_t i = 0; i < d; i++)
            for (size_t k = 0; k < d; k++) {
                size_t s = states[i], t = states[k];
                if (others_equal(B, s, t, a, b))
                    visit(ctx, qs_basis_occ(B, s, a), qs_basis_occ(B, s, b), qs_basis_occ(B, t, a), qs_basis_occ(B, t, b),
                          blk[i * d + k]);
            }
    }
}

typedef struct {
    int lmax;
    double complex *c;
} coeff_ctx;

static void add_coefficient(void *ctx, int sa, int sb, int ta, int tb, double complex v)
{
    coeff_ctx *cc = ctx;
    int l = sa - ta;                                  /* ket (n_a, n_b), bra (n_a − l, n_b + l) */
    if (l >= 0 && l <= cc->lmax && tb - sb == l) cc->c[l] += v;
}

int qs_state_phase_coefficients(const qs_state *state, int a, int b, int lmax, double complex *c)
{
    const qs_basis *B = state->basis;
    if (a == b || a < 0 || b < 0 || a >= B->n || b >= B->n) return QS_EINPUT;
    for (int l = 0; l <= lmax; l++) c[l] = 0.0;
    coeff_ctx cc = {lmax, c};
    for_pair_elements(state, a, b, add_coefficient, &cc);
    return QS_OK;
}

/* The reduced state of pair (a, b), block diagonal in t = n_a + n_b: block t holds
 * ρ_{(n_a, t−n_a),(m_a, t−m_a)} for n_a, m_a from lo[t] to lo[t] + dim[t] − 1, row-major. */
typedef struct {
    int T;                 /* largest total */
    int *lo, *dim;         /* [T+1] */
    size_t *off;           /* [T+2] offsets into m */
    double complex *m;
} pair_blocks;

static void pair_blocks_free(pair_blocks *pb)
{
    free(pb->lo);
    free(pb->dim);
    free(pb->off);
    free(pb->m);
}

static void add_block_element(void *ctx, int sa, int sb, int ta, int tb, double complex v)
{
    pair_blocks *pb = ctx;
    int t = sa + sb;
    (void)tb;
    pb->m[pb->off[t] + (size_t)(sa - pb->lo[t]) * (size_t)pb->dim[t] + (size_t)(ta - pb->lo[t])] += v;
}

static int pair_blocks_build(const qs_state *state, int a, int b, pair_blocks *pb)
{
    const qs_basis *B = state->basis;
    int La = B->levels[a], Lb = B->levels[b], T = La + Lb - 2;
    pb->T = T;
    pb->lo = malloc(((size_t)T + 1) * sizeof *pb->lo);
    pb->dim = malloc(((size_t)T + 1) * sizeof *pb->dim);
    pb->off = calloc((size_t)T + 2, sizeof *pb->off);
    pb->m = NULL;
    if (!pb->lo || !pb->dim || !pb->off) { pair_blocks_free(pb); return QS_ENOMEM; }
    for (int t = 0; t <= T; t++) {
        pb->lo[t] = t - (Lb - 1) > 0 ? t - (Lb - 1) : 0;
        int hi = t < La - 1 ? t : La - 1;
        pb->dim[t] = hi - pb->lo[t] + 1;
        pb->off[t + 1] = pb->off[t] + (size_t)pb->dim[t] * (size_t)pb->dim[t];
    }
    if (!(pb->m = calloc(pb->off[T + 1], sizeof *pb->m))) { pair_blocks_free(pb); return QS_ENOMEM; }
    for_pair_elements(state, a, b, add_block_element, pb);
    return QS_OK;
}

int qs_state_pair_min_eigenvalue(const qs_state *state, int a, int b, double *lambda, qs_error *err)
{
    pair_blocks pb;
    if (pair_blocks_build(state, a, b, &pb) != QS_OK) return qs_error_set(err, QS_ENOMEM, "out of memory");
    int dmax = 0;
    for (int t = 0; t <= pb.T; t++) dmax = pb.dim[t] > dmax ? pb.dim[t] : dmax;
    double *w = malloc((size_t)dmax * sizeof *w), least = INFINITY;
    int status = w ? QS_OK : qs_error_set(err, QS_ENOMEM, "out of memory");
    for (int t = 0; t <= pb.T && status == QS_OK; t++) {
        lapack_int info = LAPACKE_zheev(LAPACK_ROW_MAJOR, 'N', 'U', pb.dim[t], (lapack_complex_double *)(pb.m + pb.off[t]),
                                        pb.dim[t], w);
        if (info != 0) status = qs_error_set(err, QS_ENUMERIC, "eigenvalue solver failed (LAPACK info %d)", (int)info);
        else if (w[0] < least) least = w[0];
    }
    free(w);
    pair_blocks_free(&pb);
    if (status == QS_OK) *lambda = least;
    return status;
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
