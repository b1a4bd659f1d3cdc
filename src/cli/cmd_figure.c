/* cmd_figure.c — `qsync figure NAME --out DIR`: the paper's quantum figures.
 *
 * Each figure is a model (MODEL.md §4 parameters), the axes of a sweep, and a gnuplot
 * script drawing what the paper shows. DIR/NAME/ receives model.ini (the model used),
 * the sweep's files (sweep.csv, its journal) and figure.gp / figure.png. Every script names
 * the columns it draws by their sweep.csv header (column('S_A-B'), never column 3), and each
 * legend entry or colour-bar label names the column drawn (tests/plot_legend.py checks it).
 * Axis ranges are
 * chosen to show every feature the paper's text describes. Figs. 4c/4d span V2 of both signs:
 * with H ∋ +C_AB a_A† a_B (MODEL.md), the direct coupling cancels the one mediated by C, and
 * S_AB is suppressed along a strip, only for V2 < 0.
 *
 * Levels, chosen by the truncation error of S, which every figure's sweep estimates at every
 * point (--truncation-every-point; column truncation_error, status ok when it is below 5e-3): 10 for Figs. 2b and 3a, 12 for 3b and
 * 3c, 18 for 3d (at small K the Kerr resonances Delta = 2K m reach beyond 10 levels: 10
 * fails there), 6 for Fig. 4 (three oscillators), 4 for the rings; ring4 spans |Delta| <= 30
 * (5 levels would cost over a minute a point). A figure whose points do not all read ok says
 * why the remaining error is harmless (figure.note): in 3a (a band at |Delta| >= 15) and 3d
 * (K <= 1) the estimate overstates the error, measured against many more levels; ring6 cannot be estimated (one more level is about 20 million
 * unknowns) and ring4 at the same parameters gives its size. ring6 goes beyond the paper: a
 * sector of 1.7 million unknowns per point, solved by GMRES (a few seconds a point).
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
    const char *note;             /* printed when points do not read ok at the figure's own levels: why */
} figure;

#define TWO_OSC(K_, NBAR1, NBAR2, SIGMA, V, LEVELS)                                             \
    "[defaults]\ngamma = 1\nsigma = " SIGMA "\nK = " K_ "\nlevels = " LEVELS "\n"               \
    "[oscillator 1]\nnbar = " NBAR1 "\n[oscillator 2]\nnbar = " NBAR2 "\n[coupling]\n1-2 = " V "\n"

#define THREE_OSC                                                                               \
    "# A and B identical, C detuned by Delta = omega_C - omega_A; V1: A-C and B-C, V2: A-B\n"   \
    "# n+ = 1, n- = 2, K = 10, sigma = 0.2 (not stated in the paper)\n"                          \
    "[defaults]\ngamma = 1\nsigma = 0.2\nK = 10\nnbar = 1\nlevels = 6\n"                         \
    "[oscillator A]\n[oscillator B]\n[oscillator C]\nomega = 20\n"                               \
    "[coupling]\nA-C = 0.1\nB-C = 0.1\nA-B = 0\n"

static const figure figures[] = {
    {"2a", "classical S/V against Delta for V = 0.1 x (1/6, 1/4, 3/8, 1/2), error bands 1 sigma",
     "# Fig. 2a: the classical Langevin model (Eq. 5), noise = gamma_T n_T = 0.1, cutoff |alpha|^2 = 8\n"
     "[defaults]\ngamma = 1\nsigma = 0.2\nK = 2\nnbar = 2\nnoise = 0.1\n[oscillator 1]\n[oscillator 2]\n[coupling]\n1-2 = 0.05\n",
     {"--classical", "--vary", "1-2=0.016666666666666667,0.025,0.0375,0.05", "--vary", "1.omega=-4:4:81",
      "--trajectories", "512", "--burn-in", "30", "--target-err", "0.005", NULL},
     "set xlabel 'Delta = omega_1 - omega_2'\nset ylabel 'S / V'\nset key top right\nset grid\nset style fill transparent solid 0.3 noborder\n"
     "array V[4] = [0.1/6, 0.025, 0.0375, 0.05]\nat(v) = abs(column('1-2') - v) < 1e-12\n"
     "plot for [k=1:4] 'sweep.csv' using '1.omega':(at(V[k]) ? (column('S_1-2') - column('S_err_1-2')) / column('1-2') : NaN)"
     ":(at(V[k]) ? (column('S_1-2') + column('S_err_1-2')) / column('1-2') : NaN) with filledcurves lc k notitle, \\\n"
     "  for [k=1:4] 'sweep.csv' using '1.omega':(at(V[k]) ? column('S_1-2') / column('1-2') : NaN) with lines lw 2 lc k "
     "title sprintf('S_1-2 / V at V = %.4f', V[k])\n", NULL},
    {"2b", "quantum S/V against Delta for V = 0.05, 0.2, 0.35, 0.5, first order dashed",
     "# Fig. 2b\n" TWO_OSC("10", "2", "2", "0.2", "0.05", "10"),
     {"--vary", "1-2=0.05,0.2,0.35,0.5", "--vary", "1.omega=-40:40:321", "--perturb", "--truncation-every-point", NULL},
     "set xlabel 'Delta = omega_1 - omega_2'\nset ylabel 'S / V'\nset key top center\nset grid\n"
     "at(v) = abs(column('1-2') - v) < 1e-9\n"
     "plot for [k=0:3] 'sweep.csv' using '1.omega':(at(0.05 + 0.15*k) ? column('S_1-2') / column('1-2') : NaN) with lines lw 2 "
     "title sprintf('S_1-2 / V at V = %.2f', 0.05 + 0.15*k), \\\n"
     "  'sweep.csv' using '1.omega':(at(0.05) ? column('S1_1-2') / column('1-2') : NaN) with lines dt 2 lw 2 lc rgb 'black' "
     "title 'S1_1-2 / V at V = 0.05 (first order)'\n", NULL},
    {"3a", "S against (Delta, sigma), K = 1/sigma; inset S/sigma at sigma = 0.2, 0.4, 0.6, 0.8",
     "# Fig. 3a (K is tied to 1/sigma by the sweep)\n" TWO_OSC("5", "4", "4", "0.2", "0.1", "10"),
     {"--vary", "1.omega=-25:25:161", "--vary", "sigma=0.1:1:91", "--tie", "K=1/sigma", "--truncation-every-point", NULL},
     "set multiplot\nset xlabel 'Delta'\nset ylabel 'sigma'\nset cblabel 'S_1-2'\nset palette rgb 33,13,10\n"
     "set xrange [-25:25]\nset yrange [0.1:1]\nplot 'sweep.csv' using '1.omega':'sigma':'S_1-2' with image notitle\n"
     "set origin 0.5,0.5\nset size 0.36,0.42\nunset title\nunset cblabel\nset xlabel 'Delta' offset 0,0.5\nset ylabel 'S/sigma' offset 1,0\n"
     "set yrange [*:*]\nset key font ',7' top right samplen 1.5\nset object 1 rect from graph 0,0 to graph 1,1 back fc rgb 'white' fs solid\n"
     "# sigma (N2 values from 0.1 to 1) is the fast axis: the cut at the sigma nearest k/10 is every N2-th row from j(k)\n"
     "j(k) = int((k/10.0 - 0.1) * (N2 - 1) / 0.9 + 0.5)\nsig(k) = 0.1 + 0.9 * j(k) / (N2 - 1)\n"
     "plot for [k=2:8:2] 'sweep.csv' every N2::j(k) using '1.omega':(column('S_1-2') / column('sigma')) with lines lw 1.5 "
     "title sprintf('S_1-2/sigma, sigma %.2f', sig(k))\n"
     "unset multiplot\n",
     "where the one-level estimate exceeds 5e-3 (|Delta| >= 15, sigma 0.37-0.65) it overstates the error 2-5 times: "
     "against S at 26 levels the error there is at most 2.9e-3 (below --s-tol 5e-3; 2% of the colour range). "
     "More levels move this band, they do not remove it (12 levels: sigma 0.54-0.74)"},
    {"3b", "S against (nbar_2, sigma) at equal frequencies, nbar_1 = 4, K = 1/sigma",
     "# Fig. 3b (K tied to 1/sigma)\n" TWO_OSC("5", "4", "4", "0.2", "0.1", "12"),
     {"--vary", "2.nbar=2:6:161", "--vary", "sigma=0.1:1:91", "--tie", "K=1/sigma", "--truncation-every-point", NULL},
     "set xlabel 'nbar_2 (nbar_1 = 4)'\nset ylabel 'sigma'\nset cblabel 'S_1-2'\nset palette rgb 33,13,10\n"
     "set xrange [2:6]\nset yrange [0.1:1]\nplot 'sweep.csv' using '2.nbar':'sigma':'S_1-2' with image notitle\n", NULL},
    {"3c", "S against (dn, Delta) with the resonances of Eq. 7; sigma = 0.2, K = 5",
     "# Fig. 3c\n" TWO_OSC("5", "4", "4", "0.2", "0.1", "12"),
     {"--vary", "2.nbar=2:6:81", "--vary", "1.omega=-30:30:121", "--truncation-every-point", NULL},
     "K = 5\nset xlabel 'dn = nbar_2 - nbar_1'\nset ylabel 'Delta'\nset cblabel 'S_1-2'\nset palette rgb 33,13,10\n"
     "set xrange [-2:2]\nset yrange [-30:30]\nset key bottom left\n"
     "plot 'sweep.csv' using (column('2.nbar') - 4):'1.omega':'S_1-2' with image notitle, -2*K*(x+1) with lines dt 2 lc rgb 'white' lw 2 title 'Eq. 7', "
     "-2*K*(x-1) with lines dt 2 lc rgb 'white' lw 2 notitle\n", NULL},
    {"3d", "S against (K, Delta); sigma = 0.2",
     "# Fig. 3d (18 levels: at small K the Kerr resonances Delta = 2K m reach beyond 10)\n" TWO_OSC("5", "4", "4", "0.2", "0.1", "18"),
     {"--vary", "K=0.25:10:79", "--vary", "1.omega=-25:25:101", "--truncation-every-point", NULL},
     "set xlabel 'K'\nset ylabel 'Delta'\nset cblabel 'S_1-2'\nset palette rgb 33,13,10\nset xrange [0.25:10]\nset yrange [-25:25]\n"
     "set key bottom left\nplot 'sweep.csv' using 'K':'1.omega':'S_1-2' with image notitle, 2*x with lines dt 2 lc rgb 'white' lw 2 title 'Delta = +-2K', "
     "-2*x with lines dt 2 lc rgb 'white' lw 2 notitle\n",
     "where the one-level estimate exceeds 5e-3 (K <= 1, |Delta| >= 4.5) it overstates the error 5-20 times: against S "
     "at 36 levels the error there is at most 1.6e-3 (below --s-tol 5e-3). At 10 levels the estimate understates it "
     "instead (K = 0.25, Delta = 5.5: 9e-4 estimated, 5.2e-3 true), hence 18 levels"},
    {"4a", "S_AC against (Delta, V1), V2 = 0", THREE_OSC,
     {"--vary", "C.omega=-40:40:81", "--vary", "A-C,B-C=0.02:0.5:25", "--truncation-every-point", NULL},
     "set xlabel 'Delta = omega_C - omega_A'\nset ylabel 'V1'\nset cblabel 'S_A-C'\nset palette rgb 33,13,10\n"
     "set xrange [-40:40]\nset yrange [0.02:0.5]\nplot 'sweep.csv' using 'C.omega':'A-C':'S_A-C' with image notitle\n", NULL},
    {"4b", "S_AB (identical A, B, coupled only through C) against (Delta, V1), V2 = 0", THREE_OSC,
     {"--vary", "C.omega=-40:40:81", "--vary", "A-C,B-C=0.02:0.5:25", "--truncation-every-point", NULL},
     "set xlabel 'Delta = omega_C - omega_A'\nset ylabel 'V1'\nset cblabel 'S_A-B'\nset palette rgb 33,13,10\n"
     "set xrange [-40:40]\nset yrange [0.02:0.5]\nplot 'sweep.csv' using 'C.omega':'A-C':'S_A-B' with image notitle\n", NULL},
    {"4c", "S_AC against (V1, V2) at Delta = 2K (V2 of either sign)", THREE_OSC,
     {"--vary", "A-C,B-C=0:0.5:41", "--vary", "A-B=-0.5:0.5:81", "--truncation-every-point", NULL},
     "set xlabel 'V1 (A-C, B-C)'\nset ylabel 'V2 (A-B)'\nset cblabel 'S_A-C'\nset palette rgb 33,13,10\n"
     "set xrange [0:0.5]\nset yrange [-0.5:0.5]\nplot 'sweep.csv' using 'A-C':'A-B':'S_A-C' with image notitle\n", NULL},
    {"4d", "S_AB against (V1, V2) at Delta = 2K: suppressed where direct and mediated coupling cancel (V2 < 0)", THREE_OSC,
     {"--vary", "A-C,B-C=0:0.5:41", "--vary", "A-B=-0.5:0.5:81", "--truncation-every-point", NULL},
     "set xlabel 'V1 (A-C, B-C)'\nset ylabel 'V2 (A-B)'\nset cblabel 'S_A-B'\nset palette rgb 33,13,10\n"
     "set xrange [0:0.5]\nset yrange [-0.5:0.5]\nplot 'sweep.csv' using 'A-C':'A-B':'S_A-B' with image notitle\n", NULL},
    {"ring4", "ring A - B - A2 - B2: S between identical oscillators against the detuning Delta of B and B2",
     "# ring of four, the B's detuned by Delta; parameters as Fig. 4\n"
     "[defaults]\ngamma = 1\nsigma = 0.2\nK = 10\nnbar = 1\nlevels = 4\n"
     "[oscillator A]\n[oscillator B]\nomega = 20\n[oscillator A2]\n[oscillator B2]\nomega = 20\n"
     "[coupling]\nA-B = 0.1\nB-A2 = 0.1\nA2-B2 = 0.1\nB2-A = 0.1\n",
     {"--vary", "B.omega,B2.omega=-30:30:121", "--truncation-every-point", NULL},
     "set xlabel 'Delta = omega_B - omega_A'\nset ylabel 'S'\nset grid\nset key top center\n"
     "plot 'sweep.csv' using 'B.omega':'S_A-B' with lines lw 2 title 'S_A-B (neighbours)', "
     "'' using 'B.omega':'S_A-A2' with lines lw 2 title 'S_A-A2 (identical)', "
     "'' using 'B.omega':'S_B-B2' with lines lw 2 title 'S_B-B2 (identical)'\n", NULL},
    {"ring6", "ring of six A - B - A2 - B2 - A3 - B3 (beyond the paper): S against the detuning Delta of the Bs",
     "# ring of six, the B's detuned by Delta; parameters as Fig. 4. Sector 1,703,636 unknowns:\n"
     "# solved by GMRES, each point started from its neighbour's state.\n"
     "[defaults]\ngamma = 1\nsigma = 0.2\nK = 10\nnbar = 1\nlevels = 4\n"
     "[oscillator A]\n[oscillator B]\nomega = 20\n[oscillator A2]\n[oscillator B2]\nomega = 20\n"
     "[oscillator A3]\n[oscillator B3]\nomega = 20\n"
     "[coupling]\nA-B = 0.1\nB-A2 = 0.1\nA2-B2 = 0.1\nB2-A3 = 0.1\nA3-B3 = 0.1\nB3-A = 0.1\n",
     {"--vary", "B.omega,B2.omega,B3.omega=-40:40:41", NULL},
     "set xlabel 'Delta = omega_B - omega_A'\nset ylabel 'S'\nset grid\nset key top center\nset title font ',11'\n"
     "plot 'sweep.csv' using 'B.omega':'S_A-B' with linespoints pt 7 ps 0.6 lw 2 title 'S_A-B (neighbours)', "
     "'' using 'B.omega':'S_A-A2' with linespoints pt 7 ps 0.6 lw 2 title 'S_A-A2 (identical, next-nearest; = S_A-A3)', "
     "'' using 'B.omega':'S_B-B2' with linespoints pt 7 ps 0.6 lw 2 title 'S_B-B2 (identical, next-nearest)', "
     "'' using 'B.omega':'S_A-B2' with linespoints pt 7 ps 0.6 lw 2 title 'S_A-B2 (opposite sites)'\n",
     "the truncation error of S cannot be estimated for the ring of six (one more level per oscillator is a sector of "
     "about 20 million unknowns per point), so its points read top-level. The ring of four at the same parameters and "
     "levels (qsync figure ring4) has an estimated error of at most 3.9e-3 at every point with |Delta| <= 40: "
     "take that as the size of this one's (beyond |Delta| = 30 it is as large as the small S of identical "
     "oscillators there, which is why ring4 stops at 30)"},
};
#define N_FIGURES (int)(sizeof figures / sizeof figures[0])

static const char usage[] =
    "usage: qsync figure NAME|all --out DIR [--threads N] [--coarse] [--points N] [--levels N] [--resume]\n"
    "  NAME: 2a 2b 3a 3b 3c 3d 4a 4b 4c 4d ring4 ring6, or all\n"
    "  Each figure goes to DIR/NAME/ (DIR and its parents are created): model.ini, sweep.csv,\n"
    "  figure.gp, figure.png. A DIR/NAME/ that holds a plain sweep's results (sweep.csv but\n"
    "  no model.ini) is refused, never overwritten: give figures an --out of their own.\n"
    "  --coarse     a third of the points on every axis (quick looks)\n"
    "  --points N   at most N points on every axis (N >= 2; smoke tests: seconds per figure)\n"
    "  --levels N   every oscillator truncated to N levels instead of the figure's own\n"
    "               (N from 2 to 1000; convergence checks; written into model.ini)\n";

static int write_text(const char *path, const char *text)
{
    char tmp[4200];
    FILE *fp = out_open(path, tmp, sizeof tmp);
    if (!fp) return EXIT_IO;
    fputs(text, fp);
    return out_commit(fp, tmp, path);
}

/* How a figure is run: the options of `qsync figure` that change its sweep. */
typedef struct {
    const char *out;
    int threads, coarse, points, levels, resume;   /* 0: not given */
} figure_run;

/* The figure's model text into buf, with every "levels = X" line set to `levels` when
 * nonzero. 0 when it does not fit. */
static int model_text(const figure *f, int levels, char *buf, size_t size)
{
    size_t used = 0;
    for (const char *line = f->model; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        int w = levels && strncmp(line, "levels = ", 9) == 0
                    ? snprintf(buf + used, size - used, "levels = %d\n# (--levels %d; the figure's own: %.*s)\n", levels, levels,
                               (int)(len - 10), line + 9)
                    : snprintf(buf + used, size - used, "%.*s", (int)len, line);
        if (w < 0 || (size_t)w >= size - used) return 0;
        used += (size_t)w;
        line += len;
    }
    return 1;
}

/* One --vary value with its grid shrunk as the run asks (COUNT of A:B:COUNT to about a
 * third with --coarse, odd; at most --points values for ranges and lists) into buf; its
 * number of points into *count. */
static void shrink_axis(const char *a, const figure_run *run, char *buf, size_t size, int *count)
{
    const char *eq = strrchr(a, '='), *last = strrchr(a, ':');
    snprintf(buf, size, "%s", a);
    if (last && last > eq) {                                     /* START:STOP:COUNT */
        int n = atoi(last + 1), c = n;
        if (run->coarse) {
            c = n / 3;
            if (c < 3) c = n < 3 ? n : 3;
            if (c % 2 == 0 && c < n) c++;
        }
        if (run->points && c > run->points) c = run->points;
        snprintf(buf, size, "%.*s:%d", (int)(last - a), a, c);
        *count = c;
        return;
    }
    int n = 1;                                                   /* v1,v2,...: the first --points */
    for (char *p = buf + (eq - a) + 1; *p; p++)
        if (*p == ',' && run->points && n == run->points) { *p = '\0'; break; }
        else n += *p == ',';
    *count = n;
}

/* The folder for a figure must be one of ours: refuse (exit 2) a folder holding a plain
 * sweep's results, which the figure would overwrite. */
static int check_folder(const char *dir)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/model.ini", dir);
    if (stat(path, &st) == 0) return EXIT_OK;
    static const char *const sweep_files[] = {"sweep.csv", "sweep.partial.csv"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, sweep_files[k]);
        if (stat(path, &st) == 0)
            return cli_fail(QS_EINPUT, "--out: %s holds the results of a sweep that is not this figure's (%s, no model.ini); "
                                       "choose another --out for figures", dir, sweep_files[k]);
    }
    return EXIT_OK;
}

/* Points of DIR/sweep.csv whose status is not ok (−1 when it cannot be read). */
static long not_ok(const char *dir)
{
    char path[4200], line[65536];
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    long count = 0;
    int column = -1;
    while (fgets(line, sizeof line, fp)) {
        int k = 0;
        for (char *save = NULL, *tok = strtok_r(line, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save), k++) {
            if (column < 0 && strcmp(tok, "status") == 0) { column = k; break; }
            if (k == column) { count += strcmp(tok, "ok") != 0; break; }
        }
        if (column < 0) break;
    }
    fclose(fp);
    return column < 0 ? -1 : count;
}

static int run_figure(const figure *f, const figure_run *run)
{
    char dir[4096], path[4200], script[8192], model[4096], shape[64] = "", threads[16];
    snprintf(dir, sizeof dir, "%s/%s", run->out, f->name);
    int rc = check_folder(dir);
    if (rc != EXIT_OK) return rc;
    if ((rc = cli_mkdirs(dir)) != EXIT_OK) return rc;
    if (!model_text(f, run->levels, model, sizeof model)) return cli_fail(QS_EINPUT, "figure %s: model text too long", f->name);
    snprintf(path, sizeof path, "%s/model.ini", dir);
    if ((rc = write_text(path, model)) != EXIT_OK) return rc;
    char *argv[40], axis_args[8][256];
    int argc = 0, k = 0;
    argv[argc++] = path;
    for (int i = 0; f->args[i]; i++) {
        const char *a = f->args[i];
        if (i > 0 && strcmp(f->args[i - 1], "--vary") == 0) {
            int count, len = (int)strlen(shape);
            shrink_axis(a, run, axis_args[k], sizeof axis_args[k], &count);
            snprintf(shape + len, sizeof shape - (size_t)len, "N%d = %d\n", k + 1, count);
            a = axis_args[k++];
        }
        argv[argc++] = (char *)a;
    }
    argv[argc++] = "--out";
    argv[argc++] = dir;
    argv[argc++] = "--no-plot";
    if (run->threads) {
        snprintf(threads, sizeof threads, "%d", run->threads);
        argv[argc++] = "--threads";
        argv[argc++] = threads;
    }
    if (run->resume) argv[argc++] = "--resume";
    argv[argc] = NULL;
    if (par_rank() == 0) fprintf(stderr, "qsync figure %s: %s\n", f->name, f->what);
    double t0 = qs_now_cli();
    rc = cmd_sweep(argc, argv);
    if ((rc != EXIT_OK && rc != EXIT_NUMERIC) || par_rank() != 0) return rc;   /* under MPI, rank 0 draws */
    snprintf(script, sizeof script,
             "# Fig. %s of the paper: %s\n# data: sweep.csv (model.ini); run `gnuplot figure.gp` in this folder to redraw\n"
             "# every column is named by its header in sweep.csv\n"
             "set terminal pngcairo size 900,700 noenhanced font ',12'\nset output 'figure.png'\n"
             "set datafile separator ','\nset datafile missing 'nan'\nset datafile columnheaders\nset title 'Fig. %s: %s'\n"
             "# points on each axis of the sweep (in the order of its --vary)\n%s%s",
             f->name, f->what, f->name, f->what, shape, f->plot);
    snprintf(path, sizeof path, "%s/figure.gp", dir);
    int wrc = write_text(path, script);
    if (wrc != EXIT_OK) return wrc;
    int drawn = run_gnuplot(dir, "figure");
    if (!drawn && rc == EXIT_OK) rc = EXIT_IO;
    long bad = not_ok(dir);
    if (bad > 0 && f->note && !run->levels) fprintf(stderr, "qsync figure %s: %ld points do not read ok: %s\n", f->name, bad, f->note);
    else if (bad > 0) fprintf(stderr, "qsync figure %s: %ld points do not read ok (see the status column of %s/sweep.csv)\n",
                              f->name, bad, dir);
    fprintf(stderr, "qsync figure %s: %s/%s (%.1f s)\n", f->name, dir, drawn ? "figure.png" : "sweep.csv, no figure.png", qs_now_cli() - t0);
    return rc;
}

/* A whole-number flag value from lo to hi into *out; a message naming the flag and 0 otherwise */
static int whole(const char *flag, const char *text, int lo, int hi, int *out)
{
    double x;
    if (qs_parse_real(text, &x) != QS_OK || x < lo || x > hi || x != (int)x) {
        fprintf(stderr, "qsync: %s needs a whole number from %d to %d, not '%s'\n", flag, lo, hi, text);
        return 0;
    }
    *out = (int)x;
    return 1;
}

int cmd_figure(int argc, char **argv)
{
    const char *name = NULL, *v;
    figure_run run = {0};
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_take(argc, argv, &i, "--out", 1, &v)) != 0) { if (r < 0) return EXIT_INPUT; run.out = v; continue; }
        if ((r = threads_take(argc, argv, &i, &run.threads)) != 0) { if (r < 0) return EXIT_INPUT; continue; }
        if ((r = cli_take(argc, argv, &i, "--points", 1, &v)) != 0) {
            if (r < 0 || !whole("--points", v, 2, 10000000, &run.points)) return EXIT_INPUT;
            continue;
        }
        if ((r = cli_take(argc, argv, &i, "--levels", 1, &v)) != 0) {
            if (r < 0 || !whole("--levels", v, 2, 1000, &run.levels)) return EXIT_INPUT;
            continue;
        }
        if (cli_take(argc, argv, &i, "--coarse", 0, &v) > 0) { run.coarse = 1; continue; }
        if (cli_take(argc, argv, &i, "--resume", 0, &v) > 0) { run.resume = 1; continue; }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(usage, stdout); return EXIT_OK; }
        if (argv[i][0] == '-' || name) { fprintf(stderr, "qsync figure: unexpected argument %s\n%s", argv[i], usage); return EXIT_INPUT; }
        name = argv[i];
    }
    if (!name || !run.out) { fprintf(stderr, "qsync figure: %s\n%s", name ? "no --out DIR" : "no figure name", usage); return EXIT_INPUT; }
    int all = strcmp(name, "all") == 0, found = all, worst = EXIT_OK;
    for (int f = 0; f < N_FIGURES && !found; f++) found = strcmp(name, figures[f].name) == 0;
    if (!found) {                                   /* checked before anything is created */
        fprintf(stderr, "qsync figure: unknown figure '%s'\n%s", name, usage);
        return EXIT_INPUT;
    }
    for (int f = 0; f < N_FIGURES; f++) {           /* refuse before computing any figure */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", run.out, figures[f].name);
        int rc = all || strcmp(name, figures[f].name) == 0 ? check_folder(dir) : EXIT_OK;
        if (rc != EXIT_OK) return rc;
    }
    int rc = cli_mkdirs(run.out);
    if (rc != EXIT_OK) return rc;
    double t0 = qs_now_cli();
    for (int f = 0; f < N_FIGURES; f++) {
        if (!all && strcmp(name, figures[f].name) != 0) continue;
        rc = run_figure(&figures[f], &run);
        if (rc != EXIT_OK && rc != EXIT_NUMERIC) return rc;
        if (rc != EXIT_OK) worst = rc;
    }
    if (all && par_rank() == 0) fprintf(stderr, "qsync figure all: %d figures in %s (%.1f s)\n", N_FIGURES, run.out, qs_now_cli() - t0);
    return worst;
}
