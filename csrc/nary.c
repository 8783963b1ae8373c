/* FG_SUM and FG_DOT; see nary.h. Each rule mirrors fastgrad/pure; keep them in step. */
#include "nary.h"

/* -- FG_SUM ---------------------------------------------------------------------------- */

fg_id fg_sum(fg_graph *g, double data, fg_block *terms, void *owner)
{
    fg_id id = fg_take_slot(g, FG_SUM, data, owner);
    if (id == FG_NONE)
        return FG_NONE;
    terms->refs++;
    g->kids[id].sum = terms;
    return id;
}

double fg_forward_sum(const fg_graph *g, const fg_block *terms)
{
    double acc = 0.0;
    for (int32_t i = 0; i < terms->n; i++)
        acc = acc + fg_slot(g, terms, i);
    return acc;
}

int fg_sum_forward(fg_graph *g, fg_id id)
{
    g->data[id] = fg_forward_sum(g, g->kids[id].sum);
    return FG_OK;
}

fg_id fg_sum_operand(const fg_graph *g, fg_id id, int32_t *k)
{
    const fg_block *b = g->kids[id].sum;
    while (*k < b->n) {
        fg_id x = b->ids[(*k)++];
        if (x != FG_NONE)
            return x;
    }
    return FG_NONE;
}

void fg_sum_release(fg_graph *g, fg_id id, fg_id *head)
{
    fg_block_release(g, g->kids[id].sum, head);
}

/* -- FG_DOT ---------------------------------------------------------------------------- */

fg_id fg_dot(fg_graph *g, double data, fg_block *w, fg_block *x, void *owner)
{
    fg_pair *d = fg_pair_take(g);
    fg_id id;
    if (!d)
        return FG_NONE;
    if ((id = fg_take_slot(g, FG_DOT, data, owner)) == FG_NONE) {
        fg_pair_give(g, d);
        return FG_NONE;
    }
    d->w = w;
    d->x = x;
    w->refs++;
    x->refs++;
    g->kids[id].dot = d;
    return id;
}

double fg_forward_dot(const fg_graph *g, const fg_block *w, const fg_block *x)
{
    int32_t n = x->n;
    double acc = fg_slot(g, w, n);
    for (int32_t i = 0; i < n; i++)
        acc = acc + fg_slot(g, w, i) * fg_slot(g, x, i);
    return acc;
}

int fg_dot_forward(fg_graph *g, fg_id id)
{
    g->data[id] = fg_forward_dot(g, g->kids[id].dot->w, g->kids[id].dot->x);
    return FG_OK;
}

/* Slot k in operand order w0, x0, w1, x1, ..., bias: the node id, or FG_NONE for a
 * constant. */
static fg_id dot_slot(const fg_pair *d, int32_t k)
{
    const fg_block *b = (k & 1) ? d->x : d->w;
    return b->ids[k == 2 * d->x->n ? d->x->n : k >> 1]; /* the bias after the weights */
}

fg_id fg_dot_operand(const fg_graph *g, fg_id id, int32_t *k)
{
    const fg_pair *d = g->kids[id].dot;
    while (*k < 2 * d->x->n + 1) {
        fg_id x = dot_slot(d, (*k)++);
        if (x != FG_NONE)
            return x;
    }
    return FG_NONE;
}

void fg_dot_release(fg_graph *g, fg_id id, fg_id *head)
{
    fg_pair *d = g->kids[id].dot;
    fg_block_release(g, d->w, head);
    fg_block_release(g, d->x, head);
    fg_pair_give(g, d);
}
