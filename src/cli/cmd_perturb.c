/* cmd_perturb.c — `qsync perturb MODEL`: first-order S of every pair (MODEL.md §1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char usage[] =
    "usage: qsync perturb MODEL [--json] [--set PATH=VALUE]... [--levels N|auto]\n"
    "First order in the coupling: S = 2|c_1| and phi_max = arg c_1 for every pair, each pair\n"
    "with its own coupling C_ab only (pairwise for networks).\n";

int cmd_perturb(int argc, char **argv)
{
    model_args ma = {0};
    ma.tail_tol = QS_TAIL_TOL_DEFAULT;
    int as_json = 0;
    const char *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = model_args_take(&ma, argc, argv, &i)) != 0) { if (r < 0) { model_args_free(&ma); return EXIT_INPUT; } continue; }
        if (cli_take(argc, argv, &i, "--json", 0, &v) > 0) { as_json = 1; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(usage, stdout); model_args_free(&ma); return EXIT_OK; }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "qsync perturb: unknown option %s\n%s", argv[i], usage);
            model_args_free(&ma);
            return EXIT_INPUT;
        }
        if (ma.model_path) { fprintf(stderr, "qsync perturb: more than one model file (%s, %s)\n", ma.model_path, argv[i]); model_args_free(&ma); return EXIT_INPUT; }
        ma.model_path = argv[i];
    }
    if (!ma.model_path) { fprintf(stderr, "qsync perturb: no model file\n%s", usage); model_args_free(&ma); return EXIT_INPUT; }
    qs_model *m = NULL;
    int rc = model_args_load(&ma, 1, &m, as_json ? NULL : stderr, NULL);
    model_args_free(&ma);
    if (rc != EXIT_OK) return rc;
    int n = qs_model_size(m);
    json j;
    if (as_json) {
        json_begin(&j, stdout);
        json_object(&j, NULL);
        json_str(&j, "model", qs_model_source(m));
        json_str(&j, "order", "first");
        json_array(&j, "pairs");
    } else {
        printf("%s: first order in the coupling\n\n%-16s %-22s %s\n", qs_model_source(m), "pair", "S", "phi_max");
    }
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            double complex c1;
            qs_error err;
            int st = qs_perturb_pair(m, a, b, &c1, &err);
            if (st != QS_OK) { int rc2 = cli_fail(st, "%s: %s", qs_model_source(m), err.message); qs_model_free(&m); return rc2; }
            double S = 2 * cabs(c1), phi = qs_phase_wrap(carg(c1), 12);
            if (as_json) {
                json_object(&j, NULL);
                json_str(&j, "a", qs_model_name(m, a));
                json_str(&j, "b", qs_model_name(m, b));
                json_num(&j, "S", S);
                json_num(&j, "phi_max", phi);
                json_num(&j, "c1_re", creal(c1));
                json_num(&j, "c1_im", cimag(c1));
                json_end(&j);
            } else {
                char name[2 * QS_NAME_MAX + 2];
                snprintf(name, sizeof name, "%s-%s", qs_model_name(m, a), qs_model_name(m, b));
                printf("%-16s %-22.15e %.6f\n", name, S, phi);
            }
        }
    if (as_json) {
        json_end(&j);
        json_end(&j);
    }
    qs_model_free(&m);
    return EXIT_OK;   /* main checks that standard output was written */
}
