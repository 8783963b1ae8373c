/* FG_CUSTOM; see custom.h. */
#include "custom.h"

fg_id fg_custom_new(fg_graph *g, double data, fg_block *kids, void *owner)
{
    fg_custom *c = fg_cell_take(g);
    fg_id id;
    if (!c)
        return FG_NONE;
    if ((id = fg_take_slot(g, FG_CUSTOM, data, owner)) == FG_NONE) {
        fg_cell_give(g, c);
        return FG_NONE;
    }
    c->kids = kids;
    c->by_custom = 0;
    c->next_unpin = FG_NONE;
    g->kids[id].ext = c;
    /* counted before the seal references them, so the seal pins none of them */
    for (int32_t i = 0; i < kids->n; i++)
        if (kids->ids[i] != FG_NONE && g->op[kids->ids[i]] == FG_CUSTOM)
            fg_custom_of(g, kids->ids[i])->by_custom++;
    fg_block_seal(g, kids);
    return id;
}

int fg_custom_forward(fg_graph *g, fg_id id)
{
    (void)g; (void)id;
    return FG_OK;
}

int fg_custom_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c)
{
    const fg_block *b = fg_custom_of(g, id)->kids;
    return k < b->n && fg_block_slot(b, k, node, c);
}

void fg_custom_release(fg_graph *g, fg_id id, fg_id *head)
{
    fg_custom *c = fg_custom_of(g, id);
    fg_block *b = c->kids;
    assert(b->refs == 1 && !(g->flags[id] & (FG_FLAG_PINNED | FG_FLAG_UNPIN)));
    for (int32_t i = 0; i < b->n; i++) /* before the block lets go of them: no pin moves */
        if (b->ids[i] != FG_NONE && g->op[b->ids[i]] == FG_CUSTOM)
            fg_custom_of(g, b->ids[i])->by_custom--;
    fg_block_release(g, b, head);
    fg_cell_give(g, c);
}

/* Has node id a user its owner's Python graph cannot see (custom.h)? */
static int wants_pin(const fg_graph *g, fg_id id)
{
    return g->owner[id] != NULL
           && g->refs[id] > 1u + (uint32_t)fg_custom_of(g, id)->by_custom;
}

void fg_custom_repin(fg_graph *g, fg_id id)
{
    uint8_t f = g->flags[id];
    if (wants_pin(g, id)) {
        if (!(f & FG_FLAG_PINNED)) {
            g->flags[id] = f | FG_FLAG_PINNED;
            g->pin_owner(g->owner[id]);
        }
    } else if ((f & FG_FLAG_PINNED) && !(f & FG_FLAG_UNPIN)) {
        g->flags[id] = f | FG_FLAG_UNPIN;
        fg_custom_of(g, id)->next_unpin = g->unpin_head;
        g->unpin_head = id;
    }
}

void fg_custom_unpin_queued(fg_graph *g)
{
    /* a pinned node cannot die (its owner holds it), so every id here is live; an
     * unpin may run user code that queues more, or drains the list itself */
    while (g->unpin_head != FG_NONE) {
        fg_id id = g->unpin_head;
        g->unpin_head = fg_custom_of(g, id)->next_unpin;
        g->flags[id] &= (uint8_t)~FG_FLAG_UNPIN;
        if (!wants_pin(g, id)) {
            assert(g->owner[id] != NULL);
            g->flags[id] &= (uint8_t)~FG_FLAG_PINNED;
            g->unpin_owner(g->owner[id]);
        }
    }
}
