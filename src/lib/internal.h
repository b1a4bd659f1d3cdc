/* internal.h — definitions shared by the library's sources, not part of the API.
 *
 * Basis: the Fock states of N oscillators, index s = Σ_j n_j stride_j with oscillator 0
 * most significant (stride_{N−1} = 1). Each state has a total excitation number; the
 * zero excitation-difference sector holds the elements ρ_{s,t} with total(s) = total(t),
 * ordered block by block (total 0, 1, …), row-major inside a block:
 *     index(s, t) = block_offset[total] + pos[s]·block_size[total] + pos[t].
 */
#ifndef QSYNC_INTERNAL_H
#define QSYNC_INTERNAL_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>
#include "qsync/qsync.h"

/* err's message with the formatted text in front of it, and `status`; returns status (err may
 * be NULL). */
int qs_error_prefix(qs_error *err, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- model ---- */
typedef struct {
    int j, k;             /* j < k */
    double complex c;     /* C_jk */
} qs_coupling;

struct qs_model {
    char source[256];
    int n;                /* oscillators */
    char (*names)[QS_NAME_MAX];
    qs_osc *osc;
    int n_couplings, cap_couplings;
    qs_coupling *couplings;
};

/* Allocate an empty model with room for n oscillators and m couplings. */
qs_model *qs_model_alloc(int n, int m);
/* Checks every oscillator (σ > 0, γ ≥ 0, levels ≥ 2 or auto, …); `where` prefixes messages. */
int qs_model_validate_osc(const qs_osc *o, const char *where, qs_error *err);

/* ---- checked size arithmetic ---- */
static inline int qs_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
static inline int qs_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}

/* ---- basis ---- */
typedef struct {
    int n;                 /* oscillators */
    int *levels;           /* [n] */
    size_t *stride;        /* [n] */
    size_t dim;            /* D = Π levels */
    uint16_t *occ;         /* [dim·n] occupation numbers, row s = state s */
    int max_total;         /* Σ (levels − 1) */
    int *total;            /* [dim] total excitation of each state */
    size_t *pos;           /* [dim] position of each state inside its block */
    size_t *block_size;    /* [max_total+1] states with that total */
    size_t *block_offset;  /* [max_total+2] sector offset of each block */
    size_t **block_states; /* [max_total+1] the states of each block, ascending */
    size_t sector_dim;     /* Σ block_size² */
} qs_basis;

/* Sector dimension Σ_N (states with total N)², in floating point (never overflows). */
double qs_basis_sector_estimate(int n, const int *levels);
/* Sizes a basis would have, without building it (overflow → 0 return). */
int qs_basis_plan(int n, const int *levels, size_t *dim, size_t *sector_dim);
int qs_basis_create(int n, const int *levels, qs_basis **basis, qs_error *err);
void qs_basis_free(qs_basis **basis);
static inline int qs_basis_occ(const qs_basis *b, size_t s, int j) { return b->occ[s * (size_t)b->n + (size_t)j]; }
static inline size_t qs_basis_sector_index(const qs_basis *b, size_t s, size_t t)
{
    int N = b->total[s];
    return b->block_offset[N] + b->pos[s] * b->block_size[N] + b->pos[t];
}
/* The (s, t) of sector element e: the inverse of qs_basis_sector_index. */
static inline void qs_basis_sector_element(const qs_basis *b, size_t e, size_t *s, size_t *t)
{
    int lo = 0, hi = b->max_total;          /* block with offset ≤ e < next offset */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (b->block_offset[mid] <= e) lo = mid; else hi = mid - 1;
    }
    size_t d = b->block_size[lo], r = e - b->block_offset[lo];
    *s = b->block_states[lo][r / d];
    *t = b->block_states[lo][r % d];
}

/* ---- state ---- */
struct qs_state {
    const qs_basis *basis;  /* not owned */
    double complex *rho;    /* [basis->sector_dim], sector order */
};

/* ---- Liouvillian (see liouvillian.c) ---- */
typedef struct {
    int p, q;                 /* term C_pq a_p† a_q */
    double complex c;
} hop;

/* Everything the generator needs: structure (hops) and values, per oscillator and level. */
typedef struct qs_gen {
    int n, n_hops;
    hop *hops;                /* [2·couplings] */
    double **energy;          /* [n][levels] E_j(n) */
    double **up;              /* [n][levels] up[j][n] = rate of n−1 → n (0 at n = 0) */
    double **down;            /* [n][levels] down[j][n] = rate of n → n−1 */
    double **out;             /* [n][levels] total out-rate of level n */
    int *level_at;            /* [n+1] Σ of the levels of the oscillators before j */
    double complex *par;      /* the parameters an entry's value is a multiple of (liouvillian.c) */
} qs_gen;
typedef struct qs_liouvillian qs_liouvillian;

/* Build the real sparsity pattern for `model` on `basis`: the sector (full = 0) or the
 * whole space (full = 1), reduced by the n_perms permutations `perms` (a group of
 * symmetries of the model, n_perms × n; 0 for none). Every entry the model's structure
 * can make non-zero is in it; row trace_row is reduced to its diagonal. */
int qs_liouvillian_create(const qs_basis *basis, const qs_model *model, int full, const int *perms,
                          int n_perms, qs_liouvillian **L, qs_error *err);
/* Fill the values for `model` (same structure as at create). */
int qs_liouvillian_fill(qs_liouvillian *L, const qs_model *model, qs_error *err);
void qs_liouvillian_free(qs_liouvillian **L);

/* Upper bound of the non-zeros for this model structure (for planning). */
int qs_liouvillian_nnz_bound(const qs_model *model, size_t columns, size_t diag, size_t *nnz);


/* Relative residual ‖Lρ‖∞ / (‖L‖∞ ‖ρ‖∞) of the complex L (values of the last fill) on the
 * complex vector rho [n_slots] in slot order; y and row_abs [n_slots] are workspaces. */
double qs_liouvillian_residual(const qs_liouvillian *L, const double complex *rho, double complex *y, double *row_abs);

struct qs_liouvillian {
    const qs_basis *basis;   /* not owned */
    int full;
    size_t n_slots;          /* elements of ρ in play: the sector, or D² */
    size_t n;                /* system dimension: orbits of slots (= n_slots without symmetry) */
    int64_t *orbit_of;       /* [n_slots] orbit of each slot; −1: zero by symmetry */
    signed char *sign;       /* [n_slots] value of the slot = sign × value of its orbit */
    size_t *orbit_ptr;       /* [n+1] slots of orbit o: orbit_slots[orbit_ptr[o] ..] */
    size_t *orbit_slots;     /* ascending within an orbit: the representative first */
    size_t orbit_max;        /* largest orbit */
    size_t nnz;
    int64_t *Ap;             /* [n+1] column pointers (CSC) */
    int64_t *Ai;             /* [nnz] row indices, ascending within a column */
    double *Ax;              /* [nnz] real values; row trace_row replaced by w e_r */
    /* the complex L, column (slot) by column, each entry with where its value comes from */
    int64_t *transpose;      /* [n_slots] slot of (t, s) for slot (s, t) */
    signed char *upper;      /* [n_slots] sign of t − s: 1 a real part, 0 a population, −1 an imaginary part */
    int64_t *cptr;           /* [n_slots+1] */
    int64_t *crow;           /* [n_cplx] row slot */
    int32_t *cpar;           /* [n_cplx] parameter (−1: the diagonal) */
    double *ccoef;           /* [n_cplx] its factor */
    double complex *cval;    /* [n_cplx] values of the last fill */
    size_t n_cplx;
    /* the real system's entries as emitted, column by column: source and place */
    int64_t *emit_ptr;       /* [n+1] */
    int64_t *emit_src;       /* complex entry << 2 | which part and sign */
    int32_t *emit_pos;       /* place in the column, −1 to skip (the trace row) */
    size_t trace_row;        /* r: the unknown (orbit of a population) fixing the normalisation */
    size_t *diag_index;      /* [dim] slot of the population ρ_ss */
    int64_t trace_pos;       /* position in Ax of (r, r) */
    double trace_weight;     /* w */
    qs_gen *gen;             /* rates, energies and hops of the last fill */
};

/* Slot of element (s, t) (sector or full order); (size_t)−1 if outside the sector. */
static inline size_t qs_liouvillian_index(const qs_liouvillian *L, size_t s, size_t t)
{
    const qs_basis *b = L->basis;
    if (L->full) return s * b->dim + t;
    if (b->total[s] != b->total[t]) return (size_t)-1;
    return qs_basis_sector_index(b, s, t);
}

/* The (s, t) of slot `col`. */
static inline void qs_liouvillian_slot(const qs_liouvillian *L, size_t col, size_t *s, size_t *t)
{
    const qs_basis *b = L->basis;
    if (L->full) { *s = col / b->dim; *t = col % b->dim; return; }
    qs_basis_sector_element(b, col, s, t);
}

/* The complex L on the zero excitation-difference sector in compressed rows, for
 * matrix-vector products: the iterative solver's operator. Without symmetry a row and a
 * column per sector element (sector order both ways). With a group of permutations of
 * identical oscillators, one per orbit of elements (s, t) → (πs, πt): row o is L's row at
 * the orbit's representative (its smallest element), its columns summed per orbit, so that
 * on states invariant under the group (the steady state is) it gives L's rows exactly. */
typedef struct {
    const qs_basis *basis;   /* not owned */
    size_t n, nnz;           /* rows and columns (orbits; the sector's elements without symmetry), entries */
    size_t sector;           /* sector dimension */
    int order;               /* order of the group (1: none) */
    uint32_t *orbit_of;      /* [sector] orbit of each element; NULL without symmetry (the identity) */
    uint32_t *rep;           /* [n] each orbit's representative; NULL without symmetry */
    int64_t *rowptr;         /* [n+1]; NULL when implicit */
    uint32_t *col;           /* [nnz] ascending within a row; NULL when implicit */
    double complex *val;     /* [nnz] values of the last fill; NULL when implicit */
    int implicit;            /* not stored: each product emits the rows again (qs_sector_op_apply) */
    double norm;             /* ‖L‖∞ of the last fill (of the whole sector's L, before entries are summed per
                                orbit: the representatives' rows, whose row sums the orbit's other rows repeat) */
    qs_gen *gen;             /* energies and rates of the last fill */
    double *filled;          /* the energies, out-rates and parameters the stored values were made from
                                (gen_snapshot); NULL when none are stored */
    size_t n_filled;
    size_t fills;            /* counts the fills that changed the values (tables made from them
                                can be kept while it stays) */
} qs_sector_op;

/* Pattern and values for `model` (new values by qs_sector_op_fill), reduced by the n_perms permutations
 * `perms` (a group of symmetries of the model, n_perms × n; 0 or 1 for none); refused
 * (QS_ETOOBIG) when its entries and other + other_per_row × rows bytes (the caller's plan,
 * with the rows, orbits, known once they are found) need more than
 * memory_limit bytes (0: no limit), unless `implicit_ok`: then, when `other` alone fits, the
 * operator is not stored and each product emits its rows again (about 3x the time of a stored
 * product). `which` names the limit in the message ("available", …). */
int qs_sector_op_create_group(const qs_basis *basis, const qs_model *model, const int *perms, int n_perms, double memory_limit,
                              double other, double other_per_row, int implicit_ok, const char *which, qs_sector_op **A,
                              qs_error *err);
/* The same without symmetry. */
int qs_sector_op_create(const qs_basis *basis, const qs_model *model, double memory_limit, double other, const char *which,
                        qs_sector_op **A, qs_error *err);
int qs_sector_op_fill(qs_sector_op *A, const qs_model *model, qs_error *err);
/* y = L x on `threads` OpenMP threads (one when called inside a parallel region). */
void qs_sector_op_apply(const qs_sector_op *A, const double complex *x, double complex *y, int threads);
/* Relative residual ‖Lρ‖∞ / (‖L‖∞ ‖ρ‖∞) of the whole sector's L (values of the last fill; ‖L‖∞
 * that fill's, over the representatives' rows, which a symmetry's other rows repeat) on the
 * sector vector x, row by row without storing L. */
double qs_sector_op_full_residual(const qs_sector_op *A, const double complex *x, int threads);
/* Sectors smaller than this run the iterative solver's vector operations on one thread */
#define QS_KRYLOV_PARALLEL_MIN 32768
void qs_sector_op_free(qs_sector_op **A);

/* The complex L on the excitation-difference sector k (slots (s, t) with total(s) − total(t)
 * = k; a_j ρ_ss lies in k = −1), column-compressed with int64 indices for a complex LU
 * (KLU's klu_zl_*, UMFPACK's umfpack_zl_*). Slot order: blocks by the ket's total N (bra
 * total N − k), row-major inside a block:
 *     index(s, t) = offset[total(s)] + pos[s]·block_size[total(s) − k] + pos[t].
 * Columns come from the same emission as the k = 0 paths (emit_complex); rows ascend
 * within a column, each column has its diagonal. */
typedef struct {
    const qs_basis *basis;   /* not owned */
    int k;                   /* ket minus bra excitations */
    size_t n, nnz;           /* slots, entries */
    size_t *offset;          /* [max_total+2] first slot of the block with ket total N */
    int64_t *Ap;             /* [n+1] column pointers */
    int64_t *Ai;             /* [nnz] row slots, ascending within a column */
    double complex *Ax;      /* [nnz] values of the last fill */
    int64_t *diag;           /* [n] position in Ai/Ax of each column's diagonal entry */
    int32_t *par;            /* [nnz] where each value comes from (liouvillian.c) */
    double *coef;            /* [nnz] */
    qs_gen *gen;             /* energies and rates of the last fill */
} qs_sector_matrix;

/* Slots of sector k of `basis` (0 when the sector is empty), without building it. */
size_t qs_sector_matrix_dimension(const qs_basis *basis, int k);
/* Pattern and values of L on sector k for `model` (levels of the basis); refused
 * (QS_ETOOBIG) when its arrays and `other` bytes need more than memory_limit (0: no limit). */
int qs_sector_matrix_create(const qs_basis *basis, const qs_model *model, int k, double memory_limit, double other,
                            qs_sector_matrix **M, qs_error *err);
/* Values for `model` (same structure as at create). */
int qs_sector_matrix_fill(qs_sector_matrix *M, const qs_model *model, qs_error *err);
void qs_sector_matrix_free(qs_sector_matrix **M);
/* Slot of (s, t), (size_t)−1 when total(s) − total(t) ≠ k. */
static inline size_t qs_sector_matrix_index(const qs_sector_matrix *M, size_t s, size_t t)
{
    const qs_basis *b = M->basis;
    int N = b->total[s];
    if (N - b->total[t] != M->k) return (size_t)-1;
    return M->offset[N] + b->pos[s] * b->block_size[N - M->k] + b->pos[t];
}

/* ---- iterative solver (krylov.c) ---- */
typedef struct qs_krylov qs_krylov;
/* Bytes the iterative solver and its state need for this model with per_row entries per
 * row of the operator (planning, before any allocation; qs_krylov_planned has the exact). */
double qs_krylov_memory_estimate(const qs_model *model, double sector, double dim, int restart, double per_row);
/* The same with the symmetry group of `order` (at least sector / order unknowns). */
double qs_krylov_memory_estimate_group(const qs_model *model, double sector, double dim, int restart, double per_row, int order);
/* Entries per row of the operator, at most: the diagonal, two per hop (ket and bra side)
 * and two jumps per oscillator; a sector row has about half of them (0.4–0.6 measured). */
#define QS_KRYLOV_PER_ROW_MAX(m) (1 + 4.0 * (m)->n_couplings + 2.0 * (m)->n)
/* One unknown per orbit of sector elements under the n_perms permutations `perms` (a group
 * of symmetries of the model, n_perms × n; 0 or 1 for none): the steady state is invariant.
 * Refused (QS_ETOOBIG) when the whole plan, with the operator's exact entry count, needs
 * more than memory_limit bytes (0: no limit), unless `lean` and the plan fits with the
 * operator not stored; `which` names the limit in the message. */
int qs_krylov_create(const qs_basis *basis, const qs_model *model, const int *perms, int n_perms, int restart, int lean,
                     double memory_limit, const char *which, qs_krylov **kr, qs_error *err);
/* Bytes the plan counts: every array of create and solve, and the caller's state (sector ρ). */
double qs_krylov_planned(const qs_krylov *kr);
/* Of those, the bytes made resident so far: the Krylov basis vectors the solves have written
 * (restart + 1 planned), the block preconditioner only once made. */
double qs_krylov_resident(const qs_krylov *kr);
/* The sector state of `model` into x [sector] (trace 1, not yet Hermitised), from `guess`
 * (trace 1; may be x) or, if NULL, the uncoupled product state; until the relative residual
 * is ≤ tol. With symmetry x is written at the end, and the residual (qs_krylov_residual) is
 * that of the whole sector's L on the state x when it converged (else the orbits'). */
int qs_krylov_solve(qs_krylov *kr, const qs_model *model, const double complex *guess, double tol, int max_iterations,
                    double complex *x, qs_error *err);
/* Stop (QS_ENUMERIC, qs_krylov_stalled) after a restart cycle whose rate of decrease predicts
 * more than `iterations` more (3x the first cycle's prediction, 1.5x later ones'); 0: never
 * (the default). */
void qs_krylov_set_stall(qs_krylov *kr, double iterations);
int qs_krylov_stalled(const qs_krylov *kr);
int qs_krylov_iterations(const qs_krylov *kr);
int qs_krylov_preconditioner(const qs_krylov *kr);   /* the one of the last iterations */
/* Complex multiply-adds of one application of the block preconditioner (0 while L0^# preconditions). */
double qs_krylov_block_cost(const qs_krylov *kr);
/* With the automatic preconditioner on the whole sector: the blocks from the next solve's first
 * cycle on (as after a whole cycle of L0^#); 0 when there are none to take. */
int qs_krylov_blocks_next(qs_krylov *kr);
size_t qs_krylov_unknowns(const qs_krylov *kr);   /* orbits solved for */
int qs_krylov_order(const qs_krylov *kr);         /* order of the group used (1: none) */
size_t qs_krylov_nnz(const qs_krylov *kr);        /* entries of the operator */
int qs_krylov_implicit(const qs_krylov *kr);      /* the operator is not stored (emitted at each product) */
double qs_krylov_residual(const qs_krylov *kr);
void qs_krylov_free(qs_krylov **kr);

/* ---- the block preconditioner of the iterative solver (precond.c) ---- */
typedef struct qs_precond qs_precond;
/* For the sector of `basis` (read until freed). */
int qs_precond_create(const qs_basis *basis, qs_precond **pc, qs_error *err);
/* Bytes of a preconditioner for `sector` unknowns, `dim` states, the largest block dmax states. */
double qs_precond_memory_estimate(double sector, double dim, double dmax);
/* Eigenbases of every block's groups from the operator's values (its last fill), couplings
 * with |A_ij| ≤ τ |A_ii − A_jj| dropped, τ the smallest of a ladder (0 first) whose application
 * costs at most `budget` complex multiply-adds; QS_ENUMERIC when a group's eigenvectors have
 * a condition number above max_cond or a group does not decay. */
int qs_precond_setup(qs_precond *pc, const qs_sector_op *op, double budget, double max_cond, qs_error *err);
/* z = M⁻¹ v [sector]; v and z must not overlap. */
void qs_precond_apply(qs_precond *pc, const qs_sector_op *op, const double complex *v, double complex *z);
/* The largest condition number of a group's eigenvectors at the last set-up. */
double qs_precond_condition(const qs_precond *pc);
/* Complex multiply-adds of one application (the products; the jumps and gathers aside). */
double qs_precond_cost(const qs_precond *pc);
/* The drop threshold τ of the last set-up (0: every block exact). */
double qs_precond_drop(const qs_precond *pc);
void qs_precond_free(qs_precond **pc);
/* Block eigenvectors worse conditioned than this are refused (QS_PRECOND_BLOCK fails;
 * QS_PRECOND_AUTO keeps the uncoupled preconditioner). */
#define QS_PRECOND_MAX_COND 1e8
/* The block preconditioner may cost as much as this many GMRES iterations' own work (an
 * operator product and the orthogonalisation: nnz + 2·restart·n multiply-adds) before
 * off-resonant couplings are dropped from its blocks (precond.c) */
#define QS_PRECOND_BUDGET 4.0

/* Choose the preconditioner of an iterative solver (QS_PRECOND_*, steady.h); before a solve. */
int qs_krylov_set_preconditioner(qs_krylov *kr, int kind, qs_error *err);
/* auto: back to L0^# first, as a new plan (the blocks stay set up, for when it switches again) */
void qs_krylov_auto_restart(qs_krylov *kr);

/* ---- symmetry (symmetry.c) ---- */
/* The permutations of the oscillators that leave the model unchanged (a group, in
 * lexicographic order: the identity first): all of them when there are at most
 * QS_SYMMETRY_MAX_ORDER, else those that also fix the oscillators 0 … *fixed−1 (the largest
 * such subgroup within the bound; *fixed = 0 for the whole group; fixed may be NULL).
 * *perms is a new array of count × n entries, perm[j] = image of j. QS_OK or QS_ENOMEM. */
int qs_model_symmetries(const qs_model *m, int **perms, int *count, int *fixed);
/* The same for the symmetries common to several models of the same oscillators: labels
 * created for n oscillators, each model added in turn, then the group. */
typedef struct qs_symmetry_labels qs_symmetry_labels;
int qs_symmetry_labels_create(int n, qs_symmetry_labels **l);
int qs_symmetry_labels_add(qs_symmetry_labels *l, const qs_model *m);
int qs_symmetry_labels_group(const qs_symmetry_labels *l, int **perms, int *count, int *fixed);
void qs_symmetry_labels_free(qs_symmetry_labels **l);
/* Orbits of the sector elements of `basis` under (s, t) → (πs, πt) for the count
 * permutations `perms` (a group, count × n): *orbit_of [sector_dim] each element's orbit,
 * *rep [*n_orbits] each orbit's smallest element, ascending. QS_OK, QS_ENOMEM or
 * QS_ETOOBIG (a sector beyond 32-bit indices). */
/* Generators of the group `perms` (count × n): their indices into gens [count]; their number,
 * or −1 out of memory. */
int qs_group_generators(const int *perms, int count, int n, int *gens);
int qs_sector_orbits(const qs_basis *basis, const int *perms, int count, uint32_t **orbit_of, uint32_t **rep,
                     size_t *n_orbits);
/* Whether `perm` leaves the model unchanged. */
int qs_model_has_symmetry(const qs_model *m, const int *perm);

/* ---- memory ---- */
/* Bytes of memory available now: the least of MemAvailable and what the process's limits
 * (RLIMIT_AS, RLIMIT_DATA) still allow it to map; 0 if unknown. */
double qs_memory_available(void);
/* The same; *which (if not NULL) says which bound it is, for messages ("available", or
 * "allowed by the address-space limit (ulimit -v)", …). */
double qs_memory_available_why(const char **which);
/* Bytes the process's limits still allow it to map, 0 if unlimited; *which as above. */
double qs_memory_mappable(const char **which);
/* "only N MiB are" for a message about a memory limit of `bytes` (two decimals below 100 MiB),
 * or "nothing is" below 0.01 MiB; written into buf, which is returned. */
const char *qs_memory_left_phrase(char buf[48], double bytes);
/* Peak resident set of this process in bytes, or 0 if unknown. */
double qs_memory_peak(void);
/* Resident set of this process now, in bytes, or 0 if unknown. */
double qs_memory_resident(void);

/* ---- OpenBLAS's thread count (its idle threads spin, taking cores from OpenMP's: the
 * programs run sweeps with one BLAS thread, and GMRES with the block preconditioner sets one
 * for its solve when called outside a parallel region) ---- */
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);

/* ---- time ---- */
double qs_now(void);


/* ---- model helpers used by the loader ---- */
int qs_osc_apply(qs_osc *o, const char *key, const char *value, const char *where, qs_error *err);
int qs_model_set_coupling(qs_model *model, int j, int k, double complex c);
int qs_name_valid(const char *name);

#endif
