/* perturb.c — first-order perturbation theory for one pair (formula in qsync/perturb.h). */
#include <math.h>
#include <stdlib.h>
#include "internal.h"

/* Total out-rate of level k of an L-level oscillator. */
static double out_rate(const qs_osc *o, int L, int k)
{
    return (k + 1 < L ? qs_osc_rate_up(o, k + 1) : 0.0) + qs_osc_rate_down(o, k);
}

int qs_perturb_pair(const qs_model *model, int a, int b, double complex *c1, qs_error *err)
{
    const qs_osc *A = &model->osc[a], *B = &model->osc[b];
    int La = A->levels, Lb = B->levels;
    if (La < 2 || Lb < 2)
        return qs_error_set(err, QS_EINPUT, "levels must be resolved before perturbation theory");
    double complex C = 0.0;
    for (int i = 0; i < model->n_couplings; i++) {
        const qs_coupling *cp = &model->couplings[i];
        if (cp->j == a && cp->k == b) C = cp->c;
        if (cp->j == b && cp->k == a) C = conj(cp->c);
    }
    /* workspaces on the stack for the usual truncations: no allocation per sweep point */
    double pbuf[256], qbuf[256];
    double *p = La <= 256 ? pbuf : malloc((size_t)La * sizeof *p), *q = Lb <= 256 ? qbuf : malloc((size_t)Lb * sizeof *q);
    if (!p || !q) {
        if (p != pbuf) free(p);
        if (q != qbuf) free(q);
        return qs_error_set(err, QS_ENOMEM, "out of memory");
    }
    int st = qs_osc_populations(A, La, p);
    if (st == QS_OK) st = qs_osc_populations(B, Lb, q);
    if (st != QS_OK) {
        if (p != pbuf) free(p);
        if (q != qbuf) free(q);
        return qs_error_set(err, QS_EINPUT, "oscillator %s or %s has no dissipation (gamma_plus = gamma_minus = 0): "
                            "its uncoupled state is not unique", qs_model_name(model, a), qs_model_name(model, b));
    }
    double complex sum = 0.0;
    for (int n = 1; n < La; n++)
        for (int m = 0; m + 1 < Lb; m++) {
            double delta = (A->omega - 2 * A->K * (n - 1)) - (B->omega - 2 * B->K * m);
            double gam = 0.5 * (out_rate(A, La, n) + out_rate(A, La, n - 1) + out_rate(B, Lb, m) + out_rate(B, Lb, m + 1));
            sum += -I * C * sqrt((double)n * (m + 1)) * (p[n - 1] * q[m + 1] - p[n] * q[m]) / (gam + I * delta);
        }
    if (p != pbuf) free(p);
    if (q != qbuf) free(q);
    *c1 = sum;
    return QS_OK;
}
