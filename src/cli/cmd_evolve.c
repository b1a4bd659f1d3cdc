/* cmd_evolve.c — `qsync evolve MODEL --time T --samples N`: the quench of MODEL.md §8 (the
 * couplings switched on at t = 0 from the uncoupled steady state or a Fock state) sampled at
 * t_k = kT/(N−1). The work is the library's qs_evolve_run (evolve.h); the steady state for
 * comparison, and levels = auto resolved as `qsync steady` resolves it, by qs_analysis_run.
 *
 * Outputs: a summary table (default), one JSON object (--json: MODEL.md §10), and with
 * --out DIR the files evolve.csv (columns t, S_<a>-<b>, mean_n_<j>, then any --observe'd
 * observable NAME_<a>-<b> / NAME_<j>), evolve.gp and evolve.png (gnuplot; every curve named
 * by its CSV column). SIGINT/SIGTERM stop the integration between steps: exit 130, nothing
 * written. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static const char usage[] =
    "usage: qsync evolve MODEL --time T --samples N [options]\n"
    "  --time T                 end time T > 0 (the model's time unit: 1/gamma when gamma = 1)\n"
    "  --samples N              N >= 2 samples at t_k = k T/(N-1), k = 0..N-1\n"
    "  --from uncoupled|fock:N1,N2,...\n"
    "                           rho(0): the product of each oscillator's uncoupled steady state\n"
    "                           (default), or the Fock state |N1,N2,...> (one number per oscillator,\n"
    "                           in file order, each below its levels); couplings act from t = 0\n"
    "  --observe NAME[,NAME...] also record these observables (qsync steady's names) at every sample\n"
    "  --method krylov|bdf      the integrator: exponential Krylov (default) or CVODE's BDF with KLU\n"
    "  --atol X                 krylov: local error of rho (2-norm) allowed per unit time; bdf: absolute\n"
    "                           tolerance on every element of rho; Tr rho = 1 (default 1e-12, below 1e-2;\n"
    "                           krylov: atol x T, its bound on the error of rho(T), at most 1e-3)\n"
    "  --rtol X                 bdf: relative tolerance (default 1e-10)\n"
    "  --krylov-dim M           krylov: dimension of the Krylov spaces, 4..200 (default 30)\n"
    "  --max-steps N            give up (exit 3) after N steps (default 1e7)\n"
    "  --json                   one JSON object on stdout\n"
    "  --out DIR                write DIR/evolve.csv, DIR/evolve.gp and DIR/evolve.png\n"
    "  --levels N|auto          Fock levels for every oscillator (auto: as qsync steady chooses them)\n"
    "  --set PATH=VALUE         override a parameter: NAME.key, key (all), A-B (coupling)\n"
    "  --tail-tol X             levels = auto: the starting guess (as qsync steady)\n"
    "  --memory-limit SIZE      refuse plans above SIZE (e.g. 500M; default: available memory)\n";

static void progress(void *ctx, int k, double t, double T, long steps)
{
    cli_progress *p = ctx;
    double elapsed;
    (void)k;
    if (!cli_progress_due(p, &elapsed)) return;
    fprintf(stderr, "%sevolve: t = %.6g of %.6g (%.0f%%), %ld steps, %.0f s%s", cli_progress_lead(p), t, T, 100 * t / T, steps,
            elapsed, cli_progress_tail(p));
}

/* --from fock:N1,N2,...: exactly n whole numbers, each below its oscillator's levels. */
static int parse_fock(const char *text, const qs_model *m, int *fock)
{
    int n = qs_model_size(m), j = 0;
    const char *p = text + strlen("fock:");
    while (1) {
        char *end;
        if (*p < '0' || *p > '9') break;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (j >= n) { j = n + 1; break; }
        int L = qs_model_osc(m, j)->levels;
        if (errno == ERANGE || v >= L) {      /* the number as given: strtol clamps what overflows */
            fprintf(stderr, "qsync: --from %s: %.*s excitations for oscillator %s, which has levels 0..%d\n", text, (int)(end - p), p,
                    qs_model_name(m, j), L - 1);
            return 0;
        }
        fock[j++] = (int)v;
        p = end;
        if (*p == ',') { p++; continue; }
        if (*p == '\0' && j == n) return 1;
        break;
    }
    fprintf(stderr, "qsync: --from %s: expected fock: and %d whole numbers separated by commas (one per oscillator, in file order)\n",
            text, n);
    return 0;
}

/* Name of value v of observable `obs` for element x (oscillator, pair, or level) into buf. */
static const char *column_name(char *buf, size_t size, const qs_model *m, const qs_observable *obs, int x, int level)
{
    int n = qs_model_size(m);
    if (obs->kind == QS_OBS_OSCILLATOR) {
        if (obs->per_level) snprintf(buf, size, "%s_%s_%d", obs->name, qs_model_name(m, x), level);
        else snprintf(buf, size, "%s_%s", obs->name, qs_model_name(m, x));
        return buf;
    }
    for (int a = 0, q = 0; a < n; a++)
        for (int b = a + 1; b < n; b++, q++)
            if (q == x) snprintf(buf, size, "%s_%s-%s", obs->name, qs_model_name(m, a), qs_model_name(m, b));
    return buf;
}

/* Every recorded value's column name, in the layout of qs_state_observe (NULL: out of memory). */
static char **column_names(const qs_evolve *e)
{
    const qs_model *m = qs_evolve_model(e);
    const int *which;
    int nw = qs_evolve_observed(e, &which), n = qs_model_size(m);
    size_t w = qs_evolve_width(e), v = 0;
    char **names = calloc(w ? w : 1, sizeof *names), buf[3 * QS_NAME_MAX + 80];
    if (!names) return NULL;
    for (int i = 0; i < nw; i++) {
        const qs_observable *obs = qs_observable_get(which[i]);
        int count = obs->kind == QS_OBS_PAIR ? n * (n - 1) / 2 : n;
        for (int x = 0; x < count; x++) {
            int levels = obs->per_level ? qs_model_osc(m, x)->levels : 1;
            for (int l = 0; l < levels && v < w; l++) names[v++] = strdup(column_name(buf, sizeof buf, m, obs, x, l));
        }
    }
    for (size_t k = 0; k < w; k++)
        if (!names[k]) {
            for (size_t i = 0; i < w; i++) free(names[i]);
            free(names);
            return NULL;
        }
    return names;
}

static void free_names(char **names, size_t w)
{
    for (size_t i = 0; names && i < w; i++) free(names[i]);
    free(names);
}

static void json_series(json *j, const char *key, const double *v, int samples)
{
    json_array(j, key);
    for (int k = 0; k < samples; k++) json_num(j, NULL, v[k]);
    json_end(j);
}

static void print_json(const qs_evolve *e, const qs_analysis *an, const int *fock)
{
    const qs_model *m = qs_evolve_model(e);
    const int *which;
    int nw = qs_evolve_observed(e, &which), n = qs_model_size(m), N = qs_evolve_samples(e);
    const double *S_ss = qs_analysis_observable(an, "S", NULL), *n_ss = qs_analysis_observable(an, "mean_n", NULL);
    json j;
    json_begin(&j, stdout);
    json_object(&j, NULL);
    json_str(&j, "model", qs_model_source(m));
    json_str(&j, "from", fock ? "fock" : "uncoupled");
    if (fock) {
        json_array(&j, "fock");
        for (int x = 0; x < n; x++) json_int(&j, NULL, fock[x]);
        json_end(&j);
    }
    json_series(&j, "times", qs_evolve_times(e), N);
    for (int kind = QS_OBS_PAIR; kind >= QS_OBS_OSCILLATOR; kind--) {
        json_array(&j, kind == QS_OBS_PAIR ? "pairs" : "oscillators");
        int count = kind == QS_OBS_PAIR ? n * (n - 1) / 2 : n;
        for (int x = 0, a = 0, b = 1; x < count; x++) {
            json_object(&j, NULL);
            if (kind == QS_OBS_PAIR) {
                json_str(&j, "a", qs_model_name(m, a));
                json_str(&j, "b", qs_model_name(m, b));
                if (++b == n) { a++; b = a + 1; }
            } else {
                json_str(&j, "name", qs_model_name(m, x));
                json_int(&j, "levels", qs_model_osc(m, x)->levels);
            }
            for (int i = 0; i < nw; i++) {
                const qs_observable *obs = qs_observable_get(which[i]);
                if (obs->kind != kind) continue;
                if (!obs->per_level) { json_series(&j, obs->name, qs_evolve_series(e, obs->name, x), N); continue; }
                int base = 0;
                for (int y = 0; y < x; y++) base += qs_model_osc(m, y)->levels;
                json_array(&j, obs->name);     /* [time][level] */
                for (int k = 0; k < N; k++) {
                    json_array(&j, NULL);
                    for (int l = 0; l < qs_model_osc(m, x)->levels; l++) json_num(&j, NULL, qs_evolve_series(e, obs->name, base + l)[k]);
                    json_end(&j);
                }
                json_end(&j);
            }
            if (kind == QS_OBS_PAIR) json_num(&j, "S_steady", S_ss[x]);
            else json_num(&j, "mean_n_steady", n_ss[x]);
            json_end(&j);
        }
        json_end(&j);
    }
    json_object(&j, "diagnostics");
    int bdf = strcmp(qs_evolve_method(e), "bdf") == 0;
    json_str(&j, "method", qs_evolve_method(e));
    json_str(&j, "integrator", bdf ? "CVODE BDF, Newton with the exact sparse Jacobian (KLU), real unknowns of the Hermitian sector"
                                   : "exponential Krylov (Expokit expv), real unknowns of the Hermitian sector");
    if (bdf) json_num(&j, "rtol", qs_evolve_rtol(e));
    else json_num(&j, "error_estimate", qs_evolve_error_estimate(e));
    json_num(&j, "atol", qs_evolve_atol(e));
    json_int(&j, "steps", qs_evolve_total_steps(e));
    json_int(&j, bdf ? "rhs_evaluations" : "matrix_vector_products", qs_evolve_rhs_evaluations(e));
    if (bdf) json_int(&j, "factorizations", qs_evolve_factorizations(e));
    json_int(&j, bdf ? "error_test_failures" : "rejected_steps", qs_evolve_error_test_failures(e));
    json_num(&j, "trace_error_max", qs_evolve_trace_error_max(e));
    json_num(&j, "hermiticity_error_max", qs_evolve_hermiticity_error_max(e));
    json_num(&j, "min_eigenvalue", qs_evolve_min_eigenvalue(e));
    json_series(&j, "trace_error", qs_evolve_trace_errors(e), N);
    json_array(&j, "steps_at");
    for (int k = 0; k < N; k++) json_int(&j, NULL, qs_evolve_steps(e)[k]);
    json_end(&j);
    json_int(&j, "sector_dimension", (long long)qs_evolve_dimension(e));
    json_int(&j, "jacobian_nnz", (long long)qs_evolve_nnz(e));
    json_num(&j, "memory_planned_bytes", qs_evolve_memory_planned(e));
    json_num(&j, "seconds", qs_evolve_seconds(e));
    json_num(&j, "steady_residual", qs_analysis_stats(an)->residual);
    json_end(&j);
    json_end(&j);
}

/* The sample indices the table shows: 0, N/4, N/2, 3N/4, N−1 (without repeats). */
static int shown_samples(int N, int *k)
{
    int c = 0;
    for (int q = 0; q <= 4; q++) {
        int s = (int)lround((double)(N - 1) * q / 4.0);
        if (c == 0 || s != k[c - 1]) k[c++] = s;
    }
    return c;
}

static void print_text(const qs_evolve *e, const qs_analysis *an, const int *fock)
{
    const qs_model *m = qs_evolve_model(e);
    int n = qs_model_size(m), N = qs_evolve_samples(e), ks[5], nk = shown_samples(N, ks);
    const double *t = qs_evolve_times(e);
    const double *S_ss = qs_analysis_observable(an, "S", NULL), *n_ss = qs_analysis_observable(an, "mean_n", NULL);
    printf("%s: %d oscillators, levels", qs_model_source(m), n);
    for (int x = 0; x < n; x++) printf(" %s=%d", qs_model_name(m, x), qs_model_osc(m, x)->levels);
    printf("\nquench from ");
    if (fock) {
        printf("the Fock state |");
        for (int x = 0; x < n; x++) printf("%s%d", x ? "," : "", fock[x]);
        printf(">");
    } else {
        printf("the uncoupled steady state");
    }
    printf(", couplings on at t = 0; %d samples to T = %g\n\n", N, t[N - 1]);
    char head[32];
    if (n > 1) printf("%-16s", "pair S(t)");
    for (int i = 0; i < nk && n > 1; i++) { snprintf(head, sizeof head, "t=%.4g", t[ks[i]]); printf(" %-12s", head); }
    if (n > 1) printf(" %-12s %s\n", "steady", "|S(T) - steady|");
    for (int a = 0, q = 0; a < n; a++)
        for (int b = a + 1; b < n; b++, q++) {
            char name[2 * QS_NAME_MAX + 2];
            snprintf(name, sizeof name, "%s-%s", qs_model_name(m, a), qs_model_name(m, b));
            const double *S = qs_evolve_series(e, "S", q);
            printf("%-16s", name);
            for (int i = 0; i < nk; i++) printf(" %-12.6g", S[ks[i]]);
            printf(" %-12.6g %.2e\n", S_ss[q], fabs(S[N - 1] - S_ss[q]));
        }
    printf("%s%-16s", n > 1 ? "\n" : "", "oscillator <n>");
    for (int i = 0; i < nk; i++) { snprintf(head, sizeof head, "t=%.4g", t[ks[i]]); printf(" %-12s", head); }
    printf(" %-12s %s\n", "steady", "|<n>(T) - steady|");
    for (int x = 0; x < n; x++) {
        const double *v = qs_evolve_series(e, "mean_n", x);
        printf("%-16s", qs_model_name(m, x));
        for (int i = 0; i < nk; i++) printf(" %-12.6g", v[ks[i]]);
        printf(" %-12.6g %.2e\n", n_ss[x], fabs(v[N - 1] - n_ss[x]));
    }
    printf("\nchecks (worst over the samples): |Tr rho - 1| %.2e, hermiticity %.2e", qs_evolve_trace_error_max(e),
           qs_evolve_hermiticity_error_max(e));
    if (n > 1) printf(", smallest eigenvalue of a pair state %.2e", qs_evolve_min_eigenvalue(e));
    putchar('\n');
    if (strcmp(qs_evolve_method(e), "bdf") == 0)
        printf("integrator: CVODE BDF, rtol %g, atol %g: %ld steps, %ld right-hand sides, %ld factorisations", qs_evolve_rtol(e),
               qs_evolve_atol(e), qs_evolve_total_steps(e), qs_evolve_rhs_evaluations(e), qs_evolve_factorizations(e));
    else
        printf("integrator: exponential Krylov, tolerance %g per unit time: %ld steps, %ld products with L, estimated error %.2e",
               qs_evolve_atol(e), qs_evolve_total_steps(e), qs_evolve_rhs_evaluations(e), qs_evolve_error_estimate(e));
    printf(" (%zu unknowns, Jacobian %zu non-zeros)\ntime: %.3g s\n", qs_evolve_dimension(e), qs_evolve_nnz(e), qs_evolve_seconds(e));
}

static int write_csv(const char *dir, const qs_evolve *e, char **names)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/evolve.csv", dir);
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    size_t w = qs_evolve_width(e);
    int N = qs_evolve_samples(e);
    fputs("t", fp);
    for (size_t v = 0; v < w; v++) fprintf(fp, ",%s", names[v]);
    fputc('\n', fp);
    for (int k = 0; k < N; k++) {
        fprintf(fp, "%.17g", qs_evolve_times(e)[k]);
        for (size_t v = 0; v < w; v++) fprintf(fp, ",%.17g", qs_evolve_value(e, v)[k]);
        fputc('\n', fp);
    }
    return out_commit(fp, tmp, path);
}

/* evolve.gp: S of every pair (left axis) and <n> of every oscillator (right axis) against t,
 * every curve read by its column's header name and titled by it. */
static int write_plot(const char *dir, const qs_evolve *e, char **names)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/evolve.gp", dir);
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    const qs_model *m = qs_evolve_model(e);
    int n = qs_model_size(m), pairs = n * (n - 1) / 2, first = 1;
    fputs("# gnuplot script for evolve.csv; run `gnuplot evolve.gp` in this folder to redraw\n"
          "set terminal pngcairo size 1000,600 noenhanced font ',11'\nset output 'evolve.png'\n"
          "set datafile separator ','\nset datafile columnheaders\nset key outside right\nset grid\n"
          "set xlabel 't'\n", fp);
    if (pairs) fputs("set ylabel 'S'\nset y2label 'mean_n'\nset ytics nomirror\nset y2tics\nplot", fp);
    else fputs("set ylabel 'mean_n'\nplot", fp);     /* one oscillator: no pair, one axis */
    for (int v = 0; v < pairs + n; v++) {   /* S_<a>-<b> then mean_n_<j>: the first columns */
        fprintf(fp, "%s \\\n  'evolve.csv' using (column(\"t\")):(column(\"%s\")) with lines lw 2 %s title \"%s\"",
                first ? "" : ",", names[v], v < pairs ? "axes x1y1" : pairs ? "dt 2 axes x1y2" : "dt 2", names[v]);
        first = 0;
    }
    fputc('\n', fp);
    int rc = out_commit(fp, tmp, path);
    if (rc != EXIT_OK) return rc;
    return run_gnuplot(dir, "evolve") ? EXIT_OK : EXIT_IO;
}

int cmd_evolve(int argc, char **argv)
{
    model_args ma = {0};
    ma.tail_tol = QS_AUTO_GUESS_TAIL;
    qs_evolve_options eo;
    qs_evolve_defaults(&eo);
    double T = NAN, samples = NAN, memory_limit = 0;
    int as_json = 0, r, rc = EXIT_INPUT, *which = NULL, n_which = 0, *fock = NULL, *asked = NULL, n_asked = 0;
    const char *from = "uncoupled", *out = NULL, *v;
    qs_model *m = NULL;
    qs_analysis *an = NULL;
    qs_evolve *e = NULL;
    for (int i = 0; i < argc; i++) {
        if ((r = model_args_take(&ma, argc, argv, &i)) != 0) { if (r < 0) goto done; continue; }
        if (cli_take(argc, argv, &i, "--json", 0, &v) > 0) { as_json = 1; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(usage, stdout); rc = EXIT_OK; goto done; }
        if ((r = cli_take(argc, argv, &i, "--time", 1, &v)) != 0) {
            if (r < 0 || !cli_real("--time", v, &T)) goto done;
            if (!(T > 0)) { fprintf(stderr, "qsync: --time must be > 0, not %s\n", v); goto done; }
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--samples", 1, &v)) != 0) {
            if (r < 0 || !cli_real("--samples", v, &samples)) goto done;
            if (!(samples >= 2 && samples <= QS_EVOLVE_MAX_SAMPLES && samples == floor(samples))) {
                fprintf(stderr, "qsync: --samples needs a whole number from 2 to %d, not %s\n", QS_EVOLVE_MAX_SAMPLES, v);
                goto done;
            }
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--from", 1, &v)) != 0) {
            if (r < 0) goto done;
            if (strcmp(v, "uncoupled") != 0 && strncmp(v, "fock:", 5) != 0) {
                fprintf(stderr, "qsync: --from %s: expected uncoupled or fock:N1,N2,...\n", v);
                goto done;
            }
            from = v;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--observe", 1, &v)) != 0) {
            if (r < 0 || !cli_observe("qsync evolve", v, &asked, &n_asked)) goto done;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--method", 1, &v)) != 0) {
            if (r < 0) goto done;
            if (strcmp(v, "krylov") == 0) eo.method = QS_EVOLVE_KRYLOV;
            else if (strcmp(v, "bdf") == 0) eo.method = QS_EVOLVE_BDF;
            else { fprintf(stderr, "qsync: --method %s: expected krylov or bdf\n", v); goto done; }
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--krylov-dim", 1, &v)) != 0) {
            double d;
            if (r < 0 || !cli_real("--krylov-dim", v, &d)) goto done;
            if (!(d >= 4 && d <= 200 && d == floor(d))) { fprintf(stderr, "qsync: --krylov-dim needs a whole number from 4 to 200, not %s\n", v); goto done; }
            eo.krylov_dim = (int)d;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--rtol", 1, &v)) != 0) {
            if (r < 0 || !cli_real("--rtol", v, &eo.rtol)) goto done;
            if (!(eo.rtol >= QS_EVOLVE_TOL_MIN && eo.rtol < QS_EVOLVE_TOL_MAX)) {
                fprintf(stderr, "qsync: --rtol must lie in [%g, %g) (below is round-off, above no accuracy), not %s\n", QS_EVOLVE_TOL_MIN,
                        QS_EVOLVE_TOL_MAX, v);
                goto done;
            }
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--atol", 1, &v)) != 0) {
            if (r < 0 || !cli_real("--atol", v, &eo.atol)) goto done;
            if (!(eo.atol >= QS_EVOLVE_TOL_MIN && eo.atol < QS_EVOLVE_TOL_MAX)) {
                fprintf(stderr, "qsync: --atol must lie in [%g, %g) (below is round-off, above no accuracy), not %s\n", QS_EVOLVE_TOL_MIN,
                        QS_EVOLVE_TOL_MAX, v);
                goto done;
            }
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--max-steps", 1, &v)) != 0) {
            double s;
            if (r < 0 || !cli_real("--max-steps", v, &s)) goto done;
            if (!(s >= 1 && s <= 1e15 && s == floor(s))) { fprintf(stderr, "qsync: --max-steps needs a whole number >= 1, not %s\n", v); goto done; }
            eo.max_steps = (long)s;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--memory-limit", 1, &v)) != 0) {
            if (r < 0 || !cli_bytes("--memory-limit", v, &memory_limit)) goto done;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--out", 1, &v)) != 0) { if (r < 0) goto done; out = v; continue; }
        if (argv[i][0] == '-' && argv[i][1] != '\0') { fprintf(stderr, "qsync evolve: unknown option %s\n%s", argv[i], usage); goto done; }
        if (ma.model_path) { fprintf(stderr, "qsync evolve: more than one model file (%s, %s)\n", ma.model_path, argv[i]); goto done; }
        ma.model_path = argv[i];
    }
    if (!ma.model_path) { fprintf(stderr, "qsync evolve: no model file\n%s", usage); goto done; }
    if (isnan(T)) { fprintf(stderr, "qsync evolve: --time T is required\n"); goto done; }
    if (isnan(samples)) { fprintf(stderr, "qsync evolve: --samples N is required\n"); goto done; }
    if (out && !out[0]) { rc = cli_mkdirs(out); goto done; }     /* its message for an empty name, before any work */
    if (!(T / (samples - 1) >= DBL_MIN)) {
        fprintf(stderr, "qsync evolve: --time %g with --samples %.0f: the samples would lie %g apart, below the smallest normal "
                "double %g (not distinct, representable times)\n", T, samples, T / (samples - 1), DBL_MIN);
        goto done;
    }
    if (eo.method == QS_EVOLVE_KRYLOV && !(eo.atol * T <= QS_EVOLVE_GLOBAL_MAX)) {
        fprintf(stderr, "qsync evolve: --atol %g (per unit time) over --time %g bounds the error of rho(T) only by %.3g, not << 1 "
                "(at most %g): lower --atol or --time (past the slowest relaxation the state is the steady state: qsync steady)\n",
                eo.atol, T, eo.atol * T, QS_EVOLVE_GLOBAL_MAX);
        goto done;
    }
    /* S and mean_n always, then the --observe'd ones */
    if (!(which = malloc((size_t)(n_asked + 2) * sizeof *which))) { rc = cli_fail(QS_ENOMEM, "out of memory"); goto done; }
    which[n_which++] = qs_observable_find("S");
    which[n_which++] = qs_observable_find("mean_n");
    for (int q = 0; q < n_asked; q++)
        if (asked[q] != which[0] && asked[q] != which[1]) which[n_which++] = asked[q];

    if ((rc = model_args_load(&ma, 0, &m, NULL, NULL)) != EXIT_OK) goto done;
    int n = qs_model_size(m), any_auto = 0;
    for (int x = 0; x < n; x++) any_auto |= qs_model_osc(m, x)->levels == QS_LEVELS_AUTO;
    if (strncmp(from, "fock:", 5) == 0 && any_auto) {
        fprintf(stderr, "qsync: --from %s: give the levels (--levels N or in the model) with a Fock state, not levels = auto\n", from);
        rc = EXIT_INPUT;
        goto done;
    }
    if (strncmp(from, "fock:", 5) == 0) {
        if (!(fock = malloc((size_t)n * sizeof *fock))) { rc = cli_fail(QS_ENOMEM, "out of memory"); goto done; }
        if (!parse_fock(from, m, fock)) { rc = EXIT_INPUT; goto done; }
    }

    /* the steady state for comparison; levels = auto resolved as qsync steady resolves it */
    qs_analysis_options ao;
    qs_analysis_defaults(&ao);
    ao.guess_tail = ma.tail_tol;
    ao.steady.memory_limit = memory_limit;
    if (!any_auto) ao.truncation = QS_TRUNCATION_NEVER;
    qs_error err;
    int status = qs_analysis_run(m, &ao, &an, &err);
    if (status < 0) { rc = cli_fail(status, "%s: %s", qs_model_source(m), err.message); goto done; }
    const qs_model *mr = qs_analysis_model(an);
    for (int x = 0; x < n; x++)
        if (qs_analysis_levels_auto(an, x))
            fprintf(stderr, "levels = auto: oscillator %s gets %d levels (as qsync steady: estimated truncation error of the "
                    "steady S %.2e <= --s-tol %g)\n", qs_model_name(mr, x), qs_model_osc(mr, x)->levels, qs_analysis_auto_error(an), ao.s_tol);
    if (qs_analysis_warning(an)[0] && any_auto) fprintf(stderr, "qsync: warning: %s\n", qs_analysis_warning(an));
    if (out && (rc = cli_mkdirs(out)) != EXIT_OK) goto done;

    cli_progress ps;
    eo.fock = fock;
    eo.which = which;
    eo.n_which = n_which;
    eo.memory_limit = memory_limit;
    eo.progress = progress;
    eo.progress_ctx = &ps;
    eo.stop = cli_progress_start(&ps);
    status = qs_evolve_run(mr, T, (int)samples, &eo, &e, &err);
    if (cli_progress_finish(&ps)) { fprintf(stderr, "qsync evolve: interrupted; nothing written\n"); rc = 130; goto done; }
    if (status < 0) { rc = cli_fail(status, "%s: %s", qs_model_source(mr), err.message); goto done; }

    rc = EXIT_OK;
    if (out) {
        size_t w = qs_evolve_width(e);
        char **names = column_names(e);
        if (!names) { rc = cli_fail(QS_ENOMEM, "out of memory"); goto done; }
        rc = write_csv(out, e, names);
        if (rc == EXIT_OK) rc = write_plot(out, e, names);
        free_names(names, w);
    }
    if (rc == EXIT_OK) {
        if (as_json) print_json(e, an, fock);
        else print_text(e, an, fock);
    }
done:
    qs_evolve_free(&e);
    qs_analysis_free(&an);
    qs_model_free(&m);
    model_args_free(&ma);
    free(which);
    free(asked);
    free(fock);
    return rc;
}
