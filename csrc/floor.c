/* The arithmetic floor of a training step; see floor.h. */
#include <string.h>

#include "floor.h"

static int32_t units(int32_t nlayers, const int32_t *sizes)
{
    int32_t u = 0;
    for (int32_t l = 0; l <= nlayers; l++)
        u += sizes[l];
    return u;
}

static size_t nparams(int32_t nlayers, const int32_t *sizes)
{
    size_t p = 0;
    for (int32_t l = 0; l < nlayers; l++)
        p += (size_t)(sizes[l] + 1) * (size_t)sizes[l + 1];
    return p;
}

size_t fg_floor_scratch(int32_t nlayers, const int32_t *sizes, int32_t n)
{
    /* every sample's values (inputs, then each layer's), and one sample's grads */
    return (size_t)n * (size_t)units(nlayers, sizes) + (size_t)units(nlayers, sizes);
}

size_t fg_floor_step(int32_t nlayers, const int32_t *sizes, double *params, double *grad,
                     int32_t n, const double *X, const double *y, double alpha, double lr,
                     double *loss, double *scratch)
{
    int32_t u = units(nlayers, sizes), last = nlayers - 1, l, j, k, s;
    size_t np = nparams(nlayers, sizes), macs = 0, i;
    double *da = scratch + (size_t)n * (size_t)u, data_loss = 0.0, reg = 0.0;
    memset(grad, 0, np * sizeof *grad);
    for (s = 0; s < n; s++) { /* forward */
        double *a = scratch + (size_t)s * (size_t)u;
        const double *w = params;
        memcpy(a, X + (size_t)s * (size_t)sizes[0], (size_t)sizes[0] * sizeof *a);
        for (l = 0; l < nlayers; l++) {
            double *out = a + sizes[l];
            for (j = 0; j < sizes[l + 1]; j++, w += sizes[l] + 1) {
                double z = w[sizes[l]];
                for (k = 0; k < sizes[l]; k++)
                    z += w[k] * a[k];
                out[j] = l < last && z <= 0.0 ? 0.0 : z;
            }
            macs += (size_t)sizes[l] * (size_t)sizes[l + 1];
            a = out;
        }
        data_loss += 1.0 - y[s] * a[0] > 0.0 ? 1.0 - y[s] * a[0] : 0.0;
    }
    for (i = 0; i < np; i++)
        reg += params[i] * params[i];
    macs += np;
    *loss = data_loss * (1.0 / n) + alpha * reg;
    for (s = 0; s < n; s++) { /* backward, each sample from the top */
        double *a = scratch + (size_t)s * (size_t)u, *w = params + np, *g = grad + np;
        int32_t top = u - sizes[nlayers]; /* where the last layer's values start */
        double score = a[top];
        da[top] = 1.0 - y[s] * score > 0.0 ? -y[s] * (1.0 / n) : 0.0;
        for (l = last; l >= 0; l--) {
            int32_t in = top - sizes[l], nin = sizes[l];
            w -= (size_t)(nin + 1) * (size_t)sizes[l + 1];
            g -= (size_t)(nin + 1) * (size_t)sizes[l + 1];
            memset(da + in, 0, (size_t)nin * sizeof *da);
            for (j = 0; j < sizes[l + 1]; j++) {
                const double *wj = w + (size_t)j * (size_t)(nin + 1);
                double *gj = g + (size_t)j * (size_t)(nin + 1);
                double dz = l < last && a[top + j] <= 0.0 ? 0.0 : da[top + j];
                for (k = 0; k < nin; k++) {
                    gj[k] += a[in + k] * dz;
                    da[in + k] += wj[k] * dz;
                }
                gj[nin] += dz;
            }
            macs += 2 * (size_t)nin * (size_t)sizes[l + 1];
            top = in;
        }
    }
    for (i = 0; i < np; i++) { /* the L2 term's grads, then SGD */
        grad[i] += 2.0 * alpha * params[i];
        params[i] -= lr * grad[i];
    }
    return macs + 2 * np;
}
