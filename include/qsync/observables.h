/* qsync/observables.h — every standard observable of a steady state (MODEL.md §7, §8), as
 * one table of named observables.
 *
 * An observable is per oscillator (mean_n, var_n, populations, peak_frequency, fwhm), per
 * pair a < b (S, phi_max, S_Q, phi_max_Q, correlation, correlation_phase, negativity,
 * log_negativity, mutual_information) or one value for the whole network (relaxation_rate,
 * coherence_rate). Its name is the JSON field, the sweep column (NAME_<j>, NAME_<a>-<b>, and
 * NAME alone for the network) and the Python attribute. Adding an observable is one function
 * and one entry of the table in observables.c: the command line, sweeps, the JSON and Python
 * read the table.
 *
 * Dynamical observables (needs_model = 1) are properties of the Liouvillian, not of the state
 * alone (MODEL.md §8, qsync/spectrum.h): peak_frequency and fwhm, the highest peak of the
 * power spectrum S_j(ω) on its default range (qs_spectrum_default_range, QS_SPECTRUM_DEFAULT_POINTS
 * points, refined between them) and its full width at half height (NaN when the half height
 * is not reached inside the range); relaxation_rate and coherence_rate (qs_relaxation_rates).
 * qs_observe computes them from the model and its state (one spectrum run for peak_frequency
 * and fwhm together, one qs_relaxation_rates call for both rates); qs_state_observe refuses
 * them (QS_EINPUT). They cost a solve per frequency on sector −1 (a few times the steady
 * state's solve each) and an eigenvalue search on sectors 0 and −1.
 *
 * Conventions: entropies in nats, −Σ λ ln λ over the eigenvalues λ > 0 of the reduced
 * states (round-off leaves eigenvalues of order −1e−17, which are dropped); log_negativity
 * in bits (log₂); correlation is NaN when ⟨n_a⟩⟨n_b⟩ = 0; the angles (phi_max, phi_max_Q,
 * correlation_phase) lie in [0, 2π); where their distribution is flat (S or S_Q zero to
 * round-off, ⟨a_a† a_b⟩ zero to round-off) they are the phase of round-off and mean nothing.
 * S and phi_max are computed from the phase coefficients alone (no reduced state is built
 * for them) and have the same bits whatever else is asked (qs_state_sync too).
 *
 * Layout of values (qs_state_observe): observables in the order asked; an oscillator
 * observable gives one value per oscillator in model order (populations: levels_j values
 * per oscillator j, oscillator by oscillator); a pair observable one value per pair a < b,
 * a slowest (1-2, 1-3, 2-3 for three oscillators); a network observable one value.
 */
#ifndef QSYNC_OBSERVABLES_H
#define QSYNC_OBSERVABLES_H

#include <complex.h>
#include <stddef.h>
#include "qsync/error.h"
#include "qsync/model.h"
#include "qsync/state.h"

enum { QS_OBS_OSCILLATOR = 1, QS_OBS_PAIR = 2, QS_OBS_NETWORK = 3 };

typedef struct {
    const char *name;     /* "mean_n", "S", ... */
    int kind;             /* QS_OBS_OSCILLATOR, QS_OBS_PAIR or QS_OBS_NETWORK */
    int per_level;        /* 1: one value per Fock level of the oscillator (populations); 0: one value */
    int angle;            /* 1: a phase in [0, 2π) */
    const char *summary;  /* one line: what it is */
    int needs_model;      /* 1: a dynamical observable, of the model's Liouvillian (qs_observe only) */
} qs_observable;

int qs_observable_count(void);
const qs_observable *qs_observable_get(int i);   /* NULL outside 0..count−1 */
int qs_observable_find(const char *name);        /* index, or −1 */

/* Number of values qs_state_observe writes for these observables on a network of n
 * oscillators with these levels (levels only matter for per-level observables). */
size_t qs_observe_width(int n, const int *levels, int n_which, const int *which);

/* Values of the observables `which` (indices into the table) of a solved state, in the
 * layout above (values: qs_observe_width entries, written). The reduction of each pair is
 * made once for all the pair observables asked. QS_EINPUT for an unknown index, and for a
 * dynamical observable (needs_model: use qs_observe). */
int qs_state_observe(const qs_state *state, int n_which, const int *which, double *values, qs_error *err);

/* The same for any observable of the table, dynamical ones included: `model` (read, levels
 * resolved, those of the state) is the model whose steady state `state` is. The state's
 * observables have the bits qs_state_observe gives. A dynamical observable that cannot be
 * computed fails the call with the spectrum's status (QS_ENUMERIC: a coherence that never
 * decays, e.g. gamma = 0; QS_ETOOBIG/QS_ENOMEM). */
int qs_observe(const qs_model *model, const qs_state *state, int n_which, const int *which, double *values,
               qs_error *err);

/* S and phi_max of every pair a < b in the layout above (n(n−1)/2 values each, written;
 * phi_max may be NULL): the same numbers as qs_state_observe's S and phi_max, bit for bit. */
int qs_state_sync(const qs_state *state, double *S, double *phi_max, qs_error *err);

/* ---- the state itself ---- */

/* D = Π levels: the dimension of the Hilbert space of the network. */
size_t qs_state_dimension(const qs_state *state);

/* The reduced state of oscillator j, levels_j × levels_j, row-major (written). */
int qs_state_reduced_oscillator(const qs_state *state, int j, double complex *rho, qs_error *err);

/* The reduced state of the pair (a, b), a ≠ b, in the basis |n_a⟩|n_b⟩ with index
 * n_a·levels_b + n_b (a slowest), (levels_a·levels_b)² entries, row-major (written). */
int qs_state_reduced_pair(const qs_state *state, int a, int b, double complex *rho, qs_error *err);

/* The full ρ, D × D row-major in the tensor-product basis, oscillator 0 slowest (written;
 * elements outside the zero excitation-difference sector are 0). */
int qs_state_dense(const qs_state *state, double complex *rho, qs_error *err);

/* Rows first .. first+count−1 of the full ρ (count × D entries, row-major, written): the
 * full state a few rows at a time, without D × D in memory. */
int qs_state_dense_rows(const qs_state *state, size_t first, size_t count, double complex *rows, qs_error *err);

/* P(φ) (husimi = 0, Eq. 6) or P_Q(φ) (husimi = 1, MODEL.md §7) of φ = φ_a − φ_b at the
 * n_phi phases phi (read), into P (written). */
int qs_state_phase_distribution(const qs_state *state, int a, int b, int husimi, int n_phi, const double *phi,
                                double *P, qs_error *err);

#endif
