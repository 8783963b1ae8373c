/* Private to the batch planner (batch.c, batch_dense.c): the types and helpers both
 * files plan with. Nothing else includes it; the planner's interface is batch.h. */
#ifndef FASTGRAD_BATCH_PLAN_H
#define FASTGRAD_BATCH_PLAN_H

#include "batch.h"
#include "blocks.h"

/* A node and where the order has it. */
typedef struct place {
    fg_id id;
    size_t at;
} place;

/* A batched call (or dot): its batch and place in it, by the call's entry. */
typedef struct member {
    size_t at;
    int32_t batch, s;
} member;

/* The operand sets of a sweep's batches so far. */
typedef struct claim {
    fg_id *ids;
    size_t n;
} claim;

/* qsort and bsearch orders: node ids; places by id. */
int fg_plan_compare_ids(const void *a, const void *b);
int fg_plan_by_id(const void *a, const void *b);

/* Is node c in the sorted ids[0 .. n)? */
int fg_plan_among(const fg_id *ids, size_t n, fg_id c);

/* Is any of ids[0 .. n) among a batch's claimed operands so far? */
int fg_plan_claimed(const claim *claims, size_t nclaims, const fg_id *ids, size_t n);

/* A new batch of kind kind and n calls at the end of set, with room for ncalls calls and
 * nheads heads (FG_NONE), its kernels needing `need` doubles of scratch; NULL without
 * memory. */
fg_batch *fg_plan_add_batch(fg_batch_set *set, int kind, int32_t n, size_t ncalls,
                            size_t nheads, size_t need);

/* Does every node with operands in block b come before entry first (places: the
 * order's n nodes, by id)? (A leaf is there from the start.) */
int fg_plan_ready(const fg_graph *g, const fg_block *b, const place *places, size_t n,
                  size_t first);

/* Is node id, or an operand of it, among ids[0 .. n) (sorted)? */
int fg_plan_touches(const fg_graph *g, fg_id id, const fg_id *ids, size_t n);

/* Is op an activation node's (one operand, a dense layer's activation)? */
int fg_plan_is_activation(int op);

/* batch_dense.c. The dense layers' calls of order[0 .. n) that can run together where
 * the first of them stands: batches added to set, their dots to members[*nm ..], their
 * first places to firsts (by batch, from the set's first, before). FG_OK or FG_ENOMEM. */
int fg_plan_dense_forward(fg_graph *g, const fg_id *order, size_t n, const place *places,
                          fg_batch_set *set, int32_t before, member *members, size_t *nm,
                          size_t *firsts);

/* batch_dense.c. The dense layers' calls of a sweep's order[0 .. n) that can run
 * together where the last of them to run stands: batches added to set (their places to
 * los, by batch from before), their operands to claims, their nodes marked gone but the
 * last's. run: room for n nodes. FG_OK or FG_ENOMEM. */
int fg_plan_dense_sweep(fg_graph *g, const fg_id *order, size_t n, fg_batch_set *set,
                        int32_t before, claim *claims, size_t *nclaims, size_t *los,
                        uint8_t *gone, fg_id *run);

#endif
