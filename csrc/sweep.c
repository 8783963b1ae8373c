/* The backward pass: an iterative topological walk, then one reverse sweep. */
#include <string.h>

#include "sweep.h"
#include "ops.h"

/* Scratch entries kept between backward passes: enough for a training step's graph. */
#define FG_SCRATCH_KEEP 65536

static uint32_t next_epoch(fg_graph *g)
{
    if (++g->epoch == 0) { /* stamps wrapped: forget every old one */
        memset(g->mark, 0, sizeof(uint32_t) * (size_t)g->cap);
        g->epoch = 1;
    }
    return g->epoch;
}

/* The first operand of x at or after slot *k not yet stamped, or FG_NONE; *k moves
 * past it. The same enumeration as fg_operand, with the mark test in the inner loop:
 * this is the walk's hot loop (a dense layer's dot nodes have 2n+1 slots). */
static inline fg_id next_unvisited(const fg_graph *g, fg_id x, int32_t *k, uint32_t stamp)
{
    int op = g->op[x];
    int32_t i = *k;
    if (op == FG_SUM || op == FG_DOT) {
        const fg_edges *e = g->kids[x].nary;
        const fg_id *ids = e->ids;
        for (; i < e->n; i++) {
            fg_id c = ids[i];
            if (c != FG_NONE && g->mark[c] != stamp) {
                *k = i + 1;
                return c;
            }
        }
        *k = i;
        return FG_NONE;
    }
    if (op == FG_LEAF)
        return FG_NONE;
    if (i == 0) {
        fg_id a = g->kids[x].bin.a;
        i = 1;
        if (g->mark[a] != stamp) {
            *k = i;
            return a;
        }
    }
    if (i == 1) {
        fg_id b = g->kids[x].bin.b;
        *k = 2;
        if (b != FG_NONE && g->mark[b] != stamp)
            return b;
    }
    return FG_NONE;
}

/* Depth-first post-order from root, operands in slot order, as the pure engine's
 * _topological_order, less the leaves (their backward does nothing). Leaves it in
 * g->order and returns its length, or -1. */
static ptrdiff_t topological_order(fg_graph *g, fg_id root)
{
    uint32_t stamp;
    size_t sp = 0, n = 0;
    if (fg_reserve_scratch(g, (size_t)g->live))
        return -1;
    stamp = next_epoch(g);
    g->mark[root] = stamp;
    g->stack[sp] = root;
    g->cursor[sp++] = 0;
    while (sp) {
        fg_id x = g->stack[sp - 1];
        fg_id c = next_unvisited(g, x, &g->cursor[sp - 1], stamp);
        if (c == FG_NONE) {
            sp--;
            g->order[n++] = x;
            continue;
        }
        g->mark[c] = stamp;
        if (g->op[c] != FG_LEAF) { /* a leaf has nothing to pass back: no need to order it */
            g->stack[sp] = c;
            g->cursor[sp++] = 0;
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
