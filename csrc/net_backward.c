/* The backward of a fused network call (FG_NET, FG_HEAD); see net.h. Each kernel adds
 * into every grad in the order the unfused graph's sweep would. */
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "nary.h"
#include "ops.h"

/* The grad of neuron u's dot node, once its activation node (output out, grad gr)
 * has passed its own back; a linear neuron's dot has no activation after it. */
static inline double dot_grad(fg_net_call *t, int act, int32_t u, double out, double gr)
{
    if (act == FG_LEAF)
        return gr;
    fg_act_backward(act, out, gr, &t->gz[u]);
    return t->gz[u];
}

/* FG_DOT's backward for a neuron whose inputs are the hidden neurons below it: their
 * data h and grads gh are on the call. */
/* back_to_hidden's loop on a row that is a run of distinct nodes: arrays the compiler
 * is told are disjoint, so it runs a vector of k at a time. */
FG_WIDE static void back_run(double *restrict gw, const double *restrict dw, double gr,
                     const double *restrict h, double *restrict gh, int32_t n)
{
    for (int32_t k = 0; k < n; k++) {
        gw[k] += h[k] * gr;
        gh[k] += dw[k] * gr;
    }
    gw[n] += gr;
}

static inline void back_to_hidden(fg_graph *g, const fg_block *w, double gr, const double *h,
                                  double *gh)
{
    double *data = g->data, *grad = g->grad;
    int32_t n = w->n - 1, k;
    if (w->consecutive) {
        back_run(grad + w->ids[0], data + w->ids[0], gr, h, gh, n);
        return;
    }
    if (w->no_constants) { /* the common case, without a test per weight */
        for (k = 0; k < n; k++) {
            fg_id wk = w->ids[k];
            grad[wk] += h[k] * gr;
            gh[k] += data[wk] * gr;
        }
        grad[w->ids[n]] += gr;
        return;
    }
    for (k = 0; k < n; k++) {
        fg_id wk = w->ids[k];
        if (wk != FG_NONE) grad[wk] += h[k] * gr;
        gh[k] += fg_block_value(g, w, k) * gr;
    }
    if (w->ids[n] != FG_NONE)
        grad[w->ids[n]] += gr;
}

void fg_head_backward(fg_graph *g, fg_id id)
{
    fg_net_call *t = fg_head_call(g, id);
    const fg_net *s = t->net;
    const fg_net_layer *L = &s->layer[s->nlayers - 1], *below = L - 1;
    int32_t u = fg_head_unit(g, id);
    double gr = dot_grad(t, L->act, u, g->data[id], g->grad[id]);
    back_to_hidden(g, s->rows[u], gr, t->h + below->first, t->gh + below->first);
}

/* The loop of back4_runs, on arrays the compiler is told are disjoint: it runs a
 * vector of k at a time (each grad still takes its terms in the same order). */
static void back4_arrays(double *restrict ga, double *restrict gb, double *restrict gc,
                         double *restrict gd, const double *restrict a,
                         const double *restrict b, const double *restrict c,
                         const double *restrict d, const double *restrict h,
                         double *restrict gh, const double *gr, int32_t n)
{
    double g0 = gr[0], g1 = gr[1], g2 = gr[2], g3 = gr[3];
    for (int32_t k = 0; k < n; k++) {
        double x = h[k];
        ga[k] += x * g0;
        gb[k] += x * g1;
        gc[k] += x * g2;
        gd[k] += x * g3;
        gh[k] = (((gh[k] + a[k] * g0) + b[k] * g1) + c[k] * g2) + d[k] * g3;
    }
    ga[n] += g0;
    gb[n] += g1;
    gc[n] += g2;
    gd[n] += g3;
}

/* back_to_hidden for four neurons of one layer, w[0] first (the sweep's order), with
 * dot grads gr[0..3], where the rows are runs of distinct nodes: their data and grads
 * are arrays, disjoint from each other and from the call, and each hidden input's
 * grad takes the four terms in that order. */
static inline void back4_runs(fg_graph *g, fg_block *const *w, const double *gr,
                              const double *h, double *gh)
{
    fg_id a = w[0]->ids[0], b = w[1]->ids[0], c = w[2]->ids[0], d = w[3]->ids[0];
    back4_arrays(g->grad + a, g->grad + b, g->grad + c, g->grad + d, g->data + a, g->data + b,
                 g->data + c, g->data + d, h, gh, gr, w[0]->n - 1);
}

/* Can the first layer's backward take the inputs' grads a whole input at a time?
 * Yes when its rows are runs of distinct nodes and no input node is another input
 * or one of those rows' nodes: then each input's grad, held in a register, takes
 * the neurons' terms in the same order as one neuron at a time would give them.
 * In O(inputs): the input nodes' ids must rise (as Values made in turn do), and an
 * id inside the rows' span is looked for in each row. */
static int inputs_apart(const fg_net *s, const fg_block *x)
{
    const fg_net_layer *L = &s->layer[0];
    fg_id last = FG_NONE;
    if (!s->disjoint_runs)
        return 0;
    for (int32_t k = 0; k < x->n; k++) {
        fg_id c = x->ids[k];
        if (c == FG_NONE)
            continue;
        if (c <= last)
            return 0;
        last = c;
        if (c < s->lo || c > s->hi)
            continue;
        for (int32_t j = 0; j < L->nout; j++) {
            fg_id first = s->rows[L->first + j]->ids[0];
            if (c >= first && c <= first + L->nin)
                return 0;
        }
    }
    return 1;
}

/* Inputs of back_to_inputs taken together: each input's grad sums its terms in its
 * own register (the neurons in the same order), so the additions of neighbouring
 * inputs overlap instead of each waiting on the one before. */
#define FG_INPUT_LANES 4

/* One neuron's terms for FG_INPUT_LANES inputs: its weights' data dw and grads gw
 * (a run of its row, apart from everything else), the inputs' data xd, their grads'
 * running sums acc, the neuron's dot grad gj. */
static inline void input_lanes(double *restrict gw, const double *restrict dw,
                               const double *restrict xd, double *restrict acc, double gj)
{
    for (int i = 0; i < FG_INPUT_LANES; i++) {
        gw[i] += xd[i] * gj;
        acc[i] += dw[i] * gj;
    }
}

/* The first layer's backward when inputs_apart: gr[j] is neuron j's dot grad. */
static void back_to_inputs(fg_graph *g, const fg_net *s, const fg_block *x, const double *gr)
{
    const fg_net_layer *L = &s->layer[0];
    fg_block *const *rows = s->rows + L->first;
    double *grad = g->grad;
    const double *data = g->data;
    int32_t k = 0, i;
    for (; k + FG_INPUT_LANES <= x->n; k += FG_INPUT_LANES) {
        double xd[FG_INPUT_LANES], acc[FG_INPUT_LANES];
        for (i = 0; i < FG_INPUT_LANES; i++) {
            fg_id c = x->ids[k + i];
            xd[i] = fg_block_value(g, x, k + i);
            acc[i] = c != FG_NONE ? grad[c] : 0.0;
        }
        for (int32_t j = L->nout - 1; j >= 0; j--) {
            size_t w = (size_t)rows[j]->ids[0] + (size_t)k;
            input_lanes(grad + w, data + w, xd, acc, gr[j]);
        }
        for (i = 0; i < FG_INPUT_LANES; i++)
            if (x->ids[k + i] != FG_NONE)
                grad[x->ids[k + i]] = acc[i];
    }
    for (; k < x->n; k++) {
        fg_id c = x->ids[k];
        double xd = fg_block_value(g, x, k), acc = c != FG_NONE ? grad[c] : 0.0;
        for (int32_t j = L->nout - 1; j >= 0; j--) {
            fg_id w = rows[j]->ids[0] + k;
            grad[w] += xd * gr[j];
            acc += data[w] * gr[j];
        }
        if (c != FG_NONE)
            grad[c] = acc;
    }
    for (int32_t j = L->nout - 1; j >= 0; j--)
        grad[rows[j]->ids[0] + L->nin] += gr[j];
}

/* Layer l of call t's backward (below the output layer: the heads pass theirs). */
static void layer_backward(fg_graph *g, fg_net_call *t, int32_t l)
{
    const fg_net *s = t->net;
    const fg_net_layer *L = &s->layer[l];
    int32_t j = L->nout - 1;
    if (l > 0 && s->disjoint_runs) /* neurons four at a time, last first */
        for (; j >= 3; j -= 4) {
            double gr[4];
            fg_block *rows[4];
            for (int32_t i = 0; i < 4; i++) {
                int32_t u = L->first + j - i;
                gr[i] = dot_grad(t, L->act, u, t->h[u], t->gh[u]);
                rows[i] = s->rows[u];
            }
            back4_runs(g, rows, gr, t->h + L[-1].first, t->gh + L[-1].first);
        }
    if (l == 0 && inputs_apart(s, t->x)) {
        /* the dot grads first (the call's gz, or gh for a linear layer), then the
         * inputs and weights take them */
        for (; j >= 0; j--)
            dot_grad(t, L->act, L->first + j, t->h[L->first + j], t->gh[L->first + j]);
        back_to_inputs(g, s, t->x, (L->act == FG_LEAF ? t->gh : t->gz) + L->first);
        return;
    }
    for (; j >= 0; j--) {
        int32_t u = L->first + j;
        double gr = dot_grad(t, L->act, u, t->h[u], t->gh[u]);
        if (l > 0)
            back_to_hidden(g, s->rows[u], gr, t->h + L[-1].first, t->gh + L[-1].first);
        else
            fg_dot_backward_blocks(g, s->rows[u], t->x, gr);
    }
}

void fg_call_backward(fg_graph *g, fg_id id)
{
    fg_net_call *t = fg_call_of(g, id);
    for (int32_t l = t->net->nlayers - 2; l >= 0; l--)
        layer_backward(g, t, l);
}

/* -- Batched calls ---------------------------------------------------------------------- */

/* Is node c in the sorted ids[0 .. n)? */
static int among(const fg_id *ids, size_t n, fg_id c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < c)
            lo = mid + 1;
        else if (ids[mid] > c)
            hi = mid;
        else
            return 1;
    }
    return 0;
}

static int compare_ids(const void *a, const void *b)
{
    fg_id x = *(const fg_id *)a, y = *(const fg_id *)b;
    return (x > y) - (x < y);
}

/* Does no node fill two slots of inputs x? */
static int distinct_inputs(const fg_block *x)
{
    fg_id *ids = malloc(((size_t)x->n + 1) * sizeof *ids);
    int32_t n = 0, i;
    if (!ids)
        return 0; /* cannot tell: assume one does */
    for (i = 0; i < x->n; i++)
        if (x->ids[i] != FG_NONE)
            ids[n++] = x->ids[i];
    qsort(ids, (size_t)n, sizeof *ids, compare_ids);
    for (i = 1; i < n && ids[i] != ids[i - 1]; i++)
        ;
    free(ids);
    return i >= n;
}

int fg_net_batch_mode(const fg_graph *g, const fg_id *calls, int32_t n)
{
    const fg_net *s = fg_call_of(g, calls[0])->net;
    size_t nrows = 0, k = 0;
    fg_id *ids;
    int mode = FG_BATCH_KERNEL;
    if (!s->distinct_rows)
        return FG_BATCH_CALLS;
    for (int32_t u = 0; u < s->units; u++)
        nrows += (size_t)s->rows[u]->n;
    if (!(ids = malloc(nrows * sizeof *ids)))
        return FG_BATCH_CALLS; /* cannot tell: the calls in turn are always right */
    for (int32_t u = 0; u < s->units; u++)
        for (int32_t i = 0; i < s->rows[u]->n; i++)
            ids[k++] = s->rows[u]->ids[i];
    qsort(ids, nrows, sizeof *ids, compare_ids);
    for (int32_t c = 0; c < n && mode != FG_BATCH_CALLS; c++) {
        const fg_block *x = fg_call_of(g, calls[c])->x;
        for (int32_t i = 0; i < x->n; i++)
            if (x->ids[i] != FG_NONE && among(ids, nrows, x->ids[i])) {
                mode = FG_BATCH_CALLS;
                break;
            }
        if (mode == FG_BATCH_KERNEL && !distinct_inputs(x))
            mode = FG_BATCH_LAYERS;
    }
    free(ids);
    return mode;
}

/* The first layer of calls[0 .. n) (FG_BATCH_KERNEL) once their dot grads are in
 * gr[(nout - 1 - j) * n + c] (last neuron first, as the sweep takes them): each call's
 * input grads in turn, each summing the neurons' terms last neuron first, as
 * back_to_inputs does; then each weight's grad the calls' terms in their order. xd, w:
 * room for n * nin and nout * nin values. */
FG_WIDE static void first_layer_batch(fg_graph *g, const fg_net *s, const fg_id *calls,
                                      int32_t n, const double *gr, double *xd, double *w)
{
    const fg_net_layer *L = &s->layer[0];
    fg_block *const *rows = s->rows + L->first;
    double *grad = g->grad;
    int32_t nin = L->nin, nout = L->nout, c, j, k;
    for (j = 0; j < nout; j++) /* the weights by row, last neuron first */
        for (k = 0; k < nin; k++)
            w[(size_t)(nout - 1 - j) * (size_t)nin + (size_t)k] = fg_block_value(g, rows[j], k);
    for (c = 0; c < n; c++) {
        const fg_block *x = fg_call_of(g, calls[c])->x;
        double *xc = xd + (size_t)c * (size_t)nin;
        for (k = 0; k < nin; k++)
            xc[k] = fg_block_value(g, x, k);
        fg_inputs_back(grad, x->ids, w, nin, gr + c, (size_t)n, nout);
    }
    for (j = nout - 1; j >= 0; j--)
        fg_row_back(grad, rows[j]->ids, xd, nin, gr + (size_t)(nout - 1 - j) * (size_t)n, n);
}

void fg_net_backward_batch(fg_graph *g, const fg_id *calls, int32_t n, int mode,
                           double *scratch)
{
    const fg_net *s = fg_call_of(g, calls[0])->net;
    const fg_net_layer *L = &s->layer[0];
    int32_t c, l, j;
    if (mode == FG_BATCH_CALLS) {
        for (c = 0; c < n; c++)
            fg_call_backward(g, calls[c]);
        return;
    }
    for (l = s->nlayers - 2; l > 0; l--)
        for (c = 0; c < n; c++)
            layer_backward(g, fg_call_of(g, calls[c]), l);
    if (mode == FG_BATCH_LAYERS) {
        for (c = 0; c < n; c++)
            layer_backward(g, fg_call_of(g, calls[c]), 0);
        return;
    }
    for (c = 0; c < n; c++) { /* the dot grads, by neuron */
        fg_net_call *t = fg_call_of(g, calls[c]);
        for (j = L->nout - 1; j >= 0; j--) {
            int32_t u = L->first + j;
            scratch[(size_t)(L->nout - 1 - j) * (size_t)n + (size_t)c] =
                dot_grad(t, L->act, u, t->h[u], t->gh[u]);
        }
    }
    first_layer_batch(g, s, calls, n, scratch, scratch + (size_t)n * (size_t)L->nout,
                      scratch + (size_t)n * (size_t)(L->nout + L->nin));
}

/* -- Batched heads ---------------------------------------------------------------------- */

/* The kernel of fg_net_heads_backward: nc calls' heads, nout each, every call's in the
 * same order (position i: neuron j_i). gr[i * nc + c] gets head c * nout + i's dot
 * grad, then each call's hidden grads take their heads' terms in turn, position by
 * position, as back_to_hidden gives them; then each weight's grad the calls' terms in
 * their order. hd, w: room for nc * nin and nout * nin values. */
FG_WIDE static void heads_batch(fg_graph *g, const fg_net *s, const fg_id *heads, int32_t nc,
                                double *gr, double *hd, double *w)
{
    const fg_net_layer *L = &s->layer[s->nlayers - 1], *below = L - 1;
    double *grad = g->grad;
    int32_t nin = L->nin, nout = L->nout, c, i, k, m;
    for (c = 0; c < nc; c++)
        for (i = 0; i < nout; i++) {
            fg_id id = heads[(size_t)c * (size_t)nout + (size_t)i];
            gr[(size_t)i * (size_t)nc + (size_t)c] =
                dot_grad(fg_head_call(g, id), L->act, fg_head_unit(g, id), g->data[id], grad[id]);
        }
    for (i = 0; i < nout; i++) {
        const fg_block *row = fg_head_row(g, heads[i]);
        for (k = 0; k < nin; k++)
            w[(size_t)i * (size_t)nin + (size_t)k] = fg_block_value(g, row, k);
    }
    for (c = 0; c < nc; c++) {
        fg_net_call *t = fg_head_call(g, heads[(size_t)c * (size_t)nout]);
        double *gh = t->gh + below->first;
        memcpy(hd + (size_t)c * (size_t)nin, t->h + below->first, (size_t)nin * sizeof *hd);
        for (k = 0; k < nin; k += m) {
            m = nin - k < FG_LANES ? nin - k : FG_LANES;
            fg_lanes(gh + k, w + k, (size_t)nin, gr + c, (size_t)nc, nout, m);
        }
    }
    for (i = 0; i < nout; i++)
        fg_row_back(grad, fg_head_row(g, heads[i])->ids, hd, nin, gr + (size_t)i * (size_t)nc,
                    nc);
}

void fg_net_heads_backward(fg_graph *g, const fg_id *heads, int32_t n, int kernel,
                           double *scratch)
{
    const fg_net *s;
    int32_t nout, nc;
    if (!kernel) {
        for (int32_t i = 0; i < n; i++)
            fg_head_backward(g, heads[i]);
        return;
    }
    s = fg_head_call(g, heads[0])->net;
    nout = s->layer[s->nlayers - 1].nout;
    nc = n / nout;
    heads_batch(g, s, heads, nc, scratch, scratch + (size_t)nc * (size_t)nout,
                scratch + (size_t)nc * (size_t)(nout + s->layer[s->nlayers - 1].nin));
}
