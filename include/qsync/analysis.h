/* qsync/analysis.h — one steady state analysed in full: what `qsync steady` computes, as a
 * library call, so that every front end (the command line, Python) gives the same numbers.
 *
 * qs_analysis_run() copies the model, resolves levels = auto by the tolerance on S
 * (qs_model_auto_levels_s), plans and solves the steady state, estimates the truncation
 * error of S (convergence.h) as the options ask, and evaluates every observable of the
 * table (observables.h) and each pair's smallest reduced eigenvalue. The dynamical
 * observables (peak_frequency, fwhm, relaxation_rate, coherence_rate: spectra and
 * eigenvalues of the Liouvillian) are computed as options.dynamics asks: never by default (a
 * caller after the state alone pays nothing for them); by cost, as qsync steady asks, when
 * sector 0 has at most QS_DYNAMICS_AUTO_MAX unknowns (sector −1, where the spectra are
 * solved, never has more: Σ d_N d_{N+1} ≤ Σ d_N², d_N the states of N excitations);
 * otherwise they are NaN and qs_analysis_dynamics_reason says why. The result is an
 * opaque handle read by getters that return plain numbers, strings and pointers into the
 * handle (valid until qs_analysis_free), so that it can be called through a C foreign
 * function interface as it is.
 */
#ifndef QSYNC_ANALYSIS_H
#define QSYNC_ANALYSIS_H

#include <stddef.h>
#include "qsync/convergence.h"
#include "qsync/error.h"
#include "qsync/model.h"
#include "qsync/state.h"
#include "qsync/steady.h"

/* The truncation estimate: by its cost (made when the extra solve has at most
 * QS_CONVERGENCE_AUTO_MAX unknowns), always, or never. */
enum { QS_TRUNCATION_BY_COST = 0, QS_TRUNCATION_ALWAYS = 1, QS_TRUNCATION_NEVER = -1 };

/* The dynamical observables: by their cost (sector 0 of at most QS_DYNAMICS_AUTO_MAX
 * unknowns), always, or never. */
enum { QS_DYNAMICS_BY_COST = 0, QS_DYNAMICS_ALWAYS = 1, QS_DYNAMICS_NEVER = -1 };
/* Measured (qsync steady --dynamics, CPU seconds on a loaded 2-core machine): Fig. 2b, sector 0 of
 * 344 unknowns, 0.46 s beside a 1 ms solve; 670 unknowns (10 levels), 2.7 s; Fig. 4 at 4 levels
 * (580), 6.8 s; Fig. 4 (1751), about 300 s. The cost grows as the cube of the sector (dense
 * eigenvalues on sectors 0 and −1) and 2001 sparse solves. */
#define QS_DYNAMICS_AUTO_MAX 400

typedef struct {
    qs_steady_options steady;  /* the solve (qs_steady_defaults); perms is not read: the
                                  symmetries are those of the model */
    double s_tol;              /* tolerance on the estimated truncation error of S (QS_S_TOL_DEFAULT) */
    double guess_tail;         /* levels = auto: starting tail (QS_AUTO_GUESS_TAIL) */
    int truncation;            /* QS_TRUNCATION_BY_COST (default), _ALWAYS or _NEVER */
    int per_oscillator;        /* the estimate by one extra solve per oscillator (default 0) */
    int dynamics;              /* QS_DYNAMICS_NEVER (default), _BY_COST (qsync steady) or _ALWAYS */
} qs_analysis_options;

typedef struct qs_analysis qs_analysis;

void qs_analysis_defaults(qs_analysis_options *options);

/* Analyse `model` (read; levels resolved or auto). options NULL: defaults. On success
 * (QS_OK, or QS_WARN_TRUNCATION when a top level holds more than steady.top_tol) *result is
 * a new handle; on an error it is NULL and err says why. With truncation = ALWAYS a failed
 * estimate is an error; by cost it is recorded (qs_analysis_truncation_reason). */
int qs_analysis_run(const qs_model *model, const qs_analysis_options *options, qs_analysis **result, qs_error *err);

void qs_analysis_free(qs_analysis **result);

/* The model as solved (levels resolved), and whether oscillator j had levels = auto. */
const qs_model *qs_analysis_model(const qs_analysis *a);
int qs_analysis_levels_auto(const qs_analysis *a, int j);
/* levels = auto: rounds of S at L and L+1 made (0 when no oscillator was auto). */
int qs_analysis_auto_rounds(const qs_analysis *a);
/* levels = auto: the estimated truncation error of S at the levels chosen (NaN without auto). */
double qs_analysis_auto_error(const qs_analysis *a);

/* The solved state (owned by the handle) and the solve's diagnostics. */
const qs_state *qs_analysis_state(const qs_analysis *a);
const qs_steady_stats *qs_analysis_stats(const qs_analysis *a);
/* QS_WARN_TRUNCATION exactly when qs_analysis_warning is not empty (the truncation error of S
 * estimated above s_tol or not estimable, or not estimated while the top level holds more than
 * top_tol), else QS_OK; qs_analysis_run returns the same. A top level above top_tol alone,
 * with an estimate within s_tol, is no warning: the estimate speaks of S. */
int qs_analysis_status(const qs_analysis *a);

/* Every observable of the table, in the layout of qs_state_observe with which = 0, 1, …,
 * qs_observable_count() − 1; *count (if not NULL) is the number of values. The dynamical
 * ones are NaN when not computed (qs_analysis_dynamics_reason). */
const double *qs_analysis_values(const qs_analysis *a, size_t *count);
/* The values of one observable by name (NULL if no such observable); *count (if not NULL)
 * the number of them: oscillators, pairs, or Σ levels for populations. */
const double *qs_analysis_observable(const qs_analysis *a, const char *name, size_t *count);

/* Per pair (layout of qs_state_observe): the smallest eigenvalue of ρ_ab, and Re c_1, Im c_1. */
const double *qs_analysis_min_eigenvalues(const qs_analysis *a);
const double *qs_analysis_c1(const qs_analysis *a);   /* [2 × pairs]: re, im of each pair */
/* Per oscillator: the population of its top level. */
const double *qs_analysis_top_population(const qs_analysis *a);

/* The truncation error of S: the estimate, or NULL with the reason in
 * qs_analysis_truncation_reason (never NULL; "" when estimated). */
const qs_convergence *qs_analysis_truncation(const qs_analysis *a);
const char *qs_analysis_truncation_reason(const qs_analysis *a);
/* The largest estimated error of S, NaN when unknown or not estimated. */
double qs_analysis_truncation_error(const qs_analysis *a);
/* Why the estimated error is unknown (NaN), "" otherwise: an oscillator's top level inside
 * its populated range, or populations that do not fall off. */
const char *qs_analysis_unknown_reason(const qs_analysis *a);
/* The warning about the truncation ("" when none): the estimate above s_tol, an estimate
 * that cannot be made, or a top-level population with no estimate. */
const char *qs_analysis_warning(const qs_analysis *a);
/* Why the dynamical observables were not computed ("" when they were): their cost, or
 * the reason the spectrum or the rates failed (by cost a failure is recorded here; with
 * QS_DYNAMICS_ALWAYS it fails qs_analysis_run). */
const char *qs_analysis_dynamics_reason(const qs_analysis *a);
/* Seconds the dynamical observables took (0 when not computed). */
double qs_analysis_dynamics_seconds(const qs_analysis *a);

/* The options the analysis ran with (s_tol, guess_tail, …). */
const qs_analysis_options *qs_analysis_options_used(const qs_analysis *a);

#endif
