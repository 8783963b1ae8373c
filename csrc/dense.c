/* A dense layer's dots on many samples as one kernel; see dense.h. */
#include "dense.h"
#include "nary.h"
#include "net.h"
#include "ops.h"

size_t fg_dense_batch_scratch(int32_t nin, int32_t width, int32_t n)
{
    /* the forward's: one row, then the calls' inputs by column; the backward's: the
     * dots' grads by row, the inputs by call, and the weights by row */
    size_t forward = (size_t)nin + 1 + (size_t)n * (size_t)nin;
    size_t backward = (size_t)n * (size_t)(width + nin) + (size_t)width * (size_t)nin;
    return forward > backward ? forward : backward;
}

/* The inputs of call c, then row r, as dots[c * width + r] has them. */
static const fg_block *inputs_of(const fg_graph *g, const fg_id *dots, int32_t c, int32_t width)
{
    return fg_dot_pair(g, dots[(size_t)c * (size_t)width])->x;
}

static const fg_block *row_of(const fg_graph *g, const fg_id *dots, int32_t r)
{
    return fg_dot_pair(g, dots[r])->w;
}

FG_WIDE void fg_dense_forward_batch(fg_graph *g, const fg_id *dots, const fg_id *acts,
                                    int32_t n, int32_t width, double *scratch)
{
    int32_t nin = inputs_of(g, dots, 0, width)->n, c, r, k, i, m;
    double *w = scratch, *xt = scratch + nin + 1;
    for (c = 0; c < n; c++) {
        const fg_block *x = inputs_of(g, dots, c, width);
        for (k = 0; k < nin; k++)
            xt[(size_t)k * (size_t)n + (size_t)c] = fg_block_value(g, x, k);
    }
    for (r = 0; r < width; r++) {
        const fg_block *row = row_of(g, dots, r);
        for (k = 0; k <= nin; k++)
            w[k] = fg_block_value(g, row, k);
        for (c = 0; c < n; c += m) { /* calls side by side, each summed in FG_DOT's order */
            double a[FG_LANES];
            m = n - c < FG_LANES ? n - c : FG_LANES;
            for (i = 0; i < m; i++)
                a[i] = w[nin];
            fg_lanes(a, xt + c, (size_t)n, w, 1, nin, m);
            for (i = 0; i < m; i++) {
                size_t at = (size_t)(c + i) * (size_t)width + (size_t)r;
                fg_id act = acts[at];
                g->data[dots[at]] = a[i];
                g->grad[dots[at]] = 0.0;
                if (act != FG_NONE) {
                    g->data[act] = fg_activate(g->op[act], a[i]);
                    g->grad[act] = 0.0;
                }
            }
        }
    }
}

FG_WIDE void fg_dense_backward_batch(fg_graph *g, const fg_id *dots, const fg_id *acts,
                                     int32_t n, int32_t width, double *scratch)
{
    int32_t nin = inputs_of(g, dots, 0, width)->n, c, r, k;
    double *grad = g->grad, *gr = scratch, *xd = gr + (size_t)n * (size_t)width;
    double *w = xd + (size_t)n * (size_t)nin;
    for (c = 0; c < n; c++) /* each dot's grad once its activation passed its own back */
        for (r = 0; r < width; r++) {
            size_t at = (size_t)c * (size_t)width + (size_t)r;
            fg_id act = acts[at];
            if (act != FG_NONE)
                fg_act_backward(g->op[act], g->data[act], grad[act], &grad[dots[at]]);
            gr[(size_t)r * (size_t)n + (size_t)c] = grad[dots[at]];
        }
    for (r = 0; r < width; r++) {
        const fg_block *row = row_of(g, dots, r);
        for (k = 0; k < nin; k++)
            w[(size_t)r * (size_t)nin + (size_t)k] = fg_block_value(g, row, k);
    }
    for (c = 0; c < n; c++) { /* each call's inputs take its dots' terms in turn */
        const fg_block *x = inputs_of(g, dots, c, width);
        double *xc = xd + (size_t)c * (size_t)nin;
        for (k = 0; k < nin; k++)
            xc[k] = fg_block_value(g, x, k);
        fg_inputs_back(grad, x->ids, w, nin, gr + c, (size_t)n, width);
    }
    for (r = 0; r < width; r++) /* then each row's weights the calls' terms in turn */
        fg_row_back(grad, row_of(g, dots, r)->ids, xd, nin, gr + (size_t)r * (size_t)n, n);
}
