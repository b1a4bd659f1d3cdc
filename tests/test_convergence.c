/* test_convergence.c — the library's truncation check: a plan reused across points gives what
 * a fresh estimate gives, refuses a model of other levels, the raise mask, and levels = auto by
 * a tolerance on S. (The estimate against S at many more levels: tests/truncation.py.) */
#include <stdlib.h>
#include <string.h>
#include "qsync/qsync.h"
#include "check.h"

static const char fig2b[] =
    "[defaults]\nK = 10\ngamma = 1\nsigma = 0.2\nnbar = 2\nlevels = 8\n"
    "[oscillator 1]\nomega = 20\n[oscillator 2]\n[coupling]\n1-2 = 0.05\n";

int main(void)
{
    qs_model *m = NULL;
    qs_error err;
    if (qs_model_load_string(fig2b, "fig2b", &m, &err) != QS_OK) {
        check_true("load the model", 0, err.message);
        return check_summary();
    }
    qs_convergence_plan *plan = NULL;
    int st = qs_convergence_plan_create(m, NULL, &plan, &err);
    check_true("plan the check", st == QS_OK, st == QS_OK ? NULL : err.message);
    if (st == QS_OK) {
        const qs_convergence *r = NULL;
        double first[3] = {0}, second[3] = {0};
        st = qs_convergence_plan_run(plan, m, NULL, &r, &err);
        if (st == QS_OK) { first[0] = r->S[0]; first[1] = r->change[0]; first[2] = r->error[0]; }
        qs_model_set(m, "1.omega", "0", &err);
        qs_model_set(m, "sigma", "0.3", &err);   /* the tail factor must follow */
        st |= qs_convergence_plan_run(plan, m, NULL, &r, &err);
        if (st == QS_OK) { second[0] = r->S[0]; second[1] = r->change[0]; second[2] = r->error[0]; }
        check_true("two runs of one plan", st == QS_OK, st == QS_OK ? NULL : err.message);
        qs_convergence *fresh = NULL;
        st = qs_convergence_estimate(m, NULL, NULL, &fresh, &err);
        check_true("a fresh estimate at the second point", st == QS_OK, st == QS_OK ? NULL : err.message);
        if (fresh) {
            check_close("second point: S by the reused plan = fresh", second[0], fresh->S[0], 1e-10, 1e-15);
            check_close("second point: change by the reused plan = fresh", second[1], fresh->change[0], 1e-8, 1e-15);
            check_close("second point: error by the reused plan = fresh (factor recomputed for sigma 0.3)", second[2], fresh->error[0], 1e-8, 1e-15);
            check_true("the two points differ (the plan did not return stale values)", fabs(first[0] - second[0]) > 1e-3 &&
                       fabs(first[2] - second[2]) > 1e-5, NULL);
        }
        qs_convergence_free(&fresh);
        qs_model_set(m, "levels", "9", &err);
        st = qs_convergence_plan_run(plan, m, NULL, &r, &err);
        check_true("a model of other levels is refused (QS_EINPUT, names the levels)",
                   st == QS_EINPUT && strstr(err.message, "levels 9, the truncation check was planned for 8"), err.message);
        qs_model_set(m, "levels", "8", &err);
    }
    qs_convergence_plan_free(&plan);
    check_true("plan freed and set to NULL", plan == NULL, NULL);

    /* raise only oscillator 1, per oscillator: one solve, no change attributed to oscillator 2 */
    qs_convergence_options o;
    qs_convergence_defaults(&o);
    int raise[2] = {1, 0};
    o.raise = raise;
    o.per_oscillator = 1;
    qs_convergence *c = NULL;
    st = qs_convergence_estimate(m, NULL, &o, &c, &err);
    check_true("raise mask {1, 0}, per oscillator: one solve, oscillator 2 untouched, factor 0 for it",
               st == QS_OK && c->solves == 1 && c->osc_change[1] == 0.0 && c->factor[1] == 0.0 && c->osc_change[0] != 0.0,
               st == QS_OK ? NULL : err.message);
    qs_convergence_free(&c);

    /* levels = auto by S */
    qs_model_set(m, "1.omega", "20", &err);
    qs_model_set(m, "sigma", "0.2", &err);
    qs_model_set(m, "levels", "auto", &err);
    qs_auto_options ao;
    qs_auto_defaults(&ao);
    ao.s_tol = 2e-3;
    int rounds = 0;
    st = qs_model_auto_levels_s(m, &ao, &c, &rounds, &err);
    check_true("levels = auto --s-tol 2e-3: resolved, estimate within it", st == QS_OK && c && c->max_error <= 2e-3 &&
               qs_model_osc(m, 0)->levels >= 5 && rounds >= 1, st == QS_OK ? NULL : err.message);
    qs_convergence_free(&c);
    qs_model_set(m, "levels", "auto", &err);
    ao.s_tol = 1e-9;
    ao.max_unknowns = 5000;
    st = qs_model_auto_levels_s(m, &ao, &c, &rounds, &err);
    check_true("levels = auto with an unreachable tolerance: QS_ETOOBIG, the best error named, levels stay auto",
               st == QS_ETOOBIG && strstr(err.message, "above the tolerance 1e-09") && qs_model_osc(m, 0)->levels == QS_LEVELS_AUTO && !c,
               err.message);
    qs_model_free(&m);
    return check_summary();
}
