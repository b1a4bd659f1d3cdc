/* check.h — one PASS/FAIL line per check, with observed and expected values.
 *
 * A check can only pass on something it has seen: a worst case over items passes only when
 * the expected number of items was compared (check_worst), NaN never passes, a set-up step
 * that failed (a model that does not load, a solve that fails) is a counted failure
 * (check_setup), and a run with no checks at all fails. */
#ifndef QSYNC_TEST_CHECK_H
#define QSYNC_TEST_CHECK_H
#include <math.h>
#include <stdio.h>

static int check_failures, check_count;

/* |got − want| ≤ tol·max(|want|, floor) ; floor keeps relative checks of zero sane */
static inline void check_close(const char *what, double got, double want, double rel, double abs_floor)
{
    double err = fabs(got - want), bound = rel * fabs(want) + abs_floor;
    int ok = err <= bound;
    check_count++;
    check_failures += !ok;
    printf("%s: %s: got %.15g, expected %.15g (|diff| %.2e, allowed %.2e)\n", ok ? "PASS" : "FAIL", what, got, want, err, bound);
}

static inline void check_true(const char *what, int ok, const char *detail)
{
    check_count++;
    check_failures += !ok;
    printf("%s: %s%s%s\n", ok ? "PASS" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
}

/* A set-up step: silent when it worked, a counted FAIL line when it did not. */
static inline int check_setup(const char *what, int ok, const char *detail)
{
    if (!ok) check_true(what, 0, detail);
    return ok;
}

/* The larger of w and e, NaN winning (fmax would drop a NaN error). */
static inline double check_worse(double w, double e) { return isnan(w) || isnan(e) ? NAN : e > w ? e : w; }

/* worst ≤ bound over `compared` items, of which `expected` (> 0) were meant to be compared. */
static inline void check_worst(const char *what, double worst, int compared, int expected, double bound)
{
    int ok = expected > 0 && compared == expected && worst <= bound;
    check_count++;
    check_failures += !ok;
    printf("%s: %s: worst %.15g over %d of %d items (allowed %.2e)\n", ok ? "PASS" : "FAIL", what, worst, compared,
           expected, bound);
}

static int check_summary(void)
{
    if (check_count == 0) check_true("at least one check ran", 0, NULL);
    printf("%d passed, %d failed\n", check_count - check_failures, check_failures);
    return check_failures ? 1 : 0;
}
#endif
