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
    qs_state state;
    int have_state, have_guess;  /* a valid state; the last state may start GMRES */
    double memory_base;          /* bytes of our own arrays */
    double memory_available;     /* what the system had at planning (read once: /proc is slow) */
    const char *memory_which;    /* which bound that is ("available", the address-space limit, …) */
    double rcond_fresh;          /* pivot ratio of the last fresh KLU factorisation */
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
}

static double mib(double bytes) { return bytes / 1048576.0; }

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
    free(st);
    *steady = NULL;
}

/* Drop everything the direct plan built (auto switching to the iterative solver). */
static void free_direct(qs_steady *st)
{
    if (st->symbolic) umfpack_dl_free_symbolic(&st->symbolic);
    if (st->klu_symbolic) klu_l_free_symbolic(&st->klu_symbolic, &st->klu);
    qs_liouvillian_free(&st->L);
    free(st->x);
    free(st->xs);
    free(st->row_abs);
    free(st->z);
    free(st->y);
    st->x = st->xs = st->row_abs = NULL;
    st->z = st->y = NULL;
}

/* The LU plan: pattern (reduced by symmetry), symbolic analysis, memory check. */
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
    /* the group (at most QS_SYMMETRY_MAX_ORDER permutations, so its search is bounded) */
    if (st->opt.symmetry && st->opt.perms) {          /* the caller's group, as far as it holds here */
        st->perms = malloc((size_t)st->opt.n_perms * (size_t)n * sizeof *st->perms);
        if (!st->perms) return qs_error_set(err, QS_ENOMEM, "out of memory");
        for (int g = 0; g < st->opt.n_perms; g++)
            if (qs_model_has_symmetry(model, st->opt.perms + (size_t)g * (size_t)n))
                memcpy(st->perms + (size_t)st->n_perms++ * (size_t)n, st->opt.perms + (size_t)g * (size_t)n, (size_t)n * sizeof *st->perms);
    } else if (st->opt.symmetry && qs_model_symmetries(model, &st->perms, &st->n_perms, &st->sym_fixed) != QS_OK) {
        return qs_error_set(err, QS_ENOMEM, "out of memory");
    }
    st->opt.perms = NULL;                             /* not kept: the caller's memory */
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
    st->stats.lu = st->opt.lu != QS_LU_AUTO ? st->opt.lu : system <= QS_KLU_MAX_DIMENSION ? QS_LU_KLU : QS_LU_UMFPACK;
    if (st->stats.lu == QS_LU_KLU) {
        klu_l_defaults(&st->klu);
        /* no block triangular form: the sector's L is one strongly connected block apart from
         * the trace row, so BTF's matching and components would only cost time */
        st->klu.btf = 0;
        st->klu_symbolic = klu_l_analyze(nn, (SuiteSparse_long *)st->L->Ap, (SuiteSparse_long *)st->L->Ai, &st->klu);
        st->stats.time_symbolic = qs_now() - t0;
        if (!st->klu_symbolic) {
            status = st->klu.status == KLU_OUT_OF_MEMORY ? QS_ENOMEM : QS_ENUMERIC;
            return qs_error_set(err, status, "symbolic analysis failed (KLU status %d)", status);
        }
        /* KLU gives no fill estimate: plan for a dense factor, which the size limit keeps small */
        st->stats.memory_planned = st->memory_base + 8.0 * (double)system * (double)system;
        st->stats.lu_flops = (double)system * (double)system * (double)system;
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
    }
    return check_memory(st, st->stats.memory_planned, "the LU factorisation", err);
}

/* The GMRES plan: the complex sector operator, the preconditioner's tables, the Krylov basis. */
static int plan_iterative(qs_steady *st, const qs_model *model, double Dd, double sector_d, qs_error *err)
{
    int status;
    double t0 = qs_now();
    /* at least the diagonal in every row of the operator; the exact count is checked when the
     * operator has counted its entries (qs_krylov_create) */
    double least = qs_krylov_memory_estimate(model, sector_d, Dd, st->opt.restart, 1.0);
    const char *which;
    double limit = memory_limit(st, &which);
    st->stats.memory_planned = least;
    if (limit > 0 && !(least <= limit)) {
        char left[48];
        return qs_error_set(err, QS_ETOOBIG, "the iterative solver needs at least %.4g MiB, but %s %s",
                            mib(least), qs_memory_left_phrase(left, limit), which);
    }
    if (sector_d >= 2147483647.0)
        return qs_error_set(err, QS_ETOOBIG, "the sector (%.0f unknowns) is too large for the iterative solver", sector_d);
    if (!st->basis && (status = qs_basis_create(model->n, st->levels, &st->basis, err)) != QS_OK) return status;
    /* the operator's exact entry count refines the plan */
    if ((status = qs_krylov_create(st->basis, model, st->opt.restart, limit, which, &st->krylov, err)) != QS_OK ||
        (status = qs_krylov_set_preconditioner(st->krylov, st->opt.preconditioner, err)) != QS_OK) return status;
    st->stats.memory_planned = qs_krylov_planned(st->krylov);
    st->stats.system_dimension = st->basis->sector_dim;
    st->stats.symmetry_order = 1;
    st->stats.lu = 0;
    st->stats.time_symbolic = qs_now() - t0;
    return QS_OK;
}

int qs_steady_create(const qs_model *model, const qs_steady_options *options,
                     qs_steady **out, qs_error *err)
{
    *out = NULL;
    qs_steady *st = calloc(1, sizeof *st);
    if (!st) return qs_error_set(err, QS_ENOMEM, "out of memory");
    if (options) st->opt = *options; else qs_steady_defaults(&st->opt);
    int n = model->n, status;
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
    if (solver == QS_SOLVER_AUTO && sector_d <= QS_DIRECT_MIN_AUTO) {
        solver = QS_SOLVER_DIRECT;
        snprintf(why, why_len, "auto: small sector");
    } else if (solver == QS_SOLVER_AUTO && sector_d > QS_DIRECT_MAX_AUTO) {
        solver = QS_SOLVER_ITERATIVE;
        snprintf(why, why_len, "auto: a sector of %.0f unknowns, above %d: the LU's fill is out of reach", sector_d, QS_DIRECT_MAX_AUTO);
    } else if (solver != QS_SOLVER_AUTO) {
        snprintf(why, why_len, "%s", st->opt.full ? "full Liouvillian" : "requested");
    }
    status = QS_OK;
    if (solver != QS_SOLVER_ITERATIVE) {
        status = plan_direct(st, model, Dd, sector_d, err);
        if (solver == QS_SOLVER_AUTO) {
            const char *which;
            double limit = memory_limit(st, &which);
            if (status == QS_ETOOBIG || (status == QS_OK && limit > 0 && st->stats.memory_planned > 0.5 * limit)) {
                char b[32];
                snprintf(why, why_len, "auto: the LU would need %s GiB, more than half of the %.3g GiB %s",
                         big(b, st->stats.memory_planned / 1073741824.0), limit / 1073741824.0, which);
                solver = QS_SOLVER_ITERATIVE;
            } else if (status == QS_OK && st->stats.lu_flops > QS_DIRECT_MAX_FLOPS) {
                snprintf(why, why_len, "auto: the LU would take about %.3g flops (more than %.3g)", st->stats.lu_flops, QS_DIRECT_MAX_FLOPS);
                solver = QS_SOLVER_ITERATIVE;
            } else if (status == QS_OK) {
                snprintf(why, why_len, "auto: the LU needs about %.3g GiB and %.3g flops",
                         st->stats.memory_planned / 1073741824.0, st->stats.lu_flops);
                solver = QS_SOLVER_DIRECT;
            }
            if (solver == QS_SOLVER_ITERATIVE) {
                free_direct(st);
                free(st->perms);
                st->perms = NULL;
                st->n_perms = 0;
                if (err) err->message[0] = '\0';
                status = QS_OK;
            }
        }
    }
    if (status == QS_OK && solver == QS_SOLVER_ITERATIVE) status = plan_iterative(st, model, Dd, sector_d, err);
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
    st->stats.solver = solver;
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
    memset(st->row_abs, 0, L->n * sizeof *st->row_abs);     /* right-hand side w e_r */
    st->row_abs[L->trace_row] = L->trace_weight;
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
    memset(st->x, 0, L->n * sizeof *st->x);
    st->x[L->trace_row] = L->trace_weight;
    if (!klu_l_solve(st->klu_symbolic, st->klu_numeric, (SuiteSparse_long)L->n, 1, st->x, &st->klu))
        return qs_error_set(err, QS_ENUMERIC, "triangular solve failed (KLU status %d)", (int)st->klu.status);
    st->stats.time_solve = qs_now() - t0;
    return QS_OK;
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

    status = st->stats.lu == QS_LU_KLU ? factor_solve_klu(st, err) : factor_solve_umfpack(st, err);
    if (status != QS_OK) return status;
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

/* GMRES path: from the previous state (warm start) or the uncoupled one. */
static int solve_iterative(qs_steady *st, const qs_model *model, qs_error *err)
{
    double t0 = qs_now();
    const double complex *guess = st->opt.warm_start && st->have_guess ? st->state.rho : NULL;
    st->have_guess = 0;
    int status = qs_krylov_solve(st->krylov, model, guess, st->opt.iterative_tol, st->opt.max_iterations, st->state.rho, err);
    st->stats.iterations = qs_krylov_iterations(st->krylov);
    st->stats.residual = qs_krylov_residual(st->krylov);
    st->stats.time_solve = qs_now() - t0;
    st->stats.off_sector = 0.0;
    st->stats.rcond = NAN;
    return status;
}

int qs_steady_solve(qs_steady *st, const qs_model *model, qs_error *err)
{
    st->have_state = 0;
    if (!qs_steady_compatible(st, model))
        return qs_error_set(err, QS_EINPUT, "the model's structure (oscillators, levels, couplings, symmetries) differs from the plan's");
    const qs_basis *b = st->basis;
    int status = st->krylov ? solve_iterative(st, model, err) : solve_direct(st, model, err);
    if (status != QS_OK) return status;
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
    if (!(st->stats.residual <= st->opt.residual_tol) || !isfinite(creal(tr)))
        return qs_error_set(err, QS_ENUMERIC, "the solution fails its check: relative residual %.3g (tolerance %.3g), rcond %.3g",
                            st->stats.residual, st->opt.residual_tol, st->stats.rcond);
    st->have_state = 1;
    st->have_guess = 1;
    /* every oscillator whose top level holds too much, in one warning */
    char list[sizeof err->message - 48] = "";
    int len = 0;
    for (int j = 0; j < b->n; j++) {
        double top = qs_state_population(&st->state, j, b->levels[j] - 1);
        if (top > st->opt.top_tol && len < (int)sizeof list)
            len += snprintf(list + len, sizeof list - (size_t)len, "oscillator %s: population %.3g of the top level %d exceeds %.3g; ",
                            model->names[j], top, b->levels[j] - 1, st->opt.top_tol);
    }
    if (len) return qs_error_set(err, QS_WARN_TRUNCATION, "%sraise levels (or use levels = auto)", list);
    return QS_OK;
}

void qs_steady_reset(qs_steady *st)
{
    st->have_guess = 0;
    if (st->klu_numeric) klu_l_free_numeric(&st->klu_numeric, &st->klu);
}

const qs_state *qs_steady_state(const qs_steady *st) { return st->have_state ? &st->state : NULL; }

void qs_steady_get_stats(const qs_steady *st, qs_steady_stats *stats) { *stats = st->stats; }
