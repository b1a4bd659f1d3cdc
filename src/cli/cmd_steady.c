/* cmd_steady.c — `qsync steady MODEL`: steady state, checks, and every observable
 * (observables.h) of every oscillator and pair. The work is the library's qs_analysis_run
 * (analysis.h); this file reads the arguments and writes the output.
 *
 * Truncation: besides the top-level populations (information only), the truncation error
 * of S itself is estimated (convergence.h): by default when the extra solve with one more
 * level per oscillator has at most QS_CONVERGENCE_AUTO_MAX unknowns, always with
 * --truncation-check, never with --no-truncation-check. The warning is about S: it is printed
 * when the estimate exceeds --s-tol; the top-level warning only when no estimate exists.
 * levels = auto is resolved by the tolerance on S (qs_model_auto_levels_s).
 *
 * Dynamical observables (peak_frequency, fwhm per oscillator; relaxation_rate,
 * coherence_rate for the network): by default when sector 0 has at most QS_DYNAMICS_AUTO_MAX
 * unknowns, always with --dynamics, never with --no-dynamics; otherwise null in the JSON, with
 * the reason in dynamics.reason. */
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
    "                           sparse LU or preconditioned GMRES (default auto: the one\n"
    "                           predicted faster; GMRES is tried first, the LU finishes when\n"
    "                           GMRES would take longer; the reason is printed)\n"
    "  --iterative-tol X        GMRES stops at this relative residual (default 1e-12)\n"
    "  --restart M              GMRES restart length (default 40)\n"
    "  --preconditioner auto|block|uncoupled\n"
    "                           GMRES preconditioner: the uncoupled Liouvillian, or each\n"
    "                           excitation block's coherent dynamics solved exactly (strong\n"
    "                           coupling); default auto: uncoupled, block after a restart\n"
    "  --lu auto|klu|umfpack    sparse LU (default auto: KLU for small systems, UMFPACK beyond)\n"
    "  --no-symmetry            do not reduce by permutations of identical oscillators\n"
    "  --phase-distribution F   write P(phi) and the Husimi P_Q(phi) of every pair to the CSV\n"
    "                           file F (columns phi, P_<a>-<b>..., PQ_<a>-<b>...)\n"
    "  --save-state F.npy       write the full density matrix to F.npy (NumPy .npy, complex128,\n"
    "                           D x D, D = product of the levels, first oscillator slowest);\n"
    "                           refused above 2 GiB (D x D x 16 bytes, D up to 11585)\n"
    "  --save-reduced A=F.npy   write the reduced state of oscillator A, or with A-B=F.npy of the\n"
    "                           pair (basis n_A*levels_B + n_B), to F.npy (repeatable)\n"
    "  --tail-tol X             levels = auto: the starting guess leaves an uncoupled tail\n"
    "                           below X (default 3e-2); then levels rise until --s-tol holds\n"
    "  --s-tol X                tolerance on the estimated truncation error of S (absolute,\n"
    "                           default 5e-3): warn above it; levels = auto meets it\n"
    "  --truncation-check       estimate the truncation error of S even when the extra solve\n"
    "                           (one more level per oscillator) is large; by default it is\n"
    "                           estimated when that solve has at most 60000 unknowns\n"
    "  --no-truncation-check    do not estimate it (then the top-level population warns)\n"
    "  --per-oscillator         the estimate by one extra solve per oscillator (N solves)\n"
    "  --dynamics               compute peak_frequency, fwhm, relaxation_rate and coherence_rate\n"
    "                           (spectra and decay rates of the Liouvillian) whatever their cost; by\n"
    "                           default they are computed when sector 0 has at most 400 unknowns\n"
    "  --no-dynamics            do not compute them\n"
    "  --top-tol X              top-level population that warns when S's error is not\n"
    "                           estimated (default 1e-3)\n"
    "  --residual-tol X         fail above this relative residual (default 1e-8)\n"
    "  --memory-limit SIZE      refuse plans above SIZE (e.g. 500M; default: available memory)\n";

/* --save-state refuses a ρ above this many bytes (D × D × 16) */
#define SAVE_STATE_MAX_BYTES (2.0 * 1024 * 1024 * 1024)

/* Whether a D × D matrix may be saved by `flag`; message and exit status 2 when not. */
static int save_allowed(const char *flag, double D)
{
    double bytes = D * D * 16;
    if (bytes <= SAVE_STATE_MAX_BYTES) return EXIT_OK;
    fprintf(stderr, "qsync: %s: the density matrix is %.0f x %.0f complex numbers (%.3g GiB), above the limit of "
            "2 GiB for a saved state; save a smaller model (fewer levels or oscillators) or a reduced state\n", flag, D, D,
            bytes / (1024.0 * 1024 * 1024));
    return EXIT_INPUT;
}

/* One row of a matrix to save, into out (cols entries). */
typedef int (*row_source)(const void *ctx, size_t row, double complex *out, qs_error *err);

static int state_row(const void *ctx, size_t row, double complex *out, qs_error *err)
{
    return qs_state_dense_rows(ctx, row, 1, out, err);
}

typedef struct {
    size_t cols;
    const double complex *m;
} dense_matrix;

static int matrix_row(const void *ctx, size_t row, double complex *out, qs_error *err)
{
    const dense_matrix *d = ctx;
    memcpy(out, d->m + row * d->cols, d->cols * sizeof *out);
    return QS_OK;
}

/* A D × D complex matrix as NumPy .npy v1.0 ('<c16', C order, shape (D, D)), written
 * atomically a row at a time (one row in memory). */
static int write_npy(const char *path, const char *flag, size_t D, row_source src, const void *ctx)
{
    char tmp[4096], header[128];
    int len = snprintf(header, sizeof header, "{'descr': '<c16', 'fortran_order': False, 'shape': (%zu, %zu), }", D, D);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64;   /* magic, version, length, dict, '\n': a multiple of 64 */
    double complex *row = malloc((D ? D : 1) * sizeof *row);
    if (!row) return cli_fail(QS_ENOMEM, "%s: out of memory", flag);
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) { free(row); return EXIT_IO; }
    unsigned hl = (unsigned)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, fp);
    fputc((int)(hl & 0xff), fp);
    fputc((int)(hl >> 8), fp);
    fputs(header, fp);
    for (int i = 0; i < pad; i++) fputc(' ', fp);
    fputc('\n', fp);
    const unsigned one = 1;
    int little = *(const unsigned char *)&one == 1, status = QS_OK;
    qs_error err;
    for (size_t r = 0; r < D && status == QS_OK; r++) {
        if ((status = src(ctx, r, row, &err)) != QS_OK) break;
        if (little) {
            fwrite(row, sizeof *row, D, fp);
        } else {
            for (size_t i = 0; i < 2 * D; i++) {            /* big-endian host: each double's bytes reversed */
                unsigned char b[8];
                memcpy(b, (const double *)row + i, 8);
                for (int k = 7; k >= 0; k--) fputc(b[k], fp);
            }
        }
    }
    free(row);
    if (status != QS_OK) {
        fclose(fp);
        if (tmp[0]) remove(tmp);
        return cli_fail(status, "%s: %s", flag, err.message);
    }
    return out_commit(fp, tmp, path);
}

/* --save-reduced NAME=FILE or A-B=FILE: which oscillator (b = −1) or pair of m, and the
 * file; exit status 2 with a message when the spec names neither. */
static int reduced_target(const char *spec, const qs_model *m, int *a, int *b, const char **file)
{
    const char *eq = strchr(spec, '=');
    char who[2 * QS_NAME_MAX + 2];
    if (!eq || eq == spec || !eq[1] || (size_t)(eq - spec) >= sizeof who) {
        fprintf(stderr, "qsync: --save-reduced: '%s' is not NAME=FILE.npy or A-B=FILE.npy\n", spec);
        return EXIT_INPUT;
    }
    snprintf(who, sizeof who, "%.*s", (int)(eq - spec), spec);
    *file = eq + 1;
    *b = -1;
    if ((*a = qs_model_find(m, who)) >= 0) return EXIT_OK;
    char *dash = strchr(who, '-');
    if (dash) {
        *dash = '\0';
        *a = qs_model_find(m, who);
        *b = qs_model_find(m, dash + 1);
        *dash = '-';
    }
    if (*a < 0 || *b < 0 || *a == *b) {
        fprintf(stderr, "qsync: --save-reduced: '%s' is neither an oscillator nor a pair A-B of two oscillators of %s\n", who,
                qs_model_source(m));
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

static int save_reduced(const char *spec, const qs_analysis *an)
{
    const qs_state *state = qs_analysis_state(an);
    int a, b;
    const char *file;
    int rc = reduced_target(spec, qs_analysis_model(an), &a, &b, &file);
    size_t D = (size_t)qs_state_levels(state, a) * (size_t)(b >= 0 ? qs_state_levels(state, b) : 1);
    if (rc == EXIT_OK) rc = save_allowed("--save-reduced", (double)D);
    if (rc != EXIT_OK) return rc;
    double complex *rho = malloc(D * D * sizeof *rho);
    if (!rho) return cli_fail(QS_ENOMEM, "--save-reduced: out of memory");
    qs_error err;
    int status = b >= 0 ? qs_state_reduced_pair(state, a, b, rho, &err) : qs_state_reduced_oscillator(state, a, rho, &err);
    rc = status == QS_OK ? EXIT_OK : cli_fail(status, "--save-reduced: %s", err.message);
    dense_matrix dm = {D, rho};
    if (rc == EXIT_OK) rc = write_npy(file, "--save-reduced", D, matrix_row, &dm);
    free(rho);
    return rc;
}

static int write_phase_csv(const char *path, const qs_analysis *an)
{
    const qs_model *m = qs_analysis_model(an);
    const qs_state *state = qs_analysis_state(an);
    int n = qs_model_size(m), n_pairs = n * (n - 1) / 2;
    const int M = 720;
    double *phi = malloc((M + 1) * sizeof *phi), *P = malloc((size_t)(2 * (n_pairs ? n_pairs : 1)) * (M + 1) * sizeof *P);
    if (!phi || !P) { free(phi); free(P); return cli_fail(QS_ENOMEM, "out of memory"); }
    for (int i = 0; i <= M; i++) phi[i] = 2 * M_PI * i / M;
    qs_error err;
    int q = 0, status = QS_OK;
    for (int a = 0; a < n && status == QS_OK; a++)
        for (int b = a + 1; b < n && status == QS_OK; b++, q++)
            for (int h = 0; h < 2 && status == QS_OK; h++)
                status = qs_state_phase_distribution(state, a, b, h, M + 1, phi, P + (size_t)(h * n_pairs + q) * (M + 1), &err);
    if (status != QS_OK) { free(phi); free(P); return cli_fail(status, "%s", err.message); }
    char tmp[4096];
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) { free(phi); free(P); return EXIT_IO; }
    fputs("phi", fp);
    for (int h = 0; h < 2; h++)
        for (int a = 0; a < n; a++)
            for (int b = a + 1; b < n; b++) fprintf(fp, ",%s_%s-%s", h ? "PQ" : "P", qs_model_name(m, a), qs_model_name(m, b));
    fputc('\n', fp);
    for (int i = 0; i <= M; i++) {
        fprintf(fp, "%.10f", phi[i]);
        for (int k = 0; k < 2 * n_pairs; k++) fprintf(fp, ",%.12e", P[(size_t)k * (M + 1) + (size_t)i]);
        fputc('\n', fp);
    }
    free(phi);
    free(P);
    return out_commit(fp, tmp, path);
}

/* The values of table entry i for oscillator j (count: 1, or its levels) or pair q. */
static const double *values_of(const qs_analysis *an, int i, int index, size_t *count)
{
    const qs_observable *o = qs_observable_get(i);
    const double *v = qs_analysis_observable(an, o->name, NULL);
    const qs_model *m = qs_analysis_model(an);
    *count = 1;
    if (o->kind == QS_OBS_PAIR || !o->per_level) return v + index;
    for (int j = 0; j < index; j++) v += qs_model_osc(m, j)->levels;
    *count = (size_t)qs_model_osc(m, index)->levels;
    return v;
}

static void print_json(const qs_analysis *an)
{
    const qs_model *m = qs_analysis_model(an);
    const qs_steady_stats *s = qs_analysis_stats(an);
    const qs_convergence *conv = qs_analysis_truncation(an);
    const qs_analysis_options *opt = qs_analysis_options_used(an);
    const double *min_eig = qs_analysis_min_eigenvalues(an), *c1 = qs_analysis_c1(an), *top = qs_analysis_top_population(an);
    int full = opt->steady.full, n = qs_model_size(m), k = qs_observable_count();
    json j;
    json_begin(&j, stdout);
    json_object(&j, NULL);
    json_str(&j, "model", qs_model_source(m));
    json_array(&j, "pairs");
    int p = 0;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++, p++) {
            json_object(&j, NULL);
            json_str(&j, "a", qs_model_name(m, a));
            json_str(&j, "b", qs_model_name(m, b));
            for (int i = 0; i < k; i++) {
                size_t count;
                if (qs_observable_get(i)->kind == QS_OBS_PAIR) json_num(&j, qs_observable_get(i)->name, *values_of(an, i, p, &count));
            }
            json_num(&j, "c1_re", c1[2 * p]);
            json_num(&j, "c1_im", c1[2 * p + 1]);
            json_num(&j, "min_eigenvalue", min_eig[p]);
            if (conv) {
                json_num(&j, "truncation_error", conv->error[p]);
                json_num(&j, "truncation_change", conv->change[p]);
                json_num(&j, "phi_max_change", conv->phi_change[p]);
            } else {
                json_num(&j, "truncation_error", NAN);
            }
            json_end(&j);
        }
    int n_pairs = p;
    json_end(&j);
    json_num(&j, "truncation_error_max", qs_analysis_truncation_error(an));
    json_num(&j, "s_tol", opt->s_tol);
    json_object(&j, "truncation_check");
    if (conv) {
        const qs_convergence *c = conv;
        json_str(&j, "method", c->per_oscillator ? "one extra solve per oscillator with one more level; error = sum_j |dS_j| F_j"
                                                 : "one extra solve with one more level for every oscillator; error = |dS| max_j F_j");
        json_str(&j, "factor_meaning", "F_j = T_j(L)/(T_j(L) - T_j(L+1)), T_j the uncoupled tail above L levels: S(L) - S(inf) is taken proportional to T(L)");
        if (c->inside >= 0)
            json_str(&j, "not_extrapolated", "an oscillator's top level lies inside its populated range (levels < n- + 2): error unknown");
        json_int(&j, "extra_solves", c->solves);
        json_num(&j, "extra_sector_dimension", c->sector_dimension);
        json_num(&j, "seconds", c->seconds);
        json_array(&j, "factor");
        for (int x = 0; x < n; x++) json_num(&j, NULL, c->factor[x]);
        json_end(&j);
        if (c->per_oscillator) {
            json_array(&j, "oscillator_change");   /* [oscillator][pair] */
            for (int x = 0; x < n; x++) {
                json_array(&j, NULL);
                for (int q = 0; q < n_pairs; q++) json_num(&j, NULL, c->osc_change[(size_t)x * (size_t)n_pairs + (size_t)q]);
                json_end(&j);
            }
            json_end(&j);
        }
    } else {
        json_str(&j, "method", "none");
        json_str(&j, "reason", qs_analysis_truncation_reason(an));
    }
    json_end(&j);
    if (qs_analysis_auto_rounds(an) > 0) {
        json_object(&j, "levels_auto");
        json_str(&j, "rule", "start where the uncoupled tail is below guess_tail, raise until the estimated truncation error of S <= s_tol");
        json_num(&j, "guess_tail", opt->guess_tail);
        json_int(&j, "rounds", qs_analysis_auto_rounds(an));
        json_end(&j);
    }
    for (int i = 0; i < k; i++)
        if (qs_observable_get(i)->kind == QS_OBS_NETWORK)
            json_num(&j, qs_observable_get(i)->name, *qs_analysis_observable(an, qs_observable_get(i)->name, NULL));
    json_object(&j, "dynamics");
    json_bool(&j, "computed", qs_analysis_dynamics_reason(an)[0] == 0);
    char rule[200];
    snprintf(rule, sizeof rule, "computed when sector 0 has at most %d unknowns (sector -1, where the spectra are solved, "
             "never has more), always with --dynamics, never with --no-dynamics", QS_DYNAMICS_AUTO_MAX);
    json_str(&j, "rule", rule);
    json_str(&j, "reason", qs_analysis_dynamics_reason(an));
    json_num(&j, "seconds", qs_analysis_dynamics_seconds(an));
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
    json_num(&j, "memory_planned_bytes", round(s->memory_planned));
    json_num(&j, "predicted_memory_bytes", round(s->predicted_memory));
    json_num(&j, "predicted_seconds", s->predicted_seconds);
    json_num(&j, "predicted_lu_seconds", s->predicted_lu_seconds);
    json_num(&j, "predicted_iteration_seconds", s->predicted_iteration_seconds);
    json_int(&j, "trial_iterations", s->trial_iterations);
    json_str(&j, "preconditioner", s->solver != QS_SOLVER_ITERATIVE ? "none" : cli_preconditioner_name(s->preconditioner));
    json_array(&j, "oscillators");
    for (int x = 0; x < n; x++) {
        const qs_osc *o = qs_model_osc(m, x);
        json_object(&j, NULL);
        json_str(&j, "name", qs_model_name(m, x));
        json_int(&j, "levels", o->levels);
        json_bool(&j, "levels_auto", qs_analysis_levels_auto(an, x));
        json_num(&j, "top_population", top[x]);
        for (int i = 0; i < k; i++) {
            const qs_observable *ob = qs_observable_get(i);
            if (ob->kind != QS_OBS_OSCILLATOR) continue;
            size_t count;
            const double *v = values_of(an, i, x, &count);
            if (!ob->per_level) { json_num(&j, ob->name, *v); continue; }
            json_array(&j, ob->name);
            for (size_t r = 0; r < count; r++) json_num(&j, NULL, v[r]);
            json_end(&j);
        }
        json_osc_parameters(&j, o, 8);   /* steady --json lists omega .. n_minus */
        json_end(&j);
    }
    json_end(&j);
    json_couplings(&j, m, 1);         /* steady --json: re and im always */
    json_object(&j, "seconds");
    json_num(&j, "assemble", s->time_assemble);
    json_num(&j, "symbolic", s->time_symbolic);
    json_num(&j, "numeric", s->time_numeric);
    json_num(&j, "solve", s->time_solve);
    json_end(&j);
    json_array(&j, "warnings");
    if (qs_analysis_warning(an)[0]) json_str(&j, NULL, qs_analysis_warning(an));
    json_end(&j);
    json_end(&j);
}

static void print_text(const qs_analysis *an)
{
    const qs_model *m = qs_analysis_model(an);
    const qs_steady_stats *s = qs_analysis_stats(an);
    const qs_convergence *c = qs_analysis_truncation(an);
    const qs_analysis_options *opt = qs_analysis_options_used(an);
    const double *min_eig = qs_analysis_min_eigenvalues(an), *top = qs_analysis_top_population(an);
    const double *S = qs_analysis_observable(an, "S", NULL), *phi = qs_analysis_observable(an, "phi_max", NULL);
    const double *neg = qs_analysis_observable(an, "negativity", NULL), *mi = qs_analysis_observable(an, "mutual_information", NULL);
    const double *mean = qs_analysis_observable(an, "mean_n", NULL), *var = qs_analysis_observable(an, "var_n", NULL);
    int full = opt->steady.full, n = qs_model_size(m), n_pairs = n * (n - 1) / 2;
    printf("%s: %d oscillators, levels", qs_model_source(m), n);
    for (int k = 0; k < n; k++) printf(" %s=%d", qs_model_name(m, k), qs_model_osc(m, k)->levels);
    printf("\nsolved the %s: %zu unknowns (sector %zu of %zu", full ? "full Liouvillian" : "zero excitation-difference sector",
           s->system_dimension, s->sector_dimension, s->liouvillian_dimension);
    if (s->symmetry_order > 1) printf("; symmetry group of order %d", s->symmetry_order);
    if (s->solver == QS_SOLVER_ITERATIVE)
        printf(")\nsolver: GMRES preconditioned by %s, %d iterations (%s)\n\n",
               s->preconditioner == QS_PRECOND_BLOCK ? "the exact excitation blocks" : "the uncoupled Liouvillian", s->iterations,
               s->solver_reason);
    else
        printf("), %zu non-zeros, %s LU %.0f non-zeros (%s)\n\n", s->nnz, s->lu == QS_LU_KLU ? "KLU" : "UMFPACK", s->lu_nnz,
               s->solver_reason);
    printf("%-16s %-22s %-10s %-11s %-11s %-15s %s\n", "pair", "S", "phi_max", "negativity", "mutual inf.", "min eigenvalue",
           "truncation error of S");
    int p = 0;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++, p++) {
            char name[2 * QS_NAME_MAX + 2];
            snprintf(name, sizeof name, "%s-%s", qs_model_name(m, a), qs_model_name(m, b));
            printf("%-16s %-22.15e %-10.6f %-11.4e %-11.4e %-15.3e ", name, S[p], qs_phase_wrap(phi[p], 6), neg[p], mi[p], min_eig[p]);
            if (c && !isnan(c->error[p])) printf("%.2e\n", c->error[p]);
            else if (c) printf("unknown\n");
            else printf("-\n");
        }
    printf("\n%-16s %-12s %-12s %s\n", "oscillator", "mean_n", "var_n", "top-level population");
    for (int k = 0; k < n; k++) printf("%-16s %-12.6f %-12.6f %.2e\n", qs_model_name(m, k), mean[k], var[k], top[k]);
    if (qs_analysis_dynamics_reason(an)[0] == 0) {
        const double *pk = qs_analysis_observable(an, "peak_frequency", NULL), *fw = qs_analysis_observable(an, "fwhm", NULL);
        printf("\n%-16s %-14s %s\n", "oscillator", "peak_frequency", "fwhm");
        for (int k = 0; k < n; k++) printf("%-16s %-14.6f %.6g\n", qs_model_name(m, k), pk[k], fw[k]);
        printf("relaxation_rate %.6g, coherence_rate %.6g (%.2g s)\n", *qs_analysis_observable(an, "relaxation_rate", NULL),
               *qs_analysis_observable(an, "coherence_rate", NULL), qs_analysis_dynamics_seconds(an));
    } else {
        printf("\ndynamics: not computed (%s)\n", qs_analysis_dynamics_reason(an));
    }
    printf("\nchecks: relative residual %.2e, |Tr rho - 1| %.2e, hermiticity %.2e", s->residual, s->trace_error,
           s->hermiticity_error);
    if (s->solver == QS_SOLVER_DIRECT) printf(", rcond %.2e", s->rcond);   /* the LU's pivots; GMRES has none */
    if (full) printf(", off-sector %.2e", s->off_sector);
    if (c) {
        double most = 0;
        for (int q = 0; q < n_pairs; q++) if (fabs(c->change[q]) > most) most = fabs(c->change[q]);
        char name[2 * QS_NAME_MAX + 2] = "";
        for (int a = 0, q = 0; a < n; a++)
            for (int b = a + 1; b < n; b++, q++)
                if (q == c->max_pair) snprintf(name, sizeof name, "%s-%s", qs_model_name(m, a), qs_model_name(m, b));
        if (isnan(c->max_error))
            printf("\ntruncation: error of S unknown (%s); S changes by at most %.2e with one more level", qs_analysis_unknown_reason(an), most);
        else
        printf("\ntruncation: estimated error of S %.2e (pair %s; tolerance %.3g, %s): S changes by at most %.2e with one more level %s"
               " (%d extra solve%s, %.0f unknowns, %.2g s), extrapolated by the uncoupled tails (x%.3g)",
               c->max_error, name, opt->s_tol, c->max_error <= opt->s_tol ? "met" : "NOT met", most,
               c->per_oscillator ? "per oscillator, one at a time" : "for every oscillator",
               c->solves, c->solves == 1 ? "" : "s", c->sector_dimension, c->seconds,
               n_pairs && fabs(c->change[c->max_pair]) > 0 ? c->max_error / fabs(c->change[c->max_pair]) : 0.0);
    } else {
        printf("\ntruncation: error of S not estimated (%s)", qs_analysis_truncation_reason(an));
    }
    printf("\ntime: assemble %.3g ms, symbolic %.3g ms, numeric %.3g ms, solve %.3g ms\n",
           1e3 * s->time_assemble, 1e3 * s->time_symbolic, 1e3 * s->time_numeric, 1e3 * s->time_solve);
}

int cmd_steady(int argc, char **argv)
{
    model_args ma = {0};
    ma.tail_tol = QS_AUTO_GUESS_TAIL;
    qs_analysis_options ao;
    qs_analysis_defaults(&ao);
    ao.dynamics = QS_DYNAMICS_BY_COST;
    int as_json = 0, rc;
    const char *phase_path = NULL, *state_path = NULL, *v;
    const char **reduced = calloc((size_t)argc + 1, sizeof *reduced);
    int n_reduced = 0;
    if (!reduced) return cli_fail(QS_ENOMEM, "out of memory");
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = model_args_take(&ma, argc, argv, &i)) != 0) { if (r < 0) goto bad_flag; continue; }
        if (cli_take(argc, argv, &i, "--json", 0, &v) > 0) { as_json = 1; continue; }
        if (cli_take(argc, argv, &i, "--full", 0, &v) > 0) { ao.steady.full = 1; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(usage, stdout); model_args_free(&ma); free(reduced); return EXIT_OK; }
        if ((r = cli_take(argc, argv, &i, "--phase-distribution", 1, &v)) != 0) { if (r < 0) goto bad_flag; phase_path = v; continue; }
        if ((r = cli_take(argc, argv, &i, "--save-state", 1, &v)) != 0) { if (r < 0) goto bad_flag; state_path = v; continue; }
        if ((r = cli_take(argc, argv, &i, "--save-reduced", 1, &v)) != 0) { if (r < 0) goto bad_flag; reduced[n_reduced++] = v; continue; }
        if ((r = truncation_args_take(argc, argv, &i, &ao.truncation, &ao.s_tol)) != 0) { if (r < 0) goto bad_flag; continue; }
        if (cli_take(argc, argv, &i, "--per-oscillator", 0, &v) > 0) { ao.per_oscillator = 1; continue; }
        if (cli_take(argc, argv, &i, "--dynamics", 0, &v) > 0) { ao.dynamics = QS_DYNAMICS_ALWAYS; continue; }
        if (cli_take(argc, argv, &i, "--no-dynamics", 0, &v) > 0) { ao.dynamics = QS_DYNAMICS_NEVER; continue; }
        if ((r = steady_options_take(&ao.steady, argc, argv, &i)) != 0) { if (r < 0) goto bad_flag; continue; }
        if (argv[i][0] == '-' && argv[i][1] != '\0') { fprintf(stderr, "qsync steady: unknown option %s\n%s", argv[i], usage); goto bad_flag; }
        if (ma.model_path) { fprintf(stderr, "qsync steady: more than one model file (%s, %s)\n", ma.model_path, argv[i]); goto bad_flag; }
        ma.model_path = argv[i];
    }
    if (!ma.model_path) { fprintf(stderr, "qsync steady: no model file\n%s", usage); goto bad_flag; }
    if (ao.per_oscillator && ao.truncation < 0) { fprintf(stderr, "qsync: --per-oscillator contradicts --no-truncation-check\n"); goto bad_flag; }
    ao.guess_tail = ma.tail_tol;

    qs_model *m = NULL;
    rc = model_args_load(&ma, 0, &m, NULL, NULL);
    model_args_free(&ma);
    if (rc != EXIT_OK) { free(reduced); return rc; }

    /* the output files: named, and not folders, before any solve */
    if ((phase_path && (rc = out_check("--phase-distribution", phase_path)) != EXIT_OK) ||
        (state_path && (rc = out_check("--save-state", state_path)) != EXIT_OK)) {
        qs_model_free(&m);
        free(reduced);
        return rc;
    }
    /* --save-state: refused before any solve when the levels are known */
    if (state_path) {
        double D = 1;
        int known = 1;
        for (int k = 0; k < qs_model_size(m); k++) {
            if (qs_model_osc(m, k)->levels == QS_LEVELS_AUTO) known = 0;
            else D *= qs_model_osc(m, k)->levels;
        }
        if (known && (rc = save_allowed("--save-state", D)) != EXIT_OK) { qs_model_free(&m); free(reduced); return rc; }
    }

    for (int i = 0; i < n_reduced; i++) {      /* names checked before any solve */
        int a, b;
        const char *file;
        if ((rc = reduced_target(reduced[i], m, &a, &b, &file)) != EXIT_OK || (rc = out_check("--save-reduced", file)) != EXIT_OK) {
            qs_model_free(&m);
            free(reduced);
            return rc;
        }
    }

    qs_error err;
    qs_analysis *an = NULL;
    int status = qs_analysis_run(m, &ao, &an, &err);
    if (status < 0) {
        rc = cli_fail(status, "%s: %s", qs_model_source(m), err.message);
        qs_model_free(&m);
        free(reduced);
        return rc;
    }
    const qs_model *mr = qs_analysis_model(an);
    int n = qs_model_size(mr);
    if (!as_json)
        for (int k = 0; k < n; k++)
            if (qs_analysis_levels_auto(an, k))
                fprintf(stderr, "levels = auto: oscillator %s gets %d levels (start: uncoupled tail below %g; %d round%s "
                        "of S at L and L+1; estimated truncation error of S %.2e <= --s-tol %g)\n",
                        qs_model_name(mr, k), qs_model_osc(mr, k)->levels, ao.guess_tail, qs_analysis_auto_rounds(an),
                        qs_analysis_auto_rounds(an) == 1 ? "" : "s", qs_analysis_auto_error(an), ao.s_tol);
    if (qs_analysis_warning(an)[0]) fprintf(stderr, "qsync: warning: %s\n", qs_analysis_warning(an));

    rc = EXIT_OK;
    if (phase_path) rc = write_phase_csv(phase_path, an);
    if (rc == EXIT_OK && state_path) {
        rc = save_allowed("--save-state", (double)qs_state_dimension(qs_analysis_state(an)));
        if (rc == EXIT_OK) rc = write_npy(state_path, "--save-state", qs_state_dimension(qs_analysis_state(an)), state_row,
                                          qs_analysis_state(an));
    }
    for (int i = 0; i < n_reduced && rc == EXIT_OK; i++) rc = save_reduced(reduced[i], an);
    if (rc == EXIT_OK) {
        if (as_json) print_json(an);
        else print_text(an);
    }
    qs_analysis_free(&an);
    qs_model_free(&m);
    free(reduced);
    return rc;

bad_flag:
    model_args_free(&ma);
    free(reduced);
    return EXIT_INPUT;
}
