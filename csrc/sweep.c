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

/* ops.def lists the leaf, then the scalar ops, then the n-ary ones: a node the walk
 * enters (never a leaf, never a free slot) is n-ary exactly when its op is at least the
 * first n-ary op's, one comparison where a table would cost a second load per node. */
enum {
    FG_FIRST_NARY = 0
#define FG_NULLARY(code, label) +1
#define FG_SCALAR(code, label, arity, forward, backward) +1
#include "ops.def"
};
#define FG_NARY(code, label, name) \
    typedef char fg_nary_after_scalars_##code[(int)FG_##code >= FG_FIRST_NARY ? 1 : -1];
#include "ops.def"

static inline int is_nary(int op) { return op >= FG_FIRST_NARY; }

/* Enter n-ary node x: push ~x, then the operands the walk must enter, last slot first
 * (so the first is walked first); a block already settled is skipped whole. 0, or -1
 * without memory. Out of line: the walk's loop keeps its registers for scalar nodes. */
static FG_NOINLINE int enter_nary(fg_graph *g, fg_id x, fg_walk *w)
{
    if (fg_walk_room(g, w, 1))
        return -1;
    g->walk[w->sp++] = ~x;
    switch (g->op[x]) {
#define FG_NARY(code, label, name) case FG_##code: return fg_##name##_push(g, x, w);
#include "ops.def"
    default: FG_BAD_OP(); return -1;
    }
}

/* Once every operand of n-ary node x is walked, its blocks are settled for the rest of
 * the walk. */
static FG_NOINLINE void settle_nary(fg_graph *g, fg_id x, const fg_walk *w)
{
    switch (g->op[x]) {
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
 * enter is emitted at once instead of pushed as ~x and popped. The stack's bottom entry
 * is FG_NONE, which passes for a node entered already (its stamp is FG_LEAF_STAMP, and
 * no entered node's exceeds the walk's): popping it ends the root's walk, where a test
 * of the depth would cost one per entry. */
ptrdiff_t fg_topological_order(fg_graph *g, const fg_id *roots, size_t nroots)
{
    fg_walk w;
    /* A walk makes no node, so the node arrays stay where they are: read once, as each
     * store of a stamp or an id may alias g's fields, which the compiler would read
     * again per node. The stack and the order move when the scratch grows: their ends
     * (top, out: pointers, to spare the loop registers) are found again after each
     * growth or n-ary node. */
    const uint8_t *const op = g->op;
    const fg_kids *const kids = g->kids;
    fg_visit *const visit = g->visit;
    fg_id *top, *limit, *out; /* limit: the last top with room for two pushes */
    uint32_t stamp;
    if (g->scratch_cap < (size_t)g->live + 2 && fg_reserve_scratch(g, (size_t)g->live + 2))
        return -1;
    g->custom_walked = 0;
    w.epoch = next_epoch(g);
    w.stamp = stamp = (uint32_t)w.epoch;
    out = g->order;
    for (size_t r = 0; r < nroots; r++) {
        if (op[roots[r]] == FG_LEAF) /* nothing to walk, and a leaf keeps its stamp */
            continue;
        top = g->walk;
        limit = top + g->scratch_cap - 2;
        *top++ = FG_NONE;
        *top++ = roots[r];
        for (;;) {
            fg_id x = *--top;
            if (x < 0) {
                x = ~x;
                if (FG_UNLIKELY(is_nary(op[x])))
                    settle_nary(g, x, &w);
                *out++ = x;
                continue;
            }
            if (visit[x].stamp >= stamp) { /* entered through another parent since pushed */
                if (x == FG_NONE)
                    break;
                continue;
            }
            for (;;) { /* enter x */
                visit[x].stamp = stamp;
                if (!FG_UNLIKELY(is_nary(op[x]))) {
                    fg_id a = kids[x].bin.a, b = kids[x].bin.b; /* b: FG_NONE for arity 1 */
                    int enter_a = fg_walk_enters_in(visit, a, stamp);
                    int enter_b = fg_walk_enters_in(visit, b, stamp);
                    if (!enter_a && !enter_b) {
                        *out++ = x;
                        break;
                    }
                    if (!FG_UNLIKELY(top > limit)) {
                        *top++ = ~x;
                        if (enter_a && enter_b)
                            *top++ = b;
                        x = enter_a ? a : b;
                        continue;
                    }
                }
                { /* an n-ary node's rules, or room for a scalar node's two pushes */
                    ptrdiff_t n = out - g->order;
                    w.sp = (size_t)(top - g->walk);
                    if (is_nary(op[x]) ? enter_nary(g, x, &w) : fg_walk_room(g, &w, 2))
                        return -1;
                    top = g->walk + w.sp;
                    limit = g->walk + g->scratch_cap - 2;
                    out = g->order + n;
                }
                if (is_nary(op[x]))
                    break;
            } /* (a scalar node given room is entered again) */
        }
    }
    return out - g->order;
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

/* fg_sweep over an order with no custom node: no user code runs, no node is made, so
 * the node arrays stay where they are and are read once. */
static void sweep_plain(fg_graph *g, fg_id root, const fg_id *order, size_t n)
{
    const double *const data = g->data, *const cst = g->cst;
    double *const grad = g->grad;
    const fg_kids *const kids = g->kids;
    const uint8_t *const ops = g->op;
    grad[root] = 1.0;
    while (n--)
        (void)fg_backward_node_in(g, data, grad, cst, kids, ops, order[n]);
}

int fg_backward(fg_graph *g, fg_id root)
{
    ptrdiff_t n = fg_topological_order(g, &root, 1);
    if (n < 0)
        return FG_ENOMEM;
    if (g->custom_walked)
        return sweep_custom(g, root, (size_t)n);
    sweep_plain(g, root, g->order, (size_t)n);
    if (g->scratch_cap > FG_SCRATCH_KEEP) /* a big graph's scratch is not kept around */
        fg_free_scratch(g);
    return FG_OK;
}
