/* Fused networks: one call of a network of dense layers as one FG_NET node for all its
 * hidden layers and one FG_HEAD node per output neuron, instead of a dot node and an
 * activation node per neuron. The network's types and lifetime, and both ops' rules.
 *
 * The numbers are those of the unfused graph, bit for bit: the forward sums each
 * neuron's bias + w0*x0 + w1*x1 + ... left to right, as FG_DOT does, and the backward
 * adds into every grad in the order that graph's sweep would. The heads are ordinary
 * nodes, swept where the graph puts them; the FG_NET node comes after all of them
 * (they are its parents) and goes through the hidden layers from the top, each
 * layer's neurons last to first, a neuron's activation before its dot, as the sweep
 * of the unfused graph does. The call keeps the grads the hidden nodes would hold.
 */
#ifndef FASTGRAD_NET_H
#define FASTGRAD_NET_H

#include <string.h>

#include "blocks.h"
#include "sweep.h"

/* Layer l of a network: nout neurons, its rows [first, first + nout) of the network's,
 * each nin weights then the bias, and activation act (an FG_ACT op of ops.def, or
 * FG_LEAF for none). */
typedef struct fg_net_layer {
    int32_t nin, nout, act, first;
} fg_net_layer;

/* Dense layers made once and shared by every call; all but the last are hidden. One
 * allocation: layers, then rows.
 * Invariants (fg_net_new asserts them): nlayers >= 2; each layer's nin is the nout of
 * the one before, and its first the neurons of those before it; every row is a sealed
 * block of nin + 1 slots, never changed; act is an activation. */
typedef struct fg_net {
    int32_t refs;              /* its maker's, and one per call alive */
    int32_t nlayers;
    int32_t units;             /* neurons in all layers */
    uint8_t hidden_all_leaves; /* every hidden row is leaves only: the walk skips them */
    uint8_t no_constants;      /* no row holds a constant */
    uint8_t distinct_rows;     /* no node fills two slots of the rows */
    uint8_t disjoint_runs;     /* that, and every row consecutive (fg_block): their data
                                  and grads are arrays */
    fg_id lo, hi;              /* with disjoint_runs: the least and greatest id in the
                                  first layer's rows */
    fg_net_layer *layer;
    fg_block **rows;           /* one reference each */
} fg_net;

/* A layer as its maker gives it: rows[0 .. nout), each a sealed block of nin weights
 * then the bias, and the activation. */
typedef struct fg_layer_spec {
    int32_t nin, nout, act;
    fg_block *const *rows;
} fg_layer_spec;

/* A network of nlayers layers (at least 2, each one's nin the nout of the one before),
 * taking a reference on every row and holding one (the caller's); NULL when memory
 * runs out. */
fg_net *fg_net_new(fg_graph *g, int32_t nlayers, const fg_layer_spec *layers);

/* Let go of one reference; the last frees the network and drops its rows. */
void fg_net_drop(fg_graph *g, fg_net *net);

/* What an FG_NET node (kids.ext) keeps of one call: the inputs, and per neuron u what
 * its dot and activation nodes would hold in the unfused graph: h[u] the activation's
 * data (hidden neurons), gh[u] its grad, gz[u] the dot's grad (where an activation
 * follows). One allocation: the arrays follow the header. */
typedef struct fg_net_call {
    fg_net *net;       /* one reference */
    fg_block *x;       /* the inputs, one reference */
    double *h, *gh, *gz;
    double *in;        /* the inputs' data at the call (x->n of them) */
} fg_net_call;

/* One call of net on inputs x (x->n == the first layer's nin): returns a new FG_NET
 * node, and puts an FG_HEAD node per output neuron in heads[]. No node has an owner:
 * the heads' count is 0 until the caller takes them. FG_NONE when memory or the node
 * limit runs out, and then nothing is left. */
fg_id fg_net_apply(fg_graph *g, fg_net *net, fg_block *x, fg_id *heads);

/* The values of one call of net on inputs x, with no node: in[] gets the inputs'
 * data, h[u] neuron u's activation (net->units of them; the output layer's last). */
void fg_net_eval(const fg_graph *g, const fg_net *net, const fg_block *x, double *in,
                 double *h);

/* -- Batched calls: calls[0 .. n) of one network run as one kernel (a recorded graph's,
 * replay.h), bit for bit as each call's own rules would give ------------------------- */

/* Sums the batch kernels run side by side, each in its own order: m <= FG_LANES of
 * them, acc[i] += v[c * stride + i] * x[c * xstride] for c = 0 .. n in turn. With
 * m == FG_LANES, in vectors of four kept in registers (GCC's and clang's vector types:
 * elementwise, the scalar operations exactly). */
#define FG_LANES 16

/* The batch kernels in a copy for wider vectors too, the CPU choosing at load time:
 * the same operations in the same order, so the same numbers (and no fused
 * multiply-add: avx2 does not bring fma). */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#define FG_WIDE __attribute__((target_clones("avx2", "default")))
#else
#define FG_WIDE
#endif

/* Inlined into each copy, with its constants. */
#if defined(__GNUC__)
#define FG_INLINE static inline __attribute__((always_inline))
#else
#define FG_INLINE static inline
#endif

#if defined(__GNUC__)
typedef double fg_v4 __attribute__((vector_size(4 * sizeof(double))));
#endif

FG_INLINE void fg_lanes(double *restrict acc, const double *v, size_t stride,
                            const double *x, size_t xstride, int32_t n, int m)
{
#if defined(__GNUC__)
    if (m == FG_LANES) {
        fg_v4 a[4], b, t; /* (loaded by memcpy: the rows need not be aligned) */
        memcpy(a, acc, sizeof a);
        for (int32_t c = 0; c < n; c++) {
            const double *vc = v + (size_t)c * stride, xc = x[(size_t)c * xstride];
            b = (fg_v4){xc, xc, xc, xc};
            for (int i = 0; i < 4; i++) {
                memcpy(&t, vc + 4 * i, sizeof t);
                a[i] += t * b;
            }
        }
        memcpy(acc, a, sizeof a);
        return;
    }
#endif
    for (int i = 0; i < m; i++) {
        double a = acc[i];
        for (int32_t c = 0; c < n; c++)
            a += v[(size_t)c * stride + (size_t)i] * x[(size_t)c * xstride];
        acc[i] = a;
    }
}

/* fg_lanes into the grads of nodes ids[0 .. m) (FG_NONE: a constant, no grad): each
 * takes its terms in order, as if added in place. */
FG_INLINE void fg_lanes_into(double *grad, const fg_id *ids, const double *v, size_t stride,
                             const double *x, size_t xstride, int32_t n, int m)
{
    double acc[FG_LANES];
    int i;
    for (i = 0; i < m; i++)
        acc[i] = ids[i] != FG_NONE ? grad[ids[i]] : 0.0;
    fg_lanes(acc, v, stride, x, xstride, n, m);
    for (i = 0; i < m; i++)
        if (ids[i] != FG_NONE)
            grad[ids[i]] = acc[i];
}

/* One call's input grads (nodes ids[0 .. nin), none twice) take the terms of `width`
 * dots in turn, as FG_DOT's backward gives them: dot r's weights w[r * nin + k], its
 * grad gr[r * grstride]. */
FG_INLINE void fg_inputs_back(double *grad, const fg_id *ids, const double *w, int32_t nin,
                              const double *gr, size_t grstride, int32_t width)
{
    for (int32_t k = 0, m; k < nin; k += m) {
        m = nin - k < FG_LANES ? nin - k : FG_LANES;
        fg_lanes_into(grad, ids + k, w + k, (size_t)nin, gr, grstride, width, m);
    }
}

/* One row's weight grads (ids[0 .. nin), none twice) and its bias's (ids[nin]) take
 * the terms of its dots on n calls in turn: call c's inputs xd[c * nin + k], its dot's
 * grad gr[c]. */
FG_INLINE void fg_row_back(double *grad, const fg_id *ids, const double *xd, int32_t nin,
                           const double *gr, int32_t n)
{
    for (int32_t k = 0, m; k < nin; k += m) {
        m = nin - k < FG_LANES ? nin - k : FG_LANES;
        fg_lanes_into(grad, ids + k, xd + k, (size_t)nin, gr, 1, n, m);
    }
    if (ids[nin] != FG_NONE)
        for (int32_t c = 0; c < n; c++)
            grad[ids[nin]] += gr[c];
}

/* Doubles of scratch the batch kernels need for n calls of net. */
size_t fg_net_batch_scratch(const fg_net *net, int32_t n);

/* The forward of calls[0 .. n) (FG_NET nodes of one network): each call's values as
 * fg_call_forward gives them, its own grad zero, and its output layer's as each head's
 * forward gives them: head heads[s * nout + j] (FG_NONE: none to set) of calls[s] gets
 * neuron j's value, and its grad zero. The samples go through each neuron together: its
 * weights read once, the samples' sums side by side (each in its own order). */
void fg_net_forward_batch(fg_graph *g, const fg_id *calls, int32_t n, const fg_id *heads,
                          double *scratch);

/* How fg_net_backward_batch may run calls[0 .. n): FG_BATCH_CALLS, each call's backward
 * in turn; FG_BATCH_LAYERS, a layer of every call, then the layer below (no node fills
 * two slots of the rows and no input is one of them: no grad takes terms from two
 * layers); FG_BATCH_KERNEL, that, and the first layer of all calls in one kernel (no
 * node fills two input slots of a call). */
enum { FG_BATCH_CALLS, FG_BATCH_LAYERS, FG_BATCH_KERNEL };
int fg_net_batch_mode(const fg_graph *g, const fg_id *calls, int32_t n);

/* fg_call_backward on calls[0 .. n) in that order, by mode (fg_net_batch_mode):
 * every grad takes the same terms in the same order. */
void fg_net_backward_batch(fg_graph *g, const fg_id *calls, int32_t n, int mode,
                           double *scratch);

/* The backward of heads[0 .. n) (FG_HEAD nodes of calls of one network) in that
 * order, each as fg_head_backward gives it. With kernel: they are n / nout calls'
 * heads in turn, every call's in the same order of neurons, and no node fills two
 * slots of the rows: then the output layer's weights are read once for all calls. */
void fg_net_heads_backward(fg_graph *g, const fg_id *heads, int32_t n, int kernel,
                           double *scratch);

/* -- FG_NET: slots the inputs, then the hidden rows' weights and biases ----------------- */

static inline fg_net_call *fg_call_of(const fg_graph *g, fg_id id)
{
    assert(g->op[id] == FG_NET);
    return g->kids[id].ext;
}

int fg_call_forward(fg_graph *g, fg_id id);
void fg_call_backward(fg_graph *g, fg_id id);
int fg_call_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c);
void fg_call_release(fg_graph *g, fg_id id, fg_id *head);

static inline int fg_call_push(fg_graph *g, fg_id id, fg_walk *w)
{
    const fg_net_call *t = fg_call_of(g, id);
    const fg_net *net = t->net;
    if (!net->hidden_all_leaves)
        for (int32_t u = net->layer[net->nlayers - 1].first; u-- > 0;)
            if (fg_walk_push_block(g, net->rows[u], w))
                return -1;
    return fg_walk_push_block(g, t->x, w);
}

static inline void fg_call_settle(fg_graph *g, fg_id id, const fg_walk *w)
{
    const fg_net_call *t = fg_call_of(g, id);
    const fg_net *net = t->net;
    fg_walk_settle(t->x, w);
    if (!net->hidden_all_leaves)
        for (int32_t u = net->layer[net->nlayers - 1].first; u-- > 0;)
            fg_walk_settle(net->rows[u], w);
}

/* What FG_NET node id keeps of neuron u of its hidden layers (u below the output
 * layer's first), as the unfused graph's nodes would hold it: rec[0], rec[1] its dot's
 * data and grad, rec[2], rec[3] its activation's (a linear neuron's dot is its output:
 * the same two again). Returns the neuron's row. The dot's data is summed again as the
 * forward sums it, on the inputs that forward took and the row's values now: the
 * forward's own while the row keeps the data it had then. */
const fg_block *fg_call_neuron(const fg_graph *g, fg_id id, int32_t u, double rec[4]);

/* The network and the inputs of FG_NET node id (read only). */
const fg_net *fg_call_net(const fg_graph *g, fg_id id);
const fg_block *fg_call_inputs(const fg_graph *g, fg_id id);

/* -- FG_HEAD: kids.bin.a its FG_NET node, kids.bin.b its neuron in the last layer;
 * slots that node, then the neuron's weights and bias ---------------------------------- */

static inline fg_net_call *fg_head_call(const fg_graph *g, fg_id id)
{
    assert(g->op[id] == FG_HEAD);
    return fg_call_of(g, g->kids[id].bin.a);
}

/* The head's neuron in the network's rows. */
static inline int32_t fg_head_unit(const fg_graph *g, fg_id id)
{
    const fg_net *net = fg_head_call(g, id)->net;
    return net->layer[net->nlayers - 1].first + g->kids[id].bin.b;
}

static inline fg_block *fg_head_row(const fg_graph *g, fg_id id)
{
    return fg_head_call(g, id)->net->rows[fg_head_unit(g, id)];
}

/* The activation of an FG_HEAD node (FG_LEAF: none, the head is a dot). */
int fg_head_act(const fg_graph *g, fg_id id);

int fg_head_forward(fg_graph *g, fg_id id);
void fg_head_backward(fg_graph *g, fg_id id);
int fg_head_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c);
void fg_head_release(fg_graph *g, fg_id id, fg_id *head);

static inline int fg_head_push(fg_graph *g, fg_id id, fg_walk *w)
{
    if (fg_walk_push_block(g, fg_head_row(g, id), w) || fg_walk_room(g, w, 1))
        return -1;
    fg_walk_push(g, g->kids[id].bin.a, w);
    return 0;
}

static inline void fg_head_settle(fg_graph *g, fg_id id, const fg_walk *w)
{
    fg_walk_settle(fg_head_row(g, id), w);
}

#endif
