/* Batches of a recorded graph (replay.h): the FG_NET calls of one network in a forward
 * or backward order, run as one kernel (net.h) wherever that changes no number; and
 * likewise a dense layer's calls: FG_DOT nodes of the same rows on different inputs'
 * blocks, each call's dots on one block (dense.h), with an activation node on each.
 *
 * An order's entry is a node, or FG_BATCH_ENTRY(b) for batch b of its set: the batch's
 * calls leave the order and it stands where the first of them to run stood.
 * - Forward: values depend on operands only, so any order with operands first gives the
 *   same numbers. A network's calls (and their heads) run together where the first
 *   call stood, if every node they read comes before that.
 * - Backward: each grad must take its terms in the same order. The calls run together
 *   where the last of them to run stood, in their own order, if no node swept in
 *   between is an operand of theirs or passes terms to one: then moving them changes
 *   neither what any node reads nor the order of any grad's terms. Two batches of one
 *   sweep share no operand, so moving one never carries it past the other's nodes.
 *   The calls' heads come with them (run first, in their order) where no node fills
 *   two slots of the rows and no input is one of them: the heads then write no grad
 *   the calls read or write. The heads' operands (the output layer's rows) join the
 *   calls' for the test above; where it fails with them, the calls go alone.
 * - A dense layer's batch is planned the same way, its dots standing for the calls and
 *   the activation nodes on them for the heads (the dots join the operands then). Its
 *   backward is one kernel where the sweep takes the dots call by call, every call's
 *   rows in the same order, and no node fills two slots of the rows or of one call's
 *   inputs or is both an input and a row's node or batched; else its nodes run one by
 *   one in the sweep's order.
 * All batches of one order are planned on its nodes as they stand: a forward batch only
 * moves nodes earlier (its readiness holds for the others), and a backward batch's
 * test sees every node of the others where it stood.
 */
#ifndef FASTGRAD_BATCH_H
#define FASTGRAD_BATCH_H

#include "store.h"

enum { FG_BATCH_NET, FG_BATCH_DENSE };             /* a batch's kind */
enum { FG_DENSE_IN_ORDER, FG_DENSE_KERNEL };       /* a dense backward batch's mode */

typedef struct fg_batch {
    int32_t kind;
    int32_t n;      /* calls, at least 2 (a dense FG_DENSE_IN_ORDER batch: its nodes) */
    int32_t width;  /* dense: the rows of each call */
    int32_t mode;   /* backward: a network's fg_net_batch_mode, or a dense one's */
    int32_t nheads; /* forward: n * nout; backward: the heads swept with the calls */
    int32_t heads_kernel; /* backward: fg_net_heads_backward's kernel may run them */
    int32_t nodes;  /* entries of the order it stands for */
    uint8_t sweep;  /* a backward batch */
    fg_id *calls;   /* in the order they ran unbatched; dense: n * width dots by call
                       (FG_DENSE_IN_ORDER: all its nodes, in the order they ran) */
    fg_id *heads;   /* forward: the heads set with them by call (FG_NONE: not these);
                       backward: in the order they ran unbatched (NULL: none); dense:
                       the activation node on each dot (FG_NONE: none batched) */
} fg_batch;

typedef struct fg_batch_set {
    fg_batch *batch;
    int32_t n;
    size_t scratch; /* doubles the largest batch's kernels need (fg_net_batch_scratch,
                       fg_dense_batch_scratch) */
} fg_batch_set;

#define FG_BATCH_ENTRY(b) (-1 - (fg_id)(b))
#define FG_BATCH_INDEX(entry) (-1 - (entry))

/* Batch the forward order order[0 .. *n) in place (*n its new length), the batches
 * added to set. FG_OK, or FG_ENOMEM (then the order is as it was). */
int fg_batch_forward(fg_graph *g, fg_id *order, size_t *n, fg_batch_set *set);

/* The same for a sweep's order (swept from the last). */
int fg_batch_sweep(fg_graph *g, fg_id *order, size_t *n, fg_batch_set *set);

/* Run batch b, forward or backward (as fg_forward_node and fg_backward_node would run
 * each node it stands for, in their order); scratch: the set's scratch doubles. */
void fg_batch_forward_run(fg_graph *g, const fg_batch *b, double *scratch);
void fg_batch_backward_run(fg_graph *g, const fg_batch *b, double *scratch);

/* Let go of the set's batches (the nodes are the program's). */
void fg_batch_set_free(fg_batch_set *set);

#endif
