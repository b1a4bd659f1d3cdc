/* precond.c — the block preconditioner of the iterative solver: the coherent dynamics of each
 * excitation-number block solved exactly.
 *
 * The sector operator L is block tridiagonal by the total excitation N of a slot (s, t)
 * (ket and bra both hold N): the Hamiltonian, couplings included, conserves N, and a jump
 * moves a population-like slot (s_j = t_j) to N ± 1. The diagonal block of N is a
 * Kronecker sum,
 *     D_N ρ = A_N ρ + ρ A_N^†,   A_N = −i H_N − ½ Γ_N   (d × d, d = states of total N),
 * with H_N the Hamiltonian restricted to those states and Γ_N their total out-rates.
 * A_N = W Λ W⁻¹ (LAPACK zgeev; W is well conditioned here, since Γ_N varies little against
 * H_N's spread: its condition number is kept and checked), so
 *     D_N⁻¹ V = W [(W⁻¹ V W^−†) ∘ 1/(λ_i + conj λ_k)] W^†,
 * four d×d products per block (BLAS zgemm). Every Re λ < 0 (Γ > 0 on every level: the
 * solver requires all rates positive), so each D_N is invertible; the singularity of L (its
 * steady state) lives in the jumps between blocks, which the caller handles by keeping the
 * corrections traceless.
 *
 * The preconditioner is block Gauss–Seidel over N, forward: M = D + (the jumps from N − 1 to
 * N), applied as z_N = D_N⁻¹ (v_N − Σ_{slots of N−1} L z), N = 0, 1, …. A_N is read from
 * the operator's own entries (rows (s, t_0) give A_N's off-diagonal; the diagonal entries of
 * rows (s, s) and (s, t_0) give Re and Im of A_N's diagonal, fixing the free imaginary shift
 * of A_N, which cancels in D_N), so the blocks are those GMRES multiplies by, bit for bit.
 *
 * Cost per application Σ_N 4 d_N³ complex multiply-adds; set-up Σ_N O(d_N³) (eigenproblems).
 * Memory: W and W⁻¹ of every block (two sector vectors) and three d_max² workspaces.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

struct qs_precond {
    const qs_basis *b;          /* not owned */
    int kind;                   /* QS_PRECOND_BLOCK or QS_PRECOND_BLOCK_JACOBI */
    double complex *W, *Winv;   /* per block d×d row-major, at the block's sector offset */
    double complex *lambda;     /* [dim] eigenvalues of A_N, block by block, at Σ_{M<N} d_M */
    double complex *A, *t1, *t2; /* [dmax²] workspaces */
    double complex *work;       /* zgeev's */
    double *rwork;
    lapack_int *ipiv;
    size_t lwork, dmax;
    double cond;                /* largest ‖W‖₁ ‖W⁻¹‖₁ of the last set-up */
};

void qs_precond_free(qs_precond **pc)
{
    if (!pc || !*pc) return;
    qs_precond *p = *pc;
    free(p->W);
    free(p->Winv);
    free(p->lambda);
    free(p->A);
    free(p->t1);
    free(p->t2);
    free(p->work);
    free(p->rwork);
    free(p->ipiv);
    free(p);
    *pc = NULL;
}

double qs_precond_memory_estimate(double sector, double dim, double dmax)
{
    return sector * 2 * 16 + dim * 16 + dmax * dmax * 3 * 16 + dmax * (16 * 66 + 8 * 2 + 8);   /* W, W⁻¹; λ; workspaces */
}

int qs_precond_create(const qs_basis *b, int kind, qs_precond **out, qs_error *err)
{
    *out = NULL;
    qs_precond *p = calloc(1, sizeof *p);
    if (!p) return qs_error_set(err, QS_ENOMEM, "out of memory");
    p->b = b;
    p->kind = kind;
    for (int N = 0; N <= b->max_total; N++) if (b->block_size[N] > p->dmax) p->dmax = b->block_size[N];
    size_t d = p->dmax, dd = d * d;
    /* the workspace zgeev and zgetri ask for at the largest block */
    double complex q1 = 0, q2 = 0, dummy = 0;
    double rdummy = 0;
    lapack_int di = (lapack_int)(d ? d : 1), idummy = 0;
    LAPACKE_zgeev_work(LAPACK_ROW_MAJOR, 'N', 'V', di, &dummy, di, &dummy, NULL, 1, &dummy, di, &q1, -1, &rdummy);
    LAPACKE_zgetri_work(LAPACK_ROW_MAJOR, di, &dummy, di, &idummy, &q2, -1);
    p->lwork = (size_t)fmax(fmax(creal(q1), creal(q2)), 2.0 * (double)di);
    p->W = malloc(b->sector_dim * sizeof *p->W);
    p->Winv = malloc(b->sector_dim * sizeof *p->Winv);
    p->lambda = malloc(b->dim * sizeof *p->lambda);
    p->A = malloc(dd * sizeof *p->A);
    p->t1 = malloc(dd * sizeof *p->t1);
    p->t2 = malloc(dd * sizeof *p->t2);
    p->work = malloc(p->lwork * sizeof *p->work);
    p->rwork = malloc(2 * d * sizeof *p->rwork);
    p->ipiv = malloc(d * sizeof *p->ipiv);
    if (!p->W || !p->Winv || !p->lambda || !p->A || !p->t1 || !p->t2 || !p->work || !p->rwork || !p->ipiv) {
        qs_precond_free(&p);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the block preconditioner");
    }
    *out = p;
    return QS_OK;
}

/* A_N of block N from the operator's entries, into p->A (d×d row-major). */
static void block_matrix(qs_precond *p, const qs_sector_op *op, int N)
{
    const qs_basis *b = p->b;
    size_t d = b->block_size[N], off = b->block_offset[N];
    memset(p->A, 0, d * d * sizeof *p->A);
    for (size_t i = 0; i < d; i++) {
        size_t row = off + i * d;                      /* (s_i, t_0) */
        for (int64_t q = op->rowptr[row]; q < op->rowptr[row + 1]; q++) {
            size_t c = op->col[q];
            if (c < off || c >= off + d * d) continue;
            size_t ic = (c - off) / d, kc = (c - off) % d;
            if (kc == 0 && ic != i) p->A[i * d + ic] = op->val[q];
            else if (kc == 0 && ic == i) p->A[i * d + i] = CMPLX(creal(p->A[i * d + i]), cimag(op->val[q]));
        }
        size_t pop = off + i * d + i;                  /* (s_i, s_i): 2 Re A_ii */
        for (int64_t q = op->rowptr[pop]; q < op->rowptr[pop + 1]; q++)
            if (op->col[q] == pop) p->A[i * d + i] = CMPLX(0.5 * creal(op->val[q]), cimag(p->A[i * d + i]));
    }
}

static double norm1(const double complex *M, size_t d)
{
    double best = 0.0;
    for (size_t c = 0; c < d; c++) {
        double s = 0.0;
        for (size_t r = 0; r < d; r++) s += cabs(M[r * d + c]);
        if (!(s <= best)) best = s;
    }
    return best;
}

int qs_precond_setup(qs_precond *p, const qs_sector_op *op, double max_cond, qs_error *err)
{
    const qs_basis *b = p->b;
    size_t at = 0;
    p->cond = 1.0;
    for (int N = 0; N <= b->max_total; N++) {
        size_t d = b->block_size[N], off = b->block_offset[N];
        double complex *W = p->W + off, *Wi = p->Winv + off, *lam = p->lambda + at;
        block_matrix(p, op, N);
        lapack_int info = LAPACKE_zgeev_work(LAPACK_ROW_MAJOR, 'N', 'V', (lapack_int)d, p->A, (lapack_int)d, lam, NULL, 1, W,
                                             (lapack_int)d, p->work, (lapack_int)p->lwork, p->rwork);
        if (info == 0) {
            memcpy(Wi, W, d * d * sizeof *Wi);
            info = LAPACKE_zgetrf_work(LAPACK_ROW_MAJOR, (lapack_int)d, (lapack_int)d, Wi, (lapack_int)d, p->ipiv);
            if (info == 0)
                info = LAPACKE_zgetri_work(LAPACK_ROW_MAJOR, (lapack_int)d, Wi, (lapack_int)d, p->ipiv, p->work, (lapack_int)p->lwork);
        }
        if (info != 0)
            return qs_error_set(err, QS_ENUMERIC, "block preconditioner: the eigenproblem of excitation block %d failed (LAPACK info %d)",
                                N, (int)info);
        double cond = norm1(W, d) * norm1(Wi, d);
        if (!(cond <= p->cond)) p->cond = cond;
        if (!(cond <= max_cond))
            return qs_error_set(err, QS_ENUMERIC, "block preconditioner: the eigenvectors of excitation block %d are ill-conditioned "
                                "(%.3g > %.3g)", N, cond, max_cond);
        for (size_t i = 0; i < d; i++)
            if (!(creal(lam[i]) < 0))
                return qs_error_set(err, QS_ENUMERIC, "block preconditioner: excitation block %d does not decay (eigenvalue %.3g%+.3gi)",
                                    N, creal(lam[i]), cimag(lam[i]));
        at += d;
    }
    return QS_OK;
}

double qs_precond_condition(const qs_precond *p) { return p->cond; }

void qs_precond_apply(qs_precond *p, const qs_sector_op *op, const double complex *v, double complex *z)
{
    const qs_basis *b = p->b;
    const double complex one = 1.0, zero = 0.0;
    size_t at = 0;
    for (int N = 0; N <= b->max_total; N++) {
        size_t d = b->block_size[N], off = b->block_offset[N], dd = d * d;
        const double complex *W = p->W + off, *Wi = p->Winv + off, *lam = p->lambda + at;
        double complex *rhs = z + off;
        if (p->kind == QS_PRECOND_BLOCK && N > 0) {
            /* v_N minus what the blocks below, already solved, feed into N (their jumps up) */
#pragma omp parallel for schedule(static) if (dd >= 4096)
            for (size_t r = off; r < off + dd; r++) {
                double complex s = v[r];
                for (int64_t q = op->rowptr[r]; q < op->rowptr[r + 1] && op->col[q] < off; q++) s -= op->val[q] * z[op->col[q]];
                rhs[r - off] = s;
            }
        } else {
            memcpy(rhs, v + off, dd * sizeof *rhs);
        }
        /* t1 = W⁻¹ V W^−†, divided by λ_i + conj λ_k; z_N = W t1 W^† */
        cblas_zgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, &one, Wi, (int)d, rhs, (int)d, &zero, p->t1, (int)d);
        cblas_zgemm(CblasRowMajor, CblasNoTrans, CblasConjTrans, (int)d, (int)d, (int)d, &one, p->t1, (int)d, Wi, (int)d, &zero, p->t2, (int)d);
        for (size_t i = 0; i < d; i++)
            for (size_t k = 0; k < d; k++) p->t2[i * d + k] /= lam[i] + conj(lam[k]);
        cblas_zgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, &one, W, (int)d, p->t2, (int)d, &zero, p->t1, (int)d);
        cblas_zgemm(CblasRowMajor, CblasNoTrans, CblasConjTrans, (int)d, (int)d, (int)d, &one, p->t1, (int)d, W, (int)d, &zero, rhs, (int)d);
        at += d;
    }
}
