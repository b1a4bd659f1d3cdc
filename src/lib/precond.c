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
 * four products per block (BLAS zgemm). Every Re λ < 0 (Γ > 0 on every level: the
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
 * Large blocks: off-resonant couplings are dropped from A_N. States i and j stay in one group
 * when |A_ij| > τ |A_ii − A_jj|, groups being the connected components, and A_N is replaced by
 * its block-diagonal part over the groups, each group diagonalised on its own. What is
 * dropped mixes states by less than τ (first order), which GMRES corrects in a few more
 * iterations; at strong coupling the groups merge. With groups of m_g states an application
 * costs 4 d Σ_g m_g² complex multiply-adds per block instead of 4 d³, the set-up Σ_g O(m_g³).
 * τ is the smallest of 0 (exact), 0.02, 0.05, 0.1, 0.2 whose application stays within the
 * caller's budget (krylov.c: QS_PRECOND_BUDGET GMRES iterations' own work): the rings of four
 * and the chains of three stay exact; the ring of six 4-level oscillators at V = 0.5γ takes
 * τ = 0.05, 6% of the exact cost.
 * Memory: W and W⁻¹ of every group (at most two sector vectors) and three d_max² workspaces.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

struct qs_precond {
    const qs_basis *b;          /* not owned */
    double complex *W, *Winv;   /* each group's m×m row-major, packed from its block's sector offset */
    double complex *lambda;     /* [dim] eigenvalues, block by block (at Σ_{M<N} d_M), in group order */
    uint32_t *perm;             /* [dim] per block: the states in group order (positions in the block) */
    uint32_t *gsize;            /* [dim] per block: the groups' sizes, ngroups[N] of them */
    size_t *ngroups;            /* [max_total+1] */
    size_t *parent;             /* [dmax] union–find */
    double complex *A, *t1, *t2; /* [dmax²] workspaces */
    double complex *work;       /* zgeev's and zgetri's */
    double *rwork;
    lapack_int *ipiv;
    size_t lwork, dmax;
    double cond;                /* largest ‖W‖₁ ‖W⁻¹‖₁ of the last set-up */
    double cost;                /* complex multiply-adds of one application */
    double tau;                 /* the drop threshold of the last set-up */
};

void qs_precond_free(qs_precond **pc)
{
    if (!pc || !*pc) return;
    qs_precond *p = *pc;
    free(p->W);
    free(p->Winv);
    free(p->lambda);
    free(p->perm);
    free(p->gsize);
    free(p->ngroups);
    free(p->parent);
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
    /* W, W⁻¹; λ, the order and sizes; workspaces */
    return sector * 2 * 16 + dim * (16 + 4 + 4) + dmax * dmax * 3 * 16 + dmax * (16 * 66 + 8 * 2 + 8 + 8);
}

int qs_precond_create(const qs_basis *b, qs_precond **out, qs_error *err)
{
    *out = NULL;
    qs_precond *p = calloc(1, sizeof *p);
    if (!p) return qs_error_set(err, QS_ENOMEM, "out of memory");
    p->b = b;
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
    p->perm = malloc(b->dim * sizeof *p->perm);
    p->gsize = malloc(b->dim * sizeof *p->gsize);
    p->ngroups = calloc((size_t)b->max_total + 1, sizeof *p->ngroups);
    p->parent = malloc(d * sizeof *p->parent);
    p->A = malloc(dd * sizeof *p->A);
    p->t1 = malloc(dd * sizeof *p->t1);
    p->t2 = malloc(dd * sizeof *p->t2);
    p->work = malloc(p->lwork * sizeof *p->work);
    p->rwork = malloc(2 * d * sizeof *p->rwork);
    p->ipiv = malloc(d * sizeof *p->ipiv);
    if (!p->W || !p->Winv || !p->lambda || !p->perm || !p->gsize || !p->ngroups || !p->parent || !p->A || !p->t1 || !p->t2 ||
        !p->work || !p->rwork || !p->ipiv) {
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

static size_t root(size_t *parent, size_t x)
{
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
}

/* Groups of block N (d states): the connected components of the couplings with
 * |A_ij| > tau |A_ii − A_jj|; p->perm and p->gsize from `at`, and their count. */
static size_t make_groups(qs_precond *p, size_t d, size_t at, double tau)
{
    size_t *parent = p->parent;
    const double complex *A = p->A;
    for (size_t i = 0; i < d; i++) parent[i] = i;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double a = cabs(A[i * d + j]);
            if (j == i || !(a > 0) || !(a > tau * cabs(A[i * d + i] - A[j * d + j]))) continue;
            size_t ri = root(parent, i), rj = root(parent, j);
            if (ri != rj) parent[ri > rj ? ri : rj] = ri < rj ? ri : rj;
        }
    /* states in order of their group's smallest member, ascending inside a group */
    size_t groups = 0, placed = 0;
    for (size_t g = 0; g < d; g++) {
        if (root(parent, g) != g) continue;
        size_t size = 0;
        for (size_t i = g; i < d; i++)
            if (root(parent, i) == g) { p->perm[at + placed++] = (uint32_t)i; size++; }
        p->gsize[at + groups++] = (uint32_t)size;
    }
    return groups;
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

static const double drop_ladder[] = {0.0, 0.02, 0.05, 0.1, 0.2};
#define N_DROP (sizeof drop_ladder / sizeof *drop_ladder)

int qs_precond_setup(qs_precond *p, const qs_sector_op *op, double budget, double max_cond, qs_error *err)
{
    const qs_basis *b = p->b;
    size_t at = 0;
    /* the cost of an application at each τ, then the smallest τ within the budget */
    double cost[N_DROP] = {0};
    for (int N = 0; N <= b->max_total; N++) {
        size_t d = b->block_size[N];
        block_matrix(p, op, N);
        for (size_t t = 0; t < N_DROP; t++) {
            size_t groups = make_groups(p, d, at, drop_ladder[t]);
            for (size_t g = 0; g < groups; g++) cost[t] += 4.0 * (double)d * (double)p->gsize[at + g] * (double)p->gsize[at + g];
        }
        at += d;
    }
    size_t pick = 0;
    while (pick + 1 < N_DROP && !(cost[pick] <= budget)) pick++;
    double tau = p->tau = drop_ladder[pick];
    at = 0;
    p->cond = 1.0;
    p->cost = 0.0;
    for (int N = 0; N <= b->max_total; N++) {
        size_t d = b->block_size[N], off = b->block_offset[N], packed = off, start = 0;
        block_matrix(p, op, N);
        size_t groups = p->ngroups[N] = make_groups(p, d, at, tau);
        for (size_t g = 0; g < groups; g++) {
            size_t m = p->gsize[at + g];
            const uint32_t *perm = p->perm + at + start;
            double complex *W = p->W + packed, *Wi = p->Winv + packed, *lam = p->lambda + at + start;
            for (size_t x = 0; x < m; x++)
                for (size_t y = 0; y < m; y++) p->t1[x * m + y] = p->A[(size_t)perm[x] * d + perm[y]];
            lapack_int info = LAPACKE_zgeev_work(LAPACK_ROW_MAJOR, 'N', 'V', (lapack_int)m, p->t1, (lapack_int)m, lam, NULL, 1, W,
                                                 (lapack_int)m, p->work, (lapack_int)p->lwork, p->rwork);
            if (info == 0) {
                memcpy(Wi, W, m * m * sizeof *Wi);
                info = LAPACKE_zgetrf_work(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)m, Wi, (lapack_int)m, p->ipiv);
                if (info == 0)
                    info = LAPACKE_zgetri_work(LAPACK_ROW_MAJOR, (lapack_int)m, Wi, (lapack_int)m, p->ipiv, p->work, (lapack_int)p->lwork);
            }
            if (info != 0)
                return qs_error_set(err, QS_ENUMERIC, "block preconditioner: the eigenproblem of excitation block %d failed (LAPACK info %d)",
                                    N, (int)info);
            double cond = norm1(W, m) * norm1(Wi, m);
            if (!(cond <= p->cond)) p->cond = cond;
            if (!(cond <= max_cond))
                return qs_error_set(err, QS_ENUMERIC, "block preconditioner: the eigenvectors of excitation block %d are ill-conditioned "
                                    "(%.3g > %.3g)", N, cond, max_cond);
            for (size_t i = 0; i < m; i++)
                if (!(creal(lam[i]) < 0))
                    return qs_error_set(err, QS_ENUMERIC, "block preconditioner: excitation block %d does not decay (eigenvalue %.3g%+.3gi)",
                                        N, creal(lam[i]), cimag(lam[i]));
            p->cost += 4.0 * (double)d * (double)m * (double)m;
            packed += m * m;
            start += m;
        }
        at += d;
    }
    return QS_OK;
}

double qs_precond_condition(const qs_precond *p) { return p->cond; }
double qs_precond_cost(const qs_precond *p) { return p->cost; }
double qs_precond_drop(const qs_precond *p) { return p->tau; }

/* out = blockdiag(M_g) · in (left) or in · blockdiag(M_g)^† (right), d×d row-major; M_g packed. */
static void groups_multiply(const qs_precond *p, size_t at, size_t groups, size_t d, const double complex *M, int right,
                            const double complex *in, double complex *out)
{
    const double complex one = 1.0, zero = 0.0;
    size_t start = 0;
    for (size_t g = 0; g < groups; g++) {
        size_t m = p->gsize[at + g];
        if (right)
            cblas_zgemm(CblasRowMajor, CblasNoTrans, CblasConjTrans, (int)d, (int)m, (int)m, &one, in + start, (int)d, M, (int)m, &zero,
                        out + start, (int)d);
        else
            cblas_zgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)d, (int)m, &one, M, (int)m, in + start * d, (int)d, &zero,
                        out + start * d, (int)d);
        M += m * m;
        start += m;
    }
}

void qs_precond_apply(qs_precond *p, const qs_sector_op *op, const double complex *v, double complex *z)
{
    const qs_basis *b = p->b;
    size_t at = 0;
    for (int N = 0; N <= b->max_total; N++) {
        size_t d = b->block_size[N], off = b->block_offset[N], dd = d * d, groups = p->ngroups[N];
        const uint32_t *perm = p->perm + at;
        const double complex *lam = p->lambda + at;
        double complex *t1 = p->t1, *t2 = p->t2, *blk = z + off;
        /* v_N minus what the blocks below, already solved, feed into N (their jumps up), in group order */
#pragma omp parallel for schedule(static) if (dd >= 4096)
        for (size_t a = 0; a < d; a++)
            for (size_t c = 0; c < d; c++) {
                size_t r = off + (size_t)perm[a] * d + perm[c];
                double complex s = v[r];
                for (int64_t q = op->rowptr[r]; q < op->rowptr[r + 1] && op->col[q] < off; q++) s -= op->val[q] * z[op->col[q]];
                t1[a * d + c] = s;
            }
        /* W⁻¹ V W^−†, divided by λ_a + conj λ_c, then W (·) W^† */
        groups_multiply(p, at, groups, d, p->Winv + off, 0, t1, t2);
        groups_multiply(p, at, groups, d, p->Winv + off, 1, t2, t1);
        for (size_t a = 0; a < d; a++)
            for (size_t c = 0; c < d; c++) t1[a * d + c] /= lam[a] + conj(lam[c]);
        groups_multiply(p, at, groups, d, p->W + off, 0, t1, t2);
        groups_multiply(p, at, groups, d, p->W + off, 1, t2, t1);
        for (size_t a = 0; a < d; a++)
            for (size_t c = 0; c < d; c++) blk[(size_t)perm[a] * d + perm[c]] = t1[a * d + c];
        at += d;
    }
}
