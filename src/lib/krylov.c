/* krylov.c — steady state by restarted GMRES, preconditioned by the uncoupled Liouvillian.
 *
 * Split L = L0 + L1: L0 holds each oscillator's own dynamics (energies, jumps), L1 the
 * couplings. L0 acts on each oscillator's index pair (n_j, m_j) separately, and in a simple
 * way: for n_j ≠ m_j it is diagonal (a jump never feeds a coherence of its oscillator); for
 * n_j = m_j it is the birth–death generator Q_j of that oscillator's populations. Detailed
 * balance makes Q_j = Π^½ S_j Π^−½ with S_j symmetric tridiagonal (off-diagonal
 * √(up·down)), so Q_j = V_j Λ_j V_j⁻¹ with V_j = Π^½ U_j from one small symmetric
 * eigenproblem. L0 is then diagonal in the product of these local bases, and its group
 * inverse L0^# (the inverse on traceless matrices, zero on the product state ρ0) costs two
 * small dense products per oscillator and element of the sector.
 *
 * Right-preconditioned GMRES(m) solves L L0^# y = −L x0 from x0 (ρ0, or the previous
 * solution in a sweep, both of trace 1), and ρ = x0 + L0^# y. Every correction L0^# y is
 * traceless, so Tr ρ = 1 throughout, and on traceless matrices L L0^# = 1 + L1 L0^#: close to
 * the identity when the couplings are weak against the damping. Right preconditioning
 * keeps GMRES's residual the true residual of L; each restart recomputes it from scratch.
 * Orthogonalisation is classical Gram–Schmidt, a second time when the first cancelled most of
 * the vector (twice is enough), written as blocked OpenMP loops: BLAS's own threads would compete with OpenMP's for the cores.
 *
 * Symmetry: permutations π of identical oscillators that leave the model unchanged commute
 * with L and with L0, so the unique steady state and every vector GMRES builds from ρ0 are
 * invariant: ρ_(πs,πt) = ρ_st. GMRES then runs on one complex unknown per orbit of sector
 * elements (the operator's rows at the orbits' representatives, columns summed per orbit:
 * qs_sector_op). At convergence the state is spread to the whole sector and its residual is
 * that of the whole sector's L, computed row by row without storing it.
 *
 * L0^# by cubes. L0 mixes only the elements that differ in the populations of oscillators
 * whose bra and ket levels agree, so it is block diagonal over cubes: an anchor (s, t), every
 * oscillator j with s_j = t_j at level 0 (the set Z), spans the cube (s + Σ q_j e_j, t + Σ q_j
 * e_j), q_j < L_j for j ∈ Z, a tensor of shape (L_j)_(j∈Z) on which L0^# is (⊗ V_j)
 * diag(1/λ) (⊗ V_j⁻¹). Each cube is gathered into a small buffer, transformed there, and
 * written back: one read and one write of the vector instead of two per oscillator. The group
 * maps anchors to anchors and cubes to cubes, and an orbit of elements that meets a cube
 * meets every cube of that cube's orbit; so with symmetry one cube per orbit of cubes, the
 * one whose anchor is its orbit's representative, gives the value of every orbit, and L0^#
 * costs about 1/|G| of the whole sector's. The anchors are listed once, as state pairs.
 *
 * At strong coupling (V ≳ γ) L1 L0^# is far from small and GMRES needs hundreds to thousands
 * of iterations. The block preconditioner (precond.c) instead solves each excitation block's
 * coherent dynamics, couplings included, exactly, Gauss–Seidel over the blocks; its output
 * is made traceless by subtracting its trace times ρ0, so Tr ρ = 1 still holds. Auto uses
 * L0^# for the first restart cycle (cheap, and enough at weak coupling) and the block
 * preconditioner from the next cycle on and for the plan's later solves.
 */
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

struct qs_krylov {
    const qs_basis *b;          /* not owned */
    qs_sector_op *A;
    int restart;
    size_t n;                   /* unknowns: orbits of sector elements (the sector dimension without symmetry) */
    size_t sector;              /* sector dimension */
    /* preconditioner: per oscillator the local eigenbasis of its population generator */
    double **V, **Vinv;         /* [osc][L·L] row-major */
    double complex *rho0;       /* [n] the uncoupled product state */
    double complex *xr;         /* [n] the iterate with symmetry (without: the caller's x) */
    int threads_full;           /* OpenMP threads of the whole-sector operations */
    /* L0^# by cubes: the anchors (with symmetry one per orbit of cubes) */
    uint32_t *cube_s, *cube_t;  /* [n_cubes] each anchor's bra and ket state */
    size_t n_cubes, cube_max;   /* anchors; the largest cube's elements */
    int threads_cube;           /* OpenMP threads over the cubes */
    double complex *cube_buf;   /* [threads_cube·2·cube_max] a cube's values and the transform's second buffer */
    size_t *cube_first;         /* [n_cubes+1] each cube's first element in cube_at */
    uint32_t *cube_at;          /* [elements of the listed cubes] each element's orbit (without symmetry: sector index) */
    double complex *cube_lambda; /* [elements] each element's 1 / (sum of local eigenvalues), 0 on ρ0's direction: in the
                                   cubes' order, read in sequence (per orbit it was a gather, half of L0^#'s time) */
    int *cube_osc;              /* [threads·2·oscillators] a cube's oscillators Z and positions in them */
    /* GMRES */
    double complex *basis;      /* [(restart+1)·n] Krylov vectors */
    double complex *w, *z;      /* [n] */
    double complex *H, *g, *h, *sn; /* Hessenberg [(m+1)·m] column-major, rhs, projections, rotations */
    double *cs;
    int threads;                /* OpenMP threads of the vector operations */
    double complex *part;       /* [threads·(restart+1)] partial projections */
    /* the local eigenproblems' workspace (Lmax: the most levels of any oscillator) */
    int Lmax;
    double *eig, *pop;          /* [n·Lmax] eigenvalues, populations */
    double *off, *lp, *U, *work; /* [Lmax] off-diagonal, log Π; [Lmax·Lmax] eigenvectors (column-major); [2·Lmax] */
    /* the block preconditioner (precond.c): replaces L0^# while pc_on */
    int pc_kind;                /* QS_PRECOND_* */
    qs_precond *pc;             /* NULL for QS_PRECOND_UNCOUPLED */
    int pc_on;                  /* auto: set at the first restart, kept for later solves (until
                                   qs_krylov_auto_restart) */
    size_t setup_fills;         /* the operator's fill (A->fills) L0^#'s tables were made for (0: none) */
    size_t pc_fills;            /* and the blocks' (0: none) */
    int unconverged;            /* auto: iterations with L0^# by earlier solves that stopped unconverged */
    size_t *diag;               /* [dim] sector index of each population ρ_ss */
    double stall;               /* stop after a restart cycle whose rate predicts more iterations than this (0: never) */
    int stalled;                /* the last solve stopped so */
    int iterations;
    double residual;
    double planned;             /* bytes of the plan, with the operator's exact entry count */
    double block_planned;       /* of which the block preconditioner's share (made only when used) */
    size_t vectors_used;        /* Krylov basis vectors written by the plan's solves, at most restart + 1 */
};

static void free_matrices(double **m, int n)
{
    for (int j = 0; m && j < n; j++) free(m[j]);
    free(m);
}

void qs_krylov_free(qs_krylov **kr)
{
    if (!kr || !*kr) return;
    qs_krylov *k = *kr;
    int n = k->b->n;
    qs_sector_op_free(&k->A);
    qs_precond_free(&k->pc);
    free(k->diag);
    free_matrices(k->V, n);
    free_matrices(k->Vinv, n);
    free(k->cube_lambda);
    free(k->xr);
    free(k->rho0);
    free(k->basis);
    free(k->w);
    free(k->z);
    free(k->H);
    free(k->g);
    free(k->h);
    free(k->sn);
    free(k->cs);
    free(k->part);
    free(k->cube_s);
    free(k->cube_t);
    free(k->cube_buf);
    free(k->cube_at);
    free(k->cube_first);
    free(k->cube_osc);
    free(k->eig);
    free(k->pop);
    free(k->off);
    free(k->lp);
    free(k->U);
    free(k->work);
    free(k);
    *kr = NULL;
}

/* The block preconditioner's share of a plan on the whole sector (none on orbits), at most. */
static double block_bytes(double sector, double dim, int order)
{
    return order > 1 ? 0 : qs_precond_memory_estimate(sector, dim, sqrt(sector)) + dim * 8;
}

/* Bytes of everything the iterative solver allocates (create and solve) for an operator of
 * `entries` non-zeros on `unknowns` orbits (the sector without symmetry) of a group of
 * `order`: what the memory plan compares with the limit. */
static double krylov_bytes(const qs_model *m, double sector, double dim, int restart, double entries, double unknowns,
                           int order)
{
    double local = 0, Lmax = 0;
    for (int j = 0; j < m->n; j++) {
        double L = m->osc[j].levels;
        local += 2 * 8 * L * L + 2 * 4 * 8 * L;          /* V, V⁻¹; the energies and rates (operator's and basis's gen) */
        if (L > Lmax) Lmax = L;
    }
    local += 8 * Lmax * Lmax                             /* the eigenproblem's U */
           + 8 * Lmax * (2.0 * m->n + 4)                 /* eigenvalues, populations, off-diagonal, log Π, dstev's work */
           + 32 * dim * omp_get_max_threads();           /* a cube per thread (at most dim elements), twice */
    if (restart < 2) restart = 2;
    double group = order > 1 ? sector * 4 + unknowns * (4 + 16)          /* orbit of each element, representatives, iterate */
                                 + dim * (8.0 * order + 16) : 0;         /* the orbits' images, row counts and order */
    return entries * (4 + 16) + unknowns * 8             /* the operator: columns, values; row pointers */
         + unknowns * 8                                  /* the cubes: each listed element's orbit (about one per
                                                            orbit), the anchors (about one per eight) */
         + unknowns * 16 * (restart + 1 + 4)             /* Krylov basis, w, z, ρ0; 1/λ (one per listed cube
                                                            element: 1-14 % more than the orbits) */
         + sector * 16                                   /* the caller's ρ (with symmetry also the preconditioner's vector) */
         + group
         + dim * (m->n * 2.0 + 28)                       /* the basis: occupations, totals, positions, blocks */
         + block_bytes(sector, dim, order)               /* block preconditioner (whole sector only), at most */
         + local;
}

double qs_krylov_memory_estimate(const qs_model *m, double sector, double dim, int restart, double per_row)
{
    return krylov_bytes(m, sector, dim, restart, per_row * sector, sector, 1);
}

double qs_krylov_memory_estimate_group(const qs_model *m, double sector, double dim, int restart, double per_row, int order)
{
    double unknowns = order > 1 ? sector / order : sector;      /* at least: no orbit has more than `order` elements */
    return krylov_bytes(m, sector, dim, restart, per_row * unknowns, unknowns, order);
}

/* The anchors of the kets of state s (its block's states t in order), with symmetry only those
 * that are their orbit's representative: their count, and their cubes' elements added to
 * *elements (the largest cube's in *largest). With `cube` set, also each anchor's bra, ket
 * and first element (*elements on entry: where state s's first cube begins) and the elements'
 * orbits (or sector indices) into k->cube_at. */
static size_t anchors_of(const qs_krylov *k, size_t s, size_t cube, size_t *largest, size_t *elements, int *zj, int *q)
{
    const qs_basis *b = k->b;
    const uint32_t *orbit_of = k->A->orbit_of;
    int N0 = b->total[s], n = b->n;
    size_t d = b->block_size[N0], count = 0, row = b->block_offset[N0] + b->pos[s] * d;
    const uint16_t *os = b->occ + s * (size_t)n;
    for (size_t c = 0; c < d; c++) {
        size_t t0 = b->block_states[N0][c], size = 1;
        const uint16_t *ot = b->occ + t0 * (size_t)n;
        int anchor = 1, nz = 0;
        for (int j = 0; anchor && j < n; j++)
            if (os[j] == ot[j]) {
                anchor = os[j] == 0;
                size *= (size_t)b->levels[j];
                zj[nz] = j;
                q[nz++] = 0;
            }
        if (!anchor || (orbit_of && k->A->rep[orbit_of[row + c]] != row + c)) continue;
        if (cube != SIZE_MAX) {
            size_t first = *elements, si = s, ti = t0;
            int N = N0;
            k->cube_s[cube + count] = (uint32_t)s;
            k->cube_t[cube + count] = (uint32_t)t0;
            k->cube_first[cube + count] = first;
            for (size_t e = 0; e < size; e++) {         /* the last oscillator of Z fastest */
                size_t i = b->block_offset[N] + b->pos[si] * b->block_size[N] + b->pos[ti];
                k->cube_at[first + e] = (uint32_t)(orbit_of ? orbit_of[i] : i);
                for (int m = nz - 1; m >= 0; m--) {
                    size_t L = (size_t)b->levels[zj[m]], st = b->stride[zj[m]];
                    if ((size_t)++q[m] < L) { si += st; ti += st; N++; break; }
                    si -= (L - 1) * st; ti -= (L - 1) * st; N -= (int)(L - 1); q[m] = 0;
                }
            }
        }
        count++;
        if (size > *largest) *largest = size;
        *elements += size;
    }
    return count;
}

/* List the cubes of L0^# (anchors and elements) and allocate each thread's buffers; 0 when
 * out of memory. */
static int cubes_create(qs_krylov *k)
{
    const qs_basis *b = k->b;
    size_t dim = b->dim, largest = 0, *first = malloc((dim + 1) * sizeof *first), *efirst = malloc((dim + 1) * sizeof *efirst);
    int n = b->n, threads = k->sector >= QS_KRYLOV_PARALLEL_MIN ? omp_get_max_threads() : 1;
    k->cube_osc = malloc((size_t)omp_get_max_threads() * 2 * (size_t)n * sizeof *k->cube_osc);
    int ok = first && efirst && k->cube_osc && k->sector <= UINT32_MAX;
    if (ok) {
        first[0] = efirst[0] = 0;
#pragma omp parallel num_threads(threads)
        {
            int *zj = k->cube_osc + (size_t)omp_get_thread_num() * 2 * (size_t)n;
#pragma omp for schedule(dynamic, 16) reduction(max : largest)
            for (size_t s = 0; s < dim; s++) {
                efirst[s + 1] = 0;
                first[s + 1] = anchors_of(k, s, SIZE_MAX, &largest, &efirst[s + 1], zj, zj + n);
            }
        }
        for (size_t s = 0; s < dim; s++) {
            first[s + 1] += first[s];
            efirst[s + 1] += efirst[s];
        }
        k->n_cubes = first[dim];
        k->cube_max = largest;
        k->threads_cube = efirst[dim] >= QS_KRYLOV_PARALLEL_MIN ? omp_get_max_threads() : 1;
        k->cube_s = malloc((k->n_cubes + 1) * sizeof *k->cube_s);
        k->cube_t = malloc((k->n_cubes + 1) * sizeof *k->cube_t);
        k->cube_first = malloc((k->n_cubes + 1) * sizeof *k->cube_first);
        k->cube_at = malloc((efirst[dim] + 1) * sizeof *k->cube_at);
        k->cube_lambda = malloc((efirst[dim] + 1) * sizeof *k->cube_lambda);
        k->cube_buf = malloc((size_t)k->threads_cube * 2 * (largest + 1) * sizeof *k->cube_buf);
        ok = k->cube_s && k->cube_t && k->cube_first && k->cube_at && k->cube_lambda && k->cube_buf;
    }
    if (ok) {
#pragma omp parallel num_threads(threads)
        {
            int *zj = k->cube_osc + (size_t)omp_get_thread_num() * 2 * (size_t)n;
            size_t ignored = 0;
#pragma omp for schedule(dynamic, 16)
            for (size_t s = 0; s < dim; s++) {
                size_t at = efirst[s];
                anchors_of(k, s, first[s], &ignored, &at, zj, zj + n);
            }
        }
        k->cube_first[k->n_cubes] = efirst[dim];
    }
    free(first);
    free(efirst);
    return ok;
}

int qs_krylov_create(const qs_basis *b, const qs_model *m, const int *perms, int n_perms, int restart, int lean, double memory_limit,
                     const char *which, qs_krylov **out, qs_error *err)
{
    *out = NULL;
    qs_krylov *k = calloc(1, sizeof *k);
    if (!k) return qs_error_set(err, QS_ENOMEM, "out of memory");
    k->b = b;
    k->sector = b->sector_dim;
    k->restart = restart < 2 ? 2 : restart;
    int n = b->n, status, order = n_perms > 1 ? n_perms : 1;
    size_t mr = (size_t)k->restart, basis_len;
    /* the operator finds the orbits and counts its entries first, then checks the whole plan
     * with those exact counts (the plan's bytes are linear in the orbits) */
    double fixed = krylov_bytes(m, (double)k->sector, (double)b->dim, k->restart, 0, 0, order),
           per_orbit = krylov_bytes(m, (double)k->sector, (double)b->dim, k->restart, 0, 1, order) - fixed;
    if ((status = qs_sector_op_create_group(b, m, perms, n_perms, memory_limit, fixed, per_orbit, lean, which, &k->A, err)) != QS_OK) {
        qs_krylov_free(&k);
        return status;
    }
    k->n = k->A->n;
    if (!qs_mul_size(mr + 1, k->n, &basis_len)) { qs_krylov_free(&k); return qs_error_set(err, QS_ETOOBIG, "the Krylov basis is too large to index"); }
    k->planned = krylov_bytes(m, (double)k->sector, (double)b->dim, k->restart, k->A->implicit ? 0.0 : (double)k->A->nnz,
                              (double)k->n, k->A->order);
    k->block_planned = block_bytes((double)k->sector, (double)b->dim, k->A->order);
    k->V = calloc((size_t)n, sizeof *k->V);
    k->Vinv = calloc((size_t)n, sizeof *k->Vinv);
    if (k->A->orbit_of) k->xr = malloc(k->n * sizeof *k->xr);
    k->rho0 = malloc(k->n * sizeof *k->rho0);
    k->basis = malloc(basis_len * sizeof *k->basis);
    k->w = malloc(k->n * sizeof *k->w);
    k->z = malloc(k->n * sizeof *k->z);
    k->H = calloc((mr + 1) * mr, sizeof *k->H);
    k->g = malloc((mr + 1) * sizeof *k->g);
    k->h = malloc((mr + 1) * sizeof *k->h);
    k->sn = malloc(mr * sizeof *k->sn);
    k->cs = malloc(mr * sizeof *k->cs);
    /* below QS_KRYLOV_PARALLEL_MIN unknowns a vector operation takes about as long as
     * starting a parallel region: run serially (and so identically for any thread count) */
    k->threads = k->n >= QS_KRYLOV_PARALLEL_MIN ? omp_get_max_threads() : 1;
    k->threads_full = k->sector >= QS_KRYLOV_PARALLEL_MIN ? omp_get_max_threads() : 1;
    k->part = malloc((size_t)k->threads * (mr + 1) * sizeof *k->part);
    for (int j = 0; j < n; j++) if (b->levels[j] > k->Lmax) k->Lmax = b->levels[j];
    size_t Lm = (size_t)k->Lmax;
    int cubes = cubes_create(k);
    k->eig = malloc((size_t)n * Lm * sizeof *k->eig);
    k->pop = malloc((size_t)n * Lm * sizeof *k->pop);
    k->off = malloc(Lm * sizeof *k->off);
    k->lp = malloc(Lm * sizeof *k->lp);
    k->U = malloc(Lm * Lm * sizeof *k->U);
    k->work = malloc(2 * Lm * sizeof *k->work);
    int ok = k->part && k->V && k->Vinv && (k->xr || !k->A->orbit_of) && k->rho0 && k->basis && k->w && k->z &&
             k->H && k->g && k->h && k->sn && k->cs && cubes && k->eig && k->pop && k->off && k->lp && k->U && k->work;
    for (int j = 0; ok && j < n; j++) {
        size_t L = (size_t)b->levels[j];
        k->V[j] = malloc(L * L * sizeof **k->V);
        k->Vinv[j] = malloc(L * L * sizeof **k->Vinv);
        ok = k->V[j] && k->Vinv[j];
    }
    if (!ok) { qs_krylov_free(&k); return qs_error_set(err, QS_ENOMEM, "out of memory for the iterative solver"); }
    *out = k;
    return QS_OK;
}

int qs_krylov_set_preconditioner(qs_krylov *k, int kind, qs_error *err)
{
    qs_precond_free(&k->pc);
    k->pc_on = 0;
    k->pc_fills = 0;
    k->unconverged = 0;
    k->pc_kind = QS_PRECOND_UNCOUPLED;
    if (kind == QS_PRECOND_UNCOUPLED) return QS_OK;
    if (kind != QS_PRECOND_BLOCK && kind != QS_PRECOND_AUTO) return qs_error_set(err, QS_EINPUT, "unknown preconditioner %d", kind);
    if (k->A->implicit) {           /* the blocks need the stored operator */
        if (kind == QS_PRECOND_BLOCK)
            return qs_error_set(err, QS_ETOOBIG, "the block preconditioner needs the stored operator (%zu non-zeros, %.4g MiB), "
                                "which does not fit in memory beside the rest of the plan", k->A->nnz,
                                (double)k->A->nnz * (sizeof(uint32_t) + sizeof(double complex)) / 1048576.0);
        return QS_OK;
    }
    if (k->A->orbit_of) {           /* symmetry orbits: L0^# only (the blocks need the whole sector's operator) */
        if (kind == QS_PRECOND_BLOCK)
            return qs_error_set(err, QS_EINPUT, "the block preconditioner works on the whole sector, not on symmetry orbits");
        return QS_OK;
    }
    if (!k->diag) {
        if (!(k->diag = malloc(k->b->dim * sizeof *k->diag))) return qs_error_set(err, QS_ENOMEM, "out of memory");
        for (size_t s = 0; s < k->b->dim; s++) k->diag[s] = qs_basis_sector_index(k->b, s, s);
    }
    int status = qs_precond_create(k->b, &k->pc, err);
    if (status == QS_OK) k->pc_kind = kind;
    return status;
}

/* What the block preconditioner may cost per application (complex multiply-adds). */
static double precondition_budget(const qs_krylov *k)
{
    return QS_PRECOND_BUDGET * ((double)k->A->nnz + 2.0 * k->restart * (double)k->n);
}

/* Auto: once L0^# has run a whole cycle without converging (in this solve, or in earlier ones
 * cut short by their iteration limit: a caller may go one cycle per call), the block
 * preconditioner, for the rest of this solve and later ones, unless its eigenbases are
 * refused (then L0^# stays). */
static void precondition_switch(qs_krylov *k)
{
    qs_error ignored;
    if (k->pc_kind == QS_PRECOND_AUTO && !k->pc_on && k->unconverged + k->iterations >= k->restart) {
        k->pc_on = qs_precond_setup(k->pc, k->A, precondition_budget(k), QS_PRECOND_MAX_COND, &ignored) == QS_OK;
        if (k->pc_on) k->pc_fills = k->A->fills;
    }
}

/* The block preconditioner's eigenbases for the operator's last fill, when it is on (or asked
 * for) and they were made for an earlier one. */
static int blocks_setup(qs_krylov *k, qs_error *err)
{
    int status = QS_OK;
    if (k->pc_kind == QS_PRECOND_BLOCK && !(k->pc_on && k->pc_fills == k->A->fills)) {
        status = qs_precond_setup(k->pc, k->A, precondition_budget(k), QS_PRECOND_MAX_COND, err);
        k->pc_on = status == QS_OK;
    } else if (k->pc_on && k->pc_fills != k->A->fills) {
        qs_error ignored;
        k->pc_on = qs_precond_setup(k->pc, k->A, precondition_budget(k), QS_PRECOND_MAX_COND, &ignored) == QS_OK;
    }
    if (k->pc_on) k->pc_fills = k->A->fills;
    return status;
}

/* Local eigenbases and 1/λ for `m`, from the energies and rates of the operator's last
 * fill; also ρ0; and the block preconditioner's eigenbases. */
static int precondition_setup(qs_krylov *k, const qs_model *m, qs_error *err)
{
    const qs_basis *b = k->b;
    const qs_gen *g = k->A->gen;
    int n = b->n, status = QS_OK, Lmax = k->Lmax;
    if (k->setup_fills == k->A->fills) return blocks_setup(k, err);   /* the same values: the same tables */
    double *eig = k->eig, *off = k->off, *U = k->U, *lp = k->lp, *pop = k->pop;
    for (int j = 0; status == QS_OK && j < n; j++) {
        int L = b->levels[j];
        double *e = eig + (size_t)j * (size_t)Lmax;
        /* S: diagonal −out(q), off-diagonal √(up(q+1)·down(q+1)); log Π from detailed balance */
        lp[0] = 0.0;
        for (int q = 0; q < L; q++) {
            e[q] = -g->out[j][q];
            if (q + 1 < L) {
                double up_next = g->up[j][q + 1], dn = g->down[j][q + 1];
                if (!(up_next > 0) || !(dn > 0)) {
                    status = qs_error_set(err, QS_EINPUT, "oscillator %s: the iterative solver needs every up and down rate > 0 "
                                          "(level %d); use --solver direct", m->names[j], q + 1);
                    break;
                }
                off[q] = sqrt(up_next * dn);
                lp[q + 1] = lp[q] + log(up_next) - log(dn);
            }
        }
        if (status != QS_OK) break;
        double top = lp[0];
        for (int q = 1; q < L; q++) if (lp[q] > top) top = lp[q];
        double norm = 0.0;
        for (int q = 0; q < L; q++) norm += exp(lp[q] - top);
        for (int q = 0; q < L; q++) pop[(size_t)j * (size_t)Lmax + (size_t)q] = exp(lp[q] - top) / norm;
        /* column-major with our own workspace: LAPACKE allocates nothing */
        lapack_int info = LAPACKE_dstev_work(LAPACK_COL_MAJOR, 'V', L, e, off, U, L, k->work);
        if (info != 0) { status = qs_error_set(err, QS_ENUMERIC, "eigenvalue solver failed (LAPACK info %d)", (int)info); break; }
        e[L - 1] = 0.0;                        /* the stationary mode: ascending, so last */
        for (int r = 0; r < L; r++)
            for (int c = 0; c < L; c++) {
                double half = exp(0.5 * (lp[r] - top)), u = U[(size_t)c * (size_t)L + (size_t)r];
                k->V[j][r * L + c] = half * u;               /* Π^½ U */
                k->Vinv[j][c * L + r] = u / half;            /* Uᵀ Π^−½ */
            }
    }
    if (status == QS_OK) {
        /* 1/λ and ρ0 are invariant under the group (identical oscillators have identical
         * local eigenbases): computed at each orbit's representative, 1/λ into w (free until
         * the solve) and from there into the cubes' order */
        const qs_sector_op *A = k->A;
        size_t e = 0;
        for (int N = 0; N <= b->max_total; N++) {
            size_t d = b->block_size[N];
            for (size_t i = 0; i < d; i++)
                for (size_t c = 0; c < d; c++, e++) {
                    size_t s = b->block_states[N][i], t = b->block_states[N][c], o = e;
                    if (A->orbit_of) {
                        o = A->orbit_of[e];
                        if (A->rep[o] != e) continue;
                    }
                    double complex lam = 0.0;
                    double p0 = s == t ? 1.0 : 0.0;
                    int stationary = s == t;
                    for (int j = 0; j < n; j++) {
                        int L = b->levels[j], sj = qs_basis_occ(b, s, j), tj = qs_basis_occ(b, t, j);
                        if (sj == tj) {
                            lam += eig[(size_t)j * (size_t)Lmax + (size_t)sj];
                            stationary = stationary && sj == L - 1;
                            p0 *= pop[(size_t)j * (size_t)Lmax + (size_t)sj];
                        } else {
                            lam += CMPLX(-0.5 * (g->out[j][sj] + g->out[j][tj]), -(g->energy[j][sj] - g->energy[j][tj]));
                        }
                    }
                    k->w[o] = stationary ? 0.0 : 1.0 / lam;
                    k->rho0[o] = p0;
                }
        }
    }
    if (status != QS_OK) return status;
    size_t elements = k->cube_first[k->n_cubes];
#pragma omp parallel for num_threads(k->threads_cube) schedule(static)
    for (size_t i = 0; i < elements; i++) k->cube_lambda[i] = k->w[k->cube_at[i]];
    k->setup_fills = k->A->fills;
    return blocks_setup(k, err);
}

/* out = (1 ⊗ M ⊗ 1) in, on a tensor of `size` elements whose mode of L levels is followed by
 * modes of `inner` elements in all: out[a][r][u] = Σ_q M[r][q] in[a][q][u] (M row-major). */
static void mode_product(const double *M, size_t L, size_t inner, size_t size, const double complex *in, double complex *out)
{
    size_t w = 2 * inner;                                   /* doubles per slice */
    if (inner == 1) {                                       /* the last mode: L x L times each complex L-vector */
        for (size_t a = 0; a < size / L; a++) {
            const double *x = (const double *)in + 2 * a * L;
            double *y = (double *)out + 2 * a * L;
            for (size_t r = 0; r < L; r++) {
                double re = 0.0, im = 0.0;
                for (size_t q = 0; q < L; q++) {
                    re += M[r * L + q] * x[2 * q];
                    im += M[r * L + q] * x[2 * q + 1];
                }
                y[2 * r] = re;
                y[2 * r + 1] = im;
            }
        }
        return;
    }
    for (size_t a = 0; a < size / (L * inner); a++) {
        const double *x = (const double *)in + a * L * w;
        double *y = (double *)out + a * L * w;
        for (size_t r = 0; r < L; r++) {
            double *yr = y + r * w;
            for (size_t u = 0; u < w; u++) yr[u] = 0.0;
            for (size_t q = 0; q < L; q++) {
                double c = M[r * L + q];
                const double *xq = x + q * w;
#pragma omp simd
                for (size_t u = 0; u < w; u++) yr[u] += c * xq[u];
            }
        }
    }
}

/* z = L0^# v cube by cube (see the opening). With symmetry v and z hold one value per orbit. */
static void apply_cubes(const qs_krylov *k, const double complex *v, double complex *z)
{
    const qs_basis *b = k->b;
    int n = b->n;
#pragma omp parallel num_threads(k->threads_cube)
    {
        int th = omp_get_thread_num(), *zj = k->cube_osc + (size_t)th * 2 * (size_t)n, nz;
        double complex *x = k->cube_buf + (size_t)th * 2 * (k->cube_max + 1), *y = x + k->cube_max + 1;
#pragma omp for schedule(dynamic, 64)
        for (size_t c = 0; c < k->n_cubes; c++) {
            const uint16_t *os = b->occ + (size_t)k->cube_s[c] * (size_t)n, *ot = b->occ + (size_t)k->cube_t[c] * (size_t)n;
            const uint32_t *at = k->cube_at + k->cube_first[c];
            size_t size = k->cube_first[c + 1] - k->cube_first[c], inner = size;
            nz = 0;
            for (int j = 0; j < n; j++)
                if (os[j] == ot[j]) zj[nz++] = j;
            for (size_t e = 0; e < size; e++) x[e] = v[at[e]];
            for (int m = 0; m < nz; m++) {                     /* ⊗ V_j⁻¹ */
                size_t L = (size_t)b->levels[zj[m]];
                inner /= L;
                mode_product(k->Vinv[zj[m]], L, inner, size, x, y);
                double complex *swap = x; x = y; y = swap;
            }
            const double complex *lam = k->cube_lambda + k->cube_first[c];
            for (size_t e = 0; e < size; e++) x[e] *= lam[e];
            for (int m = 0; m < nz; m++) {                     /* ⊗ V_j */
                size_t L = (size_t)b->levels[zj[m]];
                inner *= L;
                mode_product(k->V[zj[m]], L, size / inner, size, x, y);
                double complex *swap = x; x = y; y = swap;
            }
            for (size_t e = 0; e < size; e++) z[at[e]] = x[e];
        }
    }
}

/* z = L0^# v, or (the block preconditioner, on the whole sector only) z = M⁻¹ v − Tr(M⁻¹ v) ρ0:
 * traceless either way. With symmetry v and z are invariant vectors given by their orbits'
 * values. */
static void precondition(const qs_krylov *k, const double complex *v, double complex *z)
{
    if (k->pc_on) {
        qs_precond_apply(k->pc, k->A, v, z);
        double complex tr = 0.0;
        for (size_t s = 0; s < k->b->dim; s++) tr += z[k->diag[s]];
#pragma omp parallel for num_threads(k->threads) schedule(static)
        for (size_t e = 0; e < k->n; e++) z[e] -= tr * k->rho0[e];
        return;
    }
    apply_cubes(k, v, z);
}

static double norm_inf(const double complex *x, size_t n, int threads)
{
    double m = 0.0;
#pragma omp parallel for num_threads(threads) reduction(max : m) schedule(static)
    for (size_t i = 0; i < n; i++) {
        double a = cabs(x[i]);
        if (!(a <= m)) m = isnan(a) ? INFINITY : a;
    }
    return m;
}

/* r = −L x; returns the relative residual ‖Lx‖∞ / (‖L‖∞ ‖x‖∞), and ‖x‖∞ in *xnorm. */
static double true_residual(const qs_krylov *k, const double complex *x, double complex *r, double *xnorm)
{
    qs_sector_op_apply(k->A, x, r, k->threads);
#pragma omp parallel for num_threads(k->threads) schedule(static)
    for (size_t i = 0; i < k->n; i++) r[i] = -r[i];
    *xnorm = norm_inf(x, k->n, k->threads);
    return norm_inf(r, k->n, k->threads) / (k->A->norm * *xnorm);
}

/* ---- vector operations on the Krylov basis (columns of length n), in blocks of rows ---- */
#define ROWS 1024
/* One pass of classical Gram–Schmidt leaves components along the basis of about ε ‖before‖,
 * i.e. ε ‖before‖ / ‖after‖ relative to the new vector: at most 100 ε when it cancelled less
 * than 99 % (Hoffmann's κ = 100; Daniel–Gragg–Kaufman–Stewart's √2 repeats the pass at far
 * smaller losses). Measured: the same iterations and residuals on the ring of 6 x 4 at
 * V = 0.5 (112) and the ring of 4 x 5 at V = 2 (64) as with √2, each iteration reading the
 * basis twice instead of three times (16 % faster in all). */
#define GS_AGAIN_BELOW 0.01

/* Rows b..e of the block kernels: out += Σ_{i<m} coef_i v_i, and p[i] += v_i^H x (vectorised:
 * partial sums in a fixed order, the same on every run). */
static inline void rows_combine(const double complex *V, size_t n, int m, const double complex *coef, double *out, size_t b, size_t e)
{
    for (int i = 0; i < m; i++) {
        const double *v = (const double *)(V + (size_t)i * n);
        double cr = creal(coef[i]), ci = cimag(coef[i]);
#pragma omp simd
        for (size_t r = b; r < e; r++) {
            out[2 * r] += cr * v[2 * r] - ci * v[2 * r + 1];
            out[2 * r + 1] += cr * v[2 * r + 1] + ci * v[2 * r];
        }
    }
}

static inline void rows_project(const double complex *V, size_t n, int m, const double *x, double complex *p, size_t b, size_t e)
{
    for (int i = 0; i < m; i++) {
        const double *v = (const double *)(V + (size_t)i * n);
        double re = 0, im = 0;
#pragma omp simd reduction(+ : re, im)
        for (size_t r = b; r < e; r++) {
            re += v[2 * r] * x[2 * r] + v[2 * r + 1] * x[2 * r + 1];
            im += v[2 * r] * x[2 * r + 1] - v[2 * r + 1] * x[2 * r];
        }
        p[i] += CMPLX(re, im);
    }
}

/* The sums of the threads' partial projections first..first+count−1 (k->part), each in thread
 * order, into h[0..count) */
static void sum_parts(const qs_krylov *k, int first, int count, double complex *h)
{
    size_t stride = (size_t)k->restart + 1;
    for (int i = 0; i < count; i++) {
        double complex sum = 0;
        for (int t = 0; t < k->threads; t++) sum += k->part[(size_t)t * stride + (size_t)(first + i)];
        h[i] = sum;
    }
}

/* h[i] = v_i^H w, i < m; partial sums per thread, added in thread order */
static void project(qs_krylov *k, const double complex *V, int m, const double complex *w, double complex *h)
{
    size_t n = k->n, stride = (size_t)k->restart + 1;
#pragma omp parallel num_threads(k->threads)
    {
        double complex *p = k->part + (size_t)omp_get_thread_num() * stride;
        for (int i = 0; i < m; i++) p[i] = 0;
#pragma omp for schedule(static)
        for (size_t b = 0; b < n; b += ROWS) rows_project(V, n, m, (const double *)w, p, b, b + ROWS < n ? b + ROWS : n);
    }
    sum_parts(k, 0, m, h);
}

/* y = beta·y + Σ_{i<m} coef_i v_i */
static void combine(const qs_krylov *k, const double complex *V, int m, const double complex *coef, double beta,
                    double complex *y)
{
    size_t n = k->n;
#pragma omp parallel for num_threads(k->threads) schedule(static)
    for (size_t b = 0; b < n; b += ROWS) {
        size_t e = b + ROWS < n ? b + ROWS : n;
        double *out = (double *)y;
        if (beta == 0.0) for (size_t r = b; r < e; r++) out[2 * r] = out[2 * r + 1] = 0.0;
        else if (beta != 1.0) for (size_t r = b; r < e; r++) { out[2 * r] *= beta; out[2 * r + 1] *= beta; }
        rows_combine(V, n, m, coef, out, b, e);
    }
}

/* y += Σ_{i<m} coef_i v_i, then (when h is not NULL) h[i] = v_i^H y, and the 2-norm of y, in one
 * pass over the rows (the second Gram–Schmidt pass's projections while the first's update is in
 * cache) */
static double combine_project(qs_krylov *k, const double complex *V, int m, const double complex *coef, double complex *y,
                              double complex *h)
{
    size_t n = k->n, stride = (size_t)k->restart + 1;
#pragma omp parallel num_threads(k->threads)
    {
        double complex *p = k->part + (size_t)omp_get_thread_num() * stride;
        for (int i = 0; i <= m; i++) p[i] = 0;
#pragma omp for schedule(static)
        for (size_t b = 0; b < n; b += ROWS) {
            size_t e = b + ROWS < n ? b + ROWS : n;
            double *out = (double *)y, nn = 0;
            rows_combine(V, n, m, coef, out, b, e);
            if (h) rows_project(V, n, m, out, p, b, e);
#pragma omp simd reduction(+ : nn)
            for (size_t r = 2 * b; r < 2 * e; r++) nn += out[r] * out[r];
            p[m] += nn;
        }
    }
    double complex norm;
    if (h) sum_parts(k, 0, m, h);
    sum_parts(k, m, 1, &norm);
    return sqrt(creal(norm));
}

static double norm2(const qs_krylov *k, const double complex *x)
{
    const double *v = (const double *)x;
    double s = 0;
#pragma omp parallel for num_threads(k->threads) reduction(+ : s) schedule(static)
    for (size_t r = 0; r < 2 * k->n; r++) s += v[r] * v[r];
    return sqrt(s);
}

static void scale(const qs_krylov *k, double a, double complex *x)
{
    double *v = (double *)x;
#pragma omp parallel for num_threads(k->threads) schedule(static)
    for (size_t r = 0; r < 2 * k->n; r++) v[r] *= a;
}

static int solve(qs_krylov *k, const qs_model *m, const double complex *guess, double tol, int max_iterations,
                 double complex *x, qs_error *err)
{
    int status;
    k->iterations = 0;
    k->residual = NAN;
    if ((status = qs_sector_op_fill(k->A, m, err)) != QS_OK || (status = precondition_setup(k, m, err)) != QS_OK) return status;
    size_t n = k->n, mr = (size_t)k->restart;
    const qs_sector_op *A = k->A;
    double complex *xs = x;                          /* the whole sector's state */
    if (A->orbit_of) {                               /* iterate on the orbits; x is the preconditioner's vector */
        x = k->xr;
        if (guess)
            for (size_t o = 0; o < n; o++) x[o] = guess[A->rep[o]];
    }
    if (!guess) memcpy(x, k->rho0, n * sizeof *x);
    else if (!A->orbit_of && guess != x) memcpy(x, guess, n * sizeof *x);
    double complex *r = k->basis;                    /* the residual becomes the first basis vector */
    const double complex one = 1.0;
    double cycle_start = NAN;
    int cycle_its = 0, cycles = 0;
    k->stalled = 0;
    for (;;) {
        double xnorm, rel = true_residual(k, x, r, &xnorm);
        k->residual = rel;
        if (!isfinite(rel)) return qs_error_set(err, QS_ENUMERIC, "the iterative solver produced a non-finite state");
        int done = rel <= tol;
        if (!done && k->stall > 0 && k->iterations > cycle_its) {
            /* the iterations still needed at this cycle's rate, with a margin: restarted GMRES
             * slows down after its first cycle, which removes the easy part of the residual */
            double rate = log(rel / cycle_start) / (k->iterations - cycle_its);
            double left = rate < 0 ? log(tol / rel) / rate : INFINITY;
            k->stalled = (cycles++ == 0 ? 3.0 : 1.5) * left > k->stall;
        }
        int stop = !done && (k->iterations >= max_iterations || k->stalled);
        cycle_start = rel;
        cycle_its = k->iterations;
        if ((done || stop) && A->orbit_of) {
            /* the whole sector's state (a caller may go on from it), checked with the whole
             * sector's L when it is the answer (a stop short of the tolerance keeps the orbits'
             * residual: a caller going on needs only its rate) */
#pragma omp parallel for num_threads(k->threads_full) schedule(static)
            for (size_t e = 0; e < k->sector; e++) xs[e] = x[A->orbit_of[e]];
            if (done) k->residual = qs_sector_op_full_residual(A, xs, k->threads_full);
            if (isnan(k->residual)) return qs_error_set(err, QS_ENUMERIC, "the whole sector's residual check gave no number (a zero or non-finite state)");
        }
        if (done) {
            k->unconverged = 0;
            return QS_OK;
        }
        if (stop) {
            if (!k->pc_on) k->unconverged += k->iterations;
            if (k->stalled)
                return qs_error_set(err, QS_ENUMERIC, "GMRES stopped after %d iterations (relative residual %.3g): its rate "
                                    "predicts more than %.0f iterations more", k->iterations, k->residual, k->stall);
            return qs_error_set(err, QS_ENUMERIC, "GMRES did not converge in %d iterations: relative residual %.3g (tolerance %.3g)",
                                k->iterations, k->residual, tol);
        }
        precondition_switch(k);
        double beta = norm2(k, r);
        /* stop the cycle when the 2-norm estimate guarantees the ∞-norm criterion */
        double target = tol * k->A->norm * xnorm;
        scale(k, 1.0 / beta, r);
        memset(k->g, 0, (mr + 1) * sizeof *k->g);
        k->g[0] = beta;
        size_t j = 0;
        while (j < mr && k->iterations < max_iterations) {
            double complex *vj = k->basis + j * n, *vn = k->basis + (j + 1) * n, *hj = k->H + j * (mr + 1);
            precondition(k, vj, k->z);
            qs_sector_op_apply(k->A, k->z, vn, k->threads);
            /* classical Gram–Schmidt, again only when the first pass left less than
             * GS_AGAIN_BELOW of the vector's norm (then twice is enough); the second pass's
             * projections come with the first pass's update */
            double before = norm2(k, vn), hn, left = before * before;
            project(k, k->basis, (int)(j + 1), vn, k->h);
            for (size_t i = 0; i <= j; i++) {
                hj[i] = k->h[i];
                left -= creal(k->h[i]) * creal(k->h[i]) + cimag(k->h[i]) * cimag(k->h[i]);
                k->h[i] = -k->h[i];
            }
            /* by Pythagoras (to rounding of the order of eps before^2) the first pass leaves
             * sqrt(left): at twice the threshold or more no second pass can follow, and the
             * update needs no projections */
            int sure = left >= 4 * GS_AGAIN_BELOW * GS_AGAIN_BELOW * before * before;
            hn = combine_project(k, k->basis, (int)(j + 1), k->h, vn, sure ? NULL : k->h);
            if (!sure && hn < GS_AGAIN_BELOW * before) {
                for (size_t i = 0; i <= j; i++) {
                    hj[i] += k->h[i];
                    k->h[i] = -k->h[i];
                }
                combine(k, k->basis, (int)(j + 1), k->h, 1.0, vn);
                hn = norm2(k, vn);
            }
            hj[j + 1] = hn;
            if (hn > 0) scale(k, 1.0 / hn, vn);
            for (size_t i = 0; i < j; i++) {                  /* earlier rotations */
                double complex a = hj[i], c = hj[i + 1];
                hj[i] = k->cs[i] * a + k->sn[i] * c;
                hj[i + 1] = -conj(k->sn[i]) * a + k->cs[i] * c;
            }
            double complex a = hj[j], c = hj[j + 1];
            double rr = hypot(cabs(a), cabs(c));
            if (cabs(a) == 0.0) { k->cs[j] = 0.0; k->sn[j] = 1.0; }
            else { k->cs[j] = cabs(a) / rr; k->sn[j] = (a / cabs(a)) * conj(c) / rr; }
            hj[j] = k->cs[j] * a + k->sn[j] * c;
            hj[j + 1] = 0.0;
            k->g[j + 1] = -conj(k->sn[j]) * k->g[j];
            k->g[j] = k->cs[j] * k->g[j];
            j++;
            k->iterations++;
            if (j + 1 > k->vectors_used) k->vectors_used = j + 1;
            if (cabs(k->g[j]) <= 0.5 * target || hn == 0.0) break;
        }
        for (size_t i = j; i-- > 0;) {                        /* R y = g, y into g */
            double complex s = k->g[i];
            for (size_t q = i + 1; q < j; q++) s -= k->H[q * (mr + 1) + i] * k->g[q];
            k->g[i] = s / k->H[i * (mr + 1) + i];
        }
        combine(k, k->basis, (int)j, k->g, 0.0, k->w);
        precondition(k, k->w, k->z);
        combine(k, k->z, 1, &one, 1.0, x);
    }
}

int qs_krylov_solve(qs_krylov *k, const qs_model *m, const double complex *guess, double tol, int max_iterations,
                    double complex *x, qs_error *err)
{
    /* The block preconditioner's products (zgemm) run between OpenMP's vector operations:
     * OpenBLAS's threads, spinning after each product, took the cores from OpenMP's (60 % of
     * Fig. 4 at 10 levels went to spinning and yielding; 0.85 s instead of 1.6-2.4 s on one
     * BLAS thread). So BLAS gets one thread while the blocks may run, and its count is given
     * back after. Only outside a parallel region: a sweep's solves run inside one, where the
     * program has set one BLAS thread already (qsync sweep, the Python package), and where a
     * set and a restore from two threads could interleave. Without the blocks the only LAPACK
     * call, dstev on a tridiagonal, runs no BLAS on more than one thread. */
    int blas = 0;
    if (k->pc_kind != QS_PRECOND_UNCOUPLED && !omp_in_parallel()) {
        blas = openblas_get_num_threads();
        if (blas > 1) openblas_set_num_threads(1);
    }
    int status = solve(k, m, guess, tol, max_iterations, x, err);
    if (blas > 1) openblas_set_num_threads(blas);
    return status;
}

void qs_krylov_set_stall(qs_krylov *k, double factor) { k->stall = factor; }
int qs_krylov_stalled(const qs_krylov *k) { return k->stalled; }
int qs_krylov_iterations(const qs_krylov *k) { return k->iterations; }
int qs_krylov_preconditioner(const qs_krylov *k) { return k->pc_on ? QS_PRECOND_BLOCK : QS_PRECOND_UNCOUPLED; }

double qs_krylov_block_cost(const qs_krylov *k) { return k->pc_on ? qs_precond_cost(k->pc) : 0.0; }

void qs_krylov_auto_restart(qs_krylov *k)
{
    if (k->pc_kind != QS_PRECOND_AUTO) return;
    k->pc_on = 0;
    k->unconverged = 0;
}

int qs_krylov_blocks_next(qs_krylov *k)
{
    if (k->pc_kind != QS_PRECOND_AUTO || !k->pc) return 0;
    if (k->unconverged < k->restart) k->unconverged = k->restart;
    return 1;
}
size_t qs_krylov_unknowns(const qs_krylov *k) { return k->n; }
int qs_krylov_order(const qs_krylov *k) { return k->A->order; }
size_t qs_krylov_nnz(const qs_krylov *k) { return k->A->nnz; }
int qs_krylov_implicit(const qs_krylov *k) { return k->A->implicit; }
double qs_krylov_planned(const qs_krylov *k) { return k->planned; }

/* The plan's resident bytes so far: malloc'd pages count once written, so the Krylov basis
 * counts the vectors the solves have used (the plan counts restart + 1), and the block
 * preconditioner only when it is made. */
double qs_krylov_resident(const qs_krylov *k)
{
    size_t used = k->vectors_used > 0 ? k->vectors_used : 1;
    return k->planned - 16.0 * (double)k->n * (double)((size_t)k->restart + 1 - used) - (k->pc_on ? 0.0 : k->block_planned);
}
double qs_krylov_residual(const qs_krylov *k) { return k->residual; }
