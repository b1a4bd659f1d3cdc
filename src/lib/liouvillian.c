/* liouvillian.c — the master-equation generator L (Eq. 4) as a complex CSC matrix.
 *
 * Unknowns are elements ρ_st: those of the zero excitation-difference sector (full = 0)
 * or all D² of them (full = 1, index s·D + t). Column (s,t) holds what ρ_st feeds:
 *   diagonal     −i(E_s − E_t) − ½(Γ_s + Γ_t)      (Γ = total out-rate of the Fock levels)
 *   −iHρ         row (s + e_p − e_q, t):  −i C_pq √(s_q (s_p+1))
 *   +iρH         row (s, t − e_p + e_q):  +i C_pq √(t_p (t_q+1))
 *   jumps        if s_j = t_j = n: row (s+e_j, t+e_j) rate_up(n+1), row (s−e_j, t−e_j) rate_down(n)
 * for every coupling term C_pq a_p† a_q (both directions of each stored coupling) and
 * every oscillator j. Each of these keeps ket-minus-bra excitations fixed, so the sector
 * is closed. The pattern is structural (a coupling of value 0 still has entries), built
 * once; fills write values into it.
 *
 * Normalisation: the population rows of L sum to zero (L preserves the trace), so the
 * equation of one population ρ_rr is redundant. Its row is replaced by w·e_r (w = mean
 * |L_ij|), fixing ρ_rr; the state is rescaled to Tr ρ = 1 afterwards. The row stays as
 * sparse as it can be, and the matrix is non-singular whenever the steady state is
 * unique with ρ_rr ≠ 0: r is the most populated state of the uncoupled network.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

typedef struct {
    int p, q;                 /* term C_pq a_p† a_q */
    double complex c;
} hop;

/* Everything the generator needs that depends on parameter values. */
typedef struct {
    int n_hops;
    hop *hops;                /* [2·couplings] */
    double **energy;          /* [n][levels] E_j(n) */
    double **up;              /* [n][levels] up[j][n] = rate of n−1 → n (0 at n = 0) */
    double **down;            /* [n][levels] down[j][n] = rate of n → n−1 */
    double **out;             /* [n][levels] total out-rate of level n */
} gen_params;

static void params_free(gen_params *g, int n)
{
    for (int j = 0; j < n; j++) {
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
    memset(g, 0, sizeof *g);
}

static int params_make(gen_params *g, const qs_basis *b, const qs_model *m)
{
    int n = b->n;
    memset(g, 0, sizeof *g);
    g->hops = malloc((size_t)(2 * m->n_couplings + 1) * sizeof *g->hops);
    g->energy = calloc((size_t)n, sizeof *g->energy);
    g->up = calloc((size_t)n, sizeof *g->up);
    g->down = calloc((size_t)n, sizeof *g->down);
    g->out = calloc((size_t)n, sizeof *g->out);
    if (!g->hops || !g->energy || !g->up || !g->down || !g->out) { params_free(g, n); return 0; }
    for (int i = 0; i < m->n_couplings; i++) {
        const qs_coupling *c = &m->couplings[i];
        g->hops[g->n_hops++] = (hop){c->j, c->k, c->c};
        g->hops[g->n_hops++] = (hop){c->k, c->j, conj(c->c)};
    }
    for (int j = 0; j < n; j++) {
        int L = b->levels[j];
        const qs_osc *o = &m->osc[j];
        g->energy[j] = malloc((size_t)L * sizeof(double));
        g->up[j] = malloc((size_t)L * sizeof(double));
        g->down[j] = malloc((size_t)L * sizeof(double));
        g->out[j] = malloc((size_t)L * sizeof(double));
        if (!g->energy[j] || !g->up[j] || !g->down[j] || !g->out[j]) { params_free(g, n); return 0; }
        for (int k = 0; k < L; k++) {
            g->energy[j][k] = qs_osc_energy(o, k);
            g->up[j][k] = k > 0 ? qs_osc_rate_up(o, k) : 0.0;
            g->down[j][k] = qs_osc_rate_down(o, k);
        }
        for (int k = 0; k < L; k++) g->out[j][k] = (k + 1 < L ? g->up[j][k + 1] : 0.0) + g->down[j][k];
    }
    return 1;
}

size_t qs_liouvillian_index(const qs_liouvillian *L, size_t s, size_t t)
{
    const qs_basis *b = L->basis;
    if (L->full) return s * b->dim + t;
    if (b->total[s] != b->total[t]) return (size_t)-1;
    return qs_basis_sector_index(b, s, t);
}

/* The (s, t) of system column `col`. */
static void column_states(const qs_liouvillian *L, size_t col, size_t *s, size_t *t)
{
    const qs_basis *b = L->basis;
    if (L->full) { *s = col / b->dim; *t = col % b->dim; return; }
    int lo = 0, hi = b->max_total;          /* block with offset ≤ col < next offset */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (b->block_offset[mid] <= col) lo = mid; else hi = mid - 1;
    }
    size_t d = b->block_size[lo], r = col - b->block_offset[lo];
    *s = b->block_states[lo][r / d];
    *t = b->block_states[lo][r % d];
}

/* Emit the entries of column (s, t): rows[] and, if g is non-NULL, vals[]. Returns count. */
static int emit_column(const qs_liouvillian *L, const gen_params *g, const qs_model *m,
                       size_t s, size_t t, int64_t *rows, double complex *vals)
{
    const qs_basis *b = L->basis;
    int n = b->n, k = 0;
    rows[k] = (int64_t)qs_liouvillian_index(L, s, t);
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
    int n_hops = 2 * m->n_couplings;
    for (int h = 0; h < n_hops; h++) {
        const qs_coupling *cp = &m->couplings[h / 2];
        int p = h % 2 ? cp->k : cp->j, q = h % 2 ? cp->j : cp->k;
        int sp = qs_basis_occ(b, s, p), sq = qs_basis_occ(b, s, q);
        int tp = qs_basis_occ(b, t, p), tq = qs_basis_occ(b, t, q);
        if (sq >= 1 && sp + 1 < b->levels[p]) {           /* −i H ρ */
            size_t a = s + b->stride[p] - b->stride[q];
            rows[k] = (int64_t)qs_liouvillian_index(L, a, t);
            if (vals) vals[k] = -I * g->hops[h].c * sqrt((double)sq * (sp + 1));
            k++;
        }
        if (tp >= 1 && tq + 1 < b->levels[q]) {           /* +i ρ H */
            size_t c = t - b->stride[p] + b->stride[q];
            rows[k] = (int64_t)qs_liouvillian_index(L, s, c);
            if (vals) vals[k] = I * g->hops[h].c * sqrt((double)tp * (tq + 1));
            k++;
        }
    }
    for (int j = 0; j < n; j++) {                           /* jumps */
        int sj = qs_basis_occ(b, s, j);
        if (sj != qs_basis_occ(b, t, j)) continue;
        if (sj + 1 < b->levels[j]) {
            rows[k] = (int64_t)qs_liouvillian_index(L, s + b->stride[j], t + b->stride[j]);
            if (vals) vals[k] = g->up[j][sj + 1];
            k++;
        }
        if (sj >= 1) {
            rows[k] = (int64_t)qs_liouvillian_index(L, s - b->stride[j], t - b->stride[j]);
            if (vals) vals[k] = g->down[j][sj];
            k++;
        }
    }
    return k;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int qs_liouvillian_nnz_bound(const qs_model *model, size_t columns, size_t diag, size_t *nnz)
{
    size_t per = 1 + 4 * (size_t)model->n_couplings + 2 * (size_t)model->n, total;
    if (!qs_mul_size(columns, per, &total) || !qs_add_size(total, diag, nnz)) return 0;
    return 1;
}

void qs_liouvillian_free(qs_liouvillian **L)
{
    if (!L || !*L) return;
    free((*L)->Ap);
    free((*L)->Ai);
    free((*L)->Ax);
    free((*L)->diag_index);
    free((*L)->row_abs);
    free(*L);
    *L = NULL;
}

/* State s* with the largest uncoupled product population: the normalisation row. */
static size_t trace_state(const qs_basis *b, const qs_model *m)
{
    size_t best = 0;
    double best_lp = -INFINITY;
    double *lp[64] = {0};
    int n = b->n < 64 ? b->n : 64, ok = 1;
    for (int j = 0; j < n && ok; j++) {
        lp[j] = malloc((size_t)b->levels[j] * sizeof(double));
        if (!lp[j] || qs_osc_populations(&m->osc[j], b->levels[j], lp[j]) != QS_OK) ok = 0;
        else for (int k = 0; k < b->levels[j]; k++) lp[j][k] = log(lp[j][k]);
    }
    for (size_t s = 0; ok && n == b->n && s < b->dim; s++) {
        double v = 0.0;
        for (int j = 0; j < n; j++) v += lp[j][qs_basis_occ(b, s, j)];
        if (v > best_lp) { best_lp = v; best = s; }
    }
    for (int j = 0; j < n; j++) free(lp[j]);
    return best;
}

int qs_liouvillian_create(const qs_basis *basis, const qs_model *model, int full,
                          qs_liouvillian **out, qs_error *err)
{
    qs_liouvillian *L = calloc(1, sizeof *L);
    if (!L) return qs_error_set(err, QS_ENOMEM, "out of memory");
    L->basis = basis;
    L->full = full;
    size_t D = basis->dim, bound;
    if (full) {
        if (!qs_mul_size(D, D, &L->n)) { free(L); return qs_error_set(err, QS_ETOOBIG, "the full Liouvillian is too large to index"); }
    } else {
        L->n = basis->sector_dim;
    }
    if (!qs_liouvillian_nnz_bound(model, L->n, D, &bound) || bound > (size_t)INT64_MAX / 32) {
        free(L);
        return qs_error_set(err, QS_ETOOBIG, "the Liouvillian is too large to index");
    }
    L->Ap = malloc((L->n + 1) * sizeof *L->Ap);
    L->Ai = malloc(bound * sizeof *L->Ai);
    L->diag_index = malloc(D * sizeof *L->diag_index);
    L->row_abs = malloc(L->n * sizeof *L->row_abs);
    size_t per = 2 + 4 * (size_t)model->n_couplings + 2 * (size_t)model->n;
    int64_t *rows = malloc(per * sizeof *rows);
    if (!L->Ap || !L->Ai || !L->diag_index || !L->row_abs || !rows) {
        free(rows);
        qs_liouvillian_free(&L);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the Liouvillian pattern (%zu entries)", bound);
    }
    for (size_t s = 0; s < D; s++) L->diag_index[s] = qs_liouvillian_index(L, s, s);
    L->trace_row = L->diag_index[trace_state(basis, model)];

    size_t nnz = 0;
    L->Ap[0] = 0;
    for (size_t col = 0; col < L->n; col++) {
        size_t s, t;
        column_states(L, col, &s, &t);
        int k = emit_column(L, NULL, model, s, t, rows, NULL);
        qsort(rows, (size_t)k, sizeof *rows, cmp_i64);
        int u = 0;
        for (int i = 0; i < k; i++) {
            if (rows[i] == (int64_t)L->trace_row && col != L->trace_row) continue;
            if (u == 0 || rows[i] != rows[u - 1]) rows[u++] = rows[i];
        }
        memcpy(L->Ai + nnz, rows, (size_t)u * sizeof *rows);
        nnz += (size_t)u;
        L->Ap[col + 1] = (int64_t)nnz;
    }
    free(rows);
    L->nnz = nnz;
    int64_t *shrunk = realloc(L->Ai, (nnz ? nnz : 1) * sizeof *shrunk);
    if (shrunk) L->Ai = shrunk;
    L->Ax = malloc((nnz ? nnz : 1) * sizeof *L->Ax);
    if (!L->Ax) {
        qs_liouvillian_free(&L);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the Liouvillian values");
    }
    {   /* position of (r, r) in column r */
        int64_t p = L->Ap[L->trace_row];
        while (L->Ai[p] != (int64_t)L->trace_row) p++;
        L->trace_pos = p;
    }
    *out = L;
    return QS_OK;
}

int qs_liouvillian_fill(qs_liouvillian *L, const qs_model *model, qs_error *err)
{
    const qs_basis *b = L->basis;
    gen_params g;
    if (!params_make(&g, b, model)) return qs_error_set(err, QS_ENOMEM, "out of memory");
    size_t per = 1 + 4 * (size_t)model->n_couplings + 2 * (size_t)model->n;
    int64_t *rows = malloc(per * sizeof *rows);
    double complex *vals = malloc(per * sizeof *vals);
    if (!rows || !vals) {
        free(rows);
        free(vals);
        params_free(&g, b->n);
        return qs_error_set(err, QS_ENOMEM, "out of memory");
    }
    memset(L->Ax, 0, L->nnz * sizeof *L->Ax);
    memset(L->row_abs, 0, L->n * sizeof *L->row_abs);
    double abs_sum = 0.0;
    for (size_t col = 0; col < L->n; col++) {
        size_t s, t;
        column_states(L, col, &s, &t);
        int k = emit_column(L, &g, model, s, t, rows, vals);
        const int64_t *ai = L->Ai + L->Ap[col];
        int64_t len = L->Ap[col + 1] - L->Ap[col];
        for (int i = 0; i < k; i++) {
            L->row_abs[rows[i]] += cabs(vals[i]);
            abs_sum += cabs(vals[i]);
            if (rows[i] == (int64_t)L->trace_row) continue;   /* replaced by w e_r */
            int64_t lo = 0, hi = len - 1;
            while (lo < hi) {
                int64_t mid = (lo + hi) / 2;
                if (ai[mid] < rows[i]) lo = mid + 1; else hi = mid;
            }
            L->Ax[L->Ap[col] + lo] += vals[i];
        }
    }
    free(rows);
    free(vals);
    params_free(&g, b->n);
    double norm = 0.0;
    for (size_t r = 0; r < L->n; r++)
        if (L->row_abs[r] > norm) norm = L->row_abs[r];
    L->norm_inf = norm;
    L->trace_weight = abs_sum / (double)L->nnz;
    if (!(L->trace_weight > 0) || !isfinite(L->trace_weight))
        return qs_error_set(err, QS_ENUMERIC, "the Liouvillian has no finite non-zero entries");
    L->Ax[L->trace_pos] = L->trace_weight;
    return QS_OK;
}
