/* basis.c — Fock basis of the network and its excitation-number blocks (see internal.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* Above this many totals the exact count gives way to the normal approximation (the count
 * of states by total is a convolution of boxes: for so many totals it is a Gaussian to far
 * better than the estimate needs, and the exact one would take seconds). */
#define SECTOR_EXACT_MAX_TOTAL 4000000.0

double qs_basis_sector_estimate(int n, const int *levels)
{
    double max_total = 0, log_dim = 0, var = 0;
    for (int j = 0; j < n; j++) {
        double L = levels[j];
        max_total += L - 1;
        log_dim += log(L);
        var += (L * L - 1) / 12.0;
    }
    if (max_total > SECTOR_EXACT_MAX_TOTAL)   /* Σ_t c_t² ≈ D² / (2σ√π), σ² the variance of the total */
        return exp(2 * log_dim - log(2 * sqrt(M_PI * var)));
    size_t nt = (size_t)max_total + 1;
    double *count = calloc(nt, sizeof *count), *next = calloc(nt, sizeof *next);
    if (!count || !next) { free(count); free(next); return INFINITY; }
    count[0] = 1;
    size_t top = 0;
    for (int j = 0; j < n; j++) {
        /* next = count * box of width L by a sliding window over the rising half, exact in
         * integers below 2^53; the result is symmetric about its middle */
        size_t L = (size_t)levels[j], new_top = top + L - 1;
        double window = 0;
        for (size_t t = 0; t <= new_top / 2; t++) {
            if (t <= top) window += count[t];
            if (t >= L && t - L <= top) window -= count[t - L];
            next[t] = window > 0 ? window : 0;
        }
        for (size_t t = new_top / 2 + 1; t <= new_top; t++) next[t] = next[new_top - t];
        top = new_top;
        memcpy(count, next, (top + 1) * sizeof *count);
    }
    double sector = 0;
    for (size_t t = 0; t <= top; t++) sector += count[t] * count[t];
    free(count);
    free(next);
    return sector;
}

int qs_basis_plan(int n, const int *levels, size_t *dim, size_t *sector_dim)
{
    size_t D = 1;
    for (int j = 0; j < n; j++)
        if (!qs_mul_size(D, (size_t)levels[j], &D)) return 0;
    double sector = qs_basis_sector_estimate(n, levels);
    if (sector > (double)SIZE_MAX / 64) return 0;
    *dim = D;
    *sector_dim = (size_t)sector;
    return 1;
}

void qs_basis_free(qs_basis **basis)
{
    if (!basis || !*basis) return;
    qs_basis *b = *basis;
    if (b->block_states)
        for (int t = 0; t <= b->max_total; t++) free(b->block_states[t]);
    free(b->block_states);
    free(b->levels);
    free(b->stride);
    free(b->occ);
    free(b->total);
    free(b->pos);
    free(b->block_size);
    free(b->block_offset);
    free(b);
    *basis = NULL;
}

int qs_basis_create(int n, const int *levels, qs_basis **out, qs_error *err)
{
    size_t D, sector, occ_size;
    if (!qs_basis_plan(n, levels, &D, &sector) || !qs_mul_size(D, (size_t)n, &occ_size))
        return qs_error_set(err, QS_ETOOBIG, "the Hilbert space is too large to index");
    qs_basis *b = calloc(1, sizeof *b);
    if (!b) return qs_error_set(err, QS_ENOMEM, "out of memory");
    b->n = n;
    b->dim = D;
    b->max_total = 0;
    for (int j = 0; j < n; j++) b->max_total += levels[j] - 1;
    size_t nt = (size_t)b->max_total + 1;
    b->levels = malloc((size_t)n * sizeof *b->levels);
    b->stride = malloc((size_t)n * sizeof *b->stride);
    b->occ = malloc(occ_size * sizeof *b->occ);
    b->total = malloc(D * sizeof *b->total);
    b->pos = malloc(D * sizeof *b->pos);
    b->block_size = calloc(nt, sizeof *b->block_size);
    b->block_offset = calloc(nt + 1, sizeof *b->block_offset);
    b->block_states = calloc(nt, sizeof *b->block_states);
    if (!b->levels || !b->stride || !b->occ || !b->total || !b->pos || !b->block_size ||
        !b->block_offset || !b->block_states) {
        qs_basis_free(&b);
        return qs_error_set(err, QS_ENOMEM, "out of memory for the basis (%zu states)", D);
    }
    memcpy(b->levels, levels, (size_t)n * sizeof *levels);
    size_t stride = 1;
    for (int j = n - 1; j >= 0; j--) {
        b->stride[j] = stride;
        stride *= (size_t)levels[j];
    }
    for (size_t s = 0; s < D; s++) {
        int tot = 0;
        for (int j = 0; j < n; j++) {
            int o = (int)((s / b->stride[j]) % (size_t)levels[j]);
            b->occ[s * (size_t)n + (size_t)j] = (uint16_t)o;
            tot += o;
        }
        b->total[s] = tot;
        b->pos[s] = b->block_size[tot]++;
    }
    for (size_t t = 0; t < nt; t++) {
        b->block_offset[t + 1] = b->block_offset[t] + b->block_size[t] * b->block_size[t];
        b->block_states[t] = malloc((b->block_size[t] ? b->block_size[t] : 1) * sizeof **b->block_states);
        if (!b->block_states[t]) {
            qs_basis_free(&b);
            return qs_error_set(err, QS_ENOMEM, "out of memory for the basis");
        }
    }
    for (size_t s = 0; s < D; s++) b->block_states[b->total[s]][b->pos[s]] = s;
    b->sector_dim = b->block_offset[nt];
    *out = b;
    return QS_OK;
}
