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

/* predict's kernel: FG_ROWS samples at a time, a dense layer at a time, in register
 * tiles of FG_TILE neurons by the FG_ROWS samples. Each of a tile's sums is its own
 * chain, added in FG_DOT's order (so every result is the graph's, bit for bit), and the
 * tile holds enough independent chains that the additions never wait on one another;
 * the samples are neighbours in memory, so the compiler pairs them in vectors. (The
 * sizes are the fastest of those tried on the moons and digits models.) */
#define FG_ROWS 8
#define FG_TILE 2

/* Apply activation act to v[0..n); the op is a constant in each loop, so each loop
 * is the rule alone. */
static void activate(int act, double *v, size_t n)
{
    size_t k;
    switch (act) {
    case FG_LEAF: /* linear */
        return;
#define FG_ACT(code, label, forward, backward) \
    case FG_##code: for (k = 0; k < n; k++) v[k] = fg_activate(FG_##code, v[k]); return;
#include "ops.def"
    default: FG_BAD_OP();
    }
}

/* One dense layer for FG_ROWS samples: y[j][r] = act(b[j] + w[0][j]*x[0][r] +
 * w[1][j]*x[1][r] + ...), summed left to right as FG_DOT is. x and y hold a neuron's
 * FG_ROWS values together; w is the transposed weight matrix (nin rows of nout). */
static void dense_rows(size_t nout, size_t nin, const double *restrict w,
                       const double *restrict b, int act, const double *restrict x,
                       double *restrict y)
{
    size_t j = 0, i, r, t;
    for (; j + FG_TILE <= nout; j += FG_TILE) {
        double acc[FG_TILE][FG_ROWS]; /* [neuron][sample] */
        for (t = 0; t < FG_TILE; t++)
            for (r = 0; r < FG_ROWS; r++)
                acc[t][r] = b[j + t];
        for (i = 0; i < nin; i++)
            for (t = 0; t < FG_TILE; t++)
                for (r = 0; r < FG_ROWS; r++)
                    acc[t][r] = acc[t][r] + w[i * nout + j + t] * x[i * FG_ROWS + r];
        for (t = 0; t < FG_TILE; t++)
            for (r = 0; r < FG_ROWS; r++)
                y[(j + t) * FG_ROWS + r] = acc[t][r];
    }
    for (; j < nout; j++) { /* the last few neurons: the samples are the chains */
        double acc[FG_ROWS];
        for (r = 0; r < FG_ROWS; r++)
            acc[r] = b[j];
        for (i = 0; i < nin; i++)
            for (r = 0; r < FG_ROWS; r++)
                acc[r] = acc[r] + w[i * nout + j] * x[i * FG_ROWS + r];
        for (r = 0; r < FG_ROWS; r++)
            y[j * FG_ROWS + r] = acc[r];
    }
    activate(act, y, nout * FG_ROWS);
}

size_t fg_mlp_scratch(size_t nlayers, const size_t *sizes)
{
    size_t widest = 0;
    for (size_t l = 0; l <= nlayers; l++)
        if (sizes[l] > widest)
            widest = sizes[l];
    return 2 * widest * FG_ROWS;
}

void fg_mlp_forward(size_t nlayers, const size_t *sizes, const double *const *w,
                    const double *const *b, const int *act, size_t nrows, const double *X,
                    double *Y, double *scratch)
{
    size_t half = fg_mlp_scratch(nlayers, sizes) / 2, nin = sizes[0], nout = sizes[nlayers];
    for (size_t r0 = 0; r0 < nrows; r0 += FG_ROWS) {
        size_t n = nrows - r0 < FG_ROWS ? nrows - r0 : FG_ROWS, r, i;
        double *in = scratch, *out = scratch + half, *t;
        /* the block's inputs, a feature's FG_ROWS values together; missing rows are 0 */
        for (i = 0; i < nin; i++)
            for (r = 0; r < FG_ROWS; r++)
                in[i * FG_ROWS + r] = r < n ? X[(r0 + r) * nin + i] : 0.0;
        for (size_t l = 0; l < nlayers; l++) {
            dense_rows(sizes[l + 1], sizes[l], w[l], b[l], act[l], in, out);
            t = in, in = out, out = t;
        }
        for (r = 0; r < n; r++)
            for (i = 0; i < nout; i++)
                Y[(r0 + r) * nout + i] = in[i * FG_ROWS + r];
    }
}
