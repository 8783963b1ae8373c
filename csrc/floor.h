/* The arithmetic floor of a training step: the moons demo's step written as plain C
 * loops over arrays, no graph and no nodes, what the bench times fastgrad's compiled
 * step against. Knows nothing of Python. */
#ifndef FASTGRAD_FLOOR_H
#define FASTGRAD_FLOOR_H

#include <stddef.h>
#include <stdint.h>

/* Doubles of scratch fg_floor_step needs for n samples through layers of sizes[0 ..
 * nlayers] (sizes[0] the inputs). */
size_t fg_floor_scratch(int32_t nlayers, const int32_t *sizes, int32_t n);

/* One step of the demo on n samples X (n x sizes[0]) with labels y (+-1): dense
 * layers (params: each neuron's weights then its bias, layer after layer), ReLU on all
 * but the last; loss mean(relu(1 - y * score)) + alpha * sum(p * p); its gradient by
 * hand (the inputs' included, as the engine computes them); then params -= lr * grad.
 * *loss gets the loss; returns the multiply-adds it did. */
size_t fg_floor_step(int32_t nlayers, const int32_t *sizes, double *params, double *grad,
                     int32_t n, const double *X, const double *y, double alpha, double lr,
                     double *loss, double *scratch);

#endif
