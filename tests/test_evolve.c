/* test_evolve.c — the quench library call (evolve.h) on what the command line cannot reach:
 *   - an exact solution: one two-level oscillator from |0⟩, p_1(t) = u/(u+d) (1 − e^{−(u+d)t})
 *     with u, d its up and down rates, at every sample: Krylov to 1e-12, BDF to 1e-9 (its global
 *     error at rtol 1e-10 measured 1.7e-10);
 *   - an uncoupled pair started in its uncoupled steady state stays there (⟨n_j⟩ to 1e-12);
 *   - every refusal: QS_EINPUT for a bad T, sample count, Fock state, observable index, Krylov
 *     dimension, levels = auto, tolerances (rtol, atol >= 1e-2; Krylov atol x T > 1e-3), sample
 *     times closer than the smallest normal double, and a stop flag already set ("interrupted");
 *     QS_ENUMERIC naming the step limit, t and T; QS_ETOOBIG with the
 *     amount under a tiny memory limit; the result handle NULL after each;
 *   - progress after every step as well as at every sample (calls = samples + steps);
 *   - the getters: the times, NULL for an observable not recorded or an index out of range,
 *     the trace of the state at T. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "qsync/qsync.h"

static const char one_text[] =
    "[oscillator x]\nomega = 3\nK = 1\ngamma_plus = 1.3\ngamma_minus = 0.7\nsigma_plus = 0.4\nsigma_minus = 0.5\n"
    "n_plus = 1.2\nn_minus = 2.1\nlevels = 2\n";
static const char pair_text[] =
    "[defaults]\nK = 2\ngamma = 1\nsigma = 0.3\nnbar = 1.5\nlevels = 5\n[oscillator a]\nomega = 4\n[oscillator b]\n";

/* tol: Krylov's estimated error is 1e-12 per unit time; BDF's global error is a few times its
 * rtol (1e-10) */
static void exact_two_level(const qs_model *m, int method, const char *name, double tol)
{
    const qs_osc *o = qs_model_osc(m, 0);
    double u = qs_osc_rate_up(o, 1), d = qs_osc_rate_down(o, 1), worst = 0;
    qs_evolve_options opt;
    qs_evolve_defaults(&opt);
    int fock[1] = {0};
    opt.fock = fock;
    opt.method = method;
    qs_evolve *e = NULL;
    qs_error err;
    if (!check_setup(name, qs_evolve_run(m, 4.0, 17, &opt, &e, &err) == QS_OK, err.message)) return;
    const double *t = qs_evolve_times(e), *n = qs_evolve_series(e, "mean_n", 0);
    int compared = 0;
    for (int k = 0; n && k < qs_evolve_samples(e); k++, compared++)
        worst = check_worse(worst, fabs(n[k] - u / (u + d) * (1 - exp(-(u + d) * t[k]))));
    char what[160];
    snprintf(what, sizeof what, "%s: <n>(t) of a two-level oscillator from |0> = u/(u+d)(1 - e^-(u+d)t)", name);
    check_worst(what, worst, compared, 17, tol);
    check_true("no pair: S has no series", qs_evolve_series(e, "S", 0) == NULL, NULL);
    check_close("the trace of rho(T)", qs_state_population(qs_evolve_state(e), 0, 0) + qs_state_population(qs_evolve_state(e), 0, 1),
                1.0, 0, 1e-12);
    qs_evolve_free(&e);
    check_true("qs_evolve_free sets the handle to NULL", e == NULL, NULL);
}

typedef struct {
    long calls, last_steps;
    double last_t;
    int ordered;
} progress_log;

static void log_progress(void *ctx, int k, double t, double T, long steps)
{
    progress_log *p = ctx;
    (void)k;
    p->ordered &= t >= 0 && t <= T && steps >= p->last_steps;   /* BDF's step may pass samples recorded after it */
    p->last_t = t;
    p->last_steps = steps;
    p->calls++;
}

/* Progress is reported after every step as well as at every sample (a long run between two
 * samples is not silent): calls = samples + steps, steps non-decreasing, 0 <= t <= T. */
static void progress_every_step(const qs_model *m, int method, const char *name)
{
    qs_evolve_options opt;
    qs_evolve_defaults(&opt);
    progress_log log = {.ordered = 1};
    opt.method = method;
    opt.progress = log_progress;
    opt.progress_ctx = &log;
    qs_evolve *e = NULL;
    qs_error err;
    if (!check_setup(name, qs_evolve_run(m, 4.0, 3, &opt, &e, &err) == QS_OK, err.message)) return;
    char what[160], got[120];
    snprintf(what, sizeof what, "%s: progress after every step and sample (calls = samples + steps, in order)", name);
    snprintf(got, sizeof got, "%ld calls, %ld steps, ordered %d", log.calls, qs_evolve_total_steps(e), log.ordered);
    check_true(what, log.calls == 3 + qs_evolve_total_steps(e) && qs_evolve_total_steps(e) >= 1 && log.ordered, got);
    qs_evolve_free(&e);
}

static void stays_uncoupled(const qs_model *pair)
{
    qs_evolve_options opt;
    qs_evolve_defaults(&opt);
    int which[2] = {qs_observable_find("mean_n"), qs_observable_find("negativity")};
    opt.which = which;
    opt.n_which = 2;
    qs_evolve *e = NULL;
    qs_error err;
    if (!check_setup("uncoupled pair evolves", qs_evolve_run(pair, 3.0, 7, &opt, &e, &err) == QS_OK, err.message)) return;
    double worst = 0, p[5];
    int compared = 0;
    for (int j = 0; j < 2; j++) {
        qs_osc_populations(qs_model_osc(pair, j), 5, p);
        double mean = 0;
        for (int n = 0; n < 5; n++) mean += n * p[n];
        const double *v = qs_evolve_series(e, "mean_n", j);
        for (int k = 0; v && k < 7; k++, compared++) worst = check_worse(worst, fabs(v[k] - mean));
    }
    check_worst("uncoupled pair: <n_j>(t) stays the uncoupled value", worst, compared, 14, 1e-12);
    check_true("an observable not recorded has no series (S)", qs_evolve_series(e, "S", 0) == NULL, NULL);
    check_true("a pair index out of range has no series", qs_evolve_series(e, "negativity", 1) == NULL, NULL);
    check_true("the recorded pair observable has a series", qs_evolve_series(e, "negativity", 0) != NULL, NULL);
    check_close("the last time is T exactly", qs_evolve_times(e)[6], 3.0, 0, 0);
    qs_evolve_free(&e);
}

static void refused(const char *what, const qs_model *m, double T, int samples, const qs_evolve_options *opt, int status,
                    const char *needle)
{
    qs_evolve *e = (qs_evolve *)&e;      /* not NULL: the call must clear it */
    qs_error err = {0};
    int st = qs_evolve_run(m, T, samples, opt, &e, &err);
    char detail[700];
    snprintf(detail, sizeof detail, "status %d, \"%s\"", st, err.message);
    check_true(what, st == status && e == NULL && strstr(err.message, needle) != NULL, detail);
}

int main(void)
{
    qs_model *one = NULL, *pair = NULL, *autom = NULL;
    qs_error err;
    if (!check_setup("models load", qs_model_load_string(one_text, "one", &one, &err) == QS_OK &&
                     qs_model_load_string(pair_text, "pair", &pair, &err) == QS_OK &&
                     qs_model_load_string(pair_text, "auto", &autom, &err) == QS_OK &&
                     qs_model_set(autom, "levels", "auto", &err) == QS_OK, err.message))
        return check_summary();
    exact_two_level(one, QS_EVOLVE_KRYLOV, "krylov", 1e-12);
    exact_two_level(one, QS_EVOLVE_BDF, "bdf", 1e-9);
    stays_uncoupled(pair);
    progress_every_step(pair, QS_EVOLVE_KRYLOV, "krylov");
    progress_every_step(pair, QS_EVOLVE_BDF, "bdf");

    qs_evolve_options o;
    qs_evolve_defaults(&o);
    refused("T = 0 refused", pair, 0, 5, &o, QS_EINPUT, "end time");
    refused("T = NaN refused", pair, NAN, 5, &o, QS_EINPUT, "end time");
    refused("1 sample refused", pair, 1, 1, &o, QS_EINPUT, "samples");
    refused("levels = auto refused", autom, 1, 3, &o, QS_EINPUT, "levels = auto");
    int fock[2] = {5, 0};
    o.fock = fock;
    refused("Fock level 5 of 5 levels refused", pair, 1, 3, &o, QS_EINPUT, "Fock");
    qs_evolve_defaults(&o);
    int bad[1] = {99};
    o.which = bad;
    o.n_which = 1;
    refused("observable index 99 refused", pair, 1, 3, &o, QS_EINPUT, "observable");
    qs_evolve_defaults(&o);
    o.krylov_dim = 2;
    refused("Krylov dimension 2 refused", pair, 1, 3, &o, QS_EINPUT, "Krylov");
    qs_evolve_defaults(&o);
    o.memory_limit = 1000;
    refused("a 1000-byte memory limit: QS_ETOOBIG with the amount", pair, 1, 3, &o, QS_ETOOBIG, "MiB");
    qs_evolve_defaults(&o);
    refused("Krylov: atol x T = 1e-12 x 1e16 > 1e-3 refused", pair, 1e16, 3, &o, QS_EINPUT, "atol x T");
    refused("T = 1e300: atol x T refused", pair, 1e300, 3, &o, QS_EINPUT, "atol x T");
    refused("T/(N-1) = 5e-311 (subnormal) refused", pair, 1e-310, 3, &o, QS_EINPUT, "smallest normal");
    o.atol = 0.9;
    refused("atol 0.9 refused", pair, 20, 5, &o, QS_EINPUT, "atol");
    qs_evolve_defaults(&o);
    o.method = QS_EVOLVE_BDF;
    o.rtol = 0.05;
    refused("rtol 0.05 (bdf) refused", pair, 1, 3, &o, QS_EINPUT, "rtol");
    qs_evolve_defaults(&o);
    volatile int stop = 1;
    o.stop = &stop;
    refused("a stop flag already set: interrupted", pair, 1, 3, &o, QS_EINPUT, "interrupted");
    o.method = QS_EVOLVE_BDF;
    refused("a stop flag already set (bdf): interrupted", pair, 1, 3, &o, QS_EINPUT, "interrupted");

    qs_model_free(&one);
    qs_model_free(&pair);
    qs_model_free(&autom);
    return check_summary();
}
