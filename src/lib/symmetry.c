/* symmetry.c — permutations of oscillators that leave the model unchanged.
 *
 * A permutation π is a symmetry when every oscillator j has exactly the parameters of
 * π(j) and C_{π(j)π(k)} = C_jk for every pair. The Liouvillian then commutes with the
 * permutation of the oscillators, so the unique steady state is invariant under it; the
 * solver uses the group to shrink the system (liouvillian.c).
 *
 * The structure a permutation must keep is held as labels: one per oscillator and one per
 * ordered pair, equal exactly when the parameters (the couplings) are equal. Labels refined
 * by several models (the points of a sweep) give the symmetries common to all of them. The
 * search assigns π(0), π(1), … in turn and prunes on the labels, and lists the group in
 * lexicographic order (the identity first). A group can be huge (n! for n identical
 * uncoupled oscillators), so the search lists at most QS_SYMMETRY_MAX_ORDER permutations:
 * when the whole group has more, it lists instead the largest of the subgroups G_f that fix
 * the oscillators 0 … f−1 (each is a group: the symmetries fixing those oscillators) that
 * has at most that many, and reports f.
 */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

struct qs_symmetry_labels {
    int n;
    int *osc;                /* [n] class of each oscillator */
    int *pair;               /* [n·n] class of each ordered pair j ≠ k (diagonal 0) */
    int *rep;                /* [n·n] workspace: a representative of each class */
    double complex *C;       /* [n·n] workspace: the couplings of the model being added */
};

static int same_osc(const qs_osc *a, const qs_osc *b)
{
    return a->omega == b->omega && a->K == b->K && a->gamma_plus == b->gamma_plus &&
           a->gamma_minus == b->gamma_minus && a->sigma_plus == b->sigma_plus &&
           a->sigma_minus == b->sigma_minus && a->n_plus == b->n_plus && a->n_minus == b->n_minus &&
           a->levels == b->levels;
}

/* C_jk (0 where there is no coupling) */
static double complex coupling(const qs_model *m, int j, int k)
{
    for (int i = 0; i < m->n_couplings; i++) {
        const qs_coupling *c = &m->couplings[i];
        if (c->j == j && c->k == k) return c->c;
        if (c->j == k && c->k == j) return conj(c->c);
    }
    return 0.0;
}

/* C_jk dense (0 where there is no coupling; the first coupling of a pair counts) */
static void dense_couplings(const qs_model *m, double complex *C)
{
    int n = m->n;
    memset(C, 0, (size_t)n * (size_t)n * sizeof *C);
    for (int i = m->n_couplings - 1; i >= 0; i--) {
        const qs_coupling *c = &m->couplings[i];
        C[(size_t)c->j * n + c->k] = c->c;
        C[(size_t)c->k * n + c->j] = conj(c->c);
    }
    for (int j = 0; j < n; j++) C[(size_t)j * n + j] = 0.0;
}

void qs_symmetry_labels_free(qs_symmetry_labels **l)
{
    if (!l || !*l) return;
    free((*l)->osc);
    free((*l)->pair);
    free((*l)->rep);
    free((*l)->C);
    free(*l);
    *l = NULL;
}

int qs_symmetry_labels_create(int n, qs_symmetry_labels **out)
{
    qs_symmetry_labels *l = calloc(1, sizeof *l);
    size_t nn = (size_t)n * (size_t)n;
    *out = NULL;
    if (!l) return QS_ENOMEM;
    l->n = n;
    l->osc = calloc((size_t)n + 1, sizeof *l->osc);
    l->pair = calloc(nn + 1, sizeof *l->pair);
    l->rep = calloc(nn + 1, sizeof *l->rep);
    l->C = calloc(nn + 1, sizeof *l->C);
    if (!l->osc || !l->pair || !l->rep || !l->C) { qs_symmetry_labels_free(&l); return QS_ENOMEM; }
    *out = l;
    return QS_OK;
}

typedef struct {
    int old;
    double re, im;
    size_t at;
} pair_key;

static int cmp_key(const void *a, const void *b)
{
    const pair_key *x = a, *y = b;
    if (x->old != y->old) return x->old < y->old ? -1 : 1;
    if (x->re != y->re) return x->re < y->re ? -1 : 1;
    if (x->im != y->im) return x->im < y->im ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

int qs_symmetry_labels_add(qs_symmetry_labels *l, const qs_model *m)
{
    int n = l->n;
    size_t nn = (size_t)n * (size_t)n;
    /* oscillators: the class of the first one with the same old class and parameters */
    for (int j = 0; j < n; j++) {
        int c = j;
        for (int i = 0; i < j; i++)
            if (l->osc[i] == l->osc[j] && same_osc(&m->osc[i], &m->osc[j])) { c = l->rep[i]; break; }
        l->rep[j] = c;
    }
    memcpy(l->osc, l->rep, (size_t)n * sizeof *l->osc);
    /* pairs: nothing to do when every pair's coupling equals its class representative's
     * (a class only ever splits, so the sorting below runs at most n² times in all) */
    dense_couplings(m, l->C);
    for (size_t q = 0; q < nn; q++) l->rep[q] = -1;
    int split = 0;
    for (size_t q = 0; q < nn && !split; q++) {
        int c = l->pair[q];
        if (l->rep[c] < 0) l->rep[c] = (int)q;
        else split = l->C[q] != l->C[l->rep[c]];
    }
    if (!split) return QS_OK;
    pair_key *k = malloc(nn * sizeof *k);
    if (!k) return QS_ENOMEM;
    for (size_t q = 0; q < nn; q++) k[q] = (pair_key){l->pair[q], creal(l->C[q]), cimag(l->C[q]), q};
    qsort(k, nn, sizeof *k, cmp_key);
    int cls = 0;
    for (size_t q = 0; q < nn; q++) {
        if (q > 0 && (k[q].old != k[q - 1].old || k[q].re != k[q - 1].re || k[q].im != k[q - 1].im)) cls++;
        l->pair[k[q].at] = cls;
    }
    free(k);
    return QS_OK;
}

typedef struct {
    const qs_symmetry_labels *l;
    int fix, cap;
    int *perm, *used;
    int *out, count, cap_out;
} search;

/* 1 done, 0 out of memory, −1 more than cap permutations */
static int extend(search *S, int j)
{
    int n = S->l->n;
    if (j == n) {
        if (S->count == S->cap) return -1;
        if (S->count == S->cap_out) {
            int cap = S->cap_out ? 2 * S->cap_out : 8;
            if (cap > S->cap) cap = S->cap;
            int *o = realloc(S->out, (size_t)cap * (size_t)n * sizeof *o);
            if (!o) return 0;
            S->out = o;
            S->cap_out = cap;
        }
        memcpy(S->out + (size_t)S->count * (size_t)n, S->perm, (size_t)n * sizeof *S->perm);
        S->count++;
        return 1;
    }
    const int *osc = S->l->osc, *pair = S->l->pair;
    for (int t = j < S->fix ? j : 0; t < (j < S->fix ? j + 1 : n); t++) {
        if (S->used[t] || osc[j] != osc[t]) continue;
        int ok = 1;
        for (int k = 0; k < j && ok; k++)
            ok = pair[(size_t)j * n + k] == pair[(size_t)t * n + S->perm[k]];
        if (!ok) continue;
        S->perm[j] = t;
        S->used[t] = 1;
        int r = extend(S, j + 1);
        S->used[t] = 0;
        if (r != 1) return r;
    }
    return 1;
}

int qs_symmetry_labels_group(const qs_symmetry_labels *l, int **perms, int *count, int *fixed)
{
    int n = l->n;
    search S = {0};
    S.l = l;
    S.cap = QS_SYMMETRY_MAX_ORDER;
    S.perm = malloc(((size_t)n + 1) * sizeof *S.perm);
    S.used = calloc((size_t)n + 1, sizeof *S.used);
    if (!S.perm || !S.used) { free(S.perm); free(S.used); return QS_ENOMEM; }
    /* G_n ⊆ G_{n−1} ⊆ … ⊆ G_0: from the smallest up, until one has too many */
    int *best = NULL, best_count = 0, best_fix = n, r = 1;
    for (int f = n; f >= 0; f--) {
        S.fix = f;
        S.out = NULL;
        S.count = S.cap_out = 0;
        r = extend(&S, 0);
        if (r != 1) { free(S.out); break; }
        free(best);
        best = S.out;
        best_count = S.count;
        best_fix = f;
    }
    free(S.perm);
    free(S.used);
    if (r == 0) { free(best); return QS_ENOMEM; }
    *perms = best;
    *count = best_count;
    if (fixed) *fixed = best_fix;
    return QS_OK;
}

int qs_model_symmetries(const qs_model *m, int **perms, int *count, int *fixed)
{
    qs_symmetry_labels *l;
    if (qs_symmetry_labels_create(m->n, &l) != QS_OK) return QS_ENOMEM;
    int st = qs_symmetry_labels_add(l, m);
    if (st == QS_OK) st = qs_symmetry_labels_group(l, perms, count, fixed);
    qs_symmetry_labels_free(&l);
    return st;
}

int qs_model_has_symmetry(const qs_model *m, const int *perm)
{
    int n = m->n;
    for (int j = 0; j < n; j++)
        if (!same_osc(&m->osc[j], &m->osc[perm[j]])) return 0;
    double complex *C = malloc(((size_t)n * (size_t)n + 1) * sizeof *C);
    int ok = 1;
    if (C) {
        dense_couplings(m, C);
        for (int j = 0; j < n && ok; j++)
            for (int k = 0; k < n && ok; k++) ok = C[(size_t)j * n + k] == C[(size_t)perm[j] * n + perm[k]];
    } else {
        for (int j = 0; j < n && ok; j++)             /* no room for the table: look each up */
            for (int k = 0; k < n && ok; k++)
                if (j != k) ok = coupling(m, j, k) == coupling(m, perm[j], perm[k]);
    }
    free(C);
    return ok;
}

/* Orbits of the sector elements (s, t) under (s, t) → (πs, πt). The representative of an
 * orbit is its smallest element; orbits are numbered in the order of their representatives.
 * Three passes over the sector, each parallel over the kets s: every element's smallest
 * image (kept in orbit_of for now), the representatives (elements that are their own
 * smallest image) in ascending order, then each element's orbit by bisection among them. */
static inline size_t image_index(const qs_basis *b, const size_t *img, size_t s, size_t t)
{
    int N = b->total[s];
    return b->block_offset[N] + b->pos[img[s]] * b->block_size[N] + b->pos[img[t]];
}

int qs_sector_orbits(const qs_basis *b, const int *perms, int count, uint32_t **orbit_of_out, uint32_t **rep_out,
                     size_t *n_orbits, int threads)
{
    size_t D = b->dim, ns = b->sector_dim;
    *orbit_of_out = *rep_out = NULL;
    *n_orbits = 0;
    if (ns >= UINT32_MAX) return QS_ETOOBIG;
    size_t *image = malloc((size_t)count * D * sizeof *image);
    size_t *row_count = malloc((D + 1) * sizeof *row_count);  /* per ket in sector order: its representatives */
    size_t *order = malloc(D * sizeof *order);                 /* the kets in sector order */
    uint32_t *orbit_of = malloc((ns ? ns : 1) * sizeof *orbit_of);
    if (!image || !row_count || !order || !orbit_of) {
        free(image); free(row_count); free(order); free(orbit_of);
        return QS_ENOMEM;
    }
    for (int g = 0; g < count; g++)
        for (size_t s = 0; s < D; s++) {
            size_t t = 0;
            for (int j = 0; j < b->n; j++) t += (size_t)qs_basis_occ(b, s, j) * b->stride[perms[(size_t)g * b->n + j]];
            image[(size_t)g * D + s] = t;
        }
    size_t at = 0;
    for (int N = 0; N <= b->max_total; N++)
        for (size_t i = 0; i < b->block_size[N]; i++) order[at++] = b->block_states[N][i];
    /* the smallest image of every element, and the representatives of each ket's row */
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
    for (size_t r = 0; r < D; r++) {
        size_t s = order[r], reps = 0;
        int N = b->total[s];
        size_t d = b->block_size[N], base = b->block_offset[N] + b->pos[s] * d;
        for (size_t c = 0; c < d; c++) {
            size_t t = b->block_states[N][c], e = base + c, least = e;
            for (int g = 0; g < count; g++) {
                size_t y = image_index(b, image + (size_t)g * D, s, t);
                if (y < least) least = y;
            }
            orbit_of[e] = (uint32_t)least;
            reps += least == e;
        }
        row_count[r + 1] = reps;
    }
    row_count[0] = 0;
    for (size_t r = 0; r < D; r++) row_count[r + 1] += row_count[r];
    size_t n = row_count[D];
    uint32_t *rep = malloc((n ? n : 1) * sizeof *rep);
    if (!rep) { free(image); free(row_count); free(order); free(orbit_of); return QS_ENOMEM; }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
    for (size_t r = 0; r < D; r++) {
        size_t s = order[r], k = row_count[r];
        int N = b->total[s];
        size_t d = b->block_size[N], base = b->block_offset[N] + b->pos[s] * d;
        for (size_t c = 0; c < d; c++)
            if (orbit_of[base + c] == base + c) rep[k++] = (uint32_t)(base + c);
    }
#pragma omp parallel for num_threads(threads) schedule(static, 65536)
    for (size_t e = 0; e < ns; e++) {
        uint32_t least = orbit_of[e];
        size_t lo = 0, hi = n - 1;                  /* rep[lo] ≤ least ≤ rep[hi] */
        while (lo < hi) {
            size_t mid = (lo + hi + 1) / 2;
            if (rep[mid] <= least) lo = mid; else hi = mid - 1;
        }
        orbit_of[e] = (uint32_t)lo;
    }
    free(image);
    free(row_count);
    free(order);
    *orbit_of_out = orbit_of;
    *rep_out = rep;
    *n_orbits = n;
    return QS_OK;
}
