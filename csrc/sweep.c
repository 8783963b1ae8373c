/* The backward pass: an iterative topological walk, then one reverse sweep. */
#include <string.h>

#include "sweep.h"
#include "ops.h"

/* Scratch entries kept between backward passes: enough for a training step's graph. */
#define FG_SCRATCH_KEEP 65536

static uint64_t next_epoch(fg_graph *g)
{
    uint32_t stamp = (uint32_t)++g->epoch;
    if (stamp == 0 || stamp == FG_LEAF_STAMP) { /* stamps wrapped: forget the old ones */
        fg_reset_stamps(g);
        g->epoch += stamp == 0 ? 1 : 2;
    }
    return g->epoch;
}

/* Which nodes take the walk's straight path (scalar ones: most nodes, and the switches
 * below cost an indirect jump per node each) and which need settling (n-ary ones); a
 * leaf, a free slot or a code not in ops.def is FG_WALK_OTHER. */
enum { FG_WALK_OTHER, FG_WALK_SCALAR, FG_WALK_NARY };
static const uint8_t walk_kind[FG_FREE + 1] = {
#define FG_SCALAR(code, label, arity, forward, backward) [FG_##code] = FG_WALK_SCALAR,
#define FG_NARY(code, label, name) [FG_##code] = FG_WALK_NARY,
#include "ops.def"
};

/* Push the operands of non-scalar node x the walk must enter, last slot first (so the
 * first is walked first); a block already settled is skipped whole. 0, or -1 without
 * memory. (The walk's loop does a scalar node's two itself.) */
static inline int push_operands(fg_graph *g, fg_id x, fg_walk *w)
{
    switch (g->op[x]) {
#define FG_NULLARY(code, label) case FG_##code: return 0;
#define FG_NARY(code, label, name) case FG_##code: return fg_##name##_push(g, x, w);
#include "ops.def"
    default: FG_BAD_OP(); return -1;
    }
}

/* Once every operand of x is walked, its blocks are settled for the rest of the walk
 * (x's op is known good: push_operands saw it). */
static inline void settle(fg_graph *g, fg_id x, const fg_walk *w)
{
    int op = g->op[x];
    if (walk_kind[op] != FG_WALK_NARY)
        return;
    switch (op) {
#define FG_NARY(code, label, name) case FG_##code: fg_##name##_settle(g, x, w); return;
#include "ops.def"
    default: FG_BAD_OP();
    }
}

/* Depth-first post-order below roots[0 .. nroots), in one walk: a node below several
 * roots is ordered once, under the first. Operands in slot order, as the pure engine's
 * _topological_order, less the leaves (their backward does nothing, and a walk never
 * enters them: a leaf root adds nothing). Leaves it in g->order and returns its
 * length, or -1.
 * An entry on the stack is a node to enter, or (as ~x, negative) a node to emit once
 * everything pushed after it is done. Operands are pushed last slot first and stamped
 * when entered, not when pushed (one pushed twice is entered once), which gives
 * exactly the recursive walk's order. A scalar node's walk takes two shortcuts of that
 * stack machine (most nodes are scalar, and most graphs chains): the operand that would
 * be pushed last, so popped next, is entered at once, and a node with no operand to
 * enter is emitted at once instead of pushed as ~x and popped. */
ptrdiff_t fg_topological_order(fg_graph *g, const fg_id *roots, size_t nroots)
{
    fg_walk w;
    size_t n = 0;
    /* A walk makes no node, so the node arrays stay where they are: read once, as each
     * store of a stamp or an id may alias g's fields, which the compiler would read
     * again per node. The stack and the order move when the scratch grows: read again
     * after each fg_walk_room or push_operands. */
    const uint8_t *const op = g->op;
    const fg_kids *const kids = g->kids;
    fg_visit *const visit = g->visit;
    fg_id *stack, *order;
    uint32_t stamp; /* w.stamp, which a stamp's store might alias */
    if (fg_reserve_scratch(g, (size_t)g->live + 1))
        return -1;
    w.sp = 0;
    g->custom_walked = 0;
    w.epoch = next_epoch(g);
    w.stamp = stamp = (uint32_t)w.epoch;
    stack = g->walk;
    order = g->order;
    for (size_t r = 0; r < nroots; r++) {
        if (op[roots[r]] == FG_LEAF) /* nothing to walk, and a leaf keeps its stamp */
            continue;
        stack[w.sp++] = roots[r];
        while (w.sp) {
            fg_id x = stack[--w.sp];
            if (x < 0) {
                x = ~x;
                settle(g, x, &w);
                order[n++] = x;
                continue;
            }
            if (visit[x].stamp == stamp) /* entered through another parent since pushed */
                continue;
            for (;;) { /* enter x */
                fg_id a, b;
                int enter_a, enter_b;
                visit[x].stamp = stamp;
                if (walk_kind[op[x]] != FG_WALK_SCALAR) {
                    if (fg_walk_room(g, &w, 1))
                        return -1;
                    g->walk[w.sp++] = ~x;
                    if (push_operands(g, x, &w))
                        return -1;
                    stack = g->walk;
                    order = g->order;
                    break;
                }
                a = kids[x].bin.a; /* b is FG_NONE, never entered, for arity 1 */
                b = kids[x].bin.b;
                enter_a = fg_walk_enters_in(visit, a, stamp);
                enter_b = fg_walk_enters_in(visit, b, stamp);
                if (!enter_a && !enter_b) {
                    order[n++] = x;
                    break;
                }
                if (fg_walk_room(g, &w, 2))
                    return -1;
                stack = g->walk;
                order = g->order;
                stack[w.sp++] = ~x;
                if (enter_a && enter_b)
                    stack[w.sp++] = b;
                x = enter_a ? a : b;
            }
        }
    }
    return (ptrdiff_t)n;
}

int fg_sweep(fg_graph *g, fg_id root, const fg_id *order, size_t n)
{
    g->grad[root] = 1.0;
    while (n--) {
        int err = fg_backward_node(g, order[n]);
        if (err)
            return err;
    }
    return FG_OK;
}

/* A sweep that calls custom nodes' closures, which may run any user code: a backward()
 * of its own (which reuses g->order), new nodes (the node arrays may move: every rule
 * reads them afresh) or dropped ones (a trim frees the scratch). So it sweeps its own
 * copy of the order, and holds root, and so every node of the order, until done. */
static int sweep_custom(fg_graph *g, fg_id root, size_t n)
{
    fg_id *order = malloc((n + 1) * sizeof *order);
    int err;
    if (!order)
        return FG_ENOMEM;
    memcpy(order, g->order, n * sizeof *order);
    fg_incref(g, root);
    err = fg_sweep(g, root, order, n);
    free(order);
    fg_decref(g, root); /* the graph may die here, if the user code let go of it */
    return err;
}

int fg_backward(fg_graph *g, fg_id root)
{
    ptrdiff_t n = fg_topological_order(g, &root, 1);
    if (n < 0)
        return FG_ENOMEM;
    if (g->custom_walked)
        return sweep_custom(g, root, (size_t)n);
    fg_sweep(g, root, g->order, (size_t)n);
    if (g->scratch_cap > FG_SCRATCH_KEEP) /* a big graph's scratch is not kept around */
        fg_free_scratch(g);
    return FG_OK;
}
