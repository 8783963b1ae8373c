/* The backward pass over the graph store, and the walk's primitives that each n-ary
 * op's walk rules (fg_<name>_push, fg_<name>_settle) are written with. */
#ifndef FASTGRAD_SWEEP_H
#define FASTGRAD_SWEEP_H

#include "blocks.h"

/* micrograd's rule: set root's grad to 1 and add d(root)/d(node) into the grad of
 * every node root depends on. Iterative: no depth limit. FG_OK; FG_ENOMEM (then no
 * grad has changed); or FG_ECLOSURE: a custom node's closure failed, and the sweep
 * stopped there (the nodes before it have passed their grads on, as in micrograd). */
int fg_backward(fg_graph *g, fg_id root);

/* The topological order below roots[0 .. nroots) (each node once, operands first,
 * no leaves) in g->order, until the next walk; its length, or -1 without memory. */
ptrdiff_t fg_topological_order(fg_graph *g, const fg_id *roots, size_t nroots);

/* backward()'s sweep over root's topological order[0 .. n): root's grad set to 1,
 * then each node's local derivatives passed down, from the last. FG_OK, or
 * FG_ECLOSURE from a custom node (order must then be the caller's own: fg_backward). */
int fg_sweep(fg_graph *g, fg_id root, const fg_id *order, size_t n);

/* One topological walk: the depth-first stack is g->walk[0 .. sp) (sp kept up to date
 * for an n-ary op's walk rules: the walk's loop keeps its own). */
typedef struct fg_walk {
    size_t sp;
    uint64_t epoch;  /* this walk's number: a block whose nodes it has all seen keeps it */
    uint32_t stamp;  /* its low 32 bits: a node the walk entered keeps them */
} fg_walk;

/* A block whose nodes the walk need not look at: leaves only, or all seen already. */
static inline int fg_walk_settled(const fg_block *b, const fg_walk *w)
{
    return b->all_leaves || b->settled_in == w->epoch;
}

/* Is c an operand the walk of stamp must enter: a node with operands, not yet stamped?
 * Leaves have nothing to pass back, so the walk neither stamps nor orders them (their
 * stamp, FG_LEAF_STAMP, tells them apart without a look at their op). One comparison:
 * a node with operands holds 0 or the stamp of a walk no later than this one (stamps
 * only grow, and start again from 0 for every node when they wrap: sweep.c's
 * next_epoch), and FG_LEAF_STAMP is above every walk's. */
static inline int fg_walk_enters_in(const fg_visit *visit, fg_id c, uint32_t stamp)
{
    return visit[c].stamp < stamp; /* FG_NONE's is FG_LEAF_STAMP too: no operand, no entry */
}

static inline int fg_walk_enters(const fg_graph *g, fg_id c, const fg_walk *w)
{
    return fg_walk_enters_in(g->visit, c, w->stamp);
}

/* Room for n more entries on the walk's stack; -1 if it cannot grow. */
static inline int fg_walk_room(fg_graph *g, const fg_walk *w, size_t n)
{
    return w->sp + n <= g->scratch_cap ? 0 : fg_reserve_scratch(g, w->sp + n);
}

/* Push c if the walk must enter it; the room is the caller's to make. */
static inline void fg_walk_push(fg_graph *g, fg_id c, fg_walk *w)
{
    if (fg_walk_enters(g, c, w))
        g->walk[w->sp++] = c;
}

/* Push the nodes of block b the walk must enter, last slot first, unless b is settled.
 * 0, or -1 without memory. */
static inline int fg_walk_push_block(fg_graph *g, const fg_block *b, fg_walk *w)
{
    if (fg_walk_settled(b, w))
        return 0;
    if (fg_walk_room(g, w, (size_t)b->n))
        return -1;
    for (int32_t i = b->n; i-- > 0;)
        fg_walk_push(g, b->ids[i], w);
    return 0;
}

/* Once every node of b is walked, b is settled for the rest of the walk. */
static inline void fg_walk_settle(fg_block *b, const fg_walk *w)
{
    b->settled_in = w->epoch;
}

#endif
