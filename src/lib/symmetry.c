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

/* Orbits of the sector elements (s, t) under (s, t) → (πs, πt). A group of up to
 * QS_SYMMETRY_MAX_ORDER permutations has a generating set of at most log2 of its order
 * (each generator taken at least doubles the subgroup generated so far), so the orbits are
 * found by closure under the generators alone: one pass over the sector in ascending order,
 * each element not yet in an orbit starting a new one (its smallest element, the
 * representative), the orbit filled from it by a depth-first search. Cost: sector ×
 * generators image look-ups, whatever the order of the group. */

/* Index in `sorted` (count permutations of n, in memcmp order) of permutation p, or −1. */
static int find_perm(const int *sorted, int count, int n, const int *p)
{
    int lo = 0, hi = count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = memcmp(sorted + (size_t)mid * n, p, (size_t)n * sizeof *p);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

/* Generators of the group `perms` (count × n), indices into perms, into gens; their number. */
static int group_generators(const int *perms, int count, int n, int *gens, int *sorted_at, int *in, int *queue, int *tmp,
                            int *sorted)
{
    /* the permutations sorted, to find a product's index by bisection */
    for (int g = 0; g < count; g++) sorted_at[g] = g;
    /* sort indices by their permutation (insertion: linear for the lexicographic lists of
     * qs_model_symmetries, at most QS_SYMMETRY_MAX_ORDER² / 4 steps otherwise, done once) */
    for (int i = 1; i < count; i++) {
        int v = sorted_at[i], j = i;
        for (; j > 0 && memcmp(perms + (size_t)sorted_at[j - 1] * n, perms + (size_t)v * n, (size_t)n * sizeof(int)) > 0; j--)
            sorted_at[j] = sorted_at[j - 1];
        sorted_at[j] = v;
    }
    for (int i = 0; i < count; i++) memcpy(sorted + (size_t)i * n, perms + (size_t)sorted_at[i] * n, (size_t)n * sizeof(int));
    int n_gens = 0, size = 0;
    memset(in, 0, (size_t)count * sizeof *in);
    for (int g = 0; g < count; g++) {                /* the identity: the empty product */
        int id = 1;
        for (int j = 0; j < n && id; j++) id = perms[(size_t)g * n + j] == j;
        if (id) { in[g] = 1; queue[size++] = g; break; }
    }
    for (int g = 0; g < count; g++) {
        if (in[g]) continue;
        gens[n_gens++] = g;
        /* closure: every element times every generator, until nothing new */
        for (int q = 0; q < size; q++) {
            for (int k = 0; k < n_gens; k++) {
                const int *h = perms + (size_t)queue[q] * n, *x = perms + (size_t)gens[k] * n;
                for (int j = 0; j < n; j++) tmp[j] = x[h[j]];
                int hit = find_perm(sorted, count, n, tmp);
                if (hit < 0) continue;               /* not a group: keep what is closed */
                int idx = sorted_at[hit];
                if (!in[idx]) { in[idx] = 1; queue[size++] = idx; }
            }
        }
        if (!in[g]) { in[g] = 1; queue[size++] = g; }
    }
    return n_gens;
}

int qs_group_generators(const int *perms, int count, int n, int *gens)
{
    int *work = malloc(((size_t)count * (4 + (size_t)n) + (size_t)n + 1) * sizeof *work);
    if (!work) return -1;
    int *sorted_at = work, *in = sorted_at + count, *queue = in + count, *sorted = queue + count, *tmp = sorted + (size_t)count * n;
    int n_gens = group_generators(perms, count, n, gens, sorted_at, in, queue, tmp, sorted);
    free(work);
    return n_gens;
}

int qs_sector_orbits(const qs_basis *b, const int *perms, int count, uint32_t **orbit_of_out, uint32_t **rep_out,
                     size_t *n_orbits)
{
    size_t D = b->dim, ns = b->sector_dim;
    int n = b->n;
    *orbit_of_out = *rep_out = NULL;
    *n_orbits = 0;
    if (ns >= UINT32_MAX) return QS_ETOOBIG;
    int *work = malloc(((size_t)count * (5 + (size_t)n) + (size_t)n + 1) * sizeof *work);
    uint32_t *orbit_of = malloc((ns ? ns : 1) * sizeof *orbit_of);
    size_t cap = ns / (count > 0 ? (size_t)count : 1) + 16, n_orb = 0;
    uint32_t *rep = malloc(cap * sizeof *rep);
    size_t *image = NULL, *stack = malloc(2 * ((size_t)count + 1) * sizeof *stack);
    int n_gens = 0;
    if (work && orbit_of && rep && stack) {
        int *gens = work, *sorted_at = gens + count, *in = sorted_at + count, *queue = in + count, *sorted = queue + count,
            *tmp = sorted + (size_t)count * n;
        n_gens = group_generators(perms, count, n, gens, sorted_at, in, queue, tmp, sorted);
        image = malloc(((size_t)n_gens * D + 1) * sizeof *image);
        for (int k = 0; image && k < n_gens; k++)
            for (size_t s = 0; s < D; s++) {
                size_t t = 0;
                for (int j = 0; j < n; j++) t += (size_t)qs_basis_occ(b, s, j) * b->stride[perms[(size_t)gens[k] * n + j]];
                image[(size_t)k * D + s] = t;
            }
    }
    if (!work || !orbit_of || !rep || !stack || !image) {
        free(work); free(orbit_of); free(rep); free(stack); free(image);
        return QS_ENOMEM;
    }
    free(work);
    for (size_t e = 0; e < ns; e++) orbit_of[e] = UINT32_MAX;
    size_t e = 0;
    for (int N = 0; N <= b->max_total; N++) {
        size_t d = b->block_size[N];
        for (size_t i = 0; i < d; i++)
            for (size_t c = 0; c < d; c++, e++) {
                if (orbit_of[e] != UINT32_MAX) continue;
                if (n_orb == cap) {
                    uint32_t *more = realloc(rep, 2 * cap * sizeof *rep);
                    if (!more) { free(orbit_of); free(rep); free(stack); free(image); return QS_ENOMEM; }
                    rep = more;
                    cap *= 2;
                }
                rep[n_orb] = (uint32_t)e;
                orbit_of[e] = (uint32_t)n_orb;
                size_t top = 0;                       /* (s, t) pairs still to map */
                stack[top++] = b->block_states[N][i];
                stack[top++] = b->block_states[N][c];
                while (top > 0) {
                    size_t t = stack[--top], s = stack[--top];
                    for (int k = 0; k < n_gens; k++) {
                        const size_t *img = image + (size_t)k * D;
                        size_t gs = img[s], gt = img[t];
                        size_t y = b->block_offset[N] + b->pos[gs] * d + b->pos[gt];
                        if (orbit_of[y] != UINT32_MAX) continue;
                        orbit_of[y] = (uint32_t)n_orb;
                        stack[top++] = gs;            /* an orbit has at most count elements */
                        stack[top++] = gt;
                    }
                }
                n_orb++;
            }
    }
    free(stack);
    free(image);
    uint32_t *fit = realloc(rep, (n_orb ? n_orb : 1) * sizeof *rep);
    *orbit_of_out = orbit_of;
    *rep_out = fit ? fit : rep;
    *n_orbits = n_orb;
    return QS_OK;
}
