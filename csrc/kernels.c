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
                  double beta2, double eps, double weight_decay, long step,
                  double *m, double *v)
{
    double step_size = lr / (1.0 - pow(beta1, (double)step));
    double bc2_sqrt = sqrt(1.0 - pow(beta2, (double)step));
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

/* One dense layer for inference: y[j] = act(b[j] + w[j][0]*x[0] + ...), summed left to
 * right as FG_DOT is; act is FG_RELU, FG_TANH, FG_SIGMOID or FG_LEAF (linear). */
static void dense_forward(size_t nout, size_t nin, const double *w, const double *b, int act,
                      const double *x, double *y)
{
    for (size_t j = 0; j < nout; j++) {
        const double *row = w + j * nin;
        double acc = b[j];
        for (size_t i = 0; i < nin; i++)
            acc = acc + row[i] * x[i];
        fg_forward(act, acc, 0.0, &y[j]); /* activations cannot fail */
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
