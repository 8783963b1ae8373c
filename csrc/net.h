/* Fused networks: one call of a stack of dense layers (graph.h's fg_stack) as one
 * FG_NET node for all its hidden layers and one FG_HEAD node per output neuron,
 * instead of a dot node and an activation node per neuron.
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

/* The backward rules of FG_NET and FG_HEAD. */
void fg_net_backward(fg_graph *g, fg_id id);
void fg_head_backward(fg_graph *g, fg_id id);

/* fg_operand for FG_NET (the inputs, then the hidden rows' slots in order) and
 * FG_HEAD (its FG_NET node, then its row's weights and bias). */
fg_id fg_net_operand(const fg_graph *g, fg_id id, int32_t *k);

/* The activation of an FG_HEAD node (FG_LEAF: none, the head is a dot). */
int fg_head_act(const fg_graph *g, fg_id id);

/* An FG_HEAD node's row: its neuron's weights, then its bias. */
static inline const fg_block *fg_head_row(const fg_graph *g, fg_id id)
{
    const fg_stack *s = g->kids[g->kids[id].bin.a].tape->stack;
    return s->rows[s->layer[s->nlayers - 1].first + g->kids[id].bin.b];
}

#endif
