/* A dense layer's dots on many samples as one kernel: FG_DOT nodes that share their
 * rows (weights then bias, one block per neuron, as a Dense makes them) across calls
 * (one inputs' block per call, shared by its neurons), with the activation node on
 * each, batched in a recorded graph (batch.h). Bit for bit what each node's own rules
 * give: every sum in FG_DOT's order, every grad's terms in the sweep's. */
#ifndef FASTGRAD_DENSE_H
#define FASTGRAD_DENSE_H

#include "store.h"

/* Doubles of scratch the kernels need for n calls of `width` rows on nin inputs. */
size_t fg_dense_batch_scratch(int32_t nin, int32_t width, int32_t n);

/* The forward of dots[c * width + r] (call c's dot of row r: every call's rows in the
 * same order) and of acts[c * width + r], the activation node on it (FG_NONE: none to
 * set): each node's value as its forward gives it, its grad zero. */
void fg_dense_forward_batch(fg_graph *g, const fg_id *dots, const fg_id *acts, int32_t n,
                            int32_t width, double *scratch);

/* The backward of the same nodes, by call in the order the sweep runs them (each
 * activation before its dot): no node fills two slots of the rows or of a call's
 * inputs, and no input is a row's node or one of these nodes. */
void fg_dense_backward_batch(fg_graph *g, const fg_id *dots, const fg_id *acts, int32_t n,
                             int32_t width, double *scratch);

#endif
