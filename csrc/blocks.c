/* Shared operand blocks; see blocks.h. */
#include "blocks.h"

static size_t block_bytes(int32_t n)
{
    return sizeof(fg_block) + (size_t)n * (sizeof(double) + sizeof(fg_id));
}

fg_block *fg_block_new(fg_graph *g, int32_t n)
{
    fg_block *b;
    if (n < 0 || !(b = fg_ext_alloc(g, block_bytes(n))))
        return NULL;
    b->refs = 1;
    b->n = n;
    b->sealed = 0;
    b->all_leaves = b->no_constants = b->consecutive = 0;
    b->settled_in = 0;
    b->cst = (double *)(b + 1); /* doubles first: they need the stricter alignment */
    b->ids = (fg_id *)(b->cst + n);
    return b;
}

void fg_block_seal(fg_graph *g, fg_block *b)
{
    assert(!b->sealed && b->refs >= 1);
    b->all_leaves = b->no_constants = b->consecutive = 1;
    for (int32_t i = 0; i < b->n; i++) {
        fg_id c = b->ids[i];
        if (c != FG_NONE) {
            assert(g->op[c] != FG_FREE);
            fg_incref(g, c);
            if (g->op[c] != FG_LEAF) /* a node's op never changes while it lives */
                b->all_leaves = 0;
        } else {
            b->no_constants = 0;
        }
        if (c != b->ids[0] + i)
            b->consecutive = 0;
    }
    b->consecutive &= b->no_constants;
    b->sealed = 1;
}

void fg_block_release(fg_graph *g, fg_block *b, fg_id *head)
{
    assert(b->refs >= 1);
    if (--b->refs > 0)
        return;
    if (b->sealed)
        for (int32_t i = 0; i < b->n; i++)
            if (b->ids[i] != FG_NONE)
                fg_release_push(g, b->ids[i], head);
    fg_ext_free(g, b, block_bytes(b->n));
}

void fg_block_drop(fg_graph *g, fg_block *b)
{
    fg_id head = FG_NONE;
    fg_block_release(g, b, &head);
    fg_release(g, head);
}
