/* cmd_classical.c — `qsync classical MODEL`: the Langevin model (Eq. 5) by Monte Carlo. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char usage[] =
    "usage: qsync classical MODEL [options]\n"
    "  --cutoff X          |alpha|^2 beyond which a trajectory has escaped (default 8)\n"
    "  --seed N            random seed (default 1); results are bit-identical for any --threads\n"
    "  --dt X              time step (default 0.02)\n"
    "  --burn-in T         time before sampling (default 50)\n"
    "  --time T            sampling time after the burn-in (default 200)\n"
    "  --sample-every T    time between samples (default 0.5)\n"
    "  --trajectories N    default 2048\n"
    "  --replicas N        independent groups for the error bars (default 16)\n"
    "  --threads N         default: all cores\n"
    "  --set PATH=VALUE    override a parameter (noise, gamma_T, couplings, ...)\n"
    "  --histogram B:X     histogram of |alpha|^2 per oscillator, B bins on [0, X) (JSON)\n"
    "  --json              one JSON object on stdout\n";

int cmd_classical(int argc, char **argv)
{
    model_args ma = {0};
    ma.tail_tol = QS_TAIL_TOL_DEFAULT;
    qs_classical_options o;
    qs_classical_defaults(&o);
    int as_json = 0;
    const char *v;
    for (int i = 0; i < argc; i++) {
        int r = 0;
        if ((r = model_args_take(&ma, argc, argv, &i)) != 0) { if (r < 0) goto bad; continue; }
        if (cli_take(argc, argv, &i, "--json", 0, &v) > 0) { as_json = 1; continue; }
        if ((r = cli_take(argc, argv, &i, "--histogram", 1, &v)) != 0) {
            char *colon, *end;
            long bins = r < 0 ? 0 : strtol(v, &colon, 10);
            if (r < 0 || *colon != ':' || bins < 1 || bins > 100000 || qs_parse_real(colon + 1, &o.hist_max) != QS_OK || !(o.hist_max > 0)) {
                fprintf(stderr, "qsync classical: --histogram needs BINS:MAX, e.g. 40:8\n");
                goto bad;
            }
            (void)end;
            o.hist_bins = (int)bins;
            continue;
        }
        if ((r = classical_options_take(&o, argc, argv, &i)) != 0) { if (r < 0) goto bad; continue; }
        if ((r = threads_take(argc, argv, &i, &o.threads)) != 0) { if (r < 0) goto bad; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(usage, stdout); model_args_free(&ma); return EXIT_OK; }
        if (argv[i][0] == '-' && argv[i][1] != '\0') { fprintf(stderr, "qsync classical: unknown option %s\n%s", argv[i], usage); goto bad; }
        if (ma.model_path) { fprintf(stderr, "qsync classical: more than one model file (%s, %s)\n", ma.model_path, argv[i]); goto bad; }
        ma.model_path = argv[i];
    }
    if (!ma.model_path) { fprintf(stderr, "qsync classical: no model file\n%s", usage); goto bad; }
    qs_model *m = NULL;
    int rc = model_args_load(&ma, 0, &m, NULL, NULL);
    model_args_free(&ma);
    if (rc != EXIT_OK) return rc;
    qs_classical_result res;
    qs_error err;
    int st = qs_classical_run(m, &o, &res, &err);
    if (st != QS_OK) {
        int rc_fail = cli_fail(st, "%s: %s", qs_model_source(m), err.message);
        qs_model_free(&m);
        return rc_fail;
    }
    int n = qs_model_size(m);
    if (as_json) {
        json j;
        json_begin(&j, stdout);
        json_object(&j, NULL);
        json_str(&j, "model", qs_model_source(m));
        json_array(&j, "pairs");
        int q = 0;
        for (int a = 0; a < n; a++)
            for (int b = a + 1; b < n; b++, q++) {
                json_object(&j, NULL);
                json_str(&j, "a", qs_model_name(m, a));
                json_str(&j, "b", qs_model_name(m, b));
                json_num(&j, "S", res.pair[q].S);
                json_num(&j, "S_err", res.pair[q].S_err);
                json_num(&j, "phi_max", res.pair[q].phi_max);
                json_int(&j, "harmonics", res.pair[q].harmonics);
                json_num(&j, "beat", qs_classical_beat(&res, q));
                json_num(&j, "beat_err", qs_classical_beat_err(&res, q));
                json_end(&j);
            }
        json_end(&j);
        json_num(&j, "escaped_fraction", res.escaped_fraction);
        json_num(&j, "cutoff", o.cutoff);
        json_array(&j, "oscillators");
        for (int k = 0; k < n; k++) {
            json_object(&j, NULL);
            json_str(&j, "name", qs_model_name(m, k));
            json_num(&j, "mean_x", res.mean_x[k]);
            json_num(&j, "nu", qs_classical_nu(&res, k));
            json_num(&j, "nu_err", qs_classical_nu_err(&res, k));
            json_num(&j, "noise", qs_model_osc(m, k)->noise);
            json_num(&j, "gamma_T", qs_model_osc(m, k)->gamma_T);
            if (res.hist) {
                json_array(&j, "histogram");
                for (int b = 0; b < o.hist_bins; b++) json_num(&j, NULL, res.hist[(size_t)k * o.hist_bins + b]);
                json_end(&j);
            }
            json_end(&j);
        }
        json_end(&j);
        json_object(&j, "settings");
        json_num(&j, "dt", o.dt);
        json_num(&j, "burn_in", o.burn_in);
        json_num(&j, "time", o.t_measure);
        json_num(&j, "sample_every", o.sample_every);
        json_int(&j, "trajectories", o.trajectories);
        json_int(&j, "replicas", o.replicas);
        json_num(&j, "seed", (double)o.seed);
        if (o.hist_bins > 0) { json_int(&j, "histogram_bins", o.hist_bins); json_num(&j, "histogram_max", o.hist_max); }
        json_end(&j);
        json_num(&j, "samples", res.samples);
        json_num(&j, "oscillator_steps", res.osc_steps);
        json_num(&j, "seconds", res.seconds);
        json_end(&j);
    } else {
        printf("%s: classical Langevin model, %d trajectories, dt %g, burn-in %g, sampling %g (every %g)\n"
               "cutoff |alpha|^2 = %g: escaped fraction %.4f\n\n%-16s %-12s %-12s %-10s %-10s %-12s %s\n",
               qs_model_source(m), o.trajectories, o.dt, o.burn_in, o.t_measure, o.sample_every, o.cutoff,
               res.escaped_fraction, "pair", "S", "S_err", "phi_max", "harmonics", "beat", "beat_err");
        int q = 0;
        for (int a = 0; a < n; a++)
            for (int b = a + 1; b < n; b++, q++) {
                char name[2 * QS_NAME_MAX + 2];
                snprintf(name, sizeof name, "%s-%s", qs_model_name(m, a), qs_model_name(m, b));
                printf("%-16s %-12.6f %-12.6f %-10.4f %-10d %-12.6f %.6f\n", name, res.pair[q].S, res.pair[q].S_err,
                       qs_phase_wrap(res.pair[q].phi_max, 4), res.pair[q].harmonics, qs_classical_beat(&res, q),
                       qs_classical_beat_err(&res, q));
            }
        printf("\n%-16s %-12s %-12s %s\n", "oscillator", "mean |alpha|^2", "nu", "nu_err");
        for (int k = 0; k < n; k++)
            printf("%-16s %-14.4f %-12.6f %.6f\n", qs_model_name(m, k), res.mean_x[k], qs_classical_nu(&res, k), qs_classical_nu_err(&res, k));
        printf("\n%.3g oscillator-steps in %.2f s (%.3g per second)\n", res.osc_steps, res.seconds, res.osc_steps / res.seconds);
    }
    qs_classical_result_free(&res);
    qs_model_free(&m);
    return EXIT_OK;             /* main checks that standard output was written */
bad:
    model_args_free(&ma);
    return EXIT_INPUT;
}
