/* FG_CUSTOM: micrograd's custom op, a node made by the constructor,
 * Value(data, children, op). Its forward ran in user code before the node exists; its
 * operands are a block of the children; its backward is the closure its owner (the
 * facade) keeps, called through the hook g->run_backward.
 *
 * Owners. The closure lives on the owner, so a custom node keeps its owner for life:
 * the store holds a reference on the owner (g->pin_owner) exactly while the node has a
 * user the owner's own Python graph cannot see: a built-in node, a block of a fused op,
 * a recorded program, a running sweep. Another custom node does not count (a custom
 * node's owner holds its children's facades, so the collector sees that edge): a chain
 * of custom nodes whose facades the user dropped is one cycle of Python objects, freed
 * by one collection. Letting go of a pin may run any user code (the owner may die), so
 * it waits on a list (g->unpin_head) until the release that caused it is over.
 * Invariant: a custom node is FG_FLAG_PINNED iff fg_custom_wants_pin, but while it is
 * on that list (FG_FLAG_UNPIN). */
#ifndef FASTGRAD_CUSTOM_H
#define FASTGRAD_CUSTOM_H

#include "blocks.h"
#include "sweep.h"

/* A custom node's record (kids.ext), in a store cell. */
typedef struct fg_custom {
    fg_block *kids;      /* the children, in the order given */
    int32_t by_custom;   /* operand slots naming this node in other custom nodes */
    fg_id next_unpin;    /* the next on g->unpin_head's list */
} fg_custom;

typedef char fg_custom_fits_a_cell[sizeof(fg_custom) <= FG_CELL_BYTES ? 1 : -1];

/* A new custom node over the filled, unsealed block kids, which it seals and takes
 * (the caller's reference becomes the node's). FG_NONE when the store cannot grow:
 * then kids is still the caller's. */
fg_id fg_custom_new(fg_graph *g, double data, fg_block *kids, void *owner);

static inline fg_custom *fg_custom_of(const fg_graph *g, fg_id id)
{
    assert(g->op[id] == FG_CUSTOM);
    return g->kids[id].ext;
}

/* A replay cannot rerun user code (fg_op_replays refuses it); a node recomputed
 * alone (Value._recompute) keeps its data, as a leaf. */
int fg_custom_forward(fg_graph *g, fg_id id);
int fg_custom_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c);
void fg_custom_release(fg_graph *g, fg_id id, fg_id *head);

static inline int fg_custom_push(fg_graph *g, fg_id id, fg_walk *w)
{
    return fg_walk_push_block(g, fg_custom_of(g, id)->kids, w);
}

/* The walk counts the custom nodes it orders: a sweep over them runs user code. */
static inline void fg_custom_settle(fg_graph *g, fg_id id, const fg_walk *w)
{
    fg_walk_settle(fg_custom_of(g, id)->kids, w);
    g->custom_walked++;
}

/* The owner's closure, once: FG_OK, or FG_ECLOSURE if it failed. */
static inline int fg_custom_backward(fg_graph *g, fg_id id)
{
    return g->run_backward(g, id) ? FG_ECLOSURE : FG_OK;
}

#endif
