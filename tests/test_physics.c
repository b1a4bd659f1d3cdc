/* test_physics.c — the library against exact results, limits, symmetries and identities
 * (MODEL.md §1, §2). Every check prints observed and expected values; a solve that fails is
 * a counted failure, and the checks that needed its result fail too (they compare NaN or
 * fewer items than expected; see check.h).
 *
 * Usage: test_physics [--memory-limit BYTES]  (the option makes every solve fail, to show
 * that set-up failures are counted: ctest's physics_failed_setup). */
#include <complex.h>
#include <stdlib.h>
#include <string.h>
#include "qsync/qsync.h"
#include "check.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static double memory_limit; /* --memory-limit: given to every plan */

/* A model from text; one that does not load ends the run as a counted failure. */
static qs_model *load(const char *text)
{
    qs_model *m;
    qs_error err;
    if (!check_setup("model text loads", qs_model_load_string(text, "test", &m, &err) == QS_OK, err.message)) {
        check_summary();
        exit(1);
    }
    return m;
}

typedef struct {
    qs_steady *st;
    qs_steady_stats stats;
    int status;
} solved;

static solved solve_with(const qs_model *m, int full, int symmetry)
{
    solved r = {0};
    qs_steady_options o;
    qs_steady_defaults(&o);
    o.full = full;
    o.symmetry = symmetry;
    o.solver = QS_SOLVER_DIRECT;   /* the exact path; GMRES and auto have tests of their own */
    o.top_tol = 1.0;
    o.memory_limit = memory_limit;
    qs_error err;
    r.status = qs_steady_create(m, &o, &r.st, &err);
    if (r.status == QS_OK) r.status = qs_steady_solve(r.st, m, &err);
    if (check_setup("solve", r.status == QS_OK, err.message)) qs_steady_get_stats(r.st, &r.stats);
    return r;
}

static solved solve(const qs_model *m, int full) { return solve_with(m, full, 1); }

/* S and phi_max of pair (a, b) of a solve; NaN when the solve failed */
static double solved_S(const solved *r, int a, int b);

static double pair_S(const qs_state *s, int a, int b, double *phi)
{
    int n = qs_state_size(s), q = 0;
    double S[64], ph[64];
    if (a > b) { int x = a; a = b; b = x; }
    for (int x = 0; x < a; x++) q += n - 1 - x;     /* pairs x < y in order: (a, b) is pair q */
    q += b - a - 1;
    if (qs_state_sync(s, S, ph, NULL) != QS_OK) return NAN;
    if (phi) *phi = ph[q];
    return S[q];
}

static double solved_S(const solved *r, int a, int b)
{
    return r->status == QS_OK ? pair_S(qs_steady_state(r->st), a, b, NULL) : NAN;
}

/* the generic checks every solve must pass (NaN, hence FAIL, for a failed solve) */
static void check_solution(const char *what, const solved *r)
{
    char name[200];
    if (r->status != QS_OK) {
        snprintf(name, sizeof name, "%s: residual, trace and hermiticity checks", what);
        check_true(name, 0, "the solve failed");
        return;
    }
    snprintf(name, sizeof name, "%s: relative residual", what);
    check_close(name, r->stats.residual, 0, 0, 1e-13);
    snprintf(name, sizeof name, "%s: |Tr rho - 1|", what);
    check_close(name, r->stats.trace_error, 0, 0, 1e-13);
    snprintf(name, sizeof name, "%s: hermiticity", what);
    check_close(name, r->stats.hermiticity_error, 0, 0, 1e-13);
}

/* p(n) ∝ Π γ+ f+(k) / (γ− f−(k)), written out independently of the library */
static void exact_populations(double gp, double gm, double sp, double sm, double np, double nm, int L, double *p)
{
    double sum = 0;
    p[0] = 1;
    for (int n = 1; n < L; n++) {
        double fp = sp * sp / ((n - np) * (n - np) + sp * sp), fm = sm * sm / ((n - nm) * (n - nm) + sm * sm);
        p[n] = p[n - 1] * gp * fp / (gm * fm);
    }
    for (int n = 0; n < L; n++) sum += p[n];
    for (int n = 0; n < L; n++) p[n] /= sum;
}

static void test_single_oscillator(void)
{
    static const struct { double gp, gm, sp, sm, np, nm; int L; } cases[] = {
        {1, 1, 0.2, 0.2, 2, 3, 8},       /* Fig. 2b oscillator */
        {2.5, 0.7, 0.3, 0.5, 1.5, 2.2, 9}, /* γ+ ≠ γ−, σ+ ≠ σ−, non-integer n± */
        {0.3, 1.7, 0.8, 0.25, 4, 4.6, 12},
        {1, 1, 0.6, 0.6, 4, 5, 10},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char text[600];
        snprintf(text, sizeof text,
                 "[oscillator x]\nomega = 3.5\nK = 2\ngamma_plus = %.17g\ngamma_minus = %.17g\nsigma_plus = %.17g\n"
                 "sigma_minus = %.17g\nn_plus = %.17g\nn_minus = %.17g\nlevels = %d\n",
                 cases[c].gp, cases[c].gm, cases[c].sp, cases[c].sm, cases[c].np, cases[c].nm, cases[c].L);
        qs_model *m = load(text);
        solved r = solve(m, 0);
        double p[64], lib[64];
        exact_populations(cases[c].gp, cases[c].gm, cases[c].sp, cases[c].sm, cases[c].np, cases[c].nm, cases[c].L, p);
        qs_osc_populations(qs_model_osc(m, 0), cases[c].L, lib);
        double worst = 0, worst_lib = 0;
        int compared = 0;
        for (int n = 0; n < cases[c].L; n++) {
            worst_lib = check_worse(worst_lib, fabs(lib[n] - p[n]));
            if (r.status != QS_OK) continue;
            worst = check_worse(worst, fabs(qs_state_population(qs_steady_state(r.st), 0, n) - p[n]));
            compared++;
        }
        char name[120];
        snprintf(name, sizeof name, "single oscillator case %zu: max |p_solver(n) - p_exact(n)|", c);
        check_worst(name, worst, compared, cases[c].L, 1e-13);
        snprintf(name, sizeof name, "single oscillator case %zu: max |p_detailed_balance(n) - p_exact(n)|", c);
        check_worst(name, worst_lib, cases[c].L, cases[c].L, 1e-14);
        snprintf(name, sizeof name, "single oscillator case %zu", c);
        check_solution(name, &r);
        qs_steady_free(&r.st);
        qs_model_free(&m);
    }
    /* the discrete Lorentzian of the symmetric case */
    qs_model *m = load("[oscillator x]\nsigma = 0.3\nnbar = 2\nlevels = 12\n");
    double p[12], q[12], sum = 0, worst = 0;
    qs_osc_populations(qs_model_osc(m, 0), 12, p);
    for (int n = 0; n < 12; n++) sum += q[n] = 1.0 / ((n - 2.0) * (n - 2.0) + 0.09);
    for (int n = 0; n < 12; n++) worst = check_worse(worst, fabs(p[n] - q[n] / sum));
    check_worst("discrete Lorentzian p(n) ~ 1/((n-n+)^2+sigma^2)", worst, 12, 12, 1e-15);
    qs_model_free(&m);
}

static void test_two_level(void)
{
    static const char *couplings[] = {"0.01", "0.5", "3", "0.2-0.7i"};
    static const double detunings[] = {0, 0.3, 20, -7};
    double worst = 0;
    int compared = 0;
    for (int c = 0; c < 4; c++)
        for (int d = 0; d < 4; d++) {
            char text[400];
            snprintf(text, sizeof text, "[defaults]\nsigma = 0.2\nnbar = 0.6\nK = 3\nlevels = 2\n[oscillator a]\nomega = %g\n"
                     "[oscillator b]\n[coupling]\na-b = %s\n", detunings[d], couplings[c]);
            qs_model *m = load(text);
            solved r = solve(m, 0);
            if (r.status == QS_OK) {
                worst = check_worse(worst, solved_S(&r, 0, 1));
                compared++;
            }
            qs_steady_free(&r.st);
            qs_model_free(&m);
        }
    check_worst("two-level oscillators: max S over 4 couplings x 4 detunings", worst, compared, 16, 1e-14);
}

static void test_first_order(void)
{
    static const double deltas[] = {-30, -20, -12, -5, 0, 5, 10, 20, 25, 35};
    for (size_t d = 0; d < sizeof deltas / sizeof deltas[0]; d++) {
        char text[400];
        snprintf(text, sizeof text, "[defaults]\nK = 10\nsigma = 0.2\nnbar = 2\nlevels = 8\n[oscillator 1]\nomega = %g\n"
                 "[oscillator 2]\n[coupling]\n1-2 = 0.001\n", deltas[d]);
        qs_model *m = load(text);
        solved r = solve(m, 0);
        double complex c1;
        qs_perturb_pair(m, 0, 1, &c1, NULL);
        char name[120];
        snprintf(name, sizeof name, "first order, V = 1e-3, Delta = %g: S/V", deltas[d]);
        check_close(name, solved_S(&r, 0, 1) / 1e-3, 2 * cabs(c1) / 1e-3, 1e-3, 0);
        if (deltas[d] == 20) check_close("first-order S/V at Delta = 2K, levels 8 (MODEL.md: 1.4488)", 2 * cabs(c1) / 1e-3, 1.4488, 0, 5e-5);
        qs_steady_free(&r.st);
        qs_model_free(&m);
    }
    /* At Delta = 4K the two-quantum exchange is resonant: c_2 ~ V^2 adds to S beyond first
     * order, so the deviation from first order must shrink in proportion to V. */
    double dev[2];
    for (int i = 0; i < 2; i++) {
        double V = i ? 1e-4 : 1e-3;
        char text[400];
        snprintf(text, sizeof text, "[defaults]\nK = 10\nsigma = 0.2\nnbar = 2\nlevels = 8\n[oscillator 1]\nomega = 40\n"
                 "[oscillator 2]\n[coupling]\n1-2 = %g\n", V);
        qs_model *m = load(text);
        solved r = solve(m, 0);
        double complex c1;
        qs_perturb_pair(m, 0, 1, &c1, NULL);
        dev[i] = (solved_S(&r, 0, 1) - 2 * cabs(c1)) / (2 * cabs(c1));
        qs_steady_free(&r.st);
        qs_model_free(&m);
    }
    check_close("Delta = 4K: deviation from first order at V = 1e-4 over that at V = 1e-3", dev[1] / dev[0], 0.1, 0.1, 0);
}

static const char *networks[] = {
    "[defaults]\nK = 10\nsigma = 0.2\nnbar = 2\nlevels = 6\n[oscillator 1]\nomega = 20\n[oscillator 2]\n[coupling]\n1-2 = 0.3\n",
    "[defaults]\nsigma = 0.25\nnbar = 1\nK = 4\nlevels = 4\n[oscillator A]\nomega = 8\ngamma_plus = 1.3\n[oscillator B]\n"
    "sigma_minus = 0.4\nn_minus = 2.3\n[oscillator C]\nomega = -3\nlevels = 3\n[coupling]\nA-B = 0.2+0.1i\nB-C = -0.3i\nA-C = 0.15\n",
};

static void test_sector_vs_full(void)
{
    for (int w = 0; w < 2; w++) {
        qs_model *m = load(networks[w]);
        solved a = solve(m, 0), b = solve(m, 1);
        int n = qs_model_size(m), ok = a.status == QS_OK && b.status == QS_OK, compared = 0;
        double worst = 0, S_min = NAN;
        for (int i = 0; i < n && ok; i++)
            for (int j = i + 1; j < n; j++) {
                double Sa = solved_S(&a, i, j), Sb = solved_S(&b, i, j);
                worst = check_worse(worst, fabs(Sa - Sb) / Sb);
                S_min = compared++ == 0 || isnan(Sb) || Sb < S_min ? Sb : S_min;
            }
        char name[120];
        snprintf(name, sizeof name, "%d oscillators: sector vs full Liouvillian, max relative difference in S", n);
        check_worst(name, worst, compared, n * (n - 1) / 2, 1e-10);
        snprintf(name, sizeof name, "%d oscillators: full path, largest element outside the sector", n);
        check_close(name, ok ? b.stats.off_sector : NAN, 0, 0, 1e-14);
        snprintf(name, sizeof name, "%d oscillators: S is not trivially zero (smallest pair S > 1e-4)", n);
        check_true(name, S_min > 1e-4, NULL);
        snprintf(name, sizeof name, "%d oscillators, sector", n);
        check_solution(name, &a);
        snprintf(name, sizeof name, "%d oscillators, full Liouvillian", n);
        check_solution(name, &b);
        qs_steady_free(&a.st);
        qs_steady_free(&b.st);
        qs_model_free(&m);
    }
}

static void test_frequency_shift(void)
{
    qs_model *m = load(networks[1]), *shifted = load(networks[1]);
    qs_model_set(shifted, "A.omega", "1008", NULL);
    qs_model_set(shifted, "B.omega", "1000", NULL);
    qs_model_set(shifted, "C.omega", "997", NULL);
    solved a = solve(m, 0), b = solve(shifted, 0);
    double worst = 0;
    int compared = 0;
    for (int i = 0; i < 3 && a.status == QS_OK && b.status == QS_OK; i++)
        for (int j = i + 1; j < 3; j++) {
            double Sa = solved_S(&a, i, j), Sb = solved_S(&b, i, j);
            worst = check_worse(worst, fabs(Sa - Sb) / Sa);
            compared++;
        }
    check_worst("common frequency shift by 1000: max relative change in S", worst, compared, 3, 1e-9);
    qs_steady_free(&a.st);
    qs_steady_free(&b.st);
    qs_model_free(&m);
    qs_model_free(&shifted);
}

static void test_positivity(void)
{
    qs_model *m = load(networks[1]);
    solved r = solve(m, 0);
    double worst = 0, lam;    /* the largest negative part, -min(lambda, 0) */
    int compared = 0;
    for (int i = 0; i < 3 && r.status == QS_OK; i++)
        for (int j = i + 1; j < 3; j++)
            if (qs_state_pair_min_eigenvalue(qs_steady_state(r.st), i, j, &lam, NULL) == QS_OK) {
                worst = check_worse(worst, lam < 0 || isnan(lam) ? -lam : 0);
                compared++;
            }
    check_worst("reduced pair states are positive semidefinite: largest -min(eigenvalue, 0)", worst, compared, 3, 1e-13);
    qs_steady_free(&r.st);
    qs_model_free(&m);
}

static void test_phase_max(void)
{
    double complex c[4] = {1, 0.3 * cexp(0.7 * I), 0, 0};
    double S, phi;
    qs_phase_max(1, c, &S, &phi);
    check_close("phase max, one harmonic: S = 2|c1|", S, 0.6, 1e-15, 0);
    check_close("phase max, one harmonic: phi_max = arg c1", phi, 0.7, 0, 1e-12);
    /* three harmonics with two near-equal maxima: compare with a fine brute-force grid + parabola */
    double complex d[4] = {1, 0.1 * cexp(0.2 * I), 0.25 * cexp(-1.1 * I), 0.08 * cexp(2.5 * I)};
    qs_phase_max(3, d, &S, &phi);
    int M = 2000000;
    double best = -1, arg = 0;
    for (int i = 0; i < M; i++) {
        double x = 2 * M_PI * i / M, f = 2 * M_PI * qs_phase_density(3, d, x) - 1;
        if (f > best) { best = f; arg = x; }
    }
    check_close("phase max, three harmonics: S against a 2e6-point grid", S, best, 1e-11, 0);
    check_close("phase max, three harmonics: phi_max against the grid", phi, arg, 0, 1e-5);
    double integral = 0;
    for (int i = 0; i < 1000; i++) integral += qs_phase_density(3, d, 2 * M_PI * i / 1000) * 2 * M_PI / 1000;
    check_close("P(phi) integrates to 1", integral, 1, 1e-14, 0);
}

static void test_auto_levels(void)
{
    qs_model *m = load("[oscillator x]\nsigma = 0.2\nnbar = 2\n");
    int L = 0;
    double tail = NAN;
    qs_error err = {0};
    int st = qs_osc_auto_levels(qs_model_osc(m, 0), 1e-3, QS_AUTO_LEVELS_MAX, &L, &tail, &err);
    check_true("levels = auto: a truncation is chosen (2 <= L <= the maximum)",
               st == QS_OK && L >= 2 && L <= QS_AUTO_LEVELS_MAX, st == QS_OK ? NULL : err.message);
    /* exact tail of the discrete Lorentzian, summed far out with the 1/n remainder */
    double sum = 0, below = 0, below_prev = 0;
    for (long n = 0; n < 20000000; n++) {
        double q = 1.0 / ((n - 2.0) * (n - 2.0) + 0.04);
        sum += q;
        if (n < L) below += q;
        if (n < L - 1) below_prev += q;
    }
    sum += 1.0 / 20000000.0;
    check_close("levels = auto: tail left at the chosen truncation", tail, (sum - below) / sum, 1e-6, 0);
    check_true("levels = auto: tail at L is within the tolerance 1e-3", (sum - below) / sum <= 1e-3, NULL);
    check_true("levels = auto: L is the smallest such truncation", L >= 2 && (sum - below_prev) / sum > 1e-3, NULL);
    qs_model_free(&m);
    m = load("[oscillator x]\nsigma_plus = 0.3\nsigma_minus = 0.2\nnbar = 2\n");
    err = (qs_error){0};
    st = qs_osc_auto_levels(qs_model_osc(m, 0), 1e-3, QS_AUTO_LEVELS_MAX, &L, &tail, &err);
    check_true("levels = auto refuses a non-normalisable chain (sigma+ > sigma-)", st == QS_EINPUT, err.message);
    qs_model_free(&m);
}

/* Permutation symmetry: a ring A-B-A2-B2 of identical A's and B's. With real couplings
 * the group has order 4; with couplings oriented around the ring only the rotation by two
 * survives (a reflection would conjugate them); with one odd coupling none. */
static void test_symmetry(void)
{
    static const struct { const char *couplings; int order; } cases[] = {
        {"A-B = 0.3\nB-A2 = 0.3\nA2-B2 = 0.3\nB2-A = 0.3\n", 4},
        {"A-B = 0.2+0.15i\nB-A2 = 0.2+0.15i\nA2-B2 = 0.2+0.15i\nB2-A = 0.2+0.15i\n", 2},
        {"A-B = 0.3\nB-A2 = 0.3\nA2-B2 = 0.3\nB2-A = 0.25\n", 1},
    };
    for (int c = 0; c < 3; c++) {
        char text[800];
        snprintf(text, sizeof text, "[defaults]\nsigma = 0.25\nnbar = 1\nK = 5\nlevels = 3\n[oscillator A]\n[oscillator B]\nomega = 10\n"
                 "[oscillator A2]\n[oscillator B2]\nomega = 10\n[coupling]\n%s", cases[c].couplings);
        qs_model *m = load(text);
        solved a = solve_with(m, 0, 1), b = solve_with(m, 0, 0);
        char name[160];
        int ok = a.status == QS_OK && b.status == QS_OK, compared = 0;
        snprintf(name, sizeof name, "ring, case %d: order of the symmetry group found", c);
        check_close(name, ok ? a.stats.symmetry_order : NAN, cases[c].order, 0, 0);
        double worst = 0;
        for (int i = 0; i < 4 && ok; i++)
            for (int j = i + 1; j < 4; j++) {
                double Sa = solved_S(&a, i, j), Sb = solved_S(&b, i, j);
                worst = check_worse(worst, fabs(Sa - Sb) / Sb);
                compared++;
            }
        snprintf(name, sizeof name, "ring, case %d: with and without symmetry, max relative difference in S (%zu vs %zu unknowns)",
                 c, a.stats.system_dimension, b.stats.system_dimension);
        check_worst(name, worst, compared, 6, 1e-10);
        snprintf(name, sizeof name, "ring, case %d, symmetry-reduced", c);
        check_solution(name, &a);
        qs_steady_free(&a.st);
        qs_steady_free(&b.st);
        qs_model_free(&m);
    }
}

/* One plan, many values (a sweep): KLU reuses the pivot order; every S must equal that of a
 * fresh plan, and the refactored path must actually be taken. */
static void test_refactor(void)
{
    qs_model *m = load(networks[0]);
    qs_steady_options o;
    qs_steady_defaults(&o);
    o.top_tol = 1.0;
    o.memory_limit = memory_limit;
    qs_steady *plan = NULL;
    qs_error err = {0};
    int status = qs_steady_create(m, &o, &plan, &err), refactored = 0, solves = 0, compared = 0;
    double worst = 0, worst_res = 0;
    static const char *V[] = {"0.3", "0.01", "1.5", "0.2-0.6i", "3", "0.05"};
    static const char *W[] = {"20", "0", "7", "-20", "40", "20.5"};
    for (int i = 0; i < 6 && status >= 0; i++) {
        qs_model_set(m, "1-2", V[i], NULL);
        qs_model_set(m, "1.omega", W[i], NULL);
        status = qs_steady_solve(plan, m, &err);
        if (status < 0) break;
        qs_steady_stats st;
        qs_steady_get_stats(plan, &st);
        refactored += st.refactored;
        worst_res = check_worse(worst_res, st.residual);
        solves++;
        solved fresh = solve(m, 0);
        if (fresh.status == QS_OK) {
            double a = pair_S(qs_steady_state(plan), 0, 1, NULL), b = solved_S(&fresh, 0, 1);
            worst = check_worse(worst, fabs(a - b) / b);
            compared++;
        }
        qs_steady_free(&fresh.st);
    }
    check_true("one plan, six parameter sets: every solve succeeds", status >= 0 && solves == 6, status < 0 ? err.message : NULL);
    check_worst("one plan, six parameter sets: max relative difference in S from fresh plans", worst, compared, 6, 1e-10);
    check_worst("one plan, six parameter sets: worst relative residual", worst_res, solves, 6, 1e-13);
    check_true("one plan, six parameter sets: the pivot order was reused at least once", refactored >= 1, NULL);
    qs_steady_free(&plan);
    qs_model_free(&m);
}

/* A plan's later solves by GMRES preconditioned by an earlier point's UMFPACK factorisation
 * (steady.c, solve_reused): Fig. 4 at 6 levels along V2, where it holds, then a jump in the
 * detuning, where it cannot; every solve against a fresh plan, and reuse_lu = 0 factorising
 * every solve (the same bits as a fresh plan). */
static void test_reuse(void)
{
    static const char fig4[] = "[defaults]\nsigma = 0.2\nK = 10\nnbar = 1\nlevels = 6\n[oscillator A]\n[oscillator B]\n"
                               "[oscillator C]\nomega = 20\n[coupling]\nA-C = 0.25\nB-C = 0.25\nA-B = 0\n";
    static const char *V2[] = {"0", "0.0125", "0.025", "0.0375", "0.05", "0.05", "0.0625"};
    static const char *W[] = {"20", "20", "20", "20", "20", "24", "28"};
    for (int reuse = 1; reuse >= 0; reuse--) {
        qs_model *m = load(fig4);
        qs_steady_options o;
        qs_steady_defaults(&o);
        o.solver = QS_SOLVER_DIRECT;
        o.lu = QS_LU_UMFPACK;
        o.reuse_lu = reuse;
        o.memory_limit = memory_limit;
        qs_steady *plan = NULL;
        qs_error err = {0};
        int status = qs_steady_create(m, &o, &plan, &err), solves = 0, compared = 0, reused = 0, jump_reused = 0, identical = 1;
        double worst = 0, worst_res = 0;
        for (int i = 0; i < 7 && status >= 0; i++) {
            qs_model_set(m, "A-B", V2[i], NULL);
            qs_model_set(m, "C.omega", W[i], NULL);
            status = qs_steady_solve(plan, m, &err);
            if (status < 0) break;
            qs_steady_stats st;
            qs_steady_get_stats(plan, &st);
            if (i < 5) reused += st.lu_reuse_iterations > 0;
            else jump_reused += st.lu_reuse_iterations > 0;
            worst_res = check_worse(worst_res, st.residual);
            solves++;
            solved fresh = solve(m, 0);
            if (fresh.status == QS_OK) {
                for (int a = 0; a < 3; a++)
                    for (int b = a + 1; b < 3; b++) {
                        double x = pair_S(qs_steady_state(plan), a, b, NULL), y = solved_S(&fresh, a, b);
                        worst = check_worse(worst, fabs(x - y));
                        identical &= x == y;
                        compared++;
                    }
            }
            qs_steady_free(&fresh.st);
        }
        char name[200];
        snprintf(name, sizeof name, "reuse_lu = %d, Fig. 4 at 6 levels, V2 in steps of 0.0125 then the detuning: every solve succeeds",
                 reuse);
        check_true(name, status >= 0 && solves == 7, status < 0 ? err.message : NULL);
        snprintf(name, sizeof name, "reuse_lu = %d: max |S - S of a fresh plan| over the pairs", reuse);
        check_worst(name, worst, compared, 21, reuse ? 1e-10 : 0.0);
        snprintf(name, sizeof name, "reuse_lu = %d: worst relative residual", reuse);
        check_worst(name, worst_res, solves, 7, 1e-13);
        if (reuse) {
            check_true("reuse_lu = 1: along V2 at least three of the four later solves by the first point's factorisation",
                       reused >= 3, NULL);
            check_true("reuse_lu = 1: after detuning jumps of 4 (the coherences' frequencies move past the damping) no solve "
                       "by an earlier factorisation", jump_reused == 0, NULL);
        } else {
            check_true("reuse_lu = 0: no solve by an earlier factorisation, and S bit for bit a fresh plan's",
                       reused == 0 && jump_reused == 0 && identical, NULL);
        }
        qs_steady_free(&plan);
        qs_model_free(&m);
    }
}

/* auto along V2 on Fig. 4 at 7 levels (the truncation check of Fig. 4c): a solve that ran L0^#'s
 * cycle and ended on the block preconditioner makes the plan's next solve start on the blocks,
 * with fewer iterations than L0^#'s cycle and the same S as the LU, one solve in a row
 * (QS_AUTO_BLOCKS_RUN): the one after runs L0^#'s cycle first again. qs_steady_reset after such a
 * solve returns the plan to L0^# first, as a new plan; without symmetry (A-C != B-C) likewise,
 * where the plan's GMRES itself stays on the blocks until the reset. */
static void test_blocks_first(void)
{
    static const char fig4[] = "[defaults]\nsigma = 0.2\nK = 10\nnbar = 1\nlevels = 7\n[oscillator A]\n[oscillator B]\n"
                               "[oscillator C]\nomega = 20\n[coupling]\nA-C = 0.5\nB-C = 0.5\nA-B = 0\n";
    static const char *V2[] = {"0", "0.0125", "0.025", "0.0375", "0.05"};
    for (int sym = 1; sym >= 0; sym--) {
        qs_model *m = load(fig4);
        if (!sym) qs_model_set(m, "A-C", "0.45", NULL);
        qs_steady_options o;
        qs_steady_defaults(&o);
        o.memory_limit = memory_limit;
        qs_steady *plan = NULL;
        qs_error err = {0};
        int status = qs_steady_create(m, &o, &plan, &err), solves = 0, compared = 0, pattern = 1;
        double worst = 0;
        /* with symmetry: L0^# first at solves 0, 2 (after one started on the blocks) and 3 (after the
         * reset), on the blocks from the start at 1 and 4; without: L0^# first at 0 and 3 */
        static const int l0_first[2][5] = {{1, 0, 0, 1, 0}, {1, 0, 1, 1, 0}};
        for (int i = 0; i < 5 && status >= 0; i++) {
            if (i == 3) qs_steady_reset(plan);      /* a sweep's next block */
            qs_model_set(m, "A-B", V2[i], NULL);
            status = qs_steady_solve(plan, m, &err);
            if (status < 0) break;
            qs_steady_stats st;
            qs_steady_get_stats(plan, &st);
            int ran_l0 = st.iterations > o.restart;  /* L0^#'s whole cycle, then the blocks */
            pattern &= st.preconditioner == QS_PRECOND_BLOCK && ran_l0 == l0_first[sym][i] &&
                       (!sym || (strstr(st.solver_reason, "from the start") != NULL) == !l0_first[sym][i]);
            solves++;
            solved lu = solve(m, 0);
            for (int a = 0; a < 3 && lu.status == QS_OK; a++)
                for (int b = a + 1; b < 3; b++) {
                    worst = check_worse(worst, fabs(pair_S(qs_steady_state(plan), a, b, NULL) - solved_S(&lu, a, b)));
                    compared++;
                }
            qs_steady_free(&lu.st);
        }
        char name[300];
        snprintf(name, sizeof name, "auto, Fig. 4 at 7 levels along V2 (%s): every solve succeeds", sym ? "A-B symmetric" : "no symmetry");
        check_true(name, status >= 0 && solves == 5, status < 0 ? err.message : NULL);
        snprintf(name, sizeof name, "auto (%s): every solve ends on the blocks, %s", sym ? "A-B symmetric" : "no symmetry",
                 sym ? "L0^#'s cycle first at solves 0, 2 and 3 (after the reset), from the start at 1 and 4"
                     : "L0^#'s cycle first at solve 0 and after the reset (3) only");
        check_true(name, pattern, NULL);
        /* GMRES to a relative residual of 1e-12 at V1 = 0.5 against the LU (residual 1e-18): with the
         * symmetry at most 4.4e-9 measured, without it 2.4e-8 on the first solve from the uncoupled
         * state (L0^#, then the blocks: the path of every auto solve before the memory), at most
         * 3.4e-9 on the later ones */
        snprintf(name, sizeof name, "auto along V2 (%s): max |S - S of the LU| over the pairs", sym ? "A-B symmetric" : "no symmetry");
        check_worst(name, worst, compared, 15, sym ? 1e-8 : 1e-7);
        qs_steady_free(&plan);
        qs_model_free(&m);
    }
}

static void test_memory_refusal(void)
{
    qs_model *m = load(networks[1]);
    qs_steady_options o;
    qs_steady_defaults(&o);
    o.memory_limit = 1e5;
    qs_steady *st = NULL;
    qs_error err = {0};
    int status = qs_steady_create(m, &o, &st, &err);
    check_true("memory limit 100 kB: the plan is refused with QS_ETOOBIG", status == QS_ETOOBIG && st == NULL, err.message);
    qs_steady_free(&st);
    qs_model_free(&m);
}

static void test_numbers(void)
{
    static const struct { const char *text; double re, im; } ok[] = {
        {"0.1", 0.1, 0}, {"-0.1i", 0, -0.1}, {"0.1+0.05i", 0.1, 0.05}, {" 1e-3-2e-3i ", 1e-3, -2e-3}, {"i", 0, 1}, {"2-i", 2, -1}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double complex z = NAN;
        int st = qs_parse_complex(ok[i].text, &z);
        char name[80];
        snprintf(name, sizeof name, "complex number '%s'", ok[i].text);
        check_true(name, st == QS_OK && creal(z) == ok[i].re && cimag(z) == ok[i].im, NULL);
    }
    static const char *bad[] = {"", "nan", "inf", "1+", "0.1+0.2", "1e400", "0.1 0.2", "abc", "1i+2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double complex z;
        char name[80];
        snprintf(name, sizeof name, "complex number '%s' is rejected", bad[i]);
        check_true(name, qs_parse_complex(bad[i], &z) == QS_EINPUT, NULL);
    }
}

/* The observables table: uncoupled oscillators (exact limits and exact populations), the
 * layout of qs_state_observe, S the same bits as qs_state_sync, and the reduced and full
 * states consistent with one another. */
static void test_observables(void)
{
    int k = qs_observable_count(), all = k, which[32], worst_idx = 0;
    for (int i = 0; i < k; i++) worst_idx |= qs_observable_find(qs_observable_get(i)->name) != i;
    /* the observables of the state alone (the dynamical ones, of the model's Liouvillian, below) */
    int dyn = -1;
    k = 0;
    for (int i = 0; i < all; i++) {
        if (!qs_observable_get(i)->needs_model) which[k++] = i;
        else if (dyn < 0) dyn = i;
    }
    check_true("observables: every name of the table is found at its index; 12 of the state, dynamical ones too",
               !worst_idx && k == 12 && dyn >= 0, NULL);
    check_true("observables: an unknown name is -1, an index outside the table NULL",
               qs_observable_find("nope") == -1 && qs_observable_get(all) == NULL && qs_observable_get(-1) == NULL, NULL);
    /* two unequal uncoupled oscillators, and a third coupled to neither */
    qs_model *m = load("[defaults]\nK = 2\n[oscillator a]\nsigma = 0.3\nnbar = 1.5\nlevels = 5\nomega = 1\n"
                       "[oscillator b]\nsigma = 0.6\nnbar = 2.2\nlevels = 7\n[oscillator c]\nsigma = 0.4\nnbar = 1\nlevels = 3\n");
    solved r = solve(m, 0);
    int levels[3] = {5, 7, 3}, sq = qs_observable_find("S"), one[1] = {sq};
    size_t width = qs_observe_width(3, levels, k, which);
    check_true("observables: width = 3 x 2 oscillator values + 15 populations + 9 pair observables x 3 pairs",
               width == 6 + 15 + 27 && qs_observe_width(3, levels, 1, one) == 3, NULL);
    double v[64] = {0};
    qs_error err;
    int bad[1] = {all}, dynamical[1] = {dyn};
    check_true("observables: an index outside the table is bad input", r.status != QS_OK ||
               qs_state_observe(qs_steady_state(r.st), 1, bad, v, &err) == QS_EINPUT, NULL);
    check_true("observables: a dynamical observable is refused by qs_state_observe (the model is needed)", r.status == QS_OK &&
               qs_state_observe(qs_steady_state(r.st), 1, dynamical, v, &err) == QS_EINPUT, NULL);
    if (r.status == QS_OK) {          /* qs_observe: every observable; the state's with qs_state_observe's bits */
        int every[32];
        for (int i = 0; i < all; i++) every[i] = i;
        size_t w_all = qs_observe_width(3, levels, all, every), w_state = qs_observe_width(3, levels, k, which);
        double *va = calloc(w_all, sizeof *va), *vs = calloc(w_state, sizeof *vs);
        int ok = va && vs && qs_observe(m, qs_steady_state(r.st), all, every, va, &err) == QS_OK &&
                 qs_state_observe(qs_steady_state(r.st), k, which, vs, &err) == QS_OK;
        size_t at_all = 0, at_state = 0;
        for (int i = 0; ok && i < all; i++) {
            size_t w = qs_observe_width(3, levels, 1, &every[i]);
            if (!qs_observable_get(i)->needs_model) {
                ok = memcmp(va + at_all, vs + at_state, w * sizeof *va) == 0;
                at_state += w;
            } else {
                for (size_t e = 0; e < w; e++) ok = ok && isfinite(va[at_all + e]);
            }
            at_all += w;
        }
        check_true("observables: qs_observe gives every observable, finite, the state's with the bits of qs_state_observe", ok,
                   ok ? NULL : err.message);
        free(va);
        free(vs);
    }
    if (r.status == QS_OK && qs_state_observe(qs_steady_state(r.st), k, which, v, &err) == QS_OK) {
        const qs_state *s = qs_steady_state(r.st);
        double worst_zero = 0, worst_pop = 0, worst_mean = 0;
        int at = 0, compared = 0, npop = 0;
        for (int i = 0; i < k; i++) {
            const qs_observable *o = qs_observable_get(which[i]);
            if (o->kind == QS_OBS_OSCILLATOR) {
                for (int j = 0; j < 3; j++) {
                    double p[16], mean = 0, var = 0;
                    qs_osc_populations(qs_model_osc(m, j), levels[j], p);
                    for (int n = 0; n < levels[j]; n++) mean += n * p[n];
                    for (int n = 0; n < levels[j]; n++) var += (n - mean) * (n - mean) * p[n];
                    if (o->per_level) {
                        for (int n = 0; n < levels[j]; n++, npop++) worst_pop = check_worse(worst_pop, fabs(v[at++] - p[n]));
                    } else {
                        worst_mean = check_worse(worst_mean, fabs(v[at++] - (strcmp(o->name, "mean_n") == 0 ? mean : var)));
                        compared++;
                    }
                }
            } else {
                for (int q = 0; q < 3; q++, at++)
                    if (!o->angle) worst_zero = check_worse(worst_zero, fabs(v[at]));
            }
        }
        check_worst("observables, uncoupled: populations = the exact uncoupled ones", worst_pop, npop, 15, 1e-13);
        check_worst("observables, uncoupled: mean_n and var_n from the exact populations", worst_mean, compared, 6, 1e-12);
        check_true("observables: values written = width", (size_t)at == width, NULL);
        check_close("observables, uncoupled: S, S_Q, correlation, negativity, log_negativity, mutual_information all 0 (largest |value|)",
                    worst_zero, 0, 0, 1e-12);
        double S[3], phi[3];
        qs_state_sync(s, S, phi, NULL);
        int at_S = (int)qs_observe_width(3, levels, sq, which), same = memcmp(&S[0], &v[at_S], sizeof S) == 0;
        check_true("observables: S of qs_state_observe has the bits of qs_state_sync", same, NULL);
        /* reduced and full states agree with one another and with the populations */
        size_t D = qs_state_dimension(s);
        double complex *full = malloc(D * D * sizeof *full), rab[35 * 35], ra[7 * 7];
        double worst_red = NAN;
        if (full && qs_state_dense(s, full, NULL) == QS_OK && qs_state_reduced_pair(s, 1, 2, rab, NULL) == QS_OK &&
            qs_state_reduced_oscillator(s, 1, ra, NULL) == QS_OK && D == 105) {
            worst_red = 0;
            for (int nb = 0; nb < 7; nb++)            /* ρ_bc from ρ (a traced out), ρ_b from ρ_bc */
                for (int nc = 0; nc < 3; nc++)
                    for (int mb = 0; mb < 7; mb++)
                        for (int mc = 0; mc < 3; mc++) {
                            double complex t = 0;
                            for (int na = 0; na < 5; na++) t += full[(size_t)(na * 21 + nb * 3 + nc) * D + (size_t)(na * 21 + mb * 3 + mc)];
                            worst_red = check_worse(worst_red, cabs(t - rab[(nb * 3 + nc) * 21 + mb * 3 + mc]));
                        }
            for (int nb = 0; nb < 7; nb++)
                for (int mb = 0; mb < 7; mb++) {
                    double complex t = 0;
                    for (int nc = 0; nc < 3; nc++) t += rab[(nb * 3 + nc) * 21 + mb * 3 + nc];
                    worst_red = check_worse(worst_red, cabs(t - ra[nb * 7 + mb]));
                }
            for (int n = 0; n < 7; n++) worst_red = check_worse(worst_red, fabs(creal(ra[n * 8]) - v[6 + 5 + n]));
        }
        check_close("observables: partial traces of the full state = the reduced pair and oscillator states = populations",
                    worst_red, 0, 0, 1e-15);
        free(full);
    } else {
        check_true("observables of the uncoupled network", 0, r.status == QS_OK ? err.message : "solve failed");
    }
    qs_steady_free(&r.st);
    qs_model_free(&m);
}

/* qs_analysis_run gives the numbers of a plain solve and qs_state_observe, bit for bit. */
static void test_analysis(void)
{
    qs_model *m = load("[defaults]\nK = 3\nsigma = 0.3\nnbar = 2\nlevels = 6\n[oscillator a]\nomega = 6\n"
                       "[oscillator b]\n[oscillator c]\nomega = -2\n[coupling]\na-b = 0.3\nb-c = 0.2-0.1i\n");
    qs_analysis_options o;
    qs_analysis_defaults(&o);
    o.steady.top_tol = 1.0;
    o.steady.memory_limit = memory_limit;
    o.steady.solver = QS_SOLVER_DIRECT;     /* as solve(): the same path, so the same bits */
    qs_analysis *an = NULL;
    qs_error err;
    int st = qs_analysis_run(m, &o, &an, &err);
    solved r = solve(m, 0);
    int k = qs_observable_count(), which[32], levels[3] = {6, 6, 6};
    int state_which[32], ks = 0;
    for (int i = 0; i < k; i++) which[i] = i;
    for (int i = 0; i < k; i++)
        if (!qs_observable_get(i)->needs_model) state_which[ks++] = i;
    size_t width = qs_observe_width(3, levels, k, which), count = 0;
    double v[256];
    int same = 0;
    if (check_setup("analysis runs", st >= 0, st < 0 ? err.message : NULL) && r.status == QS_OK &&
        qs_state_observe(qs_steady_state(r.st), ks, state_which, v, &err) == QS_OK) {
        const double *a = qs_analysis_values(an, &count);
        size_t nS, at = 0, at_state = 0;
        const double *S = qs_analysis_observable(an, "S", &nS);
        same = count == width;
        for (int i = 0; same && i < k; i++) {      /* the dynamical ones are not asked: NaN */
            size_t w = qs_observe_width(3, levels, 1, &which[i]);
            if (qs_observable_get(i)->needs_model) {
                for (size_t e = 0; e < w; e++) same = same && isnan(a[at + e]);
            } else {
                same = memcmp(a + at, v + at_state, w * sizeof *v) == 0;
                at_state += w;
            }
            at += w;
        }
        same = same && nS == 3 &&
               S == a + qs_observe_width(3, levels, qs_observable_find("S"), which) && qs_analysis_truncation(an) != NULL &&
               qs_analysis_observable(an, "nope", &nS) == NULL && nS == 0;
    }
    check_true("analysis: every observable of the state bit-identical to a plain solve's qs_state_observe, the dynamical ones (not asked) NaN; lookup by name", same, NULL);
    qs_analysis_free(&an);
    check_true("analysis: handle freed and cleared", an == NULL, NULL);
    qs_steady_free(&r.st);
    qs_model_free(&m);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--memory-limit") == 0) memory_limit = atof(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: test_physics [--memory-limit BYTES]\n");
        return 2;
    }
    test_numbers();
    test_phase_max();
    test_observables();
    test_analysis();
    test_single_oscillator();
    test_two_level();
    test_first_order();
    test_sector_vs_full();
    test_frequency_shift();
    test_positivity();
    test_auto_levels();
    test_symmetry();
    test_refactor();
    test_reuse();
    test_blocks_first();
    test_memory_refusal();
    return check_summary();
}
