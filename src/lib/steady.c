/* steady.c — steady state by sparse LU (KLU or UMFPACK, real, 64-bit indices).
 *
 * create: basis → pattern → symbolic analysis, with the memory plan checked before each
 * large allocation; solve: values → numeric factorisation → solve → the Hermitian ρ
 * rebuilt from its real slots (liouvillian.c) → checks against the complex L. The plan
 * keeps its workspaces between solves.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <klu.h>
#include <nvector/nvector_serial.h>
#include <sunlinsol/sunlinsol_spgmr.h>
#include <umfpack.h>
#include "internal.h"

struct qs_steady {
    qs_steady_options opt;
    qs_basis *basis;
    qs_liouvillian *L;
    int n_osc, n_couplings;
    int *levels;                 /* structure the plan was made for */
    int *pairs;                  /* [2·n_couplings] */
    int *perms, n_perms;         /* symmetry group used by the plan (n_perms × n_osc) */
    int sym_fixed;               /* > 0: the group is the subgroup fixing the first sym_fixed oscillators */
    void *symbolic, *numeric;    /* UMFPACK */
    double control[UMFPACK_CONTROL], info[UMFPACK_INFO];
    klu_l_symbolic *klu_symbolic;
    klu_l_numeric *klu_numeric;
    klu_l_common klu;
    double *x, *xs, *row_abs;    /* [n] real solution (right-hand side first), [slots] expanded, workspace */
    double complex *z, *y;       /* [n] complex ρ in system order, residual */
    qs_krylov *krylov;           /* iterative solver (instead of the LU) */
    qs_krylov *whole;            /* GMRES on the whole sector with the block preconditioner, after
                                    a cycle on the symmetry's orbits has not converged */
    int whole_refused;           /* that plan did not fit, or its preconditioner was refused */
    qs_state state;
    int have_state, have_guess;  /* a valid state; the last state may start GMRES */
    double memory_base;          /* bytes of our own arrays */
    double memory_available;     /* what the system had at planning (read once: /proc is slow) */
    const char *memory_which;    /* which bound that is ("available", the address-space limit, …) */
    double rcond_fresh;          /* pivot ratio of the last fresh KLU factorisation */
    /* a later solve of the plan: GMRES (SUNDIALS SPGMR) on the new values, right-preconditioned
     * by the factorisation of an earlier solve, from that solve's solution (solve_reused) */
    int have_factor;             /* a numeric factorisation of an earlier solve is held */
    double factor_iterations;    /* what a factorisation is worth in such iterations (from the plan; 0: no reuse) */
    double reuse_spent;          /* iterations since the last factorisation, itself counted as factor_iterations */
    int reuse_points;            /* solves since (and with) the last factorisation */
    int reuse_failures;          /* failed reuses in a row (2: no more until the next reset) */
    int refactor_next;           /* the last reuse cost more than the average: factorise at the next solve */
    double control_plain[UMFPACK_CONTROL]; /* UMFPACK's solve without iterative refinement (a preconditioner) */
    SUNContext sun;
    SUNLinearSolver spgmr;
    N_Vector nv_x, nv_b;         /* over x (the guess, then the solution) and row_abs (the right-hand side) */
    /* auto: GMRES first, the LU when GMRES is predicted slower (see steady.h) */
    int trial;                   /* 1: each solve tries GMRES first (the plan's choice) */
    int restart;                 /* GMRES's restart length: opt.restart, less when memory is short */
    int on_lu;                   /* 1: the trial has handed over to the LU until the next reset */
    int lazy_lu;                 /* 1: the LU is planned only after GMRES's first cycle */
    int lu_refused;              /* the lazy LU plan did not fit: GMRES alone */
    int blocks_first;            /* the last solve since the reset ended on the block preconditioner:
                                    the next starts on it (a sweep's next point) ... */
    int blocks_started;          /* ... unless this many solves in a row started on it so: QS_AUTO_BLOCKS_RUN */
    double Dd, sector_d;         /* sizes the plan was made for */
    double lu_bytes;             /* the LU's plan: pattern and factor */
    double resident_start;       /* resident bytes of the process when planning began */
    double factor_bytes;         /* predicted resident bytes of the LU's factorisation */
    double complex *guess;       /* [sector] the iterate a GMRES cycle starts from */
    int *caller_perms;           /* a copy of options.perms, for an LU planned after create */
    char why_base[512];          /* the reason before the trial's outcome */
    qs_steady_stats stats;
};

void qs_steady_defaults(qs_steady_options *o)
{
    o->full = 0;
    o->lu = QS_LU_AUTO;
    o->symmetry = 1;
    o->refactor_rcond_ratio = 1e-2;
    o->perms = NULL;
    o->n_perms = 0;
    o->residual_tol = 1e-8;
    o->top_tol = 1e-3;
    o->memory_limit = 0;
    o->solver = QS_SOLVER_AUTO;
    o->iterative_tol = 1e-12;
    o->restart = 40;
    o->max_iterations = 5000;
    o->warm_start = 1;
    o->preconditioner = QS_PRECOND_AUTO;
    o->lean = 1;
    o->reuse_lu = 1;
}

int qs_steady_options_check(const qs_steady_options *o, qs_error *err)
{
    if (o->solver != QS_SOLVER_DIRECT && !o->full && !(o->iterative_tol <= o->residual_tol))
        return qs_error_set(err, QS_EINPUT, "iterative_tol (--iterative-tol) %g is above residual_tol (--residual-tol) %g: GMRES "
                            "would stop at a residual the check refuses", o->iterative_tol, o->residual_tol);
    return QS_OK;
}

static double mib(double bytes) { return bytes / 1048576.0; }

/* The cost model of auto: rates measured on the reference machine (2 cores, bench/auto). Only
 * the ratio of the two solvers' predictions matters for the choice; predicted_seconds is
 * shown beside the measured time in bench/auto. */
#define RATE_UMFPACK 6e10      /* UMFPACK numeric factorisation, flops per second (BLAS-3 fronts) */
#define RATE_KLU 1e9           /* KLU, flops per second (left-looking, no BLAS) */
#define SECONDS_PER_FACTOR_ENTRY 2.5e-8 /* UMFPACK: per entry of its estimate of L + U (an upper
                                         bound, 3-5x the entries it makes) */
#define SECONDS_PER_KLU_ENTRY 5e-8 /* KLU: per entry of AMD's estimate of L + U (with RATE_KLU within
                                      0.7-1.4 of the measured factorisation, 10^5-10^8 flops) */
#define SECONDS_PER_PLAN_ENTRY 1e-6 /* the LU's plan (pattern and analysis), per unknown and entry
                                        of a row of the operator at most */
#define FACTOR_RESIDENT 0.45     /* share of UMFPACK's estimate of its numeric size that a factorisation
                                    makes resident (KLU: its first allocation, 16 bytes an entry) */
#define KLU_INITIAL_FILL 1.2        /* KLU's first allocation of the factor, times AMD's estimate (initmem_amd) */
#define KLU_GROWTH 1.2              /* KLU's growth of that allocation (memgrow): old and new at once, 2.2x */
#define KLU_BYTES_PER_UNKNOWN 200.0 /* KLU's numeric and symbolic vectors (permutations, pointers, lengths,
                                       scale factors, workspace: about 160 bytes), with a margin */
#define LIBRARY_RESIDENT 3e6      /* what the libraries and the measurements map after planning */
#define SECONDS_PER_LU 2e-4      /* a factorisation's fixed cost */
/* GMRES, fitted to the measured seconds per iteration (bench/auto's networks and Fig. 4 at 6
 * and 7 levels: within 0.65-1.0 of them with L0^#) */
#define SECONDS_PER_OP_ENTRY 4e-9  /* one entry of the sector operator, per product */
#define SECONDS_PER_LOCAL 1e-9     /* per unknown and level of each oscillator (L0^#) */
#define SECONDS_PER_BASIS 1.6e-9   /* per unknown and Krylov vector (Gram–Schmidt: two reads of the
                                      basis; restart + 2 vectors, the mean over a cycle, counted once) */
#define SECONDS_PER_ITERATION 1e-4 /* an iteration's fixed cost (its ten parallel regions) */
#define SECONDS_PER_BLOCK_MAC 2e-9    /* the block preconditioner: a complex multiply-add of its application,
                                         its set-up included (measured on Fig. 4 at 8 and 10 levels: 1.9e-9, 2.2e-9) */
#define QS_AUTO_BLOCK_ITERATIONS 30  /* auto: the blocks' iterations before their rate is known (21-62 measured
                                         on Fig. 4 at 6-10 levels at strong coupling) */
/* auto: a solve after one that ended on the blocks starts on them, up to this many in a row; the
 * next runs L0^#'s cycle first again. Fig. 4's truncation check at 7 levels along V2: L0^# never
 * converges in its cycle (40 ms a point, the blocks after it; 25 ms on the blocks alone); along
 * the detuning, past a resonance the blocks (25 ms) give way to L0^# alone (7-15 ms). Measured
 * (Fig. 4 with the check, one thread, CPU): along V2 0.78x the sweep without this (0.75x with 3
 * in a row), along the detuning 1.03x (1.13x with 3) */
#define QS_AUTO_BLOCKS_RUN 1
#define QS_AUTO_FIRST_MARGIN_BLOCKS 4.0 /* auto: L0^#'s rest after its first cycle, against the blocks: the
                                          first cycle's rate is optimistic (3-20x on Fig. 4 at 10 levels) */
#define SECONDS_PER_SETUP_ENTRY 1.6e-8 /* GMRES's set-up: one entry of the operator, emitted and sorted */
#define SECONDS_PER_SETUP_LOCAL 4e-9   /* and per element and oscillator, L0^#'s tables */

/* Predicted seconds of one GMRES iteration for this model on `unknowns` orbits (the operator,
 * the Krylov basis and L0^#, which takes one cube per orbit of cubes, all act on about that
 * many), and of building its plan. */
static double gmres_iteration_seconds(const qs_model *m, double unknowns, int restart)
{
    double levels = 0;
    for (int j = 0; j < m->n; j++) levels += m->osc[j].levels;
    double per_row = 0.5 * QS_KRYLOV_PER_ROW_MAX(m);
    return SECONDS_PER_ITERATION + unknowns * (SECONDS_PER_OP_ENTRY * per_row + SECONDS_PER_BASIS * (restart + 2) +
                                               SECONDS_PER_LOCAL * 2 * levels);
}

static double gmres_setup_seconds(const qs_model *m, double sector)
{
    return sector * (2 * SECONDS_PER_SETUP_ENTRY * 0.5 * QS_KRYLOV_PER_ROW_MAX(m) + SECONDS_PER_SETUP_LOCAL * 8 * m->n);
}

/* A count or size for a message: finite numbers as they are, beyond double's range in words. */
static const char *big(char buf[32], double x)
{
    if (isfinite(x)) snprintf(buf, 32, "about %.4g", x);
    else snprintf(buf, 32, "more than 1e308");
    return buf;
}

/* The memory a plan may use: the caller's limit, else what was available when planning
 * began; never more than the process's limits (ulimit -v, -d) allow it to map. The bound's
 * name into *which. */
static double memory_limit(qs_steady *st, const char **which)
{
    if (!(st->memory_available > 0)) st->memory_available = qs_memory_available_why(&st->memory_which);
    double limit = st->memory_available;
    const char *why = st->memory_which;
    if (st->opt.memory_limit > 0) {
        const char *mwhy;
        double mappable = qs_memory_mappable(&mwhy);
        limit = st->opt.memory_limit;
        why = "allowed";
        if (mappable > 0 && mappable < limit) { limit = mappable; why = mwhy; }
    }
    if (which) *which = why ? why : "available";
    return limit;
}

static int check_memory(qs_steady *st, double need, const char *what, qs_error *err)
{
    const char *which;
    double limit = memory_limit(st, &which);
    char b[32], left[48];
    if (limit > 0 && !(need <= limit))
        return qs_error_set(err, QS_ETOOBIG, "%s needs %s MiB, but %s %s", what, big(b, mib(need)), qs_memory_left_phrase(left, limit), which);
    return QS_OK;
}

static void reuse_free(qs_steady *st);
static double reuse_factor_iterations(const qs_steady *st);
static double reuse_bytes(const qs_steady *st);

void qs_steady_free(qs_steady **steady)
{
    if (!steady || !*steady) return;
    qs_steady *st = *steady;
    if (st->numeric) umfpack_dl_free_numeric(&st->numeric);
    if (st->symbolic) umfpack_dl_free_symbolic(&st->symbolic);
    if (st->klu_numeric) klu_l_free_numeric(&st->klu_numeric, &st->klu);
    if (st->klu_symbolic) klu_l_free_symbolic(&st->klu_symbolic, &st->klu);
    qs_liouvillian_free(&st->L);
    qs_krylov_free(&st->krylov);
    qs_krylov_free(&st->whole);
    qs_basis_free(&st->basis);
    free(st->levels);
    free(st->pairs);
    free(st->perms);
    free(st->x);
    free(st->xs);
    free(st->row_abs);
    free(st->z);
    free(st->y);
    free(st->state.rho);
    free(st->guess);
    free(st->caller_perms);
    reuse_free(st);
    if (st->sun) SUNContext_Free(&st->sun);
    free(st);
    *steady = NULL;
}

/* SPGMR and its vectors (the reuse of a factorisation, solve_reused) */
static void reuse_free(qs_steady *st)
{
    if (st->spgmr) SUNLinSolFree(st->spgmr);
    if (st->nv_x) N_VDestroy(st->nv_x);
    if (st->nv_b) N_VDestroy(st->nv_b);
    st->spgmr = NULL;
    st->nv_x = st->nv_b = NULL;
}

/* Drop everything the direct plan built (auto switching to the iterative solver). */
static void free_direct(qs_steady *st)
{
    if (st->symbolic) umfpack_dl_free_symbolic(&st->symbolic);
    if (st->klu_symbolic) klu_l_free_symbolic(&st->klu_symbolic, &st->klu);
    qs_liouvillian_free(&st->L);
    reuse_free(st);
    free(st->x);
    free(st->xs);
    free(st->row_abs);
    free(st->z);
    free(st->y);
    st->x = st->xs = st->row_abs = NULL;
    st->z = st->y = NULL;
}

/* The LU plan: pattern (reduced by symmetry), symbolic analysis, memory check. */
/* The symmetry group of the plan (none without opt.symmetry): the caller's, as far as it
 * holds for this model, else the model's own (at most QS_SYMMETRY_MAX_ORDER permutations,
 * so its search is bounded); found once, for both solvers (GMRES and the LU of one plan
 * solve on the same orbits). */
static int plan_group(qs_steady *st, const qs_model *model, qs_error *err)
{
    int n = model->n;
    if (st->perms) return QS_OK;
    if (st->opt.symmetry && st->opt.perms) {          /* the caller's group, as far as it holds here */
        st->perms = malloc(((size_t)st->opt.n_perms * (size_t)n + 1) * sizeof *st->perms);
        if (!st->perms) return qs_error_set(err, QS_ENOMEM, "out of memory");
        for (int g = 0; g < st->opt.n_perms; g++)
            if (qs_model_has_symmetry(model, st->opt.perms + (size_t)g * (size_t)n))
                memcpy(st->perms + (size_t)st->n_perms++ * (size_t)n, st->opt.perms + (size_t)g * (size_t)n, (size_t)n * sizeof *st->perms);
    } else if (st->opt.symmetry && qs_model_symmetries(model, &st->perms, &st->n_perms, &st->sym_fixed) != QS_OK) {
        return qs_error_set(err, QS_ENOMEM, "out of memory");
    }
    st->opt.perms = NULL;                             /* not kept: the caller's memory */
    return QS_OK;
}

static int plan_direct(qs_steady *st, const qs_model *model, double Dd, double sector_d, qs_error *err)
{
    int n = model->n, status;
    double per = 4.0 * (1 + 4.0 * model->n_couplings + 2.0 * n);
    double system_d = st->opt.full ? Dd * Dd : sector_d;
    /* per bound entry (at most per real entries per slot): the real pattern and its fill map
     * (Ai, emit_pos, emit_src: 20 bytes) and a quarter of a complex entry (row, parameter,
     * factor, value: 36 bytes); per slot the orbits, the complex column pointers and
     * transposes, and the solve's vectors */
    size_t system = st->opt.full ? st->stats.liouvillian_dimension : st->stats.sector_dimension, nnz_bound;
    if (system == SIZE_MAX || !qs_liouvillian_nnz_bound(model, system, (size_t)Dd, &nnz_bound))
        return qs_error_set(err, QS_ETOOBIG, "the %s Liouvillian is too large to index", st->opt.full ? "full" : "sector");
    st->stats.system_dimension = system;

    double t0 = qs_now();
    if ((status = plan_group(st, model, err)) != QS_OK) return status;
    double order = st->n_perms > 1 ? st->n_perms : 0;
    /* ... and the orbits' table of every basis state's image under each permutation */
    st->memory_base = Dd * (n * 2.0 + 4 + 8 + 24) + system_d * per * (20 + 9) + system_d * (8 + 8 + 8 + 4 + 17 + 2 * 16) + 16.0 * sector_d +
                      order * (8.0 * Dd + 8.0 + 4.0 * n);
    st->stats.memory_planned = st->memory_base;
    if ((status = check_memory(st, st->memory_base, "the Liouvillian", err)) != QS_OK) return status;
    if ((!st->basis && (status = qs_basis_create(n, st->levels, &st->basis, err)) != QS_OK) ||
        (status = qs_liouvillian_create(st->basis, model, st->opt.full, st->perms, st->n_perms, &st->L, err)) != QS_OK)
        return status;
    st->stats.nnz = st->L->nnz;
    st->stats.symmetry_order = st->n_perms > 0 ? st->n_perms : 1;
    st->stats.system_dimension = system = st->L->n;
    size_t slots = st->L->n_slots;
    st->x = malloc(system * sizeof *st->x);
    st->xs = malloc(slots * sizeof *st->xs);
    st->row_abs = malloc(slots * sizeof *st->row_abs);
    st->z = malloc(slots * sizeof *st->z);
    st->y = malloc(slots * sizeof *st->y);
    if (!st->x || !st->xs || !st->row_abs || !st->z || !st->y) return qs_error_set(err, QS_ENOMEM, "out of memory");
    st->stats.time_assemble = qs_now() - t0;

    t0 = qs_now();
    int64_t nn = (int64_t)system;
    st->stats.lu = st->opt.lu != QS_LU_AUTO ? st->opt.lu : system <= QS_KLU_TRY_DIMENSION ? QS_LU_KLU : QS_LU_UMFPACK;
    if (st->stats.lu == QS_LU_KLU) {
        klu_l_defaults(&st->klu);
        /* no block triangular form: the sector's L is one strongly connected block apart from
         * the trace row, so BTF's matching and components would only cost time */
        st->klu.btf = 0;
        st->klu_symbolic = klu_l_analyze(nn, (SuiteSparse_long *)st->L->Ap, (SuiteSparse_long *)st->L->Ai, &st->klu);
        st->stats.time_symbolic = qs_now() - t0;
        if (!st->klu_symbolic && st->opt.lu != QS_LU_AUTO) {
            status = st->klu.status == KLU_OUT_OF_MEMORY ? QS_ENOMEM : QS_ENUMERIC;
            return qs_error_set(err, status, "symbolic analysis failed (KLU status %d)", (int)st->klu.status);
        }
        /* auto: UMFPACK when KLU's factorisation would be large, or its analysis failed */
        if (!st->klu_symbolic || (st->opt.lu == QS_LU_AUTO && st->klu_symbolic->est_flops > QS_KLU_MAX_FLOPS)) {
            if (st->klu_symbolic) klu_l_free_symbolic(&st->klu_symbolic, &st->klu);
            st->stats.lu = QS_LU_UMFPACK;
        }
    }
    if (st->stats.lu == QS_LU_KLU) {
        /* AMD's estimates (of the Cholesky factor of A + Aᵀ, which the nearly symmetric pattern
         * follows) predict the time and the factor: KLU allocates KLU_INITIAL_FILL times it (16
         * bytes an entry) and grows it by KLU_GROWTH when pivoting adds fill, by reallocation
         * (the old array and the new one for a moment), besides KLU_BYTES_PER_UNKNOWN of its
         * numeric and symbolic objects' vectors */
        double first = KLU_INITIAL_FILL * 16.0 * (st->klu_symbolic->lnz + st->klu_symbolic->unz);
        st->factor_bytes = first + KLU_BYTES_PER_UNKNOWN * (double)system;
        st->stats.memory_planned = st->memory_base + st->factor_bytes + KLU_GROWTH * first;
        st->stats.lu_flops = st->klu_symbolic->est_flops;
        st->stats.predicted_lu_seconds = SECONDS_PER_LU + st->klu_symbolic->est_flops / RATE_KLU +
                                         SECONDS_PER_KLU_ENTRY * (st->klu_symbolic->lnz + st->klu_symbolic->unz);
    } else {
        umfpack_dl_defaults(st->control);
        st->control[UMFPACK_PRL] = 0;
        /* L's pattern is nearly symmetric (every hop and jump has its reverse): order A + Aᵀ
         * by nested dissection, the ordering that keeps fill lowest on these lattice-like graphs. */
        st->control[UMFPACK_STRATEGY] = UMFPACK_STRATEGY_SYMMETRIC;
        st->control[UMFPACK_ORDERING] = UMFPACK_ORDERING_METIS;
        /* METIS keeps its random state in globals: plans made by concurrent threads (sweeps)
         * would get orderings that differ from run to run, and so results in the last bits */
#pragma omp critical(qs_metis)
        status = (int)umfpack_dl_symbolic(nn, nn, st->L->Ap, st->L->Ai, NULL, &st->symbolic, st->control, st->info);
        st->stats.time_symbolic = qs_now() - t0;
        if (status == UMFPACK_ERROR_out_of_memory) return qs_error_set(err, QS_ENOMEM, "out of memory in the symbolic analysis");
        if (status != UMFPACK_OK) return qs_error_set(err, QS_ENUMERIC, "symbolic analysis failed (UMFPACK status %d)", status);
        st->stats.memory_planned = st->memory_base + st->info[UMFPACK_PEAK_MEMORY_ESTIMATE] * st->info[UMFPACK_SIZE_OF_UNIT];
        st->stats.lu_flops = st->info[UMFPACK_FLOPS_ESTIMATE];
        st->stats.predicted_lu_seconds = SECONDS_PER_LU + st->info[UMFPACK_FLOPS_ESTIMATE] / RATE_UMFPACK +
                                         SECONDS_PER_FACTOR_ENTRY * (st->info[UMFPACK_LNZ_ESTIMATE] + st->info[UMFPACK_UNZ_ESTIMATE]);
    }
    if (st->stats.lu == QS_LU_UMFPACK) {
        st->factor_bytes = FACTOR_RESIDENT * st->info[UMFPACK_NUMERIC_SIZE_ESTIMATE] * st->info[UMFPACK_SIZE_OF_UNIT];
        st->factor_iterations = reuse_factor_iterations(st);
        double spgmr = reuse_bytes(st);                  /* a later solve by this factorisation */
        st->memory_base += spgmr;
        st->stats.memory_planned += spgmr;
        st->factor_bytes += spgmr;
    }
    st->lu_bytes = st->stats.memory_planned;
    return check_memory(st, st->stats.memory_planned, "the LU factorisation", err);
}

/* The next shorter restart length when a plan does not fit: five less, down to QS_RESTART_MIN. */
static int shorter_restart(int restart) { return restart - 5 > QS_RESTART_MIN ? restart - 5 : QS_RESTART_MIN; }

/* The GMRES plan: the complex sector operator on the orbits of the symmetry group, the
 * preconditioner's tables, the Krylov basis; `reserve` bytes are already in use by the plan
 * (the LU's pattern, when auto keeps both). */
static int plan_iterative(qs_steady *st, const qs_model *model, double Dd, double sector_d, double reserve, qs_error *err)
{
    int status;
    double t0 = qs_now();
    if ((status = plan_group(st, model, err)) != QS_OK) return status;
    /* at least the diagonal in every row of the operator, and sector / order orbits; the exact
     * counts are checked when the operator has found them (qs_krylov_create) */
    const char *which;
    double limit = memory_limit(st, &which);
    int order = st->n_perms > 1 ? st->n_perms : 1;
    /* a shorter restart when the Krylov basis would not fit, down to QS_RESTART_MIN */
    st->restart = st->opt.restart;
    double least = reserve + qs_krylov_memory_estimate_group(model, sector_d, Dd, st->restart, 1.0, order);
    while (st->opt.lean && limit > 0 && !(least <= limit) && st->restart > QS_RESTART_MIN) {
        st->restart = shorter_restart(st->restart);
        least = reserve + qs_krylov_memory_estimate_group(model, sector_d, Dd, st->restart, 1.0, order);
    }
    if (!(least <= limit) || !(limit > 0)) st->restart = st->opt.restart;
    if (limit > 0 && !(least <= limit)) {
        char left[48];
        st->stats.memory_planned = least;
        return qs_error_set(err, QS_ETOOBIG, "the iterative solver needs at least %.4g MiB, but %s %s",
                            mib(least), qs_memory_left_phrase(left, limit), which);
    }
    if (sector_d >= 2147483647.0)
        return qs_error_set(err, QS_ETOOBIG, "the sector (%.0f unknowns) is too large for the iterative solver", sector_d);
    if (!st->basis && (status = qs_basis_create(model->n, st->levels, &st->basis, err)) != QS_OK) return status;
    /* the operator's exact entry count refines the plan */
    /* the block preconditioner works on the whole sector: no symmetry orbits for it */
    int whole = st->opt.preconditioner == QS_PRECOND_BLOCK;
    /* the estimate above counts the least operator and orbits: with the exact counts a shorter
     * restart may still be needed */
    while ((status = qs_krylov_create(st->basis, model, whole ? NULL : st->perms, whole ? 0 : st->n_perms, st->restart,
                                      st->opt.lean, limit > 0 ? limit - reserve : 0, which, &st->krylov, err)) == QS_ETOOBIG &&
           st->opt.lean && st->restart > QS_RESTART_MIN)
        st->restart = shorter_restart(st->restart);
    if (status != QS_OK || (status = qs_krylov_set_preconditioner(st->krylov, st->opt.preconditioner, err)) != QS_OK)
        return status;
    st->stats.predicted_iteration_seconds = gmres_iteration_seconds(model, (double)qs_krylov_unknowns(st->krylov), st->restart);
    st->stats.time_symbolic += qs_now() - t0;
    return QS_OK;
}

/* Resident bytes of the LU's plan once filled and solved, from the sizes of the pattern made
 * (slots, orbits, complex and real entries) and the factor's estimate: every array of
 * liouvillian.c and of this plan, and the basis. */
static double lu_resident_bytes(const qs_steady *st)
{
    const qs_liouvillian *L = st->L;
    double slots = (double)L->n_slots, n = (double)L->n, emitted = (double)L->emit_ptr[L->n];
    double pattern = slots * (8 + 1 + 8 + 8 + 1 + 8 + 8 + 8 + 16 + 16)   /* orbit_of, sign, orbit_slots, transpose, upper,
                                                                              cptr; xs, row_abs, z, y */
                   + n * (8 + 8 + 8 + 8)                                 /* Ap, emit_ptr, orbit_ptr, x */
                   + (double)L->n_cplx * (8 + 4 + 8 + 16)               /* crow, cpar, ccoef, cval */
                   + (double)L->nnz * (8 + 8) + emitted * (4 + 8)        /* Ai, Ax; emit_pos, emit_src */
                   + st->Dd * (8 + 2.0 * st->n_osc + 28)                 /* diag_index; the basis */
                   + 16 * st->sector_d;                                  /* the state */
    return pattern + st->factor_bytes;
}

/* Bytes of the GMRES plan as made (0 without one); with `resident`, the part made resident by
 * the solves so far (the Krylov vectors they used, the block preconditioner once made). */
static double iterative_bytes(const qs_steady *st, int resident)
{
    double (*bytes)(const qs_krylov *) = resident ? qs_krylov_resident : qs_krylov_planned;
    double whole = st->whole ? bytes(st->whole) + 16.0 * st->sector_d : 0.0;
    return st->krylov ? bytes(st->krylov) + (st->trial ? 16.0 * st->sector_d : 0.0) + whole : 0.0;
}

/* The peak resident set the memory model predicts: what the process held before planning,
 * and the larger of the two plans (GMRES's beside the LU's pattern while auto tries it), with
 * the Krylov vectors the solves used (before a solve: one). */
static void predict_memory(qs_steady *st)
{
    double lu_peak = st->L ? st->resident_start + LIBRARY_RESIDENT + lu_resident_bytes(st) : 0.0;
    double gm_peak = st->krylov || st->trial ? st->resident_start + LIBRARY_RESIDENT +
                                                   (st->L ? lu_resident_bytes(st) - st->factor_bytes : 0.0) + iterative_bytes(st, 1)
                                             : 0.0;
    st->stats.predicted_memory = lu_peak > gm_peak ? lu_peak : gm_peak;
}

/* The sizes of a GMRES plan into the stats: the unknowns solved for, the group, the entries. */
static void krylov_stats(qs_steady *st, const qs_krylov *kr)
{
    st->stats.system_dimension = qs_krylov_unknowns(kr);
    st->stats.symmetry_order = qs_krylov_order(kr);
    st->stats.nnz = qs_krylov_nnz(kr);
}

/* The stats that describe the solver the next solve uses. */
static void describe(qs_steady *st)
{
    int lu = st->L && (!st->krylov || st->on_lu);
    st->stats.solver = lu ? QS_SOLVER_DIRECT : QS_SOLVER_ITERATIVE;
    if (lu) {
        st->stats.system_dimension = st->L->n;
        st->stats.symmetry_order = st->n_perms > 0 ? st->n_perms : 1;
        st->stats.nnz = st->L->nnz;
    } else {
        krylov_stats(st, st->krylov);
    }
    /* the plan: the LU's (pattern, factor), GMRES's, and both while GMRES runs beside the pattern */
    double lu_total = st->L ? st->lu_bytes : 0.0, gm = iterative_bytes(st, 0);
    double with_pattern = gm + (st->L ? st->memory_base : 0.0);
    st->stats.memory_planned = lu_total > with_pattern ? lu_total : with_pattern;
    predict_memory(st);
}

int qs_steady_create(const qs_model *model, const qs_steady_options *options,
                     qs_steady **out, qs_error *err)
{
    *out = NULL;
    int status;
    qs_steady *st = calloc(1, sizeof *st);
    if (!st) return qs_error_set(err, QS_ENOMEM, "out of memory");
    if (options) st->opt = *options; else qs_steady_defaults(&st->opt);
    if ((status = qs_steady_options_check(&st->opt, err)) != QS_OK) { free(st); return status; }
    st->resident_start = qs_memory_resident();
    int n = model->n;
    st->n_osc = n;
    st->n_couplings = model->n_couplings;
    st->levels = malloc((size_t)n * sizeof *st->levels);
    st->pairs = malloc((size_t)(2 * model->n_couplings + 1) * sizeof *st->pairs);
    if (!st->levels || !st->pairs) { qs_steady_free(&st); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
    for (int j = 0; j < n; j++) {
        st->levels[j] = model->osc[j].levels;
        if (st->levels[j] == QS_LEVELS_AUTO) {
            qs_steady_free(&st);
            return qs_error_set(err, QS_EINPUT, "oscillator %s: levels = auto must be resolved before solving", model->names[j]);
        }
    }
    for (int i = 0; i < model->n_couplings; i++) {
        st->pairs[2 * i] = model->couplings[i].j;
        st->pairs[2 * i + 1] = model->couplings[i].k;
    }

    /* sizes in floating point first, so that even a network too large to index is refused
     * with the memory it would need */
    double Dd = 1, sector_d;
    for (int j = 0; j < n; j++) Dd *= st->levels[j];
    sector_d = qs_basis_sector_estimate(n, st->levels);
    size_t D, sector;
    if (!qs_basis_plan(n, st->levels, &D, &sector)) {
        double need = qs_krylov_memory_estimate(model, sector_d, Dd, st->opt.restart, 0.5 * QS_KRYLOV_PER_ROW_MAX(model));   /* the least of the two solvers */
        char b1[32], b2[32];
        qs_steady_free(&st);
        return qs_error_set(err, QS_ETOOBIG, "a sector of %s unknowns needs %s MiB even for the iterative solver, "
                            "and is too large to index", big(b1, sector_d), big(b2, mib(need)));
    }
    st->stats.sector_dimension = sector;
    if (!qs_mul_size(D, D, &st->stats.liouvillian_dimension)) st->stats.liouvillian_dimension = SIZE_MAX;

    if (st->opt.full && st->opt.solver == QS_SOLVER_ITERATIVE) {
        qs_steady_free(&st);
        return qs_error_set(err, QS_EINPUT, "the iterative solver works on the sector only: the full Liouvillian (--full) needs the LU");
    }
    int solver = st->opt.full ? QS_SOLVER_DIRECT : st->opt.solver;
    char *why = st->stats.solver_reason;
    size_t why_len = sizeof st->stats.solver_reason;
    st->Dd = Dd;
    st->sector_d = sector_d;
    status = QS_OK;
    if (solver != QS_SOLVER_AUTO) {
        snprintf(why, why_len, "%s", st->opt.full ? "full Liouvillian" : "requested");
        status = solver == QS_SOLVER_DIRECT ? plan_direct(st, model, Dd, sector_d, err) : plan_iterative(st, model, Dd, sector_d, 0, err);
    } else if (sector_d > QS_DIRECT_MAX_AUTO) {
        snprintf(why, why_len, "auto: a sector of %.0f unknowns, above %d: the LU's fill is out of reach", sector_d, QS_DIRECT_MAX_AUTO);
        status = plan_iterative(st, model, Dd, sector_d, 0, err);
    } else if (sector_d >= QS_AUTO_GMRES_FIRST) {
        /* GMRES's first cycle before the LU's plan, which costs as much as a fast GMRES: it emits
         * every element of the sector (the symmetry reduces the LU's unknowns, not that) */
        st->trial = st->lazy_lu = 1;
        if (st->opt.symmetry && st->opt.perms && st->opt.n_perms > 0) {   /* the caller's group, for the LU's plan */
            size_t bytes = (size_t)st->opt.n_perms * (size_t)n * sizeof *st->caller_perms;
            if (!(st->caller_perms = malloc(bytes))) { qs_steady_free(&st); return qs_error_set(err, QS_ENOMEM, "out of memory"); }
            memcpy(st->caller_perms, st->opt.perms, bytes);
            st->opt.perms = st->caller_perms;
        }
        snprintf(why, why_len, "auto: GMRES first (a sector of %.0f unknowns)", sector_d);
        status = plan_iterative(st, model, Dd, sector_d, 0, err);
        if (status == QS_ETOOBIG) {              /* GMRES's tables do not fit (one oscillator of
                                                    tens of thousands of levels): the LU alone */
            char gm[sizeof err->message] = "";
            if (err) snprintf(gm, sizeof gm, "%s", err->message);
            qs_krylov_free(&st->krylov);
            st->trial = st->lazy_lu = 0;
            status = plan_direct(st, model, Dd, sector_d, err);
            if (status == QS_ETOOBIG) qs_error_prefix(err, QS_ETOOBIG, "neither solver fits: %.240s; and ", gm);
            snprintf(why, why_len, "auto: the LU (GMRES's plan does not fit: %.180s)", gm);
        }
    } else {
        status = plan_direct(st, model, Dd, sector_d, err);
        const char *which;
        double limit = memory_limit(st, &which);
        double lu_s = st->stats.predicted_lu_seconds, it_s = gmres_iteration_seconds(model, sector_d / (st->n_perms > 1 ? st->n_perms : 1), st->opt.restart);
        if (status == QS_ETOOBIG || (status == QS_OK && limit > 0 && st->stats.memory_planned > 0.5 * limit)) {
            char b[32];
            snprintf(why, why_len, "auto: the LU would need %s GiB, more than half of the %.3g GiB %s",
                     big(b, st->stats.memory_planned / 1073741824.0), limit / 1073741824.0, which);
            double lu_need = st->stats.memory_planned;
            free_direct(st);                      /* the group stays: GMRES uses it too */
            if (err) err->message[0] = '\0';
            status = plan_iterative(st, model, Dd, sector_d, 0, err);
            if (status == QS_ETOOBIG)             /* neither: say both */
                qs_error_prefix(err, QS_ETOOBIG, "neither solver fits: the LU would need %s MiB, and ", big(b, mib(lu_need)));
        } else if (status == QS_OK && gmres_setup_seconds(model, sector_d) + QS_AUTO_MIN_ITERATIONS * it_s > QS_AUTO_TRIAL_SHARE * lu_s) {
            snprintf(why, why_len, "auto: the LU (predicted %.2g s): GMRES's set-up and %d iterations would cost more than %.0f %% of it",
                     lu_s, QS_AUTO_MIN_ITERATIONS, 100 * QS_AUTO_TRIAL_SHARE);
        } else if (status == QS_OK) {
            st->trial = 1;
            snprintf(why, why_len, "auto: GMRES first (the LU: predicted %.2g s)", lu_s);
            status = plan_iterative(st, model, Dd, sector_d, st->stats.memory_planned, err);
            if (status == QS_ETOOBIG) {          /* not both: the LU alone */
                st->trial = 0;
                qs_krylov_free(&st->krylov);
                if (err) err->message[0] = '\0';
                snprintf(why, why_len, "auto: the LU (GMRES's plan does not fit beside it)");
                status = QS_OK;
            }
        }
    }
    if (status == QS_OK && st->trial) {
        st->guess = malloc(sector * sizeof *st->guess);
        if (!st->guess) status = qs_error_set(err, QS_ENOMEM, "out of memory");
    }
    if (status == QS_OK) {
        st->state.rho = malloc(sector * sizeof *st->state.rho);
        st->state.basis = st->basis;
        if (!st->state.rho) status = qs_error_set(err, QS_ENOMEM, "out of memory");
    }
    if (status != QS_OK) { qs_steady_free(&st); return status; }
    if (st->n_perms > 0 && st->sym_fixed > 0) {
        size_t used = strlen(why);
        snprintf(why + used, why_len - used, "; symmetry: the whole group has more than %d permutations, the subgroup "
                 "fixing the first %d oscillator%s is used", QS_SYMMETRY_MAX_ORDER, st->sym_fixed,
                 st->sym_fixed == 1 ? "" : "s");
    }
    if (st->krylov && st->restart < st->opt.restart) {
        size_t used = strlen(why);
        snprintf(why + used, why_len - used, "; GMRES restarts every %d iterations (the Krylov basis of %d does not fit in "
                 "memory)", st->restart, st->opt.restart);
    }
    if (st->krylov && qs_krylov_implicit(st->krylov)) {
        size_t used = strlen(why);
        snprintf(why + used, why_len - used, "; the operator (%zu non-zeros) is not stored, for want of memory: each product "
                 "computes its rows again", qs_krylov_nnz(st->krylov));
    }
    snprintf(st->why_base, sizeof st->why_base, "%s", why);
    describe(st);
    *out = st;
    return QS_OK;
}

int qs_steady_compatible(const qs_steady *st, const qs_model *model)
{
    if (model->n != st->n_osc || model->n_couplings != st->n_couplings) return 0;
    for (int j = 0; j < model->n; j++)
        if (model->osc[j].levels != st->levels[j]) return 0;
    for (int i = 0; i < model->n_couplings; i++)
        if (model->couplings[i].j != st->pairs[2 * i] || model->couplings[i].k != st->pairs[2 * i + 1]) return 0;
    for (int g = 0; g < st->n_perms; g++)
        if (!qs_model_has_symmetry(model, st->perms + (size_t)g * (size_t)model->n)) return 0;
    return 1;
}

/* The right-hand side w e_r of the system (the trace row's equation w ρ_rr = w) into v [L->n] */
static void trace_rhs(const qs_liouvillian *L, double *v)
{
    memset(v, 0, L->n * sizeof *v);
    v[L->trace_row] = L->trace_weight;
}

static int factor_solve_umfpack(qs_steady *st, qs_error *err)
{
    qs_liouvillian *L = st->L;
    double t0 = qs_now();
    if (st->numeric) umfpack_dl_free_numeric(&st->numeric);
    int status = (int)umfpack_dl_numeric(L->Ap, L->Ai, L->Ax, st->symbolic, &st->numeric, st->control, st->info);
    st->stats.time_numeric = qs_now() - t0;
    st->stats.rcond = st->info[UMFPACK_RCOND];
    st->stats.lu_nnz = st->info[UMFPACK_LNZ] + st->info[UMFPACK_UNZ];
    if (status == UMFPACK_ERROR_out_of_memory)
        return qs_error_set(err, QS_ENOMEM, "out of memory in the LU factorisation");
    if (status == UMFPACK_WARNING_singular_matrix)
        return qs_error_set(err, QS_ENUMERIC, "the Liouvillian is singular: the steady state is not unique (is any oscillator without dissipation?)");
    if (status != UMFPACK_OK)
        return qs_error_set(err, QS_ENUMERIC, "LU factorisation failed (UMFPACK status %d)", status);
    t0 = qs_now();
    trace_rhs(L, st->row_abs);
    status = (int)umfpack_dl_solve(UMFPACK_A, L->Ap, L->Ai, L->Ax, st->x, st->row_abs, st->numeric, st->control, st->info);
    st->stats.time_solve = qs_now() - t0;
    if (status != UMFPACK_OK)
        return qs_error_set(err, QS_ENUMERIC, "triangular solve failed (UMFPACK status %d)", status);
    return QS_OK;
}

static int factor_solve_klu(qs_steady *st, qs_error *err)
{
    qs_liouvillian *L = st->L;
    double t0 = qs_now();
    /* Plan once, refactor many: with a factorisation from an earlier solve, reuse its pivot
     * order (no search); fall back to a fresh factorisation when that fails or when the
     * pivots degrade (reciprocal pivot ratio below refactor_rcond_ratio of the last fresh one). */
    int fresh = 1;
    if (st->klu_numeric) {
        int ok = (int)klu_l_refactor((SuiteSparse_long *)L->Ap, (SuiteSparse_long *)L->Ai, L->Ax, st->klu_symbolic,
                                     st->klu_numeric, &st->klu);
        if (ok) klu_l_rcond(st->klu_symbolic, st->klu_numeric, &st->klu);
        if (ok && st->klu.rcond >= st->opt.refactor_rcond_ratio * st->rcond_fresh) fresh = 0;
        else klu_l_free_numeric(&st->klu_numeric, &st->klu);
    }
    if (fresh)
        st->klu_numeric = klu_l_factor((SuiteSparse_long *)L->Ap, (SuiteSparse_long *)L->Ai, L->Ax, st->klu_symbolic, &st->klu);
    st->stats.refactored = !fresh;
    st->stats.time_numeric = qs_now() - t0;
    if (!st->klu_numeric || st->klu.status == KLU_SINGULAR) {
        if (st->klu.status == KLU_OUT_OF_MEMORY) return qs_error_set(err, QS_ENOMEM, "out of memory in the LU factorisation");
        if (st->klu_numeric) klu_l_free_numeric(&st->klu_numeric, &st->klu);
        return qs_error_set(err, QS_ENUMERIC, "the Liouvillian is singular: the steady state is not unique (is any oscillator without dissipation?)");
    }
    if (fresh) {
        klu_l_rcond(st->klu_symbolic, st->klu_numeric, &st->klu);
        st->rcond_fresh = st->klu.rcond;
    }
    st->stats.rcond = st->klu.rcond;
    st->stats.lu_nnz = (double)st->klu_numeric->lnz + (double)st->klu_numeric->unz;
    t0 = qs_now();
    trace_rhs(L, st->x);
    if (!klu_l_solve(st->klu_symbolic, st->klu_numeric, (SuiteSparse_long)L->n, 1, st->x, &st->klu))
        return qs_error_set(err, QS_ENUMERIC, "triangular solve failed (KLU status %d)", (int)st->klu.status);
    st->stats.time_solve = qs_now() - t0;
    return QS_OK;
}

/* ---- a later solve by an earlier factorisation ----
 * In a sweep the values change a little from point to point while UMFPACK's factorisation is
 * what costs (it has no refactorisation in a kept pivot order, as KLU has, factor_solve_klu):
 * GMRES (SUNDIALS SPGMR) on the new A, right-preconditioned by the LU of an earlier point's A
 * and started from the last solution, converges in a few iterations where couplings or rates
 * move (Fig. 4's maps at neighbouring points: 5-7 iterations to QS_REUSE_TOL, where a
 * factorisation costs about 15 iterations' time), each a pair of triangular solves and a
 * product. Where detunings or K move, the coherences' frequencies change by more than the
 * damping and the old factor does not follow: there it fails.
 *
 * The policy counts iterations, never a clock (the same choices on every run): a factorisation
 * is worth F iterations (its predicted seconds over a predicted iteration, both from the symbolic
 * analysis, so the same for every plan of a sweep whatever point it factorised first, and so
 * for any thread count); reuse is tried where
 * F >= QS_REUSE_MIN_FACTOR, with at most F iterations (break even), F/2 for the first point
 * after a factorisation (the nearest: beyond that, reuse cannot pay). The next point factorises
 * afresh when the last reuse cost more than the average point since the factorisation (F plus
 * every reuse, over the points: the iterations grow with the distance from the factored point).
 * A point whose reuse fails is factorised; a first attempt that fails, or two failures in a row,
 * end the reuse until the plan's next reset (a sweep's next block), so a detuning axis pays at
 * most half a factorisation per block. */
#define QS_REUSE_MIN_FACTOR 8.0     /* reuse only where a factorisation costs at least this many iterations */
#define QS_REUSE_MAX_ITERATIONS 40  /* the most a reuse may take (two cycles of SPGMR's basis of half that) */
#define QS_REUSE_TOL 1e-13          /* SPGMR stops at ||b − A x||₂ <= this ||b||₂ */
/* a preconditioned iteration, per entry of UMFPACK's estimate of L + U (two triangular solves
 * without refinement; the estimate is 3-5x the entries made), on the scale of predicted_lu_seconds
 * (which overstates the factorisation 2-5x): fitted to the measured ratio of a factorisation to an
 * iteration, about 15 on Fig. 4 at 6 and 7 levels (predicted 14.2 and 16.2); and per entry of the
 * system (the product) */
#define SECONDS_PER_SOLVE_ENTRY 2.1e-9
#define SECONDS_PER_REAL_ENTRY 3e-9

static int reuse_atimes(void *data, N_Vector v, N_Vector z)
{
    const qs_liouvillian *L = ((qs_steady *)data)->L;
    const double *x = N_VGetArrayPointer(v);
    double *y = N_VGetArrayPointer(z);
    memset(y, 0, L->n * sizeof *y);
    for (size_t col = 0; col < L->n; col++) {
        double xc = x[col];
        for (int64_t p = L->Ap[col]; p < L->Ap[col + 1]; p++) y[L->Ai[p]] += L->Ax[p] * xc;
    }
    return 0;
}

static int reuse_psolve(void *data, N_Vector r, N_Vector z, sunrealtype tol, int lr)
{
    (void)tol;
    (void)lr;
    qs_steady *st = data;
    double info[UMFPACK_INFO];
    /* without refinement the matrix is not read (its values are already the new point's) */
    return umfpack_dl_solve(UMFPACK_A, st->L->Ap, st->L->Ai, st->L->Ax, N_VGetArrayPointer(z), N_VGetArrayPointer(r), st->numeric,
                            st->control_plain, info) == UMFPACK_OK ? 0 : -1;
}

/* What a factorisation is worth in iterations: from the symbolic analysis alone (its estimate
 * of the fill, which depends on the pattern only), so that every plan of a sweep, whichever
 * point it factorised first, takes the same decisions. 0 without UMFPACK or reuse. */
static double reuse_factor_iterations(const qs_steady *st)
{
    if (!st->opt.reuse_lu || st->stats.lu != QS_LU_UMFPACK) return 0;
    double iteration = SECONDS_PER_SOLVE_ENTRY * (st->info[UMFPACK_LNZ_ESTIMATE] + st->info[UMFPACK_UNZ_ESTIMATE]) +
                       SECONDS_PER_REAL_ENTRY * (double)st->L->nnz;
    double F = st->stats.predicted_lu_seconds / iteration;
    return F > 0 && isfinite(F) ? F : 0;
}

/* After a factorisation: the count since it starts again. */
static void reuse_factored(qs_steady *st)
{
    st->reuse_spent = st->factor_iterations;
    st->reuse_points = 1;
    st->refactor_next = 0;
}

/* SPGMR's basis: half the most a reuse may take (a later point may restart once) */
static int reuse_basis(const qs_steady *st) { return (int)ceil(0.5 * fmin(st->factor_iterations, QS_REUSE_MAX_ITERATIONS)); }

/* SPGMR's vectors (its basis and three of its own), where the plan may reuse */
static double reuse_bytes(const qs_steady *st)
{
    return st->factor_iterations >= QS_REUSE_MIN_FACTOR ? 8.0 * (double)st->L->n * (reuse_basis(st) + 3) : 0;
}

/* Whether this solve tries the held factorisation (factor_iterations is 0 without UMFPACK or
 * options.reuse_lu, and after SPGMR could not be set up). */
static int reuse_wanted(const qs_steady *st)
{
    return st->have_factor && st->have_guess && !st->refactor_next && st->reuse_failures < 2 &&
           st->factor_iterations >= QS_REUSE_MIN_FACTOR;
}

/* GMRES by the held factorisation from st->x (the last solution). *solved: 1 when it
 * converged, with the solution in st->x; 0 when the point needs its own factorisation (also
 * when SPGMR could not be set up: the reuse is then off for the plan). */
static void solve_reused(qs_steady *st, int *solved)
{
    *solved = 0;
    qs_liouvillian *L = st->L;
    double t0 = qs_now();
    if (!st->spgmr) {
        memcpy(st->control_plain, st->control, sizeof st->control_plain);
        st->control_plain[UMFPACK_IRSTEP] = 0;
        if ((!st->sun && SUNContext_Create(NULL, &st->sun) != 0) ||
            !(st->nv_x = N_VMake_Serial((sunindextype)L->n, st->x, st->sun)) ||
            !(st->nv_b = N_VMake_Serial((sunindextype)L->n, st->row_abs, st->sun)) ||
            !(st->spgmr = SUNLinSol_SPGMR(st->nv_x, SUN_PREC_RIGHT, reuse_basis(st), st->sun)) ||
            SUNLinSolSetATimes(st->spgmr, st, reuse_atimes) != 0 ||
            SUNLinSolSetPreconditioner(st->spgmr, st, NULL, reuse_psolve) != 0 || SUNLinSolInitialize(st->spgmr) != 0) {
            reuse_free(st);                                  /* an optional speed-up: the point is factorised */
            st->factor_iterations = 0;
            return;
        }
    }
    trace_rhs(L, st->row_abs);                            /* as the factorisation's solve, in its workspace */
    SUNLinSol_SPGMRSetMaxRestarts(st->spgmr, st->reuse_points > 1);     /* the first point after a factorisation: F/2 */
    int flag = SUNLinSolSolve(st->spgmr, NULL, st->nv_x, st->nv_b, QS_REUSE_TOL * L->trace_weight);
    int its = SUNLinSolNumIters(st->spgmr);
    st->stats.time_solve = qs_now() - t0;
    st->stats.time_numeric = 0;
    if (flag != SUNLS_SUCCESS) {                         /* not within the cap: factorise this point */
        st->reuse_failures = st->reuse_points > 1 ? st->reuse_failures + 1 : 2;
        return;
    }
    *solved = 1;
    st->reuse_failures = 0;
    st->stats.lu_reuse_iterations = its > 1 ? its : 1;
    /* the next point factorises when this one cost more than the average since the factorisation */
    st->reuse_spent += its;
    st->reuse_points++;
    st->refactor_next = its > st->reuse_spent / st->reuse_points;
}

/* LU path: fill, factorise, solve; the complex sector ρ (unnormalised) into state.rho. */
static int solve_direct(qs_steady *st, const qs_model *model, qs_error *err)
{
    qs_liouvillian *L = st->L;
    const qs_basis *b = st->basis;
    int status;
    double t0 = qs_now();
    if ((status = qs_liouvillian_fill(L, model, err)) != QS_OK) return status;
    st->stats.time_assemble = qs_now() - t0;

    int reused = 0;
    if (reuse_wanted(st)) solve_reused(st, &reused);
    if (!reused) {
        st->have_factor = 0;
        status = st->stats.lu == QS_LU_KLU ? factor_solve_klu(st, err) : factor_solve_umfpack(st, err);
        if (status != QS_OK) return status;
        st->have_factor = 1;
        reuse_factored(st);
    }
    /* the slots from their orbits, then the Hermitian ρ from its real slots:
     * (s,s) ρ_ss, (s,t) Re ρ_st and (t,s) Im ρ_st for s < t */
    for (size_t col = 0; col < L->n_slots; col++)
        st->xs[col] = L->orbit_of[col] < 0 ? 0.0 : L->sign[col] * st->x[L->orbit_of[col]];
    for (size_t col = 0; col < L->n_slots; col++) {
        double here = st->xs[col], there = st->xs[L->transpose[col]];
        st->z[col] = L->upper[col] == 0 ? here : L->upper[col] > 0 ? CMPLX(here, there) : CMPLX(there, -here);
    }
    st->stats.residual = qs_liouvillian_residual(L, st->z, st->y, st->row_abs);

    /* the sector part of the solution; off-sector magnitude on the full path */
    double off = 0.0;
    if (L->full) {
        for (size_t sa = 0; sa < b->dim; sa++)
            for (size_t ta = 0; ta < b->dim; ta++) {
                double complex v = st->z[sa * b->dim + ta];
                if (b->total[sa] == b->total[ta]) st->state.rho[qs_basis_sector_index(b, sa, ta)] = v;
                else if (cabs(v) > off) off = cabs(v);
            }
    } else {
        memcpy(st->state.rho, st->z, b->sector_dim * sizeof *st->z);
    }
    st->stats.off_sector = off;
    return QS_OK;
}

/* The plan of GMRES on the whole sector with the block preconditioner, beside the orbits' plan
 * and `extra` bytes more; QS_OK with st->whole NULL (and whole_refused) when it does not fit. */
static int plan_whole(qs_steady *st, const qs_model *model, double extra, qs_error *err)
{
    const char *which;
    double limit = memory_limit(st, &which), reserve = extra + qs_krylov_planned(st->krylov) + 16.0 * st->sector_d;
    qs_error sub;
    int status = QS_ETOOBIG;
    if (!st->guess && !(st->guess = malloc(st->basis->sector_dim * sizeof *st->guess))) return qs_error_set(err, QS_ENOMEM, "out of memory");
    if (!(limit > 0) || reserve < limit)
        status = qs_krylov_create(st->basis, model, NULL, 0, st->restart, 0, limit > 0 ? limit - reserve : 0, which, &st->whole, &sub);
    if (status == QS_OK) status = qs_krylov_set_preconditioner(st->whole, QS_PRECOND_BLOCK, &sub);
    if (status == QS_OK) return QS_OK;
    qs_krylov_free(&st->whole);
    st->whole_refused = 1;
    if (status == QS_ETOOBIG || status == QS_ENOMEM) return QS_OK;
    if (err) *err = sub;
    return status;
}

/* GMRES to the tolerance, from the previous state (warm start) or the uncoupled one. On the
 * symmetry's orbits only L0^# preconditions, which fails at strong coupling (ring of 4 x 5
 * levels at V = 2: 17x in the first restart cycle, then about 2x a cycle, stagnation at
 * 2.8e-7). An iteration on the whole sector with the block preconditioner costs several on the
 * orbits (the group's order and the blocks' solves: about 10x on the ring of 6 x 4), and the
 * blocks need about 20-25 iterations. So with the automatic preconditioner GMRES runs on the
 * orbits while its rate predicts at most QS_ORBIT_SWITCH_ITERATIONS x (order + 1) iterations
 * more (ring of 6 x 4 at V = 0.5: 40,000x in the first cycle, 112 iterations in all), and after
 * a cycle that predicts more, the solve goes on from its state over the whole sector with the
 * block preconditioner, when that plan fits (the orbits' plan is kept for the next solve). */
static int solve_iterative(qs_steady *st, const qs_model *model, qs_error *err)
{
    double t0 = qs_now();
    const double complex *guess = st->opt.warm_start && st->have_guess ? st->state.rho : NULL;
    int max = st->opt.max_iterations;
    st->have_guess = 0;
    int may_switch = st->opt.preconditioner == QS_PRECOND_AUTO && qs_krylov_order(st->krylov) > 1 && !st->whole_refused &&
                     st->restart < max;
    qs_krylov_set_stall(st->krylov, may_switch ? QS_ORBIT_SWITCH_ITERATIONS * (qs_krylov_order(st->krylov) + 1.0) : 0.0);
    int status = qs_krylov_solve(st->krylov, model, guess, st->opt.iterative_tol, max, st->state.rho, err);
    qs_krylov_set_stall(st->krylov, 0.0);
    qs_krylov *last = st->krylov;
    int its = qs_krylov_iterations(st->krylov), stalled_at = its;
    if (may_switch && status == QS_ENUMERIC && qs_krylov_stalled(st->krylov) && isfinite(qs_krylov_residual(st->krylov))) {
        if (!st->whole && (status = plan_whole(st, model, 0, err)) != QS_OK) return status;
        memcpy(st->guess, st->state.rho, st->basis->sector_dim * sizeof *st->guess);
        if (st->whole) {
            status = qs_krylov_solve(st->whole, model, st->guess, st->opt.iterative_tol, max - its, st->state.rho, err);
            if (status != QS_OK && qs_krylov_iterations(st->whole) == 0 && status != QS_ENUMERIC) {
                qs_krylov_free(&st->whole);   /* the blocks were refused: on along the orbits */
                st->whole_refused = 1;
                memcpy(st->state.rho, st->guess, st->basis->sector_dim * sizeof *st->guess);
            } else {
                last = st->whole;
                its += qs_krylov_iterations(st->whole);
            }
        }
        if (last == st->krylov) {
            status = qs_krylov_solve(st->krylov, model, st->guess, st->opt.iterative_tol, max - its, st->state.rho, err);
            its += qs_krylov_iterations(st->krylov);
        }
    }
    if (status == QS_OK && err) err->message[0] = '\0';
    if (st->whole) describe(st);           /* the memory of both plans */
    st->stats.iterations = its;
    st->stats.preconditioner = qs_krylov_preconditioner(last);
    st->stats.residual = qs_krylov_residual(last);
    krylov_stats(st, last);
    if (last == st->whole)
        snprintf(st->stats.solver_reason, sizeof st->stats.solver_reason, "%.400s; the block preconditioner on the whole sector "
                 "after %d iterations on the orbits", st->why_base, stalled_at);
    else
        snprintf(st->stats.solver_reason, sizeof st->stats.solver_reason, "%s", st->why_base);
    st->stats.time_solve = qs_now() - t0;
    st->stats.off_sector = 0.0;
    st->stats.rcond = NAN;
    return status;
}

/* auto, GMRES first: the LU's plan when it was left for later; QS_OK with st->L NULL when it
 * does not fit (GMRES alone then). */
static int trial_plan_lu(qs_steady *st, const qs_model *model, qs_error *err)
{
    if (st->L || st->lu_refused) return QS_OK;
    qs_error sub;
    int status = plan_direct(st, model, st->Dd, st->sector_d, &sub);
    const char *which;
    double limit = memory_limit(st, &which);
    /* beside GMRES on the orbits (the whole sector's plan, when made, is dropped when the LU takes over) */
    double gm = iterative_bytes(st, 0) - (st->whole ? qs_krylov_planned(st->whole) + 16.0 * st->sector_d : 0.0);
    if (status == QS_OK && !(limit > 0 && (st->lu_bytes > 0.5 * limit || st->lu_bytes + gm > limit))) return QS_OK;
    if (status != QS_OK && status != QS_ETOOBIG) {
        if (err) *err = sub;
        return status;
    }
    free_direct(st);                          /* the group stays: GMRES solves on its orbits */
    st->lu_refused = 1;
    return QS_OK;
}

/* auto's trial, when L0^#'s rate predicts more than the LU: the block preconditioner instead,
 * when its path (QS_AUTO_BLOCK_ITERATIONS iterations at the cost of its blocks) is predicted to
 * cost at most `bound` seconds; on symmetry orbits over the whole sector (its plan made here,
 * when it fits beside the LU's plan, if that is made). The GMRES to go on with and its seconds
 * per iteration, or NULL. */
static qs_krylov *trial_blocks(qs_steady *st, const qs_model *model, double bound, double *it_base, qs_error *err, int *status)
{
    *status = QS_OK;
    if (st->opt.preconditioner != QS_PRECOND_AUTO || st->whole_refused) return NULL;
    double per_row = 0.5 * QS_KRYLOV_PER_ROW_MAX(model);
    double it_whole = gmres_iteration_seconds(model, st->sector_d, st->restart);
    /* an application: 4 d^3 for each excitation block of d states, at most the budget (precond.c) */
    double budget = QS_PRECOND_BUDGET * (per_row * st->sector_d + 2.0 * st->restart * st->sector_d), exact = 0;
    for (int N = 0; N <= st->basis->max_total; N++) exact += 4.0 * pow((double)st->basis->block_size[N], 3);
    double prior = QS_AUTO_BLOCK_ITERATIONS * (it_whole + SECONDS_PER_BLOCK_MAC * (exact < budget ? exact : budget));
    if (!(prior <= bound)) return NULL;
    if (qs_krylov_order(st->krylov) <= 1) {       /* (already on them after a whole cycle: judged) */
        if (qs_krylov_preconditioner(st->krylov) == QS_PRECOND_BLOCK || !qs_krylov_blocks_next(st->krylov)) return NULL;
        *it_base = st->stats.predicted_iteration_seconds;
        return st->krylov;
    }
    if (!st->whole && ((*status = plan_whole(st, model, st->L ? st->lu_bytes : 0, err)) != QS_OK || !st->whole)) return NULL;
    *it_base = it_whole;
    return st->whole;
}

/* auto's trial: GMRES one restart cycle at a time while its spent and predicted iterations
 * cost less than the LU's predicted time (L0^#, then the blocks when predicted to end sooner
 * than the LU: trial_blocks); then the LU (planned here if it was not). Returns the status of
 * the solver that finished, and which one in stats; *finished is the GMRES plan that converged
 * (NULL otherwise). */
static int solve_trial(qs_steady *st, const qs_model *model, const qs_krylov **finished, qs_error *err)
{
    *finished = NULL;
    double t0 = qs_now();
    size_t n = st->basis->sector_dim;
    int status, total = 0, cycle = st->restart < 2 ? 2 : st->restart;
    double it_s = st->stats.predicted_iteration_seconds, spent = gmres_setup_seconds(model, st->sector_d), predicted = 0;
    char *why = st->stats.solver_reason;
    size_t why_len = sizeof st->stats.solver_reason;
    int warm = st->opt.warm_start && st->have_guess;
    st->have_guess = 0;
    if (warm) memcpy(st->guess, st->state.rho, n * sizeof *st->guess);
    /* the residual of the start: a cycle of no iterations (one product) */
    status = qs_krylov_solve(st->krylov, model, warm ? st->guess : NULL, st->opt.iterative_tol, 0, st->state.rho, err);
    double r_prev = qs_krylov_residual(st->krylov);
    int ok = status == QS_OK, going = !ok && isfinite(r_prev);
    /* the first cycle: at most the trial's share of the LU, when the LU is known */
    if (going && !st->lazy_lu && it_s > 0) {
        double room = (QS_AUTO_TRIAL_SHARE * st->stats.predicted_lu_seconds - spent) / it_s;
        if (room < cycle) cycle = room < 1 ? 1 : (int)room;
    }
    int first = 1, blocks_at = -1;
    qs_krylov *kr = st->krylov;
    /* the plan's last solve ended on the blocks (a sweep's last point): this one starts on them,
     * up to QS_AUTO_BLOCKS_RUN in a row */
    int remembered = 0;
    if (going && st->blocks_first && st->blocks_started < QS_AUTO_BLOCKS_RUN) {
        qs_krylov *next = trial_blocks(st, model, INFINITY, &it_s, err, &status);
        if (!next && status != QS_OK) return status;
        if (next) {
            kr = next;
            blocks_at = 0;
            cycle = st->restart;
            remembered = 1;
        }
    }
    st->blocks_first = 0;
    while (going) {
        memcpy(st->guess, st->state.rho, n * sizeof *st->guess);
        status = qs_krylov_solve(kr, model, st->guess, st->opt.iterative_tol, cycle, st->state.rho, err);
        if (kr == st->whole && status != QS_OK && qs_krylov_iterations(kr) == 0) {
            qs_krylov_free(&st->whole);           /* the blocks were refused: on along the orbits */
            st->whole_refused = 1;
            memcpy(st->state.rho, st->guess, n * sizeof *st->guess);
            kr = st->krylov;
            it_s = st->stats.predicted_iteration_seconds;
            blocks_at = -1;
            remembered = 0;
            continue;
        }
        int its = qs_krylov_iterations(kr);
        double r = qs_krylov_residual(kr);
        /* this cycle's iterations, with the block preconditioner's products when it was on */
        double it_now = it_s + SECONDS_PER_BLOCK_MAC * qs_krylov_block_cost(kr);
        total += its;
        spent += its * it_now;
        if ((ok = status == QS_OK) || !isfinite(r)) break;
        cycle = st->restart;
        if (total >= st->opt.max_iterations) break;
        /* iterations still needed at this cycle's rate of decrease */
        double rate = its > 0 && r > 0 && r_prev > 0 ? log(r / r_prev) / its : 0;
        double left = rate < 0 ? log(st->opt.iterative_tol / r) / rate : INFINITY;
        /* restarted GMRES slows down after its first cycle, which removes the easy part of the
         * residual: a margin, wider on the rate of that first cycle (fig. 4 at 10 levels: its
         * first 25 iterations predict 86 in all, the next 40 predict 340, and 1,720 are needed) */
        double margin = first ? 3.0 : 1.5;
        first = 0;
        predicted = spent + margin * left * it_now;
        r_prev = r;
        /* the blocks as soon as their path is predicted shorter than L0^#'s rest, whatever the
         * LU, with a wider margin on a first cycle's rate (Fig. 4 at 10 levels: the first cycle
         * predicts 1.0 s more at 3x, the blocks' 30 iterations 1.1 s; they end after 80
         * iterations in all instead of 120) */
        qs_krylov *next = NULL;
        if (blocks_at < 0 && qs_krylov_preconditioner(kr) != QS_PRECOND_BLOCK) {
            double rest = (margin > 1.5 ? QS_AUTO_FIRST_MARGIN_BLOCKS : margin) * left * it_now;
            if (st->L && rest > 0.8 * st->stats.predicted_lu_seconds - spent) rest = 0.8 * st->stats.predicted_lu_seconds - spent;
            if (!(next = trial_blocks(st, model, rest, &it_s, err, &status)) && status != QS_OK) return status;
        }
        if (!next) {
            /* GMRES first: the LU's analysis is not worth it while GMRES is predicted to end
             * before twice the analysis's cost (the same rule whether or not an earlier block
             * made it) */
            double plan_s = 2 * SECONDS_PER_PLAN_ENTRY * st->sector_d * QS_KRYLOV_PER_ROW_MAX(model);
            if (st->lazy_lu && margin * left * it_now <= plan_s) continue;
            if (st->lazy_lu && !st->L && blocks_at < 0) {   /* the blocks, when they too would end before that cost */
                if (!(next = trial_blocks(st, model, plan_s, &it_s, err, &status)) && status != QS_OK) return status;
            }
        }
        if (!next) {
            if ((status = trial_plan_lu(st, model, err)) != QS_OK) return status;
            if (!st->L) continue;                 /* GMRES alone: to its iteration limit */
            /* on with GMRES beside the LU's pattern only when both plans fit (the whole sector's,
             * made before the LU was planned, is left out of the LU's own check) */
            const char *which;
            double limit = memory_limit(st, &which);
            if (limit > 0 && st->memory_base + iterative_bytes(st, 0) > limit) break;
            if (predicted <= 0.8 * st->stats.predicted_lu_seconds) continue;
            if (blocks_at >= 0) break;
            next = trial_blocks(st, model, 0.8 * st->stats.predicted_lu_seconds - spent, &it_s, err, &status);
            if (status != QS_OK) return status;
            if (!next) break;
        }
        kr = next;
        blocks_at = total;
        first = 1;
    }
    st->stats.iterations = total;
    st->stats.residual = qs_krylov_residual(kr);
    st->stats.time_solve = qs_now() - t0;
    st->stats.off_sector = 0.0;
    st->stats.rcond = NAN;
    st->stats.trial_iterations = 0;
    if (ok) {
        st->stats.preconditioner = qs_krylov_preconditioner(kr);
        st->blocks_first = blocks_at >= 0 && st->stats.preconditioner == QS_PRECOND_BLOCK;
        st->blocks_started = st->blocks_first && remembered ? st->blocks_started + 1 : 0;
        st->stats.predicted_seconds = spent;
        *finished = kr;
        if (remembered)
            snprintf(why, why_len, "%.380s: the block preconditioner%s from the start (the plan's last solve ended on it); "
                     "converged in %d iterations", st->why_base, kr == st->whole ? " on the whole sector" : "", total);
        else if (blocks_at >= 0)
            snprintf(why, why_len, "%.380s: the block preconditioner%s after %d iterations; converged in %d in all", st->why_base,
                     kr == st->whole ? " on the whole sector" : "", blocks_at, total);
        else
            snprintf(why, why_len, "%.440s: converged in %d iterations", st->why_base, total);
        return status;
    }
    qs_error gm_err;
    if (err) gm_err = *err;
    int gm_status = status;
    if ((status = trial_plan_lu(st, model, err)) != QS_OK) return status;
    if (!st->L) {                             /* GMRES alone has failed */
        if (gm_status != QS_ENUMERIC || !isfinite(st->stats.residual)) {
            if (err) *err = gm_err;
            return gm_status;
        }
        return qs_error_set(err, QS_ENUMERIC, "GMRES did not converge in %d iterations: relative residual %.3g (tolerance %.3g), "
                            "and the LU does not fit in memory", total, st->stats.residual, st->opt.iterative_tol);
    }
    /* the LU finishes the solve, and the plan keeps it until the next reset */
    if (err) err->message[0] = '\0';
    qs_krylov_free(&st->krylov);
    qs_krylov_free(&st->whole);
    st->on_lu = 1;
    st->stats.trial_iterations = total;
    double lu_s = st->stats.predicted_lu_seconds;
    if (isfinite(predicted) && predicted > 0)
        snprintf(why, why_len, "auto: the LU (predicted %.2g s) after %d GMRES iterations%s (predicted %.2g s in all)", lu_s, total,
                 blocks_at >= 0 ? ", the last with the blocks" : "", predicted);
    else
        snprintf(why, why_len, "auto: the LU (predicted %.2g s) after %d GMRES iterations without progress", lu_s, total);
    status = solve_direct(st, model, err);
    st->stats.predicted_seconds = spent + lu_s;
    return status;
}

int qs_steady_solve(qs_steady *st, const qs_model *model, qs_error *err)
{
    st->have_state = 0;
    st->stats.preconditioner = 0;
    st->stats.lu_reuse_iterations = 0;
    if (!qs_steady_compatible(st, model))
        return qs_error_set(err, QS_EINPUT, "the model's structure (oscillators, levels, couplings, symmetries) differs from the plan's");
    const qs_basis *b = st->basis;
    int status;
    /* a solve not started from the last state (--cold-start, after a failure or a reset) begins
     * as a new plan's: L0^# first, whether the last solve ended on the blocks (the memory on
     * orbits, blocks_first) or auto's GMRES without symmetry stayed on them */
    if (!(st->opt.warm_start && st->have_guess)) {
        st->blocks_first = 0;
        if (st->krylov) qs_krylov_auto_restart(st->krylov);
    }
    if (st->trial && !st->on_lu) {
        if (!st->krylov && (status = plan_iterative(st, model, st->Dd, st->sector_d, st->L ? st->memory_base : 0, err)) != QS_OK)
            return status;
        const qs_krylov *finished;
        status = solve_trial(st, model, &finished, err);
        describe(st);                          /* the plans now made */
        if (finished) krylov_stats(st, finished);   /* and the sizes of the GMRES that converged */
    } else if (st->krylov && !st->on_lu) {
        status = solve_iterative(st, model, err);
        st->stats.predicted_seconds = st->stats.iterations * st->stats.predicted_iteration_seconds;
        predict_memory(st);
    } else {
        status = solve_direct(st, model, err);
        st->stats.predicted_seconds = st->stats.predicted_lu_seconds;
    }
    if (status != QS_OK) {
        st->have_guess = 0;                    /* a failed solve leaves nothing to start the next from */
        return status;
    }
    double complex tr = 0.0;
    for (size_t s = 0; s < b->dim; s++) tr += st->state.rho[qs_basis_sector_index(b, s, s)];
    double complex inv_tr = 1.0 / tr;
    for (size_t i = 0; i < b->sector_dim; i++) st->state.rho[i] *= inv_tr;
    double complex tr1 = 0.0;
    for (size_t s = 0; s < b->dim; s++) tr1 += st->state.rho[qs_basis_sector_index(b, s, s)];
    st->stats.trace_error = cabs(tr1 - 1.0);
    /* Hermiticity: exact by construction on the LU path; measured, then enforced, on GMRES's */
    double herm = 0.0;
    for (int N = 0; N <= b->max_total; N++) {
        size_t d = b->block_size[N];
        double complex *blk = st->state.rho + b->block_offset[N];
        for (size_t i = 0; i < d; i++)
            for (size_t k = i; k < d; k++) {
                double e = cabs(blk[i * d + k] - conj(blk[k * d + i]));
                if (e > herm) herm = e;
                if (st->krylov) {
                    double complex mean = 0.5 * (blk[i * d + k] + conj(blk[k * d + i]));
                    blk[i * d + k] = mean;
                    blk[k * d + i] = conj(mean);
                }
            }
    }
    st->stats.hermiticity_error = herm;
    if (!(st->stats.residual <= st->opt.residual_tol) || !isfinite(creal(tr))) {
        st->have_guess = 0;
        return qs_error_set(err, QS_ENUMERIC, "the solution fails its check: relative residual %.3g (tolerance %.3g), rcond %.3g",
                            st->stats.residual, st->opt.residual_tol, st->stats.rcond);
    }
    st->have_state = 1;
    st->have_guess = 1;
    /* every oscillator whose top level holds too much, in one warning (those that do not fit
     * counted at its end) */
    char list[sizeof err->message - 48] = "", one[160];
    int len = 0, more = 0;
    for (int j = 0; j < b->n; j++) {
        double top = qs_state_population(&st->state, j, b->levels[j] - 1);
        if (!(top > st->opt.top_tol)) continue;
        int k = snprintf(one, sizeof one, "oscillator %s: population %.3g of the top level %d exceeds %.3g; ", model->names[j], top,
                         b->levels[j] - 1, st->opt.top_tol);
        if (!more && k < (int)sizeof one && len + k < (int)sizeof list - 40) {
            memcpy(list + len, one, (size_t)k + 1);
            len += k;
        } else {
            more++;
        }
    }
    if (more) len += snprintf(list + len, sizeof list - (size_t)len, "and %d more oscillator%s; ", more, more == 1 ? "" : "s");
    if (len) return qs_error_set(err, QS_WARN_TRUNCATION, "%sraise levels (or use levels = auto)", list);
    return QS_OK;
}

void qs_steady_reset(qs_steady *st)
{
    st->have_guess = 0;                /* so the next solve starts on L0^# (qs_steady_solve) */
    /* as a new plan would solve (a sweep's block on whatever thread): the blocks tried again,
     * and the LU of GMRES-first plans planned again when the trial needs it (at that point's
     * values, as a new plan would) */
    st->whole_refused = 0;
    if (st->lazy_lu && (st->L || st->lu_refused)) {
        free_direct(st);
        st->lu_refused = 0;
    }
    if (st->on_lu) {                   /* auto: back to GMRES first (its plan is made again) */
        st->on_lu = 0;
        snprintf(st->stats.solver_reason, sizeof st->stats.solver_reason, "%s", st->why_base);
    }
    if (st->klu_numeric) klu_l_free_numeric(&st->klu_numeric, &st->klu);
    st->have_factor = st->refactor_next = st->reuse_failures = 0;
}

const qs_state *qs_steady_state(const qs_steady *st) { return st->have_state ? &st->state : NULL; }

void qs_steady_get_stats(const qs_steady *st, qs_steady_stats *stats) { *stats = st->stats; }
