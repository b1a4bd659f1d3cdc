/* cmd_steady.c — `qsync steady MODEL`: steady state, checks, and S for every pair. */
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
    "  --tail-tol X             tail tolerance of levels = auto (default 1e-3)\n"
    "  --top-tol X              warn above this top-level population (default 1e-3)\n"
    "  --residual-tol X         fail above this relative residual (default 1e-8)\n"
    "  --memory-limit SIZE      refuse plans above SIZE (e.g. 500M; default: available memory)\n";

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
                       const double *top, const int *was_auto, const char *warning)
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
        json_end(&j);
    }
    json_end(&j);
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

static void print_text(const qs_model *m, const qs_steady_stats *s, int full, int n_pairs, const pair_result *pr,
                       const double *top)
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
    printf("%-16s %-22s %-10s %s\n", "pair", "S", "phi_max", "min eigenvalue");
    for (int p = 0; p < n_pairs; p++) {
        char name[2 * QS_NAME_MAX + 2];
        snprintf(name, sizeof name, "%s-%s", qs_model_name(m, pr[p].a), qs_model_name(m, pr[p].b));
        printf("%-16s %-22.15e %-10.6f %.3e\n", name, pr[p].S, pr[p].phi_max, pr[p].min_eig);
    }
    printf("\nchecks: relative residual %.2e, |Tr rho - 1| %.2e, hermiticity %.2e, rcond %.2e",
           s->residual, s->trace_error, s->hermiticity_error, s->rcond);
    if (full) printf(", off-sector %.2e", s->off_sector);
    printf("\ntop-level population:");
    for (int k = 0; k < n; k++) printf(" %s %.2e", qs_model_name(m, k), top[k]);
    printf("\ntime: assemble %.3g ms, symbolic %.3g ms, numeric %.3g ms, solve %.3g ms\n",
           1e3 * s->time_assemble, 1e3 * s->time_symbolic, 1e3 * s->time_numeric, 1e3 * s->time_solve);
}

int cmd_steady(int argc, char **argv)
{
    model_args ma = {0};
    ma.tail_tol = QS_TAIL_TOL_DEFAULT;
    qs_steady_options opt;
    qs_steady_defaults(&opt);
    int as_json = 0, rc;
    const char *phase_path = NULL, *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = model_args_take(&ma, argc, argv, &i)) != 0) { if (r < 0) goto bad_flag; continue; }
        if (cli_take(argc, argv, &i, "--json", 0, &v) > 0) { as_json = 1; continue; }
        if (cli_take(argc, argv, &i, "--full", 0, &v) > 0) { opt.full = 1; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(usage, stdout); model_args_free(&ma); return EXIT_OK; }
        if ((r = cli_take(argc, argv, &i, "--phase-distribution", 1, &v)) != 0) { if (r < 0) goto bad_flag; phase_path = v; continue; }
        if ((r = steady_options_take(&opt, argc, argv, &i)) != 0) { if (r < 0) goto bad_flag; continue; }
        if (argv[i][0] == '-' && argv[i][1] != '\0') { fprintf(stderr, "qsync steady: unknown option %s\n%s", argv[i], usage); goto bad_flag; }
        if (ma.model_path) { fprintf(stderr, "qsync steady: more than one model file (%s, %s)\n", ma.model_path, argv[i]); goto bad_flag; }
        ma.model_path = argv[i];
    }
    if (!ma.model_path) { fprintf(stderr, "qsync steady: no model file\n%s", usage); goto bad_flag; }

    qs_model *m = NULL;
    int *was_auto = NULL;
    rc = model_args_load(&ma, 1, &m, as_json ? NULL : stderr, &was_auto);
    if (rc != EXIT_OK) { model_args_free(&ma); return rc; }
    model_args_free(&ma);

    qs_error err;
    qs_steady *st = NULL;
    int status = qs_steady_create(m, &opt, &st, &err);
    if (status == QS_OK) status = qs_steady_solve(st, m, &err);
    if (status < 0) {
        rc = cli_fail(status, "%s: %s", qs_model_source(m), err.message);
        qs_steady_free(&st);
        qs_model_free(&m);
        free(was_auto);
        return rc;
    }
    char warning[600] = "";
    if (status == QS_WARN_TRUNCATION) {
        snprintf(warning, sizeof warning, "%s", err.message);
        fprintf(stderr, "qsync: warning: %s\n", warning);
    }
    const qs_state *state = qs_steady_state(st);
    qs_steady_stats stats;
    qs_steady_get_stats(st, &stats);

    int n = qs_model_size(m), n_pairs = n * (n - 1) / 2, p = 0;
    pair_result *pr = calloc((size_t)(n_pairs ? n_pairs : 1), sizeof *pr);
    double *top = calloc((size_t)n, sizeof *top);
    rc = EXIT_OK;
    for (int k = 0; k < n; k++) top[k] = qs_state_population(state, k, qs_model_osc(m, k)->levels - 1);
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
        if (as_json) print_json(m, &stats, opt.full, n_pairs, pr, top, was_auto, warning[0] ? warning : NULL);
        else print_text(m, &stats, opt.full, n_pairs, pr, top);
        if (fflush(stdout) != 0) rc = cli_fail(QS_EIO, "cannot write to standard output");
    }
    for (int k = 0; k < n_pairs; k++) free(pr[k].c);
    free(pr);
    free(top);
    free(was_auto);
    qs_steady_free(&st);
    qs_model_free(&m);
    return rc;

bad_flag:
    model_args_free(&ma);
    return EXIT_INPUT;
}
