/* cmd_figure.c — `qsync figure NAME --out DIR`: the paper's quantum figures.
 *
 * Each figure is a model (MODEL.md §4 parameters), the axes of a sweep, and a gnuplot
 * script drawing what the paper shows. DIR/NAME/ receives model.ini (the model used),
 * the sweep's files (sweep.csv, its journal) and figure.gp / figure.png. Axis ranges are
 * chosen to show every feature the paper's text describes. Figs. 4c/4d span V2 of both signs:
 * with H ∋ +C_AB a_A† a_B (MODEL.md), the direct coupling cancels the one mediated by C, and
 * S_AB is suppressed along a strip, only for V2 < 0. Levels: 10 per oscillator
 * for two oscillators and 5 for three (4 in the rings); the top-level population of every
 * point is in the CSV. ring6 goes beyond the paper: a sector of 1.7 million unknowns per point,
 * solved by GMRES (a few seconds a point).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include "cli.h"

typedef struct {
    const char *name, *what;
    const char *model;
    const char *args[12];         /* sweep arguments after the model file, NULL-terminated */
    const char *plot;             /* gnuplot commands after the common preamble */
} figure;

#define TWO_OSC(K_, NBAR1, NBAR2, SIGMA, V, LEVELS)                                             \
    "[defaults]\ngamma = 1\nsigma = " SIGMA "\nK = " K_ "\nlevels = " LEVELS "\n"               \
    "[oscillator 1]\nnbar = " NBAR1 "\n[oscillator 2]\nnbar = " NBAR2 "\n[coupling]\n1-2 = " V "\n"

#define THREE_OSC                                                                               \
    "# A and B identical, C detuned by Delta = omega_C - omega_A; V1: A-C and B-C, V2: A-B\n"   \
    "# n+ = 1, n- = 2, K = 10, sigma = 0.2 (not stated in the paper)\n"                          \
    "[defaults]\ngamma = 1\nsigma = 0.2\nK = 10\nnbar = 1\nlevels = 5\n"                         \
    "[oscillator A]\n[oscillator B]\n[oscillator C]\nomega = 20\n"                               \
    "[coupling]\nA-C = 0.1\nB-C = 0.1\nA-B = 0\n"

static const figure figures[] = {
    {"2a", "classical S/V against Delta for V = 0.1 x (1/6, 1/4, 3/8, 1/2), error bands 1 sigma",
     "# Fig. 2a: the classical Langevin model (Eq. 5), noise = gamma_T n_T = 0.1, cutoff |alpha|^2 = 8\n"
     "[defaults]\ngamma = 1\nsigma = 0.2\nK = 2\nnbar = 2\nnoise = 0.1\n[oscillator 1]\n[oscillator 2]\n[coupling]\n1-2 = 0.05\n",
     {"--classical", "--vary", "1-2=0.016666666666666667,0.025,0.0375,0.05", "--vary", "1.omega=-4:4:81",
      "--trajectories", "512", "--burn-in", "30", "--target-err", "0.005", NULL},
     "set xlabel 'Delta = omega_1 - omega_2'\nset ylabel 'S / V'\nset key top right\nset grid\nset style fill transparent solid 0.3 noborder\n"
     "array V[4] = [0.1/6, 0.025, 0.0375, 0.05]\n"
     "plot for [k=1:4] 'sweep.csv' using 2:(abs($1-V[k])<1e-12 ? ($3-$4)/$1 : NaN):(abs($1-V[k])<1e-12 ? ($3+$4)/$1 : NaN) "
     "with filledcurves lc k notitle, \\\n"
     "  for [k=1:4] 'sweep.csv' using 2:(abs($1-V[k])<1e-12 ? $3/$1 : NaN) with lines lw 2 lc k title sprintf('V = %.4f', V[k])\n"},
    {"2b", "quantum S/V against Delta for V = 0.05, 0.2, 0.35, 0.5, first order dashed",
     "# Fig. 2b\n" TWO_OSC("10", "2", "2", "0.2", "0.05", "10"),
     {"--vary", "1-2=0.05:0.5:4", "--vary", "1.omega=-40:40:321", "--perturb", NULL},
     "set xlabel 'Delta = omega_1 - omega_2'\nset ylabel 'S / V'\nset key top center\nset grid\n"
     "plot for [k=0:3] 'sweep.csv' using 2:(abs($1-(0.05+0.15*k))<1e-9 ? $3/$1 : NaN) with lines lw 2 "
     "title sprintf('V = %.2f', 0.05+0.15*k), \\\n"
     "  'sweep.csv' using 2:(abs($1-0.05)<1e-9 ? $7/$1 : NaN) with lines dt 2 lw 2 lc rgb 'black' title 'first order'\n"},
    {"3a", "S against (Delta, sigma), K = 1/sigma; inset S/sigma at sigma = 0.2, 0.4, 0.6, 0.8",
     "# Fig. 3a (K is tied to 1/sigma by the sweep)\n" TWO_OSC("5", "4", "4", "0.2", "0.1", "10"),
     {"--vary", "1.omega=-25:25:161", "--vary", "sigma=0.1:1:91", "--tie", "K=1/sigma", NULL},
     "set multiplot\nset xlabel 'Delta'\nset ylabel 'sigma'\nset cblabel 'S'\nset palette rgb 33,13,10\n"
     "set xrange [-25:25]\nset yrange [0.1:1]\nplot 'sweep.csv' using 1:2:3 with image notitle\n"
     "set origin 0.5,0.5\nset size 0.36,0.42\nunset title\nunset cblabel\nset xlabel 'Delta' offset 0,0.5\nset ylabel 'S/sigma' offset 1,0\n"
     "set yrange [*:*]\nset key font ',8' top right\nset object 1 rect from graph 0,0 to graph 1,1 back fc rgb 'white' fs solid\n"
     "# sigma = 0.1 + 0.01 i is the fast axis: the cut at sigma = k/10 is every 91st row from i = 10k - 10\n"
     "plot for [k=2:8:2] 'sweep.csv' every 91::(10*k-10) using 1:($3/$2) with lines lw 1.5 title sprintf('sigma = %.1f', k/10.0)\n"
     "unset multiplot\n"},
    {"3b", "S against (nbar_2, sigma) at equal frequencies, nbar_1 = 4, K = 1/sigma",
     "# Fig. 3b (K tied to 1/sigma)\n" TWO_OSC("5", "4", "4", "0.2", "0.1", "12"),
     {"--vary", "2.nbar=2:6:161", "--vary", "sigma=0.1:1:91", "--tie", "K=1/sigma", NULL},
     "set xlabel 'nbar_2 (nbar_1 = 4)'\nset ylabel 'sigma'\nset cblabel 'S'\nset palette rgb 33,13,10\n"
     "set xrange [2:6]\nset yrange [0.1:1]\nplot 'sweep.csv' using 1:2:3 with image notitle\n"},
    {"3c", "S against (dn, Delta) with the resonances of Eq. 7; sigma = 0.2, K = 5",
     "# Fig. 3c\n" TWO_OSC("5", "4", "4", "0.2", "0.1", "12"),
     {"--vary", "2.nbar=2:6:81", "--vary", "1.omega=-30:30:121", NULL},
     "K = 5\nset xlabel 'dn = nbar_2 - nbar_1'\nset ylabel 'Delta'\nset cblabel 'S'\nset palette rgb 33,13,10\n"
     "set xrange [-2:2]\nset yrange [-30:30]\nset key bottom left\n"
     "plot 'sweep.csv' using ($1-4):2:3 with image notitle, -2*K*(x+1) with lines dt 2 lc rgb 'white' lw 2 title 'Eq. 7', "
     "-2*K*(x-1) with lines dt 2 lc rgb 'white' lw 2 notitle\n"},
    {"3d", "S against (K, Delta); sigma = 0.2",
     "# Fig. 3d\n" TWO_OSC("5", "4", "4", "0.2", "0.1", "10"),
     {"--vary", "K=0.25:10:79", "--vary", "1.omega=-25:25:101", NULL},
     "set xlabel 'K'\nset ylabel 'Delta'\nset cblabel 'S'\nset palette rgb 33,13,10\nset xrange [0.25:10]\nset yrange [-25:25]\n"
     "set key bottom left\nplot 'sweep.csv' using 1:2:3 with image notitle, 2*x with lines dt 2 lc rgb 'white' lw 2 title 'Delta = +-2K', "
     "-2*x with lines dt 2 lc rgb 'white' lw 2 notitle\n"},
    {"4a", "S_AC against (Delta, V1), V2 = 0", THREE_OSC,
     {"--vary", "C.omega=-40:40:81", "--vary", "A-C,B-C=0.02:0.5:25", NULL},
     "set xlabel 'Delta = omega_C - omega_A'\nset ylabel 'V1'\nset cblabel 'S_AC'\nset palette rgb 33,13,10\n"
     "set xrange [-40:40]\nset yrange [0.02:0.5]\nplot 'sweep.csv' using 1:2:4 with image notitle\n"},
    {"4b", "S_AB (identical A, B, coupled only through C) against (Delta, V1), V2 = 0", THREE_OSC,
     {"--vary", "C.omega=-40:40:81", "--vary", "A-C,B-C=0.02:0.5:25", NULL},
     "set xlabel 'Delta = omega_C - omega_A'\nset ylabel 'V1'\nset cblabel 'S_AB'\nset palette rgb 33,13,10\n"
     "set xrange [-40:40]\nset yrange [0.02:0.5]\nplot 'sweep.csv' using 1:2:3 with image notitle\n"},
    {"4c", "S_AC against (V1, V2) at Delta = 2K (V2 of either sign)", THREE_OSC,
     {"--vary", "A-C,B-C=0:0.5:41", "--vary", "A-B=-0.5:0.5:81", NULL},
     "set xlabel 'V1 (A-C, B-C)'\nset ylabel 'V2 (A-B)'\nset cblabel 'S_AC'\nset palette rgb 33,13,10\n"
     "set xrange [0:0.5]\nset yrange [-0.5:0.5]\nplot 'sweep.csv' using 1:2:4 with image notitle\n"},
    {"4d", "S_AB against (V1, V2) at Delta = 2K: suppressed where direct and mediated coupling cancel (V2 < 0)", THREE_OSC,
     {"--vary", "A-C,B-C=0:0.5:41", "--vary", "A-B=-0.5:0.5:81", NULL},
     "set xlabel 'V1 (A-C, B-C)'\nset ylabel 'V2 (A-B)'\nset cblabel 'S_AB'\nset palette rgb 33,13,10\n"
     "set xrange [0:0.5]\nset yrange [-0.5:0.5]\nplot 'sweep.csv' using 1:2:3 with image notitle\n"},
    {"ring4", "ring A - B - A2 - B2: S between identical oscillators against the detuning Delta of B and B2",
     "# ring of four, the B's detuned by Delta; parameters as Fig. 4\n"
     "[defaults]\ngamma = 1\nsigma = 0.2\nK = 10\nnbar = 1\nlevels = 4\n"
     "[oscillator A]\n[oscillator B]\nomega = 20\n[oscillator A2]\n[oscillator B2]\nomega = 20\n"
     "[coupling]\nA-B = 0.1\nB-A2 = 0.1\nA2-B2 = 0.1\nB2-A = 0.1\n",
     {"--vary", "B.omega,B2.omega=-40:40:161", NULL},
     "set xlabel 'Delta = omega_B - omega_A'\nset ylabel 'S'\nset grid\nset key top center\n"
     "plot 'sweep.csv' using 1:3 with lines lw 2 title 'S_A-B (neighbours)', '' using 1:4 with lines lw 2 title 'S_A-A2 (identical)', "
     "'' using 1:7 with lines lw 2 title 'S_B-B2 (identical)'\n"},
    {"ring6", "ring of six A - B - A2 - B2 - A3 - B3 (beyond the paper): S against the detuning Delta of the Bs",
     "# ring of six, the B's detuned by Delta; parameters as Fig. 4. Sector 1,703,636 unknowns:\n"
     "# solved by GMRES, each point started from its neighbour's state.\n"
     "[defaults]\ngamma = 1\nsigma = 0.2\nK = 10\nnbar = 1\nlevels = 4\n"
     "[oscillator A]\n[oscillator B]\nomega = 20\n[oscillator A2]\n[oscillator B2]\nomega = 20\n"
     "[oscillator A3]\n[oscillator B3]\nomega = 20\n"
     "[coupling]\nA-B = 0.1\nB-A2 = 0.1\nA2-B2 = 0.1\nB2-A3 = 0.1\nA3-B3 = 0.1\nB3-A = 0.1\n",
     {"--vary", "B.omega,B2.omega,B3.omega=-40:40:41", NULL},
     "set xlabel 'Delta = omega_B - omega_A'\nset ylabel 'S'\nset grid\nset key top center\nset title font ',11'\n"
     "plot 'sweep.csv' using 1:2 with linespoints pt 7 ps 0.6 lw 2 title 'S_A-B (neighbours)', "
     "'' using 1:3 with linespoints pt 7 ps 0.6 lw 2 title 'S_A-A2 (identical, next-nearest; = S_A-A3)', "
     "'' using 1:8 with linespoints pt 7 ps 0.6 lw 2 title 'S_B-B2 (identical, next-nearest)', "
     "'' using 1:4 with linespoints pt 7 ps 0.6 lw 2 title 'S_A-B2 (opposite sites)'\n"},
};
#define N_FIGURES (int)(sizeof figures / sizeof figures[0])

static const char usage[] =
    "usage: qsync figure NAME|all --out DIR [--threads N] [--coarse] [--resume]\n"
    "  NAME: 2a 2b 3a 3b 3c 3d 4a 4b 4c 4d ring4 ring6, or all\n"
    "  --coarse   a third of the points on every axis (quick looks, tests)\n";

static int write_text(const char *path, const char *text)
{
    char tmp[4200];
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    fputs(text, fp);
    return out_commit(fp, tmp, path);
}

static int run_figure(const figure *f, const char *out, const char *threads, int coarse, int resume)
{
    char dir[4096], path[4200], script[8192];
    snprintf(dir, sizeof dir, "%s/%s", out, f->name);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return cli_fail(QS_EIO, "%s: cannot create (%s)", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/model.ini", dir);
    int rc = write_text(path, f->model);
    if (rc != EXIT_OK) return rc;
    char *argv[40], coarse_args[8][128];
    int argc = 0, k = 0;
    argv[argc++] = path;
    for (int i = 0; f->args[i]; i++) {
        const char *a = f->args[i];
        if (coarse && i > 0 && strcmp(f->args[i - 1], "--vary") == 0 && strrchr(a, ':')) {   /* COUNT → about COUNT/3, odd */
            const char *last = strrchr(a, ':');
            int count = atoi(last + 1), c = count / 3;
            if (c < 3) c = count < 3 ? count : 3;
            if (c % 2 == 0 && c < count) c++;
            snprintf(coarse_args[k], sizeof coarse_args[k], "%.*s:%d", (int)(last - a), a, c);
            a = coarse_args[k++];
        }
        argv[argc++] = (char *)a;
    }
    argv[argc++] = "--out";
    argv[argc++] = dir;
    argv[argc++] = "--no-plot";
    if (threads) { argv[argc++] = "--threads"; argv[argc++] = (char *)threads; }
    if (resume) argv[argc++] = "--resume";
    argv[argc] = NULL;
    if (par_rank() == 0) fprintf(stderr, "qsync figure %s: %s\n", f->name, f->what);
    double t0 = qs_now_cli();
    rc = cmd_sweep(argc, argv);
    if ((rc != EXIT_OK && rc != EXIT_NUMERIC) || par_rank() != 0) return rc;   /* under MPI, rank 0 draws */
    snprintf(script, sizeof script,
             "# Fig. %s of the paper: %s\n# data: sweep.csv (model.ini); run `gnuplot figure.gp` in this folder to redraw\n"
             "set terminal pngcairo size 900,700 noenhanced font ',12'\nset output 'figure.png'\n"
             "set datafile separator ','\nset datafile missing 'nan'\nset datafile columnheaders\nset title 'Fig. %s: %s'\n%s",
             f->name, f->what, f->name, f->what, f->plot);
    snprintf(path, sizeof path, "%s/figure.gp", dir);
    int wrc = write_text(path, script);
    if (wrc != EXIT_OK) return wrc;
    run_gnuplot(dir, "figure");
    fprintf(stderr, "qsync figure %s: %s/figure.png (%.1f s)\n", f->name, dir, qs_now_cli() - t0);
    return rc;
}

int cmd_figure(int argc, char **argv)
{
    const char *name = NULL, *out = NULL, *threads = NULL, *v;
    int coarse = 0, resume = 0;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_take(argc, argv, &i, "--out", 1, &v)) != 0) { if (r < 0) return EXIT_INPUT; out = v; continue; }
        if ((r = cli_take(argc, argv, &i, "--threads", 1, &v)) != 0) { if (r < 0) return EXIT_INPUT; threads = v; continue; }
        if (cli_take(argc, argv, &i, "--coarse", 0, &v) > 0) { coarse = 1; continue; }
        if (cli_take(argc, argv, &i, "--resume", 0, &v) > 0) { resume = 1; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(usage, stdout); return EXIT_OK; }
        if (argv[i][0] == '-' || name) { fprintf(stderr, "qsync figure: unexpected argument %s\n%s", argv[i], usage); return EXIT_INPUT; }
        name = argv[i];
    }
    if (!name || !out) { fprintf(stderr, "qsync figure: %s\n%s", name ? "no --out DIR" : "no figure name", usage); return EXIT_INPUT; }
    int all = strcmp(name, "all") == 0, found = 0, worst = EXIT_OK;
    if (mkdir(out, 0777) != 0 && errno != EEXIST) return cli_fail(QS_EIO, "%s: cannot create (%s)", out, strerror(errno));
    double t0 = qs_now_cli();
    for (int f = 0; f < N_FIGURES; f++) {
        if (!all && strcmp(name, figures[f].name) != 0) continue;
        found = 1;
        int rc = run_figure(&figures[f], out, threads, coarse, resume);
        if (rc != EXIT_OK && rc != EXIT_NUMERIC) return rc;
        if (rc != EXIT_OK) worst = rc;
    }
    if (!found) {
        fprintf(stderr, "qsync figure: unknown figure '%s'\n%s", name, usage);
        return EXIT_INPUT;
    }
    if (all && par_rank() == 0) fprintf(stderr, "qsync figure all: %d figures in %s (%.1f s)\n", N_FIGURES, out, qs_now_cli() - t0);
    return worst;
}
