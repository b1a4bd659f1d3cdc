/* classical.c — Monte Carlo of the Langevin equations (see qsync/classical.h).
 *
 * Trajectories are counted in chunks of CHUNK: a chunk's averages are kept apart and
 * combined in chunk order at the end, and chunk c belongs to replica c mod R. They are run
 * in batches of up to BATCH chunks, one lane per trajectory (structure of arrays, loops
 * over groups of GROUP lanes vectorised; this file is compiled with -ffast-math for glibc's
 * vector exp/sin). Lanes whose trajectory has escaped are dropped, the rest moved down in
 * order, so a batch steps only whole groups that hold live trajectories. Nothing depends on
 * which thread ran a batch, nor on how chunks were batched.
 *
 * The batch loop (run_batch, with every kernel it calls inlined into it) is compiled twice,
 * for the x86-64 baseline and for x86-64-v3 (AVX2 and FMA, with glibc's AVX2 vector exp/sin),
 * and the processor's own version is chosen when the library is loaded: every thread runs the
 * same one, so results are the same for any thread count; on a processor without AVX2 they
 * differ at the level of rounding (and escapes), well inside the error bars.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lapacke.h>
#include <omp.h>
#include <Random123/philox.h>
#include "qsync/classical.h"
#include "internal.h"

#define CHUNK QS_CLASSICAL_CHUNK   /* trajectories per chunk: the unit of the statistics (chunk c is in replica c mod R) */
#define GROUP 32            /* lanes stepped together by the vectorised kernels */
#define BATCH 8             /* chunks run together, escaped lanes dropped */
#define L_MAX QS_CLASSICAL_HARMONICS

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KERNEL_CLONES
#endif
#define KERNEL static inline __attribute__((always_inline))   /* compiled inside each clone of run_batch */

void qs_classical_defaults(qs_classical_options *o)
{
    o->dt = 0.02;
    o->burn_in = 50;
    o->t_measure = 200;
    o->sample_every = 0.5;
    o->trajectories = 2048;
    o->replicas = 16;
    o->seed = 1;
    o->threads = 0;
    o->cutoff = 8;
    o->significance = 2;
    o->hist_bins = 0;
    o->hist_max = 0;
}

void qs_classical_result_free(qs_classical_result *r)
{
    free(r->pair);
    free(r->mean_x);
    free(r->hist);
    memset(r, 0, sizeof *r);
}

typedef struct {
    double omega, K, gp, gm, sp2, sm2, np, nm, gT;
    double amp;           /* √(D dt/2), D the key `noise`: the noise per component and step */
} osc_par;

/* per chunk: sums of e^{ilφ} per pair and harmonic, samples, Σ|α|² per oscillator, and
 * the phase turned by each oscillator over the time its trajectories spent in the ensemble */
typedef struct {
    double complex *c;    /* [pairs · L_MAX] */
    double samples;       /* phase samples (same for every pair) */
    double *x;            /* [n] */
    double *hist;         /* [n · bins] */
    double x_count;
    double *turn;         /* [n] Σ over trajectories of the unwrapped change of arg α_j */
    double time;          /* Σ over trajectories of the time in the ensemble after the burn-in */
    int escaped;
} chunk_stats;

/* e^x for |x| <= EXP_SMALL: Taylor to degree 12 by Estrin's scheme (remainder below 3e-18
 * relative), a few fused multiply-adds instead of a call */
#define EXP_SMALL 0.25
KERNEL double exp_small(double x)
{
    double x2 = x * x, x4 = x2 * x2, x8 = x4 * x4;
    double p01 = 1 + x, p23 = 1.0 / 2 + x * (1.0 / 6), p45 = 1.0 / 24 + x * (1.0 / 120), p67 = 1.0 / 720 + x * (1.0 / 5040);
    double p89 = 1.0 / 40320 + x * (1.0 / 362880), p1011 = 1.0 / 3628800 + x * (1.0 / 39916800), p12 = 1.0 / 479001600;
    double q0 = p01 + x2 * p23, q1 = p45 + x2 * p67, q2 = p89 + x2 * p1011;
    return q0 + x4 * q1 + x8 * (q2 + x4 * p12);
}

/* local step of length h for one oscillator over a group of lanes: damping at the midpoint
 * amplitude, exact rotation by Ω(|α|²), its angle added to rot (unwrapped: the frequencies
 * count it whole, however far it turns). `small`: every exponent is within EXP_SMALL. */
KERNEL void local_step_with(const osc_par *p, double h, double *restrict re, double *restrict im, double *restrict rot,
                            const int small)
{
    const double np = p->np, nm = p->nm, sp2 = p->sp2, sm2 = p->sm2, gp = p->gp, gm = p->gm, gT = p->gT;
    const double omega = p->omega, K2 = 2 * p->K;
#pragma omp simd
    for (int t = 0; t < GROUP; t++) {
        double x = re[t] * re[t] + im[t] * im[t];
        double dp = x - np, dm = x - nm;
        double g0 = gm * sm2 / (dm * dm + sm2) - gp * sp2 / (dp * dp + sp2) + gT;
        double xm = 0.5 * x * (1 + (small ? exp_small(-g0 * h) : exp(-g0 * h)));
        dp = xm - np;
        dm = xm - nm;
        double g = gm * sm2 / (dm * dm + sm2) - gp * sp2 / (dp * dp + sp2) + gT;
        double f = small ? exp_small(-0.5 * g * h) : exp(-0.5 * g * h), th = -(omega - K2 * xm) * h;
        /* cos as a shifted sin: GCC would fuse sin and cos into sincos, which has no vector form */
        double c = f * sin(th + 0.5 * M_PI), s = f * sin(th), r = re[t], i = im[t];
        re[t] = r * c - i * s;
        im[t] = r * s + i * c;
        rot[t] += th;
    }
}

KERNEL void local_step(const osc_par *p, double h, double *restrict re, double *restrict im, double *restrict rot)
{
    /* |Γ| <= γ− + γ+ + |γ_T|: each Lorentzian factor is at most 1 */
    if ((p->gm + p->gp + fabs(p->gT)) * h <= EXP_SMALL) local_step_with(p, h, re, im, rot, 1);
    else local_step_with(p, h, re, im, rot, 0);
}

/* Noise for oscillators j and j+1 (amp_b = 0 and re_b = NULL when j is the last):
 * α += √(D dt/2)(ξ1 + i ξ2) with ξ = −√3, 0, √3 with probabilities 1/6, 2/3, 1/6, four of
 * them from one Philox draw keyed by each lane's trajectory. These match the moments of a
 * standard normal up to the fifth, which is all a weak second-order scheme asks of its
 * increments (the splitting's order in dt is unchanged), and cost no log, root or sine. */
#define P_SIXTH 715827883u                               /* round(2³²/6) */
KERNEL double three_point(uint32_t u, double s3)
{
    return (u < P_SIXTH ? -s3 : 0.0) + (u >= 0u - P_SIXTH ? s3 : 0.0);
}
KERNEL void noise_step(double amp_a, double amp_b, uint32_t step_lo, uint32_t step_hi, uint32_t j, uint32_t seed_lo,
                       uint32_t seed_hi, const uint32_t *restrict id, double *restrict re_a, double *restrict im_a,
                       double *restrict re_b, double *restrict im_b)
{
    const double s3 = sqrt(3.0);
    double tmp_re[GROUP] = {0}, tmp_im[GROUP] = {0};           /* the draws of an absent partner */
    if (!re_b) { re_b = tmp_re; im_b = tmp_im; }
#pragma omp simd
    for (int t = 0; t < GROUP; t++) {
        philox4x32_ctr_t ctr = {{step_lo, j, seed_hi, step_hi}};
        philox4x32_key_t key = {{id[t], seed_lo}};
        philox4x32_ctr_t r = philox4x32(ctr, key);
        re_a[t] += amp_a * three_point(r.v[0], s3);
        im_a[t] += amp_a * three_point(r.v[1], s3);
        re_b[t] += amp_b * three_point(r.v[2], s3);
        im_b[t] += amp_b * three_point(r.v[3], s3);
    }
}

/* α ← U α on one group of lanes (oscillator j's lanes at re + j·ld); tr, ti: n × GROUP */
KERNEL void coupling_step(int n, const double complex *U, double *restrict re, double *restrict im, size_t ld,
                          double *restrict tr, double *restrict ti)
{
    if (n == 2) {                                       /* in place, without the copies */
        double u00r = creal(U[0]), u00i = cimag(U[0]), u01r = creal(U[1]), u01i = cimag(U[1]);
        double u10r = creal(U[2]), u10i = cimag(U[2]), u11r = creal(U[3]), u11i = cimag(U[3]);
        double *restrict ar = re, *restrict ai = im, *restrict br = re + ld, *restrict bi = im + ld;
#pragma omp simd
        for (int t = 0; t < GROUP; t++) {
            double xr = ar[t], xi = ai[t], yr = br[t], yi = bi[t];
            ar[t] = u00r * xr - u00i * xi + u01r * yr - u01i * yi;
            ai[t] = u00r * xi + u00i * xr + u01r * yi + u01i * yr;
            br[t] = u10r * xr - u10i * xi + u11r * yr - u11i * yi;
            bi[t] = u10r * xi + u10i * xr + u11r * yi + u11i * yr;
        }
        return;
    }
    for (int j = 0; j < n; j++) {
        double *restrict ore = tr + (size_t)j * GROUP, *restrict oim = ti + (size_t)j * GROUP;
        for (int t = 0; t < GROUP; t++) ore[t] = oim[t] = 0;
        for (int k = 0; k < n; k++) {
            double ur = creal(U[(size_t)j * n + k]), ui = cimag(U[(size_t)j * n + k]);
            const double *restrict ar = re + (size_t)k * ld, *restrict ai = im + (size_t)k * ld;
#pragma omp simd
            for (int t = 0; t < GROUP; t++) {
                ore[t] += ur * ar[t] - ui * ai[t];
                oim[t] += ur * ai[t] + ui * ar[t];
            }
        }
    }
    for (int j = 0; j < n; j++) {
        memcpy(re + (size_t)j * ld, tr + (size_t)j * GROUP, GROUP * sizeof *re);
        memcpy(im + (size_t)j * ld, ti + (size_t)j * GROUP, GROUP * sizeof *im);
    }
}

/* Drop the lanes of one group (one oscillator) whose |α|² passed the cutoff; how many did. */
KERNEL int escape_check(const double *restrict re, const double *restrict im, double cutoff, unsigned char *restrict alive)
{
    int out_count = 0;
#pragma omp simd reduction(+ : out_count)
    for (int t = 0; t < GROUP; t++) {
        int out = (re[t] * re[t] + im[t] * im[t] > cutoff) & alive[t];
        alive[t] = (unsigned char)(alive[t] & !out);
        out_count += out;
    }
    return out_count;
}

/* The phase turned by the noise and coupling steps, arg(α/β) in (−π, π] from the state β
 * before them, added to rot (one group, one oscillator). With the local steps' rotation
 * angles this is the step's arg(α_new/α_old), unwrapped. */
#define ATAN_SMALL 0.125    /* |w| below which atan(w) is its Taylor series to w^17 (remainder below 3e-18 |w|) */
KERNEL void phase_turned(const double *restrict br, const double *restrict bi, const double *restrict re,
                         const double *restrict im, double *restrict rot)
{
    int large = 0;
    /* the usual case, a lane turned by tan w with |w| < 1/8: a few fused multiply-adds; a lane
     * that turned further (or stands at 0) adds 0 here, and its atan2 below */
#pragma omp simd reduction(| : large)
    for (int t = 0; t < GROUP; t++) {
        double zr = re[t] * br[t] + im[t] * bi[t], zi = im[t] * br[t] - re[t] * bi[t];
        int far = !(fabs(zi) < ATAN_SMALL * zr);
        double w = far ? 0.0 : zi / zr, u = w * w;
        double p = 1.0 / 17;
        p = p * u - 1.0 / 15;
        p = p * u + 1.0 / 13;
        p = p * u - 1.0 / 11;
        p = p * u + 1.0 / 9;
        p = p * u - 1.0 / 7;
        p = p * u + 1.0 / 5;
        p = p * u - 1.0 / 3;
        rot[t] += w + w * u * p;
        large |= far;
    }
    if (!large) return;
#pragma omp simd
    for (int t = 0; t < GROUP; t++) {
        double zr = re[t] * br[t] + im[t] * bi[t], zi = im[t] * br[t] - re[t] * bi[t];
        rot[t] += !(fabs(zi) < ATAN_SMALL * zr) ? atan2(zi, zr) : 0.0;
    }
}

/* The phase turned in this step (rot, then cleared) into turn, for the lanes still in the
 * ensemble (one group, one oscillator). */
KERNEL void turn_take(double *restrict rot, double *restrict turn, const unsigned char *restrict alive)
{
#pragma omp simd
    for (int t = 0; t < GROUP; t++) {
        turn[t] += alive[t] ? rot[t] : 0.0;
        rot[t] = 0;
    }
}

/* e^{ilφ}, φ = φ_a − φ_b, for l = 1 .. L_MAX on one group of lanes: real parts of l at
 * pw[2(l−1)·GROUP ..], imaginary parts at pw[(2l−1)·GROUP ..] */
KERNEL void phase_powers(const double *restrict ra, const double *restrict ia, const double *restrict rb,
                         const double *restrict ib, double *restrict pw)
{
    double zr[GROUP], zi[GROUP];
#pragma omp simd
    for (int t = 0; t < GROUP; t++) {
        double xr = ra[t] * rb[t] + ia[t] * ib[t], xi = ia[t] * rb[t] - ra[t] * ib[t], az = sqrt(xr * xr + xi * xi);
        zr[t] = az > 0 ? xr / az : 1;
        zi[t] = az > 0 ? xi / az : 0;
        pw[t] = zr[t];
        pw[GROUP + t] = zi[t];
    }
    for (int l = 1; l < L_MAX; l++) {
        const double *restrict pr = pw + (size_t)(2 * l - 2) * GROUP, *restrict pi = pr + GROUP;
        double *restrict qr = pw + (size_t)(2 * l) * GROUP, *restrict qi = qr + GROUP;
#pragma omp simd
        for (int t = 0; t < GROUP; t++) {
            qr[t] = pr[t] * zr[t] - pi[t] * zi[t];
            qi[t] = pr[t] * zi[t] + pi[t] * zr[t];
        }
    }
}

/* Lanes of a batch: the state of every oscillator (re, im: n × ld), the trajectory and the
 * chunk (relative to the batch's first) of each lane. Live lanes come first, in the order
 * of their trajectories; `live` of them, padded with idle lanes to whole groups.
 * Frequencies: each lane carries the phase turned in the current step (rot: n × ld: rotation
 * angles and the noise and coupling steps' arg(α/β), β the state before them in br, bi:
 * n × GROUP), the phase turned since the burn-in (turn: n × ld) and the time of its last
 * reading in the ensemble (t_end: ld); a lane dropped, and every lane at the end, leaves them in its
 * trajectory's slot (slot = chunk · CHUNK + trajectory mod CHUNK: slot_turn n × ld,
 * slot_time ld), so that chunks sum them in the order of their trajectories whatever the batch. */
typedef struct {
    double *re, *im, *tr, *ti;
    double *pw;              /* [2 · L_MAX · GROUP]: phase_powers of one group */
    double *rot, *br, *bi, *turn, *t_end, *slot_turn, *slot_time;
    double t_start;          /* the end of the burn-in */
    uint32_t *id;
    int *chunk;
    unsigned char *alive;
    size_t ld;
    int live;
} lanes;

static int groups_of(int live) { return (live + GROUP - 1) / GROUP; }

/* Lane t's phase turned and time in the ensemble into its trajectory's slot. */
static void leave_slot(lanes *w, int n, int t)
{
    size_t slot = (size_t)w->chunk[t] * CHUNK + w->id[t] % CHUNK;
    for (int j = 0; j < n; j++) w->slot_turn[(size_t)j * w->ld + slot] = w->turn[(size_t)j * w->ld + t];
    w->slot_time[slot] = w->t_end[t] - w->t_start;
}

/* Drop the escaped lanes (counting them in their chunks), keeping the order of the rest,
 * and clear the idle lanes of the last group. */
static void compact(lanes *w, int n, chunk_stats *cs)
{
    int k = 0;
    for (int t = 0; t < w->live; t++) {
        if (!w->alive[t]) {
            cs[w->chunk[t]].escaped++;
            leave_slot(w, n, t);
            continue;
        }
        if (k != t) {
            for (int j = 0; j < n; j++) {
                size_t to = (size_t)j * w->ld + k, from = (size_t)j * w->ld + t;
                w->re[to] = w->re[from];
                w->im[to] = w->im[from];
                w->rot[to] = w->rot[from];
                w->turn[to] = w->turn[from];
            }
            w->t_end[k] = w->t_end[t];
            w->id[k] = w->id[t];
            w->chunk[k] = w->chunk[t];
            w->alive[k] = 1;
        }
        k++;
    }
    w->live = k;
    for (int t = k; t < groups_of(k) * GROUP; t++) {
        for (int j = 0; j < n; j++) {
            size_t i = (size_t)j * w->ld + t;
            w->re[i] = w->im[i] = w->rot[i] = w->turn[i] = 0;
        }
        w->t_end[t] = w->t_start;
        w->id[t] = 0;
        w->alive[t] = 0;
    }
}

/* The local step of length h for every oscillator on every group of live lanes */
KERNEL void local_steps(lanes *w, int n, const osc_par *par, double h)
{
    for (int g = 0; g < groups_of(w->live); g++)
        for (int j = 0; j < n; j++)
            local_step(&par[j], h, w->re + (size_t)j * w->ld + g * GROUP, w->im + (size_t)j * w->ld + g * GROUP,
                       w->rot + (size_t)j * w->ld + g * GROUP);
}

/* One batch: chunks c0 .. c0+nc−1 (trajectories c0·CHUNK .. up to `trajectories`−1), run
 * together so that lanes freed by escaped trajectories are not stepped any further. Every
 * lane's arithmetic and every chunk's order of summation are those of the chunk alone. */
KERNEL_CLONES static void run_batch(const qs_model *m, const osc_par *par, const double complex *U, const qs_classical_options *o,
                      long c0, int nc, long trajectories, int pairs, int *pa, int *pb, chunk_stats *cs, lanes *w,
                      double *steps)
{
    int n = m->n;
    double h = 0.5 * o->dt;
    long burn = lround(o->burn_in / o->dt), total = burn + lround(o->t_measure / o->dt);
    long stride = lround(o->sample_every / o->dt);
    if (stride < 1) stride = 1;
    uint32_t seed_lo = (uint32_t)o->seed, seed_hi = (uint32_t)(o->seed >> 32);
    size_t ld = w->ld;
    double *re = w->re, *im = w->im;
    /* start on the limit cycle: |α|² = n+ + ½ (between the two Lorentzians), random phase */
    w->live = 0;
    w->t_start = (double)burn * o->dt;
    for (size_t k = 0; k < ld; k++) {
        w->slot_time[k] = 0;
        for (int j = 0; j < n; j++) w->slot_turn[(size_t)j * ld + k] = w->turn[(size_t)j * ld + k] = w->rot[(size_t)j * ld + k] = 0;
        w->t_end[k] = w->t_start;
    }
    for (int c = 0; c < nc; c++)
        for (int t = 0; t < CHUNK; t++) {
            long traj = (c0 + c) * CHUNK + t;
            if (traj >= trajectories) break;
            int k = w->live++;
            w->id[k] = (uint32_t)traj;
            w->chunk[k] = c;
            w->alive[k] = 1;
            for (int j = 0; j < n; j++) {
                philox4x32_ctr_t ctr = {{0xffffffffu, (uint32_t)j, seed_hi, 0xffffffffu}};
                philox4x32_key_t key = {{(uint32_t)traj, seed_lo}};
                philox4x32_ctr_t r = philox4x32(ctr, key);
                double a = sqrt(fmax(par[j].np + 0.5, 0.1));
                double ph = 2 * M_PI * (double)((((uint64_t)r.v[0] << 32) | r.v[1]) >> 11) * 0x1p-53;
                re[(size_t)j * ld + k] = a * cos(ph);
                im[(size_t)j * ld + k] = a * sin(ph);
            }
        }
    compact(w, n, cs);
    int has_coupling = m->n_couplings > 0;
    /* Strang splitting L(h) [C(h) N C(h)] L(h); consecutive L(h) L(h) are one L(2h) except
     * where the state is read (samples, escape checks at the end of every step are cheap
     * and use the state after the first half) */
    local_steps(w, n, par, h);
    int alive = w->live;
    for (long step = 0; step < total && alive > 0; step++) {
        int sample = step + 1 >= burn && (step + 1 - burn) % stride == 0, last = step + 1 == total;
        double h_end = !sample && !last ? 2 * h : h;
        int measure = step >= burn;                                  /* frequencies: after the burn-in */
        for (int g = 0; g < groups_of(w->live); g++) {
            double *gr = re + g * GROUP, *gi = im + g * GROUP, *grot = w->rot + g * GROUP;
            for (int j = 0; measure && j < n; j++) {
                memcpy(w->br + (size_t)j * GROUP, gr + (size_t)j * ld, GROUP * sizeof *gr);
                memcpy(w->bi + (size_t)j * GROUP, gi + (size_t)j * ld, GROUP * sizeof *gi);
            }
            if (has_coupling) coupling_step(n, U, gr, gi, ld, w->tr, w->ti);
            for (int j = 0; j < n; j += 2)
                if (par[j].amp > 0 || (j + 1 < n && par[j + 1].amp > 0))
                    noise_step(par[j].amp, j + 1 < n ? par[j + 1].amp : 0, (uint32_t)step, (uint32_t)(step >> 32), (uint32_t)j, seed_lo,
                               seed_hi, w->id + g * GROUP, gr + (size_t)j * ld, gi + (size_t)j * ld,
                               j + 1 < n ? gr + (size_t)(j + 1) * ld : NULL, j + 1 < n ? gi + (size_t)(j + 1) * ld : NULL);
            if (has_coupling) coupling_step(n, U, gr, gi, ld, w->tr, w->ti);
            for (int j = 0; measure && j < n; j++)
                phase_turned(w->br + (size_t)j * GROUP, w->bi + (size_t)j * GROUP, gr + (size_t)j * ld, gi + (size_t)j * ld,
                             grot + (size_t)j * ld);
            for (int j = 0; j < n; j++) local_step(&par[j], h_end, gr + (size_t)j * ld, gi + (size_t)j * ld, grot + (size_t)j * ld);
        }
        *steps += (double)alive * n;                                 /* the trajectories still in the ensemble */
        int escapes = 0;                                             /* the quasi-stationary ensemble */
        for (int g = 0; g < groups_of(w->live); g++)
            for (int j = 0; j < n; j++)
                escapes += escape_check(re + (size_t)j * ld + g * GROUP, im + (size_t)j * ld + g * GROUP, o->cutoff,
                                        w->alive + g * GROUP);
        /* frequencies: the phase turned by every lane still in the ensemble, from the end of
         * the burn-in on (the state is read at (step + 1) dt, plus h where two half steps merge) */
        if (measure) {
            double t_now = (double)(step + 1) * o->dt + (h_end > h ? h : 0);
            for (int g = 0; g < groups_of(w->live); g++) {
                size_t at = (size_t)g * GROUP;
                for (int j = 0; j < n; j++) turn_take(w->rot + (size_t)j * ld + at, w->turn + (size_t)j * ld + at, w->alive + at);
                for (int t = 0; t < GROUP; t++) w->t_end[at + t] = w->alive[at + t] ? t_now : w->t_end[at + t];
            }
        } else if (step + 1 == burn) {
            memset(w->rot, 0, (size_t)n * ld * sizeof *w->rot);      /* the burn-in's rotation is not counted */
        }
        for (int g = 0; sample && g < groups_of(w->live); g++) {
            int top = w->live - g * GROUP < GROUP ? w->live - g * GROUP : GROUP;
            for (int t = g * GROUP; t < g * GROUP + top; t++) {
                if (!w->alive[t]) continue;
                chunk_stats *s = &cs[w->chunk[t]];
                s->samples += 1;
                s->x_count += 1;
                for (int j = 0; j < n; j++) {
                    double x = re[(size_t)j * ld + t] * re[(size_t)j * ld + t] + im[(size_t)j * ld + t] * im[(size_t)j * ld + t];
                    s->x[j] += x;
                    if (o->hist_bins > 0 && x < o->hist_max) s->hist[(size_t)j * o->hist_bins + (size_t)(x / o->hist_max * o->hist_bins)] += 1;
                }
            }
            for (int q = 0; q < pairs; q++) {
                phase_powers(re + (size_t)pa[q] * ld + g * GROUP, im + (size_t)pa[q] * ld + g * GROUP,
                             re + (size_t)pb[q] * ld + g * GROUP, im + (size_t)pb[q] * ld + g * GROUP, w->pw);
                for (int t = 0; t < top; t++) {                       /* in the order of the trajectories */
                    if (!w->alive[g * GROUP + t]) continue;
                    double complex *c = cs[w->chunk[g * GROUP + t]].c + (size_t)q * L_MAX;
                    for (int l = 0; l < L_MAX; l++) c[l] += CMPLX(w->pw[(2 * l) * GROUP + t], w->pw[(2 * l + 1) * GROUP + t]);
                }
            }
        }
        if (sample && !last) local_steps(w, n, par, h);               /* the rest of the step stopped to be read */
        alive -= escapes;
        if (groups_of(alive) < groups_of(w->live)) compact(w, n, cs);     /* whole groups freed */
    }
    compact(w, n, cs);
    for (int t = 0; t < w->live; t++) leave_slot(w, n, t);
    for (int c = 0; c < nc; c++)                                         /* in the order of the trajectories */
        for (int t = 0; t < CHUNK && (c0 + c) * CHUNK + t < trajectories; t++) {
            size_t slot = (size_t)c * CHUNK + t;
            for (int j = 0; j < n; j++) cs[c].turn[j] += w->slot_turn[(size_t)j * ld + slot];
            cs[c].time += w->slot_time[slot];
        }
}

/* Harmonics kept for pair q: 1..keep, each standing above `significance` standard errors
 * of its mean over the replicas (all but replica `skip`; −1: all). Scanning upward and
 * stopping at the first one lost in the noise keeps a harmonic of pure noise out (which
 * would bias S up) without a high threshold (which drops weak real harmonics and biases
 * S down). */
static int harmonics_kept(const double complex *sum, double samples, const double complex *rc, const double *rs, int R,
                          int pairs, int q, int skip, double significance)
{
    int keep = 0, used = skip >= 0 ? R - 1 : R;
    if (used < 2) return 0;
    for (int l = 0; l < L_MAX; l++) {
        double complex mean = sum[l] / samples;
        double var = 0;
        for (int r = 0; r < R; r++) {
            if (r == skip) continue;
            double complex d = rc[((size_t)r * pairs + q) * L_MAX + l] / rs[r] - mean;
            var += creal(d * conj(d));
        }
        double se = sqrt(var / ((double)used * (used - 1)));
        if (!(cabs(mean) > significance * se)) break;
        keep = l + 1;
    }
    return keep;
}

/* S from coefficient sums: c_l = sum_l / samples over harmonics 1..keep */
static double S_of(const double complex *sum, double samples, int keep, double *phi)
{
    double complex c[L_MAX + 1];
    c[0] = 1;
    for (int l = 1; l <= keep; l++) c[l] = sum[l - 1] / samples;
    double S, ph;
    qs_phase_max(keep, c, &S, &ph);
    if (phi) *phi = ph;
    return S;
}

/* Jackknife standard error of R leave-one-out estimates x[0], x[stride], … */
static double jackknife(const double *x, int stride, int R)
{
    double mean = 0, var = 0;
    for (int r = 0; r < R; r++) mean += x[(size_t)r * stride] / R;
    for (int r = 0; r < R; r++) var += (x[(size_t)r * stride] - mean) * (x[(size_t)r * stride] - mean);
    return sqrt((R - 1.0) / R * var);
}

/* The frequencies live in the allocation of mean_x, after its n entries (so that the
 * result keeps its layout): ν [n], ν_err [n], beat [pairs], beat_err [pairs]. */
#define FREQ_NU(n) (n)
#define FREQ_NU_ERR(n) (2 * (size_t)(n))
#define FREQ_BEAT(n) (3 * (size_t)(n))
#define FREQ_BEAT_ERR(n, pairs) (3 * (size_t)(n) + (size_t)(pairs))
#define FREQ_END(n, pairs) (3 * (size_t)(n) + 2 * (size_t)(pairs))

static double freq_get(const qs_classical_result *r, size_t at, int i, int count)
{
    return r && r->mean_x && i >= 0 && i < count ? r->mean_x[at + (size_t)i] : NAN;
}
double qs_classical_nu(const qs_classical_result *r, int j) { return freq_get(r, FREQ_NU(r ? r->n : 0), j, r ? r->n : 0); }
double qs_classical_nu_err(const qs_classical_result *r, int j) { return freq_get(r, FREQ_NU_ERR(r ? r->n : 0), j, r ? r->n : 0); }
double qs_classical_beat(const qs_classical_result *r, int q) { return freq_get(r, FREQ_BEAT(r ? r->n : 0), q, r ? r->pairs : 0); }
double qs_classical_beat_err(const qs_classical_result *r, int q)
{
    return freq_get(r, FREQ_BEAT_ERR(r ? r->n : 0, r ? r->pairs : 0), q, r ? r->pairs : 0);
}

/* An ensemble that can grow: the model's parameters, the options, and every chunk's sums.
 * Results always combine all chunks in chunk order, so an ensemble grown in steps to N
 * trajectories gives bit for bit the result of one run of N. */
struct qs_classical_ensemble {
    const qs_model *m;                 /* not owned */
    qs_classical_options o;
    int n, pairs, *pa, *pb;
    osc_par *par;
    double complex *U;                 /* exp(−i C dt/2) */
    long chunks, cap;
    int trajectories;
    chunk_stats *cs;
    double seconds;
    double steps;                      /* oscillator-steps of trajectories in the ensemble */
};

static void chunk_free(chunk_stats *c)
{
    free(c->c);
    free(c->x);
    free(c->hist);
    free(c->turn);
    memset(c, 0, sizeof *c);
}

void qs_classical_ensemble_free(qs_classical_ensemble **ens)
{
    if (!ens || !*ens) return;
    qs_classical_ensemble *e = *ens;
    for (long c = 0; c < e->chunks; c++) chunk_free(&e->cs[c]);
    free(e->cs);
    free(e->par);
    free(e->U);
    free(e->pa);
    free(e->pb);
    free(e);
    *ens = NULL;
}

int qs_classical_ensemble_create(const qs_model *m, const qs_classical_options *opt, qs_classical_ensemble **out, qs_error *err)
{
    *out = NULL;
    qs_classical_options o;
    if (opt) o = *opt; else qs_classical_defaults(&o);
    if (!(o.dt > 0) || !(o.burn_in >= 0) || !(o.t_measure > 0) || !(o.sample_every > 0) || o.trajectories < 2 ||
        o.replicas < QS_CLASSICAL_MIN_REPLICAS || !(o.cutoff > 0) || !(o.significance >= 0) || o.hist_bins < 0 ||
        (o.hist_bins > 0 && !(o.hist_max > 0)))
        return qs_error_set(err, QS_EINPUT, "classical options: dt, t_measure, sample_every, cutoff > 0; trajectories >= 2, replicas >= %d",
                            QS_CLASSICAL_MIN_REPLICAS);
    /* step counts in range (they are rounded to long integers) */
    double steps = (o.burn_in + o.t_measure) / o.dt, stride = o.sample_every / o.dt;
    if (!(steps <= QS_CLASSICAL_MAX_STEPS) || !(stride <= QS_CLASSICAL_MAX_STEPS))
        return qs_error_set(err, QS_EINPUT, "classical options: %s/dt = %.3g time steps, more than %.0e",
                            steps > stride ? "(burn_in + t_measure)" : "sample_every", steps > stride ? steps : stride, QS_CLASSICAL_MAX_STEPS);
    /* the rotation's phase per step, −(ω − 2K|α|²) dt/2, is rounded to ε |Ω| dt/2 (ε = DBL_EPSILON) and
     * so is |α| (its cosine and sine are of that phase): over the run's (burn_in + t_measure)/dt steps
     * that adds up to ε |Ω| (burn_in + t_measure), at most QS_CLASSICAL_PHASE_ERROR_MAX */
    for (int j = 0; j < m->n; j++) {
        const qs_osc *q = &m->osc[j];
        double w = fabs(q->omega), k = 2 * fabs(q->K) * o.cutoff, drift = DBL_EPSILON * (w + k) * (o.burn_in + o.t_measure);
        if (!(drift <= QS_CLASSICAL_PHASE_ERROR_MAX))
            return qs_error_set(err, QS_EINPUT, "oscillator %s: %s = %g rotates by |Omega| dt/2 = %.3g per half step, so rounding "
                                "(eps |Omega| (burn_in + t_measure) = %.3g, above %g) would corrupt the phases and amplitudes over "
                                "the run: double precision resolves |Omega| <= %.3g here; subtract a common frequency from every "
                                "omega (a rotating frame, the same S)", m->names[j], w >= k ? "omega" : "K",
                                w >= k ? q->omega : q->K, (w + k) * 0.5 * o.dt, drift, QS_CLASSICAL_PHASE_ERROR_MAX,
                                QS_CLASSICAL_PHASE_ERROR_MAX / (DBL_EPSILON * (o.burn_in + o.t_measure)));
    }
    /* without noise the dynamics are deterministic: P(φ) is a delta and S only counts harmonics */
    int noisy = 0;
    for (int j = 0; j < m->n; j++) noisy |= m->osc[j].noise > 0;
    if (!noisy)
        return qs_error_set(err, QS_EINPUT, "oscillator %s: noise = 0, as for every oscillator, so the classical dynamics "
                            "(Eq. 5) are deterministic and S is not defined (P(phi) is a delta): set noise = gamma_T n_T, "
                            "e.g. noise = 0.1 as in Fig. 2a (examples/fig2a.ini)", m->names[0]);
    qs_classical_ensemble *e = calloc(1, sizeof *e);
    if (!e) return qs_error_set(err, QS_ENOMEM, "out of memory");
    int n = m->n, pairs = n * (n - 1) / 2;
    e->m = m;
    e->o = o;
    e->n = n;
    e->pairs = pairs;
    e->par = calloc((size_t)n, sizeof *e->par);
    double complex *C = calloc((size_t)n * n, sizeof *C);
    e->U = calloc((size_t)n * n, sizeof *e->U);
    e->pa = malloc((size_t)(pairs ? pairs : 1) * sizeof *e->pa);
    e->pb = malloc((size_t)(pairs ? pairs : 1) * sizeof *e->pb);
    if (!e->par || !C || !e->U || !e->pa || !e->pb) {
        free(C);
        qs_classical_ensemble_free(&e);
        return qs_error_set(err, QS_ENOMEM, "out of memory");
    }
    for (int j = 0; j < n; j++) {
        const qs_osc *q = &m->osc[j];
        e->par[j] = (osc_par){q->omega, q->K, q->gamma_plus, q->gamma_minus, q->sigma_plus * q->sigma_plus,
                              q->sigma_minus * q->sigma_minus, q->n_plus, q->n_minus, q->gamma_T,
                              sqrt(0.5 * q->noise * o.dt)};
    }
    for (int i = 0; i < m->n_couplings; i++) {
        C[(size_t)m->couplings[i].j * n + m->couplings[i].k] = m->couplings[i].c;
        C[(size_t)m->couplings[i].k * n + m->couplings[i].j] = conj(m->couplings[i].c);
    }
    /* U = exp(−i C dt/2) = V diag(e^{−iλ dt/2}) V† */
    double complex *V = malloc((size_t)n * n * sizeof *V);
    double *w = malloc((size_t)n * sizeof *w);
    int ok = V && w;
    if (ok) {
        memcpy(V, C, (size_t)n * n * sizeof *V);
        ok = LAPACKE_zheev(LAPACK_ROW_MAJOR, 'V', 'U', n, (lapack_complex_double *)V, n, w) == 0;
    }
    for (int j = 0; ok && j < n; j++)
        for (int k = 0; k < n; k++) {
            double complex sum = 0;
            for (int x = 0; x < n; x++) sum += V[(size_t)j * n + x] * cexp(-I * w[x] * 0.5 * o.dt) * conj(V[(size_t)k * n + x]);
            e->U[(size_t)j * n + k] = sum;
        }
    free(V);
    free(w);
    free(C);
    if (!ok) {
        qs_classical_ensemble_free(&e);
        return qs_error_set(err, QS_ENUMERIC, "eigen-decomposition of the coupling matrix failed");
    }
    int q = 0;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++, q++) { e->pa[q] = a; e->pb[q] = b; }
    *out = e;
    return QS_OK;
}

int qs_classical_ensemble_grow(qs_classical_ensemble *e, int trajectories, qs_error *err)
{
    if (trajectories <= e->trajectories) return QS_OK;
    double t0 = qs_now();
    long chunks = (trajectories + CHUNK - 1) / CHUNK;
    if (chunks > e->cap) {
        chunk_stats *cs = realloc(e->cs, (size_t)chunks * sizeof *cs);
        if (!cs) return qs_error_set(err, QS_ENOMEM, "out of memory");
        memset(cs + e->cap, 0, (size_t)(chunks - e->cap) * sizeof *cs);
        e->cs = cs;
        e->cap = chunks;
    }
    long from = e->chunks;
    if (from > 0 && (long)e->trajectories < from * CHUNK) chunk_free(&e->cs[--from]);   /* a partial chunk is run again, whole */
    int n = e->n, pairs = e->pairs, failed = 0, threads = e->o.threads > 0 ? e->o.threads : omp_get_max_threads();
    const qs_classical_options *o = &e->o;
    for (long c = from; c < chunks; c++) {
        chunk_stats *cs = &e->cs[c];
        cs->c = calloc((size_t)(pairs ? pairs : 1) * L_MAX, sizeof *cs->c);
        cs->x = calloc((size_t)n, sizeof *cs->x);
        cs->hist = o->hist_bins > 0 ? calloc((size_t)n * o->hist_bins, sizeof *cs->hist) : NULL;
        cs->turn = calloc((size_t)n, sizeof *cs->turn);
        if (!cs->c || !cs->x || !cs->turn || (o->hist_bins > 0 && !cs->hist)) failed = 1;
    }
    /* batches of up to BATCH chunks, at least two per thread where there are enough chunks
     * (the batching changes no result: only which lanes are stepped) */
    long todo = chunks - from, per = (todo + 2L * threads - 1) / (2L * threads);
    int batch = failed ? 0 : (int)(per < 1 ? 1 : per > BATCH ? BATCH : per);
    long batches = batch ? (todo + batch - 1) / batch : 0;
    double steps = 0;
#pragma omp parallel num_threads(threads) reduction(+ : steps)
    {
        size_t ld = (size_t)BATCH * CHUNK;
        lanes w = {.ld = ld};
        w.re = malloc(ld * n * sizeof *w.re);
        w.im = malloc(ld * n * sizeof *w.im);
        w.tr = malloc((size_t)GROUP * n * sizeof *w.tr);
        w.ti = malloc((size_t)GROUP * n * sizeof *w.ti);
        w.id = malloc(ld * sizeof *w.id);
        w.chunk = malloc(ld * sizeof *w.chunk);
        w.alive = malloc(ld);
        w.pw = malloc((size_t)2 * L_MAX * GROUP * sizeof *w.pw);
        w.rot = malloc(ld * n * sizeof *w.rot);
        w.br = malloc((size_t)GROUP * n * sizeof *w.br);
        w.bi = malloc((size_t)GROUP * n * sizeof *w.bi);
        w.turn = malloc(ld * n * sizeof *w.turn);
        w.slot_turn = malloc(ld * n * sizeof *w.slot_turn);
        w.t_end = malloc(ld * sizeof *w.t_end);
        w.slot_time = malloc(ld * sizeof *w.slot_time);
        int ok = w.re && w.im && w.tr && w.ti && w.pw && w.id && w.chunk && w.alive && w.rot && w.br && w.bi && w.turn &&
                 w.slot_turn && w.t_end && w.slot_time;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (long b = 0; b < batches; b++) {
            long c0 = from + b * batch;
            int nc = (int)(chunks - c0 < batch ? chunks - c0 : batch);
            if (ok) run_batch(e->m, e->par, e->U, o, c0, nc, trajectories, pairs, e->pa, e->pb, e->cs + c0, &w, &steps);
        }
        free(w.re); free(w.im); free(w.tr); free(w.ti); free(w.id); free(w.chunk); free(w.alive); free(w.pw);
        free(w.rot); free(w.br); free(w.bi); free(w.turn); free(w.slot_turn); free(w.t_end); free(w.slot_time);
    }
    e->chunks = chunks;
    e->trajectories = trajectories;
    e->seconds += qs_now() - t0;
    e->steps += steps;
    if (failed) return qs_error_set(err, QS_ENOMEM, "out of memory");
    return QS_OK;
}

int qs_classical_ensemble_result(const qs_classical_ensemble *e, qs_classical_result *res, qs_error *err)
{
    memset(res, 0, sizeof *res);
    const qs_classical_options *o = &e->o;
    int n = e->n, pairs = e->pairs;
    long chunks = e->chunks;
    int R = o->replicas < chunks ? o->replicas : (int)chunks;
    if (R < QS_CLASSICAL_MIN_REPLICAS)
        return qs_error_set(err, QS_EINPUT, "an ensemble needs at least %d trajectories (%d groups of %d) for its error",
                            QS_CLASSICAL_MIN_REPLICAS * CHUNK - CHUNK + 1, QS_CLASSICAL_MIN_REPLICAS, CHUNK);
    /* combine in chunk order: replicas r = chunk mod R, and the pool */
    double complex *rc = calloc((size_t)R * (pairs ? pairs : 1) * L_MAX, sizeof *rc), *pool = calloc((size_t)(pairs ? pairs : 1) * L_MAX, sizeof *pool);
    double *rs = calloc((size_t)R, sizeof *rs), *Sj = malloc((size_t)R * sizeof *Sj), pool_s = 0;
    res->n = n;
    res->pairs = pairs;
    res->pair = calloc((size_t)(pairs ? pairs : 1), sizeof *res->pair);
    res->mean_x = calloc((size_t)FREQ_END(n, pairs), sizeof *res->mean_x);   /* the frequencies after mean_x */
    res->hist = o->hist_bins > 0 ? calloc((size_t)n * o->hist_bins, sizeof *res->hist) : NULL;
    int status = QS_OK;
    if (!rc || !pool || !rs || !Sj || !res->pair || !res->mean_x || (o->hist_bins > 0 && !res->hist))
        status = qs_error_set(err, QS_ENOMEM, "out of memory");
    double *rturn = calloc((size_t)R * n, sizeof *rturn), *rtime = calloc((size_t)R, sizeof *rtime), *pturn = calloc((size_t)n, sizeof *pturn);
    double *nuj = malloc((size_t)R * (n + 1) * sizeof *nuj), ptime = 0;          /* ν_j without replica r; a beat's */
    if (status == QS_OK && (!rturn || !rtime || !pturn || !nuj)) status = qs_error_set(err, QS_ENOMEM, "out of memory");
    double xc = 0;
    int escaped = 0;
    for (long c = 0; status == QS_OK && c < chunks; c++) {
        int r = (int)(c % R);
        for (size_t k = 0; k < (size_t)pairs * L_MAX; k++) {
            rc[(size_t)r * pairs * L_MAX + k] += e->cs[c].c[k];
            pool[k] += e->cs[c].c[k];
        }
        rs[r] += e->cs[c].samples;
        pool_s += e->cs[c].samples;
        for (int j = 0; j < n; j++) res->mean_x[j] += e->cs[c].x[j];
        for (size_t k = 0; res->hist && k < (size_t)n * o->hist_bins; k++) res->hist[k] += e->cs[c].hist[k];
        xc += e->cs[c].x_count;
        escaped += e->cs[c].escaped;
        for (int j = 0; j < n; j++) {
            rturn[(size_t)r * n + j] += e->cs[c].turn[j];
            pturn[j] += e->cs[c].turn[j];
        }
        rtime[r] += e->cs[c].time;
        ptime += e->cs[c].time;
    }
    if (status == QS_OK && pool_s < 2)
        status = qs_error_set(err, QS_ENUMERIC, "no samples: every trajectory escaped beyond the cutoff %g before sampling", o->cutoff);
    for (int j = 0; status == QS_OK && j < n; j++) res->mean_x[j] /= xc;
    for (int q = 0; status == QS_OK && q < pairs; q++) {
        const double complex *P = pool + (size_t)q * L_MAX;
        qs_classical_pair *out = &res->pair[q];
        out->harmonics = harmonics_kept(P, pool_s, rc, rs, R, pairs, q, -1, o->significance);
        out->S = S_of(P, pool_s, out->harmonics, &out->phi_max);
        double complex loo[L_MAX];
        /* jackknife: leave replica r out, choosing the harmonics again, so that the error
         * also holds the uncertainty of that choice (which dominates where S is small) */
        for (int r = 0; r < R; r++) {
            for (int l = 0; l < L_MAX; l++) loo[l] = P[l] - rc[((size_t)r * pairs + q) * L_MAX + l];
            int keep = harmonics_kept(loo, pool_s - rs[r], rc, rs, R, pairs, q, r, o->significance);
            Sj[r] = S_of(loo, pool_s - rs[r], keep, NULL);
        }
        out->S_err = jackknife(Sj, 1, R);
    }
    /* frequencies: ν_j = −(phase turned)/(time in the ensemble); jackknife over the replicas,
     * a beat's on the difference of the leave-one-out frequencies */
    if (status == QS_OK) {
        double *nu = res->mean_x + FREQ_NU(n), *nu_err = res->mean_x + FREQ_NU_ERR(n);
        double *beat = res->mean_x + FREQ_BEAT(n), *beat_err = res->mean_x + FREQ_BEAT_ERR(n, pairs);
        for (int j = 0; j < n; j++) {
            nu[j] = -pturn[j] / ptime;
            for (int r = 0; r < R; r++) nuj[(size_t)r * n + j] = -(pturn[j] - rturn[(size_t)r * n + j]) / (ptime - rtime[r]);
            nu_err[j] = jackknife(nuj + j, n, R);
        }
        for (int q = 0; q < pairs; q++) {
            double *d = nuj + (size_t)R * n;
            beat[q] = nu[e->pa[q]] - nu[e->pb[q]];
            for (int r = 0; r < R; r++) d[r] = nuj[(size_t)r * n + e->pa[q]] - nuj[(size_t)r * n + e->pb[q]];
            beat_err[q] = jackknife(d, 1, R);
        }
    }
    res->escaped_fraction = (double)escaped / e->trajectories;
    res->samples = pool_s;
    res->osc_steps = e->steps;
    res->seconds = e->seconds;
    free(rc); free(pool); free(rs); free(Sj);
    free(rturn); free(rtime); free(pturn); free(nuj);
    if (status != QS_OK) qs_classical_result_free(res);
    return status;
}

int qs_classical_run(const qs_model *m, const qs_classical_options *opt, qs_classical_result *res, qs_error *err)
{
    memset(res, 0, sizeof *res);
    qs_classical_ensemble *e;
    int status = qs_classical_ensemble_create(m, opt, &e, err);
    if (status != QS_OK) return status;
    status = qs_classical_ensemble_grow(e, e->o.trajectories, err);
    if (status == QS_OK) status = qs_classical_ensemble_result(e, res, err);
    qs_classical_ensemble_free(&e);
    return status;
}
