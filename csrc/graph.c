/* The graph store: allocation, growth, reference counting and release. */
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "ops.h"

#define FG_INITIAL_CAP 1024
#define FG_MAX_SLOTS INT32_MAX
#define FG_TRIM_FLOOR 65536

size_t fg_bytes_per_slot(void)
{
    return 3 * sizeof(double) + 2 * sizeof(uint8_t) + sizeof(fg_kids)
           + 2 * sizeof(uint32_t) + sizeof(void *);
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
static fg_id trim_threshold(fg_id cap) { return cap > FG_TRIM_FLOOR ? cap / 8 : 0; }

static int grow_store(fg_graph *g)
{
    fg_id new_cap;
    if (g->cap >= FG_MAX_SLOTS)
        return -1;
    new_cap = g->cap > FG_MAX_SLOTS / 2 ? FG_MAX_SLOTS : g->cap * 2;
    /* cap is raised only once every array has its new size */
    if (resize((void **)&g->data, sizeof(double), new_cap)
        || resize((void **)&g->grad, sizeof(double), new_cap)
        || resize((void **)&g->cst, sizeof(double), new_cap)
        || resize((void **)&g->op, sizeof(uint8_t), new_cap)
        || resize((void **)&g->flags, sizeof(uint8_t), new_cap)
        || resize((void **)&g->kids, sizeof(fg_kids), new_cap)
        || resize((void **)&g->refs, sizeof(uint32_t), new_cap)
        || resize((void **)&g->mark, sizeof(uint32_t), new_cap)
        || resize((void **)&g->owner, sizeof(void *), new_cap))
        return -1;
    memset(g->mark + g->cap, 0, sizeof(uint32_t) * (size_t)(new_cap - g->cap));
    g->cap = new_cap;
    g->trim_below = trim_threshold(new_cap);
    return 0;
}

int fg_init(fg_graph *g)
{
    memset(g, 0, sizeof *g);
    g->max_live = FG_MAX_SLOTS - 1;
    g->cap = FG_INITIAL_CAP / 2;
    g->top = 1; /* id 0 is FG_NONE */
    g->free_head = FG_NONE;
    return grow_store(g);
}

void fg_set_max_live(fg_graph *g, fg_id max_live)
{
    g->max_live = max_live < 0 ? 0 : (max_live > FG_MAX_SLOTS - 1 ? FG_MAX_SLOTS - 1 : max_live);
}

/* A fresh slot with the node's scalar fields set; FG_NONE if the store is full. */
static fg_id take_slot(fg_graph *g, int op, double data, void *owner)
{
    fg_id id = g->free_head;
    if (g->live >= g->max_live)
        return FG_NONE;
    if (id != FG_NONE) {
        g->free_head = g->kids[id].bin.a;
    } else {
        if (g->top == g->cap && grow_store(g))
            return FG_NONE;
        id = g->top++;
    }
    g->data[id] = data;
    g->grad[id] = 0.0;
    g->cst[id] = 0.0;
    g->op[id] = (uint8_t)op;
    g->flags[id] = 0;
    g->refs[id] = owner != NULL;
    g->mark[id] = 0;
    g->owner[id] = owner;
    g->live++;
    return id;
}

fg_id fg_node(fg_graph *g, int op, double data, fg_id a, fg_id b, double c, void *owner)
{
    fg_id id = take_slot(g, op, data, owner);
    if (id == FG_NONE)
        return FG_NONE;
    g->cst[id] = c;
    g->kids[id].bin.a = a;
    g->kids[id].bin.b = b;
    if (a != FG_NONE) g->refs[a]++;
    if (b != FG_NONE) g->refs[b]++;
    return id;
}

fg_edges *fg_edges_new(int32_t n)
{
    fg_edges *e;
    size_t bytes;
    if (n < 0)
        return NULL;
    bytes = sizeof(fg_edges) + (size_t)n * (sizeof(double) + sizeof(fg_id));
    e = malloc(bytes);
    if (!e)
        return NULL;
    e->n = n;
    e->cst = (double *)(e + 1); /* doubles first: they need the stricter alignment */
    e->ids = (fg_id *)(e->cst + n);
    return e;
}

void fg_edges_free(fg_edges *e) { free(e); }

static size_t edges_bytes(const fg_edges *e)
{
    return sizeof(fg_edges) + (size_t)e->n * (sizeof(double) + sizeof(fg_id));
}

fg_id fg_nary(fg_graph *g, int op, double data, fg_edges *e, void *owner)
{
    fg_id id = take_slot(g, op, data, owner);
    if (id == FG_NONE) {
        fg_edges_free(e);
        return FG_NONE;
    }
    g->kids[id].nary = e;
    g->edge_bytes += edges_bytes(e);
    for (int32_t i = 0; i < e->n; i++)
        if (e->ids[i] != FG_NONE)
            g->refs[e->ids[i]]++;
    return id;
}

int fg_reserve_scratch(fg_graph *g, size_t n)
{
    size_t cap = g->scratch_cap ? g->scratch_cap : 256;
    void *p;
    if (n <= g->scratch_cap)
        return 0;
    while (cap < n)
        cap *= 2;
    if (!(p = realloc(g->stack, cap * sizeof(fg_id)))) return -1;
    g->stack = p;
    if (!(p = realloc(g->cursor, cap * sizeof(int32_t)))) return -1;
    g->cursor = p;
    if (!(p = realloc(g->order, cap * sizeof(fg_id)))) return -1;
    g->order = p;
    g->scratch_cap = cap;
    return 0;
}

void fg_free_scratch(fg_graph *g)
{
    free(g->stack); free(g->cursor); free(g->order);
    g->stack = g->order = NULL;
    g->cursor = NULL;
    g->scratch_cap = 0;
}

/* Put a dead node's slot on the free list; its operands are the caller's business. */
static void free_slot(fg_graph *g, fg_id id)
{
    if (g->flags[id] & FG_FLAG_NOTE)
        g->drop_note(id);
    if (g->op[id] == FG_SUM || g->op[id] == FG_DOT) {
        g->edge_bytes -= edges_bytes(g->kids[id].nary);
        fg_edges_free(g->kids[id].nary);
    }
    g->op[id] = FG_FREE;
    g->owner[id] = NULL;
    g->kids[id].bin.a = g->free_head;
    g->free_head = id;
    g->live--;
}

/* Free a node whose count is zero and every operand that only it kept alive.
 * Dead nodes wait on a worklist linked through their own mark field, which a dead
 * node no longer needs (walks start from live nodes and only reach live ones), so
 * this neither recurses nor allocates: a chain of any length frees in O(1) space. */
static void release(fg_graph *g, fg_id id)
{
    fg_id head = id;
    g->mark[id] = FG_NONE;
    while (head != FG_NONE) {
        fg_id x = head;
        head = (fg_id)g->mark[x];
        if (g->op[x] == FG_SUM || g->op[x] == FG_DOT) {
            const fg_edges *e = g->kids[x].nary;
            for (int32_t i = 0; i < e->n; i++) {
                fg_id c = e->ids[i];
                if (c != FG_NONE && --g->refs[c] == 0) {
                    g->mark[c] = (uint32_t)head;
                    head = c;
                }
            }
        } else {
            fg_id a = g->kids[x].bin.a, b = g->kids[x].bin.b;
            if (a != FG_NONE && --g->refs[a] == 0) {
                g->mark[a] = (uint32_t)head;
                head = a;
            }
            if (b != FG_NONE && --g->refs[b] == 0) {
                g->mark[b] = (uint32_t)head;
                head = b;
            }
        }
        free_slot(g, x);
    }
}

/* Give memory back after a large graph dies. Slots below the highest live id stay
 * (ids are names held by the owner), so the store shrinks to twice that id, never
 * below FG_TRIM_FLOOR slots: a training loop's steady-state graph keeps its arrays
 * instead of regrowing them every step. Each attempt halves the live count needed
 * for the next, so dropping a graph node by node costs O(n log n), not O(n^2). */
static void trim(fg_graph *g)
{
    fg_id top = g->top, new_cap = FG_TRIM_FLOOR;
    while (top > 1 && g->op[top - 1] == FG_FREE)
        top--;
    g->trim_below = g->live / 2;
    while (new_cap < 2 * top)
        new_cap *= 2;
    if (new_cap >= g->cap)
        return;
    /* rebuild the free list below the new top, lowest ids first out */
    g->top = top;
    g->free_head = FG_NONE;
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
    resize((void **)&g->mark, sizeof(uint32_t), new_cap);
    resize((void **)&g->owner, sizeof(void *), new_cap);
    g->cap = new_cap;
    g->trim_below = trim_threshold(new_cap);
    fg_free_scratch(g);
}

void fg_decref(fg_graph *g, fg_id id)
{
    if (--g->refs[id] == 0) {
        release(g, id);
        if (g->live < g->trim_below)
            trim(g);
    }
}

void fg_discard(fg_graph *g, fg_id id)
{
    if (g->refs[id] == 0)
        release(g, id);
}

size_t fg_bytes(const fg_graph *g)
{
    return fg_bytes_per_slot() * (size_t)g->cap + g->edge_bytes
           + g->scratch_cap * (2 * sizeof(fg_id) + sizeof(int32_t));
}
