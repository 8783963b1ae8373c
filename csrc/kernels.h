/* Bulk kernels: one call for a whole parameter list or data set. Each mirrors the
 * function of the same name in fastgrad/pure/engine.py, expression for expression. */
#ifndef FASTGRAD_KERNELS_H
#define FASTGRAD_KERNELS_H

#include <stddef.h>

#include "graph.h"

/* torch.optim.SGD (no dampening, no nesterov) on the nodes ids[0..n). */
void fg_sgd_step(fg_graph *g, size_t n, const fg_id *ids, double lr, double momentum,
                 double weight_decay, double *buf, int first);

/* torch.optim.Adam at 1-based step `step`; m and v are its moment arrays. */
void fg_adam_step(fg_graph *g, size_t n, const fg_id *ids, double lr, double beta1,
                  double beta2, double eps, double weight_decay, long step,
                  double *m, double *v);

/* A dense layer for inference: y[j] = act(b[j] + w[j][0]*x[0] + ...), summed left to
 * right as FG_DOT is; act is FG_RELU, FG_TANH, FG_SIGMOID or FG_LEAF (linear).
 * w is row-major, nout rows of nin. */
void fg_dense_forward(size_t nout, size_t nin, const double *w, const double *b, int act,
                      const double *x, double *y);

#endif
