/* cmd_extra.c — `qsync resonances` (Eq. 7) and `qsync implement` (the paper's mapping from
 * circuit or ion parameters to model parameters). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* "A:B" into *lo <= *hi, both finite and within [-bound, bound]; a message naming the flag and 0 otherwise */
static int range_arg(const char *flag, const char *text, double bound, double *lo, double *hi)
{
    char buf[128];
    if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf) { fprintf(stderr, "qsync: %s: '%.40s...' is too long for A:B\n", flag, text); return 0; }
    char *colon = strchr(buf, ':');
    if (!colon) { fprintf(stderr, "qsync: %s: expected A:B, not '%s'\n", flag, text); return 0; }
    *colon = '\0';
    if (!cli_real(flag, buf, lo) || !cli_real(flag, colon + 1, hi)) return 0;
    if (*hi < *lo) { double t = *lo; *lo = *hi; *hi = t; }
    if (!(*lo >= -bound && *hi <= bound)) { fprintf(stderr, "qsync: %s: '%s': both ends must lie within +-%g\n", flag, text, bound); return 0; }
    return 1;
}

static const char resonances_usage[] =
    "usage: qsync resonances --K K [--delta-n A:B] [--delta A:B] [--json]\n"
    "Eq. 7: exchanging one quantum between oscillators 1 and 2 is resonant on the lines\n"
    "  Delta + 2 K dn + 2 K = 0  and  Delta + 2 K dn - 2 K = 0,\n"
    "with Delta = omega1 - omega2 and dn = nbar2 - nbar1. Prints both lines and, for every\n"
    "integer dn in the range (default -3:3; at most 10^6 integers within +-10^6), the resonant\n"
    "detunings inside --delta (if given). |K| is at most 10^100.\n";

int cmd_resonances(int argc, char **argv)
{
    double K = NAN, dn_lo = -3, dn_hi = 3, d_lo = -INFINITY, d_hi = INFINITY;
    int as_json = 0;
    const char *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_take(argc, argv, &i, "--K", 1, &v)) != 0) {
            if (r < 0 || !cli_real("--K", v, &K)) return EXIT_INPUT;
            if (!(fabs(K) <= 1e100)) { fprintf(stderr, "qsync: --K: '%s' is beyond +-1e100\n", v); return EXIT_INPUT; }
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--delta-n", 1, &v)) != 0) { if (r < 0 || !range_arg("--delta-n", v, 1e6, &dn_lo, &dn_hi)) return EXIT_INPUT; continue; }
        if ((r = cli_take(argc, argv, &i, "--delta", 1, &v)) != 0) { if (r < 0 || !range_arg("--delta", v, HUGE_VAL, &d_lo, &d_hi)) return EXIT_INPUT; continue; }
        if (cli_take(argc, argv, &i, "--json", 0, &v) > 0) { as_json = 1; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(resonances_usage, stdout); return EXIT_OK; }
        fprintf(stderr, "qsync resonances: unexpected argument %s\n%s", argv[i], resonances_usage);
        return EXIT_INPUT;
    }
    if (isnan(K)) { fprintf(stderr, "qsync resonances: --K is required\n%s", resonances_usage); return EXIT_INPUT; }
    if (dn_hi - dn_lo > 1e6) { fprintf(stderr, "qsync: --delta-n: the range holds more than 10^6 integers\n"); return EXIT_INPUT; }
    json j;
    if (as_json) {
        json_begin(&j, stdout);
        json_object(&j, NULL);
        json_num(&j, "K", K);
        json_array(&j, "lines");
        for (int sgn = 1; sgn >= -1; sgn -= 2) {
            json_object(&j, NULL);
            json_str(&j, "equation", sgn > 0 ? "Delta = -2K(dn + 1)" : "Delta = -2K(dn - 1)");
            json_num(&j, "slope", -2 * K);
            json_num(&j, "intercept", -2 * K * sgn);
            json_end(&j);
        }
        json_end(&j);
        json_array(&j, "points");
    } else {
        printf("Eq. 7 with K = %g (Delta = omega1 - omega2, dn = nbar2 - nbar1):\n"
               "  Delta = -2K(dn + 1) = %g dn %+g\n  Delta = -2K(dn - 1) = %g dn %+g\n\n%8s  %s\n",
               K, -2 * K, -2 * K, -2 * K, 2 * K, "dn", "resonant Delta");
    }
    for (long dn = (long)ceil(dn_lo); dn <= (long)floor(dn_hi); dn++) {
        double d[2] = {-2 * K * (dn + 1) + 0.0, -2 * K * (dn - 1) + 0.0};   /* + 0.0: no "-0" */
        if (!as_json) printf("%8ld ", dn);
        for (int k = 0; k < 2; k++) {
            if (d[k] < d_lo || d[k] > d_hi) continue;
            if (as_json) {
                json_object(&j, NULL);
                json_int(&j, "dn", dn);
                json_num(&j, "Delta", d[k]);
                json_end(&j);
            } else {
                printf(" %g", d[k]);
            }
        }
        if (!as_json) putchar('\n');
    }
    if (as_json) { json_end(&j); json_end(&j); }
    return EXIT_OK;
}

static const char implement_usage[] =
    "usage: qsync implement --g G --kappa KAPPA --K K --delta-plus D --delta-minus D --omega0 W [--json]\n"
    "The paper's implementation (cavity-assisted amplification and damping, adiabatic elimination):\n"
    "  gamma = 4 g^2 / kappa,  sigma = kappa / (8 K),  n_plus = (delta_plus - omega0) / (2K),\n"
    "  n_minus = -(delta_minus - omega0) / (2K).\n"
    "Valid for g << kappa; Fock-state stabilisation needs K / kappa >~ 1. Warns when either fails.\n";

int cmd_implement(int argc, char **argv)
{
    static const char *names[] = {"--g", "--kappa", "--K", "--delta-plus", "--delta-minus", "--omega0"};
    double x[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    int as_json = 0;
    const char *v;
    for (int i = 0; i < argc; i++) {
        int r = 0, k;
        for (k = 0; k < 6; k++)
            if ((r = cli_take(argc, argv, &i, names[k], 1, &v)) != 0) break;
        if (k < 6) { if (r < 0 || !cli_real(names[k], v, &x[k])) return EXIT_INPUT; continue; }
        if (cli_take(argc, argv, &i, "--json", 0, &v) > 0) { as_json = 1; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(implement_usage, stdout); return EXIT_OK; }
        fprintf(stderr, "qsync implement: unexpected argument %s\n%s", argv[i], implement_usage);
        return EXIT_INPUT;
    }
    for (int k = 0; k < 6; k++)
        if (isnan(x[k])) { fprintf(stderr, "qsync implement: %s is required\n%s", names[k], implement_usage); return EXIT_INPUT; }
    double g = x[0], kappa = x[1], K = x[2];
    if (!(kappa > 0) || !(K > 0) || !(g > 0)) { fprintf(stderr, "qsync implement: --g, --kappa and --K must be > 0\n"); return EXIT_INPUT; }
    double gamma = 4 * g * g / kappa, sigma = kappa / (8 * K);
    double n_plus = (x[3] - x[5]) / (2 * K), n_minus = -(x[4] - x[5]) / (2 * K);
    /* every result a finite, nonzero model parameter where the model needs one */
    const char *bad = !(isfinite(gamma) && gamma > 0) ? "--g, --kappa: gamma = 4 g^2 / kappa"
                    : !(isfinite(sigma) && sigma > 0) ? "--kappa, --K: sigma = kappa / (8 K)"
                    : !isfinite(n_plus) ? "--delta-plus, --omega0, --K: n_plus = (delta_plus - omega0) / (2K)"
                    : !isfinite(n_minus) ? "--delta-minus, --omega0, --K: n_minus = -(delta_minus - omega0) / (2K)" : NULL;
    if (bad) { fprintf(stderr, "qsync: %s is not a finite positive number for these values\n", bad); return EXIT_INPUT; }
    int weak = g / kappa <= 0.1, anharmonic = K / kappa >= 1;
    if (!weak) fprintf(stderr, "qsync: warning: g/kappa = %.3g is not << 1: the adiabatic elimination behind these formulas does not hold\n", g / kappa);
    if (!anharmonic) fprintf(stderr, "qsync: warning: K/kappa = %.3g < 1: sigma = %.3g is too broad to stabilise a Fock state\n", K / kappa, sigma);
    if (as_json) {
        json j;
        json_begin(&j, stdout);
        json_object(&j, NULL);
        json_num(&j, "gamma", gamma);
        json_num(&j, "sigma", sigma);
        json_num(&j, "n_plus", n_plus);
        json_num(&j, "n_minus", n_minus);
        json_num(&j, "K", K);
        json_num(&j, "g_over_kappa", g / kappa);
        json_num(&j, "K_over_kappa", K / kappa);
        json_bool(&j, "g_much_less_than_kappa", weak);
        json_bool(&j, "K_over_kappa_at_least_1", anharmonic);
        json_end(&j);
    } else {
        printf("# model parameters (paste into a model file)\ngamma = %.10g\nsigma = %.10g\nn_plus = %.10g\nn_minus = %.10g\nK = %.10g\n"
               "# g/kappa = %.3g (needs << 1), K/kappa = %.3g (needs >~ 1)\n",
               gamma, sigma, n_plus, n_minus, K, g / kappa, K / kappa);
    }
    return EXIT_OK;
}
