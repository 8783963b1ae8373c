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

/* Depth-first post-order from root, operands in slot order, as the pure engine's
 * _topological_order. Leaves it in g->order and returns its length, or -1. */
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
        fg_id x = g->stack[sp - 1], c;
        while ((c = fg_operand(g, x, &g->cursor[sp - 1])) != FG_NONE && g->mark[c] == stamp)
            ;
        if (c != FG_NONE) {
            g->mark[c] = stamp;
            g->stack[sp] = c;
            g->cursor[sp++] = 0;
        } else {
            sp--;
            g->order[n++] = x;
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
