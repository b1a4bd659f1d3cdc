/* qsync/figure.h — the paper's figures as data: for each of its sweeps (one, or two for a
 * figure of two panels) a model, the axes and ties and the options; and a gnuplot script
 * drawing what the paper shows from the sweeps' files.
 *
 * One table (figure.c); the command line (`qsync figure NAME`) reads it. Each sweep is run as
 * qs_figure_options + qs_sweep_create(model, n_axes, axes, n_ties, ties) over the model read
 * from its text, into the figure's folder or a folder of its own inside it (folder), where it
 * writes sweep.csv and, with a spectrum grid, spectra.csv (the sweep's axis columns, omega,
 * spectrum_<j> per oscillator; one row per point and ω). The script runs in the figure's
 * folder, names every file by its path from there ('sweep.csv', 'quantum/sweep.csv') and
 * every column it draws by its header, and expects before it a preamble that sets the
 * terminal and output, `set datafile separator ','`, `set datafile missing 'nan'`,
 * `set datafile columnheaders`, and N1, N2, ... = the points on each axis of the first sweep
 * (in the order of the axes), NW = the points of its ω grid (with one), and FOLDER_N1, ... for
 * a sweep of its own folder.
 *
 * Levels are chosen by the truncation error of S, which every figure's sweep estimates at
 * every point (QS_SWEEP_TRUNCATION_AUTO; ring6 and ring8 by default, where it cannot be afforded):
 * 10 for Figs. 2b and 3a, 12 for 3b and 3c, 18 for 3d, 6 for Fig. 4, 4 for ring4 and ring6, 3 for ring8.
 */
#ifndef QSYNC_FIGURE_H
#define QSYNC_FIGURE_H

#include "qsync/sweep.h"

/* The ω grid of the spectra a figure's sweep also writes (spectra.csv, MODEL.md §8):
 * n_omega points from omega_min to omega_max inclusive; n_omega 0: no spectra. */
typedef struct {
    double omega_min, omega_max;
    int n_omega;
} qs_figure_spectrum;

/* One sweep of a figure: its model, axes, ties and options. */
typedef struct {
    const char *model;          /* the model file's text (MODEL.md §5) */
    int n_axes;
    const qs_axis *axes;
    int n_ties;
    const qs_tie *ties;
    const char *folder;         /* NULL: the figure's folder DIR/NAME/; else DIR/NAME/folder/ */
    int classical;              /* 1: the classical Langevin model */
    int perturb;                /* 1: first-order S too (columns S1_<a>-<b>) */
    int truncation;             /* QS_SWEEP_TRUNCATION_* (quantum) */
    int trajectories;           /* classical: trajectories per point (0: the default) */
    double burn_in;             /* classical: burn-in time (0: the default) */
    double target_err;          /* classical: raise trajectories until S_err is about this (0: no) */
    qs_figure_spectrum spectrum;  /* quantum: spectra of every oscillator at every point too */
    int block;                  /* points per block (0: the sweep's default, 16): each thread solves a
                                   block's points in a row, each from the previous one's state; a few
                                   costly points in blocks of half their number keep two cores busy */
} qs_figure_sweep;

/* Sweeps a figure may draw from (panels side by side, each from its own sweep). */
#define QS_FIGURE_MAX_SWEEPS 2

typedef struct {
    const char *name;           /* "2a", "3a", "ring4", ... */
    const char *summary;        /* one line: what it shows */
    qs_figure_sweep sweeps[QS_FIGURE_MAX_SWEEPS];  /* the first ones, up to one with model NULL */
    const char *plot;           /* gnuplot commands after the preamble */
    const char *note;           /* why points that do not read ok at its own levels are harmless, or NULL */
} qs_figure;

int qs_figure_count(void);
const qs_figure *qs_figure_get(int i);              /* NULL outside 0..count−1 */
const qs_figure *qs_figure_find(const char *name);  /* NULL when there is none */

/* The number of sweeps of a figure (1 to QS_FIGURE_MAX_SWEEPS). */
int qs_figure_sweep_count(const qs_figure *figure);

/* qs_sweep_defaults with the options of one of a figure's sweeps (kind, truncation check,
 * classical trajectories, burn-in, target error, block) into options. */
void qs_figure_options(const qs_figure_sweep *sweep, qs_sweep_options *options);

#endif
