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
 * qs_liouvillian_create; qs_liouvillian_fill writes values into it.
 */
#include <math.h>
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
    if (!g->energy || !g->up || !g->down || !g->out) { gen_free(g); return NULL; }
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
    return 1;
}

/* Complex column (s, t): the target elements (rs[k], rt[k]) and, if vals, the coefficients. */
static int emit_complex(const qs_basis *b, const qs_gen *g, size_t s, size_t t, size_t *rs, size_t *rt,
                        double complex *vals)
{
    int n = b->n, k = 0;
    rs[k] = s;
    rt[k] = t;
    if (vals) {
        double de = 0.0, gam = 0.0;
        for (int j = 0; j < n; j++) {
            int sj = qs_basis_occ(b, s, j), tj = qs_basis_occ(b, t, j);
            de += g->energy[j][sj] - g->energy[j][tj];
            gam += g->out[j][sj] + g->out[j][tj];
        }
        vals[k] = CMPLX(-0.5 * gam, -de);
    }
    k++;
    for (int h = 0; h < g->n_hops; h++) {
        int p = g->hops[h].p, q = g->hops[h].q;
        int sp = qs_basis_occ(b, s, p), sq = qs_basis_occ(b, s, q);
        int tp = qs_basis_occ(b, t, p), tq = qs_basis_occ(b, t, q);
        if (sq >= 1 && sp + 1 < b->levels[p]) {           /* −i H ρ */
            rs[k] = s + b->stride[p] - b->stride[q];
            rt[k] = t;
            if (vals) vals[k] = -I * g->hops[h].c * sqrt((double)sq * (sp + 1));
            k++;
        }
        if (tp >= 1 && tq + 1 < b->levels[q]) {           /* +i ρ H */
            rs[k] = s;
            rt[k] = t - b->stride[p] + b->stride[q];
            if (vals) vals[k] = I * g->hops[h].c * sqrt((double)tp * (tq + 1));
            k++;
        }
    }
    for (int j = 0; j < n; j++) {                           /* jumps */
        int sj = qs_basis_occ(b, s, j);
        if (sj != qs_basis_occ(b, t, j)) continue;
        if (sj + 1 < b->levels[j]) {
            rs[k] = s + b->stride[j];
            rt[k] = t + b->stride[j];
            if (vals) vals[k] = g->up[j][sj + 1];
            k++;
        }
        if (sj >= 1) {
            rs[k] = s - b->stride[j];
            rt[k] = t - b->stride[j];
            if (vals) vals[k] = g->down[j][sj];
            k++;
        }
    }
    return k;
}

/* Scratch for one real column: two complex columns' worth of entries, two rows each. */
typedef struct {
    size_t *rs, *rt;
    double complex *cv;
    int64_t *rows;
    double *vals;
} column_buf;

static size_t per_complex(const qs_basis *b, const qs_gen *g) { return 1 + 2 * (size_t)g->n_hops + 2 * (size_t)b->n; }

static int buf_make(column_buf *cb, size_t per, size_t orbit_max)
{
    cb->rs = malloc(per * sizeof *cb->rs);
    cb->rt = malloc(per * sizeof *cb->rt);
    cb->cv = malloc(per * sizeof *cb->cv);
    cb->rows = malloc(4 * per * orbit_max * sizeof *cb->rows);
    cb->vals = malloc(4 * per * orbit_max * sizeof *cb->vals);
    return cb->rs && cb->rt && cb->cv && cb->rows && cb->vals;
}

static void buf_free(column_buf *cb)
{
    free(cb->rs);
    free(cb->rt);
    free(cb->cv);
    free(cb->rows);
    free(cb->vals);
}

/* Add complex column (s, t) times `factor` to the real column in cb, from position k. */
static int fold(const qs_liouvillian *L, const qs_gen *g, size_t s, size_t t, double complex factor, int values,
                column_buf *cb, int k)
{
    int m = emit_complex(L->basis, g, s, t, cb->rs, cb->rt, values ? cb->cv : NULL);
    for (int i = 0; i < m; i++) {
        size_t a = cb->rs[i], c = cb->rt[i];
        if (a > c) continue;                                /* conjugate equation */
        double complex mu = values ? cb->cv[i] * factor : 0.0;
        cb->rows[k] = (int64_t)qs_liouvillian_index(L, a, c);
        cb->vals[k++] = creal(mu);
        if (a < c) {
            cb->rows[k] = (int64_t)qs_liouvillian_index(L, c, a);
            cb->vals[k++] = cimag(mu);
        }
    }
    return k;
}

/* Real column of slot `col` (slot (c, d)), appended to cb->rows/vals from position k. */
static int emit_real(const qs_liouvillian *L, const qs_gen *g, size_t col, int values, column_buf *cb, int k)
{
    size_t c, d;
    qs_liouvillian_slot(L, col, &c, &d);
    if (c == d) return fold(L, g, c, c, 1.0, values, cb, k);
    if (c < d) return fold(L, g, d, c, 1.0, values, cb, fold(L, g, c, d, 1.0, values, cb, k));  /* Re ρ_cd */
    return fold(L, g, c, d, -I, values, cb, fold(L, g, d, c, I, values, cb, k));             /* Im ρ_dc */
}

/* Column of unknown `o` of the reduced system: Σ over the slots of orbit o of sign × real
 * column, keeping only the rows of orbit representatives, renumbered to orbits. */
static int emit_reduced(const qs_liouvillian *L, const qs_gen *g, size_t o, int values, column_buf *cb)
{
    int k = 0;
    for (size_t i = L->orbit_ptr[o]; i < L->orbit_ptr[o + 1]; i++) {
        size_t slot = L->orbit_slots[i];
        int k0 = k;
        k = emit_real(L, g, slot, values, cb, k);
        if (L->sign[slot] < 0)
            for (int e = k0; e < k; e++) cb->vals[e] = -cb->vals[e];
    }
    int u = 0;
    for (int e = 0; e < k; e++) {
        int64_t r = cb->rows[e], orb = L->orbit_of[r];
        if (orb < 0 || L->orbit_slots[L->orbit_ptr[orb]] != (size_t)r) continue;  /* not a representative */
        cb->rows[u] = orb;
        cb->vals[u++] = cb->vals[e];
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

static int perms_identity(const int *perm, int n)
{
    for (int j = 0; j < n; j++)
        if (perm[j] != j) return 0;
    return 1;
}

/* Orbits of the slots under the permutations `perms` (a group, count × n). Slot (a,b) goes
 * to (πa, πb) if the order of a and b is kept, else to (πb, πa); the value changes sign
 * only for an imaginary-part slot (a > b) whose order flips. An orbit that maps a slot to
 * minus itself is zero. Orbits are numbered by their smallest slot, the representative. */
static int make_orbits(qs_liouvillian *L, const int *perms, int count)
{
    const qs_basis *b = L->basis;
    size_t ns = L->n_slots, D = b->dim;
    size_t *image = malloc((size_t)count * D * sizeof *image);
    L->orbit_of = malloc(ns * sizeof *L->orbit_of);
    L->sign = malloc(ns * sizeof *L->sign);
    L->orbit_slots = malloc(ns * sizeof *L->orbit_slots);
    L->orbit_ptr = malloc((ns + 1) * sizeof *L->orbit_ptr);
    size_t *members = malloc((size_t)count * sizeof *members);
    if (!image || !L->orbit_of || !L->sign || !L->orbit_slots || !L->orbit_ptr || !members) {
        free(image);
        free(members);
        return 0;
    }
    if (count == 1 && perms_identity(perms, b->n)) {       /* no symmetry: every slot its own orbit */
        for (size_t x = 0; x < ns; x++) {
            L->orbit_of[x] = (int64_t)x;
            L->sign[x] = 1;
            L->orbit_slots[x] = x;
            L->orbit_ptr[x] = x;
        }
        L->orbit_ptr[ns] = ns;
        L->orbit_max = 1;
        L->n = ns;
        free(image);
        free(members);
        return 1;
    }
    for (int g = 0; g < count; g++)
        for (size_t s = 0; s < D; s++) {
            size_t t = 0;
            for (int j = 0; j < b->n; j++) t += (size_t)qs_basis_occ(b, s, j) * b->stride[perms[(size_t)g * b->n + j]];
            image[(size_t)g * D + s] = t;
        }
    for (size_t x = 0; x < ns; x++) L->orbit_of[x] = -2;      /* unassigned */
    size_t n_orbits = 0, filled = 0;
    L->orbit_ptr[0] = 0;
    for (size_t x = 0; x < ns; x++) {
        if (L->orbit_of[x] != -2) continue;
        size_t a, c;
        qs_liouvillian_slot(L, x, &a, &c);
        int m = 0, zero = 0;
        for (int g = 0; g < count; g++) {
            size_t ga = image[(size_t)g * D + a], gc = image[(size_t)g * D + c];
            int kept = (a < c) == (ga < gc) || a == c;
            size_t y = kept ? qs_liouvillian_index(L, ga, gc) : qs_liouvillian_index(L, gc, ga);
            signed char sg = (a > c && !kept) ? -1 : 1;
            if (y == x && sg < 0) zero = 1;
            if (L->orbit_of[y] == -2) {
                L->orbit_of[y] = -3;                            /* seen in this orbit */
                L->sign[y] = sg;
                members[m++] = y;
            }
        }
        if (zero) {
            for (int i = 0; i < m; i++) L->orbit_of[members[i]] = -1;
            continue;
        }
        for (int i = 0; i < m; i++) {                           /* ascending: representative first */
            for (int k = i + 1; k < m; k++)
                if (members[k] < members[i]) { size_t t = members[i]; members[i] = members[k]; members[k] = t; }
            L->orbit_of[members[i]] = (int64_t)n_orbits;
            L->orbit_slots[filled++] = members[i];
        }
        L->orbit_ptr[++n_orbits] = filled;
        if ((size_t)m > L->orbit_max) L->orbit_max = (size_t)m;
    }
    L->n = n_orbits;
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
    L->Ai = malloc(bound * sizeof *L->Ai);
    L->emit_pos = malloc(bound * sizeof *L->emit_pos);  /* every column emits at most per_complex × 4 */
    L->diag_index = malloc(D * sizeof *L->diag_index);
    if (!L->gen || !gen_set(L->gen, basis, model) || !L->Ap || !L->Ai || !L->emit_pos || !L->diag_index ||
        !buf_make(&cb, per_complex(basis, L->gen), L->orbit_max)) {
        buf_free(&cb);
        qs_liouvillian_free(&L);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the Liouvillian pattern (%zu entries)", bound);
    }
    for (size_t s = 0; s < D; s++) L->diag_index[s] = qs_liouvillian_index(L, s, s);
    L->trace_row = (size_t)L->orbit_of[L->diag_index[trace_state(basis, model)]];

    size_t nnz = 0, n_emit = 0;
    /* scratch: a column's emitted rows, then each row's place in the current column */
    size_t max_emit = 4 * per_complex(basis, L->gen) * L->orbit_max;
    int64_t *emitted = malloc(max_emit * sizeof *emitted + L->n * sizeof(int32_t));
    int32_t *place = emitted ? (int32_t *)(emitted + max_emit) : NULL;
    int ok = emitted != NULL;
    L->Ap[0] = 0;
    for (size_t col = 0; ok && col < L->n; col++) {
        int k = emit_reduced(L, L->gen, col, 0, &cb);
        memcpy(emitted, cb.rows, (size_t)k * sizeof *emitted);
        sort_rows(cb.rows, k);
        int u = 0;
        for (int i = 0; i < k; i++) {
            if (cb.rows[i] == (int64_t)L->trace_row && col != L->trace_row) continue;
            if (u == 0 || cb.rows[i] != cb.rows[u - 1]) cb.rows[u++] = cb.rows[i];
        }
        memcpy(L->Ai + nnz, cb.rows, (size_t)u * sizeof *cb.rows);
        /* where each emitted entry goes in the column, for the fills (−1: the trace row) */
        for (int i = 0; i < u; i++) place[cb.rows[i]] = i;
        for (int i = 0; i < k; i++)
            L->emit_pos[n_emit++] = emitted[i] == (int64_t)L->trace_row && col != L->trace_row ? -1 : place[emitted[i]];
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

int qs_liouvillian_fill(qs_liouvillian *L, const qs_model *model, qs_error *err)
{
    column_buf cb = {0};
    if (!gen_set(L->gen, L->basis, model) || !buf_make(&cb, per_complex(L->basis, L->gen), L->orbit_max)) {
        buf_free(&cb);
        return qs_error_set(err, QS_ENOMEM, "out of memory");
    }
    memset(L->Ax, 0, L->nnz * sizeof *L->Ax);
    double abs_sum = 0.0;
    const int32_t *pos = L->emit_pos;
    for (size_t col = 0; col < L->n; col++) {
        int k = emit_reduced(L, L->gen, col, 1, &cb);       /* the same entries, in the same order, as at create */
        double *ax = L->Ax + L->Ap[col];
        for (int i = 0; i < k; i++, pos++)
            if (*pos >= 0 && cb.rows[i] != (int64_t)L->trace_row) ax[*pos] += cb.vals[i];   /* row r: w e_r */
    }
    buf_free(&cb);
    for (size_t i = 0; i < L->nnz; i++) abs_sum += fabs(L->Ax[i]);
    L->trace_weight = abs_sum / (double)L->nnz;
    if (!(L->trace_weight > 0) || !isfinite(L->trace_weight))
        return qs_error_set(err, QS_ENUMERIC, "the Liouvillian has no finite non-zero entries");
    L->Ax[L->trace_pos] = L->trace_weight;
    return QS_OK;
}

/* |z|: hypot's care for overflow costs more than the rest of the residual, and only
 * magnitudes beyond 1e154 need it */
static inline double mag(double complex z)
{
    double m = sqrt(creal(z) * creal(z) + cimag(z) * cimag(z));
    return isfinite(m) ? m : cabs(z);
}

double qs_liouvillian_residual(const qs_liouvillian *L, const double complex *rho, double complex *y, double *row_abs)
{
    const qs_basis *b = L->basis;
    size_t per = per_complex(b, L->gen);
    size_t *rs = malloc(per * sizeof *rs), *rt = malloc(per * sizeof *rt);
    double complex *cv = malloc(per * sizeof *cv);
    if (!rs || !rt || !cv) { free(rs); free(rt); free(cv); return NAN; }
    memset(y, 0, L->n_slots * sizeof *y);
    memset(row_abs, 0, L->n_slots * sizeof *row_abs);
    double rmax = 0.0;
    for (size_t col = 0; col < L->n_slots; col++) {
        size_t s, t;
        qs_liouvillian_slot(L, col, &s, &t);
        int m = emit_complex(b, L->gen, s, t, rs, rt, cv);
        double complex x = rho[col];
        if (mag(x) > rmax) rmax = mag(x);
        for (int i = 0; i < m; i++) {
            size_t row = qs_liouvillian_index(L, rs[i], rt[i]);
            y[row] += cv[i] * x;
            row_abs[row] += mag(cv[i]);
        }
    }
    free(rs);
    free(rt);
    free(cv);
    double ymax = 0.0, norm = 0.0;
    for (size_t i = 0; i < L->n_slots; i++) {
        if (!(mag(y[i]) <= ymax)) ymax = mag(y[i]);     /* NaN propagates */
        if (row_abs[i] > norm) norm = row_abs[i];
    }
    return ymax / (norm * rmax);
}

/* ---- the complex sector operator, row-compressed, for the iterative solver ----
 * Built in two passes over the same column emission as above: count the entries of each
 * row, then scatter. Columns are visited in ascending order, so every row's columns come
 * out ascending; no column feeds one row twice, so there are no duplicates. */

/* Visit every sector column (s, t) in order; emit its entries and scatter them. */
static void sector_scatter(qs_sector_op *A, int values, size_t *rs, size_t *rt, double complex *cv, int64_t *next)
{
    const qs_basis *b = A->basis;
    size_t col = 0;
    for (int N = 0; N <= b->max_total; N++) {
        size_t d = b->block_size[N];
        for (size_t i = 0; i < d; i++)
            for (size_t k = 0; k < d; k++, col++) {
                int m = emit_complex(b, A->gen, b->block_states[N][i], b->block_states[N][k], rs, rt, values ? cv : NULL);
                for (int e = 0; e < m; e++) {
                    size_t row = qs_basis_sector_index(b, rs[e], rt[e]);
                    if (!next) { A->rowptr[row + 1]++; continue; }
                    int64_t p = next[row]++;
                    if (values) A->val[p] = cv[e];
                    else A->col[p] = (uint32_t)col;
                }
            }
    }
}

void qs_sector_op_free(qs_sector_op **A)
{
    if (!A || !*A) return;
    free((*A)->rowptr);
    free((*A)->col);
    free((*A)->val);
    gen_free((*A)->gen);
    free(*A);
    *A = NULL;
}

/* Scatter buffers: one column's entries, and the running position of every row. */
static int sector_pass(qs_sector_op *A, int values, int count_only)
{
    size_t per = per_complex(A->basis, A->gen);
    size_t *rs = malloc(per * sizeof *rs), *rt = malloc(per * sizeof *rt);
    double complex *cv = malloc(per * sizeof *cv);
    int64_t *next = count_only ? NULL : malloc(A->n * sizeof *next);
    int ok = rs && rt && cv && (count_only || next);
    if (ok) {
        if (next) memcpy(next, A->rowptr, A->n * sizeof *next);
        sector_scatter(A, values, rs, rt, cv, next);
    }
    free(rs);
    free(rt);
    free(cv);
    free(next);
    return ok;
}

int qs_sector_op_create(const qs_basis *b, const qs_model *m, double memory_limit, qs_sector_op **out, qs_error *err)
{
    *out = NULL;
    if (b->sector_dim >= UINT32_MAX) return qs_error_set(err, QS_ETOOBIG, "the sector (%zu unknowns) is too large to index in 32 bits", b->sector_dim);
    qs_sector_op *A = calloc(1, sizeof *A);
    if (!A) return qs_error_set(err, QS_ENOMEM, "out of memory");
    A->basis = b;
    A->n = b->sector_dim;
    A->gen = gen_create(b);
    A->rowptr = calloc(A->n + 1, sizeof *A->rowptr);
    if (!A->gen || !gen_set(A->gen, b, m) || !A->rowptr || !sector_pass(A, 0, 1)) {
        qs_sector_op_free(&A);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the sector operator");
    }
    for (size_t r = 0; r < A->n; r++) A->rowptr[r + 1] += A->rowptr[r];
    A->nnz = (size_t)A->rowptr[A->n];
    double need = (double)A->nnz * (sizeof *A->col + sizeof *A->val);
    if (memory_limit > 0 && need > memory_limit) {
        qs_sector_op_free(&A);
        return qs_error_set(err, QS_ETOOBIG, "the sector operator (%zu non-zeros) needs about %.4g MiB, but only %.0f MiB are available",
                            (size_t)need, need / 1048576.0, memory_limit / 1048576.0);
    }
    A->col = malloc(A->nnz * sizeof *A->col);
    A->val = malloc(A->nnz * sizeof *A->val);
    if (!A->col || !A->val || !sector_pass(A, 0, 0)) {
        qs_sector_op_free(&A);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the sector operator (%zu non-zeros)", A->nnz);
    }
    *out = A;
    return QS_OK;
}

int qs_sector_op_fill(qs_sector_op *A, const qs_model *m, qs_error *err)
{
    if (!gen_set(A->gen, A->basis, m) || !sector_pass(A, 1, 0)) return qs_error_set(err, QS_ENOMEM, "out of memory");
    double norm = 0.0;
#pragma omp parallel for reduction(max : norm) schedule(static) if (A->n >= QS_KRYLOV_PARALLEL_MIN)
    for (size_t r = 0; r < A->n; r++) {
        double s = 0.0;
        for (int64_t p = A->rowptr[r]; p < A->rowptr[r + 1]; p++) s += cabs(A->val[p]);
        if (s > norm) norm = s;
    }
    A->norm = norm;
    if (!(norm > 0) || !isfinite(norm)) return qs_error_set(err, QS_ENUMERIC, "the Liouvillian has no finite non-zero entries");
    return QS_OK;
}

void qs_sector_op_apply(const qs_sector_op *A, const double complex *x, double complex *y, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static, 4096)
    for (size_t r = 0; r < A->n; r++) {
        double complex s = 0.0;
        for (int64_t p = A->rowptr[r]; p < A->rowptr[r + 1]; p++) s += A->val[p] * x[A->col[p]];
        y[r] = s;
    }
}
