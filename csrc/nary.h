/* FG_SUM and FG_DOT: the ops whose operands are shared blocks (blocks.h), each op's
 * rules together. The walk's and the sweep's rules are inline: they run for every
 * node of a backward pass. */
#ifndef FASTGRAD_NARY_H
#define FASTGRAD_NARY_H

#include "blocks.h"
#include "sweep.h"

/* -- FG_SUM: 0.0 + t0 + t1 + ..., left to right, over a block of terms (kids.ext) ----- */

/* A new sum node, taking a reference on terms. FG_NONE when the store cannot grow. */
fg_id fg_sum_new(fg_graph *g, double data, fg_block *terms, void *owner);

static inline fg_block *fg_sum_terms(const fg_graph *g, fg_id id)
{
    assert(g->op[id] == FG_SUM);
    return g->kids[id].ext;
}

/* The sum of the terms' values, as fg_sum_new's data. */
double fg_sum_value(const fg_graph *g, const fg_block *terms);
int fg_sum_forward(fg_graph *g, fg_id id);
int fg_sum_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c);
void fg_sum_release(fg_graph *g, fg_id id, fg_id *head);

static inline int fg_sum_push(fg_graph *g, fg_id id, fg_walk *w)
{
    return fg_walk_push_block(g, fg_sum_terms(g, id), w);
}

static inline void fg_sum_settle(fg_graph *g, fg_id id, const fg_walk *w)
{
    fg_walk_settle(fg_sum_terms(g, id), w);
}

static inline void fg_sum_backward(fg_graph *g, fg_id id)
{
    const fg_block *t = fg_sum_terms(g, id);
    double gr = g->grad[id];
    for (int32_t i = 0; i < t->n; i++)
        if (t->ids[i] != FG_NONE)
            g->grad[t->ids[i]] += gr;
}

/* -- FG_DOT: bias + w0*x0 + w1*x1 + ..., left to right (as micrograd's
 * sum((wi*xi for ...), b) adds them); operand slots w0, x0, w1, x1, ..., bias ---------- */

/* A dot node's operands (kids.ext), in a store cell. */
typedef struct fg_pair {
    fg_block *w;      /* n weights, then the bias */
    fg_block *x;      /* n inputs */
} fg_pair;

typedef char fg_pair_fits_a_cell[sizeof(fg_pair) <= FG_CELL_BYTES ? 1 : -1];

/* A new dot node over weights w (n of them, then the bias) and inputs x (n), taking a
 * reference on each block. FG_NONE when the store cannot grow. */
fg_id fg_dot_new(fg_graph *g, double data, fg_block *w, fg_block *x, void *owner);

static inline fg_pair *fg_dot_pair(const fg_graph *g, fg_id id)
{
    assert(g->op[id] == FG_DOT);
    return g->kids[id].ext;
}

/* bias + w0*x0 + w1*x1 + ... on the blocks' values, as fg_dot_new's data. */
double fg_dot_value(const fg_graph *g, const fg_block *w, const fg_block *x);
int fg_dot_forward(fg_graph *g, fg_id id);
int fg_dot_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c);
void fg_dot_release(fg_graph *g, fg_id id, fg_id *head);

static inline int fg_dot_push(fg_graph *g, fg_id id, fg_walk *w)
{
    const fg_block *ws = fg_dot_pair(g, id)->w, *xs = fg_dot_pair(g, id)->x;
    int32_t n = xs->n;
    int skip_w = fg_walk_settled(ws, w), skip_x = fg_walk_settled(xs, w);
    if (skip_w && skip_x)
        return 0;
    if (fg_walk_room(g, w, 2 * (size_t)n + 1))
        return -1;
    if (!skip_w) /* the bias, the last slot */
        fg_walk_push(g, ws->ids[n], w);
    for (int32_t i = n; i-- > 0;) {
        if (!skip_x)
            fg_walk_push(g, xs->ids[i], w);
        if (!skip_w)
            fg_walk_push(g, ws->ids[i], w);
    }
    return 0;
}

static inline void fg_dot_settle(fg_graph *g, fg_id id, const fg_walk *w)
{
    fg_walk_settle(fg_dot_pair(g, id)->w, w);
    fg_walk_settle(fg_dot_pair(g, id)->x, w);
}

/* FG_DOT's backward with grad gr on weights w and inputs xs: each product passes the
 * grad to both of its factors, then the bias gets it. (A fused network's first layer
 * runs it too.) */
static inline void fg_dot_backward_blocks(fg_graph *g, const fg_block *w, const fg_block *xs,
                                          double gr)
{
    double *grad = g->grad;
    int32_t n = xs->n;
    for (int32_t i = 0; i < n; i++) {
        fg_id wi = w->ids[i], xi = xs->ids[i];
        double wd = fg_block_value(g, w, i), xd = fg_block_value(g, xs, i);
        if (wi != FG_NONE) grad[wi] += xd * gr;
        if (xi != FG_NONE) grad[xi] += wd * gr;
    }
    if (w->ids[n] != FG_NONE)
        grad[w->ids[n]] += gr;
}

static inline void fg_dot_backward(fg_graph *g, fg_id id)
{
    fg_dot_backward_blocks(g, fg_dot_pair(g, id)->w, fg_dot_pair(g, id)->x, g->grad[id]);
}

#endif
