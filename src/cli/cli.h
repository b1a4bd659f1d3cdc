/* cli.h — shared pieces of the qsync command-line front end.
 *
 * Exit statuses (documented in README.md): 0 ok, 1 output could not be written,
 * 2 bad input (model file, flag or value), 3 numerical failure, 4 refused for lack of memory.
 */
#ifndef QSYNC_CLI_H
#define QSYNC_CLI_H

#include <complex.h>
#include <stdio.h>
#include "qsync/qsync.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { EXIT_OK = 0, EXIT_IO = 1, EXIT_INPUT = 2, EXIT_NUMERIC = 3, EXIT_MEMORY = 4 };

/* Exit status for a library status. */
int cli_exit_status(int status);

/* Print "qsync: message" to stderr and return the exit status for `status`. */
int cli_fail(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Options shared by commands that build a model: file, --levels, --set, --tail-tol. */
typedef struct {
    const char *model_path;
    int n_ops;
    const char **op_path, **op_value; /* --set/--levels in command-line order */
    double tail_tol;
} model_args;

/* Command-line scanning: if argv[*i] is --name or --name=value, consume it (and its value)
 * and return 1; *value points at the value (NULL for a flag). Returns −1 if a value is
 * missing (message printed). */
int cli_take(int argc, char **argv, int *i, const char *name, int wants_value, const char **value);

/* Parse numbers for flags; print "qsync: FLAG: ..." and return 0 on error. */
int cli_real(const char *flag, const char *text, double *out);
int cli_bytes(const char *flag, const char *text, double *out); /* 200M, 2G, 1500K, bytes */

/* Try the shared model options at argv[*i]; 1 consumed, 0 not ours, −1 error. */
int model_args_take(model_args *ma, int argc, char **argv, int *i);
/* Load the model, apply the overrides in order, and (if resolve) resolve levels = auto,
 * reporting the choices to `log` when non-NULL. *was_auto (if non-NULL) becomes a new
 * array, one flag per oscillator: its levels were chosen automatically. Returns an exit status. */
int model_args_load(const model_args *ma, int resolve, qs_model **model, FILE *log, int **was_auto);

/* The solver flags shared by steady and sweep (--lu, --no-symmetry, --top-tol,
 * --residual-tol, --memory-limit) at argv[*i]: 1 consumed, 0 not ours, −1 error. */
int steady_options_take(qs_steady_options *opt, int argc, char **argv, int *i);
/* --preconditioner's name of a QS_PRECOND_* value ("auto", "block", "uncoupled") */
const char *cli_preconditioner_name(int kind);
void model_args_free(model_args *ma);

/* The classical ensemble flags shared by classical and sweep --classical (--cutoff, --dt,
 * --burn-in, --time, --sample-every, --seed, --trajectories, --replicas): 1 consumed,
 * 0 not ours, −1 error. */
/* The truncation check of S, as qsync steady and sweep read it: --truncation-check
 * (*check = 1), --no-truncation-check (−1), --s-tol X (X in (0, 2)). 1 taken, 0 not
 * ours, −1 bad value (message printed). *check stays 0 (by cost) unless a flag sets it. */
int truncation_args_take(int argc, char **argv, int *i, int *check, double *s_tol);
int classical_options_take(qs_classical_options *o, int argc, char **argv, int *i);

/* --threads N (1..1024) at argv[*i] into *threads: 1 consumed, 0 not ours, −1 error. */
int threads_take(int argc, char **argv, int *i, int *threads);

/* Run `gnuplot NAME.gp` inside dir (posix_spawn with dir as working directory: no shell),
 * echo its first lines to stderr, and warn when dir/NAME.png was not drawn (the data files
 * are complete either way). Returns 0 when gnuplot could not be started at all or left a PNG
 * cut short (a full disk; the partial PNG is removed), 1 otherwise (a missing gnuplot is a warning). */
int run_gnuplot(const char *dir, const char *name);

/* Create the folder `path` and any missing parents (as mkdir -p). Returns an exit status
 * (message printed): 0, or 1 when a component cannot be created or is not a folder. */
int cli_mkdirs(const char *path);
/* --observe NAME[,NAME...]: the observables' indices appended to *list (*count of them); a name
 * unknown or given twice (in one flag or two) is refused with a message naming --observe and
 * the names known (prefixed by cmd), and 0. */
int cli_observe(const char *cmd, const char *text, int **list, int *count);

/* MPI (par.c): started only under a launcher (mpirun, srun); otherwise one process of rank 0.
 * The collectives are no-ops without MPI. */
void par_init(int *argc, char ***argv);
void par_finalize(void);
int par_rank(void);
int par_size(void);
int par_local_size(void);       /* processes on this machine */
void par_barrier(void);
int par_max(int value);         /* the largest value over all processes */
int par_broadcast(int value);   /* rank 0's value */

/* Output files. out_open: a regular or new file is written to TARGET.tmp.PID (its name in
 * tmp) and out_commit renames that over TARGET, where TARGET is PATH with its symlinks
 * followed (the link stays a link). A device node, FIFO or socket, or a path under /dev or
 * /proc, is opened and written in place (tmp becomes ""), never renamed over. NULL (message
 * printed) when it cannot be opened. out_commit closes fp; any write error, such as a full
 * disk or /dev/full, is exit status 1 with a message naming PATH. */
FILE *out_open(const char *path, char *tmp, size_t tmp_size);
int out_commit(FILE *fp, const char *tmp, const char *path); /* exit status */
/* Before any work: the file FLAG will write at PATH. Exit status 2 (naming FLAG) for an empty
 * name, 1 (naming FLAG and PATH) when PATH is an existing folder, else 0. */
int out_check(const char *flag, const char *path);

/* Minimal JSON writer on a FILE: objects, arrays, keys, numbers (non-finite → null). */
typedef struct {
    FILE *fp;
    int depth;
    int first[32];
    char closing[32];
} json;
void json_begin(json *j, FILE *fp);
void json_object(json *j, const char *key);  /* key NULL inside arrays / at top */
void json_array(json *j, const char *key);
void json_end(json *j);                      /* closes the innermost object or array */
void json_num(json *j, const char *key, double v);
void json_int(json *j, const char *key, long long v);
void json_str(json *j, const char *key, const char *s);
void json_bool(json *j, const char *key, int v);
/* A complex value: a number when its imaginary part is 0, else {"re": .., "im": ..}. */
void json_complex(json *j, const char *key, double complex v);
/* The header of an output folder's description (sweep.json, spectrum.json) inside the open
 * top object: program, command_line ("qsync", command, then argv), date (UTC) and model_file. */
void json_header(json *j, const char *command, int argc, char **argv, const qs_model *m);
/* An oscillator's parameters in the model file's order (omega, K, gamma_plus, gamma_minus,
 * sigma_plus, sigma_minus, n_plus, n_minus, noise, gamma_T): the first `count` of them. */
#define JSON_OSC_PARAMETERS 10
void json_osc_parameters(json *j, const qs_osc *x, int count);
/* The couplings array: a, b and the value (split: always "re" and "im", else json_complex's "value"). */
void json_couplings(json *j, const qs_model *m, int split);
/* "model": {"oscillators": [name, the parameters, levels], "couplings": [...]}: the model as solved. */
void json_model(json *j, const qs_model *m);

/* Monotonic seconds. */
double qs_now_cli(void);

/* Progress of a long run on stderr and its stop on SIGINT/SIGTERM (evolve, spectrum). The
 * first report after CLI_PROGRESS_AFTER seconds, then one every CLI_PROGRESS_TTY seconds on a
 * terminal (rewriting one line) or every CLI_PROGRESS_LOG seconds otherwise (a line each). */
#define CLI_PROGRESS_AFTER 2.0
#define CLI_PROGRESS_TTY 0.5
#define CLI_PROGRESS_LOG 30.0
typedef struct {
    double t0, last;
    int tty, printed;
} cli_progress;
/* Start the clock and catch SIGINT/SIGTERM; returns the flag they set, for the library to poll. */
volatile int *cli_progress_start(cli_progress *p);
/* 1 when a report is due (the caller prints it, framed by cli_progress_lead/_tail), else 0;
 * *elapsed becomes the seconds since the start. */
int cli_progress_due(cli_progress *p, double *elapsed);
const char *cli_progress_lead(const cli_progress *p);   /* "\r" on a terminal, else "" */
const char *cli_progress_tail(const cli_progress *p);   /* "   " on a terminal, else "\n" */
/* Restore the signal handlers and end a terminal's progress line; returns 1 when stopped by a signal. */
int cli_progress_finish(cli_progress *p);

/* A sweep into a folder (cmd_sweep.c), as `qsync sweep` and `qsync figure` run one: the
 * folder's lock, the journal and --resume, sweep.csv and sweep.json from the library's result
 * store, and (plot) sweep.gp / sweep.png. Under MPI every process runs it with the same job. */
#define SWEEP_PROGRESS_INTERVAL 30.0   /* stderr not a terminal: a progress line every this many seconds */
typedef struct {
    const char *command;          /* "sweep" or "figure": how sweep.json and the lock name the command */
    int argc;
    char **argv;                  /* the command's arguments, recorded in sweep.json and the lock */
    const qs_model *model;        /* read; levels = auto is resolved by the sweep */
    int n_axes;
    const qs_axis *axes;
    int n_ties;
    const qs_tie *ties;
    qs_sweep_options options;     /* part, parts, stop and (MPI) threads are set by the run */
    const char *out;
    int resume, plot;
    double progress_interval;
    long not_ok;                  /* written (rank 0): points done whose status is not ok */
} sweep_job;
int sweep_job_run(sweep_job *job);  /* exit status */

int cmd_steady(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_perturb(int argc, char **argv);
int cmd_resonances(int argc, char **argv);
int cmd_implement(int argc, char **argv);
int cmd_figure(int argc, char **argv);
int cmd_classical(int argc, char **argv);
int cmd_spectrum(int argc, char **argv);
int cmd_evolve(int argc, char **argv);

#endif
