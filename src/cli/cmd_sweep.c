/* cmd_sweep.c — `qsync sweep MODEL --vary PATH[,PATH...]=START:STOP:COUNT ... --out DIR`.
 *
 * Files in DIR:
 *   sweep.csv          the result, in grid order (first axis slowest), written atomically at
 *                      the end — also after Ctrl-C, then holding the points done so far;
 *   sweep.partial.csv  the journal: a signature line, a header, then one row per solved
 *                      point with its index, appended and flushed block by block, so a
 *                      killed run loses at most the blocks in flight; --resume reads it;
 *   sweep.gp, sweep.png  the gnuplot script and its plot (curves for one axis, heat maps
 *                      for two).
 * Exit status: 0 ok, 2 bad input, 3 some points failed (NaN with their status), 130 interrupted.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

static const char usage[] =
    "usage: qsync sweep MODEL --vary PATH[,PATH...]=START:STOP:COUNT [--vary ...] --out DIR [options]\n"
    "  --vary P1,P2=A:B:N       move the paths P1, P2 together from A to B in N points (one axis)\n"
    "  --vary P=v1,v2,v3        an axis of listed values\n"
    "  --set PATH=VALUE         fixed override; --levels N|auto for every oscillator\n"
    "  --tie PATH=EXPRESSION    derived parameter at every point, e.g. --tie K=1/sigma\n"
    "  --out DIR                output folder (created)\n"
    "  --resume                 finish an interrupted sweep in DIR without recomputing its points\n"
    "  --threads N              threads (default: all cores)\n"
    "  --no-plot                skip gnuplot\n"
    "  --perturb                add first-order S of every pair (columns S1_<a>-<b>)\n"
    "  --classical              the classical Langevin model (columns S_err_<a>-<b>, escaped_fraction);\n"
    "                           with --cutoff, --seed, --dt, --burn-in, --time, --sample-every,\n"
    "                           --trajectories, --replicas as for qsync classical\n"
    "  --target-err X           classical: raise the trajectories per point until S_err is about X\n"
    "  --solver, --iterative-tol, --restart, --no-symmetry, --lu, --top-tol, --residual-tol,\n"
    "  --memory-limit, --tail-tol: as for steady (GMRES starts each point from the previous one)\n"
    "  --cold-start             GMRES: start every point from the uncoupled state instead\n";

static volatile int stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

typedef struct {
    const qs_sweep *sweep;
    const qs_model *model;
    int n_axes, pairs;
    unsigned char *done;
    double *S, *S1, *residual, *top;     /* S1: first order, with --perturb */
    double *S_err, *escaped;             /* classical */
    int *status;
    FILE *journal;
    size_t solved, total, todo;
    double t0, last_print;
    int tty, failed;
} run_state;

static const char *status_word(int st)
{
    switch (st) {
    case QS_OK: return "ok";
    case QS_WARN_TRUNCATION: return "top-level";
    case QS_ENUMERIC: return "numerical";
    case QS_ETOOBIG: case QS_ENOMEM: return "memory";
    default: return "input";
    }
}

static int status_code(const char *w)
{
    if (strcmp(w, "ok") == 0) return QS_OK;
    if (strcmp(w, "top-level") == 0) return QS_WARN_TRUNCATION;
    if (strcmp(w, "numerical") == 0) return QS_ENUMERIC;
    if (strcmp(w, "memory") == 0) return QS_ETOOBIG;
    return QS_EINPUT;
}

static void write_row(FILE *fp, const run_state *rs, size_t p, int with_index)
{
    double v[64];
    qs_sweep_coordinates(rs->sweep, p, v);
    if (with_index) fprintf(fp, "%zu,", p);
    for (int a = 0; a < rs->n_axes; a++) fprintf(fp, "%s%.17g", a ? "," : "", v[a]);
    for (int q = 0; q < rs->pairs; q++) fprintf(fp, ",%.17g", rs->S[p * (size_t)rs->pairs + (size_t)q]);
    if (rs->S_err) {
        for (int q = 0; q < rs->pairs; q++) fprintf(fp, ",%.17g", rs->S_err[p * (size_t)rs->pairs + (size_t)q]);
        fprintf(fp, ",%.17g,%s\n", rs->escaped[p], status_word(rs->status[p]));
        return;
    }
    fprintf(fp, ",%.6e,%.6e,%s", rs->residual[p], rs->top[p], status_word(rs->status[p]));
    for (int q = 0; rs->S1 && q < rs->pairs; q++) fprintf(fp, ",%.17g", rs->S1[p * (size_t)rs->pairs + (size_t)q]);
    fputc('\n', fp);
}

static void write_header(FILE *fp, const run_state *rs, char **axis_names, int with_index)
{
    if (with_index) fputs("point,", fp);
    for (int a = 0; a < rs->n_axes; a++) fprintf(fp, "%s%s", a ? "," : "", axis_names[a]);
    for (int x = 0; x < qs_model_size(rs->model); x++)
        for (int y = x + 1; y < qs_model_size(rs->model); y++)
            fprintf(fp, ",S_%s-%s", qs_model_name(rs->model, x), qs_model_name(rs->model, y));
    if (rs->S_err) {
        for (int x = 0; x < qs_model_size(rs->model); x++)
            for (int y = x + 1; y < qs_model_size(rs->model); y++)
                fprintf(fp, ",S_err_%s-%s", qs_model_name(rs->model, x), qs_model_name(rs->model, y));
        fputs(",escaped_fraction,status\n", fp);
        return;
    }
    fputs(",residual,top_population,status", fp);
    for (int x = 0; rs->S1 && x < qs_model_size(rs->model); x++)
        for (int y = x + 1; y < qs_model_size(rs->model); y++)
            fprintf(fp, ",S1_%s-%s", qs_model_name(rs->model, x), qs_model_name(rs->model, y));
    fputc('\n', fp);
}

static void progress(run_state *rs, int final)
{
    if (!rs->tty) return;
    double now = qs_now_cli();
    if (!final && now - rs->last_print < 0.2) return;
    rs->last_print = now;
    double rate = rs->solved / (now - rs->t0 + 1e-9), eta = rate > 0 ? (rs->todo - rs->solved) / rate : 0;
    int width = 30, fill = rs->todo ? (int)(width * rs->solved / rs->todo) : width;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu points, %.0f/s, ETA %.0f s   ", fill, "==============================",
            width - fill, "", rs->solved, rs->todo, rate, eta);
    if (final) fputc('\n', stderr);
    fflush(stderr);
}

static void on_block(void *ctx, const qs_sweep_result *r, int n)
{
    run_state *rs = ctx;
    for (int i = 0; i < n; i++) {
        size_t p = r[i].point;
        memcpy(rs->S + p * (size_t)rs->pairs, r[i].S, (size_t)rs->pairs * sizeof *rs->S);
        if (rs->S1 && r[i].S1) memcpy(rs->S1 + p * (size_t)rs->pairs, r[i].S1, (size_t)rs->pairs * sizeof *rs->S1);
        if (rs->S_err && r[i].S_err) memcpy(rs->S_err + p * (size_t)rs->pairs, r[i].S_err, (size_t)rs->pairs * sizeof *rs->S_err);
        if (rs->escaped) rs->escaped[p] = r[i].escaped_fraction;
        rs->residual[p] = r[i].residual;
        rs->top[p] = r[i].top_population;
        rs->status[p] = r[i].status;
        rs->done[p] = 1;
        if (rs->journal) write_row(rs->journal, rs, p, 1);
    }
    if (rs->journal && fflush(rs->journal) != 0) rs->failed = 1;
    rs->solved += (size_t)n;
    progress(rs, 0);
}

/* FNV-1a over the model file's bytes and the arguments that define the grid */
static unsigned long long signature(const char *model_path, int argc, char **argv)
{
    unsigned long long h = 1469598103934665603ULL;
    FILE *fp = fopen(model_path, "rb");
    int ch;
    while (fp && (ch = fgetc(fp)) != EOF) h = (h ^ (unsigned char)ch) * 1099511628211ULL;
    if (fp) fclose(fp);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--resume") == 0 || strcmp(argv[i], "--no-plot") == 0) continue;
        if (strncmp(argv[i], "--threads", 9) == 0 || strncmp(argv[i], "--out", 5) == 0) {
            if (!strchr(argv[i], '=')) i++;
            continue;
        }
        for (const char *p = argv[i]; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    return h;
}

/* Read the journal of an earlier run; returns the points it holds, or −1 on a mismatch. */
static long read_journal(const char *path, unsigned long long sig, run_state *rs)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    char line[1 << 16];
    unsigned long long got = 0;
    long count = 0;
    if (!fgets(line, sizeof line, fp) || sscanf(line, "# qsync sweep %llx", &got) != 1 || got != sig ||
        !fgets(line, sizeof line, fp)) {
        fclose(fp);
        return -1;
    }
    while (fgets(line, sizeof line, fp)) {
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') break;            /* a row cut short by a kill */
        char *save = NULL, *tok = strtok_r(line, ",\n", &save);
        if (!tok) break;
        size_t p = strtoull(tok, NULL, 10);
        if (p >= rs->total) break;
        for (int a = 0; a < rs->n_axes; a++) strtok_r(NULL, ",\n", &save);
        int ok = 1;
        for (int q = 0; q < rs->pairs && ok; q++) {
            tok = strtok_r(NULL, ",\n", &save);
            ok = tok != NULL;
            if (ok) rs->S[p * (size_t)rs->pairs + (size_t)q] = strtod(tok, NULL);
        }
        if (rs->S_err) {                                          /* classical: S_err..., escaped, status */
            for (int q = 0; q < rs->pairs && ok; q++) {
                tok = strtok_r(NULL, ",\n", &save);
                ok = tok != NULL;
                if (ok) rs->S_err[p * (size_t)rs->pairs + (size_t)q] = strtod(tok, NULL);
            }
            char *esc = strtok_r(NULL, ",\n", &save), *stw = strtok_r(NULL, ",\n", &save);
            if (!ok || !esc || !stw) break;
            rs->escaped[p] = strtod(esc, NULL);
            rs->status[p] = status_code(stw);
            if (!rs->done[p]) count++;
            rs->done[p] = 1;
            continue;
        }
        char *res = strtok_r(NULL, ",\n", &save), *top = strtok_r(NULL, ",\n", &save), *st = strtok_r(NULL, ",\n", &save);
        if (!ok || !res || !top || !st) break;
        for (int q = 0; rs->S1 && q < rs->pairs && ok; q++) {
            tok = strtok_r(NULL, ",\n", &save);
            ok = tok != NULL;
            if (ok) rs->S1[p * (size_t)rs->pairs + (size_t)q] = strtod(tok, NULL);
        }
        if (!ok) break;
        rs->residual[p] = strtod(res, NULL);
        rs->top[p] = strtod(top, NULL);
        rs->status[p] = status_code(st);
        if (!rs->done[p]) count++;
        rs->done[p] = 1;
    }
    fclose(fp);
    return count;
}

/* Journal of process `rank` in DIR: sweep.partial.csv for rank 0 (and a single process),
 * sweep.partial.RANK.csv for the others. */
static void journal_path(char *buf, size_t size, const char *dir, int rank)
{
    if (rank == 0) snprintf(buf, size, "%s/sweep.partial.csv", dir);
    else snprintf(buf, size, "%s/sweep.partial.%d.csv", dir, rank);
}

/* The next journal of a rank > 0 (sweep.partial.N.csv) in the listing d of DIR: its path
 * into path; 0 when there is none left. */
static int next_rank_journal(DIR *d, const char *dir, char *path, size_t size)
{
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int rank, n = 0;
        if (sscanf(e->d_name, "sweep.partial.%d.csv%n", &rank, &n) == 1 && n > 0 && e->d_name[n] == '\0' && rank > 0) {
            snprintf(path, size, "%s/%s", dir, e->d_name);
            return 1;
        }
    }
    return 0;
}

/* Read every journal in DIR (any number of processes may have written them); returns the
 * points they hold, or −1 (with the offending file in bad) when one belongs to another sweep. */
static long read_journals(const char *dir, unsigned long long sig, run_state *rs, char *bad, size_t bad_size)
{
    char path[4200];
    journal_path(path, sizeof path, dir, 0);
    long total = read_journal(path, sig, rs);
    if (total < 0) { snprintf(bad, bad_size, "%s", path); return -1; }
    DIR *d = opendir(dir);
    while (d && next_rank_journal(d, dir, path, sizeof path)) {
        long got = read_journal(path, sig, rs);
        if (got < 0) { snprintf(bad, bad_size, "%s", path); total = -1; break; }
        total += got;
    }
    if (d) closedir(d);
    return total;
}

/* A journal, atomically: signature, header, and (if rows) every point known. */
static int write_journal(const char *path, unsigned long long sig, const run_state *rs, char **axis_names, int rows)
{
    char tmp[4300];
    FILE *jf = out_open(path, tmp, sizeof tmp);
    if (!jf) return EXIT_IO;
    fprintf(jf, "# qsync sweep %016llx\n", sig);
    write_header(jf, rs, axis_names, 1);
    for (size_t p = 0; rows && p < rs->total; p++) if (rs->done[p]) write_row(jf, rs, p, 1);
    return out_commit(jf, tmp, path);
}

/* Rewrite rank 0's journal with every point known, and drop the other ranks' journals. */
static int consolidate_journals(const char *dir, unsigned long long sig, const run_state *rs, char **axis_names)
{
    char path[4200];
    journal_path(path, sizeof path, dir, 0);
    int rc = write_journal(path, sig, rs, axis_names, 1);
    if (rc != EXIT_OK) return rc;
    DIR *d = opendir(dir);
    while (d && next_rank_journal(d, dir, path, sizeof path)) remove(path);
    if (d) closedir(d);
    return EXIT_OK;
}

static int write_plot(const char *dir, const run_state *rs, char **axis_names, const qs_axis *axes)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/sweep.gp", dir);
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    int two_d = rs->n_axes >= 2 && axes[0].count > 1 && axes[1].count > 1;
    fprintf(fp, "# gnuplot script for sweep.csv; run `gnuplot sweep.gp` in this folder to redraw\n"
                "set terminal pngcairo size %d,%d noenhanced font ',11'\nset output 'sweep.png'\n"
                "set datafile separator ','\nset datafile missing 'nan'\nset datafile columnheaders\n",
            two_d ? 520 * (rs->pairs < 3 ? rs->pairs : 3) : 900, two_d ? 460 * ((rs->pairs + 2) / 3) : 600);
    if (!two_d) {
        if (rs->S_err)
            fprintf(fp, "set xlabel '%s'\nset ylabel 'S'\nset key outside right\nset grid\n"
                        "plot for [i=%d:%d] 'sweep.csv' using 1:i:(column(i+%d)) with yerrorlines pt 7 ps 0.4 lw 2 title columnhead(i)\n",
                    axis_names[0], rs->n_axes + 1, rs->n_axes + rs->pairs, rs->pairs);
        else
            fprintf(fp, "set xlabel '%s'\nset ylabel 'S'\nset key outside right\nset grid\n"
                        "plot for [i=%d:%d] 'sweep.csv' using 1:i with linespoints pt 7 ps 0.4 lw 2 title columnhead(i)\n",
                    axis_names[0], rs->n_axes + 1, rs->n_axes + rs->pairs);
    } else {
        fprintf(fp, "set multiplot layout %d,%d\nset xlabel '%s'\nset ylabel '%s'\nset cblabel 'S'\n"
                    "set palette rgb 33,13,10\nset xrange [%.17g:%.17g]\nset yrange [%.17g:%.17g]\n",
                (rs->pairs + 2) / 3, rs->pairs < 3 ? rs->pairs : 3, axis_names[0], axis_names[1],
                fmin(axes[0].start, axes[0].stop), fmax(axes[0].start, axes[0].stop),
                fmin(axes[1].start, axes[1].stop), fmax(axes[1].start, axes[1].stop));
        int q = 0;
        for (int x = 0; x < qs_model_size(rs->model); x++)
            for (int y = x + 1; y < qs_model_size(rs->model); y++, q++)
                fprintf(fp, "set title 'S_%s-%s'\nplot 'sweep.csv' using 1:2:%d with image notitle\n",
                        qs_model_name(rs->model, x), qs_model_name(rs->model, y), rs->n_axes + 1 + q);
        fputs("unset multiplot\n", fp);
    }
    int rc = out_commit(fp, tmp, path);
    if (rc != EXIT_OK) return rc;
    return run_gnuplot(dir, "sweep") ? EXIT_OK : EXIT_IO;
}

/* Parse "P1,P2=A:B:N" into an axis (paths point into a copy owned by the caller). */
static int parse_vary(const char *text, qs_axis *axis, char **copy)
{
    const char *eq = strrchr(text, '=');
    if (!eq) return 0;
    *copy = strdup(text);
    if (!*copy) return 0;
    char *paths = *copy, *range = *copy + (eq - text);
    *range++ = '\0';
    char *c1 = strchr(range, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1) {                                                   /* v1,v2,...: listed values */
        int nv = 1;
        for (char *p = range; *p; p++) nv += *p == ',';
        double *vals = malloc((size_t)nv * sizeof *vals);
        if (!vals) return 0;
        int k = 0;
        for (char *save = NULL, *tok = strtok_r(range, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (k == nv || qs_parse_real(tok, &vals[k++]) != QS_OK) { free(vals); return 0; }
        if (k < 1) { free(vals); return 0; }
        axis->values = vals;
        axis->count = k;
        axis->start = vals[0];
        axis->stop = vals[k - 1];
    } else if (!c2) {
        return 0;
    } else {
    *c1 = *c2 = '\0';
    char *end;
    long count = strtol(c2 + 1, &end, 10);
    if (qs_parse_real(range, &axis->start) != QS_OK || qs_parse_real(c1 + 1, &axis->stop) != QS_OK || *end ||
        end == c2 + 1 || count < 1 || count > 10000000)
        return 0;
    axis->count = (int)count;
    axis->values = NULL;
    }
    int n = 1;
    for (char *p = paths; *p; p++) n += *p == ',';
    const char **list = calloc((size_t)n, sizeof *list);
    if (!list) return 0;
    int k = 0;
    for (char *save = NULL, *tok = strtok_r(paths, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) list[k++] = tok;
    if (k == 0) { free(list); return 0; }
    axis->paths = list;
    axis->n_paths = k;
    return 1;
}

int cmd_sweep(int argc, char **argv)
{
    model_args ma = {0};
    ma.tail_tol = QS_TAIL_TOL_DEFAULT;
    qs_sweep_options so;
    qs_sweep_defaults(&so);
    int n_axes = 0, n_ties = 0, resume = 0, plot = 1, rc = EXIT_INPUT;
    qs_axis axes[64] = {{0}};
    char *axis_copy[64] = {0}, *tie_copy[64] = {0};
    qs_tie ties[64];
    const char *out = NULL, *v;
    qs_model *m = NULL;
    qs_sweep *sw = NULL;
    run_state rs = {0};
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = model_args_take(&ma, argc, argv, &i)) != 0) { if (r < 0) goto done; continue; }
        if ((r = cli_take(argc, argv, &i, "--vary", 1, &v)) != 0) {
            if (r < 0) goto done;
            if (n_axes == 64 || !parse_vary(v, &axes[n_axes], &axis_copy[n_axes])) {
                fprintf(stderr, "qsync sweep: --vary %s: expected PATH[,PATH...]=START:STOP:COUNT with COUNT >= 1, or PATH=v1,v2,...\n", v);
                n_axes++;
                goto done;
            }
            n_axes++;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--tie", 1, &v)) != 0) {
            if (r < 0) goto done;
            const char *eq = strchr(v, '=');
            if (!eq || n_ties == 64) { fprintf(stderr, "qsync sweep: --tie %s: expected PATH=EXPRESSION\n", v); goto done; }
            tie_copy[n_ties] = strdup(v);
            tie_copy[n_ties][eq - v] = '\0';
            ties[n_ties].path = tie_copy[n_ties];
            ties[n_ties].expression = tie_copy[n_ties] + (eq - v) + 1;
            n_ties++;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--out", 1, &v)) != 0) { if (r < 0) goto done; out = v; continue; }
        if (cli_take(argc, argv, &i, "--resume", 0, &v) > 0) { resume = 1; continue; }
        if (cli_take(argc, argv, &i, "--no-plot", 0, &v) > 0) { plot = 0; continue; }
        if (cli_take(argc, argv, &i, "--perturb", 0, &v) > 0) { so.perturb = 1; continue; }
        if (cli_take(argc, argv, &i, "--classical", 0, &v) > 0) { so.classical = 1; continue; }
        if ((r = classical_options_take(&so.classical_options, argc, argv, &i)) != 0) { if (r < 0) goto done; continue; }
        if ((r = cli_take(argc, argv, &i, "--target-err", 1, &v)) != 0) {
            if (r < 0 || !cli_real("--target-err", v, &so.target_err) || !(so.target_err > 0)) {
                if (r >= 0) fprintf(stderr, "qsync sweep: --target-err must be > 0\n");
                goto done;
            }
            continue;
        }
        if ((r = threads_take(argc, argv, &i, &so.threads)) != 0) {
            if (r < 0) goto done;
            so.classical_options.threads = so.threads;
            continue;
        }
        if ((r = steady_options_take(&so.steady, argc, argv, &i)) != 0) { if (r < 0) goto done; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(usage, stdout); rc = EXIT_OK; goto done; }
        if (argv[i][0] == '-' && argv[i][1] != '\0') { fprintf(stderr, "qsync sweep: unknown option %s\n%s", argv[i], usage); goto done; }
        if (ma.model_path) { fprintf(stderr, "qsync sweep: more than one model file (%s, %s)\n", ma.model_path, argv[i]); goto done; }
        ma.model_path = argv[i];
    }
    if (!ma.model_path || !out || n_axes == 0) {
        fprintf(stderr, "qsync sweep: %s\n%s", !ma.model_path ? "no model file" : !out ? "no --out DIR" : "no --vary axis", usage);
        goto done;
    }
    so.tail_tol = ma.tail_tol;
    so.part = par_rank();                  /* under MPI: this process's share of the blocks */
    so.parts = par_size();
    if (so.parts > 1 && so.threads == 0) { /* the cores of a machine shared by its processes */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        so.threads = cores > par_local_size() ? (int)(cores / par_local_size()) : 1;
        so.classical_options.threads = so.threads;
    }
    /* levels = auto stays for the sweep to resolve over the grid */
    if ((rc = model_args_load(&ma, 0, &m, NULL, NULL)) != EXIT_OK) goto done;
    {
        qs_error err;
        int st = qs_sweep_create(m, n_axes, axes, n_ties, ties, &so, &sw, &err);
        if (st != QS_OK) { rc = cli_fail(st, "%s", err.message); goto done; }
    }
    if (mkdir(out, 0777) != 0 && errno != EEXIST) { rc = cli_fail(QS_EIO, "%s: cannot create (%s)", out, strerror(errno)); goto done; }

    rs.sweep = sw;
    rs.model = qs_sweep_model(sw);
    rs.n_axes = n_axes;
    rs.pairs = qs_sweep_pairs(sw);
    rs.total = qs_sweep_size(sw);
    size_t np = rs.pairs ? (size_t)rs.pairs : 1;
    rs.done = calloc(rs.total, 1);
    rs.S = malloc(rs.total * np * sizeof *rs.S);
    rs.residual = malloc(rs.total * sizeof *rs.residual);
    rs.top = malloc(rs.total * sizeof *rs.top);
    rs.status = malloc(rs.total * sizeof *rs.status);
    if (so.perturb && !so.classical && !(rs.S1 = malloc(rs.total * np * sizeof *rs.S1))) { rc = cli_fail(QS_ENOMEM, "out of memory"); goto done; }
    if (so.classical && (!(rs.S_err = malloc(rs.total * np * sizeof *rs.S_err)) || !(rs.escaped = malloc(rs.total * sizeof *rs.escaped)))) {
        rc = cli_fail(QS_ENOMEM, "out of memory");
        goto done;
    }
    if (!rs.done || !rs.S || !rs.residual || !rs.top || !rs.status) { rc = cli_fail(QS_ENOMEM, "out of memory for %zu points", rs.total); goto done; }
    char *axis_names[64];
    for (int a = 0; a < n_axes; a++) axis_names[a] = (char *)axes[a].paths[0];

    /* Journals: every process appends its blocks to its own journal; rank 0 gathers them,
     * at the start (--resume) and at the end, into sweep.partial.csv and sweep.csv. Every
     * step where processes depend on each other ends in a collective that also agrees on
     * failure, so no process waits for one that gave up. */
    char journal[4096], final[4096], tmp[4200], bad[4200];
    int rank = par_rank(), nproc = par_size();
    journal_path(journal, sizeof journal, out, rank);
    snprintf(final, sizeof final, "%s/sweep.csv", out);
    unsigned long long sig = signature(ma.model_path, argc, argv);
    long had = 0;
    if (resume) {
        had = read_journals(out, sig, &rs, bad, sizeof bad);
        if (had < 0) rc = cli_fail(QS_EINPUT, "--resume: %s belongs to a different sweep (model or axes changed)", bad);
        else if (rank == 0) fprintf(stderr, "qsync sweep: resuming, %ld of %zu points already done\n", had, rs.total);
    }
    if (par_max(had < 0)) { if (had >= 0) rc = EXIT_INPUT; goto done; }
    rc = rank == 0 ? consolidate_journals(out, sig, &rs, axis_names) : EXIT_OK;
    if (par_max(rc != EXIT_OK)) { if (rc == EXIT_OK) rc = EXIT_IO; goto done; }
    if (rank > 0) rc = write_journal(journal, sig, &rs, axis_names, 0);   /* an empty journal of this process's own */
    if (rc == EXIT_OK && !(rs.journal = fopen(journal, "a"))) rc = cli_fail(QS_EIO, "%s: cannot append", journal);
    if (par_max(rc != EXIT_OK)) { if (rc == EXIT_OK) rc = EXIT_IO; goto done; }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rs.tty = rank == 0 && isatty(2);
    for (size_t p = 0; p < rs.total; p++)
        rs.todo += !rs.done[p] && (p / (size_t)so.block) % (size_t)nproc == (size_t)rank;
    rs.t0 = rs.last_print = qs_now_cli();
    qs_error err;
    int st = qs_sweep_run(sw, rs.done, on_block, &rs, &stop_flag, &err);
    progress(&rs, 1);
    fclose(rs.journal);
    rs.journal = NULL;
    if (st != QS_OK) rc = cli_fail(st, "%s", err.message);
    else if (rs.failed) rc = cli_fail(QS_EIO, "%s: write failed", journal);
    int stopped = par_max(stop_flag != 0);
    if (par_max(rc != EXIT_OK)) { if (rc == EXIT_OK) rc = EXIT_IO; goto done; }

    if (rank == 0) {
        size_t failed = 0, done_count = 0;
        if (nproc > 1 && read_journals(out, sig, &rs, bad, sizeof bad) < 0) rc = cli_fail(QS_EIO, "%s: changed during the sweep", bad);
        FILE *fp = rc == EXIT_OK ? out_open(final, tmp, sizeof tmp) : NULL;
        if (fp) {
            write_header(fp, &rs, axis_names, 0);
            for (size_t p = 0; p < rs.total; p++) {
                if (!rs.done[p]) continue;
                done_count++;
                if (rs.status[p] < 0) failed++;
                write_row(fp, &rs, p, 0);
            }
            rc = out_commit(fp, tmp, final);
        } else if (rc == EXIT_OK) {
            rc = EXIT_IO;
        }
        if (rc == EXIT_OK && nproc > 1) rc = consolidate_journals(out, sig, &rs, axis_names);
        if (rc != EXIT_OK) {
        } else if (stopped) {
            fprintf(stderr, "qsync sweep: interrupted; %s holds %zu of %zu points; finish with --resume\n", final, done_count, rs.total);
            rc = 130;
        } else if (plot && (rc = write_plot(out, &rs, axis_names, axes)) != EXIT_OK) {
        } else if (failed) {
            fprintf(stderr, "qsync sweep: %zu of %zu points failed (NaN in %s, see the status column)\n", failed, rs.total, final);
            rc = EXIT_NUMERIC;
        }
    }
    rc = par_broadcast(rc);
    goto done;
done:
    if (rs.journal) fclose(rs.journal);
    free(rs.done);
    free(rs.S);
    free(rs.S1);
    free(rs.S_err);
    free(rs.escaped);
    free(rs.residual);
    free(rs.top);
    free(rs.status);
    qs_sweep_free(&sw);
    qs_model_free(&m);
    for (int a = 0; a < n_axes && a < 64; a++) {
        if (axis_copy[a]) {
            free((void *)axes[a].paths);
            free((void *)axes[a].values);
        }
        free(axis_copy[a]);
    }
    for (int t = 0; t < n_ties; t++) free(tie_copy[t]);
    model_args_free(&ma);
    return rc;
}
