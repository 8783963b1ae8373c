/* The graph store: allocation, growth, reference counting and release. */
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define FG_MAX_SLOTS INT32_MAX
/* The store starts with this many slots and never shrinks below it: 3.2 MB of address
 * space, touched only as nodes are made, so a training loop's steady-state graph
 * never regrows its arrays, and after any graph dies the store is back to its start. */
#define FG_BASE_SLOTS 65536

size_t fg_bytes_per_slot(void)
{
    return 3 * sizeof(double) + 2 * sizeof(uint8_t) + sizeof(fg_kids) + sizeof(uint32_t)
           + sizeof(fg_visit) + sizeof(void *);
}

/* Resize one node array to new_cap elements; on failure the old array stays valid. */
static int resize(void **arr, size_t elem, fg_id new_cap)
{
    void *p = realloc(*arr, elem * (size_t)new_cap);
    if (!p)
        return -1;
    *arr = p;
    return 0;
}

/* Shrinking is worth a look once fewer than an eighth of the slots are live. */
static fg_id trim_threshold(fg_id cap) { return cap > FG_BASE_SLOTS ? cap / 8 : 0; }

int fg_grow(fg_graph *g)
{
    fg_id new_cap;
    if (g->cap >= FG_MAX_SLOTS)
        return -1;
    new_cap = !g->cap ? FG_BASE_SLOTS : g->cap > FG_MAX_SLOTS / 2 ? FG_MAX_SLOTS : g->cap * 2;
    /* cap is raised only once every array has its new size */
    if (resize((void **)&g->data, sizeof(double), new_cap)
        || resize((void **)&g->grad, sizeof(double), new_cap)
        || resize((void **)&g->cst, sizeof(double), new_cap)
        || resize((void **)&g->op, sizeof(uint8_t), new_cap)
        || resize((void **)&g->flags, sizeof(uint8_t), new_cap)
        || resize((void **)&g->kids, sizeof(fg_kids), new_cap)
        || resize((void **)&g->refs, sizeof(uint32_t), new_cap)
        || resize((void **)&g->visit, sizeof(fg_visit), new_cap)
        || resize((void **)&g->owner, sizeof(void *), new_cap))
        return -1;
    g->cap = new_cap; /* new slots are initialised as fg_take_slot hands them out */
    g->visit[FG_NONE].stamp = FG_LEAF_STAMP; /* the walk takes "no operand" for a leaf */
    g->trim_below = trim_threshold(new_cap);
    return 0;
}

int fg_init(fg_graph *g, const fg_release_fn *release_rules)
{
    memset(g, 0, sizeof *g);
    g->release_rules = release_rules;
    g->max_live = FG_MAX_SLOTS - 1;
    g->top = 1; /* id 0 is FG_NONE */
    g->free_head = FG_NONE;
    return fg_grow(g);
}

void fg_set_max_live(fg_graph *g, fg_id max_live)
{
    g->max_live = max_live < 0 ? 0 : (max_live > FG_MAX_SLOTS - 1 ? FG_MAX_SLOTS - 1 : max_live);
}

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
 * training step's dot nodes cost no malloc or free; trim gives them back. */
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

/* Put a dead node's slot on the free list; its operands are the caller's business. */
static void free_slot(fg_graph *g, fg_id id)
{
    g->trim_wait -= g->trim_wait > 0;
    if (g->flags[id] & FG_FLAG_LABEL)
        g->drop_label(id);
    g->op[id] = FG_FREE;
    g->owner[id] = NULL;
    g->kids[id].bin.a = g->free_head;
    g->free_head = id;
    g->live--;
}

static void trim(fg_graph *g);

/* Dead nodes wait on the list linked through their own visit field, which a dead
 * node no longer needs for walks, so this neither recurses nor allocates: a chain of
 * any length frees in O(1) space. */
void fg_release(fg_graph *g, fg_id head)
{
    while (head != FG_NONE) {
        fg_id x = head;
        fg_release_fn rule;
        assert(g->refs[x] == 0 && g->op[x] < FG_NOPS);
        head = g->visit[x].next_dead;
        rule = g->release_rules[g->op[x]];
        if (rule) {
            rule(g, x, &head);
        } else {
            fg_id a = g->kids[x].bin.a, b = g->kids[x].bin.b;
            if (a != FG_NONE)
                fg_release_push(g, a, &head);
            if (b != FG_NONE)
                fg_release_push(g, b, &head);
        }
        free_slot(g, x);
    }
    if (g->live < g->trim_below && (g->trim_wait == 0 || g->live == 0))
        trim(g);
    if (FG_UNLIKELY(g->unpin_head != FG_NONE)) /* last: it may run user code, which */
        fg_custom_unpin_queued(g);               /* may release again */
}

/* Give memory back after a large graph dies. Slots below the highest live id stay
 * (ids are names held by the owner), so the store shrinks to twice that id, never
 * below FG_BASE_SLOTS slots: a training loop's steady-state graph keeps its arrays
 * instead of regrowing them every step. Amortized O(1) per released node: with no
 * node alive the arrays are empty at once (no scan); otherwise an attempt scans the
 * free slots above the highest live id, and one that cannot shrink waits for as many
 * releases as it scanned (plus one) before the next, so a high id kept alive makes
 * attempts cheap, never stops them. A shrink rebuilds the free list below the new top,
 * but at least halves the arrays, so those rebuilds are paid by the releases that
 * emptied the larger arrays. */
static void trim(fg_graph *g)
{
    fg_id top = g->top, new_cap = FG_BASE_SLOTS;
    if (g->live == 0) {
        top = 1;
    } else {
        while (top > 1 && g->op[top - 1] == FG_FREE)
            top--;
    }
    while (new_cap < 2 * top)
        new_cap *= 2;
    if (new_cap >= g->cap) {
        g->trim_wait = g->top - top + 1;
        return;
    }
    /* rebuild the free list below the new top, lowest ids first out */
    g->top = top;
    g->free_head = FG_NONE;
    g->trim_wait = 0;
    for (fg_id id = top - 1; id >= 1; id--)
        if (g->op[id] == FG_FREE) {
            g->kids[id].bin.a = g->free_head;
            g->free_head = id;
        }
    /* shrinking cannot lose data; a refused shrink just keeps the larger array */
    resize((void **)&g->data, sizeof(double), new_cap);
    resize((void **)&g->grad, sizeof(double), new_cap);
    resize((void **)&g->cst, sizeof(double), new_cap);
    resize((void **)&g->op, sizeof(uint8_t), new_cap);
    resize((void **)&g->flags, sizeof(uint8_t), new_cap);
    resize((void **)&g->kids, sizeof(fg_kids), new_cap);
    resize((void **)&g->refs, sizeof(uint32_t), new_cap);
    resize((void **)&g->visit, sizeof(fg_visit), new_cap);
    resize((void **)&g->owner, sizeof(void *), new_cap);
    g->cap = new_cap;
    g->trim_below = trim_threshold(new_cap);
    fg_free_scratch(g);
    while (g->free_cells) {
        void **c = g->free_cells;
        g->free_cells = c[0];
        fg_ext_free(g, c, FG_CELL_BYTES);
    }
}

void fg_discard(fg_graph *g, fg_id id)
{
    assert(g->owner[id] == NULL);
    if (g->refs[id] == 0) {
        g->visit[id].next_dead = FG_NONE;
        fg_release(g, id);
    }
}

size_t fg_bytes_in_use(const fg_graph *g)
{
    return fg_bytes_per_slot() * (size_t)g->live + g->ext_bytes;
}

size_t fg_bytes_reserved(const fg_graph *g)
{
    return fg_bytes_per_slot() * (size_t)g->cap + g->ext_bytes
           + g->scratch_cap * 2 * sizeof(fg_id);
}
