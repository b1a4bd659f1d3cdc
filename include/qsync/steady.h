/* qsync/steady.h — the steady state of the master equation (Eq. 4).
 *
 * Plan once, solve many: qs_steady_create() enumerates the basis, builds the sparsity
 * pattern of the Liouvillian and its symbolic LU analysis (KLU or UMFPACK); qs_steady_solve()
 * fills the values from a model with the same structure (oscillators, levels, set of
 * couplings), factorises numerically, solves, and checks the result. A further solve with
 * UMFPACK may instead run GMRES preconditioned by the factorisation it holds (options.reuse_lu,
 * stats.lu_reuse_iterations). The solve is refused (QS_ETOOBIG) when the planned memory
 * exceeds the limit.
 *
 * By default the unknowns are the zero excitation-difference sector of ρ (ket minus bra
 * excitations = 0), which holds the unique steady state; options.full = 1 solves the
 * whole D²×D² Liouvillian instead, as a cross-check.
 *
 * The unknowns are real: ρ is Hermitian, so slot (s,t) holds Re ρ_st and slot (t,s) holds
 * Im ρ_st (s < t), and the LU is real (about a third of the complex work and memory).
 *
 * Solvers: sparse LU (direct, below), or restarted GMRES preconditioned by the uncoupled
 * Liouvillian (iterative, on the sector only, for networks whose LU fill would exceed the
 * memory or take too long; see krylov.c). QS_SOLVER_AUTO takes the one predicted faster
 * (stats.solver_reason says why):
 *  - sectors above QS_DIRECT_MAX_AUTO, and any sector whose LU would need more than half the
 *    memory: GMRES alone;
 *  - otherwise the LU's cost is predicted from its symbolic analysis (flops and fill, at rates
 *    measured on the reference machine: QS_RATE_*), and GMRES's per iteration from the sector.
 *    When QS_AUTO_MIN_ITERATIONS GMRES iterations would already cost more than
 *    QS_AUTO_TRIAL_SHARE of the LU, the LU alone; else GMRES is tried first at every solve,
 *    one restart cycle at a time: after each cycle its residual's rate of decrease predicts
 *    the iterations still needed. The block preconditioner goes on (on symmetry orbits over
 *    the whole sector) when its path is predicted to end sooner than L0^#'s rest and than the
 *    LU, and is judged by its own rate after each cycle; when GMRES's spent plus predicted work
 *    exceeds the LU's (or the first QS_AUTO_TRIAL_SHARE of it passes without a rate to go on)
 *    and the blocks are not predicted to end sooner, the solve is finished by the LU, which the
 *    plan then keeps. Sectors of QS_AUTO_GMRES_FIRST unknowns and
 *    more (before symmetry: the LU's plan emits every element) plan the LU only when GMRES's
 *    first cycle has not converged (its analysis is then worth doing).
 *  Every prediction is a count times a rate, never a clock, so the choice is the same on every
 *  run, thread count and process. In a sweep GMRES starts from the previous point's state, a
 *  solve after one that ran L0^#'s cycle and ended on the blocks starts on them (every other
 *  point, where each needs them: QS_AUTO_BLOCKS_RUN in steady.c), and qs_steady_reset (a sweep's new
 *  block) returns the plan to GMRES first with L0^#.
 * Normalisation: L preserves the trace, so the equation of one population is redundant;
 * it is replaced by w·ρ_rr = w (w the mean magnitude of L's entries, r the most populated
 * state of the uncoupled network), which keeps the matrix as sparse as L and scaled like
 * it. The solution is then divided by its trace.
 */
#ifndef QSYNC_STEADY_H
#define QSYNC_STEADY_H

#include <stddef.h>
#include "qsync/model.h"
#include "qsync/state.h"

/* Sparse LU used for the solve. KLU (left-looking, little overhead, and a sweep's later points
 * refactorise in its pivot order without a search) wins while the factorisation is small,
 * UMFPACK (multifrontal, BLAS-3, nested-dissection ordering) beyond: auto runs KLU's analysis
 * (AMD) and keeps KLU when it predicts at most QS_KLU_MAX_FLOPS. Measured (BENCHMARKS.md): two
 * oscillators at 18-45 levels (10^6-10^8 flops) KLU 1.7-5x faster, in sweeps and alone; three
 * at 5-6 levels (6·10^7) KLU up to 3x faster in sweeps but 2-3x slower alone, and at 7
 * levels (3.5·10^8) UMFPACK 2-4x faster in both. */
enum { QS_LU_AUTO = 0, QS_LU_KLU = 1, QS_LU_UMFPACK = 2 };
#define QS_KLU_TRY_DIMENSION 100000  /* auto: KLU's analysis up to this many unknowns ... */
#define QS_KLU_MAX_FLOPS 3e7         /* ... and KLU when AMD's estimate of its flops is at most this */

enum { QS_SOLVER_AUTO = 0, QS_SOLVER_DIRECT = 1, QS_SOLVER_ITERATIVE = 2 };
/* GMRES preconditioners (see krylov.c, precond.c): the uncoupled Liouvillian's group inverse
 * (uncoupled: cheap, good at weak coupling); the coherent dynamics of each excitation block
 * solved exactly, Gauss–Seidel over the blocks (block: holds at strong coupling, costs
 * Σ_N 4 d_N³ per application for blocks of d_N states); auto (default): uncoupled for the
 * first restart cycle, block from the second on (and for the plan's later solves). The blocks
 * need the whole sector: GMRES on symmetry orbits with auto runs there while each restart
 * cycle's rate predicts few iterations more (QS_ORBIT_SWITCH_ITERATIONS) and, after one that
 * predicts more, goes on over the whole sector with the blocks when that plan fits
 * (stats.preconditioner says which preconditioned the last iterations). */
enum { QS_PRECOND_AUTO = 0, QS_PRECOND_BLOCK = 1, QS_PRECOND_UNCOUPLED = 2 };
#define QS_RESTART_MIN 20            /* GMRES's restart length is cut down to this when memory is short */
#define QS_ORBIT_SWITCH_ITERATIONS 25 /* auto on symmetry orbits: L0^# goes on while a restart
                                       cycle's rate predicts at most this x (order + 1) iterations more */
#define QS_SYMMETRY_MAX_ORDER 10000 /* the largest symmetry group used (n! for n identical
                                       oscillators: 7 are within, 8 are not) */
#define QS_DIRECT_MAX_AUTO 500000    /* auto: sectors above this size go iterative without planning
                                        the LU (its fill would be tens of GiB at least) */
#define QS_AUTO_GMRES_FIRST 6000     /* auto: from a sector of this many unknowns GMRES's first cycle runs before
                                        the LU is planned */
#define QS_AUTO_TRIAL_SHARE 0.15     /* auto: GMRES is tried while it costs at most this share of the
                                        LU's predicted time before its rate of convergence is known */
#define QS_AUTO_MIN_ITERATIONS 24    /* auto: GMRES is not tried when this many iterations (a weakly
                                        coupled solve's) cost more than that share: the LU's exact
                                        answer then costs little more */

typedef struct {
    int full;             /* 0: zero excitation-difference sector (default); 1: whole Liouvillian */
    int solver;           /* QS_SOLVER_AUTO (default), QS_SOLVER_DIRECT or QS_SOLVER_ITERATIVE */
    int lu;               /* QS_LU_AUTO (default), QS_LU_KLU or QS_LU_UMFPACK */
    int symmetry;         /* 1 (default): reduce by the permutations of identical oscillators
                             that leave the model unchanged (at most QS_SYMMETRY_MAX_ORDER of
                             them: a larger group is replaced by its largest subgroup fixing
                             the first oscillators that has at most that many, and
                             stats.solver_reason says so); 0: solve without */
    const int *perms;     /* with symmetry: if non-NULL, use these n_perms permutations (a group,
                             n_perms × oscillators, read) instead of finding them, e.g. the
                             symmetries common to every point of a sweep */
    int n_perms;
    double residual_tol;  /* relative residual above which the solve fails (default 1e-8) */
    double top_tol;       /* top-level population above which QS_WARN_TRUNCATION (default 1e-3) */
    double memory_limit;  /* bytes the solve may plan to use; 0 = the memory available now */
    double iterative_tol; /* GMRES stops at this relative residual (default 1e-12) */
    int restart;          /* GMRES restart length (default 40) */
    int max_iterations;   /* GMRES iterations before failing (default 5000) */
    int warm_start;       /* 1 (default): GMRES starts from the previous solve's state */
    double refactor_rcond_ratio; /* KLU: a solve after the first reuses the pivot order unless the
                                    pivot ratio falls below this fraction of the last fresh
                                    factorisation's (default 1e-2); then it factorises afresh */
    int preconditioner;   /* GMRES: QS_PRECOND_AUTO (default), QS_PRECOND_BLOCK or QS_PRECOND_UNCOUPLED */
    int lean;             /* 1 (default): when GMRES's plan does not fit, it restarts sooner (down to
                             QS_RESTART_MIN) and leaves its operator unstored (each product computes
                             its rows again) before refusing; 0: refuse at once (levels = auto and
                             the truncation check, whose many solves would rather be refused than slowed) */
    int reuse_lu;         /* 1 (default): a later solve of a plan with UMFPACK (a sweep's next point) may be
                             GMRES on its values, preconditioned by an earlier solve's factorisation and
                             started from its solution, to a residual of 1e-13, where a factorisation
                             costs many such iterations; a point it does not solve within that share is
                             factorised afresh; 0: factorise at every solve (each point the same bits as a
                             lone solve with the same BLAS thread count) */
} qs_steady_options;

/* Diagnostics of the last solve. The relative residual is ‖Lρ‖∞ / (‖L‖∞ ‖ρ‖∞). */
typedef struct {
    size_t sector_dimension;      /* unknowns of the zero excitation-difference sector */
    size_t liouvillian_dimension; /* D², D = Π levels */
    size_t system_dimension;      /* unknowns actually solved for (after symmetry) */
    int symmetry_order;           /* order of the symmetry group used (1: none) */
    size_t nnz;                   /* non-zeros of the system matrix */
    double lu_nnz;                /* non-zeros of L+U */
    double memory_planned;        /* bytes estimated before factorising */
    int solver;                   /* QS_SOLVER_DIRECT or QS_SOLVER_ITERATIVE: the solver used */
    char solver_reason[512];      /* why (auto) */
    int iterations;               /* iterative: GMRES iterations of the last solve */
    double lu_flops;              /* UMFPACK's flop estimate for the LU (0 if not planned) */
    int lu;                       /* QS_LU_KLU or QS_LU_UMFPACK: the LU actually used */
    int refactored;               /* 1 if the last solve reused the pivot order of an earlier one */
    double rcond;                 /* crude reciprocal condition: min |U_ii| / max |U_ii| */
    double residual;              /* relative residual of the complex Lρ */
    double trace_error;           /* |Tr ρ − 1| of the returned state */
    double hermiticity_error;     /* max |ρ_ab − conj ρ_ba| (zero by construction, checked) */
    double off_sector;            /* full path only: max |ρ_ab| outside the sector */
    double time_assemble, time_symbolic, time_numeric, time_solve; /* seconds */
    /* predictions (counts times the rates of the reference machine, see steady.c) */
    double predicted_lu_seconds;  /* numeric LU and solve, from the symbolic analysis (0: not planned) */
    double predicted_iteration_seconds; /* one GMRES iteration (0: not planned) */
    double predicted_seconds;     /* the whole solve by the solver used (GMRES: its iterations so far) */
    double predicted_memory;      /* peak resident bytes of a process planning and solving this model */
    int trial_iterations;         /* auto: GMRES iterations spent before the LU finished the solve */
    int preconditioner;           /* GMRES: QS_PRECOND_BLOCK or QS_PRECOND_UNCOUPLED, the one that
                                     preconditioned the last iterations (0 for the LU) */
    int lu_reuse_iterations;      /* > 0: the last solve was GMRES preconditioned by an earlier
                                     solve's factorisation, in this many iterations (no factorisation) */
} qs_steady_stats;

typedef struct qs_steady qs_steady;

void qs_steady_defaults(qs_steady_options *options);
/* QS_EINPUT when the options contradict each other: GMRES (iterative or auto) stopping at a
 * residual (iterative_tol) the check then refuses (above residual_tol). */
int qs_steady_options_check(const qs_steady_options *options, qs_error *err);

/* Plan for `model` (levels resolved, see truncation.h). options may be NULL (defaults).
 * On success *steady is a new handle the caller frees. */
int qs_steady_create(const qs_model *model, const qs_steady_options *options,
                     qs_steady **steady, qs_error *err);

/* Solve for `model`, which must have the structure the plan was made for. Returns QS_OK,
 * QS_WARN_TRUNCATION (result valid, top level too populated), or an error. */
int qs_steady_solve(qs_steady *steady, const qs_model *model, qs_error *err);

/* Whether `model` has the structure the plan was made for (qs_steady_solve accepts it). */
int qs_steady_compatible(const qs_steady *steady, const qs_model *model);

/* Forget what earlier solves left: the factorisation (the next solve factorises afresh instead
 * of reusing pivots), the last state (no warm start), auto's choices (GMRES first with L0^#, the
 * blocks and a GMRES-first plan's LU tried and planned again): the next solve runs as a new
 * plan's would (a sweep resets its plans at each block of points, so that its file is the same
 * for any thread count). */
void qs_steady_reset(qs_steady *steady);

/* The state of the last successful solve (owned by the plan; valid until the next solve
 * or qs_steady_free). */
const qs_state *qs_steady_state(const qs_steady *steady);

void qs_steady_get_stats(const qs_steady *steady, qs_steady_stats *stats);

void qs_steady_free(qs_steady **steady);

#endif
