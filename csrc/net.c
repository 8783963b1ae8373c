/* Fused networks: lifetime, forward, and the FG_NET and FG_HEAD rules but the
 * backward (net_backward.c); see net.h. */
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "nary.h"
#include "ops.h"

static size_t net_bytes(int32_t nlayers, int32_t units)
{
    return sizeof(fg_net) + (size_t)nlayers * sizeof(fg_net_layer)
           + (size_t)units * sizeof(fg_block *);
}

static int compare_ids(const void *a, const void *b)
{
    fg_id x = *(const fg_id *)a, y = *(const fg_id *)b;
    return (x > y) - (x < y);
}

/* Does any node fill two slots of the rows? (Then the order in which its grad takes
 * their terms is the unfused graph's only if they are taken one row at a time.) */
static int shares_a_node(const fg_net *net)
{
    size_t n = 0, slots = 0;
    fg_id *ids;
    int shared = 0;
    for (int32_t u = 0; u < net->units; u++)
        slots += (size_t)net->rows[u]->n;
    if (!(ids = malloc((slots ? slots : 1) * sizeof *ids)))
        return 1; /* cannot tell: assume it does */
    for (int32_t u = 0; u < net->units; u++)
        for (int32_t i = 0; i < net->rows[u]->n; i++)
            if (net->rows[u]->ids[i] != FG_NONE)
                ids[n++] = net->rows[u]->ids[i];
    qsort(ids, n, sizeof *ids, compare_ids);
    for (size_t i = 1; i < n && !shared; i++)
        shared = ids[i] == ids[i - 1];
    free(ids);
    return shared;
}

/* The flags of a network whose rows are in place (see fg_net). */
static void set_flags(fg_net *net)
{
    int32_t hidden = net->layer[net->nlayers - 1].first; /* rows of the hidden layers */
    net->hidden_all_leaves = net->no_constants = net->disjoint_runs = 1;
    for (int32_t u = 0; u < net->units; u++) {
        if (u < hidden && !net->rows[u]->all_leaves)
            net->hidden_all_leaves = 0;
        net->no_constants &= net->rows[u]->no_constants;
        net->disjoint_runs &= net->rows[u]->consecutive;
    }
    net->distinct_rows = !shares_a_node(net);
    net->disjoint_runs = net->disjoint_runs && net->distinct_rows;
    net->lo = net->hi = net->rows[0]->ids[0];
    for (int32_t u = 0; net->disjoint_runs && u < net->layer[0].nout; u++) {
        const fg_block *row = net->rows[u];
        if (row->ids[0] < net->lo)
            net->lo = row->ids[0];
        if (row->ids[row->n - 1] > net->hi)
            net->hi = row->ids[row->n - 1];
    }
}

fg_net *fg_net_new(fg_graph *g, int32_t nlayers, const fg_layer_spec *layers)
{
    int32_t l, j, units = 0;
    fg_net *net;
    assert(nlayers >= 2);
    for (l = 0; l < nlayers; l++) {
        assert(layers[l].nout > 0 && fg_is_activation(layers[l].act));
        assert(l == 0 || layers[l].nin == layers[l - 1].nout);
        units += layers[l].nout;
    }
    if (!(net = fg_ext_alloc(g, net_bytes(nlayers, units))))
        return NULL;
    net->refs = 1;
    net->nlayers = nlayers;
    net->units = units;
    net->layer = (fg_net_layer *)(net + 1);
    net->rows = (fg_block **)(net->layer + nlayers);
    for (units = 0, l = 0; l < nlayers; l++) {
        fg_net_layer *L = &net->layer[l];
        L->nin = layers[l].nin;
        L->nout = layers[l].nout;
        L->act = layers[l].act;
        L->first = units;
        for (j = 0; j < L->nout; j++) {
            fg_block *row = layers[l].rows[j];
            assert(row->sealed && row->n == L->nin + 1);
            row->refs++;
            net->rows[units++] = row;
        }
    }
    set_flags(net);
    return net;
}

/* Let go of one reference on net; the last frees it and puts what only its rows kept
 * alive on the release worklist *head. */
static void release_net(fg_graph *g, fg_net *net, fg_id *head)
{
    assert(net->refs >= 1);
    if (--net->refs > 0)
        return;
    for (int32_t u = 0; u < net->units; u++)
        fg_block_release(g, net->rows[u], head);
    fg_ext_free(g, net, net_bytes(net->nlayers, net->units));
}

void fg_net_drop(fg_graph *g, fg_net *net)
{
    fg_id head = FG_NONE;
    release_net(g, net, &head);
    fg_release(g, head);
}

static size_t call_bytes(int32_t units, int32_t nin)
{
    return sizeof(fg_net_call) + (3 * (size_t)units + (size_t)nin) * sizeof(double);
}

/* A call of net on inputs x (references taken on both), gh and gz zero, h and in for
 * the forward to fill; NULL when memory runs out. */
static fg_net_call *call_new(fg_graph *g, fg_net *net, fg_block *x)
{
    fg_net_call *t = fg_ext_alloc(g, call_bytes(net->units, x->n));
    if (!t)
        return NULL;
    t->net = net;
    t->x = x;
    net->refs++;
    x->refs++;
    t->h = (double *)(t + 1);
    t->gh = t->h + net->units;
    t->gz = t->gh + net->units;
    t->in = t->gz + net->units;
    memset(t->gh, 0, 2 * (size_t)net->units * sizeof(double));
    return t;
}

static void release_call(fg_graph *g, fg_net_call *t, fg_id *head)
{
    size_t bytes = call_bytes(t->net->units, t->x->n);
    fg_block_release(g, t->x, head);
    release_net(g, t->net, head);
    fg_ext_free(g, t, bytes);
}

/* How the forward reads the rows' weights: as arrays (each row's ids run on by one),
 * by id, or from constants too. */
enum layout { RUNS, NODES, ANY };

/* Neighbouring neurons summed together, each in its own order: their additions
 * overlap instead of each waiting on the one before (and pair up in vectors). */
#define FG_NET_LANES 8

/* out[j] = act(bias_j + w_j0*in[0] + w_j1*in[1] + ...) for the nout rows: FG_DOT's
 * sum, then the activation's forward rule. Inlined with a constant layout: one copy
 * of the loop per layout, with no test per weight. */
static inline void forward_rows(const fg_graph *g, fg_block *const *rows, int32_t nout,
                                int32_t nin, int act, const double *in, double *out,
                                enum layout layout)
{
    int32_t j = 0, k, i, n;
    for (; j < nout; j += n) {
        const fg_block *r[FG_NET_LANES];
        const double *w[FG_NET_LANES]; /* RUNS: the rows' weights */
        double a[FG_NET_LANES];
        n = nout - j < FG_NET_LANES ? nout - j : FG_NET_LANES;
        for (i = 0; i < n; i++) {
            r[i] = rows[j + i];
            w[i] = g->data + r[i]->ids[0];
        }
#define FG_WEIGHT(i, k) (layout == RUNS ? w[i][k] : layout == NODES ? g->data[r[i]->ids[k]] \
                                                                  : fg_block_value(g, r[i], k))
        for (i = 0; i < n; i++)
            a[i] = FG_WEIGHT(i, nin);
        if (n == FG_NET_LANES) /* a constant count: the lanes stay in registers */
            for (k = 0; k < nin; k++)
                for (i = 0; i < FG_NET_LANES; i++)
                    a[i] = a[i] + FG_WEIGHT(i, k) * in[k];
        else
            for (i = 0; i < n; i++)
                for (k = 0; k < nin; k++)
                    a[i] = a[i] + FG_WEIGHT(i, k) * in[k];
#undef FG_WEIGHT
        for (i = 0; i < n; i++)
            out[j + i] = fg_activate(act, a[i]);
    }
}

static void forward_layer(const fg_graph *g, const fg_net *net, const fg_net_layer *L,
                          const double *in, double *out)
{
    fg_block *const *rows = net->rows + L->first;
    if (net->disjoint_runs)
        forward_rows(g, rows, L->nout, L->nin, L->act, in, out, RUNS);
    else if (net->no_constants)
        forward_rows(g, rows, L->nout, L->nin, L->act, in, out, NODES);
    else
        forward_rows(g, rows, L->nout, L->nin, L->act, in, out, ANY);
}

/* fg_net_eval's layers below the last: in[] the inputs' data, h[] the hidden values. */
static void eval_hidden(const fg_graph *g, const fg_net *net, const fg_block *x, double *in,
                        double *h)
{
    assert(x->n == net->layer[0].nin);
    for (int32_t k = 0; k < x->n; k++)
        in[k] = fg_block_value(g, x, k);
    for (int32_t l = 0; l < net->nlayers - 1; l++) {
        const fg_net_layer *L = &net->layer[l];
        forward_layer(g, net, L, in, h + L->first);
        in = h + L->first;
    }
}

void fg_net_eval(const fg_graph *g, const fg_net *net, const fg_block *x, double *in,
                 double *h)
{
    const fg_net_layer *L = &net->layer[net->nlayers - 1];
    eval_hidden(g, net, x, in, h);
    forward_layer(g, net, L, h + L[-1].first, h + L->first);
}

fg_id fg_net_apply(fg_graph *g, fg_net *net, fg_block *x, fg_id *heads)
{
    const fg_net_layer *last = &net->layer[net->nlayers - 1];
    fg_net_call *t;
    fg_id node;
    int32_t j;
    assert(x->sealed && x->n == net->layer[0].nin);
    if (!(t = call_new(g, net, x)))
        return FG_NONE;
    fg_net_eval(g, net, x, t->in, t->h); /* the output layer's values too: the heads' data */
    if ((node = fg_take_slot(g, FG_NET, 0.0, NULL)) == FG_NONE) {
        fg_id head = FG_NONE;
        release_call(g, t, &head);
        fg_release(g, head);
        return FG_NONE;
    }
    g->kids[node].ext = t;
    for (j = 0; j < last->nout; j++) {
        fg_id h = fg_take_slot(g, FG_HEAD, t->h[last->first + j], NULL);
        if (h == FG_NONE)
            break;
        g->kids[h].bin.a = node;
        g->kids[h].bin.b = j;
        g->refs[node]++;
        heads[j] = h;
    }
    if (j < last->nout) { /* out of nodes: the last head to go takes the call with it */
        if (j == 0)
            fg_discard(g, node);
        while (j-- > 0)
            fg_discard(g, heads[j]);
        return FG_NONE;
    }
    return node;
}

/* The hidden layers again, on the operands' data as they are now. The node's own
 * data stays 0. */
int fg_call_forward(fg_graph *g, fg_id id)
{
    fg_net_call *t = fg_call_of(g, id);
    eval_hidden(g, t->net, t->x, t->in, t->h);
    /* the hidden nodes' grads zero, as a new call's: a replayed step is a fresh graph */
    memset(t->gh, 0, 2 * (size_t)t->net->units * sizeof(double));
    return FG_OK;
}

/* A head's own neuron, on the hidden values its call holds: its row's weights are its
 * operands, which a replay may recompute after the call node. */
int fg_head_forward(fg_graph *g, fg_id id)
{
    fg_net_call *t = fg_head_call(g, id);
    const fg_net_layer *L = &t->net->layer[t->net->nlayers - 1];
    int32_t u = fg_head_unit(g, id);
    forward_rows(g, &t->net->rows[u], 1, L->nin, L->act, t->h + L[-1].first, &t->h[u], ANY);
    g->data[id] = t->h[u];
    return FG_OK;
}

void fg_call_release(fg_graph *g, fg_id id, fg_id *head)
{
    release_call(g, fg_call_of(g, id), head);
}

void fg_head_release(fg_graph *g, fg_id id, fg_id *head)
{
    fg_release_push(g, g->kids[id].bin.a, head); /* kids.bin.b is a neuron, no node */
}

int fg_head_act(const fg_graph *g, fg_id id)
{
    const fg_net *net = fg_head_call(g, id)->net;
    return net->layer[net->nlayers - 1].act;
}

const fg_block *fg_call_neuron(const fg_graph *g, fg_id id, int32_t u, double rec[4])
{
    const fg_net_call *t = fg_call_of(g, id);
    const fg_net *net = t->net;
    const fg_net_layer *L = net->layer;
    while (u >= L->first + L->nout)
        L++;
    assert(u >= 0 && L < &net->layer[net->nlayers - 1]);
    forward_rows(g, &net->rows[u], 1, L->nin, FG_LEAF, L == net->layer ? t->in
                 : t->h + L[-1].first, &rec[0], ANY);
    rec[1] = L->act == FG_LEAF ? t->gh[u] : t->gz[u];
    rec[2] = t->h[u];
    rec[3] = t->gh[u];
    return net->rows[u];
}

const fg_net *fg_call_net(const fg_graph *g, fg_id id)
{
    return fg_call_of(g, id)->net;
}

const fg_block *fg_call_inputs(const fg_graph *g, fg_id id)
{
    return fg_call_of(g, id)->x;
}

int fg_call_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c)
{
    const fg_net_call *t = fg_call_of(g, id);
    const fg_net *net = t->net;
    const fg_block *b = t->x;
    for (int32_t u = 0; k >= b->n; b = net->rows[u++]) { /* the hidden rows, in order */
        if (u == net->layer[net->nlayers - 1].first)
            return 0;
        k -= b->n;
    }
    return fg_block_slot(b, k, node, c);
}

int fg_head_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c)
{
    const fg_block *row = fg_head_row(g, id);
    if (k == 0) {
        *node = g->kids[id].bin.a;
        *c = 0.0;
        return 1;
    }
    return k <= row->n && fg_block_slot(row, k - 1, node, c);
}

/* The most inputs a layer of net takes. */
static size_t widest(const fg_net *net)
{
    int32_t most = 0;
    for (int32_t l = 0; l < net->nlayers; l++)
        if (net->layer[l].nin > most)
            most = net->layer[l].nin;
    return (size_t)most;
}

size_t fg_net_batch_scratch(const fg_net *net, int32_t n)
{
    /* the forward's: one row, then a layer's inputs by column; the backward's: the
     * first layer's (or the heads') dot grads and inputs of every call, and its
     * weights */
    size_t most = widest(net) + 1 + (size_t)n * widest(net);
    for (int32_t l = 0; l < net->nlayers; l += net->nlayers - 1) {
        const fg_net_layer *L = &net->layer[l];
        size_t backward = (size_t)n * (size_t)(L->nin + L->nout)
                          + (size_t)L->nin * (size_t)L->nout;
        if (backward > most)
            most = backward;
    }
    return most;
}

/* Layer L of calls[0 .. n): xt[k * n + s] is input k of call s; each call's h gets
 * its neurons' values, summed as forward_rows sums them. w: room for one row. */
FG_WIDE static void forward_batch_layer(fg_graph *g, const fg_net *net, const fg_net_layer *L,
                                const fg_id *calls, int32_t n, const double *xt, double *w)
{
    int32_t nin = L->nin, j, k, i, s, m;
    for (j = 0; j < L->nout; j++) {
        const fg_block *row = net->rows[L->first + j];
        int32_t u = L->first + j;
        for (k = 0; k <= nin; k++)
            w[k] = fg_block_value(g, row, k);
        for (s = 0; s < n; s += m) {
            double a[FG_LANES];
            m = n - s < FG_LANES ? n - s : FG_LANES;
            for (i = 0; i < m; i++)
                a[i] = w[nin];
            fg_lanes(a, xt + s, (size_t)n, w, 1, nin, m);
            for (i = 0; i < m; i++)
                fg_call_of(g, calls[s + i])->h[u] = fg_activate(L->act, a[i]);
        }
    }
}

void fg_net_forward_batch(fg_graph *g, const fg_id *calls, int32_t n, const fg_id *heads,
                          double *scratch)
{
    const fg_net *net = fg_call_of(g, calls[0])->net;
    const fg_net_layer *last = &net->layer[net->nlayers - 1];
    int32_t s, k, j, l;
    double *w = scratch, *xt = scratch + widest(net) + 1;
    for (l = 0; l < net->nlayers; l++) {
        const fg_net_layer *L = &net->layer[l];
        for (s = 0; s < n; s++) {
            fg_net_call *t = fg_call_of(g, calls[s]);
            const double *in = l == 0 ? t->in : t->h + L[-1].first;
            if (l == 0) {
                for (k = 0; k < L->nin; k++)
                    t->in[k] = fg_block_value(g, t->x, k);
                /* the hidden nodes' grads zero, as a new call's (fg_call_forward) */
                memset(t->gh, 0, 2 * (size_t)net->units * sizeof(double));
                g->grad[calls[s]] = 0.0;
            }
            for (k = 0; k < L->nin; k++)
                xt[(size_t)k * (size_t)n + (size_t)s] = in[k];
        }
        forward_batch_layer(g, net, L, calls, n, xt, w);
    }
    for (s = 0; s < n; s++) {
        const double *h = fg_call_of(g, calls[s])->h + last->first;
        for (j = 0; j < last->nout; j++) {
            fg_id head = heads[(size_t)s * (size_t)last->nout + (size_t)j];
            if (head != FG_NONE) {
                g->data[head] = h[j];
                g->grad[head] = 0.0;
            }
        }
    }
}
