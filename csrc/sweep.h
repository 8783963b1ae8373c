/* The backward pass over the graph store. */
#ifndef FASTGRAD_SWEEP_H
#define FASTGRAD_SWEEP_H

#include "graph.h"

/* micrograd's rule: set root's grad to 1 and add d(root)/d(node) into the grad of
 * every node root depends on. Iterative: no depth limit. FG_OK or FG_ENOMEM (then
 * no grad has changed). */
int fg_backward(fg_graph *g, fg_id root);

#endif
