/* qsync/figure.h — the paper's figures as data: a model, the axes and ties of a sweep, its
 * options, and a gnuplot script drawing what the paper shows from the sweep's sweep.csv.
 *
 * One table (figure.c); the command line (`qsync figure NAME`) and Python read it. A figure
 * is run as qs_figure_options + qs_sweep_create(model, n_axes, axes, n_ties, ties) over the
 * model read from its text (qs_model_load_string). The script names every column it draws by
 * its sweep.csv header and expects before it a preamble that sets the terminal and output,
 * `set datafile separator ','`, `set datafile missing 'nan'`, `set datafile columnheaders`,
 * and N1, N2, ... = the points on each axis (in the order of the axes).
 *
 * Levels are chosen by the truncation error of S, which every figure's sweep estimates at
 * every point (QS_SWEEP_TRUNCATION_AUTO; ring6 by default, where it cannot be afforded):
 * 10 for Figs. 2b and 3a, 12 for 3b and 3c, 18 for 3d, 6 for Fig. 4, 4 for the rings.
 */
#ifndef QSYNC_FIGURE_H
#define QSYNC_FIGURE_H

#include "qsync/sweep.h"

typedef struct {
    const char *name;           /* "2a", "3a", "ring4", ... */
    const char *summary;        /* one line: what it shows */
    const char *model;          /* the model file's text (MODEL.md §5) */
    int n_axes;
    const qs_axis *axes;
    int n_ties;
    const qs_tie *ties;
    int classical;              /* 1: the classical Langevin model */
    int perturb;                /* 1: first-order S too (columns S1_<a>-<b>) */
    int truncation;             /* QS_SWEEP_TRUNCATION_* (quantum) */
    int trajectories;           /* classical: trajectories per point (0: the default) */
    double burn_in;             /* classical: burn-in time (0: the default) */
    double target_err;          /* classical: raise trajectories until S_err is about this (0: no) */
    const char *plot;           /* gnuplot commands after the preamble */
    const char *note;           /* why points that do not read ok at its own levels are harmless, or NULL */
} qs_figure;

int qs_figure_count(void);
const qs_figure *qs_figure_get(int i);              /* NULL outside 0..count−1 */
const qs_figure *qs_figure_find(const char *name);  /* NULL when there is none */

/* qs_sweep_defaults with the figure's own options (kind, truncation check, classical
 * trajectories, burn-in, target error) into options. */
void qs_figure_options(const qs_figure *figure, qs_sweep_options *options);

#endif
