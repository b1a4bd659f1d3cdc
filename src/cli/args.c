/* args.c — flag scanning, number flags, model loading with overrides, output files and
 * folders, and gnuplot.
 *
 * No path, name or value given by a user ever reaches a shell: gnuplot is started by
 * posix_spawn with the output folder as its working directory. Output files are written
 * atomically (a temporary file renamed over the target) when the target is a regular file
 * or does not exist; a symlink is followed to its target, which is replaced the same way
 * next to it; a device node, FIFO or socket (or anything under /dev or /proc) is written
 * in place, never renamed over.
 */
#define _GNU_SOURCE   /* posix_spawn_file_actions_addchdir_np, pipe2 (glibc >= 2.29) */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

extern char **environ;

double qs_now_cli(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile int progress_stop;   /* set by SIGINT/SIGTERM while a run is in progress */
static struct sigaction progress_old_int, progress_old_term;
static void progress_on_signal(int sig) { (void)sig; progress_stop = 1; }

volatile int *cli_progress_start(cli_progress *p)
{
    p->t0 = p->last = qs_now_cli();
    p->tty = isatty(2);
    p->printed = 0;
    progress_stop = 0;
    struct sigaction sa = {0};
    sa.sa_handler = progress_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &progress_old_int);
    sigaction(SIGTERM, &sa, &progress_old_term);
    return &progress_stop;
}

int cli_progress_due(cli_progress *p, double *elapsed)
{
    double now = qs_now_cli(), every = p->tty ? CLI_PROGRESS_TTY : CLI_PROGRESS_LOG;
    if (now - p->t0 < CLI_PROGRESS_AFTER || now - p->last < every) return 0;
    p->last = now;
    p->printed = 1;
    *elapsed = now - p->t0;
    return 1;
}

const char *cli_progress_lead(const cli_progress *p) { return p->tty ? "\r" : ""; }
const char *cli_progress_tail(const cli_progress *p) { return p->tty ? "   " : "\n"; }

int cli_progress_finish(cli_progress *p)
{
    sigaction(SIGINT, &progress_old_int, NULL);
    sigaction(SIGTERM, &progress_old_term, NULL);
    if (p->printed && p->tty) fputc('\n', stderr);
    return progress_stop != 0;
}

int cli_exit_status(int status)
{
    switch (status) {
    case QS_OK: case QS_WARN_TRUNCATION: return EXIT_OK;
    case QS_EINPUT: return EXIT_INPUT;
    case QS_ENUMERIC: return EXIT_NUMERIC;
    case QS_ENOMEM: case QS_ETOOBIG: return EXIT_MEMORY;
    default: return EXIT_IO;
    }
}

int cli_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("qsync: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return cli_exit_status(status);
}

int cli_take(int argc, char **argv, int *i, const char *name, int wants_value, const char **value)
{
    const char *arg = argv[*i];
    size_t len = strlen(name);
    if (strncmp(arg, name, len) != 0) return 0;
    if (arg[len] == '\0') {
        if (!wants_value) { *value = NULL; return 1; }
        if (*i + 1 >= argc) {
            fprintf(stderr, "qsync: %s needs a value\n", name);
            return -1;
        }
        *value = argv[++*i];
        return 1;
    }
    if (arg[len] == '=' && wants_value) {
        *value = arg + len + 1;
        return 1;
    }
    return 0;
}

int cli_real(const char *flag, const char *text, double *out)
{
    if (qs_parse_real(text, out) != QS_OK) {
        fprintf(stderr, "qsync: %s: '%s' is not a finite number\n", flag, text);
        return 0;
    }
    return 1;
}

int cli_bytes(const char *flag, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    double unit = 1;
    if (*end == 'K' || *end == 'k') unit = 1024.0, end++;
    else if (*end == 'M' || *end == 'm') unit = 1048576.0, end++;
    else if (*end == 'G' || *end == 'g') unit = 1073741824.0, end++;
    if (end == text || *end != '\0' || !(v > 0) || !isfinite(v) || errno || !(v * unit < 9.2e18)) {
        fprintf(stderr, "qsync: %s: '%s' is not a size (such as 500M or 2G)\n", flag, text);
        return 0;
    }
    *out = v * unit;
    return 1;
}

/* One of three names for a flag's value: its value in *out, or a message and 0 */
static int choice(const char *flag, const char *text, const char *const names[3], const int values[3], int *out)
{
    for (int k = 0; k < 3; k++)
        if (strcmp(text, names[k]) == 0) {
            *out = values[k];
            return 1;
        }
    fprintf(stderr, "qsync: %s: '%s' is not %s, %s or %s\n", flag, text, names[0], names[1], names[2]);
    return 0;
}

static int push_op(model_args *ma, const char *path, const char *value)
{
    const char **p = realloc(ma->op_path, (size_t)(ma->n_ops + 1) * sizeof *p);
    if (!p) return 0;
    ma->op_path = p;
    const char **v = realloc(ma->op_value, (size_t)(ma->n_ops + 1) * sizeof *v);
    if (!v) return 0;
    ma->op_value = v;
    ma->op_path[ma->n_ops] = path;
    ma->op_value[ma->n_ops] = value;
    ma->n_ops++;
    return 1;
}

int model_args_take(model_args *ma, int argc, char **argv, int *i)
{
    const char *v;
    int r;
    if ((r = cli_take(argc, argv, i, "--levels", 1, &v)) != 0) {
        if (r < 0) return -1;
        return push_op(ma, "levels", v) ? 1 : -1;
    }
    if ((r = cli_take(argc, argv, i, "--set", 1, &v)) != 0) {
        if (r < 0) return -1;
        if (!strchr(v, '=')) {
            fprintf(stderr, "qsync: --set %s: expected PATH=VALUE\n", v);
            return -1;
        }
        return push_op(ma, v, NULL) ? 1 : -1;
    }
    if ((r = cli_take(argc, argv, i, "--tail-tol", 1, &v)) != 0) {
        if (r < 0 || !cli_real("--tail-tol", v, &ma->tail_tol)) return -1;
        if (!(ma->tail_tol > 0 && ma->tail_tol < 1)) {
            fprintf(stderr, "qsync: --tail-tol must lie in (0, 1)\n");
            return -1;
        }
        return 1;
    }
    return 0;
}

void model_args_free(model_args *ma)
{
    free(ma->op_path);
    free(ma->op_value);
}

int model_args_load(const model_args *ma, int resolve, qs_model **model, FILE *log, int **was_auto)
{
    qs_error err;
    int st = qs_model_load(ma->model_path, model, &err);
    if (st != QS_OK) return cli_fail(st, "%s", err.message);
    for (int i = 0; i < ma->n_ops; i++) {
        char path[256];
        const char *value = ma->op_value[i];
        const char *flag = value ? "--levels" : "--set";
        if (value) {
            snprintf(path, sizeof path, "%s", ma->op_path[i]);
        } else {
            const char *eq = strchr(ma->op_path[i], '=');
            snprintf(path, sizeof path, "%.*s", (int)(eq - ma->op_path[i]), ma->op_path[i]);
            value = eq + 1;
        }
        st = qs_model_set(*model, path, value, &err);
        if (st != QS_OK) {
            qs_model_free(model);
            return cli_fail(st, "%s %s: %s", flag, ma->op_value[i] ? ma->op_value[i] : ma->op_path[i], err.message);
        }
    }
    if (!resolve) return EXIT_OK;
    int n = qs_model_size(*model);
    int *autos = calloc((size_t)n, sizeof *autos);
    if (!autos) {
        qs_model_free(model);
        return cli_fail(QS_ENOMEM, "out of memory");
    }
    for (int j = 0; j < n; j++) autos[j] = qs_model_osc(*model, j)->levels == QS_LEVELS_AUTO;
    st = qs_model_resolve_levels(*model, ma->tail_tol, QS_AUTO_LEVELS_MAX, &err);
    if (st != QS_OK) {
        free(autos);
        qs_model_free(model);
        return cli_fail(st, "%s: %s", ma->model_path, err.message);
    }
    for (int j = 0; log && j < n; j++)
        if (autos[j])
            fprintf(log, "levels = auto: oscillator %s gets %d levels (uncoupled tail below %g)\n",
                    qs_model_name(*model, j), qs_model_osc(*model, j)->levels, ma->tail_tol);
    if (was_auto) *was_auto = autos;
    else free(autos);
    return EXIT_OK;
}

int truncation_args_take(int argc, char **argv, int *i, int *check, double *s_tol)
{
    const char *v;
    int r;
    if (cli_take(argc, argv, i, "--truncation-check", 0, &v) > 0) { *check = 1; return 1; }
    if (cli_take(argc, argv, i, "--no-truncation-check", 0, &v) > 0) { *check = -1; return 1; }
    if ((r = cli_take(argc, argv, i, "--s-tol", 1, &v)) != 0) {
        if (r < 0 || !cli_real("--s-tol", v, s_tol)) return -1;
        if (!(*s_tol > 0 && *s_tol < 2)) { fprintf(stderr, "qsync: --s-tol must lie in (0, 2) (S itself lies in [0, 2))\n"); return -1; }
        return 1;
    }
    return 0;
}

/* --preconditioner's names, by the value of QS_PRECOND_* */
static const char *const precond_names[] = {"auto", "block", "uncoupled"};
static const int precond_values[] = {QS_PRECOND_AUTO, QS_PRECOND_BLOCK, QS_PRECOND_UNCOUPLED};

const char *cli_preconditioner_name(int kind)
{
    for (int k = 0; k < 3; k++) if (precond_values[k] == kind) return precond_names[k];
    return "unknown";
}

int steady_options_take(qs_steady_options *opt, int argc, char **argv, int *i)
{
    const char *v;
    int r;
    if (cli_take(argc, argv, i, "--no-symmetry", 0, &v) > 0) { opt->symmetry = 0; return 1; }
    if ((r = cli_take(argc, argv, i, "--lu", 1, &v)) != 0) {
        static const char *const names[] = {"auto", "klu", "umfpack"};
        static const int values[] = {QS_LU_AUTO, QS_LU_KLU, QS_LU_UMFPACK};
        return r < 0 || !choice("--lu", v, names, values, &opt->lu) ? -1 : 1;
    }
    if ((r = cli_take(argc, argv, i, "--solver", 1, &v)) != 0) {
        static const char *const names[] = {"auto", "direct", "iterative"};
        static const int values[] = {QS_SOLVER_AUTO, QS_SOLVER_DIRECT, QS_SOLVER_ITERATIVE};
        return r < 0 || !choice("--solver", v, names, values, &opt->solver) ? -1 : 1;
    }
    if ((r = cli_take(argc, argv, i, "--preconditioner", 1, &v)) != 0)
        return r < 0 || !choice("--preconditioner", v, precond_names, precond_values, &opt->preconditioner) ? -1 : 1;
    if (cli_take(argc, argv, i, "--cold-start", 0, &v) > 0) { opt->warm_start = opt->reuse_lu = 0; return 1; }
    if ((r = cli_take(argc, argv, i, "--iterative-tol", 1, &v)) != 0) {
        if (r < 0 || !cli_real("--iterative-tol", v, &opt->iterative_tol)) return -1;
        if (!(opt->iterative_tol > 0 && opt->iterative_tol < 1)) { fprintf(stderr, "qsync: --iterative-tol must lie in (0, 1)\n"); return -1; }
        return 1;
    }
    if ((r = cli_take(argc, argv, i, "--restart", 1, &v)) != 0) {
        double m;
        if (r < 0 || !cli_real("--restart", v, &m)) return -1;
        if (!(m >= 2 && m <= 10000 && m == (int)m)) { fprintf(stderr, "qsync: --restart needs a whole number from 2 to 10000\n"); return -1; }
        opt->restart = (int)m;
        return 1;
    }
    if ((r = cli_take(argc, argv, i, "--top-tol", 1, &v)) != 0) {
        if (r < 0 || !cli_real("--top-tol", v, &opt->top_tol)) return -1;
        if (!(opt->top_tol >= 0 && opt->top_tol <= 1)) { fprintf(stderr, "qsync: --top-tol is a population: it must lie in [0, 1], not %s\n", v); return -1; }
        return 1;
    }
    if ((r = cli_take(argc, argv, i, "--residual-tol", 1, &v)) != 0) {
        if (r < 0 || !cli_real("--residual-tol", v, &opt->residual_tol)) return -1;
        if (!(opt->residual_tol > 0)) { fprintf(stderr, "qsync: --residual-tol must be > 0, not %s\n", v); return -1; }
        return 1;
    }
    if ((r = cli_take(argc, argv, i, "--memory-limit", 1, &v)) != 0) return r < 0 || !cli_bytes("--memory-limit", v, &opt->memory_limit) ? -1 : 1;
    return 0;
}

/* The classical options one flag at a time; every value is checked with the others as they
 * stand, so that the combination in the end holds: step counts ((burn-in + time)/dt,
 * sample-every/dt) at most QS_CLASSICAL_MAX_STEPS, enough trajectories and replicas for an
 * error bar (a jackknife over at least QS_CLASSICAL_MIN_REPLICAS groups). */
int classical_options_take(qs_classical_options *o, int argc, char **argv, int *i)
{
    static const char *real_flags[] = {"--cutoff", "--dt", "--burn-in", "--time", "--sample-every", "--significance"};
    double *real_dst[] = {&o->cutoff, &o->dt, &o->burn_in, &o->t_measure, &o->sample_every, &o->significance};
    static const char *int_flags[] = {"--seed", "--trajectories", "--replicas"};
    const char *v;
    int r;
    for (int k = 0; k < 6; k++)
        if ((r = cli_take(argc, argv, i, real_flags[k], 1, &v)) != 0) {
            if (r < 0 || !cli_real(real_flags[k], v, real_dst[k])) return -1;
            if (k == 2 || k == 5 ? *real_dst[k] < 0 : !(*real_dst[k] > 0)) {
                fprintf(stderr, "qsync: %s must be %s\n", real_flags[k], k == 2 || k == 5 ? ">= 0" : "> 0");
                return -1;
            }
            double steps = (o->burn_in + o->t_measure) / o->dt, stride = o->sample_every / o->dt;
            if (!(steps <= QS_CLASSICAL_MAX_STEPS) || !(stride <= QS_CLASSICAL_MAX_STEPS)) {
                fprintf(stderr, "qsync: %s %s: %s = %.3g time steps, more than %.0e\n", real_flags[k], v,
                        steps > stride ? "(burn-in + time)/dt" : "sample-every/dt", steps > stride ? steps : stride,
                        QS_CLASSICAL_MAX_STEPS);
                return -1;
            }
            return 1;
        }
    for (int k = 0; k < 3; k++)
        if ((r = cli_take(argc, argv, i, int_flags[k], 1, &v)) != 0) {
            /* digits only (strtoull would take " -1" as 2^64 − 1), and in range */
            unsigned long long least = k == 0 ? 0 : k == 1 ? (QS_CLASSICAL_MIN_REPLICAS - 1) * QS_CLASSICAL_CHUNK + 1 : QS_CLASSICAL_MIN_REPLICAS;
            unsigned long long most = k == 0 ? ULLONG_MAX : 100000000ULL;
            char *end = NULL;
            unsigned long long x = 0;
            int ok = r > 0 && v[0] >= '0' && v[0] <= '9';
            if (ok) {
                errno = 0;
                x = strtoull(v, &end, 10);
                ok = errno == 0 && *end == '\0' && x >= least && x <= most;
            }
            if (!ok) {
                if (k == 0) fprintf(stderr, "qsync: --seed needs a whole number from 0 to %llu\n", ULLONG_MAX);
                else fprintf(stderr, "qsync: %s needs a whole number from %llu to %llu%s\n", int_flags[k], least, most,
                             k == 1 ? " (three groups of trajectories for the error bar)"
                                    : " (the jackknife leaves one group out and tests the harmonics on the others)");
                return -1;
            }
            if (k == 0) o->seed = x; else if (k == 1) o->trajectories = (int)x; else o->replicas = (int)x;
            return 1;
        }
    return 0;
}

int threads_take(int argc, char **argv, int *i, int *threads)
{
    const char *v;
    double t;
    int r = cli_take(argc, argv, i, "--threads", 1, &v);
    if (r <= 0) return r;
    if (qs_parse_real(v, &t) != QS_OK || t < 1 || t > 1024 || t != (int)t) {
        fprintf(stderr, "qsync: --threads needs a whole number from 1 to 1024, not '%s'\n", v);
        return -1;
    }
    *threads = (int)t;
    return 1;
}

/* gnuplot writes its PNG in place and exits 0 even when the disk fills: a PNG that does
 * not end in its IEND chunk is removed and reported (0), so no cut-off plot is left. */
static int png_complete(const char *dir, const char *name)
{
    char path[4400];
    unsigned char tail[12];
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    FILE *fp = fopen(path, "rb");
    int ok = fp && fseek(fp, -12, SEEK_END) == 0 && fread(tail, 1, 12, fp) == 12 && memcmp(tail + 4, "IEND", 4) == 0;
    if (fp) fclose(fp);
    if (ok) return 1;
    remove(path);
    fprintf(stderr, "qsync: %s: gnuplot could not write it whole (is the disk full?); removed it; the CSV is complete\n", path);
    return 0;
}

int run_gnuplot(const char *dir, const char *name)
{
    char script[256], line[512];
    snprintf(script, sizeof script, "%s.gp", name);
    char *const args[] = {"gnuplot", script, NULL};
    int fd[2];
    if (pipe2(fd, O_CLOEXEC) != 0) {
        fprintf(stderr, "qsync: %s/%s.png not drawn (cannot start gnuplot: %s); the CSV is complete\n", dir, name, strerror(errno));
        return 0;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 2);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    pid_t pid;
    int err = posix_spawnp(&pid, "gnuplot", &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (err != 0) {
        close(fd[0]);
        fprintf(stderr, "qsync: %s/%s.png not drawn (%s%s); the CSV is complete\n", dir, name,
                err == ENOENT ? "is gnuplot installed? " : "cannot start gnuplot: ", strerror(err));
        return err == ENOENT;   /* no gnuplot on PATH: a warning, as documented */
    }
    FILE *p = fdopen(fd[0], "r");
    int printed = 0, status = 0;
    while (p && fgets(line, sizeof line, p))
        if (printed++ < 5) fprintf(stderr, "gnuplot: %s", line);
    if (p) fclose(p);
    else close(fd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        int missing = WIFEXITED(status) && WEXITSTATUS(status) == 127;
        char png[4400];
        snprintf(png, sizeof png, "%s/%s.png", dir, name);
        remove(png);                            /* whatever gnuplot began is not the plot */
        fprintf(stderr, "qsync: %s not drawn (%s); the CSV is complete\n", png, missing ? "is gnuplot installed?" : "gnuplot failed");
        return missing;                         /* no gnuplot: a warning, as documented; else a failure */
    }
    return png_complete(dir, name);
}

/* --observe NAME[,NAME...]: the table's indices appended to *list (*count of them already,
 * from earlier --observe flags; a new array replaces it) and their number into *count; a
 * message naming --observe and listing the valid names, and 0, otherwise (a name given
 * twice, in one flag or two, included). cmd: the message's prefix ("qsync sweep"). */
int cli_observe(const char *cmd, const char *text, int **list, int *count)
{
    int n = qs_observable_count(), k = *count;
    int *idx = malloc((size_t)n * sizeof *idx);
    char *copy = strdup(text);
    const char *why = NULL;
    char what[160] = "no observable named";
    if (!idx || !copy) { free(idx); free(copy); fprintf(stderr, "qsync: out of memory\n"); return 0; }
    if (k > 0) memcpy(idx, *list, (size_t)k * sizeof *idx);   /* at most n: none twice */
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && !why; tok = strtok_r(NULL, ",", &save)) {
        int w = qs_observable_find(tok);
        if (w < 0) { snprintf(what, sizeof what, "unknown observable '%.100s'", tok); why = what; break; }
        for (int i = 0; i < k; i++)
            if (idx[i] == w) { snprintf(what, sizeof what, "'%.100s' named twice", tok); why = what; }
        if (!why) idx[k++] = w;
    }
    if (!why && k == *count) why = what;
    if (why) {
        fprintf(stderr, "%s: --observe %s: %s; the observables are:", cmd, text, why);
        for (int i = 0; i < n; i++) fprintf(stderr, " %s", qs_observable_get(i)->name);
        fputc('\n', stderr);
        free(idx);
        free(copy);
        return 0;
    }
    free(copy);
    free(*list);
    *list = idx;
    *count = k;
    return 1;
}

int cli_mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return cli_fail(QS_EINPUT, "--out '%s': not a usable folder name", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; ; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        struct stat st;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return cli_fail(QS_EIO, "%s: cannot create (%s)", buf, strerror(errno));
        if (stat(buf, &st) != 0) return cli_fail(QS_EIO, "%s: cannot create (%s)", buf, strerror(errno));
        if (!S_ISDIR(st.st_mode)) return cli_fail(QS_EIO, "%s: cannot create (a file of that name exists)", buf);
        *p = c;
        if (c == '\0') break;
    }
    return EXIT_OK;
}

static int under_dev_or_proc(const char *path)
{
    return strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0;
}

/* Where writing `path` really goes: the final component's symlinks followed (a dangling
 * one to the file it names), stopping at /dev or /proc (whose links, such as /dev/stdout,
 * name open descriptors rather than files). Returns 0 (errno set) when the chain is too
 * long or a name too long. */
static int follow_links(const char *path, char *out, size_t size)
{
    char cur[4096], link[4096];
    errno = ENAMETOOLONG;
    if (snprintf(cur, sizeof cur, "%s", path) >= (int)sizeof cur) return 0;
    for (int hops = 0; hops < 40; hops++) {
        struct stat st;
        if (under_dev_or_proc(cur) || lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) {
            errno = ENAMETOOLONG;
            return snprintf(out, size, "%s", cur) < (int)size;
        }
        ssize_t len = readlink(cur, link, sizeof link - 1);
        if (len < 0) return 0;
        errno = ENAMETOOLONG;
        link[len] = '\0';
        if (link[0] == '/') {
            memcpy(cur, link, (size_t)len + 1);
        } else {
            char *slash = strrchr(cur, '/');
            size_t keep = slash ? (size_t)(slash - cur) + 1 : 0;
            if (keep + (size_t)len + 1 > sizeof cur) return 0;
            memcpy(cur + keep, link, (size_t)len + 1);
        }
    }
    errno = ELOOP;
    return 0;
}

static const char tmp_suffix[] = ".tmp.";

/* Every output is written through a stream that remembers the first error of its writes
 * (stdio keeps only a flag, and errno is long gone by the commit): out_commit reports that
 * one, e.g. "No space left on device". A few outputs are open at once (a sweep's journal and
 * its files); past OUT_STREAMS a plain stream, whose failure reads as an I/O error. */
#define OUT_STREAMS 16
typedef struct {
    int fd, err;
    FILE *fp;
} out_stream;
static out_stream *out_streams[OUT_STREAMS];

static ssize_t out_write(void *c, const char *buf, size_t n)
{
    out_stream *o = c;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(o->fd, buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            if (!o->err) o->err = errno;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}

static int out_close(void *c)
{
    out_stream *o = c;
    int rc = close(o->fd);
    for (int i = 0; i < OUT_STREAMS; i++)
        if (out_streams[i] == o) out_streams[i] = NULL;
    free(o);
    return rc;
}

/* fd as a stream that records its first write error; fd is closed on failure */
static FILE *out_stream_open(int fd)
{
    int slot = -1;
    for (int i = 0; i < OUT_STREAMS && slot < 0; i++)
        if (!out_streams[i]) slot = i;
    out_stream *o = slot >= 0 ? calloc(1, sizeof *o) : NULL;
    FILE *fp = NULL;
    if (o) {
        o->fd = fd;
        fp = fopencookie(o, "w", (cookie_io_functions_t){.write = out_write, .close = out_close});
        if (fp) { o->fp = fp; out_streams[slot] = o; }
        else free(o);
    }
    if (!fp) fp = fdopen(fd, "w");
    if (!fp) { int e = errno; close(fd); errno = e; }
    return fp;
}

/* the first write error of fp, 0 if none or unknown */
static int out_first_error(FILE *fp)
{
    for (int i = 0; i < OUT_STREAMS; i++)
        if (out_streams[i] && out_streams[i]->fp == fp) return out_streams[i]->err;
    return 0;
}

FILE *out_open(const char *path, char *tmp, size_t tmp_size)
{
    char target[4096];
    struct stat st;
    tmp[0] = '\0';
    if (!follow_links(path, target, sizeof target)) {
        fprintf(stderr, "qsync: %s: cannot write (%s)\n", path, strerror(errno));
        return NULL;
    }
    if (under_dev_or_proc(target) || (stat(target, &st) == 0 && !S_ISREG(st.st_mode))) {
        int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);   /* a device, FIFO or socket: in place */
        FILE *fp = fd >= 0 ? out_stream_open(fd) : NULL;
        if (!fp) fprintf(stderr, "qsync: %s: cannot write (%s)\n", path, strerror(errno));
        return fp;
    }
    if (snprintf(tmp, tmp_size, "%s%s%ld", target, tmp_suffix, (long)getpid()) >= (int)tmp_size) {
        fprintf(stderr, "qsync: %s: cannot write (%s)\n", path, strerror(ENAMETOOLONG));
        tmp[0] = '\0';
        return NULL;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    FILE *fp = fd >= 0 ? out_stream_open(fd) : NULL;
    if (!fp) {
        fprintf(stderr, "qsync: %s: cannot write (%s)\n", path, strerror(errno));
        if (fd >= 0) remove(tmp);
        tmp[0] = '\0';
    }
    return fp;
}

int out_check(const char *flag, const char *path)
{
    struct stat st;
    if (!path[0]) {
        fprintf(stderr, "qsync: %s: an empty file name\n", flag);
        return EXIT_INPUT;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "qsync: %s %s: cannot write (%s)\n", flag, path, strerror(EISDIR));
        return EXIT_IO;
    }
    return EXIT_OK;
}

int out_commit(FILE *fp, const char *tmp, const char *path)
{
    int err = 0;
    if (fflush(fp) != 0) err = errno;
    if (out_first_error(fp)) err = out_first_error(fp);     /* the first failure's reason */
    if (ferror(fp) && !err) err = EIO;
    if (fclose(fp) != 0 && !err) err = errno;
    if (!err && tmp[0]) {
        char target[4096];
        const char *cut = strstr(tmp, tmp_suffix), *next;
        while (cut && (next = strstr(cut + 1, tmp_suffix))) cut = next;   /* the last ".tmp." */
        snprintf(target, sizeof target, "%.*s", (int)(cut - tmp), tmp);
        if (rename(tmp, target) != 0) err = errno;
    }
    if (err) {
        fprintf(stderr, "qsync: %s: cannot write (%s)\n", path, strerror(err));
        if (tmp[0]) remove(tmp);
        return EXIT_IO;
    }
    return EXIT_OK;
}
