/* cmd_spectrum.c — `qsync spectrum MODEL`: the power spectrum S_j(ω) of every oscillator in
 * the steady state (MODEL.md §8, spectrum.h), its peak, width and sum rule, and with --lines
 * the spectral lines (eigenvalues of L on sector −1) and their weights. The steady state is
 * the library's qs_analysis_run, as `qsync steady` solves it, with the same model and solver
 * flags; the spectrum is qs_spectrum_run. This file reads the arguments and writes output. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static const char usage[] =
    "usage: qsync spectrum MODEL [options]\n"
    "  --omega A:B:N            N equally spaced frequencies from A to B inclusive (default: every\n"
    "                           bare transition widened by ten of the largest half-widths, 2001 points)\n"
    "  --lines                  also the spectral lines: frequency, half-width and weight per oscillator\n"
    "  --json                   one JSON object on stdout\n"
    "  --out DIR                write DIR/spectrum.csv (omega, spectrum_<name>...), DIR/lines.csv\n"
    "                           with --lines, DIR/spectrum.json (the command, model and grid) and\n"
    "                           DIR/spectrum.png (gnuplot); a lines.csv of an earlier run is removed\n"
    "  --threads N              frequencies solved at once (default: OpenMP's thread count)\n"
    "  --dense-max N            sectors up to N unknowns get dense eigenvalues (lines, rates); larger\n"
    "                           ones ARPACK near the bare transitions (default 2000; the rates are\n"
    "                           shown without it only when both sectors have at most 600)\n"
    "  --spectrum-solver auto|direct|iterative\n"
    "                           complex sparse LU per frequency, or GMRES preconditioned by the\n"
    "                           uncoupled Liouvillian (default auto: GMRES for large sectors whose\n"
    "                           LU would fill in, such as a ring of four)\n"
    "  --levels N|auto, --set PATH=VALUE, --tail-tol X, and the solver flags of qsync steady\n"
    "                           (--lu, --no-symmetry, --top-tol, --residual-tol, --memory-limit, ...)\n";

/* Lines printed in the table: weight above this fraction of the largest; a line is shared when
 * its second largest weight is at least SHARED_RATIO of its largest. */
#define LINE_PRINT_MIN 1e-3
#define SHARED_RATIO 0.3
#define SHARED_MIN 0.01        /* … and both weights are at least this fraction of their oscillator's <n> */
/* relaxation rates in the diagnostics when both sectors have at most this many unknowns */
#define RATES_CHEAP_MAX 600

static int parse_grid(const char *v, qs_spectrum_options *o)
{
    char buf[256];
    if (strlen(v) >= sizeof buf) goto bad;
    strcpy(buf, v);
    char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2) goto bad;
    *c1 = *c2 = '\0';
    double a, b, n;
    if (qs_parse_real(buf, &a) != QS_OK || qs_parse_real(c1 + 1, &b) != QS_OK || qs_parse_real(c2 + 1, &n) != QS_OK) goto bad;
    qs_error err;
    if (!(n >= 2 && n <= QS_SPECTRUM_MAX_POINTS) || n != (int)n) {
        fprintf(stderr, "qsync: --omega %s: needs a whole number N of points from 2 to %d\n", v, QS_SPECTRUM_MAX_POINTS);
        return 0;
    }
    if (qs_spectrum_check_grid(a, b, (int)n, &err) != QS_OK) {
        fprintf(stderr, "qsync: --omega %s: %s\n", v, err.message);
        return 0;
    }
    o->omega_min = a;
    o->omega_max = b;
    o->n_omega = (int)n;
    return 1;
bad:
    fprintf(stderr, "qsync: --omega needs A:B:N (numbers, e.g. -5:25:2001), not '%s'\n", v);
    return 0;
}

/* Each "; "-separated note of oscillator x's warning: into the JSON array j, or to `fp`. */
static void warnings_each(const qs_spectrum *s, int x, json *j, FILE *fp, const char *name)
{
    const char *w = qs_spectrum_warning(s, x);
    while (*w) {
        const char *e = strchr(w, '\n');
        size_t len = e ? (size_t)(e - w) : strlen(w);
        char note[600];
        snprintf(note, sizeof note, "%.*s", (int)(len < sizeof note ? len : sizeof note - 1), w);
        if (j) json_str(j, NULL, note);
        if (fp) fprintf(fp, "qsync: warning: spectrum of %s: %s\n", name, note);
        w += len;
        if (*w) w++;
    }
}

static double weight_abs_max(const qs_spectrum *s, const double complex *w)
{
    double m = 0.0;
    for (int j = 0; j < qs_spectrum_size(s); j++) m = fmax(m, cabs(w[j]));
    return m;
}

/* Whether line weights w are carried by two oscillators with comparable weight: the two
 * largest |w_j| within SHARED_RATIO of each other, each at least SHARED_MIN of its <n_j>. */
static int shared_line(const qs_spectrum *s, const double complex *w)
{
    double first = 0.0, second = 0.0;
    for (int j = 0; j < qs_spectrum_size(s); j++) {
        double a = cabs(w[j]);
        if (a < SHARED_MIN * qs_spectrum_mean_n(s, j)) continue;
        if (a > first) { second = first; first = a; }
        else if (a > second) second = a;
    }
    return first > 0 && second >= SHARED_RATIO * first;
}

static void print_json(const qs_model *m, const qs_spectrum *s, const qs_steady_stats *st, double rr, double cr)
{
    int n = qs_spectrum_size(s), W = qs_spectrum_points(s);
    json j;
    json_begin(&j, stdout);
    json_object(&j, NULL);
    json_str(&j, "model", qs_model_source(m));
    json_str(&j, "convention", "S_j(omega) = 2 Re Tr[a_j^+ (i omega - L)^-1 (a_j rho_ss)] (QuTiP's spectrum(H, w, c_ops, a.dag(), a)); a free oscillator omega a^+a peaks at +omega");
    json_array(&j, "omega");
    for (int i = 0; i < W; i++) json_num(&j, NULL, qs_spectrum_omega(s)[i]);
    json_end(&j);
    json_array(&j, "oscillators");
    for (int x = 0; x < n; x++) {
        json_object(&j, NULL);
        json_str(&j, "name", qs_model_name(m, x));
        json_array(&j, "spectrum");
        for (int i = 0; i < W; i++) json_num(&j, NULL, qs_spectrum_values(s, x)[i]);
        json_end(&j);
        json_num(&j, "peak_frequency", qs_spectrum_peak_frequency(s, x));
        json_num(&j, "peak_height", qs_spectrum_peak_height(s, x));
        json_num(&j, "fwhm", qs_spectrum_fwhm(s, x));
        json_num(&j, "sum_rule", qs_spectrum_sum_rule(s, x));
        json_num(&j, "mean_n", qs_spectrum_mean_n(s, x));
        if (qs_spectrum_line_count(s) > 0) json_num(&j, "lines_captured", qs_spectrum_lines_captured(s, x));
        json_array(&j, "warnings");
        warnings_each(s, x, &j, NULL, NULL);
        json_end(&j);
        json_end(&j);
    }
    json_end(&j);
    if (qs_spectrum_line_count(s) > 0) {
        json_str(&j, "lines_method", qs_spectrum_lines_method(s));
        json_int(&j, "lines_dropped", qs_spectrum_lines_dropped(s));
        json_num(&j, "lines_residual", qs_spectrum_lines_residual(s));
        json_array(&j, "lines");
        double complex *w = malloc((size_t)n * sizeof *w);
        for (int k = 0; w && k < qs_spectrum_line_count(s); k++) {
            double f, h;
            qs_spectrum_line(s, k, &f, &h, w);
            json_object(&j, NULL);
            json_num(&j, "frequency", f);
            json_num(&j, "half_width", h);
            json_bool(&j, "shared", shared_line(s, w));
            json_array(&j, "weights");
            for (int x = 0; x < n; x++) {
                json_object(&j, NULL);
                json_num(&j, "re", creal(w[x]));
                json_num(&j, "im", cimag(w[x]));
                json_end(&j);
            }
            json_end(&j);
            json_end(&j);
        }
        free(w);
        json_end(&j);
    }
    json_int(&j, "sector_dimension", (long long)qs_spectrum_sector_dimension(s));
    json_str(&j, "solver", qs_spectrum_solver(s));
    json_int(&j, "steady_sector_dimension", (long long)st->sector_dimension);
    json_num(&j, "residual", qs_spectrum_residual(s));
    json_num(&j, "steady_residual", st->residual);
    json_num(&j, "relaxation_rate", rr);
    json_num(&j, "coherence_rate", cr);
    json_end(&j);
}

static void print_text(const qs_model *m, const qs_spectrum *s, const qs_steady_stats *st, double rr, double cr)
{
    int n = qs_spectrum_size(s), W = qs_spectrum_points(s);
    const double *om = qs_spectrum_omega(s);
    printf("%s: spectrum of %d oscillator%s on %d frequencies from %.6g to %.6g\n", qs_model_source(m), n, n == 1 ? "" : "s", W, om[0], om[W - 1]);
    printf("S_j(omega) = 2 Re Tr[a_j^+ (i omega - L)^-1 a_j rho_ss] (QuTiP's convention: a free oscillator peaks at +omega)\n");
    printf("sector -1: %zu unknowns, %s solver; largest relative residual %.2e (steady state: %zu unknowns, residual %.2e)\n\n",
           qs_spectrum_sector_dimension(s), strcmp(qs_spectrum_solver(s), "direct") == 0 ? "sparse LU" : "preconditioned GMRES",
           qs_spectrum_residual(s), st->sector_dimension, st->residual);
    printf("%-16s %-16s %-14s %-14s %-14s %-12s %s\n", "oscillator", "peak frequency", "peak height", "FWHM", "sum rule", "<n>",
           "sum rule / <n>");
    for (int x = 0; x < n; x++) {
        char ratio[32] = "n/a";
        if (qs_spectrum_mean_n(s, x) > 0) snprintf(ratio, sizeof ratio, "%.6f", qs_spectrum_sum_rule(s, x) / qs_spectrum_mean_n(s, x));
        printf("%-16s %-16.10g %-14.6e %-14.6e %-14.6e %-12.6f %s\n", qs_model_name(m, x), qs_spectrum_peak_frequency(s, x),
               qs_spectrum_peak_height(s, x), qs_spectrum_fwhm(s, x), qs_spectrum_sum_rule(s, x), qs_spectrum_mean_n(s, x), ratio);
    }
    printf("(sum rule: the integral of S dw/2pi over the grid's range; over the whole line it is <n>)\n");
    if (!isnan(rr) || !isnan(cr)) printf("relaxation rate (sector 0) %.6g, coherence rate (sector -1, narrowest line) %.6g\n", rr, cr);
    int L = qs_spectrum_line_count(s);
    if (L == 0) return;
    double complex *w = malloc((size_t)n * sizeof *w);
    if (!w) return;
    double big = 0.0;
    for (int k = 0; k < L; k++) {
        qs_spectrum_line(s, k, NULL, NULL, w);
        big = fmax(big, weight_abs_max(s, w));
    }
    int shown = 0, shared = 0;
    for (int k = 0; k < L; k++) {
        qs_spectrum_line(s, k, NULL, NULL, w);
        if (weight_abs_max(s, w) >= LINE_PRINT_MIN * big) shown++;
    }
    printf("\nspectral lines (%s): %d, of which %d with a weight above %g of the largest:\n", qs_spectrum_lines_method(s), L, shown, LINE_PRINT_MIN);
    printf("%-16s %-14s", "frequency", "half-width");
    for (int x = 0; x < n; x++) printf(" %-26s", qs_model_name(m, x));
    printf("\n");
    for (int k = 0; k < L; k++) {
        double f, h;
        qs_spectrum_line(s, k, &f, &h, w);
        if (weight_abs_max(s, w) < LINE_PRINT_MIN * big) continue;
        printf("%-16.10g %-14.6e", f, h);
        for (int x = 0; x < n; x++) {
            char c[64];
            snprintf(c, sizeof c, "%.4e%+.4ei", creal(w[x]), cimag(w[x]));
            printf(" %-26s", c);
        }
        int sh = shared_line(s, w);
        shared += sh;
        printf("%s\n", sh ? "  shared" : "");
    }
    printf("(weights w_jm: S_j = sum_m 2 Re[w_jm / (i omega - lambda_m)], lambda_m = -half_width + i frequency;\n"
           " sum_m Re w_jm = <n_j>. \"shared\": a line carried by two oscillators with comparable weight (second\n"
           " largest |w| at least %g of the largest, both at least %g of their <n>), the quantum signature of\n"
           " frequency locking: %d line%s)\n",
           SHARED_RATIO, SHARED_MIN, shared, shared == 1 ? "" : "s");
    if (strcmp(qs_spectrum_lines_method(s), "arpack") == 0) {
        printf("(ARPACK: only the lines nearest the bare transitions; their sums are partial. Fraction of <n> carried\n"
               " by the lines found (sum_m Re w_jm / <n_j>):");
        for (int x = 0; x < n; x++) printf(" %s %.6f", qs_model_name(m, x), qs_spectrum_lines_captured(s, x));
        printf("; %d eigenpair%s dropped, largest residual %.2e)\n", qs_spectrum_lines_dropped(s), qs_spectrum_lines_dropped(s) == 1 ? "" : "s",
               qs_spectrum_lines_residual(s));
    }
    free(w);
}

static int write_csv(const char *dir, const qs_model *m, const qs_spectrum *s)
{
    char path[4096], tmp[4200];
    int n = qs_spectrum_size(s), W = qs_spectrum_points(s);
    snprintf(path, sizeof path, "%s/spectrum.csv", dir);
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    fputs("omega", fp);
    for (int x = 0; x < n; x++) fprintf(fp, ",spectrum_%s", qs_model_name(m, x));
    fputc('\n', fp);
    for (int i = 0; i < W; i++) {
        fprintf(fp, "%.17g", qs_spectrum_omega(s)[i]);
        for (int x = 0; x < n; x++) fprintf(fp, ",%.17g", qs_spectrum_values(s, x)[i]);
        fputc('\n', fp);
    }
    int rc = out_commit(fp, tmp, path);
    snprintf(path, sizeof path, "%s/lines.csv", dir);
    if (rc == EXIT_OK && qs_spectrum_line_count(s) == 0 && remove(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "qsync: cannot remove the earlier %s: %s\n", path, strerror(errno));
        return EXIT_IO;
    }
    if (rc != EXIT_OK || qs_spectrum_line_count(s) == 0) return rc;
    if (!(fp = out_open(path, tmp, sizeof tmp))) return EXIT_IO;
    fputs("frequency,half_width", fp);
    for (int x = 0; x < n; x++) fprintf(fp, ",weight_re_%s,weight_im_%s", qs_model_name(m, x), qs_model_name(m, x));
    fputc('\n', fp);
    double complex *w = malloc((size_t)n * sizeof *w);
    for (int k = 0; w && k < qs_spectrum_line_count(s); k++) {
        double f, h;
        qs_spectrum_line(s, k, &f, &h, w);
        fprintf(fp, "%.17g,%.17g", f, h);
        for (int x = 0; x < n; x++) fprintf(fp, ",%.17g,%.17g", creal(w[x]), cimag(w[x]));
        fputc('\n', fp);
    }
    free(w);
    return out_commit(fp, tmp, path);
}

/* spectrum.json: what reproduces spectrum.csv: program, command line, date, the model as
 * solved (levels resolved) and the grid (as sweep.json describes a sweep). */
static int write_description(const char *dir, const qs_model *m, const qs_spectrum *s, int lines, int argc, char **argv)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/spectrum.json", dir);
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    json j;
    json_begin(&j, fp);
    json_object(&j, NULL);
    json_header(&j, "spectrum", argc, argv, m);
    json_model(&j, m);
    int W = qs_spectrum_points(s);
    json_object(&j, "grid");
    json_num(&j, "omega_min", qs_spectrum_omega(s)[0]);
    json_num(&j, "omega_max", qs_spectrum_omega(s)[W - 1]);
    json_int(&j, "points", W);
    json_end(&j);
    json_bool(&j, "lines", lines);
    json_str(&j, "solver", qs_spectrum_solver(s));
    json_end(&j);
    return out_commit(fp, tmp, path);
}

/* spectrum.gp: every curve is a column named by its header, and titled by that name. */
static int write_plot(const char *dir, const qs_model *m, int n)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/spectrum.gp", dir);
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    fprintf(fp, "# gnuplot script for spectrum.csv; run `gnuplot spectrum.gp` in this folder to redraw\n"
                "set terminal pngcairo size 900,600 noenhanced font ',11'\nset output 'spectrum.png'\n"
                "set datafile separator ','\nset datafile missing 'nan'\nset datafile columnheaders\n"
                "set xlabel 'omega'\nset ylabel 'spectrum S(omega)'\nset key outside right\nset grid\nplot");
    for (int x = 0; x < n; x++)
        fprintf(fp, "%s \\\n  'spectrum.csv' using (column(\"omega\")):(column(\"spectrum_%s\")) with lines lw 2 title \"spectrum_%s\"",
                x ? "," : "", qs_model_name(m, x), qs_model_name(m, x));
    fputc('\n', fp);
    int rc = out_commit(fp, tmp, path);
    if (rc != EXIT_OK) return rc;
    return run_gnuplot(dir, "spectrum") ? EXIT_OK : EXIT_IO;
}

static void progress(void *ctx, int done, int total)
{
    cli_progress *p = ctx;
    double elapsed;
    if (!cli_progress_due(p, &elapsed)) return;
    fprintf(stderr, "%sspectrum: %d of %d frequencies (%.0f%%), %.0f s%s", cli_progress_lead(p), done, total, 100.0 * done / total,
            elapsed, cli_progress_tail(p));
}

int cmd_spectrum(int argc, char **argv)
{
    model_args ma = {0};
    ma.tail_tol = QS_AUTO_GUESS_TAIL;
    qs_analysis_options ao;
    qs_analysis_defaults(&ao);
    qs_spectrum_options so;
    qs_spectrum_defaults(&so);
    int as_json = 0, rc, threads = 0, dense_max = 0;
    const char *out = NULL, *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = model_args_take(&ma, argc, argv, &i)) != 0) { if (r < 0) goto bad_flag; continue; }
        if (cli_take(argc, argv, &i, "--json", 0, &v) > 0) { as_json = 1; continue; }
        if (cli_take(argc, argv, &i, "--lines", 0, &v) > 0) { so.lines = 1; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(usage, stdout); model_args_free(&ma); return EXIT_OK; }
        if ((r = cli_take(argc, argv, &i, "--omega", 1, &v)) != 0) { if (r < 0 || !parse_grid(v, &so)) goto bad_flag; continue; }
        if ((r = cli_take(argc, argv, &i, "--out", 1, &v)) != 0) { if (r < 0) goto bad_flag; out = v; continue; }
        if ((r = threads_take(argc, argv, &i, &threads)) != 0) { if (r < 0) goto bad_flag; continue; }
        if ((r = cli_take(argc, argv, &i, "--dense-max", 1, &v)) != 0) {
            char *end;
            long x = r > 0 ? strtol(v, &end, 10) : 0;
            if (r < 0 || end == v || *end || x < 1 || x > 1000000000) {
                if (r > 0) fprintf(stderr, "qsync spectrum: --dense-max needs a whole number of unknowns >= 1, not '%s'\n", v);
                goto bad_flag;
            }
            dense_max = (int)x;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--spectrum-solver", 1, &v)) != 0) {
            if (r < 0) goto bad_flag;
            if (strcmp(v, "auto") == 0) so.solver = QS_SPECTRUM_AUTO;
            else if (strcmp(v, "direct") == 0) so.solver = QS_SPECTRUM_DIRECT;
            else if (strcmp(v, "iterative") == 0) so.solver = QS_SPECTRUM_ITERATIVE;
            else { fprintf(stderr, "qsync: --spectrum-solver needs auto, direct or iterative, not '%s'\n", v); goto bad_flag; }
            continue;
        }
        if ((r = truncation_args_take(argc, argv, &i, &ao.truncation, &ao.s_tol)) != 0) { if (r < 0) goto bad_flag; continue; }
        if ((r = steady_options_take(&ao.steady, argc, argv, &i)) != 0) { if (r < 0) goto bad_flag; continue; }
        if (argv[i][0] == '-' && argv[i][1] != '\0') { fprintf(stderr, "qsync spectrum: unknown option %s\n%s", argv[i], usage); goto bad_flag; }
        if (ma.model_path) { fprintf(stderr, "qsync spectrum: more than one model file (%s, %s)\n", ma.model_path, argv[i]); goto bad_flag; }
        ma.model_path = argv[i];
    }
    if (!ma.model_path) { fprintf(stderr, "qsync spectrum: no model file\n%s", usage); goto bad_flag; }
    if (ao.steady.full) { fprintf(stderr, "qsync spectrum: --full is not available here (the spectrum is solved on its sector)\n"); goto bad_flag; }
    ao.guess_tail = ma.tail_tol;
    so.threads = threads;
    if (dense_max > 0) so.dense_max = dense_max;
    so.memory_limit = ao.steady.memory_limit;

    qs_model *m = NULL;
    rc = model_args_load(&ma, 0, &m, NULL, NULL);
    model_args_free(&ma);
    if (rc != EXIT_OK) return rc;
    qs_error err;
    qs_analysis *an = NULL;
    int status = qs_analysis_run(m, &ao, &an, &err);
    if (status < 0) {
        rc = cli_fail(status, "%s: %s", qs_model_source(m), err.message);
        qs_model_free(&m);
        return rc;
    }
    if (qs_analysis_warning(an)[0]) fprintf(stderr, "qsync: warning: %s\n", qs_analysis_warning(an));
    const qs_model *mr = qs_analysis_model(an);
    qs_spectrum *s = NULL;
    cli_progress ps;
    so.stop = cli_progress_start(&ps);
    so.progress = progress;
    so.progress_ctx = &ps;
    status = qs_spectrum_run(mr, qs_analysis_state(an), &so, &s, &err);
    if (cli_progress_finish(&ps)) {
        fprintf(stderr, "qsync spectrum: interrupted; nothing written\n");
        qs_spectrum_free(&s);
        qs_analysis_free(&an);
        qs_model_free(&m);
        return 130;
    }
    if (status < 0) {
        rc = cli_fail(status, "%s: spectrum: %s", qs_model_source(m), err.message);
        qs_analysis_free(&an);
        qs_model_free(&m);
        return rc;
    }
    double rr = NAN, cr = NAN;
    qs_relaxation_options ro;
    qs_relaxation_defaults(&ro);
    ro.dense_max = dense_max > 0 ? dense_max : RATES_CHEAP_MAX;
    ro.dense_only = dense_max == 0;
    qs_error rerr;
    if (qs_relaxation_rates_run(mr, &ro, &rr, &cr, &rerr) != QS_OK) rr = cr = NAN;   /* diagnostics only when cheap */
    for (int x = 0; x < qs_spectrum_size(s); x++) warnings_each(s, x, NULL, stderr, qs_model_name(mr, x));
    rc = EXIT_OK;
    if (out) {
        rc = cli_mkdirs(out);
        if (rc == EXIT_OK) rc = write_description(out, mr, s, so.lines, argc, argv);
        if (rc == EXIT_OK) rc = write_csv(out, mr, s);
        if (rc == EXIT_OK) rc = write_plot(out, mr, qs_spectrum_size(s));
    }
    if (rc == EXIT_OK) {
        if (as_json) print_json(mr, s, qs_analysis_stats(an), rr, cr);
        else print_text(mr, s, qs_analysis_stats(an), rr, cr);
    }
    qs_spectrum_free(&s);
    qs_analysis_free(&an);
    qs_model_free(&m);
    return rc;

bad_flag:
    model_args_free(&ma);
    return EXIT_INPUT;
}
