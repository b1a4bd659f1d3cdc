/* bench_steady.c — time one steady state in-process: plan + solve + S of every pair.
 *
 * usage: bench_steady MODEL [REPEATS] [--set PATH=VALUE]... [--solver auto|direct|iterative]
 *                     [--all-observables]
 * Prints the median and quartiles of the wall time per steady state (all work from a
 * parsed model to S: basis, pattern, symbolic and numeric LU, solve, checks, measure;
 * with --all-observables every observable of the table instead of S and phi_max alone),
 * and the median per steady state on one plan while every coupling changes from solve to
 * solve, as in a sweep over the coupling strength.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qsync/qsync.h"
#include "../src/lib/internal.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static qs_steady_options options;
static int all_observables;     /* --all-observables: every observable of the table, not S alone */
static double last_observe;     /* seconds of the measure of the last steady state */

/* S and phi_max of every pair, or (--all-observables) every observable of the table */
static int observe(const qs_state *s, qs_error *err)
{
    int n = qs_state_size(s), k = qs_observable_count(), levels[64], which[64];
    for (int j = 0; j < n && j < 64; j++) levels[j] = qs_state_levels(s, j);
    for (int i = 0; i < k; i++) which[i] = i;
    size_t width = all_observables ? qs_observe_width(n, levels, k, which) : (size_t)(n * (n - 1) + 1);
    double *v = malloc(width * sizeof *v);
    if (!v) return qs_error_set(err, QS_ENOMEM, "out of memory");
    int st = all_observables ? qs_state_observe(s, k, which, v, err) : qs_state_sync(s, v, v + n * (n - 1) / 2, err);
    free(v);
    return st;
}

static double one(const qs_model *m, int with_plan, qs_steady *plan)
{
    double t0 = qs_now();
    qs_steady *st = plan;
    qs_error err;
    if (with_plan && qs_steady_create(m, &options, &st, &err) != QS_OK) { fprintf(stderr, "%s\n", err.message); exit(3); }
    if (qs_steady_solve(st, m, &err) < 0) { fprintf(stderr, "%s\n", err.message); exit(3); }
    const qs_state *s = qs_steady_state(st);
    double t1 = qs_now();
    if (observe(s, &err) != QS_OK) { fprintf(stderr, "%s\n", err.message); exit(3); }
    last_observe = qs_now() - t1;
    double t = qs_now() - t0;
    if (with_plan) qs_steady_free(&st);
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: bench_steady MODEL [REPEATS] [--set PATH=VALUE]...\n"); return 2; }
    int reps = argc > 2 && argv[2][0] != '-' ? atoi(argv[2]) : 50;
    qs_model *m;
    qs_error err;
    if (qs_model_load(argv[1], &m, &err) != QS_OK) { fprintf(stderr, "%s\n", err.message); return 2; }
    qs_steady_defaults(&options);
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--solver") == 0 && i + 1 < argc) {
            i++;
            options.solver = strcmp(argv[i], "iterative") == 0 ? QS_SOLVER_ITERATIVE : strcmp(argv[i], "direct") == 0 ? QS_SOLVER_DIRECT : QS_SOLVER_AUTO;
        } else if (strcmp(argv[i], "--all-observables") == 0) {
            all_observables = 1;
        } else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
            char path[256];
            const char *eq = strchr(argv[++i], '=');
            if (!eq) return 2;
            snprintf(path, sizeof path, "%.*s", (int)(eq - argv[i]), argv[i]);
            if (qs_model_set(m, path, eq + 1, &err) != QS_OK) { fprintf(stderr, "%s\n", err.message); return 2; }
        }
    if (qs_model_resolve_levels(m, QS_TAIL_TOL_DEFAULT, QS_AUTO_LEVELS_MAX, &err) != QS_OK) { fprintf(stderr, "%s\n", err.message); return 2; }
    double *t = malloc((size_t)reps * sizeof *t), *tn = malloc((size_t)reps * sizeof *tn), *to = malloc((size_t)reps * sizeof *to);
    one(m, 1, NULL);                                  /* warm-up */
    for (int r = 0; r < reps; r++) t[r] = one(m, 1, NULL);
    qs_steady *plan;
    if (qs_steady_create(m, &options, &plan, &err) != QS_OK) { fprintf(stderr, "%s\n", err.message); return 3; }
    int nc = qs_model_coupling_count(m), refactored = 0;
    double complex *c0 = malloc((size_t)(nc ? nc : 1) * sizeof *c0);
    for (int i = 0; i < nc; i++) {
        int a, b;
        qs_model_coupling(m, i, &a, &b, &c0[i]);
    }
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < nc; i++) {            /* a sweep step: every coupling × (1 + r/100) */
            int a, b;
            double complex c;
            char path[2 * QS_NAME_MAX + 2], value[80];
            qs_model_coupling(m, i, &a, &b, &c);
            snprintf(path, sizeof path, "%s-%s", qs_model_name(m, a), qs_model_name(m, b));
            c = c0[i] * (1.0 + 0.01 * r);
            snprintf(value, sizeof value, "%.17g%+.17gi", creal(c), cimag(c));
            qs_model_set(m, path, value, NULL);
        }
        tn[r] = one(m, 0, plan);
        to[r] = last_observe;
        qs_steady_stats ps;
        qs_steady_get_stats(plan, &ps);
        refactored += ps.refactored;
    }
    free(c0);
    qs_steady_stats st;
    qs_steady_get_stats(plan, &st);
    qsort(t, (size_t)reps, sizeof *t, cmp);
    qsort(tn, (size_t)reps, sizeof *tn, cmp);
    qsort(to, (size_t)reps, sizeof *to, cmp);
    printf("{\"model\": \"%s\", \"repeats\": %d, \"sector_dimension\": %zu, \"system_dimension\": %zu, \"nnz\": %zu, \"lu_nnz\": %.0f, "
           "\"median_s\": %.6g, \"q1_s\": %.6g, \"q3_s\": %.6g, \"median_reuse_plan_s\": %.6g, \"observables\": \"%s\", "
           "\"median_observe_s\": %.6g, \"refactored\": %d, \"peak_rss_bytes\": %.0f}\n",
           argv[1], reps, st.sector_dimension, st.system_dimension, st.nnz, st.lu_nnz, t[reps / 2], t[reps / 4], t[3 * reps / 4],
           tn[reps / 2], all_observables ? "all" : "S", to[reps / 2], refactored, qs_memory_peak());
    qs_steady_free(&plan);
    qs_model_free(&m);
    free(t);
    free(tn);
    free(to);
    return 0;
}
