/* qsync/sweep.h — S and the other observables (qsync/observables.h) over a grid of
 * parameters: curves and maps, and the grid's results as named columns (qs_sweep_store).
 *
 * A sweep is a base model, axes (each moves one or more parameter paths together from
 * START to STOP in COUNT points, or through listed values; complex values on coupling
 * paths) and ties (derived parameters, "K = 1/sigma" or a coupling "A-B = 0.1*K_A",
 * evaluated for every point after the axes). Grid points are numbered with the first axis
 * slowest; a grid holds at most QS_SWEEP_MAX_POINTS points.
 *
 * Speed: steady-state plans per thread, one per distinct structure (levels may vary along
 * an axis), made once and reused (values and a refactorisation per point). Determinism: points are solved in fixed blocks of
 * consecutive indices, each block starting with a fresh factorisation, so every number is
 * the same for any thread count and any order in which blocks run or resume — and for any
 * split of the blocks between processes (options.part of options.parts).
 *
 * Truncation: with options.truncation (qsync/convergence.h) every point's S is checked by
 * one extra solve with one more level per oscillator, planned once per structure beside the
 * steady plan; the result holds the largest estimated error over the pairs. By default
 * (sampled) every 4th point along the fastest axis is checked, where the extra solve has at most
 * QS_CONVERGENCE_AUTO_MAX unknowns as in qsync steady: checking every point costs 3.5-4.5
 * times the sweep (Fig. 3a and Fig. 4 maps), sampling about 2 times. The check's plans are made afresh for each block, so its numbers too
 * depend only on the block.
 *
 * Threads: qs_sweep_run solves blocks on options.threads OpenMP threads, each point's solve
 * on its own thread. The library changes no process-wide setting; a caller that runs a sweep
 * on several threads should keep OpenBLAS to one thread of its own (OPENBLAS_NUM_THREADS=1,
 * or openblas_set_num_threads(1) before the run), since OpenBLAS's threads spinning beside the
 * sweep's take their cores (the qsync program does so).
 */
#ifndef QSYNC_SWEEP_H
#define QSYNC_SWEEP_H

#include <complex.h>
#include <stddef.h>
#include "qsync/model.h"
#include "qsync/steady.h"
#include "qsync/classical.h"
#include "qsync/convergence.h"

/* The largest grid a sweep accepts (points); larger grids are refused at creation. */
#define QS_SWEEP_MAX_POINTS 10000000

typedef struct {
    int n_paths;
    const char *const *paths;   /* parameter paths moved together (read) */
    double complex start, stop; /* imaginary parts only where every path is a coupling "A-B" */
    int count;                  /* ≥ 1 */
    const double complex *values; /* if non-NULL: the axis is these count values (read), not a range */
} qs_axis;

typedef struct {
    const char *path;           /* "key" (every oscillator), "NAME.key", or a coupling "A-B" */
    const char *expression;     /* libmatheval, real-valued; variables: the oscillator's own keys
                                   ("1/sigma", not for couplings) and KEY_NAME, the key of oscillator
                                   NAME ("0.1*K_A") */
} qs_tie;

/* options.truncation. SAMPLED estimates at every QS_SWEEP_SAMPLE_EVERY-th point along the
 * fastest (last) axis and at its last point, where affordable as AUTO; a point between
 * judges by the larger estimate of its nearest estimated neighbours of the same structure in
 * its block (it can miss a feature narrower than the spacing). The extra solve costs 2.5-3.5 times the point's own. */
enum { QS_SWEEP_TRUNCATION_OFF = 0, QS_SWEEP_TRUNCATION_AUTO = 1, QS_SWEEP_TRUNCATION_ON = 2,
       QS_SWEEP_TRUNCATION_SAMPLED = 3 };
#define QS_SWEEP_SAMPLE_EVERY 4

typedef struct {
    qs_steady_options steady;
    double tail_tol;            /* levels = auto: the starting guess (uncoupled tail below this,
                                   default QS_AUTO_GUESS_TAIL) of qs_model_auto_levels_s, which
                                   then raises levels until the estimated error of S is below
                                   s_tol; resolved once, the largest over the grid's corners
                                   and centre */
    int truncation;             /* QS_SWEEP_TRUNCATION_SAMPLED (default): estimate the truncation
                                   error of S at sampled points where the extra solve has at most
                                   QS_CONVERGENCE_AUTO_MAX unknowns; _AUTO: the same at every
                                   point; _ON: at every point (a failed estimate fails the
                                   point); _OFF: never */
    double s_tol;               /* tolerance on S's truncation error (default QS_S_TOL_DEFAULT):
                                   levels = auto meets it; the CLI's status compares with it */
    int block;                  /* points per block (default 16) */
    int threads;                /* 0: OpenMP's default */
    int perturb;                /* 1: also first-order S of every pair (qsync/perturb.h) */
    int classical;              /* 1: the classical Langevin model instead of the steady state */
    qs_classical_options classical_options;
    double target_err;          /* classical: if > 0, trajectories per point are raised (from a pilot
                                   run) until the largest S_err is about this */
    int part, parts;            /* solve only the blocks b with b mod parts = part (default 0 of 1):
                                   one share of the grid, for a process among `parts` (MPI) */
    volatile int *stop;         /* if non-NULL: qs_sweep_create gives up (QS_EINPUT, "interrupted")
                                   once *stop is non-zero while it checks the grid's points */
    int n_observe;              /* quantum: observables of every point (indices into the table of
                                   qsync/observables.h, read; each at most once), in this order,
                                   dynamical ones included (qs_observe: a point whose spectrum or
                                   rates fail fails with their status);
                                   0: S and phi_max (the columns S_<a>-<b> and phi_<a>-<b>). S
                                   and phi_max are computed in any case (result.S, result.phi) */
    const int *observe;
    int spectrum_points;        /* quantum: if > 0, the power spectrum S_j(ω) of every oscillator at
                                   every point (qsync/spectrum.h) on spectrum_points frequencies
                                   from spectrum_min to spectrum_max inclusive (result.spectrum,
                                   qs_sweep_store_spectrum); a point whose spectrum fails fails
                                   with its status. Default 0: none */
    double spectrum_min, spectrum_max;
} qs_sweep_options;

/* One solved point, handed to the report callback. */
typedef struct {
    size_t point;
    int status;                 /* library status of the solve (QS_OK, QS_WARN_TRUNCATION, < 0 failed) */
    double residual;
    double top_population;      /* largest over the oscillators */
    const double *S;            /* [pairs], NaN when the point failed */
    const double *phi;          /* [pairs] phi_max of each pair, in [0, 2π); NaN when failed */
    const double *S1;           /* [pairs] first-order S (options.perturb), else NULL */
    const double *S_err;        /* [pairs] classical: statistical error of S, else NULL */
    double escaped_fraction;    /* classical */
    int truncation_checked;     /* 1: the truncation error of S was estimated at this point;
                                   2 (sampled): not here, truncation_nearby holds its neighbours'; 0: no */
    double truncation_error;    /* the largest estimated error of S over the pairs (NaN when not
                                   estimated here, or unknown: levels inside the populated range) */
    double truncation_nearby;   /* sampled: the larger truncation_error of the nearest estimated
                                   points before and after it in its block (NaN otherwise) */
    const double *values;       /* [qs_sweep_observe_width] quantum: the observables asked, in the
                                   layout of qs_state_observe at the grid's largest levels (a
                                   population above a point's own top level is 0); classical: the
                                   frequencies ν_j, ν_err_j per oscillator, then beat, beat_err per
                                   pair (qsync/classical.h); NaN when failed */
    const double *spectrum;     /* options.spectrum_points > 0: [oscillators × spectrum_points],
                                   S_j(ω_k) at j·spectrum_points + k; NaN when failed. Else NULL */
} qs_sweep_result;

typedef void (*qs_sweep_report)(void *ctx, const qs_sweep_result *results, int count);

typedef struct qs_sweep qs_sweep;

void qs_sweep_defaults(qs_sweep_options *options);

/* Check axes and ties against the base model (paths, expressions), fix the levels and
 * the symmetry group common to every point. base is read; the sweep keeps its own copy. */
int qs_sweep_create(const qs_model *base, int n_axes, const qs_axis *axes, int n_ties,
                    const qs_tie *ties, const qs_sweep_options *options, qs_sweep **sweep,
                    qs_error *err);

size_t qs_sweep_size(const qs_sweep *sweep);                 /* grid points */
int qs_sweep_pairs(const qs_sweep *sweep);                   /* pairs a < b */
const qs_model *qs_sweep_model(const qs_sweep *sweep);       /* the base, levels resolved */
int qs_sweep_block_size(const qs_sweep *sweep);              /* points per block */
/* The options the sweep runs with: those given, except that a sampled truncation check
 * becomes every point when the levels are on an axis. */
const qs_sweep_options *qs_sweep_options_used(const qs_sweep *sweep);
/* Whether axis `axis` has a value with a non-zero imaginary part. */
int qs_sweep_axis_complex(const qs_sweep *sweep, int axis);
/* Axis values of `point` (values: n_axes entries, written). */
void qs_sweep_coordinates(const qs_sweep *sweep, size_t point, double complex *values);
/* The model of `point` (written into `model`, a qs_model_copy of qs_sweep_model). */
int qs_sweep_point_model(const qs_sweep *sweep, size_t point, qs_model *model, qs_error *err);

/* Solve every point whose done[point] is 0 (done may be NULL). After each block,
 * report(ctx, results, n) is called by one thread at a time. Once *stop becomes non-zero
 * no new block starts. Returns QS_OK, or an error that prevented running (a point that
 * fails is reported with its status and NaN, and the sweep goes on). */
int qs_sweep_run(qs_sweep *sweep, const unsigned char *done, qs_sweep_report report, void *ctx,
                 volatile int *stop, qs_error *err);

/* Points finished so far by the run in progress (or the last run): safe to call from another
 * thread while qs_sweep_run runs, e.g. for progress between its reports, which come once per
 * block. */
size_t qs_sweep_points_finished(const qs_sweep *sweep);

void qs_sweep_free(qs_sweep **sweep);

/* Width of qs_sweep_result.values: qs_observe_width of the observables asked (S and phi_max
 * by default) at the grid's largest levels of each oscillator; classical: 2 n + 2 pairs. */
size_t qs_sweep_observe_width(const qs_sweep *sweep);
/* options.spectrum_points > 0: frequency k of the spectra (k = 0 … spectrum_points − 1), the
 * grid qs_spectrum_run solves on (spectrum_min + (spectrum_max − spectrum_min)·k/(points − 1),
 * the last exactly spectrum_max); NaN outside. */
double qs_sweep_spectrum_omega(const qs_sweep *sweep, int k);
/* The largest levels of oscillator j at any point of the grid (levels may be an axis). */
int qs_sweep_levels_max(const qs_sweep *sweep, int j);

/* Status of a point as sweep.csv and the store give it: the library status of its solve
 * (QS_OK, QS_WARN_TRUNCATION: the top level holds more than top_tol and the truncation error
 * of S was not estimated, < 0 failed), or QS_SWEEP_STATUS_TRUNCATION: the estimated
 * truncation error of S (at a sampled point, the larger of its neighbours') is above s_tol or
 * unknown. A point whose estimate is at most s_tol is QS_OK whatever its top level holds. */
#define QS_SWEEP_STATUS_TRUNCATION 1000
/* Its word: "ok", "top-level", "truncation", "numerical", "memory" (QS_ETOOBIG, QS_ENOMEM),
 * "input" (any other). */
const char *qs_sweep_status_word(int status);
/* The status of a word of qs_sweep_status_word (QS_ETOOBIG for "memory"); 0 when the word is
 * none of them (then *status is untouched), 1 otherwise. */
int qs_sweep_status_parse(const char *word, int *status);

/* ---- the grid's results as named columns ----
 * A store holds every point's results as columns, named and ordered as in sweep.csv:
 *   one per axis, named by its first path, holding the axis values of every point (filled at
 *     creation); a complex axis gives two, NAME (real part) and NAME_im (imaginary part),
 *     where sweep.csv writes one field a+bi;
 *   quantum, default: S_<a>-<b> per pair; residual, top_population, status; with
 *     options.perturb S1_<a>-<b> per pair; phi_<a>-<b> per pair (phi_max); truncation_error;
 *   quantum, with options.observe: the observables asked, in their order and in the layout of
 *     qs_observe at the grid's largest levels (NAME_<a>-<b>, NAME_<j>, populations_<j>_<n>,
 *     and NAME alone for a network observable: relaxation_rate, coherence_rate), in place of
 *     S_ and phi_; then residual, top_population, status,
 *     S1_ (perturb), truncation_error;
 *   classical: S_<a>-<b>, S_err_<a>-<b> per pair, escaped_fraction, status, phi_<a>-<b>;
 *     then the frequencies (MODEL.md §9): nu_<j>, then nu_err_<j> per oscillator, beat_<a>-<b>,
 *     then beat_err_<a>-<b> per pair.
 * Every column but status is an array of doubles, one per grid point (first axis slowest);
 * status has none (qs_sweep_store_column gives NULL): its values are qs_sweep_store_status,
 * rewritten from the solve's status by the truncation estimate as qs_sweep_status_word
 * describes. So {name: column} over the columns with data, plus the status words, is a table
 * (a pandas DataFrame) of the grid. Points not solved hold NaN and status QS_EINPUT, and are
 * 0 in qs_sweep_store_done.
 * qs_sweep_store_add is a qs_sweep_report that files a block of results (pass the store as
 * ctx); a report of one's own may call it too. The store reads the sweep it was made from:
 * free it first. */
typedef struct qs_sweep_store qs_sweep_store;
int qs_sweep_store_create(const qs_sweep *sweep, qs_sweep_store **store, qs_error *err);
void qs_sweep_store_add(void *store, const qs_sweep_result *results, int count);
int qs_sweep_store_columns(const qs_sweep_store *store);
const char *qs_sweep_store_name(const qs_sweep_store *store, int column);       /* NULL outside */
int qs_sweep_store_find(const qs_sweep_store *store, const char *name);         /* column, or −1 */
const double *qs_sweep_store_column(const qs_sweep_store *store, int column);   /* [qs_sweep_size]; NULL for status */
const int *qs_sweep_store_status(const qs_sweep_store *store);                  /* [qs_sweep_size] */
const unsigned char *qs_sweep_store_done(const qs_sweep_store *store);          /* [qs_sweep_size] */
/* File one point read back from a saved table (a journal): row holds one value per column
 * (axis columns are ignored: the grid fixes them; status as its code), and the point becomes
 * done. row NULL clears the point (NaN, not done). QS_EINPUT for a point outside the grid. */
int qs_sweep_store_put(qs_sweep_store *store, size_t point, const double *row, qs_error *err);
/* With options.spectrum_points > 0: the spectra of `point` ([oscillators × spectrum_points],
 * as qs_sweep_result.spectrum; NaN until filed), which qs_sweep_store_add files and a caller
 * reading a saved table writes into; NULL without spectra or outside the grid. */
double *qs_sweep_store_spectrum(const qs_sweep_store *store, size_t point);
void qs_sweep_store_free(qs_sweep_store **store);

#endif
