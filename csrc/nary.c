/* FG_SUM and FG_DOT; see nary.h. Each rule mirrors fastgrad/pure; keep them in step. */
#include "nary.h"

/* -- FG_SUM ---------------------------------------------------------------------------- */

fg_id fg_sum_new(fg_graph *g, double data, fg_block *terms, void *owner)
{
    fg_id id = fg_take_slot(g, FG_SUM, data, owner);
    if (id == FG_NONE)
        return FG_NONE;
    assert(terms->sealed);
    terms->refs++;
    g->kids[id].ext = terms;
    return id;
}

double fg_sum_value(const fg_graph *g, const fg_block *terms)
{
    double acc = 0.0;
    for (int32_t i = 0; i < terms->n; i++)
        acc = acc + fg_block_value(g, terms, i);
    return acc;
}

int fg_sum_forward(fg_graph *g, fg_id id)
{
    g->data[id] = fg_sum_value(g, fg_sum_terms(g, id));
    return FG_OK;
}

int fg_sum_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c)
{
    const fg_block *b = fg_sum_terms(g, id);
    return k < b->n && fg_block_slot(b, k, node, c);
}

void fg_sum_release(fg_graph *g, fg_id id, fg_id *head)
{
    fg_block_release(g, fg_sum_terms(g, id), head);
}

/* -- FG_DOT ---------------------------------------------------------------------------- */

fg_id fg_dot_new(fg_graph *g, double data, fg_block *w, fg_block *x, void *owner)
{
    fg_pair *d = fg_cell_take(g);
    fg_id id;
    if (!d)
        return FG_NONE;
    if ((id = fg_take_slot(g, FG_DOT, data, owner)) == FG_NONE) {
        fg_cell_give(g, d);
        return FG_NONE;
    }
    assert(w->sealed && x->sealed && w->n == x->n + 1);
    d->w = w;
    d->x = x;
    w->refs++;
    x->refs++;
    g->kids[id].ext = d;
    return id;
}

double fg_dot_value(const fg_graph *g, const fg_block *w, const fg_block *x)
{
    int32_t n = x->n;
    double acc = fg_block_value(g, w, n);
    for (int32_t i = 0; i < n; i++)
        acc = acc + fg_block_value(g, w, i) * fg_block_value(g, x, i);
    return acc;
}

int fg_dot_forward(fg_graph *g, fg_id id)
{
    g->data[id] = fg_dot_value(g, fg_dot_pair(g, id)->w, fg_dot_pair(g, id)->x);
    return FG_OK;
}

/* Slot k in operand order w0, x0, w1, x1, ..., bias: its block, and its index there. */
static const fg_block *dot_slot(const fg_pair *d, int32_t k, int32_t *i)
{
    *i = k == 2 * d->x->n ? d->x->n : k >> 1; /* the bias after the weights */
    return (k & 1) ? d->x : d->w;
}

int fg_dot_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c)
{
    const fg_pair *d = fg_dot_pair(g, id);
    const fg_block *b;
    int32_t i;
    if (k >= 2 * d->x->n + 1)
        return 0;
    b = dot_slot(d, k, &i);
    return fg_block_slot(b, i, node, c);
}

void fg_dot_release(fg_graph *g, fg_id id, fg_id *head)
{
    fg_pair *d = fg_dot_pair(g, id);
    fg_block_release(g, d->w, head);
    fg_block_release(g, d->x, head);
    fg_cell_give(g, d);
}
