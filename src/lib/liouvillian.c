/* liouvillian.c — the master-equation generator L (Eq. 4) as a real CSC matrix acting on
 * Hermitian ρ, and the complex L for residuals.
 *
 * Complex generator. Unknowns are elements ρ_st: those of the zero excitation-difference
 * sector (full = 0, sector order of internal.h) or all D² (full = 1, index s·D + t).
 * Column (s,t) holds what ρ_st feeds:
 *   diagonal     −i(E_s − E_t) − ½(Γ_s + Γ_t)      (Γ = total out-rate of the Fock levels)
 *   −iHρ         row (s + e_p − e_q, t):  −i C_pq √(s_q (s_p+1))
 *   +iρH         row (s, t − e_p + e_q):  +i C_pq √(t_p (t_q+1))
 *   jumps        if s_j = t_j = n: row (s+e_j, t+e_j) rate_up(n+1), row (s−e_j, t−e_j) rate_down(n)
 * for every coupling term C_pq a_p† a_q (both directions of each coupling) and every
 * oscillator j. Each keeps ket-minus-bra excitations fixed, so the sector is closed.
 *
 * Real form. L maps Hermitian matrices to Hermitian matrices, so the steady state is found
 * in real unknowns that live in the same slots: slot (s,s) holds ρ_ss, slot (s,t) with
 * s < t holds Re ρ_st and slot (t,s) holds Im ρ_st. Equations likewise: the real part of
 * d/dt ρ_st in row (s,t), its imaginary part in row (t,s), for s ≤ t (the equations with
 * s > t are their conjugates). A real column combines the complex columns (c,d) and (d,c)
 * with factors (1, 1) for Re ρ_cd and (i, −i) for Im ρ_cd. Real LU costs about a third of
 * the complex one and ρ is Hermitian by construction.
 *
 * Normalisation: L preserves the trace, so the population rows sum to zero and the
 * equation of one population ρ_rr is redundant. Its row is replaced by w·e_r (w = mean
 * |entry|); the state is rescaled to Tr ρ = 1 afterwards. r is the most populated state of
 * the uncoupled network, so ρ_rr ≠ 0 and the matrix is non-singular whenever the steady
 * state is unique.
 *
 * Symmetry: when permutations of identical oscillators leave the model unchanged, the
 * steady state is invariant, so the real slots fall into orbits whose values agree up to
 * sign. The system then has one unknown per orbit (the sum of its slots' columns, signed)
 * and one equation per orbit (its representative's row): for a ring or a pair of
 * identical oscillators this divides the unknowns by the order of the group.
 *
 * The pattern is structural (a coupling of value 0 still has entries), built once by
 * qs_liouvillian_create; qs_liouvillian_fill writes values into it. Create emits each
 * complex column once and keeps it with, for every entry, where its value comes from (the
 * diagonal, or a structural factor times a hop amplitude or a rate); each entry of the real
 * system is recorded as ± the real or imaginary part of one complex entry. A fill then
 * evaluates the complex entries and adds them up in the order of create, so the values are
 * those of emitting again, bit for bit; the residual multiplies by the same complex columns.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static void gen_free(qs_gen *g)
{
    if (!g) return;
    for (int j = 0; j < g->n; j++) {
        if (g->energy) free(g->energy[j]);
        if (g->up) free(g->up[j]);
        if (g->down) free(g->down[j]);
        if (g->out) free(g->out[j]);
    }
    free(g->energy);
    free(g->up);
    free(g->down);
    free(g->out);
    free(g->hops);
    free(g->level_at);
    free(g->par);
    free(g);
}

static qs_gen *gen_create(const qs_basis *b)
{
    qs_gen *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->n = b->n;
    g->energy = calloc((size_t)b->n, sizeof *g->energy);
    g->up = calloc((size_t)b->n, sizeof *g->up);
    g->down = calloc((size_t)b->n, sizeof *g->down);
    g->out = calloc((size_t)b->n, sizeof *g->out);
    g->level_at = malloc(((size_t)b->n + 1) * sizeof *g->level_at);
    if (!g->energy || !g->up || !g->down || !g->out || !g->level_at) { gen_free(g); return NULL; }
    g->level_at[0] = 0;
    for (int j = 0; j < b->n; j++) g->level_at[j + 1] = g->level_at[j] + b->levels[j];
    for (int j = 0; j < b->n; j++) {
        size_t L = (size_t)b->levels[j];
        g->energy[j] = malloc(L * sizeof(double));
        g->up[j] = malloc(L * sizeof(double));
        g->down[j] = malloc(L * sizeof(double));
        g->out[j] = malloc(L * sizeof(double));
        if (!g->energy[j] || !g->up[j] || !g->down[j] || !g->out[j]) { gen_free(g); return NULL; }
    }
    return g;
}

/* Where an entry's value comes from (par, coef): the diagonal (par < 0), from the local
 * tables; else coef × g->par[par]: 2h −i·c and 2h + 1 +i·c of hop h, then every
 * oscillator's up-rates by level, then the down-rates (filled by gen_set). */
static int32_t par_up(const qs_gen *g, int j, int level) { return 2 * g->n_hops + g->level_at[j] + level; }
static int32_t par_down(const qs_gen *g, int j, int level) { return 2 * g->n_hops + g->level_at[g->n] + g->level_at[j] + level; }

/* Values (and hop list) from the model; the model has the basis's levels. */
static int gen_set(qs_gen *g, const qs_basis *b, const qs_model *m)
{
    hop *h = realloc(g->hops, (size_t)(2 * m->n_couplings + 1) * sizeof *h);
    if (!h) return 0;
    g->hops = h;
    g->n_hops = 0;
    for (int i = 0; i < m->n_couplings; i++) {
        const qs_coupling *c = &m->couplings[i];
        g->hops[g->n_hops++] = (hop){c->j, c->k, c->c};
        g->hops[g->n_hops++] = (hop){c->k, c->j, conj(c->c)};
    }
    for (int j = 0; j < b->n; j++) {
        int L = b->levels[j];
        const qs_osc *o = &m->osc[j];
        for (int k = 0; k < L; k++) {
            g->energy[j][k] = qs_osc_energy(o, k);
            g->up[j][k] = k > 0 ? qs_osc_rate_up(o, k) : 0.0;
            g->down[j][k] = qs_osc_rate_down(o, k);
        }
        for (int k = 0; k < L; k++) g->out[j][k] = (k + 1 < L ? g->up[j][k + 1] : 0.0) + g->down[j][k];
    }
    double complex *par = realloc(g->par, (2 * (size_t)g->n_hops + 2 * (size_t)g->level_at[g->n]) * sizeof *par);
    if (!par) return 0;
    g->par = par;
    for (int i = 0; i < g->n_hops; i++) {
        par[2 * i] = -I * g->hops[i].c;
        par[2 * i + 1] = I * g->hops[i].c;
    }
    for (int j = 0; j < b->n; j++)
        for (int k = 0; k < b->levels[j]; k++) {
            par[par_up(g, j, k)] = g->up[j][k];
            par[par_down(g, j, k)] = g->down[j][k];
        }
    return 1;
}

static inline double mag(double complex z)
{
    double m = sqrt(creal(z) * creal(z) + cimag(z) * cimag(z));
    return isfinite(m) ? m : cabs(z);
}

/* The diagonal of complex column (s, t): −i(E_s − E_t) − ½(Γ_s + Γ_t). */
static inline double complex diag_value(const qs_basis *b, const qs_gen *g, size_t s, size_t t)
{
    double de = 0.0, gam = 0.0;
    for (int j = 0; j < b->n; j++) {
        int sj = qs_basis_occ(b, s, j), tj = qs_basis_occ(b, t, j);
        de += g->energy[j][sj] - g->energy[j][tj];
        gam += g->out[j][sj] + g->out[j][tj];
    }
    return CMPLX(-0.5 * gam, -de);
}

/* Complex column (s, t): the target elements (rs[k], rt[k]) and where each coefficient
 * comes from (par[k], coef[k]; entry_value). */
static int emit_complex(const qs_basis *b, const qs_gen *g, size_t s, size_t t, size_t *rs, size_t *rt,
                        int32_t *par, double *coef)
{
    int n = b->n, k = 0;
    rs[k] = s;
    rt[k] = t;
    par[k] = -1;
    coef[k] = 0.0;
    k++;
    for (int h = 0; h < g->n_hops; h++) {
        int p = g->hops[h].p, q = g->hops[h].q;
        int sp = qs_basis_occ(b, s, p), sq = qs_basis_occ(b, s, q);
        int tp = qs_basis_occ(b, t, p), tq = qs_basis_occ(b, t, q);
        if (sq >= 1 && sp + 1 < b->levels[p]) {           /* −i H ρ */
            rs[k] = s + b->stride[p] - b->stride[q];
            rt[k] = t;
            par[k] = 2 * h;
            coef[k] = sqrt((double)sq * (sp + 1));
            k++;
        }
        if (tp >= 1 && tq + 1 < b->levels[q]) {           /* +i ρ H */
            rs[k] = s;
            rt[k] = t - b->stride[p] + b->stride[q];
            par[k] = 2 * h + 1;
            coef[k] = sqrt((double)tp * (tq + 1));
            k++;
        }
    }
    for (int j = 0; j < n; j++) {                           /* jumps */
        int sj = qs_basis_occ(b, s, j);
        if (sj != qs_basis_occ(b, t, j)) continue;
        if (sj + 1 < b->levels[j]) {
            rs[k] = s + b->stride[j];
            rt[k] = t + b->stride[j];
            par[k] = par_up(g, j, sj + 1);
            coef[k] = 1.0;
            k++;
        }
        if (sj >= 1) {
            rs[k] = s - b->stride[j];
            rt[k] = t - b->stride[j];
            par[k] = par_down(g, j, sj);
            coef[k] = 1.0;
            k++;
        }
    }
    return k;
}

/* The value of an entry of complex column (s, t) from where it comes from. */
static inline double complex entry_value(const qs_basis *b, const qs_gen *g, size_t s, size_t t, int32_t par, double coef)
{
    return par < 0 ? diag_value(b, g, s, t) : coef * g->par[par];
}

/* Scratch for one real column: two complex columns' worth of entries, two rows each. */
typedef struct {
    size_t *rs, *rt;
    int64_t *rows;
    int64_t *src;            /* each entry's source: complex entry << 2 | SRC_IM | SRC_NEG */
} column_buf;

enum { SRC_IM = 1, SRC_NEG = 2 };   /* the real entry is ± Re or ± Im of its complex entry */

static size_t per_complex(const qs_basis *b, const qs_gen *g) { return 1 + 2 * (size_t)g->n_hops + 2 * (size_t)b->n; }

static int buf_make(column_buf *cb, size_t per, size_t orbit_max)
{
    cb->rs = malloc(per * sizeof *cb->rs);
    cb->rt = malloc(per * sizeof *cb->rt);
    cb->rows = malloc(4 * per * orbit_max * sizeof *cb->rows);
    cb->src = malloc(4 * per * orbit_max * sizeof *cb->src);
    return cb->rs && cb->rt && cb->rows && cb->src;
}

static void buf_free(column_buf *cb)
{
    free(cb->rs);
    free(cb->rt);
    free(cb->rows);
    free(cb->src);
}

/* Add complex column `cc` times `factor` (0: 1, 1: i, 2: −i) to the real column in cb, from
 * position k: row (a, c) takes Re(factor·v), row (c, a) Im(factor·v), for a ≤ c. */
static int fold(const qs_liouvillian *L, size_t cc, int factor, column_buf *cb, int k)
{
    static const int re_part[3] = {0, SRC_IM | SRC_NEG, SRC_IM};    /* Re(v), Re(iv) = −Im v, Re(−iv) = Im v */
    static const int im_part[3] = {SRC_IM, 0, SRC_NEG};             /* Im(v), Im(iv) = Re v, Im(−iv) = −Re v */
    for (int64_t p = L->cptr[cc]; p < L->cptr[cc + 1]; p++) {
        int64_t r = L->crow[p];
        if (L->upper[r] < 0) continue;                      /* conjugate equation */
        cb->rows[k] = r;
        cb->src[k++] = p << 2 | re_part[factor];
        if (L->upper[r] > 0) {
            cb->rows[k] = L->transpose[r];
            cb->src[k++] = p << 2 | im_part[factor];
        }
    }
    return k;
}

/* Real column of slot `col` (slot (c, d)), appended to cb from position k. */
static int emit_real(const qs_liouvillian *L, size_t col, column_buf *cb, int k)
{
    size_t tr = (size_t)L->transpose[col];
    if (L->upper[col] == 0) return fold(L, col, 0, cb, k);
    if (L->upper[col] > 0) return fold(L, tr, 0, cb, fold(L, col, 0, cb, k));   /* Re ρ_cd: factors 1, 1 */
    return fold(L, col, 2, cb, fold(L, tr, 1, cb, k));                          /* Im ρ_dc: factors i, −i */
}

/* Column of unknown `o` of the reduced system: Σ over the slots of orbit o of sign × real
 * column, keeping only the rows of orbit representatives, renumbered to orbits. */
static int emit_reduced(const qs_liouvillian *L, size_t o, column_buf *cb)
{
    int k = 0;
    for (size_t i = L->orbit_ptr[o]; i < L->orbit_ptr[o + 1]; i++) {
        size_t slot = L->orbit_slots[i];
        int k0 = k;
        k = emit_real(L, slot, cb, k);
        if (L->sign[slot] < 0)
            for (int e = k0; e < k; e++) cb->src[e] ^= SRC_NEG;
    }
    int u = 0;
    for (int e = 0; e < k; e++) {
        int64_t r = cb->rows[e], orb = L->orbit_of[r];
        if (orb < 0 || L->orbit_slots[L->orbit_ptr[orb]] != (size_t)r) continue;  /* not a representative */
        cb->rows[u] = orb;
        cb->src[u++] = cb->src[e];
    }
    return u;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sort a column's row indices: by insertion when there are a few dozen (most columns;
 * qsort's set-up would cost more than the sorting), else qsort (large symmetry orbits) */
static void sort_rows(int64_t *r, int k)
{
    if (k > 64) {
        qsort(r, (size_t)k, sizeof *r, cmp_i64);
        return;
    }
    for (int i = 1; i < k; i++) {
        int64_t v = r[i];
        int j = i;
        for (; j > 0 && r[j - 1] > v; j--) r[j] = r[j - 1];
        r[j] = v;
    }
}

int qs_liouvillian_nnz_bound(const qs_model *model, size_t columns, size_t diag, size_t *nnz)
{
    size_t per = 4 * (1 + 4 * (size_t)model->n_couplings + 2 * (size_t)model->n), total;
    (void)diag;
    if (!qs_mul_size(columns, per, &total)) return 0;
    *nnz = total;
    return 1;
}

void qs_liouvillian_free(qs_liouvillian **L)
{
    if (!L || !*L) return;
    free((*L)->Ap);
    free((*L)->Ai);
    free((*L)->Ax);
    free((*L)->emit_pos);
    free((*L)->emit_src);
    free((*L)->emit_ptr);
    free((*L)->cptr);
    free((*L)->transpose);
    free((*L)->upper);
    free((*L)->crow);
    free((*L)->cpar);
    free((*L)->ccoef);
    free((*L)->cval);
    free((*L)->diag_index);
    free((*L)->orbit_of);
    free((*L)->sign);
    free((*L)->orbit_ptr);
    free((*L)->orbit_slots);
    gen_free((*L)->gen);
    free(*L);
    *L = NULL;
}

/* State with the largest uncoupled product population: the normalisation row. */
static size_t trace_state(const qs_basis *b, const qs_model *m)
{
    size_t best = 0;
    double best_lp = -INFINITY;
    double **lp = calloc((size_t)b->n, sizeof *lp);
    int ok = lp != NULL;
    for (int j = 0; ok && j < b->n; j++) {
        lp[j] = malloc((size_t)b->levels[j] * sizeof(double));
        if (!lp[j] || qs_osc_populations(&m->osc[j], b->levels[j], lp[j]) != QS_OK) ok = 0;
        else for (int k = 0; k < b->levels[j]; k++) lp[j][k] = log(lp[j][k]);
    }
    for (size_t s = 0; ok && s < b->dim; s++) {
        double v = 0.0;
        for (int j = 0; j < b->n; j++) v += lp[j][qs_basis_occ(b, s, j)];
        if (v > best_lp) { best_lp = v; best = s; }
    }
    for (int j = 0; lp && j < b->n; j++) free(lp[j]);
    free(lp);
    return best;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Orbits of the slots under the permutations `perms` (a group, count × n). Slot (a,b) goes
 * to (πa, πb) if the order of a and b is kept, else to (πb, πa); the value changes sign
 * only for an imaginary-part slot (a > b) whose order flips. An orbit is found from its
 * smallest slot, the representative, by closure under the group's generators (a depth-first
 * search: slots × generators image look-ups, whatever the group's order), each member's sign
 * the product of the signs along its path; an orbit that reaches a slot with both signs maps
 * it to minus itself and is zero. */
static int make_orbits(qs_liouvillian *L, const int *perms, int count)
{
    const qs_basis *b = L->basis;
    size_t ns = L->n_slots, D = b->dim;
    int *gens = malloc((size_t)count * sizeof *gens);
    int n_gens = gens ? qs_group_generators(perms, count, b->n, gens) : -1;
    size_t *image = malloc(((size_t)(n_gens > 0 ? n_gens : 1)) * D * sizeof *image);
    L->orbit_of = malloc(ns * sizeof *L->orbit_of);
    L->sign = malloc(ns * sizeof *L->sign);
    L->orbit_slots = malloc(ns * sizeof *L->orbit_slots);
    L->orbit_ptr = malloc((ns + 1) * sizeof *L->orbit_ptr);
    size_t *members = malloc((size_t)count * sizeof *members);
    if (n_gens < 0 || !image || !L->orbit_of || !L->sign || !L->orbit_slots || !L->orbit_ptr || !members) {
        free(gens);
        free(image);
        free(members);
        return 0;
    }
    if (n_gens == 0) {                                      /* no symmetry: every slot its own orbit */
        for (size_t x = 0; x < ns; x++) {
            L->orbit_of[x] = (int64_t)x;
            L->sign[x] = 1;
            L->orbit_slots[x] = x;
            L->orbit_ptr[x] = x;
        }
        L->orbit_ptr[ns] = ns;
        L->orbit_max = 1;
        L->n = ns;
        free(gens);
        free(image);
        free(members);
        return 1;
    }
    for (int k = 0; k < n_gens; k++)
        for (size_t s = 0; s < D; s++) {
            size_t t = 0;
            for (int j = 0; j < b->n; j++) t += (size_t)qs_basis_occ(b, s, j) * b->stride[perms[(size_t)gens[k] * b->n + j]];
            image[(size_t)k * D + s] = t;
        }
    for (size_t x = 0; x < ns; x++) L->orbit_of[x] = -2;      /* unassigned */
    size_t n_orbits = 0, filled = 0;
    L->orbit_ptr[0] = 0;
    for (size_t x = 0; x < ns; x++) {
        if (L->orbit_of[x] != -2) continue;
        int m = 0, zero = 0;
        L->orbit_of[x] = -3;                                  /* seen in this orbit */
        L->sign[x] = 1;
        members[m++] = x;
        for (int i = 0; i < m; i++) {                         /* members double as the search's queue */
            size_t y = members[i], a, c;
            qs_liouvillian_slot(L, y, &a, &c);
            for (int k = 0; k < n_gens; k++) {
                size_t ga = image[(size_t)k * D + a], gc = image[(size_t)k * D + c];
                int kept = (a < c) == (ga < gc) || a == c;
                size_t z = kept ? qs_liouvillian_index(L, ga, gc) : qs_liouvillian_index(L, gc, ga);
                signed char sg = (signed char)(L->sign[y] * ((a > c && !kept) ? -1 : 1));
                if (L->orbit_of[z] == -3) {
                    if (L->sign[z] != sg) zero = 1;
                } else if (m < count) {
                    L->orbit_of[z] = -3;
                    L->sign[z] = sg;
                    members[m++] = z;
                }
            }
        }
        if (zero) {
            for (int i = 0; i < m; i++) L->orbit_of[members[i]] = -1;
            continue;
        }
        qsort(members, (size_t)m, sizeof *members, cmp_size);    /* ascending: representative first */
        for (int i = 0; i < m; i++) {
            L->orbit_of[members[i]] = (int64_t)n_orbits;
            L->orbit_slots[filled++] = members[i];
        }
        L->orbit_ptr[++n_orbits] = filled;
        if ((size_t)m > L->orbit_max) L->orbit_max = (size_t)m;
    }
    L->n = n_orbits;
    free(gens);
    free(image);
    free(members);
    return 1;
}

int qs_liouvillian_create(const qs_basis *basis, const qs_model *model, int full, const int *perms,
                          int n_perms, qs_liouvillian **out, qs_error *err)
{
    qs_liouvillian *L = calloc(1, sizeof *L);
    if (!L) return qs_error_set(err, QS_ENOMEM, "out of memory");
    L->basis = basis;
    L->full = full;
    size_t D = basis->dim, bound;
    if (full) {
        if (!qs_mul_size(D, D, &L->n_slots)) { free(L); return qs_error_set(err, QS_ETOOBIG, "the full Liouvillian is too large to index"); }
    } else {
        L->n_slots = basis->sector_dim;
    }
    if (!qs_liouvillian_nnz_bound(model, L->n_slots, D, &bound) || bound > (size_t)INT64_MAX / 32) {
        free(L);
        return qs_error_set(err, QS_ETOOBIG, "the Liouvillian is too large to index");
    }
    column_buf cb = {0};
    int *identity = malloc((size_t)basis->n * sizeof *identity);
    for (int j = 0; identity && j < basis->n; j++) identity[j] = j;
    int orbits_ok = identity && make_orbits(L, n_perms > 0 ? perms : identity, n_perms > 0 ? n_perms : 1);
    free(identity);
    if (!orbits_ok) {
        qs_liouvillian_free(&L);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the symmetry orbits");
    }
    L->gen = gen_create(basis);
    L->Ap = malloc((L->n + 1) * sizeof *L->Ap);
    L->diag_index = malloc(D * sizeof *L->diag_index);
    if (!L->gen || !gen_set(L->gen, basis, model) || !L->Ap || !L->diag_index ||
        !buf_make(&cb, per_complex(basis, L->gen), L->orbit_max)) {
        buf_free(&cb);
        qs_liouvillian_free(&L);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the Liouvillian pattern (%zu entries)", bound);
    }
    for (size_t s = 0; s < D; s++) L->diag_index[s] = qs_liouvillian_index(L, s, s);
    L->trace_row = (size_t)L->orbit_of[L->diag_index[trace_state(basis, model)]];

    /* the complex L, one emission per column: rows and where each value comes from */
    size_t per = per_complex(basis, L->gen), cbound = bound / 4, n_emit = 0, nnz = 0;
    L->cptr = malloc((L->n_slots + 1) * sizeof *L->cptr);
    L->crow = malloc(cbound * sizeof *L->crow);
    L->cpar = malloc(cbound * sizeof *L->cpar);
    L->ccoef = malloc(cbound * sizeof *L->ccoef);
    L->emit_ptr = malloc((L->n + 1) * sizeof *L->emit_ptr);
    /* scratch: a column's emitted rows, then each row's place in the current column */
    size_t max_emit = 4 * per * L->orbit_max;
    int64_t *emitted = malloc(max_emit * sizeof *emitted + L->n * sizeof(int32_t));
    int32_t *place = emitted ? (int32_t *)(emitted + max_emit) : NULL;
    L->transpose = malloc(L->n_slots * sizeof *L->transpose);
    L->upper = malloc(L->n_slots * sizeof *L->upper);
    int ok = emitted && L->cptr && L->crow && L->cpar && L->ccoef && L->emit_ptr && L->transpose && L->upper;
    if (ok) L->cptr[0] = 0;
    for (size_t col = 0; ok && col < L->n_slots; col++) {
        size_t sa, ta;
        qs_liouvillian_slot(L, col, &sa, &ta);
        L->transpose[col] = (int64_t)qs_liouvillian_index(L, ta, sa);
        L->upper[col] = (signed char)((sa < ta) - (sa > ta));
        int64_t at = L->cptr[col];
        int m = emit_complex(basis, L->gen, sa, ta, cb.rs, cb.rt, L->cpar + at, L->ccoef + at);
        for (int i = 0; i < m; i++) L->crow[at + i] = (int64_t)qs_liouvillian_index(L, cb.rs[i], cb.rt[i]);
        L->cptr[col + 1] = at + m;
    }
    if (ok) {
        L->n_cplx = (size_t)L->cptr[L->n_slots];
        L->cval = malloc((L->n_cplx ? L->n_cplx : 1) * sizeof *L->cval);
        /* the real entries the folds will emit: one or two per complex entry of an equation kept */
        size_t real = 0;
        for (size_t col = 0; col < L->n_slots; col++)
            for (int twice = 0; twice <= (L->upper[col] != 0); twice++) {
                size_t cc = twice ? (size_t)L->transpose[col] : col;
                for (int64_t p = L->cptr[cc]; p < L->cptr[cc + 1]; p++) real += (size_t)(L->upper[L->crow[p]] >= 0) + (L->upper[L->crow[p]] > 0);
            }
        real = real ? real : 1;
        L->Ai = malloc(real * sizeof *L->Ai);
        L->emit_pos = malloc(real * sizeof *L->emit_pos);
        L->emit_src = malloc(real * sizeof *L->emit_src);
        ok = L->cval && L->Ai && L->emit_pos && L->emit_src;
    }
    L->Ap[0] = 0;
    if (ok) L->emit_ptr[0] = 0;
    for (size_t col = 0; ok && col < L->n; col++) {
        int k = emit_reduced(L, col, &cb);
        memcpy(emitted, cb.rows, (size_t)k * sizeof *emitted);
        memcpy(L->emit_src + n_emit, cb.src, (size_t)k * sizeof *cb.src);
        sort_rows(cb.rows, k);
        int u = 0;
        for (int i = 0; i < k; i++) {
            if (cb.rows[i] == (int64_t)L->trace_row && col != L->trace_row) continue;
            if (u == 0 || cb.rows[i] != cb.rows[u - 1]) cb.rows[u++] = cb.rows[i];
        }
        memcpy(L->Ai + nnz, cb.rows, (size_t)u * sizeof *cb.rows);
        /* where each emitted entry goes in the column, for the fills (−1: the trace row, w e_r) */
        for (int i = 0; i < u; i++) place[cb.rows[i]] = i;
        for (int i = 0; i < k; i++)
            L->emit_pos[n_emit++] = emitted[i] == (int64_t)L->trace_row ? -1 : place[emitted[i]];
        L->emit_ptr[col + 1] = (int64_t)n_emit;
        nnz += (size_t)u;
        L->Ap[col + 1] = (int64_t)nnz;
    }
    free(emitted);
    buf_free(&cb);
    if (!ok) {
        qs_liouvillian_free(&L);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the Liouvillian pattern");
    }
    L->nnz = nnz;
    int64_t *shrunk = realloc(L->Ai, nnz * sizeof *shrunk);
    if (shrunk) L->Ai = shrunk;
    int32_t *fewer = realloc(L->emit_pos, (n_emit ? n_emit : 1) * sizeof *fewer);
    if (fewer) L->emit_pos = fewer;
    int64_t *fewer_src = realloc(L->emit_src, (n_emit ? n_emit : 1) * sizeof *fewer_src);
    if (fewer_src) L->emit_src = fewer_src;
    size_t nc = L->n_cplx ? L->n_cplx : 1;
    int64_t *fewer_rows = realloc(L->crow, nc * sizeof *fewer_rows);
    if (fewer_rows) L->crow = fewer_rows;
    int32_t *fewer_par = realloc(L->cpar, nc * sizeof *fewer_par);
    if (fewer_par) L->cpar = fewer_par;
    double *fewer_coef = realloc(L->ccoef, nc * sizeof *fewer_coef);
    if (fewer_coef) L->ccoef = fewer_coef;
    L->Ax = malloc(nnz * sizeof *L->Ax);
    if (!L->Ax) {
        qs_liouvillian_free(&L);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the Liouvillian values");
    }
    int64_t p = L->Ap[L->trace_row];                      /* (r, r) in column r */
    while (L->Ai[p] != (int64_t)L->trace_row) p++;
    L->trace_pos = p;
    *out = L;
    return QS_OK;
}

/* Values of complex column `slot` = (s, t) for the parameters of the last gen_set. */
static inline void column_values(qs_liouvillian *L, size_t slot, size_t s, size_t t)
{
    for (int64_t p = L->cptr[slot]; p < L->cptr[slot + 1]; p++)
        L->cval[p] = entry_value(L->basis, L->gen, s, t, L->cpar[p], L->ccoef[p]);
}

/* The complex L's values, every column (slot order: the full index, or the sector's blocks). */
static void complex_values(qs_liouvillian *L)
{
    const qs_basis *b = L->basis;
    size_t slot = 0;
    if (L->full) {
        for (size_t sa = 0; sa < b->dim; sa++)
            for (size_t ta = 0; ta < b->dim; ta++) column_values(L, slot++, sa, ta);
        return;
    }
    for (int N = 0; N <= b->max_total; N++)
        for (size_t i = 0; i < b->block_size[N]; i++)
            for (size_t k = 0; k < b->block_size[N]; k++) column_values(L, slot++, b->block_states[N][i], b->block_states[N][k]);
}

int qs_liouvillian_fill(qs_liouvillian *L, const qs_model *model, qs_error *err)
{
    if (!gen_set(L->gen, L->basis, model)) return qs_error_set(err, QS_ENOMEM, "out of memory");
    complex_values(L);
    memset(L->Ax, 0, L->nnz * sizeof *L->Ax);
    for (size_t col = 0; col < L->n; col++) {           /* the entries in the order of create */
        double *ax = L->Ax + L->Ap[col];
        for (int64_t e = L->emit_ptr[col]; e < L->emit_ptr[col + 1]; e++) {
            if (L->emit_pos[e] < 0) continue;           /* row r: w e_r */
            int64_t src = L->emit_src[e];
            double complex v = L->cval[src >> 2];
            double x = src & SRC_IM ? cimag(v) : creal(v);
            ax[L->emit_pos[e]] += src & SRC_NEG ? -x : x;
        }
    }
    double abs_sum = 0.0;
    for (size_t i = 0; i < L->nnz; i++) abs_sum += fabs(L->Ax[i]);
    L->trace_weight = abs_sum / (double)L->nnz;
    if (!(L->trace_weight > 0) || !isfinite(L->trace_weight))
        return qs_error_set(err, QS_ENUMERIC, "the Liouvillian has no finite non-zero entries");
    L->Ax[L->trace_pos] = L->trace_weight;
    return QS_OK;
}

/* |z|: hypot's care for overflow costs more than the rest of the residual, and only
 * magnitudes beyond 1e154 need it */

double qs_liouvillian_residual(const qs_liouvillian *L, const double complex *rho, double complex *y, double *row_abs)
{
    memset(y, 0, L->n_slots * sizeof *y);
    memset(row_abs, 0, L->n_slots * sizeof *row_abs);
    double rmax = 0.0;
    for (size_t col = 0; col < L->n_slots; col++) {
        double complex x = rho[col];
        if (mag(x) > rmax) rmax = mag(x);
        for (int64_t p = L->cptr[col]; p < L->cptr[col + 1]; p++) {
            int64_t row = L->crow[p];
            y[row] += L->cval[p] * x;
            row_abs[row] += mag(L->cval[p]);
        }
    }
    double ymax = 0.0, norm = 0.0;
    for (size_t i = 0; i < L->n_slots; i++) {
        if (!(mag(y[i]) <= ymax)) ymax = mag(y[i]);     /* NaN propagates */
        if (row_abs[i] > norm) norm = row_abs[i];
    }
    return ymax / (norm * rmax);
}

/* ---- the complex sector operator, row-compressed, for the iterative solver ----
 * Built row by row from emit_row, the transpose of emit_complex: the pattern is symmetric
 * (every hop has its reverse, every jump up its jump down), so the columns that feed row
 * (s, t) are found from (s, t) itself, with the same parameter and factor as emit_complex
 * gives their entries, so the values are those of the column emission bit for bit. Rows are
 * independent: counted, then written, then filled, each pass in parallel.
 *
 * Symmetry: with a group of permutations of identical oscillators, the unique steady state
 * is invariant, ρ_(πs,πt) = ρ_st, so there is one unknown per orbit of sector elements. The
 * operator then has one row per orbit: L's row at the orbit's representative, its columns
 * summed per orbit (in the order of emission, so a fill is reproducible). */

/* Row (s, t) of the complex L: the columns (cs[k], ct[k]) feeding it, and where each
 * coefficient comes from (as emit_complex gives it for that column). */
static int emit_row(const qs_basis *b, const qs_gen *g, size_t s, size_t t, size_t *cs, size_t *ct, int32_t *par,
                    double *coef)
{
    int n = b->n, k = 0;
    cs[k] = s;
    ct[k] = t;
    par[k] = -1;
    coef[k] = 0.0;
    k++;
    for (int h = 0; h < g->n_hops; h++) {
        int p = g->hops[h].p, q = g->hops[h].q;
        int sp = qs_basis_occ(b, s, p), sq = qs_basis_occ(b, s, q);
        int tp = qs_basis_occ(b, t, p), tq = qs_basis_occ(b, t, q);
        if (sp >= 1 && sq + 1 < b->levels[q]) {           /* −i H ρ from (s − e_p + e_q, t) */
            cs[k] = s - b->stride[p] + b->stride[q];
            ct[k] = t;
            par[k] = 2 * h;
            coef[k] = sqrt((double)(sq + 1) * sp);
            k++;
        }
        if (tq >= 1 && tp + 1 < b->levels[p]) {           /* +i ρ H from (s, t + e_p − e_q) */
            cs[k] = s;
            ct[k] = t + b->stride[p] - b->stride[q];
            par[k] = 2 * h + 1;
            coef[k] = sqrt((double)(tp + 1) * tq);
            k++;
        }
    }
    for (int j = 0; j < n; j++) {                           /* jumps */
        int sj = qs_basis_occ(b, s, j);
        if (sj != qs_basis_occ(b, t, j)) continue;
        if (sj >= 1) {                                      /* up from (s − e_j, t − e_j) */
            cs[k] = s - b->stride[j];
            ct[k] = t - b->stride[j];
            par[k] = par_up(g, j, sj);
            coef[k] = 1.0;
            k++;
        }
        if (sj + 1 < b->levels[j]) {                        /* down from (s + e_j, t + e_j) */
            cs[k] = s + b->stride[j];
            ct[k] = t + b->stride[j];
            par[k] = par_down(g, j, sj + 1);
            coef[k] = 1.0;
            k++;
        }
    }
    return k;
}


/* Row (s, t) of the complex L times x: emit_row's entries, with their values (as entry_value
 * gives them) and in its order, multiplied as they are found instead of written out. x is
 * indexed by sector element, or with orbit_of by orbit. */
static inline double complex row_product(const qs_basis *b, const qs_gen *g, size_t s, size_t t, const double complex *x,
                                         const uint32_t *orbit_of)
{
    int n = b->n;
    const uint16_t *os = b->occ + s * (size_t)n, *ot = b->occ + t * (size_t)n;
    double re = 0.0, im = 0.0;
#define QS_ROW_TERM(V, CS, CT)                                                              \
    do {                                                                                    \
        double complex v_ = (V);                                                            \
        size_t c_ = qs_basis_sector_index(b, (CS), (CT));                                   \
        double complex x_ = x[orbit_of ? orbit_of[c_] : c_];                                \
        re += creal(v_) * creal(x_) - cimag(v_) * cimag(x_);                                \
        im += creal(v_) * cimag(x_) + cimag(v_) * creal(x_);                                \
    } while (0)
    QS_ROW_TERM(diag_value(b, g, s, t), s, t);
    for (int h = 0; h < g->n_hops; h++) {
        int p = g->hops[h].p, q = g->hops[h].q;
        int sp = os[p], sq = os[q], tp = ot[p], tq = ot[q];
        if (sp >= 1 && sq + 1 < b->levels[q])                /* −i H ρ from (s − e_p + e_q, t) */
            QS_ROW_TERM(sqrt((double)(sq + 1) * sp) * g->par[2 * h], s - b->stride[p] + b->stride[q], t);
        if (tq >= 1 && tp + 1 < b->levels[p])                /* +i ρ H from (s, t + e_p − e_q) */
            QS_ROW_TERM(sqrt((double)(tp + 1) * tq) * g->par[2 * h + 1], s, t + b->stride[p] - b->stride[q]);
    }
    for (int j = 0; j < n; j++) {                            /* jumps */
        int sj = os[j];
        if (sj != ot[j]) continue;
        if (sj >= 1) QS_ROW_TERM(1.0 * g->par[par_up(g, j, sj)], s - b->stride[j], t - b->stride[j]);
        if (sj + 1 < b->levels[j]) QS_ROW_TERM(1.0 * g->par[par_down(g, j, sj + 1)], s + b->stride[j], t + b->stride[j]);
    }
#undef QS_ROW_TERM
    return CMPLX(re, im);
}

/* One row's emission, per thread; allocated before the parallel regions (a worker thread's
 * own malloc would map a heap arena of 64 MiB, which an address-space limit may not allow). */
typedef struct {
    size_t *cs, *ct;
    uint32_t *key;
    int32_t *par;
    double *coef;
    double complex *v;
} row_buf;

void qs_sector_op_free(qs_sector_op **A)
{
    if (!A || !*A) return;
    free((*A)->rowptr);
    free((*A)->col);
    free((*A)->val);
    free((*A)->orbit_of);
    free((*A)->rep);
    free((*A)->filled);
    gen_free((*A)->gen);
    free(*A);
    *A = NULL;
}

enum { PASS_COUNT, PASS_PATTERN, PASS_VALUES, PASS_NORM };   /* a pass's flags: */
#define PASS_WITH_VALUES 4   /* PASS_PATTERN | PASS_WITH_VALUES: the columns and the values in one pass */

/* Every number the entries' values are made from (energies, out-rates, parameters) into
 * buf [gen_snapshot(g, b, NULL) doubles]; returns the count. */
static size_t gen_snapshot(const qs_gen *g, const qs_basis *b, double *buf)
{
    size_t k = 0;
    for (int j = 0; j < b->n; j++)
        for (int l = 0; l < b->levels[j]; l++) {
            if (buf) { buf[k] = g->energy[j][l]; buf[k + 1] = g->out[j][l]; }
            k += 2;
        }
    size_t n_par = 2 * (size_t)g->n_hops + 2 * (size_t)g->level_at[g->n];
    if (buf) memcpy(buf + k, g->par, n_par * sizeof *g->par);
    return k + 2 * n_par;
}

static row_buf *row_bufs(int threads, size_t per)
{
    row_buf *rb = calloc((size_t)threads, sizeof *rb);
    char *mem = malloc((size_t)threads * per * (2 * sizeof(size_t) + sizeof(uint32_t) + sizeof(int32_t) + sizeof(double) +
                                                sizeof(double complex)));
    if (!rb || !mem) { free(rb); free(mem); return NULL; }
    for (int i = 0; i < threads; i++) {                 /* widest first: every part stays aligned */
        char *at = mem + (size_t)i * per * (2 * sizeof(size_t) + sizeof(uint32_t) + sizeof(int32_t) + sizeof(double) + sizeof(double complex));
        rb[i].v = (double complex *)at;                 at += per * sizeof(double complex);
        rb[i].cs = (size_t *)at;                        at += per * sizeof(size_t);
        rb[i].ct = (size_t *)at;                        at += per * sizeof(size_t);
        rb[i].coef = (double *)at;                      at += per * sizeof(double);
        rb[i].key = (uint32_t *)at;                     at += per * sizeof(uint32_t);
        rb[i].par = (int32_t *)at;
    }
    return rb;
}

static void row_bufs_free(row_buf *rb)
{
    if (rb) free(rb[0].v);
    free(rb);
}

/* One pass over the rows: count each row's entries (into rowptr[row + 1]), write the
 * columns, or write the values and return ‖L‖∞ (the full L's row sums, before entries of
 * one orbit are added up), or only return ‖L‖∞; PASS_PATTERN | PASS_WITH_VALUES writes the
 * columns and the values. */
static double sector_rows(qs_sector_op *A, int flags)
{
    int pass = flags & ~PASS_WITH_VALUES, cols = pass == PASS_PATTERN, vals = pass == PASS_VALUES || (flags & PASS_WITH_VALUES);
    const qs_basis *b = A->basis;
    size_t per = per_complex(b, A->gen);
    int threads = A->sector >= QS_KRYLOV_PARALLEL_MIN ? omp_get_max_threads() : 1;
    double norm = 0.0;
    row_buf *rb = row_bufs(threads, per);
    if (!rb) return -1.0;
#pragma omp parallel num_threads(threads) reduction(max : norm)
    {
        row_buf *my = rb + omp_get_thread_num();
        size_t *cs = my->cs, *ct = my->ct;
        uint32_t *key = my->key;
        int32_t *par = my->par;
        double *coef = my->coef;
        double complex *v = my->v;
#pragma omp for schedule(dynamic, 16)
        for (size_t s = 0; s < b->dim; s++) {
            int N = b->total[s];
            size_t d = b->block_size[N], base = b->block_offset[N] + b->pos[s] * d;
            for (size_t c = 0; c < d; c++) {
                size_t e = base + c, t = b->block_states[N][c], row = e;
                if (A->orbit_of) {
                    row = A->orbit_of[e];
                    if (A->rep[row] != e) continue;          /* not a representative */
                }
                int m = emit_row(b, A->gen, s, t, cs, ct, par, coef);
                double abs_sum = 0.0;
                for (int i = 0; i < m; i++) {               /* by key, stable: insertion */
                    size_t cidx = qs_basis_sector_index(b, cs[i], ct[i]);
                    uint32_t kk = (uint32_t)(A->orbit_of ? A->orbit_of[cidx] : cidx);
                    double complex vv = 0.0;
                    if (vals || pass == PASS_NORM) {
                        vv = entry_value(b, A->gen, cs[i], ct[i], par[i], coef[i]);
                        abs_sum += mag(vv);
                        if (pass == PASS_NORM) continue;
                    }
                    int j = i;
                    for (; j > 0 && key[j - 1] > kk; j--) { key[j] = key[j - 1]; v[j] = v[j - 1]; }
                    key[j] = kk;
                    v[j] = vv;
                }
                if (abs_sum > norm) norm = abs_sum;
                if (pass == PASS_NORM) continue;
                int64_t at = pass == PASS_COUNT ? 0 : A->rowptr[row];
                int u = -1;
                for (int i = 0; i < m; i++) {
                    if (u < 0 || key[i] != key[i - 1]) {
                        u++;
                        if (cols) A->col[at + u] = key[i];
                        if (vals) A->val[at + u] = v[i];
                    } else if (vals) {
                        A->val[at + u] += v[i];
                    }
                }
                if (pass == PASS_COUNT) A->rowptr[row + 1] = u + 1;
            }
        }
    }
    row_bufs_free(rb);
    return norm;
}

int qs_sector_op_create_group(const qs_basis *b, const qs_model *m, const int *perms, int n_perms, double memory_limit,
                              double other, double other_per_row, int implicit_ok, const char *which, qs_sector_op **out,
                              qs_error *err)
{
    *out = NULL;
    if (b->sector_dim >= UINT32_MAX) return qs_error_set(err, QS_ETOOBIG, "the sector (%zu unknowns) is too large to index in 32 bits", b->sector_dim);
    qs_sector_op *A = calloc(1, sizeof *A);
    if (!A) return qs_error_set(err, QS_ENOMEM, "out of memory");
    A->basis = b;
    A->sector = A->n = b->sector_dim;
    A->order = 1;
    if (n_perms > 1) {
        int status = qs_sector_orbits(b, perms, n_perms, &A->orbit_of, &A->rep, &A->n);
        if (status != QS_OK) {
            qs_sector_op_free(&A);
            return qs_error_set(err, status, "out of memory for the symmetry orbits of the sector");
        }
        A->order = n_perms;
    }
    A->gen = gen_create(b);
    A->rowptr = calloc(A->n + 1, sizeof *A->rowptr);
    if (!A->gen || !gen_set(A->gen, b, m) || !A->rowptr || sector_rows(A, PASS_COUNT) < 0) {
        qs_sector_op_free(&A);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the sector operator");
    }
    for (size_t r = 0; r < A->n; r++) A->rowptr[r + 1] += A->rowptr[r];
    size_t nnz = A->nnz = (size_t)A->rowptr[A->n];
    other += other_per_row * (double)A->n;
    double need = (double)nnz * (sizeof *A->col + sizeof *A->val) + other;
    if (memory_limit > 0 && need > memory_limit && implicit_ok && other <= memory_limit) {
        free(A->rowptr);
        A->rowptr = NULL;
        A->implicit = 1;
        *out = A;
        return QS_OK;
    }
    if (memory_limit > 0 && need > memory_limit) {
        char left[48];
        qs_sector_op_free(&A);
        return qs_error_set(err, QS_ETOOBIG, "the iterative solver (an operator of %zu non-zeros) needs about %.4g MiB, but %s %s",
                            nnz, need / 1048576.0, qs_memory_left_phrase(left, memory_limit), which ? which : "available");
    }
    A->col = malloc((nnz ? nnz : 1) * sizeof *A->col);
    A->val = malloc((nnz ? nnz : 1) * sizeof *A->val);
    A->n_filled = gen_snapshot(A->gen, b, NULL);
    A->filled = malloc(A->n_filled * sizeof *A->filled);
    if (!A->col || !A->val || !A->filled || (A->norm = sector_rows(A, PASS_PATTERN | PASS_WITH_VALUES)) < 0) {
        qs_sector_op_free(&A);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the sector operator (%zu non-zeros, %.4g MiB)", nnz,
                            (double)nnz * (sizeof(uint32_t) + sizeof(double complex)) / 1048576.0);
    }
    gen_snapshot(A->gen, b, A->filled);
    A->fills = 1;
    *out = A;
    return QS_OK;
}

int qs_sector_op_create(const qs_basis *b, const qs_model *m, double memory_limit, double other, const char *which,
                        qs_sector_op **out, qs_error *err)
{
    return qs_sector_op_create_group(b, m, NULL, 0, memory_limit, other, 0, 0, which, out, err);
}

int qs_sector_op_fill(qs_sector_op *A, const qs_model *m, qs_error *err)
{
    if (!gen_set(A->gen, A->basis, m)) return qs_error_set(err, QS_ENOMEM, "out of memory");
    double *now = NULL;
    int same = 0;
    if (A->filled) {       /* the stored values are those of the same numbers (a first solve after create) */
        if (!(now = malloc(A->n_filled * sizeof *now))) return qs_error_set(err, QS_ENOMEM, "out of memory");
        gen_snapshot(A->gen, A->basis, now);
        same = memcmp(now, A->filled, A->n_filled * sizeof *now) == 0;
    }
    if (!same) {
        double norm = sector_rows(A, A->implicit ? PASS_NORM : PASS_VALUES);
        if (norm < 0) {
            free(now);
            return qs_error_set(err, QS_ENOMEM, "out of memory");
        }
        if (now) memcpy(A->filled, now, A->n_filled * sizeof *now);   /* only once the values are written */
        A->norm = norm;
        A->fills++;
    }
    free(now);
    if (!(A->norm > 0) || !isfinite(A->norm)) return qs_error_set(err, QS_ENUMERIC, "the Liouvillian has no finite non-zero entries");
    return QS_OK;
}

/* y = L x emitting each row again (the operator is not stored): at each orbit's representative
 * (found from its sector index), its entries in the order of emission. */
static void apply_implicit(const qs_sector_op *A, const double complex *x, double complex *y, int threads)
{
    const qs_basis *b = A->basis;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 256)
    for (size_t r = 0; r < A->n; r++) {
        size_t s, t;
        qs_basis_sector_element(b, A->rep ? A->rep[r] : r, &s, &t);
        y[r] = row_product(b, A->gen, s, t, x, A->orbit_of);
    }
}

void qs_sector_op_apply(const qs_sector_op *A, const double complex *x, double complex *y, int threads)
{
    if (A->implicit) {
        apply_implicit(A, x, y, threads);
        return;
    }
    /* the complex products written out: C's operator checks every product for NaN (a call to
     * __muldc3 on the way), which the values, all finite, never need */
    const double *v = (const double *)A->val, *xv = (const double *)x;
#pragma omp parallel for num_threads(threads) schedule(static, 4096)
    for (size_t r = 0; r < A->n; r++) {
        double re = 0.0, im = 0.0;
        for (int64_t p = A->rowptr[r]; p < A->rowptr[r + 1]; p++) {
            const double *a = v + 2 * p, *b = xv + 2 * (size_t)A->col[p];
            re += a[0] * b[0] - a[1] * b[1];
            im += a[0] * b[1] + a[1] * b[0];
        }
        y[r] = CMPLX(re, im);
    }
}

double qs_sector_op_full_residual(const qs_sector_op *A, const double complex *x, int threads)
{
    const qs_basis *b = A->basis;
    double ymax = 0.0, xmax = 0.0;
#pragma omp parallel for num_threads(threads) reduction(max : ymax, xmax) schedule(dynamic, 16)
    for (size_t s = 0; s < b->dim; s++) {
        int N = b->total[s];
        size_t d = b->block_size[N], base = b->block_offset[N] + b->pos[s] * d;
        for (size_t c = 0; c < d; c++) {
            double complex y = row_product(b, A->gen, s, b->block_states[N][c], x, NULL);
            double xm = mag(x[base + c]), ym = mag(y);
            if (!(ym <= ymax)) ymax = isnan(ym) ? INFINITY : ym;
            if (!(xm <= xmax)) xmax = isnan(xm) ? INFINITY : xm;
        }
    }
    return ymax / (A->norm * xmax);
}

/* ---- the complex L on any excitation-difference sector k, column-compressed ----
 * The columns are emitted by emit_complex as on the k = 0 paths (which stay as they are);
 * each column's rows are sorted with their sources, so the pattern suits a complex LU. */

static int sector_blocks(const qs_basis *b, int k, size_t *offset, size_t *n)
{
    size_t at = 0;
    for (int N = 0; N <= b->max_total; N++) {
        if (offset) offset[N] = at;
        int M = N - k;
        if (M < 0 || M > b->max_total) continue;
        size_t blk;
        if (!qs_mul_size(b->block_size[N], b->block_size[M], &blk) || !qs_add_size(at, blk, &at)) return 0;
    }
    if (offset) offset[b->max_total + 1] = at;
    *n = at;
    return 1;
}

size_t qs_sector_matrix_dimension(const qs_basis *basis, int k)
{
    size_t n;
    return sector_blocks(basis, k, NULL, &n) ? n : 0;
}

void qs_sector_matrix_free(qs_sector_matrix **M)
{
    if (!M || !*M) return;
    free((*M)->offset);
    free((*M)->Ap);
    free((*M)->Ai);
    free((*M)->Ax);
    free((*M)->diag);
    free((*M)->par);
    free((*M)->coef);
    gen_free((*M)->gen);
    free(*M);
    *M = NULL;
}

/* Visit every column (s, t) of sector k in slot order: emit it, sort its rows with their
 * sources, and store it from Ap[col] (count_only: only count its entries). */
static void sector_matrix_columns(qs_sector_matrix *M, int count_only, size_t *rs, size_t *rt, int32_t *par, double *coef)
{
    const qs_basis *b = M->basis;
    size_t col = 0;
    for (int N = 0; N <= b->max_total; N++) {
        int Nt = N - M->k;
        if (Nt < 0 || Nt > b->max_total) continue;
        for (size_t i = 0; i < b->block_size[N]; i++)
            for (size_t q = 0; q < b->block_size[Nt]; q++, col++) {
                size_t s = b->block_states[N][i], t = b->block_states[Nt][q];
                int m = emit_complex(b, M->gen, s, t, rs, rt, par, coef);
                if (count_only) { M->Ap[col + 1] = m; continue; }
                int64_t at = M->Ap[col];
                for (int e = 0; e < m; e++) {          /* insertion by row: a few dozen entries */
                    int64_t row = (int64_t)qs_sector_matrix_index(M, rs[e], rt[e]);
                    int64_t p = at + e;
                    while (p > at && M->Ai[p - 1] > row) {
                        M->Ai[p] = M->Ai[p - 1];
                        M->par[p] = M->par[p - 1];
                        M->coef[p] = M->coef[p - 1];
                        p--;
                    }
                    M->Ai[p] = row;
                    M->par[p] = par[e];
                    M->coef[p] = coef[e];
                }
                for (int64_t p = at; p < at + m; p++)
                    if (M->Ai[p] == (int64_t)col) M->diag[col] = p;
            }
    }
}

int qs_sector_matrix_create(const qs_basis *b, const qs_model *model, int k, double memory_limit, double other,
                            qs_sector_matrix **out, qs_error *err)
{
    *out = NULL;
    qs_sector_matrix *M = calloc(1, sizeof *M);
    if (!M) return qs_error_set(err, QS_ENOMEM, "out of memory");
    M->basis = b;
    M->k = k;
    M->offset = malloc(((size_t)b->max_total + 2) * sizeof *M->offset);
    if (!M->offset || !sector_blocks(b, k, M->offset, &M->n) || M->n == 0 || M->n > (size_t)INT64_MAX / 64) {
        int empty = M->offset && M->n == 0;
        qs_sector_matrix_free(&M);
        return empty ? qs_error_set(err, QS_EINPUT, "the excitation-difference sector %d is empty", k)
                     : qs_error_set(err, QS_ETOOBIG, "the excitation-difference sector %d is too large to index", k);
    }
    M->gen = gen_create(b);
    M->Ap = calloc(M->n + 1, sizeof *M->Ap);
    M->diag = malloc(M->n * sizeof *M->diag);
    size_t per, *rs = NULL, *rt = NULL;
    int32_t *par = NULL;
    double *coef = NULL;
    int ok = M->gen && gen_set(M->gen, b, model) && M->Ap && M->diag;
    if (ok) {
        per = per_complex(b, M->gen);
        rs = malloc(per * sizeof *rs);
        rt = malloc(per * sizeof *rt);
        par = malloc(per * sizeof *par);
        coef = malloc(per * sizeof *coef);
        ok = rs && rt && par && coef;
    }
    if (ok) {
        sector_matrix_columns(M, 1, rs, rt, par, coef);
        for (size_t c = 0; c < M->n; c++) M->Ap[c + 1] += M->Ap[c];
        M->nnz = (size_t)M->Ap[M->n];
        double need = (double)M->nnz * (sizeof *M->Ai + sizeof *M->Ax + sizeof *M->par + sizeof *M->coef) +
                      (double)M->n * 2 * sizeof(int64_t) + other;
        if (memory_limit > 0 && need > memory_limit) {
            char left[48];
            size_t nnz = M->nnz, n = M->n;
            free(rs); free(rt); free(par); free(coef);
            qs_sector_matrix_free(&M);
            return qs_error_set(err, QS_ETOOBIG, "sector %d of the Liouvillian (%zu unknowns, %zu non-zeros) and its solver need about %.4g MiB, but %s available",
                                k, n, nnz, need / 1048576.0, qs_memory_left_phrase(left, memory_limit));
        }
        M->Ai = malloc(M->nnz * sizeof *M->Ai);
        M->Ax = malloc(M->nnz * sizeof *M->Ax);
        M->par = malloc(M->nnz * sizeof *M->par);
        M->coef = malloc(M->nnz * sizeof *M->coef);
        ok = M->Ai && M->Ax && M->par && M->coef;
    }
    if (ok) sector_matrix_columns(M, 0, rs, rt, par, coef);
    free(rs);
    free(rt);
    free(par);
    free(coef);
    if (!ok) {
        qs_sector_matrix_free(&M);
        return qs_error_set(err, QS_ENOMEM, "out of memory for sector %d of the Liouvillian", k);
    }
    int status = qs_sector_matrix_fill(M, model, err);
    if (status != QS_OK) qs_sector_matrix_free(&M);
    *out = M;
    return status;
}

int qs_sector_matrix_fill(qs_sector_matrix *M, const qs_model *model, qs_error *err)
{
    const qs_basis *b = M->basis;
    if (!gen_set(M->gen, b, model)) return qs_error_set(err, QS_ENOMEM, "out of memory");
    size_t col = 0;
    for (int N = 0; N <= b->max_total; N++) {
        int Nt = N - M->k;
        if (Nt < 0 || Nt > b->max_total) continue;
        for (size_t i = 0; i < b->block_size[N]; i++)
            for (size_t q = 0; q < b->block_size[Nt]; q++, col++) {
                size_t s = b->block_states[N][i], t = b->block_states[Nt][q];
                for (int64_t p = M->Ap[col]; p < M->Ap[col + 1]; p++) {
                    M->Ax[p] = entry_value(b, M->gen, s, t, M->par[p], M->coef[p]);
                    if (!isfinite(creal(M->Ax[p])) || !isfinite(cimag(M->Ax[p])))
                        return qs_error_set(err, QS_ENUMERIC, "the Liouvillian has a non-finite entry");
                }
            }
    }
    return QS_OK;
}
