/* The graph store: every node of every live graph, as parallel arrays indexed by id.
 *
 * A node is a scalar (data, grad), the op that made it, and its operands: up to two
 * node ids plus one folded constant, or for an n-ary op a record of its own (ext),
 * which only that op's rules read. Nodes are reference counted: each operand slot
 * holds one reference, and so does the node's owner (the facade object that names
 * it, if any). A node whose count drops to zero is freed at once, and so is
 * everything only it kept alive, iteratively. Freed slots are reused, chunk by chunk;
 * a chunk with no node left gives its pages back unless the next graph is likely to
 * need them (store.c's settle).
 *
 * The store knows no op beyond fg.h: an n-ary node's operands are released by the
 * rule the op table hands fg_init; where an FG_CUSTOM node's count moves, it calls that
 * op's pin rules (custom.h), which decide whether the store holds its owner. Nothing here knows about Python: the owner is an
 * opaque pointer the caller keeps in the node so it can find "the" object for an id;
 * the store never follows it. Not thread-safe: one graph is used by one thread at a
 * time (the caller's lock), but for replays run with it let go (pinned, below).
 */
#ifndef FASTGRAD_STORE_H
#define FASTGRAD_STORE_H

#include <math.h> /* signbit, in an assertion */

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

/* The arrays are cut into chunks of chunk_slots ids (a page of the narrowest array,
 * so each chunk's share of every array is whole pages). The store serves new nodes from
 * one chunk at a time, the current one, and gives back the pages of chunks where no
 * node lives: that is how memory comes back while a long-lived node keeps a high id
 * (ids are names a handle holds, so nodes never move). A chunk is in one state: */
enum fg_chunk_state {
    FG_CHUNK_CUR,      /* the one new nodes come from: free_head, then [bump, bump_end) */
    FG_CHUNK_FULL,     /* every slot a node */
    FG_CHUNK_PARTIAL,  /* nodes and free slots (its own free list) */
    FG_CHUNK_EMPTY,    /* no node, pages kept for the next graph */
    FG_CHUNK_RELEASED, /* no node, pages given back (they read as zeros) */
    FG_CHUNK_STATES
};
#define FG_NO_CHUNK UINT32_MAX

typedef struct fg_chunk {
    fg_id free;          /* PARTIAL: its free slots, linked through kids[].bin.a */
    uint32_t live;       /* nodes in it (not kept for the current chunk) */
    uint32_t prev, next; /* neighbours on the list of its state (PARTIAL and the empty ones) */
    uint8_t state;
} fg_chunk;

/* A list of chunks linked through prev/next, FG_NO_CHUNK-terminated. */
typedef struct fg_chunk_list {
    uint32_t head, tail, count;
} fg_chunk_list;

/* The cycles of growth and release the store remembers to decide how many empty
 * chunks to keep (settle in store.c): the most chunks in use during each, and how many
 * nodes had been freed when it ended. */
#define FG_PEAKS_KEPT 4

typedef struct fg_peak {
    uint32_t chunks;
    uint64_t freed_at;
} fg_peak;

/* Invariants (asserted where they are relied on):
 * - every id below cap is in chunk id >> chunk_shift; chunks [0, nchunks) have been
 *   opened, the rest never touched; FG_NONE is a slot of chunk 0, which never empties;
 * - a free slot of a chunk that is not current is on that chunk's list (PARTIAL), or
 *   its chunk is EMPTY or RELEASED; the current chunk's free slots are free_head's
 *   list and [bump, bump_end); every other chunk has handed out each of its slots once;
 * - op[id] == FG_FREE for every free slot of a CUR, FULL or PARTIAL chunk below bump
 *   (the current chunk's ids at or above bump may hold anything);
 * - live counts the nodes; chunk live counts are exact for every chunk but the
 *   current one; in_use counts the CUR, FULL and PARTIAL chunks;
 * - refs[id] == the operand slots naming id (in nodes and sealed blocks), plus one if
 *   owner[id] != NULL, plus one per recorded program or running custom sweep naming it
 *   (replay.h, sweep.c); it is 0 only for a node just made without an owner, which a
 *   parent takes or fg_discard frees before the caller returns;
 * - visit[FG_NONE].stamp == FG_LEAF_STAMP ("no operand" passes for a leaf), and so
 *   does every leaf's; a node's op never changes while it lives;
 * - every slot that holds no node has grad +0.0, flags 0 and walk stamp 0 (the stamp
 *   of a node no walk has entered): new pages read as zeros, and a release zeroes what
 *   the node changed, so fg_fill_slot sets none of them but a leaf's stamp;
 * - cst[id] is node id's constant when kids[id].bin.b is FG_NONE (a unary op's, a
 *   folded constant's, 0.0 for an n-ary op), and is read only then. */
struct fg_graph {
    /* node arrays, each of length cap, page-aligned, in mappings of their own (each
     * array a different number of pages in: store.c, lead) */
    double *data;
    double *grad;
    double *cst;      /* the folded constant of an op like x*2 */
    uint8_t *op;      /* enum fg_op; FG_FREE for a free slot */
    uint8_t *flags;
    fg_kids *kids;
    uint32_t *refs;   /* parent edges plus one for an owner */
    fg_visit *visit;
    void **owner;

    fg_id cap;        /* slots mapped */
    fg_id live;       /* nodes alive */
    fg_id free_head;  /* the current chunk's first free slot, FG_NONE if none */
    fg_id bump;       /* the current chunk's next never-handed-out id ... */
    fg_id bump_end;   /* ... and the end of that run */
    fg_id max_live;   /* most nodes alive at once: past it, new nodes fail as out of memory */

    fg_chunk *chunks;     /* one per chunk of cap */
    uint32_t nchunks;     /* chunks opened: ids below nchunks << chunk_shift */
    uint32_t cur;         /* the current chunk, FG_NO_CHUNK while none */
    unsigned chunk_shift; /* log2 of the slots in a chunk */
    fg_chunk_list partial, empty, released;
    uint32_t in_use;      /* chunks holding nodes (and the current one) */
    uint32_t peak;        /* most in use since the last settle */
    fg_peak peaks[FG_PEAKS_KEPT]; /* the cycles before it, latest first */
    uint64_t freed;       /* nodes freed since the start */
    uint64_t recheck_at;  /* when freed reaches it, a remembered cycle stops counting */
    size_t page;          /* the system's page size */

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

    /* per op: its release rule, NULL where the operands are kids.bin.a and .b; the ops
     * from ruled_from on have one, those below none (asserted by fg_init) */
    const fg_release_fn *release_rules;
    int ruled_from;

    /* Replays running while the caller's lock is let go (replay.h): they read and write
     * their own nodes' data and grads through the arrays, so while any runs the arrays
     * must not move. Nothing else of the store needs them still: another thread's nodes
     * take other slots, and its releases never free the replays' held nodes. So only
     * growth waits, in fg_refill and before it changes anything: wait_unpinned (the
     * caller's) returns once pinned is 0, having let its lock go meanwhile. And
     * give_back keeps the arrays' size while pinned. */
    uint32_t pinned;
    void (*wait_unpinned)(fg_graph *g);
};

/* An empty store whose nodes are released by release_rules[op] (ops.c's
 * fg_release_rules); -1 when even that cannot be allocated. The store lives as long
 * as the process (the facade's one graph), so there is no destructor. */
int fg_init(fg_graph *g, const fg_release_fn *release_rules);

/* Cap the number of live nodes (clamped to what ids can address); nodes alive above
 * a lowered cap stay, and new ones fail until enough have died. For tests of the
 * out-of-memory path, and for users who want a hard bound. */
void fg_set_max_live(fg_graph *g, fg_id max_live);

/* Slow paths of the inline functions below: make another chunk current, opening one
 * (the arrays doubled if need be: first waiting for pinned replays) when none has room,
 * and take a slot of it (FG_NONE if the arrays cannot grow); free
 * the dead nodes on a worklist linked through visit[].next_dead, and every operand
 * only they kept alive. */
fg_id fg_refill(fg_graph *g);
void fg_release(fg_graph *g, fg_id head);

/* A fresh id of the current chunk, counted as a node, its fields unset; FG_NONE if
 * the chunk has none left (fg_refill's to open the next) or the store is full. */
static inline fg_id fg_new_id_fast(fg_graph *g)
{
    fg_id id = g->free_head;
    if (g->live >= g->max_live)
        return FG_NONE;
    if (id != FG_NONE) {
        assert(g->op[id] == FG_FREE && (uint32_t)id >> g->chunk_shift == g->cur);
        g->free_head = g->kids[id].bin.a;
    } else if (g->bump != g->bump_end) {
        id = g->bump++;
    } else {
        return FG_NONE;
    }
    g->live++;
    return id;
}

/* A fresh id, counted as a node, its fields unset; FG_NONE if the store is full. */
static inline fg_id fg_new_id(fg_graph *g)
{
    fg_id id = fg_new_id_fast(g);
    if (FG_UNLIKELY(id == FG_NONE) && g->live < g->max_live && (id = fg_refill(g)) != FG_NONE)
        g->live++;
    return id;
}

/* Make fresh id a node of op with data, operands a and b (no reference taken) and
 * constant c, its count 1 if owner is given, else 0. Its grad, flags and stamp are
 * zero already (a fresh slot's are: see the invariants), and a node with two operands keeps
 * no constant: each store left out is an array less that a new node touches, which is
 * what a large graph's forward pays for. The arrays are read once, before the first
 * store: a byte store may alias any field of g, which the compiler would read again
 * after each one. */
static inline void fg_fill_slot(fg_graph *g, fg_id id, int op, double data, fg_id a, fg_id b,
                                double c, void *owner)
{
    double *const dv = g->data, *const cv = g->cst;
    uint8_t *const ov = g->op;
    fg_kids *const kv = g->kids;
    uint32_t *const rv = g->refs;
    fg_visit *const vv = g->visit;
    void **const wv = g->owner;
    assert(g->grad[id] == 0.0 && !signbit(g->grad[id]) && g->flags[id] == 0
           && g->visit[id].stamp == 0);
    dv[id] = data;
    if (b == FG_NONE)
        cv[id] = c;
    kv[id].bin.a = a;
    kv[id].bin.b = b;
    rv[id] = owner != NULL;
    if (op == FG_LEAF)
        vv[id].stamp = FG_LEAF_STAMP;
    wv[id] = owner;
    ov[id] = (uint8_t)op;
}

/* A fresh slot with the node's scalar fields set (its operands the caller's to set);
 * FG_NONE if the store is full. Inline, as fg_node and fg_decref: they are the cost of
 * every operation. */
static inline fg_id fg_take_slot(fg_graph *g, int op, double data, void *owner)
{
    fg_id id = fg_new_id(g);
    if (id != FG_NONE)
        fg_fill_slot(g, id, op, data, FG_NONE, FG_NONE, 0.0, owner);
    return id;
}

/* FG_CUSTOM's pin rules (custom.c), which the reference counting below calls: look at
 * whether custom node id's owner should be held now; and let go of the owners no
 * longer needed (may run any user code: never inside a release). */
void fg_custom_repin(fg_graph *g, fg_id id);
void fg_custom_unpin_queued(fg_graph *g);

/* One more reference on node id, through the arrays refs and ops (g's, read by the
 * caller once for several nodes). */
static inline void fg_incref_in(fg_graph *g, uint32_t *refs, const uint8_t *ops, fg_id id)
{
    assert(ops[id] != FG_FREE);
    if (FG_UNLIKELY(++refs[id] > 1 && ops[id] == FG_CUSTOM))
        fg_custom_repin(g, id);
}

/* One more reference on node id (an operand slot, a program, a sweep). */
static inline void fg_incref(fg_graph *g, fg_id id)
{
    fg_incref_in(g, g->refs, g->op, id);
}

/* fg_node where it needs no call, as for most nodes: a free slot without a refill,
 * and no operand an FG_CUSTOM node (whose pin a new reference makes to look at);
 * FG_NONE, nothing changed, otherwise. A leaf function, inline: an operation needs no
 * register saved for it. (FG_NONE's op is FG_LEAF, so an operand FG_NONE passes.) */
static inline fg_id fg_node_fast(fg_graph *g, int op, double data, fg_id a, fg_id b, double c,
                                 void *owner)
{
    fg_id id;
    uint32_t *const refs = g->refs; /* read before the stores, as fg_fill_slot's */
    const uint8_t *const ops = g->op;
    assert(ops[FG_NONE] == FG_LEAF);
    assert((a == FG_NONE || ops[a] != FG_FREE) && (b == FG_NONE || ops[b] != FG_FREE));
    if (ops[a] == FG_CUSTOM || ops[b] == FG_CUSTOM || (id = fg_new_id_fast(g)) == FG_NONE)
        return FG_NONE;
    fg_fill_slot(g, id, op, data, a, b, c, owner);
    if (a != FG_NONE)
        refs[a]++;
    if (b != FG_NONE)
        refs[b]++;
    return id;
}

/* fg_node where fg_node_fast declines: a refill, a custom operand's pin. */
fg_id fg_node_slow(fg_graph *g, int op, double data, fg_id a, fg_id b, double c, void *owner);

/* A new node with op, data and operands a, b (FG_NONE for none) and constant c.
 * Takes a reference on each operand; the new node's count is 1 if owner is given,
 * else 0 (a parent must take it). Returns FG_NONE when the store cannot grow. */
static inline fg_id fg_node(fg_graph *g, int op, double data, fg_id a, fg_id b, double c,
                            void *owner)
{
    fg_id id = fg_node_fast(g, op, data, a, b, c, owner);
    return FG_UNLIKELY(id == FG_NONE) ? fg_node_slow(g, op, data, a, b, c, owner) : id;
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

/* Drop the reference on operand id, putting id on the release worklist *head if it
 * was the last; through the arrays refs, visit and ops (g's, read by the caller once
 * for the whole release). Whether id lives on as an FG_CUSTOM node, whose pin the
 * caller must look at again (fg_custom_repin) before id's count moves again. */
static inline int fg_release_drop_in(uint32_t *refs, fg_visit *visit, const uint8_t *ops,
                                     fg_id id, fg_id *head)
{
    assert(refs[id] > 0 && ops[id] != FG_FREE);
    if (--refs[id] == 0) {
        visit[id].next_dead = *head;
        *head = id;
        return 0;
    }
    return FG_UNLIKELY(ops[id] == FG_CUSTOM);
}

/* For a release rule: fg_release_drop_in, and the pin looked at (an unpin waits for
 * the end of the release). */
static inline void fg_release_push_in(fg_graph *g, uint32_t *refs, fg_visit *visit,
                                      const uint8_t *ops, fg_id id, fg_id *head)
{
    if (fg_release_drop_in(refs, visit, ops, id, head))
        fg_custom_repin(g, id);
}

static inline void fg_release_push(fg_graph *g, fg_id id, fg_id *head)
{
    fg_release_push_in(g, g->refs, g->visit, g->op, id, head);
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
 * the node arrays' share of every chunk not given back (whole chunks, though the
 * current chunk's pages past its last node may not be resident yet), the chunk table,
 * records, and walk scratch. Address space mapped but never touched or given back is
 * not counted: it takes no memory. */
size_t fg_bytes_in_use(const fg_graph *g);
size_t fg_bytes_reserved(const fg_graph *g);

/* Bytes one node slot costs in the node arrays. */
size_t fg_bytes_per_slot(void);

/* Reset the walk stamp of every live node (leaves to FG_LEAF_STAMP, others to 0),
 * visiting only the chunks that hold nodes: for a wrapped stamp counter. */
void fg_reset_stamps(fg_graph *g);

/* Make room for n ids in each scratch array of the walk; or give the scratch back. */
int fg_reserve_scratch(fg_graph *g, size_t n);
void fg_free_scratch(fg_graph *g);

#endif
