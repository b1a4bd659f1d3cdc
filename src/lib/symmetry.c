/* symmetry.c — permutations of oscillators that leave the model unchanged.
 *
 * A permutation π is a symmetry when every oscillator j has exactly the parameters of
 * π(j) and C_{π(j)π(k)} = C_jk for every pair. The Liouvillian then commutes with the
 * permutation of the oscillators, so the unique steady state is invariant under it; the
 * solver uses the whole group to shrink the system (liouvillian.c). The search assigns
 * π(0), π(1), … in turn and prunes on parameters and couplings, so even eight identical
 * oscillators cost little.
 */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static int same_osc(const qs_osc *a, const qs_osc *b)
{
    return a->omega == b->omega && a->K == b->K && a->gamma_plus == b->gamma_plus &&
           a->gamma_minus == b->gamma_minus && a->sigma_plus == b->sigma_plus &&
           a->sigma_minus == b->sigma_minus && a->n_plus == b->n_plus && a->n_minus == b->n_minus &&
           a->levels == b->levels;
}

/* C_jk as a dense lookup (0 where there is no coupling) */
static double complex coupling(const qs_model *m, int j, int k)
{
    for (int i = 0; i < m->n_couplings; i++) {
        const qs_coupling *c = &m->couplings[i];
        if (c->j == j && c->k == k) return c->c;
        if (c->j == k && c->k == j) return conj(c->c);
    }
    return 0.0;
}

typedef struct {
    const qs_model *m;
    double complex *C;   /* [n·n] */
    int *perm, *used;
    int *out, count, cap;
} search;

static int extend(search *S, int j)
{
    int n = S->m->n;
    if (j == n) {
        if (S->count == S->cap) {
            int cap = S->cap ? 2 * S->cap : 8;
            int *o = realloc(S->out, (size_t)cap * (size_t)n * sizeof *o);
            if (!o) return 0;
            S->out = o;
            S->cap = cap;
        }
        memcpy(S->out + (size_t)S->count * (size_t)n, S->perm, (size_t)n * sizeof *S->perm);
        S->count++;
        return 1;
    }
    for (int t = 0; t < n; t++) {
        if (S->used[t] || !same_osc(&S->m->osc[j], &S->m->osc[t])) continue;
        int ok = 1;
        for (int k = 0; k < j && ok; k++)
            ok = S->C[(size_t)j * n + k] == S->C[(size_t)t * n + S->perm[k]];
        if (!ok) continue;
        S->perm[j] = t;
        S->used[t] = 1;
        if (!extend(S, j + 1)) return 0;
        S->used[t] = 0;
    }
    return 1;
}

int qs_model_symmetries(const qs_model *m, int **perms, int *count)
{
    int n = m->n;
    search S = {0};
    S.m = m;
    S.C = malloc((size_t)n * (size_t)n * sizeof *S.C);
    S.perm = malloc((size_t)n * sizeof *S.perm);
    S.used = calloc((size_t)n, sizeof *S.used);
    int ok = S.C && S.perm && S.used;
    for (int j = 0; ok && j < n; j++)
        for (int k = 0; k < n; k++) S.C[(size_t)j * n + k] = j == k ? 0.0 : coupling(m, j, k);
    ok = ok && extend(&S, 0);
    free(S.C);
    free(S.perm);
    free(S.used);
    if (!ok) { free(S.out); return QS_ENOMEM; }
    *perms = S.out;       /* the identity comes first: the search tries t = j first */
    *count = S.count;
    return QS_OK;
}

int qs_model_has_symmetry(const qs_model *m, const int *perm)
{
    for (int j = 0; j < m->n; j++) {
        if (!same_osc(&m->osc[j], &m->osc[perm[j]])) return 0;
        for (int k = 0; k < m->n; k++)
            if (j != k && coupling(m, j, k) != coupling(m, perm[j], perm[k])) return 0;
    }
    return 1;
}
