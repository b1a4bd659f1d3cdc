/* observables.c — the table of named observables of a steady state (MODEL.md §7), the
 * reduced states of an oscillator and of a pair, the full ρ, and P(φ), P_Q(φ).
 *
 * Structure used throughout: the sector state is block diagonal in the total excitation
 * number, so
 *  - the reduced state of one oscillator is diagonal (its populations);
 *  - the reduced state ρ_ab of a pair is block diagonal in t = n_a + n_b (pair_blocks);
 *  - its partial transpose on b is block diagonal in d = n_a − n_b.
 * A pair is reduced once for all the pair observables asked: one pass over the sector
 * (for_pair_elements) sums the phase coefficients c_l and, when an observable needs them,
 * the blocks of ρ_ab. S and phi_max need only the c_l, so they never build blocks; the
 * c_l are summed in the same order in both cases, so S is the same to the last bit
 * whatever else is asked.
 *
 * Conventions: entropies in nats (−Σ λ ln λ over the eigenvalues λ > 0 only: round-off
 * leaves eigenvalues of order −1e−17, which are dropped; the mutual information, ≥ 0 by
 * subadditivity, reads 0 where round-off of the three entropies would make it −1e−16);
 * negativity as the sum of the partial transpose's negative eigenvalues (need_pt);
 * log_negativity = log₂(1 + 2 negativity) = log₂ ‖ρ^{T_b}‖₁ in bits;
 * correlation = |⟨a_a† a_b⟩|/√(⟨n_a⟩⟨n_b⟩) is NaN when ⟨n_a⟩⟨n_b⟩ = 0; correlation_phase
 * = arg ⟨a_a† a_b⟩ in [0, 2π) (0 when ⟨a_a† a_b⟩ = 0).
 *
 * Dynamical observables (needs_model) read the Liouvillian through spectrum.h: the spectra of
 * every oscillator on the default range are run once for peak_frequency and fwhm together,
 * and qs_relaxation_rates once for the rates asked (a sector not asked for is not computed).
 */
#define _DEFAULT_SOURCE   /* lgamma_r: lgamma writes the global signgam, a race between sweep threads */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <lapacke.h>
#include "internal.h"
#include "qsync/spectrum.h"

/* ---- visiting the elements a pair's reduced state sums ---- */

/* ket s and bra t agree on every oscillator but a and b */
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
    memset(pb, 0, sizeof *pb);
}

static int pair_blocks_alloc(int La, int Lb, pair_blocks *pb)
{
    int T = La + Lb - 2;
    memset(pb, 0, sizeof *pb);
    pb->T = T;
    pb->lo = malloc(((size_t)T + 1) * sizeof *pb->lo);
    pb->dim = malloc(((size_t)T + 1) * sizeof *pb->dim);
    pb->off = calloc((size_t)T + 2, sizeof *pb->off);
    if (!pb->lo || !pb->dim || !pb->off) { pair_blocks_free(pb); return QS_ENOMEM; }
    for (int t = 0; t <= T; t++) {
        pb->lo[t] = t - (Lb - 1) > 0 ? t - (Lb - 1) : 0;
        int hi = t < La - 1 ? t : La - 1;
        pb->dim[t] = hi - pb->lo[t] + 1;
        pb->off[t + 1] = pb->off[t] + (size_t)pb->dim[t] * (size_t)pb->dim[t];
    }
    if (!(pb->m = calloc(pb->off[T + 1], sizeof *pb->m))) { pair_blocks_free(pb); return QS_ENOMEM; }
    return QS_OK;
}

/* Element ρ_{(n_a, t−n_a),(m_a, t−m_a)} of ρ_ab (0 outside the ranges). */
static double complex pair_element(const pair_blocks *pb, int t, int na, int ma)
{
    if (t < 0 || t > pb->T) return 0;
    int i = na - pb->lo[t], k = ma - pb->lo[t], d = pb->dim[t];
    if (i < 0 || k < 0 || i >= d || k >= d) return 0;
    return pb->m[pb->off[t] + (size_t)i * (size_t)d + (size_t)k];
}

/* The phase coefficients c_0..c_lmax (when c) and the blocks (when pb), summed in the order
 * of the sector. Only the elements whose bra and ket agree outside a and b contribute: for
 * each ket s those are t = s + δ (e_a − e_b), visited in ascending t, so the work is about
 * the number of states times the levels, not the sector's size. */
static void reduce_pair(const qs_state *state, int a, int b, int lmax, double complex *c, pair_blocks *pb)
{
    const qs_basis *B = state->basis;
    if (c) for (int l = 0; l <= lmax; l++) c[l] = 0.0;
    int La = B->levels[a], Lb = B->levels[b];
    /* t = s + δ·step ascends with δ when a's stride is the larger one */
    long long step = (long long)B->stride[a] - (long long)B->stride[b];
    int up = step > 0;
    for (int N = 0; N <= B->max_total; N++) {
        size_t d = B->block_size[N];
        const size_t *states = B->block_states[N];
        const double complex *blk = state->rho + B->block_offset[N];
        for (size_t i = 0; i < d; i++) {
            size_t s = states[i];
            int sa = qs_basis_occ(B, s, a), sb = qs_basis_occ(B, s, b);
            /* δ from lo to hi keeps t_a = s_a + δ in [0, La) and t_b = s_b − δ in [0, Lb) */
            int lo = -sa > sb - (Lb - 1) ? -sa : sb - (Lb - 1), hi = La - 1 - sa < sb ? La - 1 - sa : sb;
            for (int r = 0; r <= hi - lo; r++) {
                int delta = up ? lo + r : hi - r;
                size_t t = (size_t)((long long)s + delta * step);
                int ta = sa + delta, tb = sb - delta;
                double complex v = blk[i * d + B->pos[t]];
                int l = sa - ta;                       /* ket (n_a, n_b), bra (n_a − l, n_b + l) */
                if (c && l >= 0 && l <= lmax && tb - sb == l) c[l] += v;
                if (pb) {
                    int tt = sa + sb;
                    pb->m[pb->off[tt] + (size_t)(sa - pb->lo[tt]) * (size_t)pb->dim[tt] + (size_t)(ta - pb->lo[tt])] += v;
                }
            }
        }
    }
}

static int bad_pair(const qs_state *state, int a, int b)
{
    int n = state->basis->n;
    return a == b || a < 0 || b < 0 || a >= n || b >= n;
}

int qs_state_phase_coefficients(const qs_state *state, int a, int b, int lmax, double complex *c)
{
    if (bad_pair(state, a, b) || lmax < 0) return QS_EINPUT;
    reduce_pair(state, a, b, lmax, c, NULL);
    return QS_OK;
}

static int pair_blocks_build(const qs_state *state, int a, int b, pair_blocks *pb)
{
    int st = pair_blocks_alloc(state->basis->levels[a], state->basis->levels[b], pb);
    if (st == QS_OK) reduce_pair(state, a, b, 0, NULL, pb);
    return st;
}

/* Workspace of hermitian_eigenvalues for matrices up to dmax × dmax. */
typedef struct {
    int dmax;
    lapack_int lwork;
    double complex *work;
    double *rwork;
} eig_ws;

static int eig_ws_init(eig_ws *ws, int dmax)
{
    ws->dmax = dmax;
    ws->lwork = 33 * (dmax > 1 ? dmax : 1);          /* (block size + 1) × d: LAPACK's optimum for zhetrd */
    ws->work = malloc((size_t)ws->lwork * sizeof *ws->work);
    ws->rwork = malloc((size_t)(3 * (dmax > 1 ? dmax : 1)) * sizeof *ws->rwork);
    return ws->work && ws->rwork ? QS_OK : QS_ENOMEM;
}

static void eig_ws_free(eig_ws *ws)
{
    free(ws->work);
    free(ws->rwork);
    ws->work = NULL;
    ws->rwork = NULL;
}

/* Eigenvalues (ascending) of the Hermitian matrix h (d × d, row-major, destroyed) into w.
 * Read as column-major, h is its transpose, the complex conjugate of a Hermitian matrix,
 * with the same eigenvalues; so LAPACK works on it in place with no copy. */
static int hermitian_eigenvalues(int d, double complex *h, double *w, eig_ws *ws, qs_error *err)
{
    if (d == 0) return QS_OK;
    if (d == 1) { w[0] = creal(h[0]); return QS_OK; }
    lapack_int info = LAPACKE_zheev_work(LAPACK_COL_MAJOR, 'N', 'L', d, (lapack_complex_double *)h, d, w,
                                         (lapack_complex_double *)ws->work, ws->lwork, ws->rwork);
    if (info != 0) return qs_error_set(err, QS_ENUMERIC, "eigenvalue solver failed (LAPACK info %d)", (int)info);
    return QS_OK;
}

int qs_state_pair_min_eigenvalue(const qs_state *state, int a, int b, double *lambda, qs_error *err)
{
    if (bad_pair(state, a, b)) return qs_error_set(err, QS_EINPUT, "pair (%d, %d) is not a pair of the %d oscillators", a, b, state->basis->n);
    pair_blocks pb;
    if (pair_blocks_build(state, a, b, &pb) != QS_OK) return qs_error_set(err, QS_ENOMEM, "out of memory");
    int dmax = 0;
    for (int t = 0; t <= pb.T; t++) dmax = pb.dim[t] > dmax ? pb.dim[t] : dmax;
    double *w = malloc((size_t)dmax * sizeof *w), least = INFINITY;
    eig_ws ws;
    int status = w && eig_ws_init(&ws, dmax) == QS_OK ? QS_OK : qs_error_set(err, QS_ENOMEM, "out of memory");
    for (int t = 0; t <= pb.T && status == QS_OK; t++)
        if ((status = hermitian_eigenvalues(pb.dim[t], pb.m + pb.off[t], w, &ws, err)) == QS_OK && w[0] < least) least = w[0];
    eig_ws_free(&ws);
    free(w);
    pair_blocks_free(&pb);
    if (status == QS_OK) *lambda = least;
    return status;
}

/* ---- what the observables of one pair share, computed when first needed ---- */

enum { NEED_C = 1, NEED_BLOCKS = 2 };

typedef struct {
    const qs_state *state;
    int a, b, La, Lb, lmax;
    double complex *c;        /* [lmax+1] phase coefficients (NEED_C) */
    pair_blocks pb;           /* ρ_ab (NEED_BLOCKS) */
    int have_S, have_cq, have_ent, have_pt, have_corr;
    double S, phi;            /* S, phi_max */
    double complex *cq;       /* [lmax+1] Husimi coefficients */
    double S_Q, phi_Q;
    double S_a, S_b, S_ab;    /* entropies, nats */
    double pt_negative;       /* Σ |λ| over the negative eigenvalues λ of ρ_ab^{T_b} */
    double complex corr;      /* ⟨a_a† a_b⟩ */
    double na, nb;            /* ⟨n_a⟩, ⟨n_b⟩ */
    double *work;             /* eigenvalue workspace [La·Lb] */
    eig_ws ws;                /* LAPACK's workspace */
    double *Ga, *Gb;          /* G(n, m) of each oscillator, [La·La] and [Lb·Lb] */
    double complex *mat;      /* matrix workspace [min(La,Lb)²] */
} pair_ctx;

static void pair_ctx_free(pair_ctx *p)
{
    free(p->c);
    free(p->cq);
    free(p->work);
    free(p->mat);
    free(p->Ga);
    free(p->Gb);
    eig_ws_free(&p->ws);
    pair_blocks_free(&p->pb);
}

static int pair_ctx_init(pair_ctx *p, const qs_state *state, int a, int b, int needs, qs_error *err)
{
    memset(p, 0, sizeof *p);
    p->state = state;
    p->a = a;
    p->b = b;
    p->La = state->basis->levels[a];
    p->Lb = state->basis->levels[b];
    p->lmax = (p->La < p->Lb ? p->La : p->Lb) - 1;
    int dmin = p->lmax + 1;
    p->c = malloc((size_t)dmin * sizeof *p->c);
    int st = p->c ? QS_OK : QS_ENOMEM;
    if (st == QS_OK && (needs & NEED_BLOCKS)) {
        p->cq = malloc((size_t)dmin * sizeof *p->cq);
        p->work = malloc((size_t)p->La * (size_t)p->Lb * sizeof *p->work);
        p->mat = malloc((size_t)dmin * (size_t)dmin * sizeof *p->mat);
        p->Ga = malloc((size_t)p->La * (size_t)p->La * sizeof *p->Ga);
        p->Gb = malloc((size_t)p->Lb * (size_t)p->Lb * sizeof *p->Gb);
        st = p->cq && p->work && p->mat && p->Ga && p->Gb ? pair_blocks_alloc(p->La, p->Lb, &p->pb) : QS_ENOMEM;
        if (st == QS_OK) st = eig_ws_init(&p->ws, dmin);
    }
    if (st != QS_OK) { pair_ctx_free(p); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
    reduce_pair(state, a, b, p->lmax, (needs & NEED_C) ? p->c : NULL, (needs & NEED_BLOCKS) ? &p->pb : NULL);
    return QS_OK;
}

/* G(n, m) = Γ((n+m)/2 + 1) / √(n! m!) for n, m < L into G[n·L + m] */
static void husimi_G(int L, double *G)
{
    for (int n = 0; n < L; n++)
        for (int m = 0; m < L; m++) {
            int sign;
            G[n * L + m] = exp(lgamma_r(0.5 * (n + m) + 1.0, &sign) - 0.5 * (lgamma_r(n + 1.0, &sign) + lgamma_r(m + 1.0, &sign)));
        }
}

/* c_l^Q = Σ ρ_{(n_a,n_b),(n_a−l,n_b+l)} G(n_a, n_a−l) G(n_b, n_b+l), l = 0..lmax, from the blocks */
static void husimi_coefficients(const pair_blocks *pb, int lmax, int La, int Lb, const double *Ga, const double *Gb,
                                double complex *cq)
{
    for (int l = 0; l <= lmax; l++) cq[l] = 0;
    for (int t = 0; t <= pb->T; t++)
        for (int na = pb->lo[t]; na < pb->lo[t] + pb->dim[t]; na++)
            for (int l = 0; l <= lmax && na - l >= pb->lo[t]; l++) {
                int nb = t - na;
                cq[l] += pair_element(pb, t, na, na - l) * Ga[na * La + na - l] * Gb[nb * Lb + nb + l];
            }
}

static void need_cq(pair_ctx *p)
{
    if (p->have_cq) return;
    husimi_G(p->La, p->Ga);
    husimi_G(p->Lb, p->Gb);
    husimi_coefficients(&p->pb, p->lmax, p->La, p->Lb, p->Ga, p->Gb, p->cq);
    qs_phase_max(p->lmax, p->cq, &p->S_Q, &p->phi_Q);
    p->have_cq = 1;
}

/* −Σ λ ln λ over λ > 0 */
static double entropy_of(int d, const double *w)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        if (w[i] > 0) s -= w[i] * log(w[i]);
    return s;
}

static int need_entropies(pair_ctx *p, qs_error *err)
{
    if (p->have_ent) return QS_OK;
    const pair_blocks *pb = &p->pb;
    double *pa = p->work, *pbm = p->work + p->La;    /* marginal populations (La + Lb ≤ La·Lb) */
    for (int i = 0; i < p->La; i++) pa[i] = 0;
    for (int i = 0; i < p->Lb; i++) pbm[i] = 0;
    for (int t = 0; t <= pb->T; t++)
        for (int na = pb->lo[t]; na < pb->lo[t] + pb->dim[t]; na++) {
            double v = creal(pair_element(pb, t, na, na));
            pa[na] += v;
            pbm[t - na] += v;
        }
    p->S_a = entropy_of(p->La, pa);
    p->S_b = entropy_of(p->Lb, pbm);
    p->S_ab = 0;
    for (int t = 0; t <= pb->T; t++) {
        int d = pb->dim[t];
        memcpy(p->mat, pb->m + pb->off[t], (size_t)d * (size_t)d * sizeof *p->mat);
        int st = hermitian_eigenvalues(d, p->mat, p->work, &p->ws, err);
        if (st != QS_OK) return st;
        p->S_ab += entropy_of(d, p->work);
    }
    p->have_ent = 1;
    return QS_OK;
}

/* The negative eigenvalues of ρ_ab^{T_b}, whose trace is Tr ρ_ab = 1, so that
 * ‖ρ^{T_b}‖₁ = 1 + 2 Σ|λ_neg| and the negativity (‖ρ^{T_b}‖₁ − 1)/2 = Σ|λ_neg| is summed without
 * subtracting 1 (a separable state reads ≥ 0, an uncoupled one exactly 0). (ρ^{T_b})_{(n_a,n_b),(m_a,m_b)} = ρ_{(n_a,m_b),(m_a,n_b)}, block diagonal in
 * d = n_a − n_b; in block d the rows are n_a (n_b = n_a − d) and the element (n_a, m_a) is
 * ρ_{(n_a, m_a−d),(m_a, n_a−d)}, of total t = n_a + m_a − d. */
static int need_pt(pair_ctx *p, qs_error *err)
{
    if (p->have_pt) return QS_OK;
    double neg = 0;
    for (int d = -(p->Lb - 1); d <= p->La - 1; d++) {
        int lo = d > 0 ? d : 0, hi = p->Lb - 1 + d < p->La - 1 ? p->Lb - 1 + d : p->La - 1, k = hi - lo + 1;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                int na = lo + i, ma = lo + j;
                p->mat[(size_t)i * (size_t)k + (size_t)j] = pair_element(&p->pb, na + ma - d, na, ma);
            }
        int st = hermitian_eigenvalues(k, p->mat, p->work, &p->ws, err);
        if (st != QS_OK) return st;
        for (int i = 0; i < k; i++)
            if (p->work[i] < 0) neg -= p->work[i];
    }
    p->pt_negative = neg;
    p->have_pt = 1;
    return QS_OK;
}

/* ⟨a_a† a_b⟩ = Σ ρ_{(n_a,n_b),(n_a+1,n_b−1)} √((n_a+1) n_b), ⟨n_a⟩, ⟨n_b⟩ */
static void need_corr(pair_ctx *p)
{
    if (p->have_corr) return;
    const pair_blocks *pb = &p->pb;
    double complex z = 0;
    double na = 0, nb = 0;
    for (int t = 0; t <= pb->T; t++)
        for (int a = pb->lo[t]; a < pb->lo[t] + pb->dim[t]; a++) {
            int b = t - a;
            double pop = creal(pair_element(pb, t, a, a));
            na += a * pop;
            nb += b * pop;
            if (b >= 1) z += pair_element(pb, t, a, a + 1) * sqrt((double)(a + 1) * b);
        }
    p->corr = z;
    p->na = na;
    p->nb = nb;
    p->have_corr = 1;
}

/* ---- the observables ---- */

typedef int (*pair_fn)(pair_ctx *p, double *out, qs_error *err);
/* populations of oscillator j (levels entries) → value(s) */
typedef void (*osc_fn)(int levels, const double *pop, double *out);

static void obs_mean_n(int L, const double *pop, double *out)
{
    double s = 0;
    for (int n = 0; n < L; n++) s += n * pop[n];
    *out = s;
}

static void obs_var_n(int L, const double *pop, double *out)
{
    double mean, v = 0;
    obs_mean_n(L, pop, &mean);
    for (int n = 0; n < L; n++) v += (n - mean) * (n - mean) * pop[n];
    *out = v;
}

static void obs_populations(int L, const double *pop, double *out) { memcpy(out, pop, (size_t)L * sizeof *out); }

static void need_S(pair_ctx *p)
{
    if (p->have_S) return;
    qs_phase_max(p->lmax, p->c, &p->S, &p->phi);
    p->have_S = 1;
}

static int obs_S(pair_ctx *p, double *out, qs_error *err) { need_S(p); *out = p->S; return QS_OK; }
static int obs_phi_max(pair_ctx *p, double *out, qs_error *err) { need_S(p); *out = p->phi; return QS_OK; }

static int obs_S_Q(pair_ctx *p, double *out, qs_error *err) { need_cq(p); *out = p->S_Q; return QS_OK; }
static int obs_phi_max_Q(pair_ctx *p, double *out, qs_error *err) { need_cq(p); *out = p->phi_Q; return QS_OK; }

static int obs_correlation(pair_ctx *p, double *out, qs_error *err)
{
    need_corr(p);
    double den = p->na * p->nb;
    *out = den > 0 ? cabs(p->corr) / sqrt(den) : NAN;
    return QS_OK;
}

static int obs_correlation_phase(pair_ctx *p, double *out, qs_error *err)
{
    need_corr(p);
    *out = p->corr == 0 ? 0.0 : qs_phase_wrap(carg(p->corr), 12);
    return QS_OK;
}

static int obs_negativity(pair_ctx *p, double *out, qs_error *err)
{
    int st = need_pt(p, err);
    if (st == QS_OK) *out = p->pt_negative;
    return st;
}

static int obs_log_negativity(pair_ctx *p, double *out, qs_error *err)
{
    int st = need_pt(p, err);
    if (st == QS_OK) *out = log2(1.0 + 2.0 * p->pt_negative);
    return st;
}

static int obs_mutual_information(pair_ctx *p, double *out, qs_error *err)
{
    int st = need_entropies(p, err);
    if (st == QS_OK) *out = fmax(0.0, p->S_a + p->S_b - p->S_ab);   /* ≥ 0 (subadditivity); round-off below 0 reads 0 */
    return st;
}

/* ---- dynamical observables: of the model's Liouvillian (spectrum.h) ---- */

typedef struct {
    const qs_model *model;
    const qs_state *state;
    qs_spectrum *spectrum;    /* every oscillator's S_j(ω) on the default range, when first needed */
    int want_relaxation, want_coherence, have_rates;
    double relaxation, coherence;
} dyn_ctx;

/* oscillator j (ignored for a network observable) → its value */
typedef int (*dyn_fn)(dyn_ctx *d, int j, double *out, qs_error *err);

static int need_spectrum(dyn_ctx *d, qs_error *err)
{
    return d->spectrum ? QS_OK : qs_spectrum_run(d->model, d->state, NULL, &d->spectrum, err);
}

static int need_rates(dyn_ctx *d, qs_error *err)
{
    if (d->have_rates) return QS_OK;
    int st = qs_relaxation_rates(d->model, d->want_relaxation ? &d->relaxation : NULL,
                                 d->want_coherence ? &d->coherence : NULL, err);
    d->have_rates = st == QS_OK;
    return st;
}

static int obs_peak_frequency(dyn_ctx *d, int j, double *out, qs_error *err)
{
    int st = need_spectrum(d, err);
    if (st == QS_OK) *out = qs_spectrum_peak_frequency(d->spectrum, j);
    return st;
}

static int obs_fwhm(dyn_ctx *d, int j, double *out, qs_error *err)
{
    int st = need_spectrum(d, err);
    if (st == QS_OK) *out = qs_spectrum_fwhm(d->spectrum, j);
    return st;
}

static int obs_relaxation_rate(dyn_ctx *d, int j, double *out, qs_error *err)
{
    (void)j;
    int st = need_rates(d, err);
    if (st == QS_OK) *out = d->relaxation;
    return st;
}

static int obs_coherence_rate(dyn_ctx *d, int j, double *out, qs_error *err)
{
    (void)j;
    int st = need_rates(d, err);
    if (st == QS_OK) *out = d->coherence;
    return st;
}

typedef struct {
    qs_observable info;
    int needs;        /* pair: NEED_C, NEED_BLOCKS */
    osc_fn osc;
    pair_fn pair;
    dyn_fn dyn;       /* dynamical (info.needs_model) */
} entry;

/* Columns: {name, kind, per_level, angle, summary, needs_model}, pair needs, then the function
 * of its kind (osc, pair or dyn). */
static const entry table[] = {
    {{"mean_n", QS_OBS_OSCILLATOR, 0, 0, "<n_j>: mean excitation number", 0}, 0, obs_mean_n, NULL, NULL},
    {{"var_n", QS_OBS_OSCILLATOR, 0, 0, "<n_j^2> - <n_j>^2: variance of the excitation number", 0}, 0, obs_var_n, NULL, NULL},
    {{"populations", QS_OBS_OSCILLATOR, 1, 0, "diag rho_j: population of every Fock level", 0}, 0, obs_populations, NULL, NULL},
    {{"S", QS_OBS_PAIR, 0, 0, "synchronization measure 2 pi max P(phi) - 1 (Eq. 6, phase states)", 0}, NEED_C, NULL, obs_S, NULL},
    {{"phi_max", QS_OBS_PAIR, 0, 1, "relative phase phi_a - phi_b where P(phi) is largest", 0}, NEED_C, NULL, obs_phi_max, NULL},
    {{"S_Q", QS_OBS_PAIR, 0, 0, "2 pi max P_Q(phi) - 1, P_Q the Husimi-Q distribution of phi_a - phi_b", 0}, NEED_BLOCKS, NULL,
     obs_S_Q, NULL},
    {{"phi_max_Q", QS_OBS_PAIR, 0, 1, "relative phase where P_Q(phi) is largest", 0}, NEED_BLOCKS, NULL, obs_phi_max_Q, NULL},
    {{"correlation", QS_OBS_PAIR, 0, 0, "|<a_a^+ a_b>| / sqrt(<n_a><n_b>) (NaN when <n_a><n_b> = 0)", 0}, NEED_BLOCKS, NULL,
     obs_correlation, NULL},
    {{"correlation_phase", QS_OBS_PAIR, 0, 1, "arg <a_a^+ a_b> (about 2 pi - phi_max: <a_a^+ a_b> goes as exp(-i(phi_a - phi_b)))",
      0}, NEED_BLOCKS, NULL, obs_correlation_phase, NULL},
    {{"negativity", QS_OBS_PAIR, 0, 0, "(||rho_ab^T_b||_1 - 1)/2 (partial transpose on b)", 0}, NEED_BLOCKS, NULL, obs_negativity,
     NULL},
    {{"log_negativity", QS_OBS_PAIR, 0, 0, "log2 ||rho_ab^T_b||_1", 0}, NEED_BLOCKS, NULL, obs_log_negativity, NULL},
    {{"mutual_information", QS_OBS_PAIR, 0, 0, "S(rho_a) + S(rho_b) - S(rho_ab), von Neumann entropies in nats", 0}, NEED_BLOCKS,
     NULL, obs_mutual_information, NULL},
    {{"peak_frequency", QS_OBS_OSCILLATOR, 0, 0, "omega of the highest peak of the power spectrum S_j(omega) (default range)", 1},
     0, NULL, NULL, obs_peak_frequency},
    {{"fwhm", QS_OBS_OSCILLATOR, 0, 0, "full width at half height of that peak (NaN when not inside the range)", 1}, 0, NULL,
     NULL, obs_fwhm},
    {{"relaxation_rate", QS_OBS_NETWORK, 0, 0, "smallest -Re lambda over the non-zero eigenvalues of L on sector 0", 1}, 0,
     NULL, NULL, obs_relaxation_rate},
    {{"coherence_rate", QS_OBS_NETWORK, 0, 0, "smallest -Re lambda of L on sector -1 (the narrowest spectral line)", 1}, 0,
     NULL, NULL, obs_coherence_rate},
};

#define N_TABLE ((int)(sizeof table / sizeof table[0]))

int qs_observable_count(void) { return N_TABLE; }

const qs_observable *qs_observable_get(int i) { return i >= 0 && i < N_TABLE ? &table[i].info : NULL; }

int qs_observable_find(const char *name)
{
    for (int i = 0; name && i < N_TABLE; i++)
        if (strcmp(table[i].info.name, name) == 0) return i;
    return -1;
}

size_t qs_observe_width(int n, const int *levels, int n_which, const int *which)
{
    size_t w = 0, pairs = n > 1 ? (size_t)n * (size_t)(n - 1) / 2 : 0;
    for (int i = 0; i < n_which; i++) {
        if (which[i] < 0 || which[i] >= N_TABLE) continue;
        const qs_observable *o = &table[which[i]].info;
        if (o->kind == QS_OBS_PAIR) w += pairs;
        else if (o->kind == QS_OBS_NETWORK) w += 1;
        else if (o->per_level) for (int j = 0; j < n; j++) w += (size_t)levels[j];
        else w += (size_t)n;
    }
    return w;
}

/* Populations of every oscillator: pop + off[j] holds oscillator j's levels. */
static void all_populations(const qs_state *state, const size_t *off, double *pop)
{
    const qs_basis *B = state->basis;
    memset(pop, 0, off[B->n] * sizeof *pop);
    for (size_t s = 0; s < B->dim; s++) {
        double v = creal(state->rho[qs_basis_sector_index(B, s, s)]);
        for (int j = 0; j < B->n; j++) pop[off[j] + (size_t)qs_basis_occ(B, s, j)] += v;
    }
}

/* qs_state_observe (model NULL: a dynamical observable is refused) and qs_observe. */
static int observe(const qs_model *model, const qs_state *state, int n_which, const int *which, double *values,
                   qs_error *err)
{
    const qs_basis *B = state->basis;
    int n = B->n, needs = 0, any_osc = 0;
    for (int i = 0; i < n_which; i++) {
        if (which[i] < 0 || which[i] >= N_TABLE)
            return qs_error_set(err, QS_EINPUT, "observable index %d is not in the table (0..%d)", which[i], N_TABLE - 1);
        const entry *e = &table[which[i]];
        if (e->info.needs_model) {
            if (!model)
                return qs_error_set(err, QS_EINPUT, "observable %s is of the model's Liouvillian, not of the state alone: "
                                    "qs_observe computes it from the model", e->info.name);
            if (model->n != n)
                return qs_error_set(err, QS_EINPUT, "the model has %d oscillators, the state %d", model->n, n);
            for (int j = 0; j < n; j++)
                if (model->osc[j].levels != B->levels[j])
                    return qs_error_set(err, QS_EINPUT, "oscillator %s has %d levels in the model, %d in the state",
                                        model->names[j], model->osc[j].levels, B->levels[j]);
        } else if (e->info.kind == QS_OBS_PAIR) needs |= e->needs;
        else any_osc = 1;
    }
    /* where each observable's values start */
    size_t *start = malloc(((size_t)n_which + 1) * sizeof *start), *off = malloc(((size_t)n + 1) * sizeof *off);
    if (!start || !off) { free(start); free(off); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
    off[0] = 0;
    for (int j = 0; j < n; j++) off[j + 1] = off[j] + (size_t)B->levels[j];
    start[0] = 0;
    for (int i = 0; i < n_which; i++) start[i + 1] = start[i] + qs_observe_width(n, B->levels, 1, &which[i]);
    int status = QS_OK;
    if (any_osc) {
        double *pop = malloc(off[n] * sizeof *pop);
        if (!pop) status = qs_error_set(err, QS_ENOMEM, "out of memory");
        else {
            all_populations(state, off, pop);
            for (int i = 0; i < n_which; i++) {
                const entry *e = &table[which[i]];
                if (e->info.kind != QS_OBS_OSCILLATOR || e->info.needs_model) continue;
                size_t w = start[i];
                for (int j = 0; j < n; j++) {
                    e->osc(B->levels[j], pop + off[j], values + w);
                    w += e->info.per_level ? (size_t)B->levels[j] : 1;
                }
            }
            free(pop);
        }
    }
    size_t q = 0;
    for (int a = 0; a < n && needs && status == QS_OK; a++)
        for (int b = a + 1; b < n && status == QS_OK; b++, q++) {
            pair_ctx p;
            if ((status = pair_ctx_init(&p, state, a, b, needs, err)) != QS_OK) break;
            for (int i = 0; i < n_which && status == QS_OK; i++) {
                const entry *e = &table[which[i]];
                if (e->info.kind == QS_OBS_PAIR) status = e->pair(&p, values + start[i] + q, err);
            }
            pair_ctx_free(&p);
        }
    dyn_ctx d = {.model = model, .state = state};
    for (int i = 0; i < n_which; i++) {
        d.want_relaxation |= table[which[i]].dyn == obs_relaxation_rate;
        d.want_coherence |= table[which[i]].dyn == obs_coherence_rate;
    }
    for (int i = 0; i < n_which && status == QS_OK; i++) {
        const entry *e = &table[which[i]];
        if (!e->info.needs_model) continue;
        int count = e->info.kind == QS_OBS_NETWORK ? 1 : n;
        for (int j = 0; j < count && status == QS_OK; j++) status = e->dyn(&d, j, values + start[i] + (size_t)j, err);
    }
    qs_spectrum_free(&d.spectrum);
    free(start);
    free(off);
    return status;
}

int qs_state_observe(const qs_state *state, int n_which, const int *which, double *values, qs_error *err)
{
    return observe(NULL, state, n_which, which, values, err);
}

int qs_observe(const qs_model *model, const qs_state *state, int n_which, const int *which, double *values,
               qs_error *err)
{
    if (!model) return qs_error_set(err, QS_EINPUT, "qs_observe: no model");
    return observe(model, state, n_which, which, values, err);
}

int qs_state_sync(const qs_state *state, double *S, double *phi_max, qs_error *err)
{
    int n = state->basis->n, q = 0, status = QS_OK;
    for (int a = 0; a < n && status == QS_OK; a++)
        for (int b = a + 1; b < n && status == QS_OK; b++, q++) {
            pair_ctx p;
            if ((status = pair_ctx_init(&p, state, a, b, NEED_C, err)) != QS_OK) break;
            need_S(&p);
            if (S) S[q] = p.S;
            if (phi_max) phi_max[q] = p.phi;
            pair_ctx_free(&p);
        }
    return status;
}

/* ---- the state itself ---- */

size_t qs_state_dimension(const qs_state *state) { return state->basis->dim; }

int qs_state_reduced_oscillator(const qs_state *state, int j, double complex *rho, qs_error *err)
{
    const qs_basis *B = state->basis;
    if (j < 0 || j >= B->n) return qs_error_set(err, QS_EINPUT, "oscillator %d is not one of the %d", j, B->n);
    int L = B->levels[j];
    memset(rho, 0, (size_t)L * (size_t)L * sizeof *rho);
    for (size_t s = 0; s < B->dim; s++) {
        int k = qs_basis_occ(B, s, j);
        rho[(size_t)k * (size_t)L + (size_t)k] += creal(state->rho[qs_basis_sector_index(B, s, s)]);
    }
    return QS_OK;
}

int qs_state_reduced_pair(const qs_state *state, int a, int b, double complex *rho, qs_error *err)
{
    if (bad_pair(state, a, b)) return qs_error_set(err, QS_EINPUT, "pair (%d, %d) is not a pair of the %d oscillators", a, b, state->basis->n);
    pair_blocks pb;
    if (pair_blocks_build(state, a, b, &pb) != QS_OK) return qs_error_set(err, QS_ENOMEM, "out of memory");
    size_t Lb = (size_t)state->basis->levels[b], D = (size_t)state->basis->levels[a] * Lb;
    memset(rho, 0, D * D * sizeof *rho);
    for (int t = 0; t <= pb.T; t++)
        for (int i = 0; i < pb.dim[t]; i++)
            for (int k = 0; k < pb.dim[t]; k++) {
                size_t na = (size_t)(pb.lo[t] + i), ma = (size_t)(pb.lo[t] + k);
                size_t r = na * Lb + ((size_t)t - na), c = ma * Lb + ((size_t)t - ma);
                rho[r * D + c] = pb.m[pb.off[t] + (size_t)i * (size_t)pb.dim[t] + (size_t)k];
            }
    pair_blocks_free(&pb);
    return QS_OK;
}

int qs_state_dense_rows(const qs_state *state, size_t first, size_t count, double complex *rows, qs_error *err)
{
    const qs_basis *B = state->basis;
    size_t D = B->dim;
    if (first > D || count > D - first)
        return qs_error_set(err, QS_EINPUT, "rows %zu to %zu are not rows of the %zu x %zu density matrix", first, first + count, D, D);
    memset(rows, 0, count * D * sizeof *rows);
    for (size_t r = 0; r < count; r++) {
        size_t s = first + r;
        int N = B->total[s];
        size_t d = B->block_size[N];
        const size_t *states = B->block_states[N];
        const double complex *row = state->rho + B->block_offset[N] + B->pos[s] * d;
        for (size_t k = 0; k < d; k++) rows[r * D + states[k]] = row[k];
    }
    return QS_OK;
}

int qs_state_dense(const qs_state *state, double complex *rho, qs_error *err)
{
    return qs_state_dense_rows(state, 0, state->basis->dim, rho, err);
}

int qs_state_phase_distribution(const qs_state *state, int a, int b, int husimi, int n_phi, const double *phi, double *P,
                                qs_error *err)
{
    if (bad_pair(state, a, b)) return qs_error_set(err, QS_EINPUT, "pair (%d, %d) is not a pair of the %d oscillators", a, b, state->basis->n);
    pair_ctx p;
    int st = pair_ctx_init(&p, state, a, b, husimi ? NEED_BLOCKS : NEED_C, err);
    if (st != QS_OK) return st;
    const double complex *c = p.c;
    if (husimi) {
        need_cq(&p);
        c = p.cq;
    }
    for (int i = 0; i < n_phi; i++) P[i] = qs_phase_density(p.lmax, c, phi[i]);
    pair_ctx_free(&p);
    return QS_OK;
}
