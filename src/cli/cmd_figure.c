/* cmd_figure.c — `qsync figure NAME --out DIR`: the paper's figures (qsync/figure.h).
 *
 * DIR/NAME/ receives model.ini (the model used), the sweep's files (sweep.csv, its journal,
 * sweep.json) and figure.gp / figure.png: the figure's script after a preamble naming the
 * points on each axis. --coarse, --points and --levels shrink the figure's grid or change its
 * levels (written into model.ini); the sweep itself is run as `qsync sweep` runs one
 * (sweep_job_run). A sweep the same as one already run by this command (Figs. 4a and 4b, 4c
 * and 4d: one map, two columns drawn) is not solved again: the earlier sweep's journal is
 * copied into its folder and the sweep resumed from it, which checks every row and writes
 * sweep.csv and sweep.json as any run does.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include "cli.h"

static const char usage_head[] =
    "usage: qsync figure NAME|all --out DIR [--threads N] [--coarse] [--points N] [--levels N] [--resume]\n"
    "  NAME:";
static const char usage_tail[] =
    ", or all\n"
    "  Each figure goes to DIR/NAME/ (DIR and its parents are created): model.ini, sweep.csv,\n"
    "  figure.gp, figure.png. A DIR/NAME/ that holds a plain sweep's results (sweep.csv but\n"
    "  no model.ini) is refused, never overwritten: give figures an --out of their own.\n"
    "  --coarse     a third of the points on every axis (quick looks)\n"
    "  --points N   at most N points on every axis (N >= 2; smoke tests: seconds per figure)\n"
    "  --levels N   every oscillator truncated to N levels instead of the figure's own\n"
    "               (N from 2 to 1000; convergence checks; written into model.ini)\n";

/* The usage, with the names of the figures of the table. */
static void usage(FILE *fp)
{
    fputs(usage_head, fp);
    for (int f = 0; f < qs_figure_count(); f++) fprintf(fp, " %s", qs_figure_get(f)->name);
    fputs(usage_tail, fp);
}

static int write_text(const char *path, const char *text)
{
    char tmp[4200];
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    fputs(text, fp);
    return out_commit(fp, tmp, path);
}

/* How a figure is run: the options of `qsync figure` that change its sweep. */
typedef struct {
    const char *out;
    int threads, coarse, points, levels, resume;   /* 0: not given */
} figure_run;

/* Two sweeps of the table that compute the same: model text, axes, ties and options. */
static int same_axis(const qs_axis *a, const qs_axis *b)
{
    if (a->n_paths != b->n_paths || a->count != b->count || !a->values != !b->values) return 0;
    if (!a->values && (a->start != b->start || a->stop != b->stop)) return 0;
    for (int k = 0; a->values && k < a->count; k++)
        if (a->values[k] != b->values[k]) return 0;
    for (int k = 0; k < a->n_paths; k++)
        if (strcmp(a->paths[k], b->paths[k]) != 0) return 0;
    return 1;
}

static int same_sweep(const qs_figure_sweep *a, const qs_figure_sweep *b)
{
    if (strcmp(a->model, b->model) != 0 || a->n_axes != b->n_axes || a->n_ties != b->n_ties || a->classical != b->classical ||
        a->perturb != b->perturb || a->truncation != b->truncation || a->trajectories != b->trajectories ||
        a->burn_in != b->burn_in || a->target_err != b->target_err || a->block != b->block ||
        a->spectrum.n_omega != b->spectrum.n_omega || a->spectrum.omega_min != b->spectrum.omega_min ||
        a->spectrum.omega_max != b->spectrum.omega_max)
        return 0;
    for (int k = 0; k < a->n_axes; k++)
        if (!same_axis(&a->axes[k], &b->axes[k])) return 0;
    for (int k = 0; k < a->n_ties; k++)
        if (strcmp(a->ties[k].path, b->ties[k].path) != 0 || strcmp(a->ties[k].expression, b->ties[k].expression) != 0) return 0;
    return 1;
}

/* The sweeps this command has run to the end, with their folders: an identical sweep later
 * resumes from the journal of the first. */
#define MAX_RUN_SWEEPS 64
static struct {
    const qs_figure_sweep *sweep;
    const char *figure;
    char dir[4096];
} run_sweeps[MAX_RUN_SWEEPS];
static int n_run_sweeps;

/* Copy the file from into to (through out_open/out_commit); EXIT_OK, or EXIT_OK without
 * copying when from does not exist. */
static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in) return errno == ENOENT ? EXIT_OK : cli_fail(QS_EIO, "%s: cannot read (%s)", from, strerror(errno));
    char tmp[4200], buf[65536];
    FILE *out = out_open(to, tmp, sizeof tmp);
    if (!out) { fclose(in); return EXIT_IO; }
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    int bad = ferror(in);
    fclose(in);
    int rc = out_commit(out, tmp, to);
    return bad ? cli_fail(QS_EIO, "%s: read failed", from) : rc;
}

/* The model text of a figure's sweep into buf, with every "levels = X" line set to `levels`
 * when nonzero. 0 when it does not fit. */
static int model_text(const qs_figure_sweep *s, int levels, char *buf, size_t size)
{
    size_t used = 0;
    for (const char *line = s->model; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        int w = levels && strncmp(line, "levels = ", 9) == 0
                    ? snprintf(buf + used, size - used, "levels = %d\n# (--levels %d; the figure's own: %.*s)\n", levels, levels,
                               (int)(len - 10), line + 9)
                    : snprintf(buf + used, size - used, "%.*s", (int)len, line);
        if (w < 0 || (size_t)w >= size - used) return 0;
        used += (size_t)w;
        line += len;
    }
    return 1;
}

/* A grid of n points shrunk as the run asks: to about a third with --coarse (odd, at least 3
 * when it had them), at most --points. */
static int shrink_count(int n, int range, const figure_run *run)
{
    int c = n;
    if (range && run->coarse) {
        c = n / 3;
        if (c < 3) c = n < 3 ? n : 3;
        if (c % 2 == 0 && c < n) c++;
    }
    if (run->points && c > run->points) c = run->points;
    return c;
}

/* The figure's axis a with its grid shrunk as the run asks (ranges with --coarse, ranges and
 * lists with --points) into *axis. */
static void shrink_axis(const qs_axis *a, const figure_run *run, qs_axis *axis)
{
    *axis = *a;
    axis->count = shrink_count(a->count, !a->values, run);
    if (a->values) axis->stop = a->values[axis->count - 1];
}

/* The folder of sweep k of a figure: DIR/NAME or DIR/NAME/FOLDER. */
static void sweep_folder(const qs_figure *f, int k, const char *out, char *dir, size_t size)
{
    const char *sub = f->sweeps[k].folder;
    if (sub) snprintf(dir, size, "%s/%s/%s", out, f->name, sub);
    else snprintf(dir, size, "%s/%s", out, f->name);
}

/* The folder for a figure must be one of ours: refuse (exit 2) a folder holding a plain
 * sweep's results, which the figure would overwrite. */
static int check_folder(const char *dir)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/model.ini", dir);
    if (stat(path, &st) == 0) return EXIT_OK;
    static const char *const sweep_files[] = {"sweep.csv", "sweep.partial.csv"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, sweep_files[k]);
        if (stat(path, &st) == 0)
            return cli_fail(QS_EINPUT, "--out: %s holds the results of a sweep that is not this figure's (%s, no model.ini); "
                                       "choose another --out for figures", dir, sweep_files[k]);
    }
    return EXIT_OK;
}

/* Every sweep folder of figure f checked (check_folder). */
static int check_figure_folders(const qs_figure *f, const char *out)
{
    char dir[4096];
    for (int k = 0; k < qs_figure_sweep_count(f); k++) {
        sweep_folder(f, k, out, dir, sizeof dir);
        int rc = check_folder(dir);
        if (rc != EXIT_OK) return rc;
    }
    return EXIT_OK;
}

/* Sweep k of figure f into its folder: model.ini, then the sweep as `qsync sweep` runs one.
 * The preamble lines naming its grid (N1 = ..., NW = ...; FOLDER_N1 = ... for a sweep of its
 * own folder) are appended to shape. *not_ok: its points whose status is not ok. */
static int run_sweep(const qs_figure *f, int k, const figure_run *run, int argc, char **argv, char *shape, size_t shape_size,
                     long *not_ok)
{
    const qs_figure_sweep *s = &f->sweeps[k];
    char dir[4096], path[4200], model[4096];
    sweep_folder(f, k, run->out, dir, sizeof dir);
    int rc = cli_mkdirs(dir);
    if (rc != EXIT_OK) return rc;
    if (!model_text(s, run->levels, model, sizeof model)) return cli_fail(QS_EINPUT, "figure %s: model text too long", f->name);
    snprintf(path, sizeof path, "%s/model.ini", dir);
    if ((rc = write_text(path, model)) != EXIT_OK) return rc;
    qs_axis axes[8];
    const char *prefix = s->folder ? s->folder : "", *sep = s->folder ? "_" : "";
    for (int a = 0; a < s->n_axes && a < 8; a++) {
        size_t len = strlen(shape);
        shrink_axis(&s->axes[a], run, &axes[a]);
        snprintf(shape + len, shape_size - len, "%s%sN%d = %d\n", prefix, sep, a + 1, axes[a].count);
    }
    int n_omega = s->spectrum.n_omega ? shrink_count(s->spectrum.n_omega, 1, run) : 0;
    if (n_omega) {
        size_t len = strlen(shape);
        snprintf(shape + len, shape_size - len, "%s%sNW = %d\n", prefix, sep, n_omega);
    }
    qs_model *m = NULL;
    qs_error err;
    int st = qs_model_load(path, &m, &err);
    if (st != QS_OK) return cli_fail(st, "%s", err.message);
    sweep_job job = {.command = "figure", .argc = argc, .argv = argv, .model = m, .n_axes = s->n_axes, .axes = axes,
                     .n_ties = s->n_ties, .ties = s->ties, .out = dir, .resume = run->resume, .plot = 0,
                     .progress_interval = SWEEP_PROGRESS_INTERVAL};
    qs_figure_options(s, &job.options);
    job.options.spectrum_points = n_omega;
    if (run->threads) job.options.threads = job.options.classical_options.threads = run->threads;
    int from = -1;
    for (int i = 0; i < n_run_sweeps && from < 0; i++)
        if (same_sweep(run_sweeps[i].sweep, s)) from = i;
    if (from >= 0) {        /* the same sweep as an earlier figure's: its journal, resumed */
        static const char *const journals[] = {"sweep.partial.csv", "spectra.partial.csv"};
        char src[4200];
        for (int jn = 0; jn < 2 && rc == EXIT_OK && par_rank() == 0; jn++) {
            snprintf(src, sizeof src, "%s/%s", run_sweeps[from].dir, journals[jn]);
            snprintf(path, sizeof path, "%s/%s", dir, journals[jn]);
            rc = copy_file(src, path);
        }
        if (par_max(rc != EXIT_OK)) { qs_model_free(&m); return rc != EXIT_OK ? rc : EXIT_IO; }
        if (par_rank() == 0)
            fprintf(stderr, "qsync figure %s: the same sweep as figure %s's: resumed from its journal, not solved again\n", f->name,
                    run_sweeps[from].figure);
        job.resume = 1;
    }
    rc = sweep_job_run(&job);
    qs_model_free(&m);
    *not_ok = job.not_ok;
    if ((rc == EXIT_OK || rc == EXIT_NUMERIC) && from < 0 && n_run_sweeps < MAX_RUN_SWEEPS) {
        run_sweeps[n_run_sweeps].sweep = s;
        run_sweeps[n_run_sweeps].figure = f->name;
        snprintf(run_sweeps[n_run_sweeps].dir, sizeof run_sweeps[n_run_sweeps].dir, "%s", dir);
        n_run_sweeps++;
    }
    return rc;
}

static int run_figure(const qs_figure *f, const figure_run *run, int argc, char **argv)
{
    char dir[4096], path[4200], script[16384], shape[512] = "";
    snprintf(dir, sizeof dir, "%s/%s", run->out, f->name);
    int rc = check_figure_folders(f, run->out);
    if (rc != EXIT_OK) return rc;
    if (par_rank() == 0) fprintf(stderr, "qsync figure %s: %s\n", f->name, f->summary);
    double t0 = qs_now_cli();
    long bad = 0;
    for (int k = 0; k < qs_figure_sweep_count(f); k++) {
        long not_ok = 0;
        int src = run_sweep(f, k, run, argc, argv, shape, sizeof shape, &not_ok);
        bad += not_ok;
        if (src != EXIT_OK && src != EXIT_NUMERIC) return src;
        if (src != EXIT_OK) rc = src;
        if (par_rank() != 0) continue;
        if (qs_figure_sweep_count(f) > 1)
            fprintf(stderr, "qsync figure %s: sweep %d of %d (%s/) done (%.1f s)\n", f->name, k + 1, qs_figure_sweep_count(f),
                    f->sweeps[k].folder ? f->sweeps[k].folder : ".", qs_now_cli() - t0);
    }
    if (par_rank() != 0) return rc;   /* under MPI, rank 0 draws */
    /* the paper's figures are named by number (2a, 3d), qsync's own (ring8, spectra) by word */
    int paper = f->name[0] >= '0' && f->name[0] <= '9';
    int n = snprintf(script, sizeof script,
             "# %s %s%s: %s\n# data: the sweeps' files (model.ini beside each); run `gnuplot figure.gp` in this folder to redraw\n"
             "# every column is named by its header\n"
             "set terminal pngcairo size 900,700 noenhanced font ',12'\nset output 'figure.png'\n"
             "set datafile separator ','\nset datafile missing 'nan'\nset datafile columnheaders\nset title '%s %s: %s'\n"
             "# points on each axis of the sweeps (in the order of their axes)\n%s%s",
             paper ? "Fig." : "Figure", f->name, paper ? " of the paper" : " (qsync's own)", f->summary, paper ? "Fig." : "qsync figure",
             f->name, f->summary, shape, f->plot);
    if (n < 0 || (size_t)n >= sizeof script) return cli_fail(QS_EINPUT, "figure %s: script too long", f->name);
    snprintf(path, sizeof path, "%s/figure.gp", dir);
    int wrc = write_text(path, script);
    if (wrc != EXIT_OK) return wrc;
    int drawn = run_gnuplot(dir, "figure");
    if (!drawn && rc == EXIT_OK) rc = EXIT_IO;
    if (bad > 0 && f->note && !run->levels) fprintf(stderr, "qsync figure %s: %ld points do not read ok: %s\n", f->name, bad, f->note);
    else if (bad > 0) fprintf(stderr, "qsync figure %s: %ld points do not read ok (see the status column of the sweep.csv files in %s)\n",
                              f->name, bad, dir);
    fprintf(stderr, "qsync figure %s: %s/%s (%.1f s)\n", f->name, dir, drawn ? "figure.png" : "sweep.csv, no figure.png", qs_now_cli() - t0);
    return rc;
}

/* A whole-number flag value from lo to hi into *out; a message naming the flag and 0 otherwise */
static int whole(const char *flag, const char *text, int lo, int hi, int *out)
{
    double x;
    if (qs_parse_real(text, &x) != QS_OK || x < lo || x > hi || x != (int)x) {
        fprintf(stderr, "qsync: %s needs a whole number from %d to %d, not '%s'\n", flag, lo, hi, text);
        return 0;
    }
    *out = (int)x;
    return 1;
}

int cmd_figure(int argc, char **argv)
{
    const char *name = NULL, *v;
    figure_run run = {0};
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_take(argc, argv, &i, "--out", 1, &v)) != 0) { if (r < 0) return EXIT_INPUT; run.out = v; continue; }
        if ((r = threads_take(argc, argv, &i, &run.threads)) != 0) { if (r < 0) return EXIT_INPUT; continue; }
        if ((r = cli_take(argc, argv, &i, "--points", 1, &v)) != 0) {
            if (r < 0 || !whole("--points", v, 2, 10000000, &run.points)) return EXIT_INPUT;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--levels", 1, &v)) != 0) {
            if (r < 0 || !whole("--levels", v, 2, 1000, &run.levels)) return EXIT_INPUT;
            continue;
        }
        if (cli_take(argc, argv, &i, "--coarse", 0, &v) > 0) { run.coarse = 1; continue; }
        if (cli_take(argc, argv, &i, "--resume", 0, &v) > 0) { run.resume = 1; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { usage(stdout); return EXIT_OK; }
        if (argv[i][0] == '-' || name) {
            fprintf(stderr, "qsync figure: unexpected argument %s\n", argv[i]);
            usage(stderr);
            return EXIT_INPUT;
        }
        name = argv[i];
    }
    if (!name || !run.out) {
        fprintf(stderr, "qsync figure: %s\n", name ? "no --out DIR" : "no figure name");
        usage(stderr);
        return EXIT_INPUT;
    }
    int all = strcmp(name, "all") == 0, worst = EXIT_OK, count = qs_figure_count();
    if (!all && !qs_figure_find(name)) {                                   /* checked before anything is created */
        fprintf(stderr, "qsync figure: unknown figure '%s'\n", name);
        usage(stderr);
        return EXIT_INPUT;
    }
    for (int f = 0; f < count; f++) {               /* refuse before computing any figure */
        int rc = all || strcmp(name, qs_figure_get(f)->name) == 0 ? check_figure_folders(qs_figure_get(f), run.out) : EXIT_OK;
        if (rc != EXIT_OK) return rc;
    }
    int rc = cli_mkdirs(run.out);
    if (rc != EXIT_OK) return rc;
    double t0 = qs_now_cli();
    for (int f = 0; f < count; f++) {
        if (!all && strcmp(name, qs_figure_get(f)->name) != 0) continue;
        rc = run_figure(qs_figure_get(f), &run, argc, argv);
        if (rc != EXIT_OK && rc != EXIT_NUMERIC) return rc;
        if (rc != EXIT_OK) worst = rc;
    }
    if (all && par_rank() == 0) fprintf(stderr, "qsync figure all: %d figures in %s (%.1f s)\n", count, run.out, qs_now_cli() - t0);
    return worst;
}
