/* check.h — one PASS/FAIL line per check, with observed and expected values. */
#ifndef QSYNC_TEST_CHECK_H
#define QSYNC_TEST_CHECK_H
#include <math.h>
#include <stdio.h>

static int check_failures, check_count;

/* |got − want| ≤ tol·max(|want|, floor) ; floor keeps relative checks of zero sane */
static void check_close(const char *what, double got, double want, double rel, double abs_floor)
{
    double err = fabs(got - want), bound = rel * fabs(want) + abs_floor;
    int ok = err <= bound;
    check_count++;
    check_failures += !ok;
    printf("%s: %s: got %.15g, expected %.15g (|diff| %.2e, allowed %.2e)\n", ok ? "PASS" : "FAIL", what, got, want, err, bound);
}

static void check_true(const char *what, int ok, const char *detail)
{
    check_count++;
    check_failures += !ok;
    printf("%s: %s%s%s\n", ok ? "PASS" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
}

static int check_summary(void)
{
    printf("%d passed, %d failed\n", check_count - check_failures, check_failures);
    return check_failures ? 1 : 0;
}
#endif
