/* Shared operand blocks: a sum's terms, a dot's weights (then its bias) or its inputs,
 * a dense layer's rows. */
#ifndef FASTGRAD_BLOCKS_H
#define FASTGRAD_BLOCKS_H

#include "store.h"

/* A shared list of operand slots, each a node id or, where ids[i] == FG_NONE, the
 * constant cst[i]. Every node using a block holds one reference on it, and so does
 * its maker until it lets go; a sealed block holds one reference on each node in it.
 * So the inputs of a dense layer are counted once per layer call, not once per
 * neuron, and a layer's weights once per layer, not once per call. One allocation:
 * slots follow the header.
 * Invariants: refs >= 1 while anything uses the block; slots are filled only before
 * sealing and never change after; the three flags below hold from sealing on
 * (consecutive implies no_constants). */
typedef struct fg_block {
    int32_t refs;
    int32_t n;
    uint8_t sealed;        /* holds its references (fg_block_seal) */
    uint8_t all_leaves;    /* no slot is a node with operands: a walk has nothing to enter */
    uint8_t no_constants;  /* every slot is a node */
    uint8_t consecutive;   /* and their ids run on by one: ids[i] == ids[0] + i */
    uint64_t settled_in;   /* the walk that last saw every node of the block */
    fg_id *ids;
    double *cst;
} fg_block;

/* A block of n slots for the caller to fill, holding one reference (the caller's);
 * NULL when memory runs out. */
fg_block *fg_block_new(fg_graph *g, int32_t n);

/* Fill slot i of an unsealed block: node id, or FG_NONE and the constant c. */
static inline void fg_block_fill(fg_block *b, int32_t i, fg_id id, double c)
{
    assert(!b->sealed && i >= 0 && i < b->n);
    b->ids[i] = id;
    b->cst[i] = id != FG_NONE ? 0.0 : c;
}

/* Once filled: take a reference on each node in the block, and set its flags. */
void fg_block_seal(fg_graph *g, fg_block *b);

/* Let go of one reference; the last frees the block and drops its references. */
void fg_block_drop(fg_graph *g, fg_block *b);

/* As fg_block_drop, but the nodes only b kept alive go on the release worklist *head
 * (for a release rule). */
void fg_block_release(fg_graph *g, fg_block *b, fg_id *head);

/* Slot i as fg_slot (ops.h) gives it: 1, *node its node or FG_NONE and *c the constant. */
static inline int fg_block_slot(const fg_block *b, int32_t i, fg_id *node, double *c)
{
    *node = b->ids[i];
    *c = b->cst[i];
    return 1;
}

/* The value of slot i: its node's data, or its constant. */
static inline double fg_block_value(const fg_graph *g, const fg_block *b, int32_t i)
{
    return b->ids[i] != FG_NONE ? g->data[b->ids[i]] : b->cst[i];
}

#endif
