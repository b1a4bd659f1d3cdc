/* evolve.c — quench dynamics ρ(t) = e^{Lt} ρ(0) on the zero excitation-difference sector
 * (evolve.h): the exponential Krylov integrator (default) and SUNDIALS CVODE's BDF with the
 * exact sparse Jacobian (KLU), on the same real unknowns.
 *
 * Real unknowns. ρ is Hermitian and L(ρ†) = (Lρ)†, so the real-linear map ρ ↦ Lρ on
 * Hermitian sector matrices is written on n = sector-dimension real unknowns x: slot
 * c = (s, t) holds Re ρ_st when s < t, Im ρ_ts when s > t, and ρ_ss when s = t (the steady
 * solver's convention). Its matrix J (CSR, rows = slots) is built from the complex sector
 * operator (qs_sector_op): for an upper or diagonal row r = (s, t), s ≤ t, and an entry
 * L_rc with c = (u, v), ρ_c in terms of x is
 *     u = v:  x_c               u < v:  x_c + i x_c̄              u > v:  x_c̄ − i x_c
 * (c̄ = (v, u)); the real part of (Lρ)_st is row r of J, the imaginary part row r̄ (s < t).
 * Entries that come out exactly zero are dropped; every diagonal entry is kept (CVODE forms
 * I − γJ in place). J is constant: it is copied into CVODE's matrix when CVODE asks.
 *
 * Samples. Krylov: expv from each sample to the next (the step size carried over). BDF: CVODE
 * steps one at a time (CV_ONE_STEP, stop time T) and each sample time passed is read from its
 * interpolant (CVodeGetDky), the last one at T exactly. The stop flag is polled between steps.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cvode/cvode.h>
#include <nvector/nvector_serial.h>
#include <sunlinsol/sunlinsol_klu.h>
#include <sunmatrix/sunmatrix_sparse.h>
#include "internal.h"
#include "qsync/evolve.h"

struct qs_evolve {
    qs_model *model;
    qs_basis *basis;
    qs_state state;            /* ρ at the last sample recorded */
    int samples, n_which, *which;
    size_t width;
    double *times;             /* [samples] */
    double *values;            /* [width × samples]: value v at sample k is values[v·samples + k] */
    double *trace_err, *herm_err, *min_eig;   /* [samples] */
    long *steps;               /* [samples] */
    double trace_max, herm_max, eig_min;
    long total_steps, rhs, setups, etf;
    double rtol, atol, planned, seconds, error_estimate;
    int method;
    size_t n, nnz;
};

/* The real Jacobian in compressed rows. */
typedef struct {
    size_t n, nnz;
    int64_t *ptr, *col;
    double *val;
} real_csr;

static void real_csr_free(real_csr *J)
{
    free(J->ptr);
    free(J->col);
    free(J->val);
    memset(J, 0, sizeof *J);
}

void qs_evolve_defaults(qs_evolve_options *o)
{
    memset(o, 0, sizeof *o);
    o->rtol = QS_EVOLVE_RTOL_DEFAULT;
    o->atol = QS_EVOLVE_ATOL_DEFAULT;
    o->max_steps = QS_EVOLVE_MAX_STEPS_DEFAULT;
    o->method = QS_EVOLVE_KRYLOV;
    o->krylov_dim = QS_EVOLVE_KRYLOV_DIM_DEFAULT;
}

void qs_evolve_free(qs_evolve **e)
{
    if (!e || !*e) return;
    qs_evolve *r = *e;
    qs_model_free(&r->model);
    qs_basis_free(&r->basis);
    free(r->state.rho);
    free(r->which);
    free(r->times);
    free(r->values);
    free(r->trace_err);
    free(r->herm_err);
    free(r->min_eig);
    free(r->steps);
    free(r);
    *e = NULL;
}

/* Slot of the transposed element (t, s) of every slot (s, t), and its kind: 1 when s < t
 * (it holds Re ρ_st), 0 a population, −1 when s > t (it holds Im ρ_ts). Within a block the
 * states ascend, so s < t exactly when the row position is below the column position. */
static int slot_maps(const qs_basis *b, int64_t **tr, signed char **kind)
{
    size_t n = b->sector_dim ? b->sector_dim : 1;
    *tr = malloc(n * sizeof **tr);
    *kind = malloc(n * sizeof **kind);
    if (!*tr || !*kind) return 0;
    for (int N = 0; N <= b->max_total; N++) {
        size_t d = b->block_size[N], off = b->block_offset[N];
        for (size_t i = 0; i < d; i++)
            for (size_t k = 0; k < d; k++) {
                (*tr)[off + i * d + k] = (int64_t)(off + k * d + i);
                (*kind)[off + i * d + k] = (signed char)((i < k) - (i > k));
            }
    }
    return 1;
}

/* Add v at column col of the row being gathered (acc by column; mark[col] == row when in). */
static inline void gather(int64_t col, double v, double *acc, int64_t *mark, int64_t row, int64_t *cols, size_t *k)
{
    if (mark[col] != row) {
        mark[col] = row;
        acc[col] = 0.0;
        cols[(*k)++] = col;
    }
    acc[col] += v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Row `row` of J: the real (im = 0) or imaginary (im = 1) part of complex row r of L, as a
 * function of the real unknowns; its columns into cols (unsorted), their count returned. */
static size_t real_row(const qs_sector_op *A, const int64_t *tr, const signed char *kind, size_t r, int im, int64_t row,
                       double *acc, int64_t *mark, int64_t *cols)
{
    size_t k = 0;
    gather(row, 0.0, acc, mark, row, cols, &k);                 /* the diagonal, always */
    for (int64_t p = A->rowptr[r]; p < A->rowptr[r + 1]; p++) {
        int64_t c = A->col[p], cb = tr[c];
        double a = creal(A->val[p]), b = cimag(A->val[p]);
        if (kind[c] == 0) {                                      /* ρ_c = x_c */
            gather(c, im ? b : a, acc, mark, row, cols, &k);
        } else if (kind[c] > 0) {                                /* ρ_c = x_c + i x_c̄ */
            gather(c, im ? b : a, acc, mark, row, cols, &k);
            gather(cb, im ? a : -b, acc, mark, row, cols, &k);
        } else {                                                 /* ρ_c = x_c̄ − i x_c */
            gather(cb, im ? b : a, acc, mark, row, cols, &k);
            gather(c, im ? -a : b, acc, mark, row, cols, &k);
        }
    }
    return k;
}

/* J from the complex operator, in two passes (count, then fill). */
static int build_real(const qs_sector_op *A, const int64_t *tr, const signed char *kind, real_csr *J)
{
    size_t n = A->n;
    double *acc = malloc((n ? n : 1) * sizeof *acc);
    int64_t *mark = malloc((n ? n : 1) * sizeof *mark), *cols = malloc((n ? n : 1) * sizeof *cols);
    J->n = n;
    J->ptr = calloc(n + 1, sizeof *J->ptr);
    int ok = acc && mark && cols && J->ptr;
    for (int pass = 0; ok && pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) mark[i] = -1;
        for (size_t row = 0; row < n; row++) {
            int im = kind[row] < 0;
            size_t r = im ? (size_t)tr[row] : row;               /* the upper element whose part it is */
            size_t m = real_row(A, tr, kind, r, im, (int64_t)row, acc, mark, cols);
            if (pass == 0) {
                size_t kept = 0;
                for (size_t q = 0; q < m; q++) kept += acc[cols[q]] != 0.0 || cols[q] == (int64_t)row;
                J->ptr[row + 1] = J->ptr[row] + (int64_t)kept;
                continue;
            }
            qsort(cols, m, sizeof *cols, cmp_i64);
            int64_t p = J->ptr[row];
            for (size_t q = 0; q < m; q++)
                if (acc[cols[q]] != 0.0 || cols[q] == (int64_t)row) {
                    J->col[p] = cols[q];
                    J->val[p++] = acc[cols[q]];
                }
        }
        if (pass == 0) {
            J->nnz = (size_t)J->ptr[n];
            J->col = malloc((J->nnz ? J->nnz : 1) * sizeof *J->col);
            J->val = malloc((J->nnz ? J->nnz : 1) * sizeof *J->val);
            ok = J->col && J->val;
        }
    }
    free(acc);
    free(mark);
    free(cols);
    if (!ok) real_csr_free(J);
    return ok;
}

/* ---- CVODE callbacks ---- */

typedef struct {
    const real_csr *J;
    char message[256];           /* CVODE's last error message */
} cv_data;

static int rhs(sunrealtype t, N_Vector y, N_Vector ydot, void *user)
{
    (void)t;
    const real_csr *J = ((cv_data *)user)->J;
    const double *x = N_VGetArrayPointer(y);
    double *f = N_VGetArrayPointer(ydot);
    for (size_t r = 0; r < J->n; r++) {
        double s = 0.0;
        for (int64_t p = J->ptr[r]; p < J->ptr[r + 1]; p++) s += J->val[p] * x[J->col[p]];
        f[r] = s;
    }
    return 0;
}

static int jacobian(sunrealtype t, N_Vector y, N_Vector fy, SUNMatrix M, void *user, N_Vector t1, N_Vector t2, N_Vector t3)
{
    (void)t; (void)y; (void)fy; (void)t1; (void)t2; (void)t3;
    const real_csr *J = ((cv_data *)user)->J;
    if (SM_NNZ_S(M) < (sunindextype)J->nnz) return -1;
    memcpy(SM_INDEXPTRS_S(M), J->ptr, (J->n + 1) * sizeof *J->ptr);
    memcpy(SM_INDEXVALS_S(M), J->col, J->nnz * sizeof *J->col);
    memcpy(SM_DATA_S(M), J->val, J->nnz * sizeof *J->val);
    return 0;
}

static void cv_error(int code, const char *module, const char *function, char *msg, void *user)
{
    (void)code;
    cv_data *d = user;
    snprintf(d->message, sizeof d->message, "%s (%s, %s)", msg, module, function);
}

/* ---- exponential Krylov integrator (Sidje's Expokit expv, real arithmetic) ----
 * w ← e^{τJ} w by Arnoldi on K_m(J, w): e^{τJ} w ≈ β V_m e^{τH_m} e_1, the step τ chosen so
 * that the estimated local error (from the augmented (m+2)×(m+2) Hessenberg matrix) is at
 * most 1.2 τ tol; a step that fails is retried with a smaller τ. The local errors add up to
 * at most tol per unit time. Exact for the linear ODE up to that error, whatever the
 * frequencies of the coherences. */

/* N ← D⁻¹ N for small dense k × k matrices (row-major; D overwritten by its LU): Gaussian
 * elimination with partial pivoting, in the library's own loops (no BLAS threads for a
 * 32 × 32 system). Returns 0 for a singular D. */
static int small_solve(int k, double *D, double *N, int *piv)
{
    for (int c = 0; c < k; c++) {
        int p = c;
        for (int r = c + 1; r < k; r++) if (fabs(D[r * k + c]) > fabs(D[p * k + c])) p = r;
        if (D[p * k + c] == 0.0) return 0;
        piv[c] = p;
        if (p != c)
            for (int j = 0; j < k; j++) {
                double t = D[c * k + j]; D[c * k + j] = D[p * k + j]; D[p * k + j] = t;
                t = N[c * k + j]; N[c * k + j] = N[p * k + j]; N[p * k + j] = t;
            }
        for (int r = c + 1; r < k; r++) {
            double f = D[r * k + c] / D[c * k + c];
            if (f == 0.0) continue;
            for (int j = c; j < k; j++) D[r * k + j] -= f * D[c * k + j];
            for (int j = 0; j < k; j++) N[r * k + j] -= f * N[c * k + j];
        }
    }
    for (int c = k - 1; c >= 0; c--)
        for (int j = 0; j < k; j++) {
            double s = N[c * k + j];
            for (int m = c + 1; m < k; m++) s -= D[c * k + m] * N[m * k + j];
            N[c * k + j] = s / D[c * k + c];
        }
    return 1;
}

/* F = e^{A} for a small dense A (k × k, row-major; written into F): Padé (6, 6) with scaling
 * and squaring. work: 4 k² doubles, ipiv: k. Returns 0 if the solve fails. */
static int small_expm(int k, const double *A, double *F, double *work, int *ipiv)
{
    double norm = 0.0;
    for (int i = 0; i < k; i++) {
        double r = 0.0;
        for (int j = 0; j < k; j++) r += fabs(A[i * k + j]);
        if (r > norm) norm = r;
    }
    int sq = norm > 0.5 ? (int)ceil(log2(norm / 0.5)) : 0;
    double scale = ldexp(1.0, -sq);
    size_t kk = (size_t)k * (size_t)k;
    double *X = work, *P = work + kk, *N = work + 2 * kk, *D = work + 3 * kk;
    for (size_t i = 0; i < kk; i++) { X[i] = A[i] * scale; N[i] = D[i] = 0.0; }
    for (int i = 0; i < k; i++) N[i * k + i] = D[i * k + i] = 1.0;
    memcpy(P, X, kk * sizeof *P);
    double c = 1.0;
    const int q = 6;
    for (int j = 1; j <= q; j++) {
        c *= (double)(q - j + 1) / (double)(j * (2 * q - j + 1));
        double sign = (j % 2) ? -1.0 : 1.0;
        for (size_t i = 0; i < kk; i++) { N[i] += c * P[i]; D[i] += sign * c * P[i]; }
        if (j < q) {                       /* P ← P X */
            for (int r = 0; r < k; r++)
                for (int col = 0; col < k; col++) {
                    double s = 0.0;
                    for (int m = 0; m < k; m++) s += P[r * k + m] * X[m * k + col];
                    F[r * k + col] = s;
                }
            memcpy(P, F, kk * sizeof *P);
        }
    }
    if (!small_solve(k, D, N, ipiv)) return 0;
    for (int s = 0; s < sq; s++) {         /* F ← F² */
        for (int r = 0; r < k; r++)
            for (int col = 0; col < k; col++) {
                double t = 0.0;
                for (int m = 0; m < k; m++) t += N[r * k + m] * N[m * k + col];
                P[r * k + col] = t;
            }
        memcpy(N, P, kk * sizeof *N);
    }
    memcpy(F, N, kk * sizeof *F);
    return 1;
}

/* x · y with four partial sums (independent chains: the loop vectorises without reassociation flags). */
static double dot(const double *x, const double *y, size_t n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += x[i] * y[i];
        s1 += x[i + 1] * y[i + 1];
        s2 += x[i + 2] * y[i + 2];
        s3 += x[i + 3] * y[i + 3];
    }
    for (; i < n; i++) s0 += x[i] * y[i];
    return (s0 + s1) + (s2 + s3);
}

static double norm2(const double *x, size_t n) { return sqrt(dot(x, x, n)); }

/* y ← y + a x (distinct arrays). */
static void axpy(double a, const double *restrict x, double *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* τ rounded up to two significant digits, as Expokit does. */
static double round2(double t)
{
    double e = pow(10.0, floor(log10(t)) - 1);
    return ceil(t / e) * e;
}

typedef struct {
    int m;
    double *V;            /* [(m+1) × n] the Krylov basis */
    double *H, *F, *work; /* [(m+2)²], [(m+2)²], [4 (m+2)²] */
    int *ipiv;            /* [m+2] */
    double anorm, t_new, error;
    long steps, matvecs, rejected, max_steps;
    const qs_evolve_options *o;   /* progress between steps: the sample last recorded, its time, T */
    int sample;
    double t0, T;
} krylov_ws;

/* y = J x; rows split over OpenMP's threads on large sectors (each row's sum in the same order:
 * the same bits on any number of threads). */
static void matvec(const real_csr *J, const double *x, double *y)
{
#pragma omp parallel for schedule(static, 4096) if (J->n >= QS_KRYLOV_PARALLEL_MIN)
    for (size_t r = 0; r < J->n; r++) {
        double s = 0.0;
        for (int64_t p = J->ptr[r]; p < J->ptr[r + 1]; p++) s += J->val[p] * x[J->col[p]];
        y[r] = s;
    }
}

/* w ← e^{dt J} w; QS_ENUMERIC when a step cannot meet tol. */
static int expv(const real_csr *J, krylov_ws *k, double dt, double tol, double *w, volatile int *stop, qs_error *err)
{
    const size_t n = J->n;
    const int m = k->m, M = m + 2;
    const double btol = 1e-14, gamma = 0.9, delta = 1.2;   /* Expokit's breakdown tolerance and safety factors */
    double t_now = 0.0;
    while (t_now < dt) {
        if (stop && *stop) return QS_EINPUT;
        if (k->steps >= k->max_steps)
            return qs_error_set(err, QS_ENUMERIC, "Krylov: the step limit (%ld steps) reached at t = %g of T = %g: raise the step "
                                "limit or shorten T (past the slowest relaxation the state is the steady state)", k->max_steps,
                                k->t0 + t_now, k->T);
        double beta = norm2(w, n);
        if (beta == 0.0) return QS_OK;
        double t_step = fmin(dt - t_now, k->t_new);
        for (size_t i = 0; i < n; i++) k->V[i] = w[i] / beta;
        memset(k->H, 0, (size_t)M * (size_t)M * sizeof *k->H);
        int mb = m, k1 = 2;
        double avnorm = 0.0;
        for (int j = 0; j < m; j++) {
            double *p = k->V + (size_t)(j + 1) * n;
            matvec(J, k->V + (size_t)j * n, p);
            k->matvecs++;
            for (int i = 0; i <= j; i++) {           /* modified Gram-Schmidt */
                const double *vi = k->V + (size_t)i * n;
                double h = dot(vi, p, n);
                axpy(-h, vi, p, n);
                k->H[i * M + j] = h;
            }
            double s = norm2(p, n);
            if (s < btol) {                          /* happy breakdown: the space is invariant */
                k1 = 0;
                mb = j + 1;
                t_step = dt - t_now;
                break;
            }
            k->H[(j + 1) * M + j] = s;
            for (size_t r = 0; r < n; r++) p[r] /= s;
        }
        if (k1 != 0) {                                /* the augmented matrix, and avnorm = ‖J v_{m+1}‖ */
            k->H[(m + 1) * M + m] = 1.0;
            double s = 0.0;
            const double *vm = k->V + (size_t)m * n;
            for (size_t r = 0; r < n; r++) {
                double y = 0.0;
                for (int64_t q = J->ptr[r]; q < J->ptr[r + 1]; q++) y += J->val[q] * vm[J->col[q]];
                s += y * y;
            }
            k->matvecs++;
            avnorm = sqrt(s);
        }
        int mx = mb + k1, rejected = 0;
        double err_loc = 0.0, xm = 1.0 / m;
        double *Hs = k->work + 4 * (size_t)M * (size_t)M;   /* the scaled copy */
        while (1) {
            for (int i = 0; i < mx; i++)
                for (int j = 0; j < mx; j++) Hs[i * mx + j] = t_step * k->H[i * M + j];
            if (!small_expm(mx, Hs, k->F, k->work, k->ipiv))
                return qs_error_set(err, QS_ENUMERIC, "Krylov: the exponential of the Hessenberg matrix failed");
            if (k1 == 0) { err_loc = 0.0; break; }
            double phi1 = fabs(beta * k->F[m * mx + 0]), phi2 = fabs(beta * k->F[(m + 1) * mx + 0] * avnorm);
            if (phi1 > 10 * phi2) { err_loc = phi2; xm = 1.0 / m; }
            else if (phi1 > phi2) { err_loc = phi1 * phi2 / (phi1 - phi2); xm = 1.0 / m; }
            else { err_loc = phi1; xm = 1.0 / (m - 1); }
            if (err_loc <= delta * t_step * tol) break;
            if (++rejected > 20)
                return qs_error_set(err, QS_ENUMERIC, "Krylov: the step cannot meet the tolerance %g (estimated error %g)", tol, err_loc);
            k->rejected++;
            t_step = round2(gamma * t_step * pow(t_step * tol / err_loc, xm));
            if (t_step > dt - t_now) t_step = dt - t_now;
        }
        /* w = β V_{mb} F[0:mb, 0] (the first column) */
        memset(w, 0, n * sizeof *w);
        for (int j = 0; j < mb; j++) {
            double c = beta * k->F[j * mx + 0];
            axpy(c, k->V + (size_t)j * n, w, n);
        }
        t_now = (dt - t_now - t_step <= 1e-15 * dt) ? dt : t_now + t_step;
        k->steps++;
        k->error += err_loc;
        if (k->o && k->o->progress) k->o->progress(k->o->progress_ctx, k->sample, k->t0 + t_now, k->T, k->steps);
        if (k1 != 0 && err_loc > 0)
            k->t_new = round2(gamma * t_step * pow(t_step * tol / err_loc, xm));
        else if (k1 != 0)
            k->t_new = 2 * t_step;
    }
    return QS_OK;
}

/* ---- samples ---- */

/* Record sample k from the real unknowns x: ρ in sector order, its checks, its observables. */
static int record(qs_evolve *e, const double *x, const int64_t *tr, const signed char *kind, double *row, int k,
                  long steps, double bound, qs_error *err)
{
    const qs_basis *b = e->basis;
    double complex *rho = e->state.rho;
    double trace = 0.0, herm = 0.0;
    for (size_t c = 0; c < e->n; c++) {
        if (kind[c] == 0) { rho[c] = x[c]; trace += x[c]; }
        else if (kind[c] > 0) rho[c] = x[c] + I * x[tr[c]];
        else rho[c] = x[tr[c]] - I * x[c];
    }
    for (size_t c = 0; c < e->n; c++) {
        double h = cabs(rho[c] - conj(rho[tr[c]]));
        if (!(h <= herm)) herm = h;
    }
    int status = qs_state_observe(&e->state, e->n_which, e->which, row, err);
    if (status != QS_OK) return status;
    for (size_t v = 0; v < e->width; v++) e->values[v * (size_t)e->samples + (size_t)k] = row[v];
    double least = NAN;
    for (int a = 0; a < b->n; a++)
        for (int c = a + 1; c < b->n; c++) {
            double lam;
            if ((status = qs_state_pair_min_eigenvalue(&e->state, a, c, &lam, err)) != QS_OK) return status;
            if (!(lam >= least)) least = lam;
        }
    e->trace_err[k] = fabs(trace - 1.0);
    e->herm_err[k] = herm;
    e->min_eig[k] = least;
    e->steps[k] = steps;
    if (!(e->trace_err[k] <= e->trace_max)) e->trace_max = e->trace_err[k];
    if (!(herm <= e->herm_max)) e->herm_max = herm;
    if (!(least >= e->eig_min)) e->eig_min = least;
    double tol = fmax(QS_EVOLVE_CHECK_MIN, QS_EVOLVE_CHECK_FACTOR * bound);
    if (!(e->trace_err[k] <= tol))
        return qs_error_set(err, QS_ENUMERIC, "the trace check failed at t = %g: |Tr rho - 1| = %.3g exceeds %.3g (max(%g, %g x "
                            "the error bound %.3g)); tighten the tolerances", e->times[k], e->trace_err[k], tol,
                            QS_EVOLVE_CHECK_MIN, QS_EVOLVE_CHECK_FACTOR, bound);
    if (!(herm <= tol))
        return qs_error_set(err, QS_ENUMERIC, "the Hermiticity check failed at t = %g: %.3g exceeds %.3g", e->times[k], herm, tol);
    if (least < -tol)
        return qs_error_set(err, QS_ENUMERIC, "the positivity check failed at t = %g: a pair state has the eigenvalue %.3g below "
                            "-%.3g (max(%g, %g x the error bound %.3g)); tighten the tolerances", e->times[k], least, tol,
                            QS_EVOLVE_CHECK_MIN, QS_EVOLVE_CHECK_FACTOR, bound);
    return QS_OK;
}

/* ---- planning ---- */

/* Bytes of everything but the operators: CVODE's vectors (BDF of order 5 keeps about 20),
 * ρ, the slot maps, the gathering arrays, and the samples. */
static double other_bytes(size_t n, size_t width, int samples)
{
    return (double)n * (24 * 8.0 + 16 + 8 + 1 + 3 * 8) + ((double)width + 4) * (double)samples * 8;
}

/* The LU's entries as KLU's analysis predicts them for J's pattern (AMD ordering). */
static double lu_entries(const real_csr *J)
{
    klu_l_common c;
    klu_l_defaults(&c);
    c.ordering = 0;
    klu_l_symbolic *s = klu_l_analyze((SuiteSparse_long)J->n, (SuiteSparse_long *)J->ptr, (SuiteSparse_long *)J->col, &c);
    if (!s) return -1;
    double lu = s->lnz + s->unz;
    klu_l_free_symbolic(&s, &c);
    return lu;
}

static int too_big(qs_error *err, double need, double limit, const char *which, size_t n, size_t nnz, double lu)
{
    char left[48], what[160];
    if (lu > 0) snprintf(what, sizeof what, "%zu unknowns, a Jacobian of %zu non-zeros, an LU of about %.4g", n, nnz, lu);
    else if (nnz > 0) snprintf(what, sizeof what, "%zu unknowns, a Jacobian of %zu non-zeros", n, nnz);
    else snprintf(what, sizeof what, "%zu unknowns", n);
    return qs_error_set(err, QS_ETOOBIG, "the quench (%s) needs about %.4g MiB, but %s %s", what, need / 1048576.0,
                        qs_memory_left_phrase(left, limit), which);
}

/* ---- the run ---- */

static int check_input(const qs_model *m, double T, int samples, const qs_evolve_options *o, qs_error *err)
{
    if (!(T > 0) || !isfinite(T)) return qs_error_set(err, QS_EINPUT, "the end time must be finite and > 0, not %g", T);
    if (samples < 2 || samples > QS_EVOLVE_MAX_SAMPLES)
        return qs_error_set(err, QS_EINPUT, "samples must lie in 2..%d, not %d", QS_EVOLVE_MAX_SAMPLES, samples);
    if (!(T / (samples - 1) >= DBL_MIN))
        return qs_error_set(err, QS_EINPUT, "the end time T = %g over %d samples spaces them by %g, below the smallest normal "
                            "double %g: the sample times are not representable", T, samples, T / (samples - 1), DBL_MIN);
    if (!(o->rtol >= QS_EVOLVE_TOL_MIN && o->rtol < QS_EVOLVE_TOL_MAX))
        return qs_error_set(err, QS_EINPUT, "rtol must lie in [%g, %g), not %g", QS_EVOLVE_TOL_MIN, QS_EVOLVE_TOL_MAX, o->rtol);
    if (!(o->atol >= QS_EVOLVE_TOL_MIN && o->atol < QS_EVOLVE_TOL_MAX))
        return qs_error_set(err, QS_EINPUT, "atol must lie in [%g, %g), not %g", QS_EVOLVE_TOL_MIN, QS_EVOLVE_TOL_MAX, o->atol);
    if (o->method == QS_EVOLVE_KRYLOV && !(o->atol * T <= QS_EVOLVE_GLOBAL_MAX))
        return qs_error_set(err, QS_EINPUT, "the Krylov integrator's error bound atol x T = %g x %g = %.3g is not << 1 (at most "
                            "%g): lower atol or T", o->atol, T, o->atol * T, QS_EVOLVE_GLOBAL_MAX);
    if (o->method != QS_EVOLVE_KRYLOV && o->method != QS_EVOLVE_BDF) return qs_error_set(err, QS_EINPUT, "unknown method %d", o->method);
    if (o->krylov_dim < 4 || o->krylov_dim > 200)
        return qs_error_set(err, QS_EINPUT, "the Krylov dimension must lie in 4..200, not %d", o->krylov_dim);
    if (o->max_steps < 1) return qs_error_set(err, QS_EINPUT, "max_steps must be >= 1, not %ld", o->max_steps);
    if (o->n_which < 0 || (o->n_which > 0 && !o->which)) return qs_error_set(err, QS_EINPUT, "no observables given");
    for (int i = 0; i < o->n_which; i++)
        if (!qs_observable_get(o->which[i]))
            return qs_error_set(err, QS_EINPUT, "observable index %d is not in the table (0..%d)", o->which[i], qs_observable_count() - 1);
    for (int j = 0; j < m->n; j++) {
        int L = m->osc[j].levels;
        if (L == QS_LEVELS_AUTO)
            return qs_error_set(err, QS_EINPUT, "oscillator %s has levels = auto: resolve the levels first (as qsync steady does)",
                                m->names[j]);
        if (o->fock && (o->fock[j] < 0 || o->fock[j] >= L))
            return qs_error_set(err, QS_EINPUT, "Fock state: %d excitations for oscillator %s, which has levels 0..%d", o->fock[j],
                                m->names[j], L - 1);
    }
    return QS_OK;
}

/* ρ(0) on the real unknowns x (diagonal: only populations). */
static int initial_state(const qs_evolve *e, const qs_evolve_options *o, double *x, qs_error *err)
{
    const qs_basis *b = e->basis;
    const qs_model *m = e->model;
    memset(x, 0, e->n * sizeof *x);
    double **p = calloc((size_t)b->n, sizeof *p);
    int ok = p != NULL;
    for (int j = 0; ok && j < b->n; j++) {
        if (!(p[j] = calloc((size_t)b->levels[j], sizeof **p))) { ok = 0; break; }
        if (o->fock) p[j][o->fock[j]] = 1.0;
        else if (qs_osc_populations(&m->osc[j], b->levels[j], p[j]) != QS_OK) {
            for (int i = 0; i <= j; i++) free(p[i]);
            free(p);
            return qs_error_set(err, QS_EINPUT, "oscillator %s: no uncoupled steady state (gamma_plus = gamma_minus = 0)", m->names[j]);
        }
    }
    if (ok)
        for (size_t s = 0; s < b->dim; s++) {
            double w = 1.0;
            for (int j = 0; j < b->n; j++) w *= p[j][qs_basis_occ(b, s, j)];
            x[qs_basis_sector_index(b, s, s)] = w;
        }
    for (int j = 0; p && j < b->n; j++) free(p[j]);
    free(p);
    return ok ? QS_OK : qs_error_set(err, QS_ENOMEM, "out of memory");
}

/* The allocations of the handle, once the basis is known. */
static int alloc_result(qs_evolve *e, double T, qs_error *err)
{
    size_t cells, s = (size_t)e->samples;
    if (!qs_mul_size(e->width ? e->width : 1, s, &cells)) return qs_error_set(err, QS_ETOOBIG, "too many samples");
    e->times = malloc(s * sizeof *e->times);
    e->values = malloc(cells * sizeof *e->values);
    e->trace_err = malloc(s * sizeof *e->trace_err);
    e->herm_err = malloc(s * sizeof *e->herm_err);
    e->min_eig = malloc(s * sizeof *e->min_eig);
    e->steps = malloc(s * sizeof *e->steps);
    e->state.rho = malloc((e->n ? e->n : 1) * sizeof *e->state.rho);
    if (!e->times || !e->values || !e->trace_err || !e->herm_err || !e->min_eig || !e->steps || !e->state.rho)
        return qs_error_set(err, QS_ENOMEM, "out of memory for %d samples", e->samples);
    for (size_t k = 0; k < s; k++) e->times[k] = T * (double)k / (double)(s - 1);
    e->times[s - 1] = T;
    return QS_OK;
}

typedef struct {
    SUNContext ctx;
    N_Vector y, ky;
    SUNMatrix M;
    SUNLinearSolver LS;
    void *cv;
} cv_parts;

static void cv_free(cv_parts *c)
{
    if (c->cv) CVodeFree(&c->cv);
    if (c->LS) SUNLinSolFree(c->LS);
    if (c->M) SUNMatDestroy(c->M);
    if (c->y) N_VDestroy(c->y);
    if (c->ky) N_VDestroy(c->ky);
    if (c->ctx) SUNContext_Free(&c->ctx);
    memset(c, 0, sizeof *c);
}

/* CVODE's failure as QS_ENUMERIC (QS_ENOMEM for its allocations): what failed, CVODE's flag
 * (its name is malloc'd by CVODE: freed here) and message, and for a failed step where and what
 * to do. */
static int cv_fail(qs_error *err, const cv_data *d, const char *what, int flag, void *cv, double t, double T)
{
    char *name = CVodeGetReturnFlagName(flag), advice[320] = "";
    double h = 0.0;
    if (cv && (flag == CV_CONV_FAILURE || flag == CV_ERR_FAILURE || flag == CV_TOO_CLOSE || flag == CV_LSETUP_FAIL ||
               flag == CV_LSOLVE_FAIL)) {
        CVodeGetCurrentStep(cv, &h);
        snprintf(advice, sizeof advice, " at t = %g of T = %g with a step of %g: steps that long (CVODE scales them to T) "
                 "defeat the Newton iteration of BDF; choose a T of the order of the relaxation times (past them the state "
                 "is the steady state), or the Krylov integrator", t, T, h);
    }
    int status = qs_error_set(err, flag == CV_MEM_FAIL ? QS_ENOMEM : QS_ENUMERIC, "CVODE: %s failed (%s)%s%s%s", what,
                              name ? name : "?", d->message[0] ? ": " : "", d->message, advice);
    free(name);
    return status;
}

static int integrate_bdf(qs_evolve *e, const real_csr *J, const int64_t *tr, const signed char *kind, const qs_evolve_options *o,
                     qs_error *err)
{
    cv_parts c = {0};
    cv_data d = {.J = J};
    int status = QS_OK, flag;
    double *row = malloc((e->width ? e->width : 1) * sizeof *row);
    if (!row || SUNContext_Create(NULL, &c.ctx) != 0 || !(c.y = N_VNew_Serial((sunindextype)e->n, c.ctx)) ||
        !(c.ky = N_VNew_Serial((sunindextype)e->n, c.ctx)) ||
        !(c.M = SUNSparseMatrix((sunindextype)e->n, (sunindextype)e->n, (sunindextype)J->nnz, CSR_MAT, c.ctx))) {
        status = qs_error_set(err, QS_ENOMEM, "out of memory for the integrator");
        goto done;
    }
    double *x = N_VGetArrayPointer(c.y);
    if ((status = initial_state(e, o, x, err)) != QS_OK) goto done;
    if ((status = record(e, x, tr, kind, row, 0, 0, 0.0, err)) != QS_OK) goto done;
    if (o->progress) o->progress(o->progress_ctx, 0, 0.0, e->times[e->samples - 1], 0);
    if (!(c.cv = CVodeCreate(CV_BDF, c.ctx))) { status = qs_error_set(err, QS_ENOMEM, "out of memory for CVODE"); goto done; }
    const char *what = "set-up";
    if ((flag = CVodeSetErrHandlerFn(c.cv, cv_error, &d)) != CV_SUCCESS || (flag = CVodeInit(c.cv, rhs, 0.0, c.y)) != CV_SUCCESS ||
        (flag = CVodeSetUserData(c.cv, &d)) != CV_SUCCESS || (flag = CVodeSStolerances(c.cv, o->rtol, o->atol)) != CV_SUCCESS ||
        (flag = CVodeSetMaxNumSteps(c.cv, o->max_steps)) != CV_SUCCESS ||
        (flag = CVodeSetStopTime(c.cv, e->times[e->samples - 1])) != CV_SUCCESS) {
        status = cv_fail(err, &d, what, flag, NULL, 0, 0);
        goto done;
    }
    if (!(c.LS = SUNLinSol_KLU(c.y, c.M, c.ctx))) { status = qs_error_set(err, QS_ENOMEM, "out of memory for KLU"); goto done; }
    SUNLinSol_KLUSetOrdering(c.LS, 0);     /* AMD, as planned */
    if ((flag = CVodeSetLinearSolver(c.cv, c.LS, c.M)) != CV_SUCCESS || (flag = CVodeSetJacFn(c.cv, jacobian)) != CV_SUCCESS ||
        (flag = CVodeSetJacEvalFrequency(c.cv, 1000000)) != CV_SUCCESS) {
        status = cv_fail(err, &d, what, flag, NULL, 0, 0);
        goto done;
    }
    int k = 1;
    long nst = 0;
    while (k < e->samples) {
        if (o->stop && *o->stop) {
            status = qs_error_set(err, QS_EINPUT, "interrupted at t = %g", k ? e->times[k - 1] : 0.0);
            goto done;
        }
        double t;
        flag = CVode(c.cv, e->times[e->samples - 1], c.y, &t, CV_ONE_STEP);
        if (flag < 0) {
            double tc = 0.0;
            CVodeGetCurrentTime(c.cv, &tc);
            status = cv_fail(err, &d, "the step", flag, c.cv, tc, e->times[e->samples - 1]);
            goto done;
        }
        CVodeGetNumSteps(c.cv, &nst);
        if (nst >= o->max_steps && !(k == e->samples - 1 && flag == CV_TSTOP_RETURN) && t < e->times[e->samples - 1]) {
            status = qs_error_set(err, QS_ENUMERIC, "CVODE: the step limit (%ld steps) reached at t = %g of T = %g: raise the step "
                                  "limit or shorten T (past the slowest relaxation the state is the steady state)", o->max_steps, t,
                                  e->times[e->samples - 1]);
            goto done;
        }
        if (o->progress) o->progress(o->progress_ctx, k - 1, t, e->times[e->samples - 1], nst);
        while (k < e->samples && (e->times[k] <= t || (k == e->samples - 1 && flag == CV_TSTOP_RETURN))) {
            const double *src = N_VGetArrayPointer(c.y);
            if (e->times[k] != t) {
                if ((flag = CVodeGetDky(c.cv, e->times[k], 0, c.ky)) != CV_SUCCESS) { status = cv_fail(err, &d, "interpolation", flag, NULL, 0, 0); goto done; }
                src = N_VGetArrayPointer(c.ky);
            }
            if ((status = record(e, src, tr, kind, row, k, nst, o->rtol + o->atol, err)) != QS_OK) goto done;
            if (o->progress) o->progress(o->progress_ctx, k, e->times[k], e->times[e->samples - 1], nst);
            k++;
        }
    }
    e->total_steps = nst;
    CVodeGetNumRhsEvals(c.cv, &e->rhs);
    CVodeGetNumLinSolvSetups(c.cv, &e->setups);
    CVodeGetNumErrTestFails(c.cv, &e->etf);
done:
    cv_free(&c);
    free(row);
    return status;
}

static int integrate_krylov(qs_evolve *e, const real_csr *J, const int64_t *tr, const signed char *kind,
                            const qs_evolve_options *o, qs_error *err)
{
    krylov_ws k = {.m = o->krylov_dim, .max_steps = o->max_steps};
    int m = k.m, M = m + 2, status = QS_OK;
    size_t n = e->n, nb = n ? n : 1;
    double *w = malloc(nb * sizeof *w), *row = malloc((e->width ? e->width : 1) * sizeof *row);
    k.V = malloc((size_t)(m + 1) * nb * sizeof *k.V);
    k.H = malloc((size_t)M * (size_t)M * sizeof *k.H);
    k.F = malloc((size_t)M * (size_t)M * sizeof *k.F);
    k.work = malloc(5 * (size_t)M * (size_t)M * sizeof *k.work);
    k.ipiv = malloc((size_t)M * sizeof *k.ipiv);
    if (!w || !row || !k.V || !k.H || !k.F || !k.work || !k.ipiv) {
        status = qs_error_set(err, QS_ENOMEM, "out of memory for the Krylov integrator");
        goto done;
    }
    if ((status = initial_state(e, o, w, err)) != QS_OK || (status = record(e, w, tr, kind, row, 0, 0, 0.0, err)) != QS_OK) goto done;
    if (o->progress) o->progress(o->progress_ctx, 0, 0.0, e->times[e->samples - 1], 0);
    for (size_t r = 0; r < n; r++) {
        double a = 0.0;
        for (int64_t p = J->ptr[r]; p < J->ptr[r + 1]; p++) a += fabs(J->val[p]);
        if (a > k.anorm) k.anorm = a;
    }
    double beta = norm2(w, n), tol = o->atol;
    if (!(k.anorm > 0)) k.anorm = 1.0;
    double fact = pow((m + 1) / exp(1.0), m + 1) * sqrt(2 * M_PI * (m + 1));
    k.t_new = round2((1 / k.anorm) * pow(fact * tol / (4 * beta * k.anorm), 1.0 / m));
    k.o = o;
    k.T = e->times[e->samples - 1];
    for (int s = 1; s < e->samples; s++) {
        k.sample = s - 1;
        k.t0 = e->times[s - 1];
        status = expv(J, &k, e->times[s] - e->times[s - 1], tol, w, o->stop, err);
        if (status == QS_EINPUT) status = qs_error_set(err, QS_EINPUT, "interrupted at t = %g", e->times[s - 1]);
        if (status != QS_OK || (status = record(e, w, tr, kind, row, s, k.steps, k.error, err)) != QS_OK) goto done;
        if (o->progress) o->progress(o->progress_ctx, s, e->times[s], e->times[e->samples - 1], k.steps);
    }
    e->total_steps = k.steps;
    e->rhs = k.matvecs;
    e->etf = k.rejected;
    e->error_estimate = k.error;
done:
    free(w);
    free(row);
    free(k.V);
    free(k.H);
    free(k.F);
    free(k.work);
    free(k.ipiv);
    return status;
}

int qs_evolve_run(const qs_model *model, double T, int samples, const qs_evolve_options *options, qs_evolve **result,
                  qs_error *err)
{
    *result = NULL;
    qs_evolve_options o;
    if (options) o = *options;
    else qs_evolve_defaults(&o);
    int status = check_input(model, T, samples, &o, err);
    if (status != QS_OK) return status;
    double t0 = qs_now();
    qs_evolve *e = calloc(1, sizeof *e);
    if (!e || !(e->model = qs_model_copy(model))) { free(e); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
    e->samples = samples;
    e->rtol = o.rtol;
    e->atol = o.atol;
    e->eig_min = NAN;
    e->error_estimate = NAN;
    e->method = o.method;
    int defaults[2] = {qs_observable_find("S"), qs_observable_find("mean_n")};
    if (o.n_which == 0) { o.n_which = 2; o.which = defaults; }
    e->n_which = o.n_which;
    e->which = malloc((size_t)o.n_which * sizeof *e->which);
    int n = model->n, *levels = malloc((size_t)n * sizeof *levels);
    if (!e->which || !levels) { free(levels); qs_evolve_free(&e); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
    memcpy(e->which, o.which, (size_t)o.n_which * sizeof *e->which);
    for (int j = 0; j < n; j++) levels[j] = model->osc[j].levels;
    e->width = qs_observe_width(n, levels, e->n_which, e->which);

    const char *which = "available";
    double limit = o.memory_limit > 0 ? o.memory_limit : qs_memory_available_why(&which);
    if (o.memory_limit > 0) which = "allowed by the memory limit";
    size_t dim, sector;
    if (!qs_basis_plan(n, levels, &dim, &sector)) {
        free(levels);
        qs_evolve_free(&e);
        return qs_error_set(err, QS_ETOOBIG, "the sector is too large to index");
    }
    double other = other_bytes(sector, e->width, samples);
    if (limit > 0 && other > limit) {
        free(levels);
        qs_evolve_free(&e);
        return too_big(err, other, limit, which, sector, 0, 0);
    }
    status = qs_basis_create(n, levels, &e->basis, err);
    free(levels);
    if (status != QS_OK) { qs_evolve_free(&e); return status; }
    e->n = e->basis->sector_dim;
    e->state.basis = e->basis;

    int64_t *tr = NULL;
    signed char *kind = NULL;
    real_csr J = {0};
    qs_sector_op *A = NULL;
    if ((status = alloc_result(e, T, err)) != QS_OK) goto fail;
    if (!slot_maps(e->basis, &tr, &kind)) { status = qs_error_set(err, QS_ENOMEM, "out of memory"); goto fail; }
    /* the complex operator, then J (about twice its entries, three copies with CVODE's) */
    double per_row = QS_KRYLOV_PER_ROW_MAX(model) * 0.6 * 2 * 3 * 16;
    if ((status = qs_sector_op_create(e->basis, e->model, limit, other + per_row * (double)e->n, which, &A, err)) != QS_OK ||
        (status = qs_sector_op_fill(A, e->model, err)) != QS_OK)
        goto fail;
    if (!build_real(A, tr, kind, &J)) { status = qs_error_set(err, QS_ENOMEM, "out of memory for the Jacobian"); goto fail; }
    qs_sector_op_free(&A);
    e->nnz = J.nnz;
    double lu = 0, jac = (double)J.nnz * 16 + (double)(J.n + 1) * 8;
    if (o.method == QS_EVOLVE_BDF) {       /* J, CVODE's matrix and its saved copy, KLU's LU */
        if ((lu = lu_entries(&J)) < 0) { status = qs_error_set(err, QS_ENOMEM, "out of memory for KLU's analysis"); goto fail; }
        e->planned = other + 3.0 * jac + 2.0 * lu * 16;
    } else {                               /* J and the Krylov basis */
        e->planned = other + jac + (double)(o.krylov_dim + 1) * (double)e->n * 8;
    }
    if (limit > 0 && e->planned > limit) { status = too_big(err, e->planned, limit, which, e->n, J.nnz, lu); goto fail; }
    status = o.method == QS_EVOLVE_BDF ? integrate_bdf(e, &J, tr, kind, &o, err) : integrate_krylov(e, &J, tr, kind, &o, err);
    if (status != QS_OK) goto fail;
    real_csr_free(&J);
    free(tr);
    free(kind);
    e->seconds = qs_now() - t0;
    *result = e;
    return QS_OK;
fail:
    qs_sector_op_free(&A);
    real_csr_free(&J);
    free(tr);
    free(kind);
    qs_evolve_free(&e);
    return status;
}

/* ---- getters ---- */

const qs_model *qs_evolve_model(const qs_evolve *e) { return e->model; }
int qs_evolve_samples(const qs_evolve *e) { return e->samples; }
const double *qs_evolve_times(const qs_evolve *e) { return e->times; }
int qs_evolve_observed(const qs_evolve *e, const int **which)
{
    if (which) *which = e->which;
    return e->n_which;
}
size_t qs_evolve_width(const qs_evolve *e) { return e->width; }
const double *qs_evolve_value(const qs_evolve *e, size_t v) { return v < e->width ? e->values + v * (size_t)e->samples : NULL; }

const double *qs_evolve_series(const qs_evolve *e, const char *name, int index)
{
    int id = qs_observable_find(name);
    if (id < 0 || index < 0) return NULL;
    size_t start = 0;
    for (int i = 0; i < e->n_which; i++) {
        size_t w = qs_observe_width(e->basis->n, e->basis->levels, 1, &e->which[i]);
        if (e->which[i] == id) return (size_t)index < w ? e->values + (start + (size_t)index) * (size_t)e->samples : NULL;
        start += w;
    }
    return NULL;
}

const double *qs_evolve_trace_errors(const qs_evolve *e) { return e->trace_err; }
const double *qs_evolve_hermiticity_errors(const qs_evolve *e) { return e->herm_err; }
const double *qs_evolve_min_eigenvalues(const qs_evolve *e) { return e->min_eig; }
double qs_evolve_trace_error_max(const qs_evolve *e) { return e->trace_max; }
double qs_evolve_hermiticity_error_max(const qs_evolve *e) { return e->herm_max; }
double qs_evolve_min_eigenvalue(const qs_evolve *e) { return e->eig_min; }
const long *qs_evolve_steps(const qs_evolve *e) { return e->steps; }
long qs_evolve_total_steps(const qs_evolve *e) { return e->total_steps; }
long qs_evolve_rhs_evaluations(const qs_evolve *e) { return e->rhs; }
long qs_evolve_factorizations(const qs_evolve *e) { return e->setups; }
long qs_evolve_error_test_failures(const qs_evolve *e) { return e->etf; }
double qs_evolve_rtol(const qs_evolve *e) { return e->rtol; }
double qs_evolve_atol(const qs_evolve *e) { return e->atol; }
size_t qs_evolve_dimension(const qs_evolve *e) { return e->n; }
size_t qs_evolve_nnz(const qs_evolve *e) { return e->nnz; }
double qs_evolve_memory_planned(const qs_evolve *e) { return e->planned; }
double qs_evolve_seconds(const qs_evolve *e) { return e->seconds; }
double qs_evolve_error_estimate(const qs_evolve *e) { return e->error_estimate; }
const char *qs_evolve_method(const qs_evolve *e) { return e->method == QS_EVOLVE_BDF ? "bdf" : "krylov"; }
const qs_state *qs_evolve_state(const qs_evolve *e) { return &e->state; }
