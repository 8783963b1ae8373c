/* The backward pass: an iterative topological walk, then one reverse sweep. */
#include <string.h>

#include "sweep.h"
#include "ops.h"

/* Scratch entries kept between backward passes: enough for a training step's graph. */
#define FG_SCRATCH_KEEP 65536


static uint64_t next_epoch(fg_graph *g)
{
    uint32_t stamp = (uint32_t)++g->epoch;
    if (stamp == 0 || stamp == FG_LEAF_MARK) { /* stamps wrapped: forget the old ones */
        for (fg_id id = 1; id < g->top; id++)
            if (g->op[id] != FG_FREE)
                g->mark[id] = g->op[id] == FG_LEAF ? FG_LEAF_MARK : 0;
        g->epoch += stamp == 0 ? 1 : 2;
    }
    return g->epoch;
}

/* A block whose nodes the walk need not look at: leaves only, or all seen already. */
static inline int settled(const fg_block *b, uint64_t epoch)
{
    return b->leaves || b->mark == epoch;
}

/* Is c an operand the walk must enter: a node with operands, not yet stamped? Leaves
 * have nothing to pass back, so the walk neither stamps nor orders them (their mark,
 * FG_LEAF_MARK, tells them apart without a look at their op). */
static inline int unvisited(const fg_graph *g, fg_id c, uint32_t stamp)
{
    uint32_t m = g->mark[c]; /* FG_NONE's mark is FG_LEAF_MARK too: no operand, no entry */
    return m != stamp && m != FG_LEAF_MARK;
}

/* The first operand of x at or after slot *k that the walk must enter, or FG_NONE;
 * *k moves past it. The same enumeration as fg_operand, with the test in the inner
 * loop: this is the walk's hot loop. A block is stamped when a node has enumerated all
 * of it, so the other neurons of a layer skip their shared inputs in O(1). */
static inline fg_id next_unvisited(fg_graph *g, fg_id x, int32_t *k, uint64_t epoch)
{
    uint32_t stamp = (uint32_t)epoch;
    int32_t i = *k;
    switch (g->op[x]) {
    case FG_LEAF:
        return FG_NONE;
    case FG_SUM: {
        fg_block *b = g->kids[x].sum;
        if (settled(b, epoch))
            return FG_NONE;
        for (; i < b->n; i++)
            if (unvisited(g, b->ids[i], stamp)) {
                *k = i + 1;
                return b->ids[i];
            }
        *k = i;
        b->mark = epoch;
        return FG_NONE;
    }
    case FG_DOT: {
        fg_block *w = g->kids[x].dot->w, *xs = g->kids[x].dot->x;
        int32_t n = xs->n;
        int skip_w = settled(w, epoch), skip_x = settled(xs, epoch);
        if (skip_w && skip_x)
            return FG_NONE;
        for (; i < 2 * n + 1; i++) {
            fg_id c;
            if (i & 1) {
                if (skip_x) continue;
                c = xs->ids[i >> 1];
            } else {
                if (skip_w) continue;
                c = w->ids[i == 2 * n ? n : i >> 1];
            }
            if (unvisited(g, c, stamp)) {
                *k = i + 1;
                return c;
            }
        }
        *k = i;
        w->mark = xs->mark = epoch;
        return FG_NONE;
    }
    default: {
        fg_id a = g->kids[x].bin.a, b = g->kids[x].bin.b;
        if (i == 0 && unvisited(g, a, stamp)) {
            *k = 1;
            return a;
        }
        *k = 2;
        return i < 2 && unvisited(g, b, stamp) ? b : FG_NONE;
    }
    }
}

/* Depth-first post-order from root, operands in slot order, as the pure engine's
 * _topological_order, less the leaves (their backward does nothing). Leaves it in
 * g->order and returns its length, or -1. */
static ptrdiff_t topological_order(fg_graph *g, fg_id root)
{
    uint64_t epoch;
    size_t sp = 0, n = 0;
    fg_id *stack, *order;
    int32_t *cursor;
    if (fg_reserve_scratch(g, (size_t)g->live))
        return -1;
    stack = g->stack, order = g->order, cursor = g->cursor;
    epoch = next_epoch(g);
    if (g->op[root] == FG_LEAF) { /* nothing to walk, and a leaf keeps its mark */
        order[0] = root;
        return 1;
    }
    g->mark[root] = (uint32_t)epoch;
    stack[sp] = root;
    cursor[sp++] = 0;
    while (sp) {
        fg_id x = stack[sp - 1];
        fg_id c = next_unvisited(g, x, &cursor[sp - 1], epoch);
        if (c == FG_NONE) {
            order[n++] = x;
            sp--;
        } else {
            g->mark[c] = (uint32_t)epoch;
            stack[sp] = c;
            cursor[sp++] = 0;
        }
    }
    return (ptrdiff_t)n;
}

int fg_backward(fg_graph *g, fg_id root)
{
    ptrdiff_t n = topological_order(g, root);
    if (n < 0)
        return FG_ENOMEM;
    g->grad[root] = 1.0;
    while (n--)
        fg_backward_node(g, g->order[n]);
    if (g->scratch_cap > FG_SCRATCH_KEEP) /* a big graph's scratch is not kept around */
        fg_free_scratch(g);
    return FG_OK;
}
