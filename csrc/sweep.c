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

/* Room for n more entries on the walk's stack; -1 if it cannot grow. */
static inline int stack_room(fg_graph *g, size_t sp, size_t n)
{
    return sp + n <= g->scratch_cap ? 0 : fg_reserve_scratch(g, sp + n);
}

/* Push the nodes of block b the walk must enter, last slot first, unless b is settled.
 * 0, or -1 without memory. */
static inline int push_block(fg_graph *g, const fg_block *b, size_t *sp, uint64_t epoch)
{
    uint32_t stamp = (uint32_t)epoch;
    if (settled(b, epoch))
        return 0;
    if (stack_room(g, *sp, (size_t)b->n))
        return -1;
    for (int32_t i = b->n; i-- > 0;)
        if (unvisited(g, b->ids[i], stamp))
            g->stack[(*sp)++] = b->ids[i];
    return 0;
}

/* Push the operands of x the walk must enter, last slot first (so the first is
 * walked first); a block already settled is skipped whole. 0, or -1 without memory. */
static inline int push_operands(fg_graph *g, fg_id x, size_t *sp, uint64_t epoch)
{
    uint32_t stamp = (uint32_t)epoch;
    switch (g->op[x]) {
    case FG_LEAF:
        return 0;
    case FG_SUM:
        return push_block(g, g->kids[x].sum, sp, epoch);
    case FG_HEAD: /* slots: its FG_NET node, then its row */
        if (push_block(g, fg_head_row(g, x), sp, epoch) || stack_room(g, *sp, 1))
            return -1;
        if (unvisited(g, g->kids[x].bin.a, stamp))
            g->stack[(*sp)++] = g->kids[x].bin.a;
        return 0;
    case FG_NET: { /* slots: the inputs, then the hidden rows */
        const fg_tape *t = g->kids[x].tape;
        const fg_stack *s = t->stack;
        if (!s->leaves)
            for (int32_t u = s->layer[s->nlayers - 1].first; u-- > 0;)
                if (push_block(g, s->rows[u], sp, epoch))
                    return -1;
        return push_block(g, t->x, sp, epoch);
    }
    case FG_DOT: {
        const fg_block *w = g->kids[x].dot->w, *xs = g->kids[x].dot->x;
        int32_t n = xs->n;
        int skip_w = settled(w, epoch), skip_x = settled(xs, epoch);
        if (skip_w && skip_x)
            return 0;
        if (stack_room(g, *sp, 2 * (size_t)n + 1))
            return -1;
        if (!skip_w && unvisited(g, w->ids[n], stamp)) /* the bias, the last slot */
            g->stack[(*sp)++] = w->ids[n];
        for (int32_t i = n; i-- > 0;) {
            if (!skip_x && unvisited(g, xs->ids[i], stamp))
                g->stack[(*sp)++] = xs->ids[i];
            if (!skip_w && unvisited(g, w->ids[i], stamp))
                g->stack[(*sp)++] = w->ids[i];
        }
        return 0;
    }
    default: {
        fg_id a = g->kids[x].bin.a, b = g->kids[x].bin.b;
        if (stack_room(g, *sp, 2))
            return -1;
        if (unvisited(g, b, stamp))
            g->stack[(*sp)++] = b;
        if (unvisited(g, a, stamp))
            g->stack[(*sp)++] = a;
        return 0;
    }
    }
}

/* Once every operand of x is walked, its blocks are settled for the rest of the walk. */
static inline void settle(fg_graph *g, fg_id x, uint64_t epoch)
{
    switch (g->op[x]) {
    case FG_SUM:
        g->kids[x].sum->mark = epoch;
        break;
    case FG_DOT:
        g->kids[x].dot->w->mark = g->kids[x].dot->x->mark = epoch;
        break;
    case FG_HEAD:
        ((fg_block *)fg_head_row(g, x))->mark = epoch;
        break;
    case FG_NET: {
        fg_tape *t = g->kids[x].tape;
        t->x->mark = epoch;
        if (!t->stack->leaves)
            for (int32_t u = t->stack->layer[t->stack->nlayers - 1].first; u-- > 0;)
                t->stack->rows[u]->mark = epoch;
        break;
    }
    default:
        break;
    }
}

/* Depth-first post-order from root, operands in slot order, as the pure engine's
 * _topological_order, less the leaves (their backward does nothing). Leaves it in
 * g->order and returns its length, or -1.
 * An entry on the stack is a node to enter, or (as ~x, negative) a node to emit once
 * everything pushed after it is done. Operands are pushed last slot first and stamped
 * when entered, not when pushed (one pushed twice is entered once), which gives
 * exactly the recursive walk's order. */
static ptrdiff_t topological_order(fg_graph *g, fg_id root)
{
    uint64_t epoch;
    uint32_t stamp;
    size_t sp = 0, n = 0;
    if (fg_reserve_scratch(g, (size_t)g->live + 1))
        return -1;
    epoch = next_epoch(g);
    stamp = (uint32_t)epoch;
    if (g->op[root] == FG_LEAF) { /* nothing to walk, and a leaf keeps its mark */
        g->order[0] = root;
        return 1;
    }
    g->stack[sp++] = root;
    while (sp) {
        fg_id x = g->stack[--sp];
        if (x < 0) {
            x = ~x;
            settle(g, x, epoch);
            g->order[n++] = x;
            continue;
        }
        if (g->mark[x] == stamp) /* entered through another parent since it was pushed */
            continue;
        g->mark[x] = stamp;
        g->stack[sp++] = ~x;
        if (push_operands(g, x, &sp, epoch))
            return -1;
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
