/* main.c — the qsync command: dispatch to subcommands, and check that standard output was
 * written (a full disk or a closed pipe is exit status 1, not a silent success). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "cli.h"

static const char usage[] =
    "qsync " QSYNC_VERSION " — synchronization of quantum self-oscillator networks\n"
    "usage: qsync COMMAND [arguments]\n"
    "  steady MODEL [options]   steady state: S and every observable of each oscillator and pair, the state itself\n"
    "  sweep MODEL --vary ... --out DIR   S (or any observables, --observe) over a grid of parameters: CSV and plot\n"
    "  perturb MODEL [--json]   first-order S of every pair\n"
    "  figure NAME|all --out DIR   the paper's figures: model, CSV and PNG\n"
    "  classical MODEL [options]   the classical Langevin model by Monte Carlo: S with errors\n"
    "  spectrum MODEL [options]   power spectrum of every oscillator, its peak, width and spectral lines\n"
    "  evolve MODEL --time T --samples N   quench: S(t) and <n_j>(t) after the couplings are switched on\n"
    "  resonances --K K         the resonance lines of Eq. 7\n"
    "  implement --g ... --kappa ... --K ... --delta-plus ... --delta-minus ... --omega0 ...\n"
    "                           model parameters from circuit or ion parameters\n"
    "Run 'qsync COMMAND --help' for a command's options.\n"
    "Exit status: 0 ok, 1 output not written, 2 bad input, 3 numerical failure, 4 refused for lack of memory,\n"
    "130 a sweep interrupted (finish it with --resume).\n";

/* OpenBLAS's thread count is a setting of the whole process, so the program, not the library,
 * chooses it. Sweeps and figures run one solver per core (OpenMP threads): there BLAS gets no
 * threads of its own, whose spinning would take cycles from the solvers. A single solve
 * (steady and the rest) keeps OpenBLAS's default. */
void openblas_set_num_threads(int);

static int run(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_INPUT;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "sweep") == 0 || strcmp(cmd, "figure") == 0) openblas_set_num_threads(1);
    if (strcmp(cmd, "steady") == 0) return cmd_steady(argc - 2, argv + 2);
    if (strcmp(cmd, "sweep") == 0) return cmd_sweep(argc - 2, argv + 2);
    if (strcmp(cmd, "perturb") == 0) return cmd_perturb(argc - 2, argv + 2);
    if (strcmp(cmd, "resonances") == 0) return cmd_resonances(argc - 2, argv + 2);
    if (strcmp(cmd, "implement") == 0) return cmd_implement(argc - 2, argv + 2);
    if (strcmp(cmd, "figure") == 0) return cmd_figure(argc - 2, argv + 2);
    if (strcmp(cmd, "classical") == 0) return cmd_classical(argc - 2, argv + 2);
    if (strcmp(cmd, "spectrum") == 0) return cmd_spectrum(argc - 2, argv + 2);
    if (strcmp(cmd, "evolve") == 0) return cmd_evolve(argc - 2, argv + 2);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        puts("qsync " QSYNC_VERSION);
        return EXIT_OK;
    }
    fprintf(stderr, "qsync: unknown command '%s'\n%s", cmd, usage);
    return EXIT_INPUT;
}

/* After a command: everything it printed must have reached standard output. */
static int check_stdout(int rc)
{
    int err = 0, failed = 0;
    if (fflush(stdout) != 0) err = errno, failed = 1;
    if (ferror(stdout)) failed = 1;                  /* an earlier write failed (errno is gone) */
    if (fclose(stdout) != 0 && !failed && errno != EBADF) err = errno, failed = 1;
    if (!failed) return rc;
    if (err) fprintf(stderr, "qsync: standard output: cannot write (%s)\n", strerror(err));
    else fputs("qsync: standard output: cannot write\n", stderr);
    return rc == EXIT_OK ? EXIT_IO : rc;
}

/* Under an address-space limit (ulimit -v), OpenBLAS's worker threads, started when the
 * library is loaded, retry the mapping of their 128 MiB buffers for ever when it fails, and
 * the process never ends. There the program runs itself again with one OpenBLAS thread
 * (OPENBLAS_NUM_THREADS=1, unless the user chose a number), so that a refused plan ends in
 * exit status 4 at any limit. Without a limit nothing changes. */
static void openblas_single_under_limit(char **argv)
{
    struct rlimit rl;
    if (getenv("OPENBLAS_NUM_THREADS") || getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
    if (setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_NUM_THREADS");   /* exec failed: go on as we are */
}

int main(int argc, char **argv)
{
    openblas_single_under_limit(argv);
    par_init(&argc, &argv);
    int rc = check_stdout(run(argc, argv));
    par_finalize();
    return rc;
}
