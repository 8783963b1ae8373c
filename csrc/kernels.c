/* Bulk kernels; see kernels.h. */
#include <math.h>

#include "kernels.h"
#include "ops.h"

void fg_sgd_step(fg_graph *g, size_t n, const fg_id *ids, double lr, double momentum,
                 double weight_decay, double *buf, int first)
{
    for (size_t i = 0; i < n; i++) {
        fg_id p = ids[i];
        double gr = g->grad[p];
        if (weight_decay != 0.0)
            gr = gr + weight_decay * g->data[p];
        if (momentum != 0.0) {
            buf[i] = first ? gr : momentum * buf[i] + gr;
            gr = buf[i];
        }
        g->data[p] = g->data[p] - lr * gr;
    }
}

void fg_adam_step(fg_graph *g, size_t n, const fg_id *ids, double lr, double beta1,
                  double beta2, double eps, double weight_decay, double step,
                  double *m, double *v)
{
    double step_size = lr / (1.0 - pow(beta1, step));
    double bc2_sqrt = sqrt(1.0 - pow(beta2, step));
    for (size_t i = 0; i < n; i++) {
        fg_id p = ids[i];
        double gr = g->grad[p], denom;
        if (weight_decay != 0.0)
            gr = gr + weight_decay * g->data[p];
        m[i] = beta1 * m[i] + (1.0 - beta1) * gr;
        v[i] = beta2 * v[i] + (1.0 - beta2) * gr * gr;
        denom = sqrt(v[i]) / bc2_sqrt + eps;
        g->data[p] = g->data[p] - step_size * (m[i] / denom);
    }
}

#define FG_LANES 8

/* One dense layer for inference: y[j] = act(b[j] + w[0][j]*x[0] + w[1][j]*x[1] + ...),
 * summed left to right as FG_DOT is; act is FG_RELU, FG_TANH, FG_SIGMOID or FG_LEAF
 * (linear). w is the transposed weight matrix, nin rows of nout, so FG_LANES
 * neighbouring neurons read neighbouring weights: their sums are independent lanes
 * the compiler can keep in vector registers, each still added in its own order (so
 * the results are the graph's, bit for bit) but none waiting on another. */
static void dense_forward(size_t nout, size_t nin, const double *w, const double *b, int act,
                          const double *x, double *y)
{
    size_t j = 0, k;
    for (; j + FG_LANES <= nout; j += FG_LANES) {
        double acc[FG_LANES];
        for (k = 0; k < FG_LANES; k++)
            acc[k] = b[j + k];
        for (size_t i = 0; i < nin; i++) {
            const double *row = w + i * nout + j;
            double xi = x[i];
            for (k = 0; k < FG_LANES; k++)
                acc[k] = acc[k] + row[k] * xi;
        }
        for (k = 0; k < FG_LANES; k++)
            fg_forward(act, acc[k], 0.0, &y[j + k]); /* activations cannot fail */
    }
    for (; j < nout; j++) {
        double acc = b[j];
        for (size_t i = 0; i < nin; i++)
            acc = acc + w[i * nout + j] * x[i];
        fg_forward(act, acc, 0.0, &y[j]);
    }
}

void fg_mlp_forward(size_t nlayers, const size_t *sizes, const double *const *w,
                    const double *const *b, const int *act, size_t nrows, const double *X,
                    double *Y, double *scratch)
{
    size_t widest = 0;
    for (size_t l = 0; l <= nlayers; l++)
        if (sizes[l] > widest)
            widest = sizes[l];
    for (size_t r = 0; r < nrows; r++) {
        const double *in = X + r * sizes[0];
        double *out = scratch;
        for (size_t l = 0; l < nlayers; l++) {
            if (l + 1 == nlayers)
                out = Y + r * sizes[nlayers];
            dense_forward(sizes[l + 1], sizes[l], w[l], b[l], act[l], in, out);
            in = out;
            out = (out == scratch) ? scratch + widest : scratch;
        }
    }
}
