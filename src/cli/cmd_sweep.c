/* cmd_sweep.c — `qsync sweep MODEL --vary PATH[,PATH...]=START:STOP:COUNT ... --out DIR`.
 *
 * Files in DIR (created with its parents):
 *   sweep.csv          the result, in grid order (first axis slowest), written atomically at
 *                      the end — also after Ctrl-C, then holding the points done so far.
 *                      Columns, in this order: one per axis (named by its first path; a
 *                      complex axis as a+bi), S_<a>-<b> per pair; then residual,
 *                      top_population, status and, with --perturb, S1_<a>-<b> per pair
 *                      (classical: S_err_<a>-<b> per pair, escaped_fraction, status); then
 *                      phi_<a>-<b> per pair (phi_max in [0, 2π)); then (classical only) the
 *                      frequencies nu_<j>, nu_err_<j> per oscillator and beat_<a>-<b>,
 *                      beat_err_<a>-<b> per pair (MODEL.md §9); and last (quantum only)
 *                      truncation_error, the largest estimated truncation error of S over
 *                      the pairs (nan when not estimated at this point: by default every 4th
 *                      point along the last axis is, see qsync/sweep.h). New columns go at the end so
 *                      that readers by position keep theirs. With --observe NAME,... the
 *                      observables asked (qsync/observables.h), in their order, take the
 *                      place of the S_ and phi_ columns: NAME_<a>-<b> per pair, NAME_<j> per
 *                      oscillator, populations_<j>_<n> for n below the grid's largest levels
 *                      of j (0 above a point's own), NAME for an observable of the whole
 *                      network (relaxation_rate, coherence_rate); residual, top_population, status, S1_
 *                      and truncation_error stay. The columns are those of the library's
 *                      result store (qs_sweep_store), written as they are but for a complex
 *                      axis (one field a+bi) and status (a word). status: ok; truncation (the
 *                      estimated error of S — between sampled points the larger of the
 *                      neighbours' — is above --s-tol, or unknown); top-level (not estimated —
 *                      --no-truncation-check, or the extra solve too large for the default —
 *                      and the top level holds more than --top-tol); numerical, memory, input
 *                      (failed: NaN);
 *   sweep.json         everything needed to reproduce sweep.csv: program version, command
 *                      line, date, the resolved model (levels fixed, --set applied, at grid
 *                      point 0), axes, ties, observables (with --observe), solver options and
 *                      the truncation check (auto/on/off, s_tol);
 *   sweep.partial.csv  the journal: a signature line (a hash of what the sweep computes:
 *                      resolved model, axes, ties, observables, options — not how the model path is
 *                      spelled), a header, then one row per solved point: its grid index,
 *                      the sweep.csv row and a CRC-32 of the signature and the row. Appended
 *                      and flushed block by block, so a killed run loses at most the blocks
 *                      in flight. --resume keeps only rows whose CRC, index and axis values
 *                      check out, once each, and only whole blocks (a block's points are
 *                      solved together, so a resumed sweep is byte-identical to one
 *                      uninterrupted); it says how many rows it discarded;
 *   sweep.lock         held (flock) by the running sweep, with its pid and command line: a
 *                      second sweep into DIR is refused (exit 2) while the first runs;
 *   sweep.gp, sweep.png  the gnuplot script and its plot (curves for one axis, heat maps
 *                      for two) of S, or with --observe and S not among them of the first
 *                      observable with one value per pair or oscillator, naming the columns
 *                      it draws by their header.
 * `qsync figure` runs its sweeps through the same code (sweep_job_run), with the axes of the
 * figure table (qsync/figure.h) as data.
 * Exit status: 0 ok, 1 output not written, 2 bad input, 3 some points failed (NaN with
 * their status), 4 every point failed for lack of memory (status memory), 130 interrupted (SIGINT or SIGTERM, also during set-up).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "cli.h"

static const char usage_head[] =
    "usage: qsync sweep MODEL --vary PATH[,PATH...]=START:STOP:COUNT [--vary ...] --out DIR [options]\n"
    "  --vary P1,P2=A:B:N       move the paths P1, P2 together from A to B in N points (one axis);\n"
    "                           on couplings A and B may be complex (0.02+0.01i)\n"
    "  --vary P=v1,v2,v3        an axis of listed values (levels=4,6 checks convergence)\n"
    "  --set PATH=VALUE         fixed override; --levels N|auto for every oscillator\n"
    "  --tie PATH=EXPRESSION    derived parameter at every point, e.g. --tie K=1/sigma; on a\n"
    "                           coupling with KEY_NAME variables, e.g. --tie A-B=0.1*K_A\n"
    "  --out DIR                output folder (created with its parents; locked while running)\n"
    "  --resume                 finish an interrupted sweep in DIR without recomputing its points\n"
    "  --threads N              threads (default: all cores)\n"
    "  --no-plot                skip gnuplot\n"
    "  --progress-interval S    stderr not a terminal: a progress line every S seconds (default 30; 0: none)\n"
    "  --observe NAME[,NAME...] the observables of every point, in place of S_ and phi_: columns\n"
    "                           NAME_<a>-<b> (pair), NAME_<j> (oscillator), populations_<j>_<n>,\n"
    "                           NAME (network: relaxation_rate, coherence_rate);\n"
    "                           repeated, the lists in the order given (a name twice is refused);\n"
    "                           names:";
static const char usage_tail[] =
    "\n  --perturb                add first-order S of every pair (columns S1_<a>-<b>)\n"
    "  --classical              the classical Langevin model (columns S_err_<a>-<b>, escaped_fraction,\n"
    "                           and last nu_<j>, nu_err_<j>, beat_<a>-<b>, beat_err_<a>-<b>);\n"
    "                           with --cutoff, --seed, --dt, --burn-in, --time, --sample-every,\n"
    "                           --trajectories, --replicas as for qsync classical\n"
    "  --target-err X           with --classical: raise the trajectories per point until S_err is about X\n"
    "  --solver, --iterative-tol, --restart, --preconditioner, --no-symmetry, --lu, --top-tol,\n"
    "  --residual-tol, --memory-limit, --tail-tol: as for steady (GMRES starts each point from the previous one)\n"
    "  --s-tol X                tolerance on the estimated truncation error of S (default 5e-3):\n"
    "                           status truncation above it; levels = auto meets it\n"
    "  --truncation-check       estimate it at every point (one extra solve with one more level\n"
    "                           per oscillator, 2.5-3.5 times a point's cost; column truncation_error).\n"
    "                           By default it is estimated at every 4th point along the last axis\n"
    "                           (and its last point) where that solve has at most 60000 unknowns; a\n"
    "                           point between takes its status from the larger estimate of its neighbours\n"
    "  --truncation-every-point at every point where that solve has at most 60000 unknowns\n"
    "  --no-truncation-check    never (status from the top-level population, --top-tol)\n"
    "  --cold-start             GMRES: start every point from the uncoupled state instead\n"
    "  A grid holds at most 10000000 points.\n";

/* The usage, with the names of the observables of the table. */
static void usage(FILE *fp)
{
    fputs(usage_head, fp);
    for (int k = 0; k < qs_observable_count(); k++) fprintf(fp, " %s", qs_observable_get(k)->name);
    fputs(usage_tail, fp);
}

static volatile int stop_flag;         /* set by SIGINT/SIGTERM; the library polls it */
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

/* How each column of the store is written in sweep.csv */
enum { FMT_G17, FMT_E6, FMT_STATUS, FMT_AXIS, FMT_AXIS_COMPLEX, FMT_AXIS_IM };

typedef struct {
    const qs_sweep *sweep;
    qs_sweep_store *store;
    int n_axes, columns;
    int *fmt;                            /* [columns] FMT_* */
    const double **data;                 /* [columns] the store's columns (NULL: status) */
    double *values;                      /* [columns] one row, read or gathered */
    char *row, *check;                   /* one formatted row, and a second for checking */
    size_t row_size;
    char sig[17];                        /* the signature, as 16 hex digits */
    FILE *journal;
    FILE *spectra_journal;               /* --spectrum: spectra.partial.csv, appended as journal is */
    size_t n_spectrum;                   /* one point's spectra: oscillators × frequencies (0: none) */
    size_t solved, total, todo;
    double t0, last_print, interval;
    int tty, failed;
    pthread_mutex_t progress_lock;       /* progress() from the reports and from the ticker */
    atomic_int ticking;                  /* the ticker runs while this is 1 */
} run_state;

/* The columns of the store and how sweep.csv writes them; 0 when out of memory. */
static int set_columns(run_state *rs)
{
    rs->columns = qs_sweep_store_columns(rs->store);
    rs->fmt = malloc((size_t)rs->columns * sizeof *rs->fmt);
    rs->data = malloc((size_t)rs->columns * sizeof *rs->data);
    rs->values = malloc((size_t)rs->columns * sizeof *rs->values);
    if (!rs->fmt || !rs->data || !rs->values) return 0;
    int c = 0;
    for (int a = 0; a < rs->n_axes; a++) {
        if (qs_sweep_axis_complex(rs->sweep, a)) { rs->fmt[c++] = FMT_AXIS_COMPLEX; rs->fmt[c++] = FMT_AXIS_IM; }
        else rs->fmt[c++] = FMT_AXIS;
    }
    for (; c < rs->columns; c++) {
        const char *name = qs_sweep_store_name(rs->store, c);
        rs->fmt[c] = strcmp(name, "status") == 0 ? FMT_STATUS
                     : strcmp(name, "residual") == 0 || strcmp(name, "top_population") == 0 ? FMT_E6 : FMT_G17;
    }
    for (c = 0; c < rs->columns; c++) rs->data[c] = qs_sweep_store_column(rs->store, c);
    return 1;
}

/* A row of values (rs->columns, status as its code) as sweep.csv writes it (no index, no
 * newline) into buf; its length. */
static size_t format_values(const run_state *rs, char *buf, const double *v)
{
    size_t size = rs->row_size, k = 0;
#define PUT(...) (k += (size_t)snprintf(buf + k, k < size ? size - k : 0, __VA_ARGS__))
    for (int c = 0; c < rs->columns; c++) {
        const char *sep = c ? "," : "";
        switch (rs->fmt[c]) {
        case FMT_AXIS_IM: break;
        case FMT_AXIS_COMPLEX: PUT("%s%.17g%+.17gi", sep, v[c], v[c + 1]); break;
        case FMT_E6: PUT("%s%.6e", sep, v[c]); break;
        case FMT_STATUS: PUT("%s%s", sep, qs_sweep_status_word((int)v[c])); break;
        default: PUT("%s%.17g", sep, v[c]);
        }
    }
#undef PUT
    return k < size ? k : size - 1;
}

/* The sweep.csv row of point p from the store into buf; its length. */
static size_t format_row(run_state *rs, char *buf, size_t p)
{
    const int *status = qs_sweep_store_status(rs->store);
    for (int c = 0; c < rs->columns; c++) rs->values[c] = rs->data[c] ? rs->data[c][p] : (double)status[p];
    return format_values(rs, buf, rs->values);
}

/* CRC-32 of a journal row: over the signature and "INDEX,ROW". */
static unsigned long row_crc(const run_state *rs, const char *text, size_t len)
{
    uLong crc = crc32(0L, (const Bytef *)rs->sig, 16);
    return crc32(crc, (const Bytef *)text, (uInt)len);
}

static void write_row(FILE *fp, run_state *rs, size_t p, int journal)
{
    if (!journal) {
        format_row(rs, rs->row, p);
        fprintf(fp, "%s\n", rs->row);
        return;
    }
    int k = snprintf(rs->row, rs->row_size, "%zu,", p);
    size_t len = (size_t)k + format_row(rs, rs->row + k, p);
    fprintf(fp, "%s,%08lx\n", rs->row, row_crc(rs, rs->row, len));
}

static void write_header(FILE *fp, const run_state *rs, int with_index)
{
    if (with_index) fputs("point,", fp);
    for (int c = 0; c < rs->columns; c++)
        if (rs->fmt[c] != FMT_AXIS_IM) fprintf(fp, "%s%s", c ? "," : "", qs_sweep_store_name(rs->store, c));
    fputs(with_index ? ",crc32\n" : "\n", fp);
}

/* A terminal gets a bar redrawn in place; anything else (a batch log) a line every
 * rs->interval seconds. Points count when finished, also inside blocks not yet reported. */
static void progress_locked(run_state *rs, int final)
{
    double now = qs_now_cli();
    size_t finished = qs_sweep_points_finished(rs->sweep), solved = finished > rs->solved ? finished : rs->solved;
    if (solved > rs->todo) solved = rs->todo;
    double rate = solved / (now - rs->t0 + 1e-9), eta = rate > 0 ? (rs->todo - solved) / rate : 0;
    if (!rs->tty) {
        if (final || !(rs->interval > 0) || now - rs->last_print < rs->interval) return;
        rs->last_print = now;
        if (solved == 0)
            fprintf(stderr, "qsync sweep: 0 of %zu points, %.0f s so far\n", rs->todo, now - rs->t0);
        else
            fprintf(stderr, "qsync sweep: %zu of %zu points (%.1f%%), %.3g/s, ETA %.0f s\n", solved, rs->todo,
                    rs->todo ? 100.0 * (double)solved / (double)rs->todo : 100.0, rate, eta);
        fflush(stderr);
        return;
    }
    if (!final && now - rs->last_print < 0.2) return;
    rs->last_print = now;
    int width = 30, fill = rs->todo ? (int)(width * solved / rs->todo) : width;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu points, %.0f/s, ETA %.0f s   ", fill, "==============================",
            width - fill, "", solved, rs->todo, rate, eta);
    if (final) fputc('\n', stderr);
    fflush(stderr);
}

static void progress(run_state *rs, int final)
{
    pthread_mutex_lock(&rs->progress_lock);
    progress_locked(rs, final);
    pthread_mutex_unlock(&rs->progress_lock);
}

/* The ticker: progress between the reports, which come only when a block of points ends (a
 * block of a large network can take minutes). */
static void *ticker(void *arg)
{
    run_state *rs = arg;
    struct timespec nap = {0, 200000000};
    while (rs->ticking) {
        nanosleep(&nap, NULL);
        if (rs->ticking) progress(rs, 0);
    }
    return NULL;
}

static void write_spectra_row(FILE *fp, run_state *rs, size_t p);

static void on_block(void *ctx, const qs_sweep_result *r, int n)
{
    run_state *rs = ctx;
    qs_sweep_store_add(rs->store, r, n);
    /* the spectra first: a point in the main journal has its spectra in theirs */
    for (int i = 0; rs->spectra_journal && i < n; i++) write_spectra_row(rs->spectra_journal, rs, r[i].point);
    if (rs->spectra_journal && !rs->failed && (ferror(rs->spectra_journal) || fflush(rs->spectra_journal) != 0)) {
        rs->failed = errno ? errno : EIO;
        stop_flag = 1;
    }
    for (int i = 0; rs->journal && i < n; i++) write_row(rs->journal, rs, r[i].point, 1);
    if (rs->journal && !rs->failed && (ferror(rs->journal) || fflush(rs->journal) != 0)) {
        rs->failed = errno ? errno : EIO;   /* a journal that cannot be written: stop, keep what it holds */
        stop_flag = 1;
    }
    rs->solved += (size_t)n;
    progress(rs, 0);
}

typedef struct {
    const qs_sweep *sweep;
    int n_axes, n_ties;
    const qs_axis *axes;
    const qs_tie *ties;
    const qs_sweep_options *options;
} description;

/* What the sweep computes: the resolved model, axes, ties and the options that change its
 * numbers. The journal's signature is a hash of this text; sweep.json holds it as well. */
static void describe(json *j, const description *d)
{
    const qs_model *m = qs_sweep_model(d->sweep);
    json_model(j, m);
    json_array(j, "axes");
    for (int a = 0; a < d->n_axes; a++) {
        const qs_axis *x = &d->axes[a];
        json_object(j, NULL);
        json_array(j, "paths");
        for (int p = 0; p < x->n_paths; p++) json_str(j, NULL, x->paths[p]);
        json_end(j);
        if (x->values) {
            json_array(j, "values");
            for (int i = 0; i < x->count; i++) json_complex(j, NULL, x->values[i]);
            json_end(j);
        } else {
            json_complex(j, "start", x->start);
            json_complex(j, "stop", x->stop);
            json_int(j, "count", x->count);
        }
        json_end(j);
    }
    json_end(j);
    json_array(j, "ties");
    for (int t = 0; t < d->n_ties; t++) {
        json_object(j, NULL);
        json_str(j, "path", d->ties[t].path);
        json_str(j, "expression", d->ties[t].expression);
        json_end(j);
    }
    json_end(j);
    const qs_sweep_options *o = d->options;
    json_int(j, "block", qs_sweep_block_size(d->sweep));
    json_bool(j, "perturb", o->perturb);
    if (o->spectrum_points > 0 && !o->classical) {  /* absent by default: the default's signature stays */
        json_object(j, "spectrum");
        json_num(j, "omega_min", o->spectrum_min);
        json_num(j, "omega_max", o->spectrum_max);
        json_int(j, "points", o->spectrum_points);
        json_end(j);
    }
    if (o->n_observe > 0 && !o->classical) {       /* absent by default: the default's signature stays */
        json_array(j, "observe");
        for (int k = 0; k < o->n_observe; k++) json_str(j, NULL, qs_observable_get(o->observe[k])->name);
        json_end(j);
    }
    if (o->classical) {
        const qs_classical_options *c = &o->classical_options;
        json_object(j, "classical");
        json_num(j, "dt", c->dt);
        json_num(j, "burn_in", c->burn_in);
        json_num(j, "time", c->t_measure);
        json_num(j, "sample_every", c->sample_every);
        json_int(j, "trajectories", c->trajectories);
        json_int(j, "replicas", c->replicas);
        json_int(j, "seed", (long long)c->seed);
        json_num(j, "cutoff", c->cutoff);
        json_num(j, "significance", c->significance);
        json_num(j, "target_err", o->target_err);
        json_bool(j, "frequencies", 1);   /* the columns nu_, beat_: a journal without them is another sweep's */
        json_end(j);
    } else {
        const qs_steady_options *st = &o->steady;
        json_object(j, "solver");
        json_int(j, "full", st->full);
        json_int(j, "solver", st->solver);
        json_int(j, "lu", st->lu);
        json_int(j, "symmetry", st->symmetry);
        json_num(j, "residual_tol", st->residual_tol);
        json_num(j, "top_tol", st->top_tol);
        json_num(j, "iterative_tol", st->iterative_tol);
        json_int(j, "restart", st->restart);
        json_str(j, "preconditioner", cli_preconditioner_name(st->preconditioner));
        json_int(j, "max_iterations", st->max_iterations);
        json_int(j, "warm_start", st->warm_start);
        json_num(j, "refactor_rcond_ratio", st->refactor_rcond_ratio);
        json_num(j, "tail_tol", o->tail_tol);
        json_end(j);
        json_object(j, "truncation_check");
        json_str(j, "mode", o->truncation == QS_SWEEP_TRUNCATION_ON ? "on" : o->truncation == QS_SWEEP_TRUNCATION_OFF ? "off"
                            : o->truncation == QS_SWEEP_TRUNCATION_AUTO ? "every point" : "sampled");
        json_str(j, "method", "one extra solve with one more level for every oscillator; truncation_error = max over pairs of |dS| max_j F_j");
        if (o->truncation == QS_SWEEP_TRUNCATION_SAMPLED)
            json_str(j, "sampled", "estimated at every 4th point along the last axis (indices 0, 4, 8, ... and its last); a point "
                                   "between takes for its status the larger estimate of its nearest estimated neighbours in its "
                                   "block of 16 (truncation_error nan)");
        if (o->truncation != QS_SWEEP_TRUNCATION_ON && o->truncation != QS_SWEEP_TRUNCATION_OFF)
            json_int(j, "auto_max_unknowns", QS_CONVERGENCE_AUTO_MAX);
        json_num(j, "s_tol", o->s_tol);
        json_end(j);
    }
}

/* FNV-1a of describe()'s text. */
static unsigned long long signature(const description *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    unsigned long long h = 1469598103934665603ULL;
    if (!fp) return h;
    json j;
    json_begin(&j, fp);
    json_object(&j, NULL);
    describe(&j, d);
    json_end(&j);
    fclose(fp);
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)buf[i]) * 1099511628211ULL;
    free(buf);
    return h;
}

/* sweep.json: the description, with the program version, command line and date. */
static int write_description(const char *dir, const description *d, const char *command, int argc, char **argv)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    json j;
    json_begin(&j, fp);
    json_object(&j, NULL);
    json_header(&j, command, argc, argv, qs_sweep_model(d->sweep));
    describe(&j, d);
    json_end(&j);
    return out_commit(fp, tmp, path);
}

/* What reading the journals found. */
typedef struct {
    long kept, damaged, duplicate, foreign, partial; /* points kept; rows discarded; points of incomplete blocks */
    int state;            /* JOURNAL_* of the last journal read */
    int error;            /* errno when unreadable */
} journal_stats;

enum { JOURNAL_OK, JOURNAL_NONE, JOURNAL_EMPTY, JOURNAL_OTHER, JOURNAL_UNREADABLE, JOURNAL_BROKEN };

/* Parse one number field exactly (nan and inf included, as printf writes them). */
static int parse_field(const char *t, double *x)
{
    char *end;
    errno = 0;
    *x = strtod(t, &end);
    return end != t && *end == '\0';
}

/* Check the journal row `line` (no newline); a row that checks out and is not yet known
 * (before[p] 0) goes into the store. 1 kept, 0 discarded (counted). */
static int take_row(run_state *rs, char *line, unsigned char *seen, const unsigned char *before, journal_stats *js)
{
    size_t len = strlen(line);
    char *comma = strrchr(line, ',');
    char *end;
    if (!comma || strlen(comma + 1) != 8) { js->damaged++; return 0; }
    unsigned long crc = strtoul(comma + 1, &end, 16);
    if (*end || crc != row_crc(rs, line, (size_t)(comma - line))) { js->damaged++; return 0; }
    *comma = '\0';
    len = (size_t)(comma - line);
    /* the index */
    if (line[0] < '0' || line[0] > '9') { js->damaged++; return 0; }
    errno = 0;
    unsigned long long p = strtoull(line, &end, 10);
    if (*end != ',' || errno || p >= rs->total) { js->foreign++; return 0; }
    /* fields after the axes, into a row of values (the axes' of that index from the grid);
     * then the row must be exactly as written */
    char *fields = end + 1, *save = NULL, *tok;
    int ok = 1, k = 0;
    for (tok = strtok_r(fields, ",", &save); tok && k < rs->n_axes; k++) tok = strtok_r(NULL, ",", &save);
    for (int c = 0; c < rs->columns && ok; c++) {
        if (rs->fmt[c] == FMT_AXIS || rs->fmt[c] == FMT_AXIS_COMPLEX || rs->fmt[c] == FMT_AXIS_IM) {
            rs->values[c] = rs->data[c][p];
            continue;
        }
        int status;
        if (!tok) ok = 0;
        else if (rs->fmt[c] == FMT_STATUS) ok = qs_sweep_status_parse(tok, &status), rs->values[c] = status;
        else ok = parse_field(tok, &rs->values[c]);
        tok = strtok_r(NULL, ",", &save);
    }
    if (ok && tok) ok = 0;                                    /* fields left over */
    if (ok) {
        /* the row as this sweep writes it (axis values of that index included) */
        int n = snprintf(rs->check, rs->row_size, "%llu,", p);
        size_t m = (size_t)n + format_values(rs, rs->check + n, rs->values);
        char *orig = line;
        for (size_t i = 0; i < len; i++) if (orig[i] == '\0') orig[i] = ',';
        ok = m == len && memcmp(rs->check, orig, len) == 0;
        if (!ok) { js->foreign++; return 0; }
    } else {
        js->damaged++;
        return 0;
    }
    if (seen[p]) { js->duplicate++; seen[p] = 2; return 0; }   /* neither copy is trusted */
    seen[p] = 1;
    if (!before[p]) qs_sweep_store_put(rs->store, (size_t)p, rs->values, NULL);
    return 1;
}

/* ---- --spectrum: spectra.csv and its journal ----
 * spectra.partial.csv: "# qsync spectra SIGNATURE", then per solved point "INDEX,v...,CRC32"
 * with the point's spectra (oscillator slowest, then frequency; %.17g) and the CRC of the
 * signature and "INDEX,v...". A resumed sweep keeps a point only when its spectra check out
 * too (else its whole block is solved again), so spectra.csv always holds every point done. */

static void write_spectra_row(FILE *fp, run_state *rs, size_t p)
{
    const double *v = qs_sweep_store_spectrum(rs->store, p);
    uLong crc = crc32(0L, (const Bytef *)rs->sig, 16);
    char num[40];
    int k = snprintf(num, sizeof num, "%zu", p);
    fputs(num, fp);
    crc = crc32(crc, (const Bytef *)num, (uInt)k);
    for (size_t i = 0; v && i < rs->n_spectrum; i++) {
        k = snprintf(num, sizeof num, ",%.17g", v[i]);
        fputs(num, fp);
        crc = crc32(crc, (const Bytef *)num, (uInt)k);
    }
    fprintf(fp, ",%08lx\n", (unsigned long)crc);
}

/* The spectra journal, atomically: its signature and every point done. */
static int write_spectra_journal(const char *path, run_state *rs)
{
    char tmp[4300];
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    const unsigned char *done = qs_sweep_store_done(rs->store);
    fprintf(fp, "# qsync spectra %s\n", rs->sig);
    for (size_t p = 0; p < rs->total; p++) if (done[p]) write_spectra_row(fp, rs, p);
    return out_commit(fp, tmp, path);
}

/* Read the spectra journal of an earlier run: the spectra of points done whose row checks
 * out; a block with a point done but without its spectra is cleared (solved again). The
 * number of points cleared. */
static long read_spectra_journal(const char *path, run_state *rs)
{
    unsigned char *have = calloc(rs->total, 1);
    double *row = malloc((rs->n_spectrum ? rs->n_spectrum : 1) * sizeof *row);
    char sig_line[64], *line = NULL;
    size_t cap = 0;
    snprintf(sig_line, sizeof sig_line, "# qsync spectra %s\n", rs->sig);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    FILE *fp = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (fd >= 0 && !fp) close(fd);
    struct stat st;
    if (fp && (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode))) { fclose(fp); fp = NULL; }
    ssize_t n;
    if (fp && have && row && (n = getline(&line, &cap, fp)) > 0 && strcmp(line, sig_line) == 0) {
        while ((n = getline(&line, &cap, fp)) > 0) {
            if (line[n - 1] != '\n' || strlen(line) != (size_t)n) continue;
            line[n - 1] = '\0';
            char *comma = strrchr(line, ','), *end;
            if (!comma || strlen(comma + 1) != 8) continue;
            unsigned long crc = strtoul(comma + 1, &end, 16);
            uLong want = crc32(crc32(0L, (const Bytef *)rs->sig, 16), (const Bytef *)line, (uInt)(comma - line));
            if (*end || crc != want) continue;
            *comma = '\0';
            errno = 0;
            unsigned long long p = strtoull(line, &end, 10);
            if (end == line || errno || p >= rs->total || have[p]) continue;
            size_t k = 0;
            int ok = 1;
            for (char *save = NULL, *tok = strtok_r(end, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save))
                ok = k < rs->n_spectrum && parse_field(tok, &row[k++]);
            if (!ok || k != rs->n_spectrum) continue;
            memcpy(qs_sweep_store_spectrum(rs->store, (size_t)p), row, rs->n_spectrum * sizeof *row);
            have[p] = 1;
        }
    }
    if (fp) fclose(fp);
    free(line);
    free(row);
    long cleared = 0;
    const unsigned char *done = qs_sweep_store_done(rs->store);
    size_t block = (size_t)qs_sweep_block_size(rs->sweep);
    for (size_t b0 = 0; b0 < rs->total; b0 += block) {
        size_t e = b0 + block < rs->total ? b0 + block : rs->total;
        int whole = 1;
        for (size_t p = b0; p < e; p++) whole &= !done[p] || (have && have[p]);
        for (size_t p = b0; !whole && p < e; p++)
            if (done[p]) { qs_sweep_store_put(rs->store, p, NULL, NULL); cleared++; }
    }
    free(have);
    return cleared;
}

/* spectra.csv: the axis columns as sweep.csv names and writes them, omega, spectrum_<name> of
 * every oscillator; one row per point done (grid order) and frequency. */
static int write_spectra_csv(const char *dir, run_state *rs)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/spectra.csv", dir);
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    const qs_model *m = qs_sweep_model(rs->sweep);
    int n = qs_model_size(m), N = qs_sweep_options_used(rs->sweep)->spectrum_points, axis_cols = 0;
    while (axis_cols < rs->columns && (rs->fmt[axis_cols] == FMT_AXIS || rs->fmt[axis_cols] == FMT_AXIS_COMPLEX ||
                                       rs->fmt[axis_cols] == FMT_AXIS_IM)) axis_cols++;
    for (int c = 0; c < axis_cols; c++)
        if (rs->fmt[c] != FMT_AXIS_IM) fprintf(fp, "%s,", qs_sweep_store_name(rs->store, c));
    fputs("omega", fp);
    for (int j = 0; j < n; j++) fprintf(fp, ",spectrum_%s", qs_model_name(m, j));
    fputc('\n', fp);
    const unsigned char *done = qs_sweep_store_done(rs->store);
    for (size_t p = 0; p < rs->total; p++) {
        if (!done[p]) continue;
        const double *v = qs_sweep_store_spectrum(rs->store, p);
        /* the prefix, once per point */
        size_t k = 0;
        for (int c = 0; c < axis_cols; c++) {
            if (rs->fmt[c] == FMT_AXIS_IM) continue;
            k += (size_t)snprintf(rs->row + k, k < rs->row_size ? rs->row_size - k : 0,
                                  rs->fmt[c] == FMT_AXIS_COMPLEX ? "%.17g%+.17gi," : "%.17g,", rs->data[c][p],
                                  rs->fmt[c] == FMT_AXIS_COMPLEX ? rs->data[c + 1][p] : 0.0);
        }
        for (int w = 0; w < N; w++) {
            fprintf(fp, "%s%.17g", rs->row, qs_sweep_spectrum_omega(rs->sweep, w));
            for (int j = 0; j < n; j++) fprintf(fp, ",%.17g", v ? v[(size_t)j * (size_t)N + (size_t)w] : NAN);
            fputc('\n', fp);
        }
    }
    return out_commit(fp, tmp, path);
}

/* spectra_<name>.gp and spectra_<name>.png for a sweep of one real axis: S_j(ω) as a map
 * over (axis, omega), the colour bar named after the column drawn. */
static int write_spectra_plot(const char *dir, const run_state *rs, const sweep_job *job)
{
    if (job->n_axes != 1 || qs_sweep_axis_complex(rs->sweep, 0) || job->axes[0].count < 2) {
        fprintf(stderr, "qsync sweep: spectra.csv written; the maps spectra_<name>.png are drawn for a sweep of one real axis only\n");
        return EXIT_OK;
    }
    const qs_model *m = qs_sweep_model(rs->sweep);
    const qs_axis *x = &job->axes[0];
    const qs_sweep_options *o = &job->options;
    for (int j = 0; j < qs_model_size(m); j++) {
        char path[4200], tmp[4300], name[QS_NAME_MAX + 16];
        const char *osc = qs_model_name(m, j);
        snprintf(name, sizeof name, "spectra_%s", osc);
        snprintf(path, sizeof path, "%s/%s.gp", dir, name);
        FILE *fp = out_open(path, tmp, sizeof tmp);
        if (!fp) return EXIT_IO;
        fprintf(fp, "# gnuplot script for spectra.csv; run `gnuplot %s.gp` in this folder to redraw\n"
                    "set terminal pngcairo size 900,600 noenhanced font ',11'\nset output '%s.png'\n"
                    "set datafile separator ','\nset datafile missing 'nan'\nset datafile columnheaders\n"
                    "set palette rgb 33,13,10\nset xlabel '%s'\nset ylabel 'omega'\n"
                    "set xrange [%.17g:%.17g]\nset yrange [%.17g:%.17g]\n"
                    "set title \"spectrum_%s\"\nset cblabel \"spectrum_%s\"\n"
                    "plot 'spectra.csv' using (column(\"%s\")):(column(\"omega\")):(column(\"spectrum_%s\")) "
                    "with image title \"spectrum_%s\"\n",
                name, name, x->paths[0], fmin(creal(x->start), creal(x->stop)), fmax(creal(x->start), creal(x->stop)),
                o->spectrum_min, o->spectrum_max, osc, osc, x->paths[0], osc, osc);
        int rc = out_commit(fp, tmp, path);
        if (rc != EXIT_OK) return rc;
        if (!run_gnuplot(dir, name)) return EXIT_IO;
    }
    return EXIT_OK;
}

/* Read the journal of an earlier run into rs (rows marked in seen); js->state says what it was. */
static void read_journal(const char *path, const char *sig_line, run_state *rs, unsigned char *seen,
                         const unsigned char *before, journal_stats *js)
{
    /* non-blocking: a FIFO in the journal's place must not wait for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    FILE *fp = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (fd >= 0 && !fp) close(fd);
    js->state = JOURNAL_OK;
    if (!fp) {
        js->error = errno;
        js->state = errno == ENOENT ? JOURNAL_NONE : JOURNAL_UNREADABLE;
        return;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && !S_ISREG(st.st_mode)) {
        fclose(fp);
        js->error = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        js->state = JOURNAL_UNREADABLE;
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, fp);
    if (n <= 0) {
        js->state = ferror(fp) ? JOURNAL_UNREADABLE : JOURNAL_EMPTY;
        js->error = errno;
    } else if (strncmp(line, "# qsync sweep ", 14) != 0 || n != 31 || line[30] != '\n') {
        js->state = JOURNAL_BROKEN;
    } else if (strcmp(line, sig_line) != 0) {
        js->state = JOURNAL_OTHER;
    } else {
        n = getline(&line, &cap, fp);                             /* the header */
        while ((n = getline(&line, &cap, fp)) > 0) {
            if (line[n - 1] != '\n' || strlen(line) != (size_t)n) { js->damaged++; continue; }   /* cut short, or a NUL */
            line[n - 1] = '\0';
            if ((size_t)n > rs->row_size) { js->damaged++; continue; }
            take_row(rs, line, seen, before, js);
        }
    }
    free(line);
    fclose(fp);
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

/* Read every journal in DIR (any number of processes may have written them) into rs:
 * only rows that check out, once each, and only whole blocks. Returns a JOURNAL_* state
 * other than JOURNAL_OK for a journal that cannot be used (its path in bad). */
static int read_journals(const char *dir, run_state *rs, journal_stats *js, char *bad, size_t bad_size)
{
    char path[4200], sig_line[64];
    snprintf(sig_line, sizeof sig_line, "# qsync sweep %s\n", rs->sig);
    unsigned char *seen = calloc(rs->total, 1), *before = malloc(rs->total);
    if (!seen || !before) { free(seen); free(before); return JOURNAL_UNREADABLE; }
    const unsigned char *done = qs_sweep_store_done(rs->store);
    memcpy(before, done, rs->total);                          /* the points known before reading */
    memset(js, 0, sizeof *js);
    journal_path(path, sizeof path, dir, 0);
    read_journal(path, sig_line, rs, seen, before, js);
    int state = js->state == JOURNAL_NONE || js->state == JOURNAL_EMPTY ? JOURNAL_OK : js->state;
    int first = js->state;
    if (state != JOURNAL_OK) snprintf(bad, bad_size, "%s", path);
    DIR *d = opendir(dir);
    while (state == JOURNAL_OK && d && next_rank_journal(d, dir, path, sizeof path)) {
        read_journal(path, sig_line, rs, seen, before, js);
        if (js->state != JOURNAL_OK && js->state != JOURNAL_EMPTY) { state = js->state; snprintf(bad, bad_size, "%s", path); }
    }
    if (d) closedir(d);
    js->state = state == JOURNAL_OK ? first : state;
    /* whole blocks only: a block's points are solved together, each block from a fresh start */
    size_t block = (size_t)qs_sweep_block_size(rs->sweep);
    for (size_t b0 = 0; b0 < rs->total; b0 += block) {
        size_t e = b0 + block < rs->total ? b0 + block : rs->total, have = 0;
        for (size_t p = b0; p < e; p++) have += seen[p] == 1;
        if (have == e - b0) continue;
        js->partial += (long)have;
        for (size_t p = b0; p < e; p++) seen[p] = 0;
    }
    for (size_t p = 0; p < rs->total; p++) {
        if (before[p]) continue;
        if (seen[p] == 1) js->kept++;
        else if (done[p]) qs_sweep_store_put(rs->store, p, NULL, NULL);   /* read, then not kept */
    }
    free(seen);
    free(before);
    return state;
}

/* A journal, atomically: signature, header, and (if rows) every point known. */
static int write_journal(const char *path, run_state *rs, int rows)
{
    char tmp[4300];
    FILE *jf = out_open(path, tmp, sizeof tmp);
    if (!jf) return EXIT_IO;
    const unsigned char *done = qs_sweep_store_done(rs->store);
    fprintf(jf, "# qsync sweep %s\n", rs->sig);
    write_header(jf, rs, 1);
    for (size_t p = 0; rows && p < rs->total; p++) if (done[p]) write_row(jf, rs, p, 1);
    return out_commit(jf, tmp, path);
}

/* Rewrite rank 0's journal with every point known, and drop the other ranks' journals. */
static int consolidate_journals(const char *dir, run_state *rs)
{
    char path[4200];
    journal_path(path, sizeof path, dir, 0);
    int rc = write_journal(path, rs, 1);
    if (rc != EXIT_OK) return rc;
    DIR *d = opendir(dir);
    while (d && next_rank_journal(d, dir, path, sizeof path)) remove(path);
    if (d) closedir(d);
    return EXIT_OK;
}

/* The columns sweep.gp draws: S_<a>-<b> of every pair, or (S not observed) those of the first
 * observable asked with one value per pair or per oscillator. Their names into a new array of
 * *count strings (owned by the store), the observable's name into *label; NULL when none. */
static const char **plot_series(const run_state *rs, const qs_sweep_options *o, int *count, const char **label)
{
    const qs_model *m = qs_sweep_model(rs->sweep);
    int n = qs_model_size(m), pairs = qs_sweep_pairs(rs->sweep);
    const char **names = malloc((size_t)(n + pairs + 1) * sizeof *names);
    if (!names) return NULL;
    char name[3 * QS_NAME_MAX + 64];
    for (int k = -1; k < o->n_observe; k++) {
        const qs_observable *obs = qs_observable_get(k < 0 ? qs_observable_find("S") : o->observe[k]);
        if (obs->per_level) continue;
        *count = 0;
        if (obs->kind == QS_OBS_NETWORK) {
            int c = qs_sweep_store_find(rs->store, obs->name);
            if (c >= 0) names[(*count)++] = qs_sweep_store_name(rs->store, c);
        }
        for (int x = 0; x < n && obs->kind != QS_OBS_NETWORK; x++) {
            if (obs->kind == QS_OBS_OSCILLATOR) {
                snprintf(name, sizeof name, "%s_%s", obs->name, qs_model_name(m, x));
                int c = qs_sweep_store_find(rs->store, name);
                if (c >= 0) names[(*count)++] = qs_sweep_store_name(rs->store, c);
                continue;
            }
            for (int y = x + 1; y < n; y++) {
                snprintf(name, sizeof name, "%s_%s-%s", obs->name, qs_model_name(m, x), qs_model_name(m, y));
                int c = qs_sweep_store_find(rs->store, name);
                if (c >= 0) names[(*count)++] = qs_sweep_store_name(rs->store, c);
            }
        }
        if (*count > 0 || (k < 0 && pairs == 0 && o->n_observe == 0)) { *label = obs->name; return names; }
    }
    free(names);
    return NULL;
}

/* sweep.gp: every column drawn is named by its header (column("S_A-B")), and every
 * legend entry or title is that name. */
static int write_plot(const char *dir, const run_state *rs, const sweep_job *job)
{
    char path[4096], tmp[4200];
    const qs_axis *axes = job->axes;
    const char *label = "S", *x0 = axes[0].paths[0], *x1 = job->n_axes > 1 ? axes[1].paths[0] : "";
    int ns = 0, classical = job->options.classical;
    const char **series = plot_series(rs, &job->options, &ns, &label);
    if (!series || ns == 0) {
        fprintf(stderr, "qsync sweep: no plot (%s)\n", series ? "a single oscillator has no pair: --observe mean_n draws its <n>"
                                                              : "the observables asked have no column per pair or oscillator");
        free(series);
        return EXIT_OK;
    }
    snprintf(path, sizeof path, "%s/sweep.gp", dir);
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) { free(series); return EXIT_IO; }
    int two_d = job->n_axes >= 2 && axes[0].count > 1 && axes[1].count > 1;
    fprintf(fp, "# gnuplot script for sweep.csv; run `gnuplot sweep.gp` in this folder to redraw\n"
                "set terminal pngcairo size %d,%d noenhanced font ',11'\nset output 'sweep.png'\n"
                "set datafile separator ','\nset datafile missing 'nan'\nset datafile columnheaders\n",
            two_d ? 520 * (ns < 3 ? ns : 3) : 900, two_d ? 460 * ((ns + 2) / 3) : 600);
    if (!two_d) {
        fprintf(fp, "set xlabel '%s'\nset ylabel '%s'\nset key outside right\nset grid\nplot", x0, label);
        for (int k = 0; k < ns; k++) {
            if (classical)   /* S_<a>-<b>: its error S_err_<a>-<b> */
                fprintf(fp, "%s \\\n  'sweep.csv' using (column(\"%s\")):(column(\"%s\")):(column(\"S_err_%s\")) "
                            "with yerrorlines pt 7 ps 0.4 lw 2 title \"%s\"",
                        k ? "," : "", x0, series[k], series[k] + 2, series[k]);
            else
                fprintf(fp, "%s \\\n  'sweep.csv' using (column(\"%s\")):(column(\"%s\")) "
                            "with linespoints pt 7 ps 0.4 lw 2 title \"%s\"",
                        k ? "," : "", x0, series[k], series[k]);
        }
        fputc('\n', fp);
    } else {
        fprintf(fp, "set multiplot layout %d,%d\nset xlabel '%s'\nset ylabel '%s'\nset cblabel '%s'\n"
                    "set palette rgb 33,13,10\nset xrange [%.17g:%.17g]\nset yrange [%.17g:%.17g]\n",
                (ns + 2) / 3, ns < 3 ? ns : 3, x0, x1, label,
                fmin(creal(axes[0].start), creal(axes[0].stop)), fmax(creal(axes[0].start), creal(axes[0].stop)),
                fmin(creal(axes[1].start), creal(axes[1].stop)), fmax(creal(axes[1].start), creal(axes[1].stop)));
        for (int k = 0; k < ns; k++)
            fprintf(fp, "set title \"%s\"\nplot 'sweep.csv' using (column(\"%s\")):(column(\"%s\")):(column(\"%s\")) "
                        "with image title \"%s\"\n", series[k], x0, x1, series[k], series[k]);
        fputs("unset multiplot\n", fp);
    }
    free(series);
    int rc = out_commit(fp, tmp, path);
    if (rc != EXIT_OK) return rc;
    return run_gnuplot(dir, "sweep") ? EXIT_OK : EXIT_IO;
}

/* One value of --vary: real, or complex (a+bi) — the library accepts complex only on couplings. */
static int parse_value(const char *text, double complex *v)
{
    return qs_parse_complex(text, v) == QS_OK && isfinite(creal(*v)) && isfinite(cimag(*v));
}

/* Parse "P1,P2=A:B:N" or "P=v1,v2,..." into an axis (paths and values in memory owned by
 * the caller: *copy, axis->paths, axis->values). */
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
        double complex *vals = malloc((size_t)nv * sizeof *vals);
        if (!vals) return 0;
        int k = 0;
        for (char *save = NULL, *tok = strtok_r(range, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (k == nv || !parse_value(tok, &vals[k++])) { free(vals); return 0; }
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
        errno = 0;
        long count = strtol(c2 + 1, &end, 10);
        if (!parse_value(range, &axis->start) || !parse_value(c1 + 1, &axis->stop) || *end || errno ||
            end == c2 + 1 || count < 1 || count > QS_SWEEP_MAX_POINTS)
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

/* Lock DIR/sweep.lock (flock, held until the process ends or the descriptor closes) and
 * record this process in it ("pid N: qsync sweep ARGS"). Returns the descriptor; −1 when
 * another process holds it (its record in holder), −2 when it cannot be taken (errno). */
static int lock_dir(const char *dir, const char *command, int argc, char **argv, char *holder, size_t size)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/sweep.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0666);
    if (fd < 0) return -2;
    struct stat lst;
    if (fstat(fd, &lst) != 0 || !S_ISREG(lst.st_mode) || lst.st_nlink != 1) {   /* never write into another file */
        close(fd);
        errno = EPERM;
        return -2;
    }
    /* a holder that is ending (e.g. the processes of an MPI job whose launcher was killed)
     * gets a second to let go */
    int got = flock(fd, LOCK_EX | LOCK_NB);
    for (int k = 0; got != 0 && errno == EWOULDBLOCK && k < 20; k++) {
        nanosleep(&(struct timespec){0, 50000000}, NULL);
        got = flock(fd, LOCK_EX | LOCK_NB);
    }
    if (got != 0) {
        int e = errno;
        ssize_t n = e == EWOULDBLOCK ? pread(fd, holder, size - 1, 0) : -1;
        close(fd);
        if (n < 0) { errno = e; return -2; }
        holder[n] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        if (!*holder) snprintf(holder, size, "a process that has not yet recorded itself");
        return -1;
    }
    if (ftruncate(fd, 0) == 0) {
        char line[8192];
        size_t k = (size_t)snprintf(line, sizeof line - 1, "pid %ld: qsync %s", (long)getpid(), command);
        for (int i = 0; i < argc && k < sizeof line - 1; i++) k += (size_t)snprintf(line + k, sizeof line - 1 - k, " %s", argv[i]);
        if (k > sizeof line - 2) k = sizeof line - 2;
        line[k++] = '\n';
        if (pwrite(fd, line, k, 0) < 0) { /* the lock holds without its record */ }
    }
    return fd;
}

/* lock_dir with its messages: an exit status, the descriptor in *fd. */
static int take_lock(const char *out, const sweep_job *job, int *fd)
{
    char holder[1024];
    if ((*fd = lock_dir(out, job->command, job->argc, job->argv, holder, sizeof holder)) == -1)
        return cli_fail(QS_EINPUT, "--out %s: the folder is in use by another sweep (%s); wait for it to end or choose "
                        "another --out", out, holder);
    if (*fd < 0 && (errno == ELOOP || errno == EPERM))
        return cli_fail(QS_EIO, "--out %s: %s/sweep.lock is not a plain file of its own (a symbolic or hard link, or "
                        "another kind of file); it is left alone: remove it", out, out);
    if (*fd < 0) return cli_fail(QS_EIO, "--out %s: cannot lock %s/sweep.lock (%s)", out, out, strerror(errno));
    return EXIT_OK;
}

/* A signal from now on ends the sweep cleanly (exit 130), set-up included; one process of an
 * MPI job ends with its launcher (a killed mpirun must not leave processes computing into
 * DIR, holding its lock; the journals keep what was done). 0, or 1 when the launcher is gone. */
static int sweep_process_setup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (par_size() > 1) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1) return 1;
    }
    return 0;
}

int sweep_job_run(sweep_job *job)
{
    if (sweep_process_setup()) return 130;
    qs_sweep_options so = job->options;
    const char *out = job->out;
    int n_axes = job->n_axes, rc = EXIT_OK, lock_fd = -1;
    qs_sweep *sw = NULL;
    run_state rs = {0};
    job->not_ok = 0;
    if (so.classical) so.truncation = QS_SWEEP_TRUNCATION_OFF;
    so.part = par_rank();                  /* under MPI: this process's share of the blocks */
    so.parts = par_size();
    if (so.parts > 1 && so.threads == 0) { /* the cores of a machine shared by its processes */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        so.threads = cores > par_local_size() ? (int)(cores / par_local_size()) : 1;
        so.classical_options.threads = so.threads;
    }
    int rank = par_rank(), nproc = par_size();
    struct stat out_st;
    /* a folder that exists is locked before the set-up (a second sweep is refused at once);
     * one that does not is created only once the grid has been checked */
    if (rank == 0 && stat(out, &out_st) == 0 && S_ISDIR(out_st.st_mode)) rc = take_lock(out, job, &lock_fd);
    if (par_max(rc != EXIT_OK)) { if (rc == EXIT_OK) rc = EXIT_INPUT; goto done; }
    so.stop = &stop_flag;
    {
        qs_error err;
        int st = qs_sweep_create(job->model, n_axes, job->axes, job->n_ties, job->ties, &so, &sw, &err);
        if (st != QS_OK && !stop_flag) { rc = cli_fail(st, "%s", err.message); goto done; }
    }
    if (par_max(stop_flag != 0)) {
        if (rank == 0) fprintf(stderr, "qsync %s: interrupted during set-up; nothing written\n", job->command);
        rc = 130;
        goto done;
    }
    if (rank == 0) rc = cli_mkdirs(out);
    if (par_max(rc != EXIT_OK)) { if (rc == EXIT_OK) rc = EXIT_IO; goto done; }
    if (rank == 0 && lock_fd < 0) rc = take_lock(out, job, &lock_fd);
    if (par_max(rc != EXIT_OK)) { if (rc == EXIT_OK) rc = EXIT_INPUT; goto done; }
    rs.sweep = sw;
    rs.n_axes = n_axes;
    rs.total = qs_sweep_size(sw);
    rs.interval = job->progress_interval;
    {
        qs_error err;
        int st = qs_sweep_store_create(sw, &rs.store, &err);
        if (st != QS_OK) { rc = cli_fail(st, "%s", err.message); goto done; }
    }
    if (!set_columns(&rs)) { rc = cli_fail(QS_ENOMEM, "out of memory"); goto done; }
    rs.row_size = 160 + 64 * (size_t)n_axes + 32 * (size_t)rs.columns;   /* numbers take at most 25 characters */
    rs.row = malloc(rs.row_size);
    rs.check = malloc(rs.row_size);
    if (!rs.row || !rs.check) { rc = cli_fail(QS_ENOMEM, "out of memory"); goto done; }
    description desc = {sw, n_axes, job->n_ties, job->axes, job->ties, qs_sweep_options_used(sw)};
    snprintf(rs.sig, sizeof rs.sig, "%016llx", signature(&desc));
    const unsigned char *done_points = qs_sweep_store_done(rs.store);
    const int *status = qs_sweep_store_status(rs.store);
    char spectra_journal[4200];
    snprintf(spectra_journal, sizeof spectra_journal, "%s/spectra.partial.csv", out);
    if (qs_sweep_options_used(sw)->spectrum_points > 0) {
        rs.n_spectrum = (size_t)qs_model_size(qs_sweep_model(sw)) * (size_t)qs_sweep_options_used(sw)->spectrum_points;
        if (nproc > 1) {
            if (rank == 0) fprintf(stderr, "qsync sweep: --spectrum runs in one process: run it without MPI\n");
            rc = EXIT_INPUT;
            goto done;
        }
    }

    /* Journals: every process appends its blocks to its own journal; rank 0 gathers them,
     * at the start (--resume) and at the end, into sweep.partial.csv and sweep.csv. Every
     * step where processes depend on each other ends in a collective that also agrees on
     * failure, so no process waits for one that gave up. */
    char journal[4096], final[4096], tmp[4200], bad[4200];
    journal_path(journal, sizeof journal, out, rank);
    snprintf(final, sizeof final, "%s/sweep.csv", out);
    if (job->resume) {
        journal_stats js;
        int state = read_journals(out, &rs, &js, bad, sizeof bad);
        if (state == JOURNAL_OTHER)
            rc = cli_fail(QS_EINPUT, "--resume: %s belongs to a different sweep (model, axes, ties, observables, spectrum or solver "
                          "options changed)", bad);
        else if (state == JOURNAL_BROKEN)
            rc = cli_fail(QS_EINPUT, "--resume: %s is not a sweep journal (its first line is damaged); remove it to start over", bad);
        else if (state == JOURNAL_UNREADABLE)
            rc = cli_fail(QS_EINPUT, "--resume: %s cannot be read (%s)", bad,
                          js.error == EINVAL ? "not a regular file" : strerror(js.error));
        else if (rank == 0) {
            if (js.state == JOURNAL_NONE) fprintf(stderr, "qsync sweep: --resume: no journal in %s; starting from the first point\n", out);
            if (js.state == JOURNAL_EMPTY) fprintf(stderr, "qsync sweep: --resume: the journal in %s is empty; starting from the first point\n", out);
            fprintf(stderr, "qsync sweep: resuming, %ld of %zu points already done\n", js.kept, rs.total);
            if (js.damaged || js.duplicate || js.foreign)
                fprintf(stderr, "qsync sweep: discarded %ld journal rows (%ld damaged or of another sweep, %ld duplicate, "
                                "%ld not of this sweep's grid); their points are recomputed\n",
                        js.damaged + js.duplicate + js.foreign, js.damaged, js.duplicate, js.foreign);
            if (js.partial)
                fprintf(stderr, "qsync sweep: recomputing %ld points of incomplete blocks (a block is solved whole)\n", js.partial);
            long cleared = rs.n_spectrum ? read_spectra_journal(spectra_journal, &rs) : 0;
            if (cleared)
                fprintf(stderr, "qsync sweep: recomputing %ld points whose block lacks spectra in %s\n", cleared, spectra_journal);
        }
    }
    if (par_max(rc != EXIT_OK)) { if (rc == EXIT_OK) rc = EXIT_INPUT; goto done; }
    rc = rank == 0 ? consolidate_journals(out, &rs) : EXIT_OK;
    if (par_max(rc != EXIT_OK)) { if (rc == EXIT_OK) rc = EXIT_IO; goto done; }
    if (rank > 0) rc = write_journal(journal, &rs, 0);   /* an empty journal of this process's own */
    if (rc == EXIT_OK && rs.n_spectrum && (rc = write_spectra_journal(spectra_journal, &rs)) == EXIT_OK &&
        !(rs.spectra_journal = fopen(spectra_journal, "a")))
        rc = cli_fail(QS_EIO, "%s: cannot append", spectra_journal);
    if (rc == EXIT_OK && !(rs.journal = fopen(journal, "a"))) rc = cli_fail(QS_EIO, "%s: cannot append", journal);
    if (par_max(rc != EXIT_OK)) { if (rc == EXIT_OK) rc = EXIT_IO; goto done; }

    rs.tty = rank == 0 && isatty(2);
    if (rank != 0) rs.interval = 0;
    size_t block = (size_t)qs_sweep_block_size(sw);
    for (size_t p = 0; p < rs.total; p++)
        rs.todo += !done_points[p] && (p / block) % (size_t)nproc == (size_t)rank;
    rs.t0 = rs.last_print = qs_now_cli();
    qs_error err;
    pthread_t tick;
    pthread_mutex_init(&rs.progress_lock, NULL);
    rs.ticking = rs.tty || rs.interval > 0;        /* before the thread starts: it reads it */
    if (rs.ticking && pthread_create(&tick, NULL, ticker, &rs) != 0) rs.ticking = 0;
    int st = qs_sweep_run(sw, done_points, on_block, &rs, &stop_flag, &err);
    if (rs.ticking) {
        rs.ticking = 0;
        pthread_join(tick, NULL);
    }
    if (rs.tty) progress(&rs, 1);
    pthread_mutex_destroy(&rs.progress_lock);
    fclose(rs.journal);
    rs.journal = NULL;
    if (rs.spectra_journal) fclose(rs.spectra_journal);
    rs.spectra_journal = NULL;
    if (st != QS_OK) rc = cli_fail(st, "%s", err.message);
    else if (rs.failed) rc = cli_fail(QS_EIO, "%s: write failed (%s); the sweep stopped at once: free space, then finish it with --resume", journal, strerror(rs.failed));
    int stopped = par_max(stop_flag != 0);
    if (par_max(rc != EXIT_OK)) { if (rc == EXIT_OK) rc = EXIT_IO; goto done; }

    if (rank == 0) {
        size_t failed = 0, n_memory = 0, done_count = 0, n_trunc = 0, n_over = 0, n_top = 0, n_unchecked = 0, worst = (size_t)-1;
        int tc = qs_sweep_store_find(rs.store, "truncation_error");
        const double *trunc = tc >= 0 ? qs_sweep_store_column(rs.store, tc) : NULL;
        journal_stats js;
        if (nproc > 1 && read_journals(out, &rs, &js, bad, sizeof bad) != JOURNAL_OK)
            rc = cli_fail(QS_EIO, "%s: changed during the sweep", bad);
        FILE *fp = rc == EXIT_OK ? out_open(final, tmp, sizeof tmp) : NULL;
        if (fp) {
            write_header(fp, &rs, 0);
            for (size_t p = 0; p < rs.total; p++) {
                if (!done_points[p]) continue;
                done_count++;
                job->not_ok += status[p] != QS_OK;
                if (status[p] < 0) failed++;
                if (status[p] == QS_ETOOBIG || status[p] == QS_ENOMEM) n_memory++;
                if (status[p] == QS_SWEEP_STATUS_TRUNCATION) {
                    n_trunc++;
                    /* an estimate above the tolerance is in truncation_error; the others read truncation by
                     * their estimated neighbours (sampled) or because the error cannot be estimated */
                    n_over += trunc && isfinite(trunc[p]);
                    if (trunc && isfinite(trunc[p]) && (worst == (size_t)-1 || trunc[p] > trunc[worst])) worst = p;
                }
                if (status[p] == QS_WARN_TRUNCATION) n_top++;
                if (!so.classical && status[p] == QS_WARN_TRUNCATION) n_unchecked++;
                write_row(fp, &rs, p, 0);
            }
            rc = out_commit(fp, tmp, final);
        } else if (rc == EXIT_OK) {
            rc = EXIT_IO;
        }
        if (rc == EXIT_OK && rs.n_spectrum) rc = write_spectra_csv(out, &rs);
        if (rc == EXIT_OK) rc = write_description(out, &desc, job->command, job->argc, job->argv);
        if (rc == EXIT_OK && n_trunc) {
            char largest[96] = "", others[200] = "";
            if (worst != (size_t)-1) snprintf(largest, sizeof largest, " (the largest, %.2g, at point %zu)", trunc[worst], worst);
            if (n_trunc > n_over)
                snprintf(others, sizeof others, "; %zu more are not estimated themselves and read truncation by their "
                         "estimated neighbours, or their error cannot be estimated (truncation_error empty)", n_trunc - n_over);
            fprintf(stderr, "qsync sweep: warning: %zu of %zu points read truncation: %zu have an estimated truncation error "
                    "of S above --s-tol %g%s%s: raise levels\n", n_trunc, done_count, n_over, so.s_tol, largest, others);
        }
        if (rc == EXIT_OK && n_unchecked && so.truncation != QS_SWEEP_TRUNCATION_OFF)
            fprintf(stderr, "qsync sweep: the truncation error of S was not estimated at %zu of %zu points whose top level "
                    "holds more than --top-tol (status top-level): one more level needs more than %d unknowns; "
                    "--truncation-check computes it\n", n_unchecked, done_count, QS_CONVERGENCE_AUTO_MAX);
        else if (rc == EXIT_OK && n_top)
            fprintf(stderr, "qsync sweep: warning: %zu of %zu points have a top level above --top-tol (status top-level; "
                    "the truncation error of S was not estimated: --no-truncation-check)\n", n_top, done_count);
        if (rc == EXIT_OK && nproc > 1) rc = consolidate_journals(out, &rs);
        if (rc != EXIT_OK) {
        } else if (stopped) {
            fprintf(stderr, "qsync sweep: interrupted; %s holds %zu of %zu points; finish with --resume\n", final, done_count, rs.total);
            rc = 130;
        } else if (job->plot && (rc = write_plot(out, &rs, job)) != EXIT_OK) {
        } else if (job->plot && rs.n_spectrum && (rc = write_spectra_plot(out, &rs, job)) != EXIT_OK) {
        } else if (failed && n_memory == rs.total) {
            fprintf(stderr, "qsync sweep: every point failed for lack of memory (status memory in %s): each thread "
                    "plans within its share of the memory available (or of --memory-limit); fewer --threads or "
                    "fewer levels\n", final);
            rc = EXIT_MEMORY;
        } else if (failed) {
            fprintf(stderr, "qsync sweep: %zu of %zu points failed (NaN in %s, see the status column)\n", failed, rs.total, final);
            rc = EXIT_NUMERIC;
        }
    }
    rc = par_broadcast(rc);
done:
    if (rs.journal) fclose(rs.journal);
    if (rs.spectra_journal) fclose(rs.spectra_journal);
    if (lock_fd >= 0) close(lock_fd);
    free(rs.fmt);
    free(rs.data);
    free(rs.values);
    free(rs.row);
    free(rs.check);
    qs_sweep_store_free(&rs.store);
    qs_sweep_free(&sw);
    return rc;
}

/* --spectrum A:B:N: N >= 2 frequencies from A to B > A, finite; a message naming the flag and 0 otherwise. */
static int parse_spectrum(const char *text, qs_sweep_options *so)
{
    char *copy = strdup(text), *end;
    char *c1 = copy ? strchr(copy, ':') : NULL, *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    int ok = c2 != NULL;
    if (ok) {
        *c1 = *c2 = '\0';
        errno = 0;
        long count = strtol(c2 + 1, &end, 10);
        ok = qs_parse_real(copy, &so->spectrum_min) == QS_OK && qs_parse_real(c1 + 1, &so->spectrum_max) == QS_OK && !*end && !errno &&
             end != c2 + 1 && count >= 2 && count <= QS_SPECTRUM_MAX_POINTS;
        so->spectrum_points = ok ? (int)count : 0;
    }
    free(copy);
    qs_error err;
    if (!ok) fprintf(stderr, "qsync sweep: --spectrum %s: expected A:B:N, N from 2 to %d frequencies from A to B > A "
                             "(finite numbers)\n", text, QS_SPECTRUM_MAX_POINTS);
    else if (qs_spectrum_check_grid(so->spectrum_min, so->spectrum_max, so->spectrum_points, &err) != QS_OK) {
        fprintf(stderr, "qsync sweep: --spectrum %s: %s\n", text, err.message);
        ok = 0;
    }
    return ok;
}

int cmd_sweep(int argc, char **argv)
{
    if (sweep_process_setup()) return 130;   /* a signal during the set-up below ends it cleanly too */
    model_args ma = {0};
    ma.tail_tol = QS_AUTO_GUESS_TAIL;
    qs_sweep_options so;
    qs_sweep_defaults(&so);
    int n_axes = 0, n_ties = 0, resume = 0, plot = 1, rc = EXIT_INPUT, target_err = 0, check = 0, *observe = NULL;
    double interval = SWEEP_PROGRESS_INTERVAL;
    qs_axis axes[64] = {{0}};
    char *axis_copy[64] = {0}, *tie_copy[64] = {0};
    qs_tie ties[64];
    const char *out = NULL, *v;
    qs_model *m = NULL;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = model_args_take(&ma, argc, argv, &i)) != 0) { if (r < 0) goto done; continue; }
        if ((r = cli_take(argc, argv, &i, "--vary", 1, &v)) != 0) {
            if (r < 0) goto done;
            if (n_axes == 64 || !parse_vary(v, &axes[n_axes], &axis_copy[n_axes])) {
                fprintf(stderr, "qsync sweep: --vary %s: expected PATH[,PATH...]=START:STOP:COUNT with 1 <= COUNT <= %d, "
                                "or PATH=v1,v2,... (finite numbers; complex a+bi on couplings)\n", v, QS_SWEEP_MAX_POINTS);
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
            if (!(tie_copy[n_ties] = strdup(v))) { rc = cli_fail(QS_ENOMEM, "out of memory"); goto done; }
            tie_copy[n_ties][eq - v] = '\0';
            ties[n_ties].path = tie_copy[n_ties];
            ties[n_ties].expression = tie_copy[n_ties] + (eq - v) + 1;
            n_ties++;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--observe", 1, &v)) != 0) {     /* repeated: the lists in order */
            if (r < 0 || !cli_observe("qsync sweep", v, &observe, &so.n_observe)) goto done;
            so.observe = observe;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--spectrum", 1, &v)) != 0) {
            if (r < 0 || !parse_spectrum(v, &so)) goto done;
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
            target_err = 1;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--progress-interval", 1, &v)) != 0) {
            if (r < 0 || !cli_real("--progress-interval", v, &interval) || !(interval >= 0) || interval > 1e9) {
                if (r >= 0) fprintf(stderr, "qsync sweep: --progress-interval must be seconds >= 0 (0: no progress lines)\n");
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
        if ((r = truncation_args_take(argc, argv, &i, &check, &so.s_tol)) != 0) { if (r < 0) goto done; continue; }
        if (cli_take(argc, argv, &i, "--truncation-every-point", 0, &v) > 0) { check = 2; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { usage(stdout); rc = EXIT_OK; goto done; }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "qsync sweep: unknown option %s\n", argv[i]);
            usage(stderr);
            goto done;
        }
        if (ma.model_path) { fprintf(stderr, "qsync sweep: more than one model file (%s, %s)\n", ma.model_path, argv[i]); goto done; }
        ma.model_path = argv[i];
    }
    if (!ma.model_path || !out || n_axes == 0) {
        fprintf(stderr, "qsync sweep: %s\n", !ma.model_path ? "no model file" : !out ? "no --out DIR" : "no --vary axis");
        usage(stderr);
        goto done;
    }
    if (target_err && !so.classical) {
        fprintf(stderr, "qsync sweep: --target-err applies to classical sweeps only: add --classical or drop --target-err\n");
        goto done;
    }
    if (so.spectrum_points > 0 && so.classical) {
        fprintf(stderr, "qsync sweep: --spectrum applies to quantum sweeps only: drop --spectrum or --classical\n");
        goto done;
    }
    if (observe && so.classical) {
        fprintf(stderr, "qsync sweep: --observe applies to quantum sweeps only (a classical sweep gives S, S_err and phi): "
                        "drop --observe or --classical\n");
        goto done;
    }
    so.tail_tol = ma.tail_tol;
    so.truncation = check > 1 ? QS_SWEEP_TRUNCATION_AUTO : check > 0 ? QS_SWEEP_TRUNCATION_ON
                    : check < 0 ? QS_SWEEP_TRUNCATION_OFF : QS_SWEEP_TRUNCATION_SAMPLED;
    /* levels = auto stays for the sweep to resolve over the grid */
    if ((rc = model_args_load(&ma, 0, &m, NULL, NULL)) != EXIT_OK) goto done;
    sweep_job job = {.command = "sweep", .argc = argc, .argv = argv, .model = m, .n_axes = n_axes, .axes = axes,
                     .n_ties = n_ties, .ties = ties, .options = so, .out = out, .resume = resume, .plot = plot,
                     .progress_interval = interval};
    rc = sweep_job_run(&job);
done:
    qs_model_free(&m);
    free(observe);
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
