/* The graph store: every node of every live graph, as parallel arrays indexed by id.
 *
 * A node is a scalar (data, grad), the op that made it, and its operands: up to two
 * node ids plus one folded constant, or for an n-ary op a record of its own (ext),
 * which only that op's rules read. Nodes are reference counted: each operand slot
 * holds one reference, and so does the node's owner (the facade object that names
 * it, if any). A node whose count drops to zero is freed at once, and so is
 * everything only it kept alive, iteratively. Freed slots are reused through a free
 * list.
 *
 * The store knows no op beyond fg.h: an n-ary node's operands are released by the
 * rule the op table hands fg_init; where an FG_CUSTOM node's count moves, it calls that
 * op's pin rules (custom.h), which decide whether the store holds its owner. Nothing here knows about Python: the owner is an
 * opaque pointer the caller keeps in the node so it can find "the" object for an id;
 * the store never follows it. Not thread-safe: one graph is used by one thread at a
 * time (the caller's lock).
 */
#ifndef FASTGRAD_STORE_H
#define FASTGRAD_STORE_H

#include "fg.h"

/* The walk stamp of a leaf: never a walk's, so a walk passes leaves by their stamp
 * alone (a leaf has nothing to pass back and is never entered). */
#define FG_LEAF_STAMP UINT32_MAX

/* Per-node flags. */
#define FG_FLAG_LABEL 1  /* the owner keeps a label to drop when the node dies */
#define FG_FLAG_PINNED 2 /* FG_CUSTOM: the store holds the owner (custom.h) */
#define FG_FLAG_UNPIN 4  /* FG_CUSTOM: on the list of pins to look at again */

/* Bytes of a cell: a record of two pointers (a dot's operand pair). */
#define FG_CELL_BYTES (2 * sizeof(void *))

typedef union fg_kids {
    struct {
        fg_id a, b;
    } bin;      /* a scalar op's operands, FG_NONE for none; a free slot keeps the next
                   free id in a; FG_HEAD keeps its own pair of numbers (net.h) */
    void *ext;  /* an n-ary op's operand record (a block, a pair, a network call) */
} fg_kids;

/* A node's walk field: while it lives, the stamp of the walk that last entered it
 * (FG_LEAF_STAMP for a leaf); once it is dead, the next node on the release worklist
 * (a walk starts from a live node and reaches only live ones, so the two never meet). */
typedef union fg_visit {
    uint32_t stamp;
    fg_id next_dead;
} fg_visit;

typedef struct fg_graph fg_graph;

/* An n-ary op's release rule: let go of node id's operands, putting each node only it
 * kept alive on the release worklist *head (fg_release_push). */
typedef void (*fg_release_fn)(fg_graph *g, fg_id id, fg_id *head);

/* Invariants (asserted where they are relied on):
 * - 1 <= top <= cap; every id in [1, top) is a node or a free slot, FG_NONE neither;
 * - op[id] == FG_FREE exactly for the free slots, linked from free_head through
 *   kids[].bin.a, all below top; live counts the other ids below top;
 * - refs[id] == the operand slots naming id (in nodes and sealed blocks), plus one if
 *   owner[id] != NULL, plus one per recorded program or running custom sweep naming it
 *   (replay.h, sweep.c); it is 0 only for a node just made without an owner, which a
 *   parent takes or fg_discard frees before the caller returns;
 * - visit[FG_NONE].stamp == FG_LEAF_STAMP ("no operand" passes for a leaf), and so
 *   does every leaf's; a node's op never changes while it lives. */
struct fg_graph {
    /* node arrays, each of length cap */
    double *data;
    double *grad;
    double *cst;      /* the folded constant of an op like x*2 */
    uint8_t *op;      /* enum fg_op; FG_FREE for a free slot */
    uint8_t *flags;
    fg_kids *kids;
    uint32_t *refs;   /* parent edges plus one for an owner */
    fg_visit *visit;
    void **owner;

    fg_id cap;        /* slots allocated */
    fg_id top;        /* slots ever handed out: ids in [1, top) */
    fg_id live;       /* nodes alive */
    fg_id free_head;  /* first free slot below top, FG_NONE if none */
    fg_id max_live;   /* most nodes alive at once: past it, new nodes fail as out of memory */
    fg_id trim_below; /* try to shrink the arrays once live drops below this */
    fg_id trim_wait;  /* releases before the next attempt after one that could not */
    uint64_t epoch;   /* current walk; node stamps keep its low 32 bits */
    size_t ext_bytes; /* held outside the node arrays: operand records, networks, cells */
    void *free_cells; /* cells to reuse, linked through their first pointer */

    /* scratch of the topological walk (sweep.c), grown on demand and kept */
    fg_id *walk;      /* the depth-first stack */
    fg_id *order;     /* the order found */
    size_t scratch_cap;

    /* called for a node with FG_FLAG_LABEL as it is freed */
    void (*drop_label)(fg_id id);

    /* FG_CUSTOM's hooks, installed by the facade (custom.h): the node's backward (the
     * owner's closure; nonzero if it failed), and taking or letting go of a reference
     * on an owner (the latter may run any user code) */
    int (*run_backward)(fg_graph *g, fg_id id);
    void (*pin_owner)(void *owner);
    void (*unpin_owner)(void *owner);
    fg_id unpin_head;       /* custom nodes whose pin to look at again, FG_NONE if none */
    size_t custom_walked;   /* custom nodes the last topological walk ordered */

    /* per op: its release rule, NULL where the operands are kids.bin.a and .b */
    const fg_release_fn *release_rules;
};

/* An empty store whose nodes are released by release_rules[op] (ops.c's
 * fg_release_rules); -1 when even that cannot be allocated. The store lives as long
 * as the process (the facade's one graph), so there is no destructor. */
int fg_init(fg_graph *g, const fg_release_fn *release_rules);

/* Cap the number of live nodes (clamped to what ids can address); nodes alive above
 * a lowered cap stay, and new ones fail until enough have died. For tests of the
 * out-of-memory path, and for users who want a hard bound. */
void fg_set_max_live(fg_graph *g, fg_id max_live);

/* Slow paths of the inline functions below: double the node arrays (-1 if they
 * cannot grow); free the dead nodes on a worklist linked through visit[].next_dead,
 * and every operand only they kept alive. */
int fg_grow(fg_graph *g);
void fg_release(fg_graph *g, fg_id head);

/* A fresh slot with the node's scalar fields set; FG_NONE if the store is full.
 * Inline, as fg_node and fg_decref: they are the cost of every operation. */
static inline fg_id fg_take_slot(fg_graph *g, int op, double data, void *owner)
{
    fg_id id = g->free_head;
    if (g->live >= g->max_live)
        return FG_NONE;
    if (id != FG_NONE) {
        g->free_head = g->kids[id].bin.a;
    } else {
        if (g->top == g->cap && fg_grow(g))
            return FG_NONE;
        id = g->top++;
    }
    assert(g->op[id] == FG_FREE || id == g->top - 1);
    g->data[id] = data;
    g->grad[id] = 0.0;
    g->cst[id] = 0.0;
    g->op[id] = (uint8_t)op;
    g->flags[id] = 0;
    g->refs[id] = owner != NULL;
    g->visit[id].stamp = op == FG_LEAF ? FG_LEAF_STAMP : 0;
    g->owner[id] = owner;
    g->live++;
    return id;
}

/* FG_CUSTOM's pin rules (custom.c), which the reference counting below calls: look at
 * whether custom node id's owner should be held now; and let go of the owners no
 * longer needed (may run any user code: never inside a release). */
void fg_custom_repin(fg_graph *g, fg_id id);
void fg_custom_unpin_queued(fg_graph *g);

/* One more reference on node id (an operand slot, a program, a sweep). */
static inline void fg_incref(fg_graph *g, fg_id id)
{
    assert(g->op[id] != FG_FREE);
    if (FG_UNLIKELY(++g->refs[id] > 1 && g->op[id] == FG_CUSTOM))
        fg_custom_repin(g, id);
}

/* A new node with op, data and operands a, b (FG_NONE for none) and constant c.
 * Takes a reference on each operand; the new node's count is 1 if owner is given,
 * else 0 (a parent must take it). Returns FG_NONE when the store cannot grow. */
static inline fg_id fg_node(fg_graph *g, int op, double data, fg_id a, fg_id b, double c,
                            void *owner)
{
    fg_id id = fg_take_slot(g, op, data, owner);
    if (id == FG_NONE)
        return FG_NONE;
    assert((a == FG_NONE || g->op[a] != FG_FREE) && (b == FG_NONE || g->op[b] != FG_FREE));
    g->cst[id] = c;
    g->kids[id].bin.a = a;
    g->kids[id].bin.b = b;
    if (a != FG_NONE) fg_incref(g, a);
    if (b != FG_NONE) fg_incref(g, b);
    return id;
}

/* A new leaf with data, owned by owner (NULL: a parent must take it). */
static inline fg_id fg_leaf(fg_graph *g, double data, void *owner)
{
    return fg_node(g, FG_LEAF, data, FG_NONE, FG_NONE, 0.0, owner);
}

/* Drop one reference; free the node, and what only it kept alive, when none remain. */
static inline void fg_decref(fg_graph *g, fg_id id)
{
    assert(g->refs[id] > 0 && g->op[id] != FG_FREE);
    if (--g->refs[id] == 0) {
        g->visit[id].next_dead = FG_NONE; /* the worklist ends after it */
        fg_release(g, id);
    } else if (FG_UNLIKELY(g->op[id] == FG_CUSTOM)) {
        fg_custom_repin(g, id);
        fg_custom_unpin_queued(g);
    }
}

/* For a release rule: drop the reference on operand id, putting id on the release
 * worklist *head if it was the last. */
static inline void fg_release_push(fg_graph *g, fg_id id, fg_id *head)
{
    assert(g->refs[id] > 0 && g->op[id] != FG_FREE);
    if (--g->refs[id] == 0) {
        g->visit[id].next_dead = *head;
        *head = id;
    } else if (FG_UNLIKELY(g->op[id] == FG_CUSTOM)) {
        fg_custom_repin(g, id); /* an unpin waits for the end of the release */
    }
}

/* Free a node made without an owner that no parent took after all. */
void fg_discard(fg_graph *g, fg_id id);

/* -- ownership: the one object (a facade) that names a node --------------------------- */

/* The owner of node id, NULL if none. */
static inline void *fg_owner(const fg_graph *g, fg_id id)
{
    return g->owner[id];
}

/* owner becomes node id's owner (it had none), holding one reference. */
static inline void fg_adopt(fg_graph *g, fg_id id, void *owner)
{
    assert(g->owner[id] == NULL && owner != NULL && g->op[id] != FG_FREE);
    g->owner[id] = owner;
    g->refs[id]++;
}

/* Node id's owner lets go of it: the node dies with its last reference. */
static inline void fg_disown(fg_graph *g, fg_id id)
{
    assert(g->owner[id] != NULL);
    g->owner[id] = NULL;
    fg_decref(g, id);
}

/* Set or clear flag on node id. */
static inline void fg_set_flag(fg_graph *g, fg_id id, uint8_t flag, int on)
{
    assert(g->op[id] != FG_FREE);
    g->flags[id] = (uint8_t)(on ? g->flags[id] | flag : g->flags[id] & ~flag);
}

/* -- memory outside the node arrays, counted in fg_bytes_in_use ----------------------- */

/* bytes for an operand record or a network; NULL when memory runs out. */
void *fg_ext_alloc(fg_graph *g, size_t bytes);
void fg_ext_free(fg_graph *g, void *p, size_t bytes);

/* A cell of FG_CELL_BYTES, recycled: dot nodes come and go by the thousand per
 * training step. NULL when memory runs out. */
void *fg_cell_take(fg_graph *g);
void fg_cell_give(fg_graph *g, void *cell);

/* Bytes the live nodes and their operand records take; and bytes the store holds:
 * node arrays at capacity (pages untouched since they were reserved are not
 * resident), records, and walk scratch. */
size_t fg_bytes_in_use(const fg_graph *g);
size_t fg_bytes_reserved(const fg_graph *g);

/* Bytes one node slot costs in the node arrays. */
size_t fg_bytes_per_slot(void);

/* Make room for n ids in each scratch array of the walk; or give the scratch back. */
int fg_reserve_scratch(fg_graph *g, size_t n);
void fg_free_scratch(fg_graph *g);

#endif
