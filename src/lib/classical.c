/* classical.c — Monte Carlo of the Langevin equations (see qsync/classical.h).
 *
 * Trajectories run in fixed chunks of CHUNK lanes (structure of arrays, loops over lanes
 * vectorised; this file is compiled with -ffast-math for glibc's vector exp/log/sin/cos).
 * A chunk's averages are kept apart and combined in chunk order at the end, and chunk c
 * belongs to replica c mod R. Nothing depends on which thread ran a chunk.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lapacke.h>
#include <omp.h>
#include <Random123/philox.h>
#include "qsync/classical.h"
#include "internal.h"

#define CHUNK 32
#define L_MAX QS_CLASSICAL_HARMONICS

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
    double omega, K, gp, gm, sp2, sm2, np, nm, gT, noise;
} osc_par;

/* per chunk: sums of e^{ilφ} per pair and harmonic, samples, Σ|α|² per oscillator */
typedef struct {
    double complex *c;    /* [pairs · L_MAX] */
    double samples;       /* phase samples (same for every pair) */
    double *x;            /* [n] */
    double *hist;         /* [n · bins] */
    double x_count;
    int escaped;
} chunk_stats;

/* local step of length h for one oscillator over a chunk: damping at the midpoint
 * amplitude, exact rotation by Ω(|α|²) */
static void local_step(const osc_par *p, double h, double *restrict re, double *restrict im)
{
    const double np = p->np, nm = p->nm, sp2 = p->sp2, sm2 = p->sm2, gp = p->gp, gm = p->gm, gT = p->gT;
    const double omega = p->omega, K2 = 2 * p->K;
#pragma omp simd
    for (int t = 0; t < CHUNK; t++) {
        double x = re[t] * re[t] + im[t] * im[t];
        double dp = x - np, dm = x - nm;
        double g0 = gm * sm2 / (dm * dm + sm2) - gp * sp2 / (dp * dp + sp2) + gT;
        double xm = 0.5 * x * (1 + exp(-g0 * h));
        dp = xm - np;
        dm = xm - nm;
        double g = gm * sm2 / (dm * dm + sm2) - gp * sp2 / (dp * dp + sp2) + gT;
        double f = exp(-0.5 * g * h), th = -(omega - K2 * xm) * h;
        /* cos as a shifted sin: GCC would fuse sin and cos into sincos, which has no vector form */
        double c = f * sin(th + 0.5 * M_PI), s = f * sin(th), r = re[t], i = im[t];
        re[t] = r * c - i * s;
        im[t] = r * s + i * c;
    }
}

/* α_j += √(D dt/2)(n1 + i n2), normals from Philox by Box–Muller */
static void noise_step(double amp, uint32_t step_lo, uint32_t step_hi, uint32_t j, uint32_t seed_lo, uint32_t seed_hi,
                       long first, double *restrict re, double *restrict im)
{
#pragma omp simd
    for (int t = 0; t < CHUNK; t++) {
        philox4x32_ctr_t ctr = {{step_lo, j, seed_hi, step_hi}};
        philox4x32_key_t key = {{(uint32_t)(first + t), seed_lo}};
        philox4x32_ctr_t r = philox4x32(ctr, key);
        double u1 = ((double)((((uint64_t)r.v[0] << 32) | r.v[1]) >> 11) + 1.0) * 0x1p-53;
        double u2 = (double)((((uint64_t)r.v[2] << 32) | r.v[3]) >> 11) * 0x1p-53;
        double rad = amp * sqrt(-2 * log(u1)), ang = 2 * M_PI * u2;
        re[t] += rad * sin(ang + 0.5 * M_PI);
        im[t] += rad * sin(ang);
    }
}

static void coupling_step(int n, const double complex *U, double *restrict re, double *restrict im, double *restrict tr,
                          double *restrict ti)
{
    for (int j = 0; j < n; j++) {
        double *restrict ore = tr + (size_t)j * CHUNK, *restrict oim = ti + (size_t)j * CHUNK;
        for (int t = 0; t < CHUNK; t++) ore[t] = oim[t] = 0;
        for (int k = 0; k < n; k++) {
            double ur = creal(U[(size_t)j * n + k]), ui = cimag(U[(size_t)j * n + k]);
            const double *restrict ar = re + (size_t)k * CHUNK, *restrict ai = im + (size_t)k * CHUNK;
#pragma omp simd
            for (int t = 0; t < CHUNK; t++) {
                ore[t] += ur * ar[t] - ui * ai[t];
                oim[t] += ur * ai[t] + ui * ar[t];
            }
        }
    }
    memcpy(re, tr, (size_t)n * CHUNK * sizeof *re);
    memcpy(im, ti, (size_t)n * CHUNK * sizeof *im);
}

/* One chunk: trajectories first .. first+count−1 (lanes beyond count run but are not counted). */
static void run_chunk(const qs_model *m, const osc_par *par, const double complex *U, const qs_classical_options *o,
                      long first, int count, int pairs, int *pa, int *pb, chunk_stats *cs, double *work)
{
    int n = m->n;
    double *re = work, *im = work + (size_t)n * CHUNK, *tr = im + (size_t)n * CHUNK, *ti = tr + (size_t)n * CHUNK;
    unsigned char alive[CHUNK];
    double h = 0.5 * o->dt;
    long burn = lround(o->burn_in / o->dt), total = burn + lround(o->t_measure / o->dt);
    long stride = lround(o->sample_every / o->dt);
    if (stride < 1) stride = 1;
    uint32_t seed_lo = (uint32_t)o->seed, seed_hi = (uint32_t)(o->seed >> 32);
    /* start on the limit cycle: |α|² = n+ + ½ (between the two Lorentzians), random phase */
    for (int t = 0; t < CHUNK; t++) {
        alive[t] = t < count;
        for (int j = 0; j < n; j++) {
            philox4x32_ctr_t ctr = {{0xffffffffu, (uint32_t)j, seed_hi, 0xffffffffu}};
            philox4x32_key_t key = {{(uint32_t)(first + t), seed_lo}};
            philox4x32_ctr_t r = philox4x32(ctr, key);
            double a = sqrt(fmax(par[j].np + 0.5, 0.1));
            double ph = 2 * M_PI * (double)((((uint64_t)r.v[0] << 32) | r.v[1]) >> 11) * 0x1p-53;
            re[(size_t)j * CHUNK + t] = a * cos(ph);
            im[(size_t)j * CHUNK + t] = a * sin(ph);
        }
    }
    /* Strang splitting L(h) [C(h) N C(h)] L(h); consecutive L(h) L(h) are one L(2h) except
     * where the state is read (samples, escape checks at the end of every step are cheap
     * and use the state after the first half) */
    for (int j = 0; j < n; j++) local_step(&par[j], h, re + (size_t)j * CHUNK, im + (size_t)j * CHUNK);
    for (long step = 0; step < total; step++) {
        int has_coupling = m->n_couplings > 0;
        if (has_coupling) coupling_step(n, U, re, im, tr, ti);
        for (int j = 0; j < n; j++)
            if (par[j].noise > 0)
                noise_step(sqrt(0.5 * par[j].noise * o->dt), (uint32_t)step, (uint32_t)(step >> 32), (uint32_t)j, seed_lo,
                           seed_hi, first, re + (size_t)j * CHUNK, im + (size_t)j * CHUNK);
        if (has_coupling) coupling_step(n, U, re, im, tr, ti);
        int sample = step + 1 >= burn && (step + 1 - burn) % stride == 0, last = step + 1 == total;
        if (!sample && !last) {
            for (int j = 0; j < n; j++) local_step(&par[j], 2 * h, re + (size_t)j * CHUNK, im + (size_t)j * CHUNK);
        } else {
            for (int j = 0; j < n; j++) local_step(&par[j], h, re + (size_t)j * CHUNK, im + (size_t)j * CHUNK);
        }
        for (int j = 0; j < n; j++) {                                /* the quasi-stationary ensemble */
            const double *r = re + (size_t)j * CHUNK, *i = im + (size_t)j * CHUNK;
            for (int t = 0; t < CHUNK; t++)
                if (r[t] * r[t] + i[t] * i[t] > o->cutoff) alive[t] = 0;
        }
        if (!sample && !last) continue;
        for (int t = 0; sample && t < count; t++) {
            if (!alive[t]) continue;
            cs->samples += 1;
            cs->x_count += 1;
            for (int j = 0; j < n; j++) {
                double x = re[(size_t)j * CHUNK + t] * re[(size_t)j * CHUNK + t] + im[(size_t)j * CHUNK + t] * im[(size_t)j * CHUNK + t];
                cs->x[j] += x;
                if (o->hist_bins > 0 && x < o->hist_max) cs->hist[(size_t)j * o->hist_bins + (size_t)(x / o->hist_max * o->hist_bins)] += 1;
            }
            for (int q = 0; q < pairs; q++) {
                double complex za = CMPLX(re[(size_t)pa[q] * CHUNK + t], im[(size_t)pa[q] * CHUNK + t]);
                double complex zb = CMPLX(re[(size_t)pb[q] * CHUNK + t], im[(size_t)pb[q] * CHUNK + t]);
                double complex z = za * conj(zb), zl = 1.0;
                double az = cabs(z);
                z = az > 0 ? z / az : 1.0;                            /* e^{iφ}, φ = φ_a − φ_b */
                for (int l = 0; l < L_MAX; l++) {
                    zl *= z;
                    cs->c[(size_t)q * L_MAX + l] += zl;
                }
            }
        }
        if (!last)
            for (int j = 0; j < n; j++) local_step(&par[j], h, re + (size_t)j * CHUNK, im + (size_t)j * CHUNK);
    }
    for (int t = 0; t < count; t++) cs->escaped += !alive[t];
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
};

static void chunk_free(chunk_stats *c)
{
    free(c->c);
    free(c->x);
    free(c->hist);
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
        o.replicas < 2 || !(o.cutoff > 0) || !(o.significance >= 0) || o.hist_bins < 0 || (o.hist_bins > 0 && !(o.hist_max > 0)))
        return qs_error_set(err, QS_EINPUT, "classical options: dt, t_measure, sample_every, cutoff > 0; trajectories, replicas >= 2");
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
                              q->sigma_minus * q->sigma_minus, q->n_plus, q->n_minus, q->gamma_T, q->noise};
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
#pragma omp parallel num_threads(threads)
    {
        double *work = malloc((size_t)4 * n * CHUNK * sizeof *work);
#pragma omp for schedule(dynamic, 1)
        for (long c = from; c < chunks; c++) {
            chunk_stats *cs = &e->cs[c];
            cs->c = calloc((size_t)(pairs ? pairs : 1) * L_MAX, sizeof *cs->c);
            cs->x = calloc((size_t)n, sizeof *cs->x);
            cs->hist = o->hist_bins > 0 ? calloc((size_t)n * o->hist_bins, sizeof *cs->hist) : NULL;
            if (!work || !cs->c || !cs->x || (o->hist_bins > 0 && !cs->hist)) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            long first = c * CHUNK;
            int count = (int)(trajectories - first < CHUNK ? trajectories - first : CHUNK);
            run_chunk(e->m, e->par, e->U, o, first, count, pairs, e->pa, e->pb, cs, work);
        }
        free(work);
    }
    e->chunks = chunks;
    e->trajectories = trajectories;
    e->seconds += qs_now() - t0;
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
    if (R < 2) return qs_error_set(err, QS_EINPUT, "an ensemble needs at least 33 trajectories (two chunks of 32) for its error");
    /* combine in chunk order: replicas r = chunk mod R, and the pool */
    double complex *rc = calloc((size_t)R * (pairs ? pairs : 1) * L_MAX, sizeof *rc), *pool = calloc((size_t)(pairs ? pairs : 1) * L_MAX, sizeof *pool);
    double *rs = calloc((size_t)R, sizeof *rs), pool_s = 0;
    res->n = n;
    res->pairs = pairs;
    res->pair = calloc((size_t)(pairs ? pairs : 1), sizeof *res->pair);
    res->mean_x = calloc((size_t)n, sizeof *res->mean_x);
    res->hist = o->hist_bins > 0 ? calloc((size_t)n * o->hist_bins, sizeof *res->hist) : NULL;
    int status = QS_OK;
    if (!rc || !pool || !rs || !res->pair || !res->mean_x || (o->hist_bins > 0 && !res->hist))
        status = qs_error_set(err, QS_ENOMEM, "out of memory");
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
    }
    if (status == QS_OK && pool_s < 2)
        status = qs_error_set(err, QS_ENUMERIC, "no samples: every trajectory escaped beyond the cutoff %g before sampling", o->cutoff);
    for (int j = 0; status == QS_OK && j < n; j++) res->mean_x[j] /= xc;
    for (int q = 0; status == QS_OK && q < pairs; q++) {
        const double complex *P = pool + (size_t)q * L_MAX;
        qs_classical_pair *out = &res->pair[q];
        out->harmonics = harmonics_kept(P, pool_s, rc, rs, R, pairs, q, -1, o->significance);
        out->S = S_of(P, pool_s, out->harmonics, &out->phi_max);
        double mean = 0, Sj[256];
        double complex loo[L_MAX];
        /* jackknife: leave replica r out, choosing the harmonics again, so that the error
         * also holds the uncertainty of that choice (which dominates where S is small) */
        for (int r = 0; r < R && r < 256; r++) {
            for (int l = 0; l < L_MAX; l++) loo[l] = P[l] - rc[((size_t)r * pairs + q) * L_MAX + l];
            int keep = harmonics_kept(loo, pool_s - rs[r], rc, rs, R, pairs, q, r, o->significance);
            Sj[r] = S_of(loo, pool_s - rs[r], keep, NULL);
            mean += Sj[r] / R;
        }
        double var = 0;
        for (int r = 0; r < R && r < 256; r++) var += (Sj[r] - mean) * (Sj[r] - mean);
        out->S_err = sqrt((R - 1.0) / R * var);
    }
    res->escaped_fraction = (double)escaped / e->trajectories;
    res->samples = pool_s;
    res->osc_steps = (double)e->trajectories * n * (double)(lround(o->burn_in / o->dt) + lround(o->t_measure / o->dt));
    res->seconds = e->seconds;
    free(rc); free(pool); free(rs);
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
