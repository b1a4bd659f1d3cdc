/* test_store.c — the library's result store of a sweep (qs_sweep_store) and the figure table.
 *
 * A sweep over a complex coupling axis and a levels axis of two oscillators: the store's
 * names (axes, NAME and NAME_im for the complex axis, the default and observed columns), the
 * axis values of every point before anything is solved, NaN and not done before the run, and
 * after it every value equal to a separate qs_steady solve of that point's model read through
 * qs_state_observe (to 1e-12: the sweep reuses pivots within a block), populations above a
 * point's levels 0, the status words and their parsing, qs_sweep_store_put (a row back, a
 * point cleared), and the figure table (names found, axes as data, options). */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "qsync/qsync.h"
#include "check.h"

static const char model_text[] =
    "[defaults]\ngamma = 1\nsigma = 0.2\nK = 10\nnbar = 2\nlevels = 6\n"
    "[oscillator 1]\nomega = 0\n[oscillator 2]\nomega = 20\n[coupling]\n1-2 = 0.1\n";

static int names_are(const qs_sweep_store *t, const char *const *want, int n, char *detail, size_t size)
{
    int ok = qs_sweep_store_columns(t) == n;
    for (int c = 0; ok && c < n; c++) ok = strcmp(qs_sweep_store_name(t, c), want[c]) == 0;
    size_t k = 0;
    for (int c = 0; c < qs_sweep_store_columns(t) && k < size; c++)
        k += (size_t)snprintf(detail + k, size - k, "%s%s", c ? "," : "", qs_sweep_store_name(t, c));
    return ok;
}

int main(void)
{
    qs_model *m = NULL;
    qs_error err = {0};
    char detail[2048];
    if (!check_setup("model loads", qs_model_load_string(model_text, "store", &m, &err) == QS_OK, err.message))
        return check_summary();
    const char *coupling[] = {"1-2"}, *levels[] = {"2.levels"};
    const double complex lv[] = {4, 6};
    qs_axis axes[2] = {{.n_paths = 1, .paths = coupling, .start = 0.05 + 0.02 * I, .stop = 0.15 - 0.02 * I, .count = 3},
                       {.n_paths = 1, .paths = levels, .count = 2, .values = lv, .start = 4, .stop = 6}};
    qs_sweep_options o;
    qs_sweep_defaults(&o);
    o.threads = 1;

    /* ---- default columns ---- */
    qs_sweep *sw = NULL;
    qs_sweep_store *t = NULL;
    if (!check_setup("sweep created", qs_sweep_create(m, 2, axes, 0, NULL, &o, &sw, &err) == QS_OK, err.message) ||
        !check_setup("store created", qs_sweep_store_create(sw, &t, &err) == QS_OK, err.message))
        return check_summary();
    static const char *const dflt[] = {"1-2", "1-2_im", "2.levels", "S_1-2", "residual", "top_population", "status",
                                       "phi_1-2", "truncation_error"};
    check_true("default store: columns named as sweep.csv's header, a complex axis as NAME and NAME_im",
               names_are(t, dflt, 9, detail, sizeof detail), detail);
    size_t np = qs_sweep_size(sw);
    const double *re = qs_sweep_store_column(t, 0), *im = qs_sweep_store_column(t, 1), *L = qs_sweep_store_column(t, 2);
    int ok = np == 6;
    for (size_t p = 0; ok && p < np; p++) {
        double complex v[2];
        qs_sweep_coordinates(sw, p, v);
        ok = re[p] == creal(v[0]) && im[p] == cimag(v[0]) && L[p] == creal(v[1]) && !qs_sweep_store_done(t)[p] &&
             isnan(qs_sweep_store_column(t, 3)[p]) && qs_sweep_store_status(t)[p] == QS_EINPUT;
    }
    check_true("before the run: axis values of every point filled, results NaN, not done", ok, NULL);
    check_true("status has no doubles (NULL); a name not in the store is -1",
               qs_sweep_store_column(t, 6) == NULL && qs_sweep_store_find(t, "status") == 6 && qs_sweep_store_find(t, "S") == -1,
               NULL);
    volatile int stop = 0;
    ok = qs_sweep_run(sw, NULL, qs_sweep_store_add, t, &stop, &err) == QS_OK;
    for (size_t p = 0; ok && p < np; p++) ok = qs_sweep_store_done(t)[p];
    check_true("qs_sweep_store_add as the report: every point done", ok, ok ? NULL : err.message);
    qs_sweep_store_free(&t);
    qs_sweep_free(&sw);

    /* ---- observed columns, against a separate solve of each point ---- */
    int which[3] = {qs_observable_find("populations"), qs_observable_find("negativity"), qs_observable_find("mean_n")};
    o.n_observe = 3;
    o.observe = which;
    if (!check_setup("observing sweep created", qs_sweep_create(m, 2, axes, 0, NULL, &o, &sw, &err) == QS_OK, err.message) ||
        !check_setup("store created", qs_sweep_store_create(sw, &t, &err) == QS_OK, err.message))
        return check_summary();
    static const char *const obs[] = {"1-2", "1-2_im", "2.levels", "populations_1_0", "populations_1_1", "populations_1_2",
                                      "populations_1_3", "populations_1_4", "populations_1_5", "populations_2_0",
                                      "populations_2_1", "populations_2_2", "populations_2_3", "populations_2_4",
                                      "populations_2_5", "negativity_1-2", "mean_n_1", "mean_n_2", "residual",
                                      "top_population", "status", "truncation_error"};
    check_true("--observe populations,negativity,mean_n: observed columns in the layout of qs_state_observe at the "
               "grid's largest levels, in place of S_ and phi_", names_are(t, obs, 22, detail, sizeof detail), detail);
    check_true("qs_sweep_observe_width: 12 + 1 + 2 values", qs_sweep_observe_width(sw) == 15 && qs_sweep_levels_max(sw, 1) == 6,
               NULL);
    ok = qs_sweep_run(sw, NULL, qs_sweep_store_add, t, &stop, &err) == QS_OK;
    double worst = 0, zero = 0;
    int compared = 0;
    qs_model *pm = qs_model_copy(qs_sweep_model(sw));
    for (size_t p = 0; ok && pm && p < np; p++) {
        qs_steady *st = NULL;
        double values[32];
        int Lp = (int)qs_sweep_store_column(t, 2)[p];
        if (qs_sweep_point_model(sw, p, pm, &err) != QS_OK || qs_steady_create(pm, NULL, &st, &err) != QS_OK ||
            qs_steady_solve(st, pm, &err) < 0 || qs_state_observe(qs_steady_state(st), 3, which, values, &err) != QS_OK) {
            ok = 0;
            qs_steady_free(&st);
            break;
        }
        /* values at the point's levels: populations 6 + Lp, negativity, mean_n 1, 2 */
        for (int k = 0; k < 6 + Lp; k++, compared++) {
            int c = 3 + (k < 6 ? k : 6 + (k - 6));
            worst = check_worse(worst, fabs(qs_sweep_store_column(t, c)[p] - values[k]));
        }
        for (int k = Lp; k < 6; k++) zero = check_worse(zero, fabs(qs_sweep_store_column(t, 9 + k)[p]));
        for (int k = 0; k < 3; k++, compared++)
            worst = check_worse(worst, fabs(qs_sweep_store_column(t, 15 + k)[p] - values[6 + Lp + k]));
        qs_steady_free(&st);
    }
    qs_model_free(&pm);
    check_worst("observed columns equal a separate solve of each point through qs_state_observe", worst, compared,
                3 * (6 + 4 + 3) + 3 * (6 + 6 + 3), 1e-12);
    check_true("populations of oscillator 2 above a point's 4 levels are 0", ok && zero == 0, NULL);

    /* ---- statuses ---- */
    static const int codes[] = {QS_OK, QS_WARN_TRUNCATION, QS_SWEEP_STATUS_TRUNCATION, QS_ENUMERIC, QS_ETOOBIG, QS_EINPUT};
    static const char *const words[] = {"ok", "top-level", "truncation", "numerical", "memory", "input"};
    ok = strcmp(qs_sweep_status_word(QS_ENOMEM), "memory") == 0;
    for (int k = 0; k < 6; k++) {
        int s = 12345;
        ok = ok && strcmp(qs_sweep_status_word(codes[k]), words[k]) == 0 && qs_sweep_status_parse(words[k], &s) && s == codes[k];
    }
    int s = 7;
    check_true("status words and their parsing; an unknown word is refused", ok && !qs_sweep_status_parse("fine", &s) && s == 7,
               NULL);
    const int *status = qs_sweep_store_status(t);
    const double *trunc = qs_sweep_store_column(t, qs_sweep_store_find(t, "truncation_error"));
    ok = 1;
    int estimated = 0;
    for (size_t p = 0; p < np; p++) {  /* levels on an axis: estimated at every point (NaN: unknown) */
        ok = ok && status[p] == (trunc[p] <= o.s_tol ? QS_OK : QS_SWEEP_STATUS_TRUNCATION);
        estimated += isfinite(trunc[p]);
    }
    snprintf(detail, sizeof detail, "%d of %zu estimated", estimated, np);
    check_true("status ok or truncation by the truncation_error column against s_tol (unknown: truncation)",
               ok && estimated > 0, detail);

    /* ---- put ---- */
    int nc = qs_sweep_store_columns(t);
    double *row = malloc((size_t)nc * sizeof *row);
    for (int c = 0; row && c < nc; c++) row[c] = c == 20 ? QS_WARN_TRUNCATION : 0.25 * c;
    ok = row && qs_sweep_store_put(t, 4, row, &err) == QS_OK && qs_sweep_store_status(t)[4] == QS_WARN_TRUNCATION &&
         qs_sweep_store_column(t, 3)[4] == 0.75 && qs_sweep_store_column(t, 0)[4] != 0.0 && qs_sweep_store_done(t)[4];
    ok = ok && qs_sweep_store_put(t, 5, NULL, &err) == QS_OK && !qs_sweep_store_done(t)[5] && isnan(qs_sweep_store_column(t, 3)[5]);
    check_true("qs_sweep_store_put: a row filed (axes kept from the grid), NULL clears a point; outside the grid refused",
               ok && qs_sweep_store_put(t, 6, row, &err) == QS_EINPUT, NULL);
    free(row);
    qs_sweep_store_free(&t);
    qs_sweep_free(&sw);

    /* ---- classical columns ---- */
    qs_sweep_defaults(&o);
    o.classical = 1;
    qs_axis one = {.n_paths = 1, .paths = coupling, .start = 0.1, .stop = 0.2, .count = 2};
    ok = qs_sweep_create(m, 1, &one, 0, NULL, &o, &sw, &err) == QS_OK && qs_sweep_store_create(sw, &t, &err) == QS_OK;
    static const char *const cl[] = {"1-2", "S_1-2", "S_err_1-2", "escaped_fraction", "status", "phi_1-2",
                                     "nu_1", "nu_2", "nu_err_1", "nu_err_2", "beat_1-2", "beat_err_1-2"};
    check_true("classical store: S_, S_err_, escaped_fraction, status, phi_, then nu_, nu_err_, beat_, beat_err_",
               ok && names_are(t, cl, 12, detail, sizeof detail) && qs_sweep_observe_width(sw) == 6, detail);
    qs_sweep_store_free(&t);
    qs_sweep_free(&sw);
    o.n_observe = 1;
    o.observe = which;
    check_true("a classical sweep with observables is refused (QS_EINPUT)",
               qs_sweep_create(m, 1, &one, 0, NULL, &o, &sw, &err) == QS_EINPUT && !sw, err.message);

    /* ---- the figure table ---- */
    const qs_figure *f3a = qs_figure_find("3a"), *f2a = qs_figure_find("2a"), *ft = qs_figure_find("tongue");
    ok = qs_figure_count() >= 13 && f3a && f2a && ft && !qs_figure_find("9z") && qs_figure_get(qs_figure_count()) == NULL;
    const qs_figure_sweep *s3a = ok ? &f3a->sweeps[0] : NULL, *s2a = ok ? &f2a->sweeps[0] : NULL;
    ok = ok && qs_figure_sweep_count(f3a) == 1 && s3a->n_axes == 2 && strcmp(s3a->axes[0].paths[0], "1.omega") == 0 &&
         s3a->axes[0].count == 161 && creal(s3a->axes[1].start) == 0.1 && s3a->n_ties == 1 &&
         strcmp(s3a->ties[0].expression, "1/sigma") == 0 && !s3a->folder;
    if (ok) qs_figure_options(s2a, &o);
    ok = ok && o.classical && o.classical_options.trajectories == 512 && o.target_err == 0.005 && s2a->axes[0].values &&
         s2a->axes[0].count == 4;
    /* two sweeps of their own kinds, each in a folder of its own */
    ok = ok && qs_figure_sweep_count(ft) == 2 && ft->sweeps[0].classical && !ft->sweeps[1].classical && ft->sweeps[0].folder &&
         ft->sweeps[1].folder && strcmp(ft->sweeps[0].folder, ft->sweeps[1].folder) != 0;
    qs_model *fm = NULL;
    ok = ok && qs_model_load_string(s3a->model, "3a", &fm, &err) == QS_OK &&
         qs_sweep_create(fm, s3a->n_axes, s3a->axes, s3a->n_ties, s3a->ties, NULL, &sw, &err) == QS_OK &&
         qs_sweep_size(sw) == 161 * 91;
    check_true("figure table: figures by name, axes and ties as data, options, 3a's sweep created from its data, "
               "tongue's two sweeps (classical, quantum) in folders of their own", ok, ok ? NULL : err.message);
    qs_sweep_free(&sw);
    qs_model_free(&fm);
    qs_model_free(&m);
    return check_summary();
}
