/* qsync/model.h — a network of Kerr self-oscillators (Eqs. 1–4 of the paper).
 *
 * H = Σ_j [ω_j n_j − K_j a_j†² a_j²] + Σ_{j≠k} C_jk a_j† a_k,  C_kj = conj(C_jk).
 * Oscillator j's transition |n−1⟩→|n⟩ happens at rate γ+ f+(n) n and |n⟩→|n−1⟩ at
 * rate γ− f−(n) n, with f±(n) = σ±² / ((n − n±)² + σ±²) (see MODEL.md §1).
 *
 * A qs_model is an opaque handle: load it from a model file (MODEL.md §5) or a string,
 * change it with parameter paths (qs_model_set), read it with the getters, free it.
 * Oscillators keep the order of the file; indices run 0..qs_model_size()−1.
 */
#ifndef QSYNC_MODEL_H
#define QSYNC_MODEL_H

#include <complex.h>
#include <stddef.h>
#include "qsync/error.h"

#define QS_NAME_MAX 64      /* longest oscillator name, including the terminating NUL */
#define QS_LEVELS_AUTO 0    /* qs_osc.levels value meaning "choose from the tail tolerance" */
#define QS_LEVELS_MAX 65535 /* largest truncation the basis can index */
#define QS_MODEL_FILE_MAX (1 << 20) /* largest model file, in bytes (1 MiB) */

/* Parameters of one oscillator (plain data). */
typedef struct {
    double omega;       /* natural frequency ω */
    double K;           /* Kerr parameter */
    double gamma_plus;  /* γ+, amplification rate */
    double gamma_minus; /* γ−, damping rate */
    double sigma_plus;  /* σ+ > 0, width of f+ */
    double sigma_minus; /* σ− > 0, width of f− */
    double n_plus;      /* n+, centre of f+ */
    double n_minus;     /* n−, centre of f− */
    double noise;       /* classical noise strength D = γ_T n_T (Eq. 5) */
    double gamma_T;     /* classical thermal damping γ_T */
    int levels;         /* Fock levels 0..levels−1, or QS_LEVELS_AUTO */
} qs_osc;

typedef struct qs_model qs_model;

/* Read a model file. On success *model is a new handle the caller frees.
 * The file is plain text: a regular file or a pipe (symbolic links followed; a directory,
 * device or socket is refused without being opened) of at most QS_MODEL_FILE_MAX bytes;
 * lines end in LF or CRLF; a NUL byte, a carriage return inside a line or any other
 * control character but the tab is an error; a line holds at most 199 characters once
 * its comment and surrounding blanks are removed. Every error is QS_EINPUT (QS_ENOMEM when
 * memory runs out) with a message naming the file, and the line for what is inside it; a
 * file that cannot be opened or read says why (the system's reason). */
int qs_model_load(const char *path, qs_model **model, qs_error *err);

/* Same, from NUL-terminated text in memory (same limits); `name` is used in messages in
 * place of a file name. */
int qs_model_load_string(const char *text, const char *name, qs_model **model, qs_error *err);

/* A deep copy, or NULL when out of memory. */
qs_model *qs_model_copy(const qs_model *model);

/* Copy src's values into dst without allocating; dst must be a copy of a model with the
 * same oscillators and at least as many couplings (e.g. made by qs_model_copy(src)).
 * Returns QS_EINPUT if it is not. */
int qs_model_assign(qs_model *dst, const qs_model *src);

/* Free the model and set *model to NULL (NULL-safe). */
void qs_model_free(qs_model **model);

/* Change one parameter by path (MODEL.md §5): "NAME.key" (one oscillator), "key" (all
 * oscillators), "A-B" (coupling C_AB, complex text such as "0.1-0.2i"; created if absent).
 * Value text as in a model file. Returns QS_OK or QS_EINPUT with a message naming path. */
int qs_model_set(qs_model *model, const char *path, const char *value, qs_error *err);

int qs_model_size(const qs_model *model);                 /* number of oscillators */
const char *qs_model_name(const qs_model *model, int j);  /* name of oscillator j */
const qs_osc *qs_model_osc(const qs_model *model, int j); /* parameters of oscillator j */
int qs_model_find(const qs_model *model, const char *name); /* index, or −1 */
const char *qs_model_source(const qs_model *model);       /* file name it was read from */

/* Couplings: pairs (j, k) with j < k in the order first given; C_kj = conj(C_jk). */
int qs_model_coupling_count(const qs_model *model);
void qs_model_coupling(const qs_model *model, int i, int *j, int *k, double complex *c_jk);

/* Energy of Fock level n of oscillator o: ω n − K n(n−1). */
double qs_osc_energy(const qs_osc *o, double n);
/* f+(n), f−(n) of Eq. 3 for oscillator o. */
double qs_osc_f_plus(const qs_osc *o, double n);
double qs_osc_f_minus(const qs_osc *o, double n);
/* Rate of |n−1⟩→|n⟩ (γ+ f+(n) n) and of |n⟩→|n−1⟩ (γ− f−(n) n). */
double qs_osc_rate_up(const qs_osc *o, int n);
double qs_osc_rate_down(const qs_osc *o, int n);

/* Parse a real number (finite, whole string) or a complex one ("a", "bi", "a+bi", "a-bi"). */
int qs_parse_real(const char *text, double *value);
int qs_parse_complex(const char *text, double complex *value);

#endif
