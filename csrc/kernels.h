/* Bulk kernels: one call for a whole parameter list or data set. Each mirrors the
 * function of the same name in fastgrad/pure, expression for expression. */
#ifndef FASTGRAD_KERNELS_H
#define FASTGRAD_KERNELS_H

#include <stddef.h>

#include "store.h"

/* torch.optim.SGD (no dampening, no nesterov) on the nodes ids[0..n). */
void fg_sgd_step(fg_graph *g, size_t n, const fg_id *ids, double lr, double momentum,
                 double weight_decay, double *buf, int first);

/* torch.optim.Adam at 1-based step `step`; m and v are its moment arrays. */
void fg_adam_step(fg_graph *g, size_t n, const fg_id *ids, double lr, double beta1,
                  double beta2, double eps, double weight_decay, double step,
                  double *m, double *v);

/* Dense layers on every row of X (nrows x sizes[0], row-major) into Y (nrows x
 * sizes[nlayers]): layer l has weights w[l], transposed (sizes[l] rows of sizes[l+1]),
 * biases b[l] and activation act[l]. scratch holds fg_mlp_scratch(...) doubles. */
size_t fg_mlp_scratch(size_t nlayers, const size_t *sizes);
void fg_mlp_forward(size_t nlayers, const size_t *sizes, const double *const *w,
                    const double *const *b, const int *act, size_t nrows, const double *X,
                    double *Y, double *scratch);

#endif
