/* spectrum.c — power spectra, spectral lines and relaxation rates (MODEL.md §8, spectrum.h).
 *
 * Spectrum. b_j = a_j ρ_ss lies in sector −1 (liouvillian.c's qs_sector_matrix); for every ω
 * the complex system (iω − L) x_j = b_j is solved for every oscillator at once (one LU, the
 * oscillators as right-hand sides) and S_j(ω) = 2 Re Tr[a_j† x_j]. KLU analyses the pattern
 * once. The grid is cut into blocks of SPECTRUM_BLOCK frequencies, fixed by the grid alone:
 * a block factorises afresh at its first frequency and refactorises (same pivots, new
 * values: only the diagonal iω moves) at the others. Blocks are shared among OpenMP threads,
 * each with its own numeric object, so every value is computed the same way whatever the
 * thread count (bit-identical results). Every solve's relative residual
 * ‖(iω − L)x − b‖∞ / (‖iω − L‖∞ ‖x‖∞) is measured; a refactorised solve above
 * SPECTRUM_REFACTOR_TOL is done again on a fresh factorisation, and a fresh one above the
 * options' residual_tol fails the run. Large sectors whose LU would fill in are solved by
 * GMRES preconditioned by the uncoupled (iω − L_0)^{−1} instead (applied exactly: see
 * precond below), each solve starting from the previous frequencies of its block. Oscillators
 * exchanged by a symmetry of the model share one solve (their spectra are equal).
 *
 * Peak and width. The grid's largest value is refined by Newton's method on S' = 0 (fresh
 * solves) between its neighbours. The half-height crossings are bracketed outward from the
 * refined peak: its inner end is the peak itself or the last grid point still at or above half
 * the refined height, its outer end the first grid point below it, so a line narrower than the
 * grid spacing is still bracketed on the right sides; each crossing is then root-found
 * (Newton kept inside the bracket) on fresh solves.
 *
 * Lines (small sectors). zgeev gives L's eigenvalues λ_m and right eigenvectors R on
 * sector −1; the left eigenvectors normalised to l_m·r_m = 1 are the rows of R^{−1}, so the
 * coefficients l_m · b_j are the solution C of R C = B (this stays right inside degenerate
 * eigenspaces, where zgeev's own left vectors need not be biorthogonal). Then
 * w_jm = Tr[a_j† r_m] C_mj.
 *
 * Singular cases. iω − L is invertible for every real ω when every coherence decays. A slot
 * whose two states have no out-rate at all (γ = 0) starts a coherence that may never decay:
 * then the coherence rate is computed (dense sectors) and the run refused if it is zero, or
 * refused outright on sectors too large for the dense eigenvalues.
 */
#include <complex.h>
#include <float.h>
#include <stdio.h>
#include <klu.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "internal.h"
#include "qsync/spectrum.h"

#define SPECTRUM_BLOCK 32              /* frequencies per fresh factorisation */
#define SPECTRUM_REFACTOR_TOL 1e-12    /* a refactorised solve above this residual is redone fresh */
#define SPECTRUM_RANGE_WIDTHS 10.0     /* default range: the bare lines widened by this many of the largest half-widths */
#define SPECTRUM_RANGE_COUPLINGS 2.0   /* … and by this many times the largest coupling row sum */
#define SPECTRUM_PEAK_TOL 1e-10        /* relative tolerance of the refined peak frequency and half-height crossings */
#define RATE_ZERO_TOL 1e-12            /* −Re λ below this fraction of ‖L‖ is no decay */
#define SPECTRUM_WARNING_LEN 512       /* bytes of an oscillator's warning text */
#define SPECTRUM_CROSSING_ITERATIONS 2200   /* Newton/bisection steps of a half-height crossing at most */
#define SPECTRUM_RESOLVE_TOL 1e-6      /* a line whose half-width κ gives ε‖iω − L‖/κ above this is not resolved in doubles */

struct qs_spectrum {
    int n_osc, n_omega;
    size_t sector_dim;
    double *omega;                  /* [n_omega] */
    double *values;                 /* [n_osc × n_omega] */
    double *peak, *height, *fwhm, *sum, *mean_n;   /* [n_osc] each */
    char (*warning)[SPECTRUM_WARNING_LEN];         /* [n_osc] */
    double residual;
    char lines_method[16];
    int n_lines;
    double *line_freq, *line_hw;    /* [n_lines] */
    double complex *line_w;         /* [n_lines × n_osc] */
    double complex *line_lambda;    /* [n_lines] */
    double *captured;               /* [n_osc] Σ_m Re w_jm / ⟨n_j⟩ over the lines found */
    int lines_dropped;              /* ARPACK: eigenpairs left out (residual, unpaired) */
    double lines_residual;          /* the largest relative residual of a line's right eigenvector (ARPACK) */
    int iterative;                  /* solved by preconditioned GMRES, not the LU */
};

void qs_spectrum_defaults(qs_spectrum_options *o)
{
    memset(o, 0, sizeof *o);
    o->omega_min = o->omega_max = NAN;
    o->n_omega = QS_SPECTRUM_DEFAULT_POINTS;
    o->residual_tol = QS_SPECTRUM_RESIDUAL_TOL;
    o->dense_max = QS_SPECTRUM_DENSE_MAX;
    o->solver = QS_SPECTRUM_AUTO;
}

/* ---- the model's levels, the basis, and the rates of the uncoupled levels ---- */

static int model_levels(const qs_model *m, int *levels, qs_error *err)
{
    for (int j = 0; j < m->n; j++) {
        levels[j] = m->osc[j].levels;
        if (levels[j] < 2)
            return qs_error_set(err, QS_EINPUT, "oscillator %s has levels = auto: resolve the levels first", m->names[j]);
    }
    return QS_OK;
}

/* Total out-rate of level k of oscillator o with `levels` levels (the top level has no up-rate). */
static double level_out_rate(const qs_osc *o, int levels, int k)
{
    return (k + 1 < levels ? qs_osc_rate_up(o, k + 1) : 0.0) + (k > 0 ? qs_osc_rate_down(o, k) : 0.0);
}

int qs_spectrum_default_range(const qs_model *m, double *lo, double *hi, qs_error *err)
{
    double nu_min = INFINITY, nu_max = -INFINITY, kappa = 0.0, coupling = 0.0;
    for (int j = 0; j < m->n; j++) {
        const qs_osc *o = &m->osc[j];
        int L = o->levels;
        if (L < 2) return qs_error_set(err, QS_EINPUT, "oscillator %s has levels = auto: resolve the levels first", m->names[j]);
        for (int n = 1; n < L; n++) {
            double nu = o->omega - 2 * o->K * (n - 1);
            double k = 0.5 * (level_out_rate(o, L, n) + level_out_rate(o, L, n - 1));
            if (nu < nu_min) nu_min = nu;
            if (nu > nu_max) nu_max = nu;
            if (k > kappa) kappa = k;
        }
        double row = 0.0;
        for (int i = 0; i < m->n_couplings; i++)
            if (m->couplings[i].j == j || m->couplings[i].k == j) row += cabs(m->couplings[i].c);
        if (row > coupling) coupling = row;
    }
    double margin = SPECTRUM_RANGE_WIDTHS * kappa + SPECTRUM_RANGE_COUPLINGS * coupling;
    if (!(margin > 0)) margin = 1.0;    /* nothing decays and nothing couples: any window shows the lines */
    *lo = nu_min - margin;
    *hi = nu_max + margin;
    if (!isfinite(*lo) || !isfinite(*hi)) return qs_error_set(err, QS_EINPUT, "the model's frequencies give no finite range");
    /* the lines' widths must be representable beside their frequencies */
    double big = fmax(fabs(nu_min), fabs(nu_max));
    if (!(margin > 1e3 * DBL_EPSILON * big))
        return qs_error_set(err, QS_EINPUT, "the model's frequencies (up to %g) are too large against its line widths and couplings (%g) for a "
                            "representable default range: give the grid (--omega A:B:N)", big, margin);
    return QS_OK;
}

/* ---- sector −1: right-hand sides and the trace with a_j† ---- */

typedef struct {
    const qs_basis *b;
    qs_sector_matrix *M;      /* L on sector −1 */
    int nrhs;                 /* oscillators */
    double complex *B;        /* [n × nrhs] b_j = a_j ρ_ss, column j */
    int nsolve;               /* oscillators solved for: one per orbit of the model's symmetries */
    int *solve_of;            /* [nsolve] the oscillator of each solved column */
    int *rep;                 /* [nrhs] the solved column whose spectrum is oscillator j's */
    double complex *Bs;       /* [n × nsolve] the solved columns of B */
    size_t *tr_ptr;           /* [nrhs+1] entries of the trace functional of each oscillator */
    size_t *tr_slot;          /* slot (s, s + e_j) */
    double *tr_fac;           /* √(s_j + 1) */
    double *offdiag_abs;      /* [n] Σ |L_rc| over the off-diagonal entries of row r */
    int has_undamped;         /* some slot has no decay on its diagonal */
    struct precond *P;        /* the iterative path's preconditioner (NULL: the LU) */
} sector;

/* ---- the uncoupled preconditioner of the iterative path ----
 * Without couplings L is L_0, and slots with the same difference pattern d = n(s) − n(t)
 * (per oscillator) form an invariant block, a full tensor grid over the oscillators: one with
 * d_j ≠ 0 is frozen (its jumps never feed its own coherences: a diagonal entry), one with
 * d_j = 0 follows its population generator G_j (levels × levels, the same for every block).
 * L_0 on a block is the Kronecker sum of these, so with G_j = V_j Λ_j V_j^{−1} (once)
 *     (iω − L_0)^{−1} = (⊗V) diag(1 / (iω − μ)) (⊗V^{−1}),  μ = Σ_frozen diagonal + Σ_pop λ,
 * applied by small mode products: O(n Σ levels) per application, for every ω. */
typedef struct precond {
    int n_osc, max_levels;
    size_t n, n_groups;
    size_t *perm;             /* [n] slot at each tensor position */
    size_t *g_off;            /* [n_groups+1] */
    int *g_dim;               /* [n_groups × n_osc] extent of each oscillator in the group */
    unsigned char *g_pop;     /* [n_groups × n_osc] 1: population oscillator (d_j = 0) */
    double complex *mu;       /* [n] at tensor positions */
    double complex **V, **Vinv; /* [n_osc][levels²] row-major */
} precond;

static void precond_free(precond **pp)
{
    precond *P = *pp;
    if (!P) return;
    free(P->perm);
    free(P->g_off);
    free(P->g_dim);
    free(P->g_pop);
    free(P->mu);
    for (int j = 0; j < P->n_osc; j++) {
        if (P->V) free(P->V[j]);
        if (P->Vinv) free(P->Vinv[j]);
    }
    free(P->V);
    free(P->Vinv);
    free(P);
    *pp = NULL;
}

static void sector_free(sector *S)
{
    precond_free(&S->P);
    free(S->solve_of);
    free(S->rep);
    free(S->Bs);
    qs_sector_matrix_free(&S->M);
    free(S->B);
    free(S->tr_ptr);
    free(S->tr_slot);
    free(S->tr_fac);
    free(S->offdiag_abs);
}

/* Tr[a_j† X] for a sector −1 vector X. */
static double complex trace_adag(const sector *S, int j, const double complex *X)
{
    double complex t = 0.0;
    for (size_t i = S->tr_ptr[j]; i < S->tr_ptr[j + 1]; i++) t += S->tr_fac[i] * X[S->tr_slot[i]];
    return t;
}

static int sector_make(sector *S, const qs_basis *b, const qs_model *m, const double complex *rho, double memory_limit, qs_error *err)
{
    memset(S, 0, sizeof *S);
    S->b = b;
    S->nrhs = b->n;
    int status = qs_sector_matrix_create(b, m, -1, memory_limit, 0, &S->M, err);
    if (status != QS_OK) return status;
    size_t n = S->M->n, nb;
    if (!qs_mul_size(n, (size_t)S->nrhs, &nb)) return qs_error_set(err, QS_ETOOBIG, "sector −1 is too large to index");
    S->tr_ptr = calloc((size_t)S->nrhs + 1, sizeof *S->tr_ptr);
    S->tr_slot = malloc(b->dim * (size_t)S->nrhs * sizeof *S->tr_slot);
    S->tr_fac = malloc(b->dim * (size_t)S->nrhs * sizeof *S->tr_fac);
    S->offdiag_abs = calloc(n, sizeof *S->offdiag_abs);
    S->B = rho ? calloc(nb, sizeof *S->B) : NULL;
    if (!S->tr_ptr || !S->tr_slot || !S->tr_fac || !S->offdiag_abs || (rho && !S->B))
        return qs_error_set(err, QS_ENOMEM, "out of memory for the spectrum's right-hand sides");
    size_t e = 0;
    for (int j = 0; j < S->nrhs; j++) {
        S->tr_ptr[j] = e;
        for (size_t s = 0; s < b->dim; s++) {
            int sj = qs_basis_occ(b, s, j);
            if (sj + 1 >= b->levels[j]) continue;
            size_t up = s + b->stride[j];
            S->tr_slot[e] = qs_sector_matrix_index(S->M, s, up);
            S->tr_fac[e++] = sqrt(sj + 1.0);
            if (!rho) continue;
            /* (a_j ρ)_{s t} = √(s_j+1) ρ_{s+e_j, t} for every t with total(t) = total(s) + 1 */
            int N = b->total[up];
            for (size_t q = 0; q < b->block_size[N]; q++) {
                size_t t = b->block_states[N][q];
                S->B[(size_t)j * n + qs_sector_matrix_index(S->M, s, t)] = sqrt(sj + 1.0) * rho[qs_basis_sector_index(b, up, t)];
            }
        }
    }
    S->tr_ptr[S->nrhs] = e;
    for (size_t c = 0; c < n; c++)
        for (int64_t p = S->M->Ap[c]; p < S->M->Ap[c + 1]; p++)
            if (p != S->M->diag[c]) S->offdiag_abs[S->M->Ai[p]] += cabs(S->M->Ax[p]);
    for (size_t c = 0; c < n; c++)
        if (!(creal(S->M->Ax[S->M->diag[c]]) < 0)) S->has_undamped = 1;
    /* identical oscillators exchanged by a symmetry of the model have the same spectrum (the
     * steady state is unique, hence invariant): one solve per orbit */
    int *perms = NULL, count = 0;
    S->solve_of = malloc((size_t)S->nrhs * sizeof *S->solve_of);
    S->rep = malloc((size_t)S->nrhs * sizeof *S->rep);
    if (!S->solve_of || !S->rep) return qs_error_set(err, QS_ENOMEM, "out of memory");
    if (qs_model_symmetries(m, &perms, &count, NULL) != QS_OK) count = 0;
    for (int j = 0; j < S->nrhs; j++) {
        int r = j;
        for (int g = 0; g < count; g++)
            if (perms[(size_t)g * S->nrhs + j] < r) r = perms[(size_t)g * S->nrhs + j];
        if (r == j) { S->rep[j] = S->nsolve; S->solve_of[S->nsolve++] = j; }
        else S->rep[j] = S->rep[r];
    }
    free(perms);
    if (rho) {
        S->Bs = malloc(n * (size_t)S->nsolve * sizeof *S->Bs);
        if (!S->Bs) return qs_error_set(err, QS_ENOMEM, "out of memory for the spectrum's right-hand sides");
        for (int r = 0; r < S->nsolve; r++) memcpy(S->Bs + (size_t)r * n, S->B + (size_t)S->solve_of[r] * n, n * sizeof *S->Bs);
    }
    return QS_OK;
}

typedef struct {
    uint64_t key, local;
    size_t slot;
} slot_key;

static int cmp_slot_key(const void *a, const void *b)
{
    const slot_key *x = a, *y = b;
    if (x->key != y->key) return (x->key > y->key) - (x->key < y->key);
    return (x->local > y->local) - (x->local < y->local);
}

/* The preconditioner for sector S of `model`; 0 when it cannot be built (memory, keys). */
static int precond_make(sector *S, const qs_model *m)
{
    const qs_basis *b = S->b;
    const qs_sector_matrix *M = S->M;
    int N = b->n;
    precond *P = calloc(1, sizeof *P);
    if (!P) return 0;
    S->P = P;
    P->n_osc = N;
    P->n = M->n;
    double span = 1;
    for (int j = 0; j < N; j++) {
        if (b->levels[j] > P->max_levels) P->max_levels = b->levels[j];
        span *= 2.0 * b->levels[j] - 1;
    }
    if (span > 1e18) return 0;
    P->V = calloc((size_t)N, sizeof *P->V);
    P->Vinv = calloc((size_t)N, sizeof *P->Vinv);
    double complex **lambda = calloc((size_t)N, sizeof *lambda);
    slot_key *keys = malloc(M->n * sizeof *keys);
    P->perm = malloc(M->n * sizeof *P->perm);
    P->mu = malloc(M->n * sizeof *P->mu);
    int ok = P->V && P->Vinv && lambda && keys && P->perm && P->mu;
    /* each oscillator's population generator, diagonalised */
    for (int j = 0; ok && j < N; j++) {
        int L = b->levels[j];
        const qs_osc *o = &m->osc[j];
        double complex *G = calloc((size_t)L * L, sizeof *G), *A = malloc((size_t)L * L * sizeof *A);
        lapack_int *ipiv = malloc((size_t)L * sizeof *ipiv);
        P->V[j] = malloc((size_t)L * L * sizeof **P->V);
        P->Vinv[j] = calloc((size_t)L * L, sizeof **P->Vinv);
        lambda[j] = malloc((size_t)L * sizeof **lambda);
        ok = G && A && ipiv && P->V[j] && P->Vinv[j] && lambda[j];
        if (ok) {
            for (int k = 0; k < L; k++) {       /* row-major G[row][col] */
                G[k * L + k] = -level_out_rate(o, L, k);
                if (k + 1 < L) G[(k + 1) * L + k] = qs_osc_rate_up(o, k + 1);
                if (k > 0) G[(k - 1) * L + k] = qs_osc_rate_down(o, k);
            }
            ok = LAPACKE_zgeev(LAPACK_ROW_MAJOR, 'N', 'V', L, (lapack_complex_double *)G, L, (lapack_complex_double *)lambda[j], NULL, 1,
                               (lapack_complex_double *)P->V[j], L) == 0;
        }
        if (ok) {
            memcpy(A, P->V[j], (size_t)L * L * sizeof *A);
            for (int k = 0; k < L; k++) P->Vinv[j][k * L + k] = 1;
            ok = LAPACKE_zgesv(LAPACK_ROW_MAJOR, L, L, (lapack_complex_double *)A, L, ipiv, (lapack_complex_double *)P->Vinv[j], L) == 0;
        }
        free(G);
        free(A);
        free(ipiv);
    }
    /* every slot: its group key d, its place in the group's grid, and μ */
    if (ok) {
        size_t col = 0;
        for (int Nk = 0; Nk <= b->max_total; Nk++) {
            int Nt = Nk - M->k;
            if (Nt < 0 || Nt > b->max_total) continue;
            for (size_t i = 0; i < b->block_size[Nk]; i++)
                for (size_t q = 0; q < b->block_size[Nt]; q++, col++) {
                    size_t st = b->block_states[Nk][i], tt = b->block_states[Nt][q];
                    uint64_t key = 0, local = 0;
                    double complex mu = 0;
                    for (int j = 0; j < N; j++) {
                        const qs_osc *o = &m->osc[j];
                        int L = b->levels[j], sj = qs_basis_occ(b, st, j), tj = qs_basis_occ(b, tt, j), d = sj - tj;
                        int lo = d > 0 ? d : 0, hi = d < 0 ? L + d : L;
                        key = key * (uint64_t)(2 * L - 1) + (uint64_t)(d + L - 1);
                        local = local * (uint64_t)(hi - lo) + (uint64_t)(sj - lo);
                        if (d == 0) mu += lambda[j][sj];
                        else mu += CMPLX(-0.5 * (level_out_rate(o, L, sj) + level_out_rate(o, L, tj)), -(qs_osc_energy(o, sj) - qs_osc_energy(o, tj)));
                    }
                    keys[col] = (slot_key){key, local, col};
                    P->mu[col] = mu;             /* by slot for now */
                }
        }
        qsort(keys, M->n, sizeof *keys, cmp_slot_key);
        size_t groups = 0;
        for (size_t p = 0; p < M->n; p++)
            if (p == 0 || keys[p].key != keys[p - 1].key) groups++;
        P->n_groups = groups;
        P->g_off = malloc((groups + 1) * sizeof *P->g_off);
        P->g_dim = malloc(groups * (size_t)N * sizeof *P->g_dim);
        P->g_pop = malloc(groups * (size_t)N * sizeof *P->g_pop);
        double complex *mu = malloc(M->n * sizeof *mu);
        ok = P->g_off && P->g_dim && P->g_pop && mu;
        size_t g = 0;
        for (size_t p = 0; ok && p < M->n; p++) {
            P->perm[p] = keys[p].slot;
            mu[p] = P->mu[keys[p].slot];
            if (p > 0 && keys[p].key == keys[p - 1].key) continue;
            P->g_off[g] = p;
            uint64_t key = keys[p].key;
            size_t size = 1;
            for (int j = N - 1; j >= 0; j--) {       /* decode d_j */
                int L = b->levels[j], d = (int)(key % (uint64_t)(2 * L - 1)) - (L - 1);
                key /= (uint64_t)(2 * L - 1);
                P->g_dim[g * N + j] = d == 0 ? L : L - abs(d);
                P->g_pop[g * N + j] = d == 0;
                size *= (size_t)P->g_dim[g * N + j];
            }
            /* the group must be the full grid, in order */
            size_t end = p;
            while (end < M->n && keys[end].key == keys[p].key) end++;
            if (end - p != size || keys[end - 1].local != size - 1) ok = 0;
            g++;
        }
        if (ok) P->g_off[groups] = M->n;
        free(P->mu);
        P->mu = mu;
    }
    for (int j = 0; lambda && j < N; j++) free(lambda[j]);
    free(lambda);
    free(keys);
    return ok;
}

/* out = (iω − L_0)^{−1} v; t, u: [n] workspaces; fiber: [max_levels]. */
static void precond_apply(const precond *P, double omega, const double complex *v, double complex *out, double complex *t,
                          double complex *fiber)
{
    int N = P->n_osc;
    for (size_t p = 0; p < P->n; p++) t[p] = v[P->perm[p]];
    for (size_t g = 0; g < P->n_groups; g++) {
        double complex *x = t + P->g_off[g];
        const int *dim = P->g_dim + g * N;
        const unsigned char *pop = P->g_pop + g * N;
        for (int pass = 0; pass < 2; pass++) {
            for (int j = 0; j < N; j++) {
                if (!pop[j]) continue;
                size_t stride = 1, outer = 1;
                for (int k = j + 1; k < N; k++) stride *= (size_t)dim[k];
                for (int k = 0; k < j; k++) outer *= (size_t)dim[k];
                int L = dim[j];
                const double complex *A = pass == 0 ? P->Vinv[j] : P->V[j];
                for (size_t o = 0; o < outer; o++)
                    for (size_t in = 0; in < stride; in++) {
                        double complex *f = x + o * stride * (size_t)L + in;
                        for (int r = 0; r < L; r++) {
                            double complex sum = 0;
                            for (int c = 0; c < L; c++) sum += A[r * L + c] * f[(size_t)c * stride];
                            fiber[r] = sum;
                        }
                        for (int r = 0; r < L; r++) f[(size_t)r * stride] = fiber[r];
                    }
            }
            if (pass == 0) {
                size_t size = P->g_off[g + 1] - P->g_off[g];
                const double complex *mu = P->mu + P->g_off[g];
                for (size_t p = 0; p < size; p++) x[p] /= CMPLX(-creal(mu[p]), omega - cimag(mu[p]));
            }
        }
    }
    for (size_t p = 0; p < P->n; p++) out[P->perm[p]] = t[p];
}

/* ---- complex LU of iω − L: one worker per thread ---- */

typedef struct {
    klu_l_common common;
    klu_l_numeric *numeric;   /* the block's factorisation (its pivots reused by refactor) */
    double *A;                /* [2 nnz] values of iω − L, interleaved */
    double complex *X;        /* [n × nrhs] solutions */
    double complex *Y;        /* [n] residual of one column */
    /* the iterative path: GMRES(SPECTRUM_RESTART) right-preconditioned */
    double complex *Vk;       /* [(m+1) × n] Krylov basis */
    double complex *H;        /* [(m+1) × m] column-major */
    double complex *cs, *sn, *g, *y;   /* [m+1] */
    double complex *t, *u, *z, *fiber;
    int iterations;           /* GMRES iterations of the last solve */
    double complex *X1, *X2;  /* [n × nsolve] the block's last two solutions (warm starts) */
    double omega1, omega2;
    int history;              /* how many of them there are */
} worker;

#define SPECTRUM_RESTART 60        /* GMRES restart length */
#define SPECTRUM_GMRES_TOL 1e-12   /* GMRES stops at this ‖r‖₂/‖b‖₂ */
#define SPECTRUM_GMRES_MAX 3000    /* iterations before a solve fails */
#define SPECTRUM_FILL_MAX 40.0     /* auto: the iterative path when the LU would hold more than this many times L's entries */
#define SPECTRUM_ITERATIVE_MIN 2000 /* auto: sectors up to this size always go direct */

static void worker_free(worker *w)
{
    if (w->numeric) klu_zl_free_numeric(&w->numeric, &w->common);
    free(w->A);
    free(w->X);
    free(w->Y);
    free(w->Vk);
    free(w->H);
    free(w->cs);
    free(w->sn);
    free(w->g);
    free(w->y);
    free(w->t);
    free(w->u);
    free(w->z);
    free(w->fiber);
    free(w->X1);
    free(w->X2);
}

static int worker_make(worker *w, const sector *S)
{
    memset(w, 0, sizeof *w);
    klu_l_defaults(&w->common);
    size_t n = S->M->n, m = SPECTRUM_RESTART;
    w->X = malloc(n * (size_t)S->nsolve * sizeof *w->X);
    w->Y = malloc(n * sizeof *w->Y);
    if (!S->P) {
        w->A = malloc(2 * S->M->nnz * sizeof *w->A);
        return w->A && w->X && w->Y;
    }
    w->Vk = malloc((m + 1) * n * sizeof *w->Vk);
    w->H = calloc((m + 1) * m, sizeof *w->H);
    w->cs = malloc((m + 1) * sizeof *w->cs);
    w->sn = malloc((m + 1) * sizeof *w->sn);
    w->g = malloc((m + 1) * sizeof *w->g);
    w->y = malloc((m + 1) * sizeof *w->y);
    w->t = malloc(n * sizeof *w->t);
    w->u = malloc(n * sizeof *w->u);
    w->z = malloc(n * sizeof *w->z);
    w->fiber = malloc((size_t)S->P->max_levels * sizeof *w->fiber);
    w->X1 = malloc(n * (size_t)S->nsolve * sizeof *w->X1);
    w->X2 = malloc(n * (size_t)S->nsolve * sizeof *w->X2);
    return w->X1 && w->X2 && w->X && w->Y && w->Vk && w->H && w->cs && w->sn && w->g && w->y && w->t && w->u && w->z && w->fiber;
}

/* y = (iω − L) x */
static void shifted_apply(const qs_sector_matrix *M, double omega, const double complex *x, double complex *y)
{
    for (size_t r = 0; r < M->n; r++) y[r] = CMPLX(-omega * cimag(x[r]), omega * creal(x[r]));
    for (size_t c = 0; c < M->n; c++) {
        double complex xc = x[c];
        if (xc == 0) continue;
        for (int64_t p = M->Ap[c]; p < M->Ap[c + 1]; p++) y[M->Ai[p]] -= M->Ax[p] * xc;
    }
}

static double vnorm(const double complex *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += creal(x[i]) * creal(x[i]) + cimag(x[i]) * cimag(x[i]);
    return sqrt(s);
}

/* (iω − L) x = b by GMRES right-preconditioned with (iω − L_0)^{−1}, from x = 0 or (guess)
 * from x as given; x and b may not overlap w->Vk, t, u, z. 1 when ‖r‖₂ ≤ SPECTRUM_GMRES_TOL ‖b‖₂. */
static int gmres(worker *w, const sector *S, double omega, const double complex *b, double complex *x, int guess)
{
    const qs_sector_matrix *M = S->M;
    size_t n = M->n, m = SPECTRUM_RESTART;
    double bnorm = vnorm(b, n), target = SPECTRUM_GMRES_TOL * bnorm;
    w->iterations = 0;
    if (!guess) memset(x, 0, n * sizeof *x);
    if (bnorm == 0) { memset(x, 0, n * sizeof *x); return 1; }
    if (guess) {
        shifted_apply(M, omega, x, w->z);
        for (size_t q = 0; q < n; q++) w->z[q] = b[q] - w->z[q];
    } else {
        memcpy(w->z, b, n * sizeof *x);         /* the residual */
    }
    double beta = vnorm(w->z, n);
    if (beta <= target) return 1;
    while (w->iterations < SPECTRUM_GMRES_MAX) {
        for (size_t i = 0; i < n; i++) w->Vk[i] = w->z[i] / beta;
        memset(w->g, 0, (m + 1) * sizeof *w->g);
        w->g[0] = beta;
        size_t k = 0;
        for (; k < m && w->iterations < SPECTRUM_GMRES_MAX; k++) {
            double complex *v = w->Vk + (k + 1) * n, *h = w->H + k * (m + 1);
            precond_apply(S->P, omega, w->Vk + k * n, w->u, w->t, w->fiber);
            shifted_apply(M, omega, w->u, v);
            for (size_t i = 0; i <= k; i++) {       /* modified Gram-Schmidt */
                const double complex *vi = w->Vk + i * n;
                double complex d = 0;
                for (size_t q = 0; q < n; q++) d += conj(vi[q]) * v[q];
                h[i] = d;
                for (size_t q = 0; q < n; q++) v[q] -= d * vi[q];
            }
            double hn = vnorm(v, n);
            h[k + 1] = hn;
            if (hn > 0)
                for (size_t q = 0; q < n; q++) v[q] /= hn;
            for (size_t i = 0; i < k; i++) {       /* earlier rotations */
                double complex a = h[i], c = h[i + 1];
                h[i] = w->cs[i] * a + w->sn[i] * c;
                h[i + 1] = -conj(w->sn[i]) * a + w->cs[i] * c;
            }
            double complex a = h[k], c = h[k + 1];
            double nu = sqrt(creal(a) * creal(a) + cimag(a) * cimag(a) + creal(c) * creal(c) + cimag(c) * cimag(c));
            if (cabs(a) == 0) { w->cs[k] = 0; w->sn[k] = 1; }
            else { w->cs[k] = cabs(a) / nu; w->sn[k] = (a / cabs(a)) * conj(c) / nu; }
            h[k] = w->cs[k] * a + w->sn[k] * c;
            h[k + 1] = 0;
            w->g[k + 1] = -conj(w->sn[k]) * w->g[k];
            w->g[k] = w->cs[k] * w->g[k];
            w->iterations++;
            if (cabs(w->g[k + 1]) <= target || hn == 0) { k++; break; }
        }
        for (size_t i = k; i-- > 0;) {            /* H y = g */
            double complex sum = w->g[i];
            for (size_t q = i + 1; q < k; q++) sum -= w->H[q * (m + 1) + i] * w->y[q];
            w->y[i] = sum / w->H[i * (m + 1) + i];
        }
        memset(w->t, 0, n * sizeof *w->t);
        for (size_t i = 0; i < k; i++)
            for (size_t q = 0; q < n; q++) w->t[q] += w->y[i] * w->Vk[i * n + q];
        precond_apply(S->P, omega, w->t, w->u, w->z, w->fiber);
        for (size_t q = 0; q < n; q++) x[q] += w->u[q];
        shifted_apply(M, omega, x, w->z);         /* true residual */
        for (size_t q = 0; q < n; q++) w->z[q] = b[q] - w->z[q];
        beta = vnorm(w->z, n);
        if (beta <= target) return 1;
        if (!isfinite(beta)) return 0;
    }
    return 0;
}

/* A = iω − L */
static void shifted_values(const sector *S, double omega, double *A)
{
    const qs_sector_matrix *M = S->M;
    for (size_t p = 0; p < M->nnz; p++) {
        A[2 * p] = -creal(M->Ax[p]);
        A[2 * p + 1] = -cimag(M->Ax[p]);
    }
    for (size_t c = 0; c < M->n; c++) A[2 * M->diag[c] + 1] += omega;
}

/* Largest relative residual over the right-hand sides of X for iω − L. */
static double solve_residual(const sector *S, double omega, const double complex *X, double complex *Y)
{
    const qs_sector_matrix *M = S->M;
    size_t n = M->n;
    double norm = 0.0, worst = 0.0;
    for (size_t r = 0; r < n; r++) {
        double d = S->offdiag_abs[r] + cabs(I * omega - M->Ax[M->diag[r]]);
        if (d > norm) norm = d;
    }
    for (int j = 0; j < S->nsolve; j++) {
        const double complex *x = X + (size_t)j * n, *bj = S->Bs + (size_t)j * n;
        double xmax = 0.0, ymax = 0.0;
        for (size_t r = 0; r < n; r++) Y[r] = -bj[r];
        for (size_t c = 0; c < n; c++) {
            if (cabs(x[c]) > xmax) xmax = cabs(x[c]);
            if (x[c] == 0) continue;
            for (int64_t p = M->Ap[c]; p < M->Ap[c + 1]; p++) Y[M->Ai[p]] -= M->Ax[p] * x[c];
            Y[c] += I * omega * x[c];
        }
        for (size_t r = 0; r < n; r++)
            if (!(cabs(Y[r]) <= ymax)) ymax = cabs(Y[r]);
        double rel = xmax > 0 ? ymax / (norm * xmax) : (ymax > 0 ? INFINITY : 0.0);
        if (!(rel <= worst)) worst = rel;
    }
    return worst;
}

/* Solve at ω into w->X, fresh (a new factorisation) or by refactorising the block's; a
 * refactorised solve whose residual is above SPECTRUM_REFACTOR_TOL is done again fresh.
 * *residual: the accepted solve's. 0 on a singular or failed factorisation. */
static int worker_solve(worker *w, const sector *S, klu_l_symbolic *sym, double omega, int fresh, double *residual)
{
    size_t n = S->M->n;
    int64_t *Ap = S->M->Ap, *Ai = S->M->Ai;
    if (S->P) {
        /* from the previous frequencies of the block, extrapolated linearly (the block's
         * first from zero: the same start whatever the thread count) */
        size_t nx = n * (size_t)S->nsolve;
        if (fresh) w->history = 0;
        if (w->history == 0) memset(w->X, 0, nx * sizeof *w->X);
        else if (w->history == 1) memcpy(w->X, w->X1, nx * sizeof *w->X);
        else {
            double c = (omega - w->omega1) / (w->omega1 - w->omega2);
            for (size_t q = 0; q < nx; q++) w->X[q] = w->X1[q] + c * (w->X1[q] - w->X2[q]);
        }
        for (int j = 0; j < S->nsolve; j++)
            if (!gmres(w, S, omega, S->Bs + (size_t)j * n, w->X + (size_t)j * n, w->history > 0)) return 0;
        *residual = solve_residual(S, omega, w->X, w->Y);
        double complex *t = w->X2;
        w->X2 = w->X1;
        w->X1 = t;
        memcpy(w->X1, w->X, nx * sizeof *w->X);
        w->omega2 = w->omega1;
        w->omega1 = omega;
        if (w->history < 2) w->history++;
        return 1;
    }
    shifted_values(S, omega, w->A);
    for (int attempt = fresh ? 1 : 0; attempt < 2; attempt++) {
        if (attempt == 0) {
            if (!w->numeric || !klu_zl_refactor(Ap, Ai, w->A, sym, w->numeric, &w->common) || w->common.status != KLU_OK) continue;
        } else {
            if (w->numeric) klu_zl_free_numeric(&w->numeric, &w->common);
            w->numeric = klu_zl_factor(Ap, Ai, w->A, sym, &w->common);
            if (!w->numeric || w->common.status != KLU_OK) return 0;
        }
        memcpy(w->X, S->Bs, n * (size_t)S->nsolve * sizeof *w->X);
        if (!klu_zl_solve(sym, w->numeric, (int64_t)n, S->nsolve, (double *)w->X, &w->common)) return 0;
        *residual = solve_residual(S, omega, w->X, w->Y);
        if (attempt == 1 || *residual <= SPECTRUM_REFACTOR_TOL) return 1;
    }
    return 0;
}

/* z ← (iω − L)^{−1} z with the last solve's factorisation, or by GMRES (w->Y as the result). */
static int worker_resolve(worker *w, const sector *S, klu_l_symbolic *sym, double omega, double complex *z)
{
    size_t n = S->M->n;
    if (!S->P) return (int)klu_zl_solve(sym, w->numeric, (int64_t)n, 1, (double *)z, &w->common);
    if (!gmres(w, S, omega, z, w->Y, 0)) return 0;
    memcpy(z, w->Y, n * sizeof *z);
    return 1;
}

/* S_j(ω) of every oscillator from the solutions in w->X */
static void spectrum_values(const sector *S, const worker *w, double *out, size_t stride)
{
    for (int j = 0; j < S->nrhs; j++) out[(size_t)j * stride] = 2 * creal(trace_adag(S, S->solve_of[S->rep[j]], w->X + (size_t)S->rep[j] * S->M->n));
}

/* ---- dense eigenvalues of a sector matrix (column-major n × n copy of L) ---- */

static double complex *dense_copy(const qs_sector_matrix *M)
{
    size_t n = M->n, nn;
    if (!qs_mul_size(n, n, &nn)) return NULL;
    double complex *D = calloc(nn, sizeof *D);
    if (!D) return NULL;
    for (size_t c = 0; c < n; c++)
        for (int64_t p = M->Ap[c]; p < M->Ap[c + 1]; p++) D[c * n + (size_t)M->Ai[p]] = M->Ax[p];
    return D;
}

/* Eigenvalues (and right eigenvectors into R if not NULL) of L on the sector. */
static int dense_eigen(const qs_sector_matrix *M, double complex *lambda, double complex *R, qs_error *err)
{
    double complex *D = dense_copy(M);
    if (!D) return qs_error_set(err, QS_ENOMEM, "out of memory for the dense eigenvalues of a %zu-unknown sector", M->n);
    lapack_int n = (lapack_int)M->n;
    lapack_int info = LAPACKE_zgeev(LAPACK_COL_MAJOR, 'N', R ? 'V' : 'N', n, (lapack_complex_double *)D, n,
                                    (lapack_complex_double *)lambda, NULL, 1, (lapack_complex_double *)R, n);
    free(D);
    if (info != 0) return qs_error_set(err, info < 0 ? QS_ENOMEM : QS_ENUMERIC, "the eigenvalues of sector %d did not converge (zgeev %d)", M->k, (int)info);
    return QS_OK;
}

static double sector_norm(const qs_sector_matrix *M)
{
    double *row = calloc(M->n, sizeof *row), norm = 0.0;
    if (!row) return NAN;
    for (size_t p = 0; p < M->nnz; p++) row[M->Ai[p]] += cabs(M->Ax[p]);
    for (size_t r = 0; r < M->n; r++)
        if (row[r] > norm) norm = row[r];
    free(row);
    return norm;
}

/* The smallest −Re λ on the sector; with skip_zero the eigenvalue nearest 0 is left out
 * (sector 0: the steady state's). */
static int dense_rate(const qs_sector_matrix *M, int skip_zero, double *rate, qs_error *err)
{
    double complex *lambda = malloc(M->n * sizeof *lambda);
    if (!lambda) return qs_error_set(err, QS_ENOMEM, "out of memory");
    int status = dense_eigen(M, lambda, NULL, err);
    if (status == QS_OK) {
        size_t zero = 0;
        for (size_t i = 1; i < M->n; i++)
            if (cabs(lambda[i]) < cabs(lambda[zero])) zero = i;
        double best = INFINITY;
        for (size_t i = 0; i < M->n; i++)
            if (!(skip_zero && i == zero) && -creal(lambda[i]) < best) best = -creal(lambda[i]);
        *rate = best;
        if (M->n == 1 && skip_zero) *rate = NAN;
    }
    free(lambda);
    return status;
}

/* ---- a few eigenvalues of a large sector: ARPACK shift-invert ----
 * znaupd/zneupd (mode 3, B = I) on OP = (L − σ)^{−1}, applied by one complex KLU factorisation
 * of L − σ per shift (every ARPACK iteration at that shift reuses it), or on the adjoint
 * OP = (L − σ)^{−H} by the transposed conjugate solve of the same factorisation: its
 * eigenvectors are the left eigenvectors of L (l^H L = λ l^H) with eigenvalues conj(λ).
 * The start vector is fixed (not ARPACK's random one), so every run is repeatable. ARPACK
 * keeps state between the calls of one run only; runs are not concurrent. */

extern void znaupd_(int *ido, const char *bmat, const int *n, const char *which, const int *nev, const double *tol,
                    double complex *resid, const int *ncv, double complex *v, const int *ldv, int *iparam, int *ipntr,
                    double complex *workd, double complex *workl, const int *lworkl, double *rwork, int *info,
                    size_t bmat_len, size_t which_len);
extern void zneupd_(const int *rvec, const char *howmny, int *select, double complex *d, double complex *z, const int *ldz,
                    const double complex *sigma, double complex *workev, const char *bmat, const int *n, const char *which,
                    const int *nev, const double *tol, double complex *resid, const int *ncv, double complex *v, const int *ldv,
                    int *iparam, int *ipntr, double complex *workd, double complex *workl, const int *lworkl, double *rwork,
                    int *info, size_t howmny_len, size_t bmat_len, size_t which_len);

#define ARPACK_MAX_ITER 3000          /* Arnoldi restarts before a shift gives up */
#define ARPACK_NEV_MIN 6              /* eigenvalues per shift, at least (and 2 per oscillator) */
#define EIGEN_RESIDUAL_TOL 1e-9       /* an eigenpair above this relative residual ‖Lr − λr‖/(‖L‖‖r‖) is dropped */

/* L − σ on the sector, factorised. */
static klu_l_numeric *shift_factor(const qs_sector_matrix *M, klu_l_symbolic *sym, double complex sigma, klu_l_common *c)
{
    double *A = malloc(2 * M->nnz * sizeof *A);
    if (!A) return NULL;
    for (size_t p = 0; p < M->nnz; p++) {
        A[2 * p] = creal(M->Ax[p]);
        A[2 * p + 1] = cimag(M->Ax[p]);
    }
    for (size_t col = 0; col < M->n; col++) {
        A[2 * M->diag[col]] -= creal(sigma);
        A[2 * M->diag[col] + 1] -= cimag(sigma);
    }
    klu_l_numeric *num = klu_zl_factor(M->Ap, M->Ai, A, sym, c);
    free(A);
    if (num && c->status != KLU_OK) klu_zl_free_numeric(&num, c);
    return num;
}

/* Relative residual ‖L x − λ x‖∞ / (‖L‖∞ ‖x‖∞); y: [n] workspace. */
static double eigen_residual(const qs_sector_matrix *M, double norm, double complex lambda, const double complex *x, double complex *y)
{
    double xmax = 0.0, ymax = 0.0;
    for (size_t r = 0; r < M->n; r++) y[r] = -lambda * x[r];
    for (size_t col = 0; col < M->n; col++) {
        if (cabs(x[col]) > xmax) xmax = cabs(x[col]);
        for (int64_t p = M->Ap[col]; p < M->Ap[col + 1]; p++) y[M->Ai[p]] += M->Ax[p] * x[col];
    }
    for (size_t r = 0; r < M->n; r++)
        if (!(cabs(y[r]) <= ymax)) ymax = cabs(y[r]);
    return xmax > 0 ? ymax / (norm * xmax) : INFINITY;
}

/* The `nev` eigenvalues of L nearest σ (adjoint: those of L^H nearest conj σ, i.e. conj λ),
 * with their eigenvectors into Z [n × nev] if not NULL; *found: how many converged. */
static int arpack_shift(const qs_sector_matrix *M, klu_l_symbolic *sym, klu_l_numeric *num, klu_l_common *c, double complex sigma,
                        int nev, int adjoint, double complex *lambda, double complex *Z, int *found, qs_error *err)
{
    int n = (int)M->n, ncv = 2 * nev + 1 > 20 ? 2 * nev + 1 : 20;
    *found = 0;
    if (ncv > n) ncv = n;
    if (nev > ncv - 2) nev = ncv - 2;
    if (nev < 1) return qs_error_set(err, QS_EINPUT, "sector %d (%d unknowns) is too small for ARPACK", M->k, n);
    int lworkl = 3 * ncv * ncv + 5 * ncv, ido = 0, info = 1, ldv = n;
    int iparam[11] = {0}, ipntr[14] = {0};
    double tol = 0.0;
    iparam[0] = 1;
    iparam[2] = ARPACK_MAX_ITER;
    iparam[6] = 3;
    double complex *resid = malloc((size_t)n * sizeof *resid), *V = malloc((size_t)n * ncv * sizeof *V);
    double complex *workd = malloc(3 * (size_t)n * sizeof *workd), *workl = malloc((size_t)lworkl * sizeof *workl);
    double complex *workev = malloc(2 * (size_t)ncv * sizeof *workev), *d = malloc(((size_t)nev + 1) * sizeof *d);
    double complex *Zw = malloc((size_t)n * nev * sizeof *Zw);
    double *rwork = malloc((size_t)ncv * sizeof *rwork);
    int *select = calloc((size_t)ncv, sizeof *select);
    int status = QS_OK;
    if (!resid || !V || !workd || !workl || !workev || !d || !Zw || !rwork || !select)
        status = qs_error_set(err, QS_ENOMEM, "out of memory for ARPACK on sector %d (%d unknowns)", M->k, n);
    /* a fixed start: every run the same */
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; status == QS_OK && i < n; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        double a = (double)(x >> 11) / 9007199254740992.0;
        x = x * 6364136223846793005u + 1442695040888963407u;
        double bb = (double)(x >> 11) / 9007199254740992.0;
        resid[i] = CMPLX(a - 0.5, bb - 0.5);
    }
    while (status == QS_OK) {
        znaupd_(&ido, "I", &n, "LM", &nev, &tol, resid, &ncv, V, &ldv, iparam, ipntr, workd, workl, &lworkl, rwork, &info, 1, 2);
        if (ido != -1 && ido != 1) break;
        double complex *in = workd + ipntr[0] - 1, *out = workd + ipntr[1] - 1;
        memcpy(out, in, (size_t)n * sizeof *out);
        int64_t ok = adjoint ? klu_zl_tsolve(sym, num, n, 1, (double *)out, 1, c) : klu_zl_solve(sym, num, n, 1, (double *)out, c);
        if (!ok) status = qs_error_set(err, QS_ENUMERIC, "the shifted solve on sector %d failed (KLU status %d)", M->k, (int)c->status);
    }
    if (status == QS_OK && info < 0)
        status = qs_error_set(err, QS_ENUMERIC, "ARPACK (znaupd) failed on sector %d with info %d", M->k, info);
    if (status == QS_OK && iparam[4] > 0) {
        int rvec = 1, nconv = iparam[4];
        double complex sig = adjoint ? conj(sigma) : sigma;
        zneupd_(&rvec, "A", select, d, Zw, &ldv, &sig, workev, "I", &n, "LM", &nev, &tol, resid, &ncv, V, &ldv, iparam, ipntr, workd,
                workl, &lworkl, rwork, &info, 1, 1, 2);
        if (info != 0) status = qs_error_set(err, QS_ENUMERIC, "ARPACK (zneupd) failed on sector %d with info %d", M->k, info);
        else {
            if (nconv > nev) nconv = nev;
            for (int i = 0; i < nconv; i++) lambda[i] = d[i];
            if (Z) memcpy(Z, Zw, (size_t)n * nconv * sizeof *Z);
            *found = nconv;
        }
    }
    free(resid);
    free(V);
    free(workd);
    free(workl);
    free(workev);
    free(d);
    free(Zw);
    free(rwork);
    free(select);
    return status;
}

/* The shifts of sector −1: σ = iν at every bare transition ν = ω_j − 2K_j(n−1) (MODEL.md §8)
 * whose weight n p_j(n) is at least SHIFT_WEIGHT_MIN of ⟨n_j⟩ (every transition without a
 * state), without repeats. *count shifts into a new array. */
#define SHIFT_WEIGHT_MIN 1e-6
#define SECTOR0_SHIFT 1e-6            /* sector 0's shift σ, times ‖L‖ (0 itself is an eigenvalue) */
static double *bare_shifts(const qs_model *m, const qs_state *state, const double *mean_n, int *count)
{
    size_t total = 0;
    for (int j = 0; j < m->n; j++) total += (size_t)(m->osc[j].levels > 1 ? m->osc[j].levels - 1 : 0);
    double *nu = malloc((total ? total : 1) * sizeof *nu);
    *count = 0;
    if (!nu) return NULL;
    for (int j = 0; j < m->n; j++)
        for (int n = 1; n < m->osc[j].levels; n++) {
            if (state && !(n * qs_state_population(state, j, n) >= SHIFT_WEIGHT_MIN * mean_n[j])) continue;
            double v = m->osc[j].omega - 2 * m->osc[j].K * (n - 1);
            int seen = 0;
            for (int i = 0; i < *count; i++) seen |= nu[i] == v;
            if (!seen) nu[(*count)++] = v;
        }
    return nu;
}

static int arpack_nev(const qs_model *m) { return 2 * m->n > ARPACK_NEV_MIN ? 2 * m->n : ARPACK_NEV_MIN; }

/* The smallest −Re λ among the eigenvalues nearest the shifts whose residual passes; on
 * sector 0 (skip_zero, one shift at a small positive σ) the eigenvalue nearest 0 is the
 * steady state's: it must be 0 (RATE_ZERO_TOL ‖L‖) with a small residual, and is left out. */
static int arpack_rate(const qs_sector_matrix *M, const double complex *shifts, int n_shifts, int nev, int skip_zero, double *rate,
                       qs_error *err)
{
    klu_l_common c;
    klu_l_defaults(&c);
    klu_l_symbolic *sym = klu_l_analyze((int64_t)M->n, M->Ap, M->Ai, &c);
    double complex *lambda = malloc((size_t)nev * sizeof *lambda), *Z = malloc(M->n * (size_t)nev * sizeof *Z);
    double complex *y = malloc(M->n * sizeof *y);
    double norm = sector_norm(M), best = INFINITY;
    int status = QS_OK, good = 0;
    if (!sym) status = qs_error_set(err, c.status == KLU_OUT_OF_MEMORY ? QS_ENOMEM : QS_ENUMERIC, "the analysis of sector %d failed", M->k);
    else if (!lambda || !Z || !y) status = qs_error_set(err, QS_ENOMEM, "out of memory for the eigenvalues of sector %d", M->k);
    for (int s = 0; status == QS_OK && s < n_shifts; s++) {
        klu_l_numeric *num = shift_factor(M, sym, shifts[s], &c);
        if (!num) { status = qs_error_set(err, QS_ENUMERIC, "L − σ is singular on sector %d at σ = %g%+gi", M->k, creal(shifts[s]), cimag(shifts[s])); break; }
        int found = 0;
        status = arpack_shift(M, sym, num, &c, shifts[s], nev, 0, lambda, Z, &found, err);
        klu_zl_free_numeric(&num, &c);
        if (status != QS_OK) break;
        int zero = -1;
        if (skip_zero)
            for (int i = 0; i < found; i++)
                if (zero < 0 || cabs(lambda[i]) < cabs(lambda[zero])) zero = i;
        if (skip_zero && (zero < 0 || !(cabs(lambda[zero]) <= RATE_ZERO_TOL * norm) ||
                          !(eigen_residual(M, norm, lambda[zero], Z + (size_t)zero * M->n, y) <= EIGEN_RESIDUAL_TOL))) {
            status = qs_error_set(err, QS_ENUMERIC, "ARPACK did not find the steady state's zero eigenvalue on sector 0");
            break;
        }
        for (int i = 0; i < found; i++)
            if (i != zero && eigen_residual(M, norm, lambda[i], Z + (size_t)i * M->n, y) <= EIGEN_RESIDUAL_TOL) {
                good++;
                if (-creal(lambda[i]) < best) best = -creal(lambda[i]);
            }
    }
    if (status == QS_OK && good == 0) status = qs_error_set(err, QS_ENUMERIC, "ARPACK found no eigenvalue of sector %d with a small residual", M->k);
    if (status == QS_OK) *rate = best;
    if (sym) klu_l_free_symbolic(&sym, &c);
    free(lambda);
    free(Z);
    free(y);
    return status;
}

/* ---- relaxation rates ---- */

/* A rate −Re λ from eigenvalues of a sector with norm ‖L‖: eigenvalues carry errors of about
 * ε‖L‖, so a rate below −RATE_ROUNDOFF ε‖L‖ means the eigenvalues failed (QS_ENUMERIC), and
 * one within RATE_ROUNDOFF ε‖L‖ of zero is not resolved: NaN (its last bits would follow
 * round-off, e.g. the BLAS thread count). */
#define RATE_ROUNDOFF 64.0
static int rate_validate(double *rate, const qs_sector_matrix *M, qs_error *err)
{
    double floor = RATE_ROUNDOFF * DBL_EPSILON * sector_norm(M);
    if (isnan(*rate)) return QS_OK;
    if (*rate < -floor)
        return qs_error_set(err, QS_ENUMERIC, "sector %d has an eigenvalue with Re λ = %.3g > 0 beyond round-off (%.3g of ‖L‖ = %.3g): the eigenvalues "
                            "are not reliable at these parameters", M->k, -*rate, floor, floor / (RATE_ROUNDOFF * DBL_EPSILON));
    if (!(fabs(*rate) > floor)) *rate = NAN;
    return QS_OK;
}

int qs_relaxation_rates(const qs_model *model, double *relaxation_rate, double *coherence_rate, qs_error *err)
{
    qs_relaxation_options o;
    qs_relaxation_defaults(&o);
    return qs_relaxation_rates_run(model, &o, relaxation_rate, coherence_rate, err);
}

void qs_relaxation_defaults(qs_relaxation_options *o)
{
    memset(o, 0, sizeof *o);
    o->dense_max = QS_SPECTRUM_DENSE_MAX;
}

int qs_relaxation_rates_run(const qs_model *model, const qs_relaxation_options *o, double *relaxation_rate,
                           double *coherence_rate, qs_error *err)
{
    if (relaxation_rate) *relaxation_rate = NAN;
    if (coherence_rate) *coherence_rate = NAN;
    int *levels = malloc((size_t)model->n * sizeof *levels);
    if (!levels) return qs_error_set(err, QS_ENOMEM, "out of memory");
    qs_basis *b = NULL;
    int status = model_levels(model, levels, err);
    if (status == QS_OK) status = qs_basis_create(model->n, levels, &b, err);
    free(levels);
    for (int k = 0; status == QS_OK && k >= -1; k--) {
        double *rate = k == 0 ? relaxation_rate : coherence_rate;
        if (!rate) continue;
        size_t dim = qs_sector_matrix_dimension(b, k);
        int dense = dim <= (size_t)o->dense_max;
        if (!dense && o->dense_only) {
            status = qs_error_set(err, QS_ETOOBIG, "sector %d has %zu unknowns, above the %d of the dense eigenvalues", k, dim, o->dense_max);
            break;
        }
        qs_sector_matrix *M = NULL;
        status = qs_sector_matrix_create(b, model, k, o->memory_limit, dense ? 16.0 * (double)dim * (double)dim : 0.0, &M, err);
        if (status == QS_OK && dense) status = dense_rate(M, k == 0, rate, err);
        else if (status == QS_OK) {
            /* sector 0: one shift just right of the steady state's 0; sector −1: the bare lines */
            int count = 1;
            double *nu = k == 0 ? NULL : bare_shifts(model, NULL, NULL, &count);
            double complex *shifts = malloc((size_t)(count > 0 ? count : 1) * sizeof *shifts);
            if (!shifts || (k != 0 && !nu)) status = qs_error_set(err, QS_ENOMEM, "out of memory");
            for (int i = 0; status == QS_OK && i < count; i++) shifts[i] = k == 0 ? SECTOR0_SHIFT * sector_norm(M) : I * nu[i];
            if (status == QS_OK) status = arpack_rate(M, shifts, count, k == 0 ? ARPACK_NEV_MIN : arpack_nev(model), k == 0, rate, err);
            free(nu);
            free(shifts);
        }
        if (status == QS_OK) status = rate_validate(rate, M, err);
        qs_sector_matrix_free(&M);
    }
    qs_basis_free(&b);
    return status;
}

/* ---- the spectrum ---- */

void qs_spectrum_free(qs_spectrum **s)
{
    if (!s || !*s) return;
    free((*s)->omega);
    free((*s)->values);
    free((*s)->peak);
    free((*s)->height);
    free((*s)->fwhm);
    free((*s)->sum);
    free((*s)->mean_n);
    free((*s)->warning);
    free((*s)->line_freq);
    free((*s)->line_hw);
    free((*s)->line_w);
    free((*s)->line_lambda);
    free((*s)->captured);
    free(*s);
    *s = NULL;
}

/* Fresh solves at ω for the refinements: S_j(ω) and its first two derivatives from the same
 * factorisation. With R = (iω − L)^{−1}: dR/dω = −i R², d²R/dω² = −2 R³, so
 * S = 2 Re T(Rb), S' = 2 Im T(R²b), S'' = −4 Re T(R³b), T = Tr[a_j† ·]. */
typedef struct {
    worker *w;
    const sector *S;
    klu_l_symbolic *sym;
    double worst;             /* largest residual so far */
    double tol;
    int failed;
    double complex *z;        /* [n] */
} probe;

static double probe_eval(probe *pr, int j, double omega, double *d1, double *d2)
{
    double res;
    size_t n = pr->S->M->n;
    if (!worker_solve(pr->w, pr->S, pr->sym, omega, 1, &res) || !(res <= pr->tol)) {
        pr->failed = 1;
        return NAN;
    }
    if (res > pr->worst) pr->worst = res;
    const double complex *x = pr->w->X + (size_t)pr->S->rep[j] * n;
    double value = 2 * creal(trace_adag(pr->S, j, x));
    if (d1) {
        memcpy(pr->z, x, n * sizeof *pr->z);
        if (!worker_resolve(pr->w, pr->S, pr->sym, omega, pr->z)) { pr->failed = 1; return NAN; }
        *d1 = 2 * cimag(trace_adag(pr->S, j, pr->z));
        if (!worker_resolve(pr->w, pr->S, pr->sym, omega, pr->z)) { pr->failed = 1; return NAN; }
        *d2 = -4 * creal(trace_adag(pr->S, j, pr->z));
    }
    return value;
}

/* The maximum of S_j in [a, c] (the grid's neighbours of its largest point b): Newton on
 * S' = 0, kept inside a bracket that shrinks by the sign of S' (bisection when a step leaves it). */
static void refine_peak(probe *pr, int j, double a, double b, double fb, double c, double *x_best, double *f_best)
{
    /* down to a few ulps until the curvature shows the line's width (below) */
    double tol = 4 * DBL_EPSILON * fmax(fabs(a), fabs(c));
    *x_best = b;
    *f_best = fb;
    double x = b;
    for (int it = 0; it < 100 && c - a > tol && !pr->failed; it++) {
        double d1, d2, f = probe_eval(pr, j, x, &d1, &d2);
        if (pr->failed) return;
        /* relative to the line's width √(S/|S''|) when that is narrower (a few ulps at least) */
        if (d2 < 0 && f > 0) tol = fmax(4 * DBL_EPSILON * fabs(x), SPECTRUM_PEAK_TOL * fmin(fmax(1.0, fabs(x)), sqrt(f / -d2)));
        if (f > *f_best) { *f_best = f; *x_best = x; }
        if (d1 > 0) a = x; else if (d1 < 0) c = x; else return;
        double step = d2 < 0 ? -d1 / d2 : NAN, next = x + step;
        if (!(next > a && next < c)) next = 0.5 * (a + c);
        else if (fabs(step) < tol) {                  /* converged: one more value at the Newton point */
            double fn = probe_eval(pr, j, next, NULL, NULL);
            if (fn > *f_best) { *f_best = fn; *x_best = next; }
            return;
        }
        x = next;
    }
}

/* The crossing of S_j = h between x0 (above h) and x1 (below h): Newton kept inside the
 * bracket (bisection when a step leaves it). */
static double crossing(probe *pr, int j, double h, double x0, double x1)
{
    double x = 0.5 * (x0 + x1);
    /* the tolerance follows the bracket (relative to where it now is), so a wide first bracket
     * (a coarse grid) still ends on the crossing; bisection alone ends within ~2100 halvings */
    for (int it = 0; it < SPECTRUM_CROSSING_ITERATIONS && !pr->failed; it++) {
        double d1, d2, f = probe_eval(pr, j, x, &d1, &d2) - h;
        /* relative to where the bracket is, and to the line's width h/|S'| when narrower (a
         * few ulps at least) */
        double tol = SPECTRUM_PEAK_TOL * fmax(DBL_MIN, fmax(fabs(x0), fabs(x1)));
        if (d1 != 0) tol = fmax(4 * DBL_EPSILON * fabs(x), fmin(tol, SPECTRUM_PEAK_TOL * fabs(h / d1)));
        if (f == 0) return x;
        if (f > 0) x0 = x; else x1 = x;
        double step = -f / d1, next = x + step;
        if (fabs(step) < tol && next > fmin(x0, x1) - tol && next < fmax(x0, x1) + tol) return next;
        if (!(next > fmin(x0, x1) && next < fmax(x0, x1))) next = 0.5 * (x0 + x1);
        if (fabs(x1 - x0) < tol) return 0.5 * (x0 + x1);
        x = next;
    }
    return pr->failed ? NAN : 0.5 * (x0 + x1);
}

static int compute_lines(qs_spectrum *res, const sector *S, klu_l_symbolic *sym, const qs_model *model, const qs_state *state, int dense_max,
                         qs_error *err);

int qs_spectrum_check_grid(double a, double b, int n, qs_error *err)
{
    if (n < 2 || n > QS_SPECTRUM_MAX_POINTS)
        return qs_error_set(err, QS_EINPUT, "the frequency grid needs 2 to %d points (got %d)", QS_SPECTRUM_MAX_POINTS, n);
    if (!isfinite(a) || !isfinite(b))
        return qs_error_set(err, QS_EINPUT, "the frequency range %g to %g is not finite", a, b);
    if (!(b > a)) return qs_error_set(err, QS_EINPUT, "the frequency range %g to %g is empty: the first end must be below the second", a, b);
    double step = (b - a) / (n - 1);
    if (!isfinite(b - a))
        return qs_error_set(err, QS_EINPUT, "the frequency range %g to %g is too wide: its length overflows", a, b);
    /* the points a + step·i must be distinct where they are largest: a step above the spacing
     * of doubles at max(|a|, |b|) (a few ulps, so the refinements have room between them) */
    if (!(step > 4 * DBL_EPSILON * fmax(fabs(a), fabs(b))) || !(step > DBL_MIN))
        return qs_error_set(err, QS_EINPUT, "the frequency grid %.17g to %.17g with %d points has a step of %g, too small for distinct points at that magnitude", a, b, n, step);
    return QS_OK;
}

/* Append note to oscillator j's warning. */
static void spectrum_note(qs_spectrum *res, int j, const char *fmt, double x, double y)
{
    char *w = res->warning[j];
    size_t len = strlen(w);
    if (len + 2 >= SPECTRUM_WARNING_LEN) return;
    if (len) w[len++] = '\n';
    snprintf(w + len, SPECTRUM_WARNING_LEN - len, fmt, x, y);
}

int qs_spectrum_run(const qs_model *model, const qs_state *state, const qs_spectrum_options *options,
                    qs_spectrum **result, qs_error *err)
{
    *result = NULL;
    qs_spectrum_options o;
    if (options) o = *options; else qs_spectrum_defaults(&o);
    const qs_basis *b = state->basis;
    if (model->n != b->n) return qs_error_set(err, QS_EINPUT, "the state has %d oscillators, the model %d", b->n, model->n);
    for (int j = 0; j < b->n; j++)
        if (model->osc[j].levels != b->levels[j])
            return qs_error_set(err, QS_EINPUT, "oscillator %s: the state has %d levels, the model %d", model->names[j], b->levels[j], model->osc[j].levels);
    if (isnan(o.omega_min) && isnan(o.omega_max)) {
        int status = qs_spectrum_default_range(model, &o.omega_min, &o.omega_max, err);
        if (status != QS_OK) return status;
        if (qs_spectrum_check_grid(o.omega_min, o.omega_max, o.n_omega, err) != QS_OK) {
            return qs_error_prefix(err, QS_EINPUT, "the default range of this model is not representable (give a grid): ");
        }
    }
    int grid_status = qs_spectrum_check_grid(o.omega_min, o.omega_max, o.n_omega, err);
    if (grid_status != QS_OK) return grid_status;
    if (!(o.residual_tol > 0)) o.residual_tol = QS_SPECTRUM_RESIDUAL_TOL;
    double limit = o.memory_limit > 0 ? o.memory_limit : qs_memory_available();

    qs_spectrum *res = calloc(1, sizeof *res);
    if (!res) return qs_error_set(err, QS_ENOMEM, "out of memory");
    int N = b->n, W = o.n_omega;
    res->n_osc = N;
    res->n_omega = W;
    res->omega = malloc((size_t)W * sizeof *res->omega);
    res->values = malloc((size_t)W * (size_t)N * sizeof *res->values);
    res->peak = malloc((size_t)N * sizeof(double));
    res->height = malloc((size_t)N * sizeof(double));
    res->fwhm = malloc((size_t)N * sizeof(double));
    res->sum = malloc((size_t)N * sizeof(double));
    res->mean_n = malloc((size_t)N * sizeof(double));
    res->warning = calloc((size_t)N, sizeof *res->warning);
    if (!res->omega || !res->values || !res->peak || !res->height || !res->fwhm || !res->sum || !res->mean_n || !res->warning) {
        qs_spectrum_free(&res);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the spectrum");
    }
    for (int i = 0; i < W; i++) res->omega[i] = i == W - 1 ? o.omega_max : o.omega_min + (o.omega_max - o.omega_min) * i / (W - 1);
    for (int j = 0; j < N; j++) {
        double m = 0.0;
        for (int n = 1; n < b->levels[j]; n++) m += n * qs_state_population(state, j, n);
        res->mean_n[j] = m;
    }

    sector S;
    int status = sector_make(&S, b, model, state->rho, limit, err);
    klu_l_symbolic *sym = NULL;
    klu_l_common common;
    klu_l_defaults(&common);
    if (status == QS_OK) res->sector_dim = S.M->n;
    /* a coherence that may never decay: refused unless the dense eigenvalues show it decays */
    if (status == QS_OK && S.has_undamped) {
        double rate = NAN;
        if (S.M->n > (size_t)o.dense_max)
            status = qs_error_set(err, QS_ENUMERIC, "iω − L may be singular: a coherence of sector −1 has no decay rate of its own (γ = 0), and the sector (%zu unknowns) is too large to check its eigenvalues", S.M->n);
        else if ((status = dense_rate(S.M, 0, &rate, err)) == QS_OK && !(rate > RATE_ZERO_TOL * sector_norm(S.M)))
            status = qs_error_set(err, QS_ENUMERIC, "iω − L is singular: a coherence never decays (the smallest decay rate on sector −1 is %.3g; is some γ = 0?)", rate);
    }
    if (status == QS_OK) {
        sym = klu_l_analyze((int64_t)S.M->n, S.M->Ap, S.M->Ai, &common);
        if (!sym) status = qs_error_set(err, common.status == KLU_OUT_OF_MEMORY ? QS_ENOMEM : QS_ENUMERIC, "the analysis of sector −1 failed (KLU status %d)", (int)common.status);
    }
    int threads = o.threads;
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#else
    threads = 1;
#endif
    int blocks = (W + SPECTRUM_BLOCK - 1) / SPECTRUM_BLOCK;
    if (threads > blocks) threads = blocks;
    /* the iterative path: asked, or (auto) a large sector whose LU would fill in */
    if (status == QS_OK && (o.solver == QS_SPECTRUM_ITERATIVE ||
                            (o.solver == QS_SPECTRUM_AUTO && S.M->n > SPECTRUM_ITERATIVE_MIN &&
                             sym->lnz + sym->unz > SPECTRUM_FILL_MAX * (double)S.M->nnz))) {
        if (!precond_make(&S, model)) {
            precond_free(&S.P);
            if (o.solver == QS_SPECTRUM_ITERATIVE) status = qs_error_set(err, QS_ENOMEM, "out of memory for the iterative solver's preconditioner");
        }
    }
    if (status == QS_OK) {
        res->iterative = S.P != NULL;
        /* each worker: its LU (KLU's estimate of L+U entries, a third more for its growth), the
         * values of iω − L, the solutions and a residual; or the Krylov basis and vectors */
        double lu = (sym->lnz + sym->unz + (double)S.M->n) * (sizeof(double complex) + sizeof(int64_t)) * 1.33;
        if (S.P) lu = (SPECTRUM_RESTART + 5.0) * 16.0 * (double)S.M->n;
        double per = lu + 16.0 * (double)S.M->nnz + 16.0 * (double)S.M->n * (N + 1);
        double base = 36.0 * (double)S.M->nnz + 16.0 * (double)S.M->n * N;
        if (limit > 0 && base + per > limit) {
            char left[48];
            status = qs_error_set(err, QS_ETOOBIG, "the spectrum's complex LU of sector −1 (%zu unknowns, about %.4g million entries) needs about %.4g MiB, but %s available",
                                  S.M->n, (sym->lnz + sym->unz) / 1e6, (base + per) / 1048576.0, qs_memory_left_phrase(left, limit));
        } else if (limit > 0 && base + threads * per > limit) {
            threads = (int)((limit - base) / per);
            if (threads < 1) threads = 1;
        }
    }
    double worst = 0.0;
    int failed = 0, stopped = 0, done = 0;
    double fail_omega = NAN, fail_res = NAN;
    if (status == QS_OK) {
#pragma omp parallel num_threads(threads) reduction(max : worst)
        {
            worker w;
            int ok = worker_make(&w, &S);
#pragma omp for schedule(dynamic, 1)
            for (int blk = 0; blk < blocks; blk++) {
                int halt;
#pragma omp atomic read
                halt = stopped;
                if (!halt && o.stop && *o.stop) {
#pragma omp atomic write
                    stopped = 1;
                    halt = 1;
                }
                if (halt) continue;
                for (int i = blk * SPECTRUM_BLOCK; i < W && i < (blk + 1) * SPECTRUM_BLOCK; i++) {
                    double r = INFINITY;
                    int solved = ok && worker_solve(&w, &S, sym, res->omega[i], i == blk * SPECTRUM_BLOCK, &r);
                    if (!solved || !(r <= o.residual_tol)) {
#pragma omp critical(qs_spectrum_fail)
                        if (!failed || res->omega[i] < fail_omega) { failed = 1; fail_omega = res->omega[i]; fail_res = solved ? r : NAN; }
                        continue;
                    }
                    if (r > worst) worst = r;
                    spectrum_values(&S, &w, res->values + i, (size_t)W);
                }
                if (o.progress) {
#pragma omp critical(qs_spectrum_progress)
                    {
                        done += blk == blocks - 1 ? W - blk * SPECTRUM_BLOCK : SPECTRUM_BLOCK;
                        o.progress(o.progress_ctx, done, W);
                    }
                }
            }
            worker_free(&w);
        }
        if (stopped)
            status = qs_error_set(err, QS_EINPUT, "interrupted");
        else if (failed)
            status = isnan(fail_res) ? qs_error_set(err, QS_ENUMERIC, "iω − L is singular at ω = %.10g (a coherence that does not decay?)", fail_omega)
                                     : qs_error_set(err, QS_ENUMERIC, "the solve at ω = %.10g has relative residual %.3g, above %.3g", fail_omega, fail_res, o.residual_tol);
    }
    /* peak, width, sum rule */
    if (status == QS_OK) {
        worker w;
        probe pr = {&w, &S, sym, worst, o.residual_tol, 0, malloc(S.M->n * sizeof(double complex))};
        if (!worker_make(&w, &S) || !pr.z) status = qs_error_set(err, QS_ENOMEM, "out of memory");
        for (int j = 0; status == QS_OK && j < N; j++) {
            const double *v = res->values + (size_t)j * W;
            int im = 0;
            double sum = 0.0;
            for (int i = 0; i < W; i++) {
                if (v[i] > v[im]) im = i;
                if (i > 0) sum += 0.5 * (v[i] + v[i - 1]) * (res->omega[i] - res->omega[i - 1]);
            }
            res->sum[j] = sum / (2 * M_PI);
            int k = S.solve_of[S.rep[j]];
            if (k != j) {                             /* the same spectrum as oscillator k's */
                res->peak[j] = res->peak[k];
                res->height[j] = res->height[k];
                res->fwhm[j] = res->fwhm[k];
                memcpy(res->warning[j], res->warning[k], sizeof res->warning[j]);
                continue;
            }
            res->peak[j] = res->height[j] = res->fwhm[j] = NAN;
            if (!(res->mean_n[j] > 0) || !(v[im] > 0)) {
                spectrum_note(res, j, "S is zero everywhere (<n> = %.3g): no peak, width or sum-rule ratio", res->mean_n[j], 0);
                continue;
            }
            double x = res->omega[im], h = v[im];
            if (im > 0 && im < W - 1) refine_peak(&pr, j, res->omega[im - 1], x, v[im], res->omega[im + 1], &x, &h);
            else spectrum_note(res, j, "the largest value is at the grid's end (omega = %.10g): the peak may lie outside the range", x, 0);
            res->peak[j] = x;
            res->height[j] = h;
            /* the crossings, bracketed outward from the refined peak x: grid points strictly on
             * each side of x, walked outward while at or above half the height */
            double half = 0.5 * h, left = NAN, right = NAN;
            int il = im, ir = im;
            if (!(res->omega[il] < x)) il--;
            if (!(res->omega[ir] > x)) ir++;
            int l = il, r = ir;
            while (l >= 0 && !(v[l] < half)) l--;
            while (r < W && !(v[r] < half)) r++;
            if (l >= 0) left = crossing(&pr, j, half, l == il ? x : res->omega[l + 1], res->omega[l]);
            if (r < W) right = crossing(&pr, j, half, r == ir ? x : res->omega[r - 1], res->omega[r]);
            double step = (o.omega_max - o.omega_min) / (W - 1);
            /* S near a line of half-width κ is known to about ε‖iω − L‖/κ (the solve's
             * condition): a line too narrow for that is not resolved in doubles at all */
            double norm = 0.0;
            for (size_t q = 0; q < S.M->n; q++) norm = fmax(norm, S.offdiag_abs[q] + cabs(I * x - S.M->Ax[S.M->diag[q]]));
            if (right - left > 0 && DBL_EPSILON * norm / (0.5 * (right - left)) > SPECTRUM_RESOLVE_TOL) {
                spectrum_note(res, j, "the line at omega = %.10g (width about %.3g) is too narrow for double precision beside the "
                              "Liouvillian's scale: peak, height and FWHM not resolved", x, right - left);
                res->peak[j] = res->height[j] = NAN;
            } else if (right - left > 0) {
                res->fwhm[j] = right - left;
                if (step > 0.5 * res->fwhm[j])
                    spectrum_note(res, j, "the grid spacing %.3g is above half the FWHM %.3g: the line is not resolved (sum rule and plot unreliable: use more points)", step, res->fwhm[j]);
            } else if (!pr.failed)
                spectrum_note(res, j, "no FWHM: half the peak height is not reached inside the grid (%.10g to %.10g)", o.omega_min, o.omega_max);
            double ratio = res->sum[j] / res->mean_n[j];
            if (!(fabs(ratio - 1) <= QS_SPECTRUM_SUM_RULE_TOL))
                spectrum_note(res, j, "the sum rule over the grid is %.4g of <n> (%.3g): the range misses part of the line or the grid does not resolve it", ratio, res->mean_n[j]);
            if (pr.failed) status = qs_error_set(err, QS_ENUMERIC, "a solve refining the peak of oscillator %s failed its residual check", model->names[j]);
        }
        worker_free(&w);
        free(pr.z);
        worst = pr.worst;
    }
    res->residual = worst;
    if (status == QS_OK && o.lines) status = compute_lines(res, &S, sym, model, state, o.dense_max, err);
    if (sym) klu_l_free_symbolic(&sym, &common);
    sector_free(&S);
    if (status != QS_OK) {
        qs_spectrum_free(&res);
        return status;
    }
    *result = res;
    return QS_OK;
}

/* ---- lines ---- */

typedef struct {
    double freq;
    size_t index;
} line_order;

static int cmp_line(const void *a, const void *b)
{
    const line_order *x = a, *y = b;
    if (x->freq != y->freq) return (x->freq > y->freq) - (x->freq < y->freq);
    return (x->index > y->index) - (x->index < y->index);
}

/* Store lines from eigenvalues lambda [m] and weights W [m × N] (row per line), sorted by frequency. */
static int store_lines(qs_spectrum *res, size_t m, const double complex *lambda, const double complex *Wt, const char *method)
{
    int N = res->n_osc;
    line_order *ord = malloc((m ? m : 1) * sizeof *ord);
    res->line_freq = malloc((m ? m : 1) * sizeof *res->line_freq);
    res->line_hw = malloc((m ? m : 1) * sizeof *res->line_hw);
    res->line_lambda = malloc((m ? m : 1) * sizeof *res->line_lambda);
    res->line_w = malloc((m ? m : 1) * (size_t)N * sizeof *res->line_w);
    if (!ord || !res->line_freq || !res->line_hw || !res->line_w || !res->line_lambda) { free(ord); return 0; }
    for (size_t i = 0; i < m; i++) ord[i] = (line_order){cimag(lambda[i]), i};
    qsort(ord, m, sizeof *ord, cmp_line);
    for (size_t i = 0; i < m; i++) {
        size_t k = ord[i].index;
        res->line_lambda[i] = lambda[k];
        res->line_freq[i] = cimag(lambda[k]);
        res->line_hw[i] = -creal(lambda[k]);
        for (int j = 0; j < N; j++) res->line_w[i * (size_t)N + (size_t)j] = Wt[k * (size_t)N + (size_t)j];
    }
    free(ord);
    res->captured = calloc((size_t)N, sizeof *res->captured);
    if (!res->captured) return 0;
    for (int j = 0; j < N; j++) {
        for (size_t i = 0; i < m; i++) res->captured[j] += creal(res->line_w[i * (size_t)N + (size_t)j]);
        res->captured[j] /= res->mean_n[j];
    }
    res->n_lines = (int)m;
    snprintf(res->lines_method, sizeof res->lines_method, "%s", method);
    return 1;
}

static int arpack_lines(qs_spectrum *res, const sector *S, klu_l_symbolic *sym, const qs_model *model, const qs_state *state, qs_error *err);

static int compute_lines(qs_spectrum *res, const sector *S, klu_l_symbolic *sym, const qs_model *model, const qs_state *state, int dense_max,
                         qs_error *err)
{
    size_t n = S->M->n, nn;
    int N = S->nrhs;
    if (n > (size_t)dense_max) return arpack_lines(res, S, sym, model, state, err);
    if (!qs_mul_size(n, n, &nn))
        return qs_error_set(err, QS_ETOOBIG, "sector −1 (%zu unknowns) is above the %d of the dense eigenvectors", n, dense_max);
    double complex *lambda = malloc(n * sizeof *lambda), *R = malloc(nn * sizeof *R), *Rc = malloc(nn * sizeof *Rc);
    double complex *C = malloc(n * (size_t)N * sizeof *C), *Wt = malloc(n * (size_t)N * sizeof *Wt);
    lapack_int *ipiv = malloc(n * sizeof *ipiv);
    int status = QS_OK;
    if (!lambda || !R || !Rc || !C || !Wt || !ipiv) status = qs_error_set(err, QS_ENOMEM, "out of memory for the spectral lines (%zu unknowns)", n);
    if (status == QS_OK) status = dense_eigen(S->M, lambda, R, err);
    if (status == QS_OK) {
        memcpy(Rc, R, nn * sizeof *R);
        memcpy(C, S->B, n * (size_t)N * sizeof *C);
        lapack_int info = LAPACKE_zgesv(LAPACK_COL_MAJOR, (lapack_int)n, N, (lapack_complex_double *)Rc, (lapack_int)n, ipiv,
                                        (lapack_complex_double *)C, (lapack_int)n);
        if (info != 0) status = qs_error_set(err, QS_ENUMERIC, "the eigenvectors of sector −1 are not a basis (L is defective there)");
    }
    if (status == QS_OK) {
        for (size_t m = 0; m < n; m++)
            for (int j = 0; j < N; j++) Wt[m * (size_t)N + (size_t)j] = trace_adag(S, j, R + m * n) * C[(size_t)j * n + m];
        if (!store_lines(res, n, lambda, Wt, "dense")) status = qs_error_set(err, QS_ENOMEM, "out of memory for the spectral lines");
    }
    free(lambda);
    free(R);
    free(Rc);
    free(C);
    free(Wt);
    free(ipiv);
    return status;
}

/* Lines of a large sector −1 (MODEL.md §8) by ARPACK around the bare lines σ = iν: at each
 * shift the right eigenvectors (OP = (L − σ)^{−1}) and the left ones (the adjoint run on the
 * same factorisation), both residual-checked. Eigenvalues equal within CLUSTER_TOL ‖L‖ form
 * one cluster (a degenerate eigenspace); a cluster whose right and left runs found the same
 * number k of vectors gets the biorthogonal weights of its spectral projector: with
 * G = Lᴴ R (k × k), C = G^{−1} Lᴴ B and w_jm = Tr[a_j† r_m] C_mj (for k = 1: l·b / l·r).
 * A cluster found at an earlier shift is not added again; clusters whose counts differ, or
 * with a failed residual, are dropped and counted. */
#define CLUSTER_TOL 1e-8

static double eigen_residual_adjoint(const qs_sector_matrix *M, double norm, double complex mu, const double complex *x, double complex *y)
{
    double xmax = 0.0, ymax = 0.0;
    for (size_t col = 0; col < M->n; col++) {
        double complex t = -mu * x[col];
        for (int64_t p = M->Ap[col]; p < M->Ap[col + 1]; p++) t += conj(M->Ax[p]) * x[M->Ai[p]];
        y[col] = t;
        if (cabs(x[col]) > xmax) xmax = cabs(x[col]);
    }
    for (size_t r = 0; r < M->n; r++)
        if (!(cabs(y[r]) <= ymax)) ymax = cabs(y[r]);
    return xmax > 0 ? ymax / (norm * xmax) : INFINITY;
}

static int arpack_lines(qs_spectrum *res, const sector *S, klu_l_symbolic *sym, const qs_model *model, const qs_state *state, qs_error *err)
{
    const qs_sector_matrix *M = S->M;
    size_t n = M->n;
    int N = S->nrhs, count = 0, nev = arpack_nev(model);
    double *nu = bare_shifts(model, state, res->mean_n, &count);
    size_t cap = (size_t)(count > 0 ? count : 1) * (size_t)nev;
    double complex *lam = malloc(cap * sizeof *lam), *Wt = malloc(cap * (size_t)N * sizeof *Wt);
    double complex *lr = malloc((size_t)nev * sizeof *lr), *ll = malloc((size_t)nev * sizeof *ll);
    double complex *Zr = malloc(n * (size_t)nev * sizeof *Zr), *Zl = malloc(n * (size_t)nev * sizeof *Zl), *y = malloc(n * sizeof *y);
    double complex *G = malloc((size_t)nev * nev * sizeof *G), *C = malloc((size_t)nev * N * sizeof *C);
    lapack_int *ipiv = malloc((size_t)nev * sizeof *ipiv);
    int *okr = malloc((size_t)nev * sizeof *okr), *okl = malloc((size_t)nev * sizeof *okl), *ir = malloc((size_t)nev * sizeof *ir),
        *il = malloc((size_t)nev * sizeof *il);
    klu_l_common c;
    klu_l_defaults(&c);
    double norm = sector_norm(M), worst = 0.0;
    size_t m = 0;
    int status = QS_OK, dropped = 0;
    if (!nu || !lam || !Wt || !lr || !ll || !Zr || !Zl || !y || !G || !C || !ipiv || !okr || !okl || !ir || !il)
        status = qs_error_set(err, QS_ENOMEM, "out of memory for the spectral lines (ARPACK, %zu unknowns)", n);
    for (int s = 0; status == QS_OK && s < count; s++) {
        double complex sigma = I * nu[s];
        klu_l_numeric *num = shift_factor(M, sym, sigma, &c);
        if (!num) { status = qs_error_set(err, QS_ENUMERIC, "L − iν is singular on sector −1 at ν = %.10g", nu[s]); break; }
        int fr = 0, fl = 0;
        status = arpack_shift(M, sym, num, &c, sigma, nev, 0, lr, Zr, &fr, err);
        if (status == QS_OK) status = arpack_shift(M, sym, num, &c, sigma, nev, 1, ll, Zl, &fl, err);
        klu_zl_free_numeric(&num, &c);
        if (status != QS_OK) break;
        for (int i = 0; i < fl; i++) ll[i] = conj(ll[i]);
        for (int i = 0; i < fr; i++) {
            double r = eigen_residual(M, norm, lr[i], Zr + (size_t)i * n, y);
            okr[i] = r <= EIGEN_RESIDUAL_TOL;
            if (okr[i] && r > worst) worst = r;
        }
        for (int i = 0; i < fl; i++) okl[i] = eigen_residual_adjoint(M, norm, conj(ll[i]), Zl + (size_t)i * n, y) <= EIGEN_RESIDUAL_TOL;
        for (int i = 0; i < fr; i++) {
            if (okr[i] < 0) continue;                /* already in a cluster */
            double complex l0 = lr[i];
            int kr = 0, kl = 0, bad = 0;
            for (int q = i; q < fr; q++)
                if (okr[q] >= 0 && cabs(lr[q] - l0) <= CLUSTER_TOL * norm) { bad |= !okr[q]; ir[kr++] = q; okr[q] = -1; }
            for (int q = 0; q < fl; q++)
                if (okl[q] >= 0 && cabs(ll[q] - l0) <= CLUSTER_TOL * norm) { bad |= !okl[q]; il[kl++] = q; okl[q] = -1; }
            int seen = 0;
            for (size_t q = 0; q < m; q++) seen |= cabs(lam[q] - l0) <= CLUSTER_TOL * norm;
            if (seen) continue;                       /* found from a neighbouring shift */
            if (bad || kl != kr) { dropped += kr; continue; }
            /* G = Lᴴ R, C = Lᴴ B (column-major k × k and k × N) */
            for (int a = 0; a < kl; a++) {
                const double complex *l = Zl + (size_t)il[a] * n;
                for (int b2 = 0; b2 < kr; b2++) {
                    const double complex *r = Zr + (size_t)ir[b2] * n;
                    double complex d = 0;
                    for (size_t q = 0; q < n; q++) d += conj(l[q]) * r[q];
                    G[(size_t)b2 * kr + a] = d;
                }
                for (int j = 0; j < N; j++) {
                    const double complex *bj = S->B + (size_t)j * n;
                    double complex d = 0;
                    for (size_t q = 0; q < n; q++) d += conj(l[q]) * bj[q];
                    C[(size_t)j * kr + a] = d;
                }
            }
            if (LAPACKE_zgesv(LAPACK_COL_MAJOR, kr, N, (lapack_complex_double *)G, kr, ipiv, (lapack_complex_double *)C, kr) != 0) {
                dropped += kr;
                continue;
            }
            for (int a = 0; a < kr; a++) {
                lam[m] = lr[ir[a]];
                for (int j = 0; j < N; j++) Wt[m * (size_t)N + (size_t)j] = trace_adag(S, j, Zr + (size_t)ir[a] * n) * C[(size_t)j * kr + a];
                m++;
            }
        }
    }
    if (status == QS_OK && !store_lines(res, m, lam, Wt, "arpack")) status = qs_error_set(err, QS_ENOMEM, "out of memory for the spectral lines");
    res->lines_dropped = dropped;
    res->lines_residual = worst;
    free(nu);
    free(lam);
    free(Wt);
    free(lr);
    free(ll);
    free(Zr);
    free(Zl);
    free(y);
    free(G);
    free(C);
    free(ipiv);
    free(okr);
    free(okl);
    free(ir);
    free(il);
    return status;
}

/* ---- getters ---- */

int qs_spectrum_size(const qs_spectrum *s) { return s->n_osc; }
int qs_spectrum_points(const qs_spectrum *s) { return s->n_omega; }
const double *qs_spectrum_omega(const qs_spectrum *s) { return s->omega; }
const double *qs_spectrum_values(const qs_spectrum *s, int j) { return j >= 0 && j < s->n_osc ? s->values + (size_t)j * s->n_omega : NULL; }
static double per_osc(const qs_spectrum *s, const double *v, int j) { return j >= 0 && j < s->n_osc ? v[j] : NAN; }
double qs_spectrum_peak_frequency(const qs_spectrum *s, int j) { return per_osc(s, s->peak, j); }
double qs_spectrum_peak_height(const qs_spectrum *s, int j) { return per_osc(s, s->height, j); }
double qs_spectrum_fwhm(const qs_spectrum *s, int j) { return per_osc(s, s->fwhm, j); }
double qs_spectrum_sum_rule(const qs_spectrum *s, int j) { return per_osc(s, s->sum, j); }
double qs_spectrum_mean_n(const qs_spectrum *s, int j) { return per_osc(s, s->mean_n, j); }
const char *qs_spectrum_warning(const qs_spectrum *s, int j) { return j >= 0 && j < s->n_osc ? s->warning[j] : ""; }
double qs_spectrum_residual(const qs_spectrum *s) { return s->residual; }
size_t qs_spectrum_sector_dimension(const qs_spectrum *s) { return s->sector_dim; }
const char *qs_spectrum_lines_method(const qs_spectrum *s) { return s->lines_method; }
const char *qs_spectrum_solver(const qs_spectrum *s) { return s->iterative ? "iterative" : "direct"; }
int qs_spectrum_line_count(const qs_spectrum *s) { return s->n_lines; }
double qs_spectrum_lines_captured(const qs_spectrum *s, int j) { return s->captured ? per_osc(s, s->captured, j) : NAN; }
int qs_spectrum_lines_dropped(const qs_spectrum *s) { return s->lines_dropped; }
double qs_spectrum_lines_residual(const qs_spectrum *s) { return s->lines_residual; }

int qs_spectrum_line(const qs_spectrum *s, int m, double *frequency, double *half_width, double complex *weights)
{
    if (m < 0 || m >= s->n_lines) return QS_EINPUT;
    if (frequency) *frequency = s->line_freq[m];
    if (half_width) *half_width = s->line_hw[m];
    if (weights)
        for (int j = 0; j < s->n_osc; j++) weights[j] = s->line_w[(size_t)m * s->n_osc + (size_t)j];
    return QS_OK;
}

double qs_spectrum_from_lines(const qs_spectrum *s, int j, double omega)
{
    if (j < 0 || j >= s->n_osc || s->n_lines == 0) return NAN;
    double sum = 0.0;
    for (int m = 0; m < s->n_lines; m++) sum += 2 * creal(s->line_w[(size_t)m * s->n_osc + (size_t)j] / (I * omega - s->line_lambda[m]));
    return sum;
}
