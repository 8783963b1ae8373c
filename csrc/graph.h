/* The graph store: every node of every live graph, as parallel arrays indexed by id.
 *
 * A node is a scalar (data, grad), the op that made it, and its operands: up to two
 * node ids plus one folded constant, or for n-ary ops (sum, dot) shared operand
 * blocks. Nodes are reference counted: each operand slot holds one reference, and so
 * does the node's owner (the facade object that names it, if any).
 * A node whose count drops to zero is freed at once, and so is everything only it
 * kept alive, iteratively. Freed slots are reused through a free list.
 *
 * Nothing here knows about Python. The owner is an opaque pointer the caller keeps
 * in the node so it can find "the" object for an id; the store never follows it.
 * Not thread-safe: one graph is used by one thread at a time (the caller's lock).
 */
#ifndef FASTGRAD_GRAPH_H
#define FASTGRAD_GRAPH_H

#include "fg.h"

/* The mark of a leaf: never a walk's stamp, so a walk passes leaves by their mark
 * alone (a leaf has nothing to pass back and is never entered). */
#define FG_LEAF_MARK UINT32_MAX

/* Per-node flags. */
#define FG_FLAG_NOTE 1 /* the owner keeps side data (a label) to drop when the node dies */

/* A shared list of operand slots, each a node id or, where ids[i] == FG_NONE, the
 * constant cst[i]: a sum's terms, or a dot's weights (then its bias) or its inputs.
 * Every node using a block holds one reference on it, and so does its maker until it
 * lets go; a sealed block holds one reference on each node in it. So the inputs of a
 * dense layer are counted once per layer call, not once per neuron, and a layer's
 * weights once per layer, not once per call. One allocation: slots follow the header. */
typedef struct fg_block {
    int32_t refs;
    int32_t n;
    uint8_t sealed;   /* holds its references (fg_block_seal) */
    uint8_t leaves;   /* no slot is a node with operands: a walk has nothing to enter */
    uint8_t nodes;    /* every slot is a node, none a constant */
    uint8_t runs;     /* and their ids run on by one: ids[i] == ids[0] + i */
    uint64_t mark;    /* the walk that last saw every node of the block */
    fg_id *ids;
    double *cst;
} fg_block;

/* The operands of FG_DOT, bias + w[0]*x[0] + w[1]*x[1] + ... */
typedef struct fg_pair {
    fg_block *w;      /* n weights, then the bias */
    fg_block *x;      /* n inputs */
} fg_pair;

struct fg_tape; /* net.h */

typedef union fg_kids {
    struct {
        fg_id a, b;
    } bin;           /* unary and binary ops; a free slot keeps the next free id in a;
                        FG_HEAD: a is its FG_NET node, b its neuron in the last layer */
    fg_block *sum;   /* FG_SUM */
    fg_pair *dot;    /* FG_DOT */
    struct fg_tape *tape; /* FG_NET */
} fg_kids;

typedef struct fg_graph fg_graph;

/* An n-ary op's release rule: let go of node id's operands, putting each node only it
 * kept alive on the release worklist *head (fg_release_push). */
typedef void (*fg_release_fn)(fg_graph *g, fg_id id, fg_id *head);

struct fg_graph {
    /* node arrays, each of length cap */
    double *data;
    double *grad;
    double *cst;      /* the folded constant of an op like x*2 */
    uint8_t *op;      /* enum fg_op; FG_FREE for a free slot */
    uint8_t *flags;
    fg_kids *kids;
    uint32_t *refs;   /* parent edges plus one for an owner */
    uint32_t *mark;   /* stamp of the walk that last entered the node; FG_LEAF_MARK */
    void **owner;

    fg_id cap;        /* slots allocated */
    fg_id top;        /* slots ever handed out: ids in [1, top) */
    fg_id live;       /* nodes alive */
    fg_id free_head;  /* first free slot below top, FG_NONE if none */
    fg_id max_live;   /* most nodes alive at once: past it, new nodes fail as out of memory */
    fg_id trim_below; /* try to shrink the arrays once live drops below this */
    uint64_t epoch;   /* current walk; node marks keep its low 32 bits */
    size_t block_bytes;
    fg_pair *free_pairs; /* dot operand pairs to reuse */

    /* scratch for the sweeps, grown on demand and kept */
    fg_id *stack;
    fg_id *order;
    size_t scratch_cap;

    /* called for a node with FG_FLAG_NOTE as it is freed */
    void (*drop_note)(fg_id id);

    /* per op: its release rule, NULL where the operands are kids.bin.a and .b */
    const fg_release_fn *release_rules;
};

/* An empty store whose nodes are released by release_rules[op] (ops.c's
 * fg_release_rules: the store knows no op beyond fg.h); -1 when even that cannot be
 * allocated. The store lives as long as the process (the facade's one graph), so
 * there is no destructor. */
int fg_init(fg_graph *g, const fg_release_fn *release_rules);

/* Cap the number of live nodes (clamped to what ids can address); nodes alive above
 * a lowered cap stay, and new ones fail until enough have died. For tests of the
 * out-of-memory path, and for users who want a hard bound. */
void fg_set_max_live(fg_graph *g, fg_id max_live);

/* Slow paths of the inline functions below: double the node arrays (-1 if they
 * cannot grow); free the dead nodes on a worklist linked through their mark fields,
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
    g->data[id] = data;
    g->grad[id] = 0.0;
    g->cst[id] = 0.0;
    g->op[id] = (uint8_t)op;
    g->flags[id] = 0;
    g->refs[id] = owner != NULL;
    g->mark[id] = op == FG_LEAF ? FG_LEAF_MARK : 0;
    g->owner[id] = owner;
    g->live++;
    return id;
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
    g->cst[id] = c;
    g->kids[id].bin.a = a;
    g->kids[id].bin.b = b;
    if (a != FG_NONE) g->refs[a]++;
    if (b != FG_NONE) g->refs[b]++;
    return id;
}

/* A block of n slots for the caller to fill, holding one reference (the caller's);
 * NULL when memory runs out. */
fg_block *fg_block_new(fg_graph *g, int32_t n);

/* Once filled: take a reference on each node in the block. */
void fg_block_seal(fg_graph *g, fg_block *b);

/* Let go of one reference; the last frees the block and drops its references. */
void fg_block_drop(fg_graph *g, fg_block *b);

/* As fg_block_drop, but the nodes only b kept alive go on the release worklist *head
 * (for a release rule). */
void fg_block_release(fg_graph *g, fg_block *b, fg_id *head);

/* A dot's operand pair, recycled (dot nodes come and go by the thousand per training
 * step); NULL when memory runs out. */
fg_pair *fg_pair_take(fg_graph *g);
void fg_pair_give(fg_graph *g, fg_pair *d);

/* For a release rule: drop the reference on operand id, putting id on the release
 * worklist *head if it was the last. */
static inline void fg_release_push(fg_graph *g, fg_id id, fg_id *head)
{
    if (--g->refs[id] == 0) {
        g->mark[id] = (uint32_t)*head;
        *head = id;
    }
}

/* Drop one reference; free the node, and what only it kept alive, when none remain. */
static inline void fg_decref(fg_graph *g, fg_id id)
{
    if (--g->refs[id] == 0) {
        g->mark[id] = FG_NONE; /* the worklist ends after it */
        fg_release(g, id);
    }
}

/* Free a node made without an owner that no parent took after all. */
void fg_discard(fg_graph *g, fg_id id);

/* Bytes the live nodes and their operand blocks take; and bytes the store holds:
 * node arrays at capacity (pages untouched since they were reserved are not
 * resident), blocks, and sweep scratch. */
size_t fg_bytes_in_use(const fg_graph *g);
size_t fg_bytes_reserved(const fg_graph *g);

/* Bytes one node slot costs in the node arrays. */
size_t fg_bytes_per_slot(void);

/* Make room for n ids in each scratch array of the walk; or give the scratch back. */
int fg_reserve_scratch(fg_graph *g, size_t n);
void fg_free_scratch(fg_graph *g);

#endif
