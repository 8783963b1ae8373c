/* The store's memory outside the node arrays, counted in fg_bytes_in_use (store.h):
 * operand records and networks, the recycled cells of dot nodes, the walk's scratch. */
#include <stdlib.h>

#include "store.h"

void *fg_ext_alloc(fg_graph *g, size_t bytes)
{
    void *p = malloc(bytes);
    if (p)
        g->ext_bytes += bytes;
    return p;
}

void fg_ext_free(fg_graph *g, void *p, size_t bytes)
{
    assert(g->ext_bytes >= bytes);
    g->ext_bytes -= bytes;
    free(p);
}

/* Cells are recycled through a free list linked through their first pointer, so a
 * training step's dot nodes cost no malloc or free; giving chunks back frees them. */
void *fg_cell_take(fg_graph *g)
{
    void **c = g->free_cells;
    if (c) {
        g->free_cells = c[0];
        return c;
    }
    return fg_ext_alloc(g, FG_CELL_BYTES);
}

void fg_cell_give(fg_graph *g, void *cell)
{
    ((void **)cell)[0] = g->free_cells;
    g->free_cells = cell;
}

int fg_reserve_scratch(fg_graph *g, size_t n)
{
    size_t cap = g->scratch_cap ? g->scratch_cap : 256;
    void *p;
    if (n <= g->scratch_cap)
        return 0;
    while (cap < n)
        cap *= 2;
    if (!(p = realloc(g->walk, cap * sizeof(fg_id)))) return -1;
    g->walk = p;
    if (!(p = realloc(g->order, cap * sizeof(fg_id)))) return -1;
    g->order = p;
    g->scratch_cap = cap;
    return 0;
}

void fg_free_scratch(fg_graph *g)
{
    free(g->walk); free(g->order);
    g->walk = g->order = NULL;
    g->scratch_cap = 0;
}
