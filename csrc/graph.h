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

#include <stddef.h>
#include <stdint.h>

typedef int32_t fg_id;

/* Id 0 is never a node: it marks "no operand" in a node and "no node" in a result. */
#define FG_NONE 0

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

/* A stack of dense layers, shared by every call of it: layer l has nout neurons,
 * rows[first .. first+nout), each a block of nin weights then the bias (one reference
 * each), and activation act (an fg_op: FG_RELU, FG_TANH, FG_SIGMOID, or FG_LEAF for
 * none). Every layer but the last is hidden. One allocation: layers, then rows. */
typedef struct fg_stack_layer {
    int32_t nin, nout, act, first;
} fg_stack_layer;

typedef struct fg_stack {
    int32_t refs;
    int32_t nlayers;     /* at least 2 */
    int32_t units;       /* neurons in all layers */
    uint8_t leaves;      /* every hidden row is leaves only: the walk skips them whole */
    uint8_t nodes;       /* no row holds a constant */
    uint8_t runs;        /* each row's ids run on by one (fg_block.runs), and no node
                            fills two slots of the rows */
    fg_id lo, hi;        /* with runs: the least and greatest id in the first layer's rows */
    fg_stack_layer *layer;
    fg_block **rows;
} fg_stack;

/* What an FG_NET node (one call of a stack, its hidden layers) keeps: the inputs,
 * and per neuron u what its dot and activation nodes would hold in the unfused graph:
 * h[u] the activation's data (hidden neurons), gh[u] its grad, gz[u] the dot's grad
 * (where an activation follows). One allocation: the arrays follow the header. */
typedef struct fg_tape {
    fg_stack *stack;   /* one reference */
    fg_block *x;       /* the inputs, one reference */
    double *h, *gh, *gz;
    double *in;        /* the inputs' data at the call (x->n of them) */
} fg_tape;

typedef union fg_kids {
    struct {
        fg_id a, b;
    } bin;           /* unary and binary ops; a free slot keeps the next free id in a;
                        FG_HEAD: a is its FG_NET node, b its neuron in the last layer */
    fg_block *sum;   /* FG_SUM */
    fg_pair *dot;    /* FG_DOT */
    fg_tape *tape;   /* FG_NET */
} fg_kids;

typedef struct fg_graph {
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
} fg_graph;

/* Error codes of the operations; 0 is success. */
enum fg_err {
    FG_OK = 0,
    FG_ENOMEM,      /* the store cannot grow */
    FG_EZERODIV,    /* x / 0 */
    FG_EPOWZERO,    /* 0 ** negative */
    FG_EDOMAIN,     /* log(x <= 0), sqrt(x < 0), negative ** non-integer */
    FG_EOVERFLOW,   /* x ** y overflowed (Python: OverflowError(ERANGE)) */
    FG_ERANGE,      /* exp(x) overflowed (Python: "math range error") */
};

/* An empty store; -1 when even that cannot be allocated. The store lives as long as
 * the process (the facade's one graph), so there is no destructor. */
int fg_init(fg_graph *g);

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
    g->mark[id] = op == 0 /* FG_LEAF */ ? FG_LEAF_MARK : 0;
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

/* A stack of nlayers layers and units neurons, holding one reference (the caller's),
 * for the caller to fill (layer[], rows[] with sealed blocks it gives a reference to,
 * leaves); NULL when memory runs out. Dropped as blocks are. */
fg_stack *fg_stack_new(fg_graph *g, int32_t nlayers, int32_t units);
void fg_stack_drop(fg_graph *g, fg_stack *s);

/* A tape for one call of s on inputs x (references taken on both), gh and gz zero,
 * h and in for the caller to fill;
 * NULL when memory runs out. Freed with its FG_NET node. */
fg_tape *fg_tape_new(fg_graph *g, fg_stack *s, fg_block *x);
void fg_tape_free(fg_graph *g, fg_tape *t);

/* A new sum node over terms, or dot node over weights w and inputs x (w->n == x->n + 1),
 * taking a reference on each block. FG_NONE when the store cannot grow. */
fg_id fg_sum(fg_graph *g, double data, fg_block *terms, void *owner);
fg_id fg_dot(fg_graph *g, double data, fg_block *w, fg_block *x, void *owner);


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
