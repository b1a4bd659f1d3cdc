/* cmd_steady.c — `qsync steady MODEL`: steady state, checks, and S for every pair.
 *
 * Truncation: besides the top-level populations (information only), the truncation error
 * of S itself is estimated (convergence.h): by default when the extra solve with one more
 * level per oscillator has at most QS_CONVERGENCE_AUTO_MAX unknowns, always with
 * --truncation-check, never with --no-truncation-check. The warning is about S: it is printed
 * when the estimate exceeds --s-tol; the top-level warning only when no estimate exists.
 * levels = auto is resolved by the tolerance on S (qs_model_auto_levels_s). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char usage[] =
    "usage: qsync steady MODEL [options]\n"
    "  --levels N|auto          Fock levels for every oscillator\n"
    "  --set PATH=VALUE         override a parameter: NAME.key, key (all), A-B (coupling)\n"
    "  --json                   one JSON object on stdout\n"
    "  --full                   solve the whole Liouvillian instead of the k = 0 sector\n"
    "  --solver auto|direct|iterative\n"
    "                           sparse LU or preconditioned GMRES (default auto: GMRES when\n"
    "                           the LU would need over half the memory or about 2e11 flops)\n"
    "  --iterative-tol X        GMRES stops at this relative residual (default 1e-12)\n"
    "  --restart M              GMRES restart length (default 40)\n"
    "  --lu auto|klu|umfpack    sparse LU (default auto: KLU for small systems, UMFPACK beyond)\n"
    "  --no-symmetry            do not reduce by permutations of identical oscillators\n"
    "  --phase-distribution F   write P(phi) of every pair to the CSV file F\n"
    "  --tail-tol X             levels = auto: the starting guess leaves an uncoupled tail\n"
    "                           below X (default 3e-2); then levels rise until --s-tol holds\n"
    "  --s-tol X                tolerance on the estimated truncation error of S (absolute,\n"
    "                           default 5e-3): warn above it; levels = auto meets it\n"
    "  --truncation-check       estimate the truncation error of S even when the extra solve\n"
    "                           (one more level per oscillator) is large; by default it is\n"
    "                           estimated when that solve has at most 60000 unknowns\n"
    "  --no-truncation-check    do not estimate it (then the top-level population warns)\n"
    "  --per-oscillator         the estimate by one extra solve per oscillator (N solves)\n"
    "  --top-tol X              top-level population that warns when S's error is not\n"
    "                           estimated (default 1e-3)\n"
    "  --residual-tol X         fail above this relative residual (default 1e-8)\n"
    "  --memory-limit SIZE      refuse plans above SIZE (e.g. 500M; default: available memory)\n";

/* What is known about the truncation: the estimate (or why there is none), and the choice
 * of levels = auto. */
typedef struct {
    const qs_convergence *conv;  /* NULL: not estimated */
    char skipped[600];           /* why not, when conv is NULL */
    double s_tol;
    int auto_rounds;             /* levels = auto by S: rounds made (0: no auto oscillator) */
    double guess_tail;
} trunc_info;

typedef struct {
    int a, b, lmax;
    double S, phi_max, min_eig;
    double complex *c;
} pair_result;

static int write_phase_csv(const char *path, const qs_model *m, int n_pairs, const pair_result *pr)
{
    char tmp[4096];
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    fputs("phi", fp);
    for (int p = 0; p < n_pairs; p++) fprintf(fp, ",P_%s-%s", qs_model_name(m, pr[p].a), qs_model_name(m, pr[p].b));
    fputc('\n', fp);
    const int M = 720;
    for (int i = 0; i <= M; i++) {
        double phi = 2 * M_PI * i / M;
        fprintf(fp, "%.10f", phi);
        for (int p = 0; p < n_pairs; p++) fprintf(fp, ",%.12e", qs_phase_density(pr[p].lmax, pr[p].c, phi));
        fputc('\n', fp);
    }
    return out_commit(fp, tmp, path);
}

static void print_json(const qs_model *m, const qs_steady_stats *s, int full, int n_pairs, const pair_result *pr,
                       const double *top, const int *was_auto, const trunc_info *ti, const char *warning)
{
    json j;
    json_begin(&j, stdout);
    json_object(&j, NULL);
    json_str(&j, "model", qs_model_source(m));
    json_array(&j, "pairs");
    for (int p = 0; p < n_pairs; p++) {
        json_object(&j, NULL);
        json_str(&j, "a", qs_model_name(m, pr[p].a));
        json_str(&j, "b", qs_model_name(m, pr[p].b));
        json_num(&j, "S", pr[p].S);
        json_num(&j, "phi_max", pr[p].phi_max);
        json_num(&j, "c1_re", creal(pr[p].c[1]));
        json_num(&j, "c1_im", cimag(pr[p].c[1]));
        json_num(&j, "min_eigenvalue", pr[p].min_eig);
        if (ti->conv) {
            json_num(&j, "truncation_error", ti->conv->error[p]);
            json_num(&j, "truncation_change", ti->conv->change[p]);
            json_num(&j, "phi_max_change", ti->conv->phi_change[p]);
        } else {
            json_num(&j, "truncation_error", NAN);
        }
        json_end(&j);
    }
    json_end(&j);
    json_num(&j, "truncation_error_max", ti->conv ? ti->conv->max_error : NAN);
    json_num(&j, "s_tol", ti->s_tol);
    json_object(&j, "truncation_check");
    if (ti->conv) {
        const qs_convergence *c = ti->conv;
        json_str(&j, "method", c->per_oscillator ? "one extra solve per oscillator with one more level; error = sum_j |dS_j| F_j"
                                                 : "one extra solve with one more level for every oscillator; error = |dS| max_j F_j");
        json_str(&j, "factor_meaning", "F_j = T_j(L)/(T_j(L) - T_j(L+1)), T_j the uncoupled tail above L levels: S(L) - S(inf) is taken proportional to T(L)");
        if (c->inside >= 0)
            json_str(&j, "not_extrapolated", "an oscillator's top level lies inside its populated range (levels < n- + 2): error unknown");
        json_int(&j, "extra_solves", c->solves);
        json_num(&j, "extra_sector_dimension", c->sector_dimension);
        json_num(&j, "seconds", c->seconds);
        json_array(&j, "factor");
        for (int k = 0; k < qs_model_size(m); k++) json_num(&j, NULL, c->factor[k]);
        json_end(&j);
        if (c->per_oscillator) {
            json_array(&j, "oscillator_change");   /* [oscillator][pair] */
            for (int k = 0; k < qs_model_size(m); k++) {
                json_array(&j, NULL);
                for (int q = 0; q < n_pairs; q++) json_num(&j, NULL, c->osc_change[(size_t)k * (size_t)n_pairs + (size_t)q]);
                json_end(&j);
            }
            json_end(&j);
        }
    } else {
        json_str(&j, "method", "none");
        json_str(&j, "reason", ti->skipped);
    }
    json_end(&j);
    if (ti->auto_rounds > 0) {
        json_object(&j, "levels_auto");
        json_str(&j, "rule", "start where the uncoupled tail is below guess_tail, raise until the estimated truncation error of S <= s_tol");
        json_num(&j, "guess_tail", ti->guess_tail);
        json_int(&j, "rounds", ti->auto_rounds);
        json_end(&j);
    }
    json_int(&j, "sector_dimension", (long long)s->sector_dimension);
    json_int(&j, "liouvillian_dimension", (long long)s->liouvillian_dimension);
    json_str(&j, "solved", full ? "full" : "sector");
    json_str(&j, "solver", s->solver == QS_SOLVER_ITERATIVE ? "iterative" : "direct");
    json_str(&j, "solver_reason", s->solver_reason);
    if (s->solver == QS_SOLVER_ITERATIVE) json_int(&j, "iterations", s->iterations);
    else json_str(&j, "lu", s->lu == QS_LU_KLU ? "klu" : "umfpack");
    json_num(&j, "lu_flops_estimate", s->lu_flops);
    json_int(&j, "system_dimension", (long long)s->system_dimension);
    json_int(&j, "symmetry_order", s->symmetry_order);
    json_int(&j, "nnz", (long long)s->nnz);
    json_num(&j, "lu_nnz", s->lu_nnz);
    json_num(&j, "residual", s->residual);
    json_num(&j, "trace_error", s->trace_error);
    json_num(&j, "hermiticity_error", s->hermiticity_error);
    if (full) json_num(&j, "off_sector", s->off_sector);
    json_num(&j, "rcond", s->rcond);
    json_num(&j, "memory_planned_bytes", s->memory_planned);
    json_array(&j, "oscillators");
    for (int k = 0; k < qs_model_size(m); k++) {
        const qs_osc *o = qs_model_osc(m, k);
        json_object(&j, NULL);
        json_str(&j, "name", qs_model_name(m, k));
        json_int(&j, "levels", o->levels);
        json_bool(&j, "levels_auto", was_auto[k]);
        json_num(&j, "top_population", top[k]);
        json_num(&j, "omega", o->omega);
        json_num(&j, "K", o->K);
        json_num(&j, "gamma_plus", o->gamma_plus);
        json_num(&j, "gamma_minus", o->gamma_minus);
        json_num(&j, "sigma_plus", o->sigma_plus);
        json_num(&j, "sigma_minus", o->sigma_minus);
        json_num(&j, "n_plus", o->n_plus);
        json_num(&j, "n_minus", o->n_minus);
        json_end(&j);
    }
    json_end(&j);
    json_array(&j, "couplings");
    for (int i = 0; i < qs_model_coupling_count(m); i++) {
        int a, b;
        double complex c;
        qs_model_coupling(m, i, &a, &b, &c);
        json_object(&j, NULL);
        json_str(&j, "a", qs_model_name(m, a));
        json_str(&j, "b", qs_model_name(m, b));
        json_num(&j, "re", creal(c));
        json_num(&j, "im", cimag(c));
        json_end(&j);
    }
    json_end(&j);
    json_object(&j, "seconds");
    json_num(&j, "assemble", s->time_assemble);
    json_num(&j, "symbolic", s->time_symbolic);
    json_num(&j, "numeric", s->time_numeric);
    json_num(&j, "solve", s->time_solve);
    json_end(&j);
    json_array(&j, "warnings");
    if (warning) json_str(&j, NULL, warning);
    json_end(&j);
    json_end(&j);
}

/* Why a truncation estimate is unknown (max_error NaN), into why[400]. */
static const char *unknown_reason(char why[400], const qs_model *m, const qs_convergence *c)
{
    if (c->inside >= 0)
        snprintf(why, 400, "oscillator %s has %d levels, not beyond its populated range (n- = %g)", qs_model_name(m, c->inside),
                 qs_model_osc(m, c->inside)->levels, qs_model_osc(m, c->inside)->n_minus);
    else
        snprintf(why, 400, "an oscillator's uncoupled populations do not fall off with n (e.g. gamma_plus sigma_plus^2 >= "
                 "gamma_minus sigma_minus^2), so there is no tail to extrapolate by");
    return why;
}

static void print_text(const qs_model *m, const qs_steady_stats *s, int full, int n_pairs, const pair_result *pr,
                       const double *top, const trunc_info *ti)
{
    int n = qs_model_size(m);
    printf("%s: %d oscillators, levels", qs_model_source(m), n);
    for (int k = 0; k < n; k++) printf(" %s=%d", qs_model_name(m, k), qs_model_osc(m, k)->levels);
    printf("\nsolved the %s: %zu unknowns (sector %zu of %zu", full ? "full Liouvillian" : "zero excitation-difference sector",
           s->system_dimension, s->sector_dimension, s->liouvillian_dimension);
    if (s->symmetry_order > 1) printf("; symmetry group of order %d", s->symmetry_order);
    if (s->solver == QS_SOLVER_ITERATIVE)
        printf(")\nsolver: GMRES preconditioned by the uncoupled Liouvillian, %d iterations (%s)\n\n", s->iterations, s->solver_reason);
    else
        printf("), %zu non-zeros, %s LU %.0f non-zeros (%s)\n\n", s->nnz, s->lu == QS_LU_KLU ? "KLU" : "UMFPACK", s->lu_nnz,
               s->solver_reason);
    printf("%-16s %-22s %-10s %-15s %s\n", "pair", "S", "phi_max", "min eigenvalue", "truncation error of S");
    for (int p = 0; p < n_pairs; p++) {
        char name[2 * QS_NAME_MAX + 2];
        snprintf(name, sizeof name, "%s-%s", qs_model_name(m, pr[p].a), qs_model_name(m, pr[p].b));
        printf("%-16s %-22.15e %-10.6f %-15.3e ", name, pr[p].S, qs_phase_wrap(pr[p].phi_max, 6), pr[p].min_eig);
        if (ti->conv && !isnan(ti->conv->error[p])) printf("%.2e\n", ti->conv->error[p]);
        else if (ti->conv) printf("unknown\n");
        else printf("-\n");
    }
    printf("\nchecks: relative residual %.2e, |Tr rho - 1| %.2e, hermiticity %.2e, rcond %.2e",
           s->residual, s->trace_error, s->hermiticity_error, s->rcond);
    if (full) printf(", off-sector %.2e", s->off_sector);
    if (ti->conv) {
        const qs_convergence *c = ti->conv;
        double most = 0;
        for (int q = 0; q < n_pairs; q++) if (fabs(c->change[q]) > most) most = fabs(c->change[q]);
        char name[2 * QS_NAME_MAX + 2] = "";
        if (n_pairs) snprintf(name, sizeof name, "%s-%s", qs_model_name(m, pr[c->max_pair].a), qs_model_name(m, pr[c->max_pair].b));
        char why[400];
        if (isnan(c->max_error))
            printf("\ntruncation: error of S unknown (%s); S changes by at most %.2e with one more level", unknown_reason(why, m, c), most);
        else
        printf("\ntruncation: estimated error of S %.2e (pair %s; tolerance %.3g, %s): S changes by at most %.2e with one more level %s"
               " (%d extra solve%s, %.0f unknowns, %.2g s), extrapolated by the uncoupled tails (x%.3g)",
               c->max_error, name, ti->s_tol, c->max_error <= ti->s_tol ? "met" : "NOT met", most,
               c->per_oscillator ? "per oscillator, one at a time" : "for every oscillator",
               c->solves, c->solves == 1 ? "" : "s", c->sector_dimension, c->seconds,
               n_pairs && fabs(c->change[c->max_pair]) > 0 ? c->max_error / fabs(c->change[c->max_pair]) : 0.0);
    } else {
        printf("\ntruncation: error of S not estimated (%s)", ti->skipped);
    }
    printf("\ntop-level population:");
    for (int k = 0; k < n; k++) printf(" %s %.2e", qs_model_name(m, k), top[k]);
    printf("\ntime: assemble %.3g ms, symbolic %.3g ms, numeric %.3g ms, solve %.3g ms\n",
           1e3 * s->time_assemble, 1e3 * s->time_symbolic, 1e3 * s->time_numeric, 1e3 * s->time_solve);
}

int cmd_steady(int argc, char **argv)
{
    model_args ma = {0};
    ma.tail_tol = QS_AUTO_GUESS_TAIL;
    qs_steady_options opt;
    qs_steady_defaults(&opt);
    int as_json = 0, rc, check = 0, per_osc = 0;   /* check: 0 default (by cost), 1 forced, −1 off */
    double s_tol = QS_S_TOL_DEFAULT;
    const char *phase_path = NULL, *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = model_args_take(&ma, argc, argv, &i)) != 0) { if (r < 0) goto bad_flag; continue; }
        if (cli_take(argc, argv, &i, "--json", 0, &v) > 0) { as_json = 1; continue; }
        if (cli_take(argc, argv, &i, "--full", 0, &v) > 0) { opt.full = 1; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(usage, stdout); model_args_free(&ma); return EXIT_OK; }
        if ((r = cli_take(argc, argv, &i, "--phase-distribution", 1, &v)) != 0) { if (r < 0) goto bad_flag; phase_path = v; continue; }
        if ((r = truncation_args_take(argc, argv, &i, &check, &s_tol)) != 0) { if (r < 0) goto bad_flag; continue; }
        if (cli_take(argc, argv, &i, "--per-oscillator", 0, &v) > 0) { per_osc = 1; continue; }
        if ((r = steady_options_take(&opt, argc, argv, &i)) != 0) { if (r < 0) goto bad_flag; continue; }
        if (argv[i][0] == '-' && argv[i][1] != '\0') { fprintf(stderr, "qsync steady: unknown option %s\n%s", argv[i], usage); goto bad_flag; }
        if (ma.model_path) { fprintf(stderr, "qsync steady: more than one model file (%s, %s)\n", ma.model_path, argv[i]); goto bad_flag; }
        ma.model_path = argv[i];
    }
    if (!ma.model_path) { fprintf(stderr, "qsync steady: no model file\n%s", usage); goto bad_flag; }
    if (per_osc && check < 0) { fprintf(stderr, "qsync: --per-oscillator contradicts --no-truncation-check\n"); goto bad_flag; }

    qs_model *m = NULL;
    rc = model_args_load(&ma, 0, &m, NULL, NULL);
    if (rc != EXIT_OK) { model_args_free(&ma); return rc; }
    model_args_free(&ma);

    qs_error err;
    int n = qs_model_size(m);
    int *was_auto = calloc((size_t)n, sizeof *was_auto);
    if (!was_auto) { qs_model_free(&m); return cli_fail(QS_ENOMEM, "out of memory"); }
    trunc_info ti = {.s_tol = s_tol, .guess_tail = ma.tail_tol};
    qs_convergence *conv = NULL;
    int any_auto = 0;
    for (int k = 0; k < n; k++) any_auto |= was_auto[k] = qs_model_osc(m, k)->levels == QS_LEVELS_AUTO;
    if (any_auto) {
        qs_auto_options ao;
        qs_auto_defaults(&ao);
        ao.s_tol = s_tol;
        ao.guess_tail = ma.tail_tol;
        ao.steady = opt;
        int status = qs_model_auto_levels_s(m, &ao, &conv, &ti.auto_rounds, &err);
        if (status != QS_OK) {
            rc = cli_fail(status, "%s: %s", qs_model_source(m), err.message);
            free(was_auto);
            qs_model_free(&m);
            return rc;
        }
        if (!as_json)
            for (int k = 0; k < n; k++)
                if (was_auto[k])
                    fprintf(stderr, "levels = auto: oscillator %s gets %d levels (start: uncoupled tail below %g; %d round%s "
                            "of S at L and L+1; estimated truncation error of S %.2e <= --s-tol %g)\n",
                            qs_model_name(m, k), qs_model_osc(m, k)->levels, ma.tail_tol, ti.auto_rounds,
                            ti.auto_rounds == 1 ? "" : "s", conv->max_error, s_tol);
        if (per_osc || check < 0) qs_convergence_free(&conv);   /* recomputed as asked, or not shown */
    }

    qs_steady *st = NULL;
    int status = qs_steady_create(m, &opt, &st, &err);
    if (status == QS_OK) status = qs_steady_solve(st, m, &err);
    if (status < 0) {
        rc = cli_fail(status, "%s: %s", qs_model_source(m), err.message);
        qs_convergence_free(&conv);
        qs_steady_free(&st);
        qs_model_free(&m);
        free(was_auto);
        return rc;
    }
    char top_warning[600] = "";
    if (status == QS_WARN_TRUNCATION) snprintf(top_warning, sizeof top_warning, "%s", err.message);
    const qs_state *state = qs_steady_state(st);
    qs_steady_stats stats;
    qs_steady_get_stats(st, &stats);

    /* the truncation error of S */
    if (!conv && check >= 0) {
        qs_convergence_options co;
        qs_convergence_defaults(&co);
        co.per_oscillator = per_osc;
        co.steady = opt;
        co.steady.full = 0;
        double cost = qs_convergence_cost(m, &co);
        if (check == 0 && cost > QS_CONVERGENCE_AUTO_MAX)
            snprintf(ti.skipped, sizeof ti.skipped, "one more level needs a sector of %.0f unknowns, above %d; "
                     "--truncation-check computes it", cost, QS_CONVERGENCE_AUTO_MAX);
        else if ((status = qs_convergence_estimate(m, state, &co, &conv, &err)) != QS_OK) {
            if (check == 1) {
                rc = cli_fail(status, "%s: %s", qs_model_source(m), err.message);
                qs_steady_free(&st);
                qs_model_free(&m);
                free(was_auto);
                return rc;
            }
            snprintf(ti.skipped, sizeof ti.skipped, "%s", err.message);
        }
    } else if (!conv)
        snprintf(ti.skipped, sizeof ti.skipped, "--no-truncation-check");
    ti.conv = conv;

    int n_pairs = n * (n - 1) / 2, p = 0;
    char warning[1300] = "";
    if (conv && n_pairs && !(conv->max_error <= s_tol)) {
        const qs_convergence *c = conv;
        int q = c->max_pair, a = 0, b = 1, k = 0;
        for (int x = 0; x < n; x++)
            for (int y = x + 1; y < n; y++, k++)
                if (k == q) { a = x; b = y; }
        if (isnan(c->max_error)) {
            double most = 0;
            for (int r = 0; r < n_pairs; r++) if (fabs(c->change[r]) > most) most = fabs(c->change[r]);
            char why[400];
            snprintf(warning, sizeof warning,
                     "the truncation error of S cannot be estimated: %s, so S(L) need not approach its limit smoothly; "
                     "S changes by up to %.2g with one more level: raise levels", unknown_reason(why, m, c), most);
        } else
            snprintf(warning, sizeof warning,
                     "the estimated truncation error of S is %.2g (pair %s-%s: S changes by %.2g with one more level%s), above --s-tol %g: "
                     "raise levels (or use levels = auto)", c->max_error, qs_model_name(m, a), qs_model_name(m, b), c->change[q],
                     c->per_oscillator ? ", oscillators one at a time" : " per oscillator", s_tol);
    } else if (!conv && top_warning[0])
        snprintf(warning, sizeof warning, "%s; the truncation error of S was not estimated: %s", top_warning, ti.skipped);
    if (warning[0]) fprintf(stderr, "qsync: warning: %s\n", warning);

    pair_result *pr = calloc((size_t)(n_pairs ? n_pairs : 1), sizeof *pr);
    double *top = calloc((size_t)n, sizeof *top);
    rc = (pr && top) ? EXIT_OK : cli_fail(QS_ENOMEM, "out of memory");
    for (int k = 0; k < n && top; k++) top[k] = qs_state_population(state, k, qs_model_osc(m, k)->levels - 1);
    for (int a = 0; a < n && rc == EXIT_OK; a++)
        for (int b = a + 1; b < n && rc == EXIT_OK; b++, p++) {
            pair_result *r = &pr[p];
            r->a = a;
            r->b = b;
            r->lmax = (qs_model_osc(m, a)->levels < qs_model_osc(m, b)->levels ? qs_model_osc(m, a)->levels
                                                                                 : qs_model_osc(m, b)->levels) - 1;
            r->c = calloc((size_t)r->lmax + 1, sizeof *r->c);
            if (!r->c) { rc = cli_fail(QS_ENOMEM, "out of memory"); break; }
            qs_state_phase_coefficients(state, a, b, r->lmax, r->c);
            qs_phase_max(r->lmax, r->c, &r->S, &r->phi_max);
            if ((status = qs_state_pair_min_eigenvalue(state, a, b, &r->min_eig, &err)) != QS_OK)
                rc = cli_fail(status, "%s", err.message);
        }
    if (rc == EXIT_OK && phase_path) rc = write_phase_csv(phase_path, m, n_pairs, pr);
    if (rc == EXIT_OK) {
        if (as_json) print_json(m, &stats, opt.full, n_pairs, pr, top, was_auto, &ti, warning[0] ? warning : NULL);
        else print_text(m, &stats, opt.full, n_pairs, pr, top, &ti);
    }
    for (int k = 0; pr && k < n_pairs; k++) free(pr[k].c);
    free(pr);
    free(top);
    free(was_auto);
    qs_convergence_free(&conv);
    qs_steady_free(&st);
    qs_model_free(&m);
    return rc;

bad_flag:
    model_args_free(&ma);
    return EXIT_INPUT;
}
