/* Fused networks: one call of a stack of dense layers as one FG_NET node for all its
 * hidden layers and one FG_HEAD node per output neuron, instead of a dot node and an
 * activation node per neuron. Both ops' rules are here, together.
 *
 * The numbers are those of the unfused graph, bit for bit: the forward sums each
 * neuron's bias + w0*x0 + w1*x1 + ... left to right, as FG_DOT does, and the backward
 * adds into every grad in the order that graph's sweep would. The heads are ordinary
 * nodes, swept where the graph puts them; the FG_NET node comes after all of them
 * (they are its parents) and goes through the hidden layers from the top, each
 * layer's neurons last to first, a neuron's activation before its dot, as the sweep
 * of the unfused graph does. The tape keeps the grads the hidden nodes would hold.
 */
#ifndef FASTGRAD_NET_H
#define FASTGRAD_NET_H

#include "graph.h"
#include "sweep.h"

/* A stack of dense layers, shared by every call of it: layer l has nout neurons,
 * rows[first .. first+nout), each a block of nin weights then the bias (one reference
 * each), and activation act (an activation op of ops.def, or FG_LEAF for none). Every
 * layer but the last is hidden. One allocation: layers, then rows. */
typedef struct fg_stack_layer {
    int32_t nin, nout, act, first;
} fg_stack_layer;

typedef struct fg_stack {
    int32_t refs;
    int32_t nlayers;     /* at least 2 */
    int32_t units;       /* neurons in all layers */
    uint8_t leaves;      /* every hidden row is leaves only: the walk skips them whole */
    uint8_t nodes;       /* no row holds a constant */
    uint8_t runs;        /* each row's ids run on by one (fg_block.runs), and no node
                            fills two slots of the rows */
    fg_id lo, hi;        /* with runs: the least and greatest id in the first layer's rows */
    fg_stack_layer *layer;
    fg_block **rows;
} fg_stack;

/* What an FG_NET node (one call of a stack, its hidden layers) keeps: the inputs,
 * and per neuron u what its dot and activation nodes would hold in the unfused graph:
 * h[u] the activation's data (hidden neurons), gh[u] its grad, gz[u] the dot's grad
 * (where an activation follows). One allocation: the arrays follow the header. */
typedef struct fg_tape {
    fg_stack *stack;   /* one reference */
    fg_block *x;       /* the inputs, one reference */
    double *h, *gh, *gz;
    double *in;        /* the inputs' data at the call (x->n of them) */
} fg_tape;

/* A stack of nlayers layers and units neurons, holding one reference (the caller's),
 * for the caller to fill (layer[], rows[] with sealed blocks it gives a reference to),
 * then finish; NULL when memory runs out. */
fg_stack *fg_stack_new(fg_graph *g, int32_t nlayers, int32_t units);
void fg_stack_drop(fg_graph *g, fg_stack *s);

/* Once its rows are filled: note whether the walk can skip the hidden rows. */
void fg_stack_finish(fg_stack *s);

/* One call of s on inputs x (x->n == the first layer's nin): returns a new FG_NET
 * node, and puts an FG_HEAD node per output neuron in heads[]. No node has an owner:
 * the heads' count is 0 until the caller takes them. FG_NONE when memory or the node
 * limit runs out, and then nothing is left. */
fg_id fg_net(fg_graph *g, fg_stack *s, fg_block *x, fg_id *heads);

/* The values of one call of s on inputs x, with no node: in[] gets the inputs' data,
 * h[u] neuron u's activation (s->units of them; the output layer's last). */
void fg_net_forward(const fg_graph *g, const fg_stack *s, const fg_block *x, double *in,
                    double *h);

/* The activation of an FG_HEAD node (FG_LEAF: none, the head is a dot). */
int fg_head_act(const fg_graph *g, fg_id id);

/* -- FG_NET: slots the inputs, then the hidden rows' weights and biases ----------------- */

static inline fg_tape *fg_call_tape(const fg_graph *g, fg_id id)
{
    return g->kids[id].tape;
}

int fg_call_forward(fg_graph *g, fg_id id);
void fg_call_backward(fg_graph *g, fg_id id);
fg_id fg_call_operand(const fg_graph *g, fg_id id, int32_t *k);
void fg_call_release(fg_graph *g, fg_id id, fg_id *head);

static inline int fg_call_push(fg_graph *g, fg_id id, fg_walk *w)
{
    const fg_tape *t = fg_call_tape(g, id);
    const fg_stack *s = t->stack;
    if (!s->leaves)
        for (int32_t u = s->layer[s->nlayers - 1].first; u-- > 0;)
            if (fg_walk_push_block(g, s->rows[u], w))
                return -1;
    return fg_walk_push_block(g, t->x, w);
}

static inline void fg_call_settle(fg_graph *g, fg_id id, const fg_walk *w)
{
    const fg_tape *t = fg_call_tape(g, id);
    fg_walk_settle(t->x, w);
    if (!t->stack->leaves)
        for (int32_t u = t->stack->layer[t->stack->nlayers - 1].first; u-- > 0;)
            fg_walk_settle(t->stack->rows[u], w);
}

/* -- FG_HEAD: kids.bin.a its FG_NET node, kids.bin.b its neuron in the last layer;
 * slots that node, then the neuron's weights and bias ---------------------------------- */

static inline fg_block *fg_head_row(const fg_graph *g, fg_id id)
{
    const fg_stack *s = fg_call_tape(g, g->kids[id].bin.a)->stack;
    return s->rows[s->layer[s->nlayers - 1].first + g->kids[id].bin.b];
}

int fg_head_forward(fg_graph *g, fg_id id);
void fg_head_backward(fg_graph *g, fg_id id);
fg_id fg_head_operand(const fg_graph *g, fg_id id, int32_t *k);
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
