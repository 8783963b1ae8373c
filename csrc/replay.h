/* Recorded graphs: the nodes below some roots in topological order, recomputed from
 * their leaves and swept backward by the ops' own rules (as fg_forward_node and
 * fg_sweep apply them) without a new walk, over a plan of their own (fg_step). What
 * fastgrad.compile replays; knows nothing of Python. */
#ifndef FASTGRAD_REPLAY_H
#define FASTGRAD_REPLAY_H

#include "batch.h"
#include "sweep.h"

/* One entry of a replay's loops: a node with what its rule reads of it side by side
 * (its op, operands and constant, copied from the store when recorded: they never
 * change while it lives), so each loop reads one stream, not the store's arrays by
 * id; or a batch (batch.h) or, in the backward, a root's seed. */
enum { FG_STEP_BATCH = FG_NOPS, /* run batch id of the program's set */
       FG_STEP_SEED,            /* grad[id] = 1.0: root id's sweep starts */
       FG_STEP_END };           /* the last entry: a loop tests no count */
typedef struct fg_step {
    uint32_t op; /* the node's op, or FG_STEP_BATCH, FG_STEP_SEED, FG_STEP_END */
    fg_id id;    /* the node, the batch's index, the root */
    fg_id a, b;  /* a scalar node's operands (kids.bin), FG_NONE for none */
    double c;    /* a scalar node's folded constant */
} fg_step;

/* Invariants: every id it names (nodes, roots, inputs) is a live node on which the
 * program holds one reference, so the graph lives as long as the program; nodes[] is
 * a topological order of every node with operands below the roots; forward[] is that
 * order with a network's calls batched (batch.h), and backward[] holds each root's
 * seed and then its own backward order, batched likewise, last node first, root after
 * root; inputs are leaves. */
typedef struct fg_program {
    fg_id *nodes;        /* every node with operands once, operands first */
    size_t nnodes;
    fg_step *forward;    /* the forward's entries: nodes and batches, then FG_STEP_END */
    fg_id *roots;
    int32_t nroots;
    fg_step *backward;   /* the roots' sweeps, one after another, then FG_STEP_END */
    fg_id *inputs;       /* the leaves forward's values go to, in order */
    int32_t ninputs;
    fg_batch_set batches; /* the batches forward[] and backward[] name */
    double *scratch;     /* for their kernels */
} fg_program;

/* Record the graph below roots[0 .. nroots) with inputs[0 .. ninputs) (leaves), taking
 * a reference on every node it names. FG_OK; FG_ENOMEM (then nothing is held); or, if
 * a node cannot be replayed (fg_op_replayable), FG_OK with nothing held and *refused
 * that node (FG_NONE when all can). */
int fg_program_record(fg_graph *g, fg_program *p, const fg_id *roots, int32_t nroots,
                      const fg_id *inputs, int32_t ninputs, fg_id *refused);

/* Let go of everything the program holds: its nodes die unless something else keeps
 * them. */
void fg_program_free(fg_graph *g, fg_program *p);

/* Write values[0 .. ninputs) (unless NULL) into the inputs' data, then recompute every
 * node in order, each node's grad zero (a fresh graph's), leaves untouched. FG_OK, or
 * the first failing op's error: the nodes after it keep their old values (but batched
 * calls that ran before it), no leaf has changed but the inputs. */
int fg_program_forward(fg_graph *g, const fg_program *p, const double *values);

/* backward() from each root in turn, over the recorded orders. */
void fg_program_backward(fg_graph *g, const fg_program *p);

/* Both may run while the caller's lock is let go, if the store is pinned for them
 * (fg_pin) meanwhile: they take no slot, free nothing and move nothing; they write only
 * the data and grads of the nodes the program holds and the grads of its leaves, its
 * calls' records and its own scratch, and read only those, the leaves' data, the
 * constants, ops, operands and networks of the nodes they hold. */

/* Pin the store for one more replay run without the caller's lock, and unpin it after:
 * the count of those left. */
static inline uint32_t fg_pin(fg_graph *g) { return ++g->pinned; }
static inline uint32_t fg_unpin(fg_graph *g)
{
    assert(g->pinned > 0);
    return --g->pinned;
}

#endif
