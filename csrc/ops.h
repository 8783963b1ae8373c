/* The op table, generated from ops.def: names, the forward rules (by value and by
 * node), the activations and the backward dispatch, with the float semantics they need.
 *
 * Forward rules report Python float's errors (see fg_err) instead of producing a
 * value, so a failing operation creates no node. This file is compiled with
 * -ffp-contract=off, so results are bit-identical to the pure backend.
 */
#ifndef FASTGRAD_OPS_H
#define FASTGRAD_OPS_H

#include <math.h>

#include "custom.h"
#include "nary.h"
#include "net.h"

/* Per op: micrograd's label (FG_POWC's "**k" is formatted by the caller), ops.def's
 * code ("ADDC"), its arity (2 or 1 node operands, the latter with a folded constant
 * or none; 0 for a leaf; -1 for an n-ary op), its release rule for the store. */
extern const char *const fg_op_name[FG_NOPS];
extern const char *const fg_op_code[FG_NOPS];
extern const int fg_op_arity[FG_NOPS];
extern const fg_release_fn fg_release_rules[FG_NOPS];
extern const uint8_t fg_op_replays[FG_NOPS];

/* Can a recorded graph recompute a node of op by fg_forward_node (replay.h)? */
static inline int fg_op_replayable(int op)
{
    return op < FG_NOPS && fg_op_replays[op];
}

#define FG_TRY(call) do { int err_ = (call); if (err_) return err_; } while (0)

/* Tests on pow's exponent without a call to floor or fmod (a fifth of a pow's cost):
 * every double of magnitude 2^53 or more is an even integer, and below that the cast
 * is exact. fg_is_integer(x) is floor(x) == x for a finite x; fg_is_odd_integer(x)
 * fmod(fabs(x), 2.0) == 1.0 for any x. */
#define FG_TWO_TO_53 9007199254740992.0
static inline int fg_is_integer(double x)
{
    return !(fabs(x) < FG_TWO_TO_53) || x == (double)(int64_t)x;
}
static inline int fg_is_odd_integer(double x)
{
    return fabs(x) < FG_TWO_TO_53 && x == (double)(int64_t)x && ((int64_t)x & 1);
}

/* Python's float ** float (CPython's float_pow), errors included. */
static inline int fg_pow(double x, double y, double *out)
{
    int negate = 0;
    if (y == 0.0) { *out = 1.0; return FG_OK; }
    if (isnan(x)) { *out = x; return FG_OK; }
    if (isnan(y)) { *out = x == 1.0 ? 1.0 : y; return FG_OK; }
    if (isinf(y)) {
        x = fabs(x);
        if (x == 1.0) *out = 1.0;
        else if ((y > 0.0) == (x > 1.0)) *out = fabs(y);
        else *out = 0.0;
        return FG_OK;
    }
    if (isinf(x)) {
        int odd = fg_is_odd_integer(y);
        if (y > 0.0) *out = odd ? x : fabs(x);
        else *out = odd ? copysign(0.0, x) : 0.0;
        return FG_OK;
    }
    if (x == 0.0) {
        if (y < 0.0) return FG_EPOWZERO;
        *out = fg_is_odd_integer(y) ? x : 0.0;
        return FG_OK;
    }
    if (x < 0.0) {
        if (!fg_is_integer(y)) return FG_EDOMAIN; /* Python would give a complex number */
        x = -x;
        negate = fg_is_odd_integer(y);
    }
    if (x == 1.0) { *out = negate ? -1.0 : 1.0; return FG_OK; }
    double r = pow(x, y);
    if (isinf(r)) return FG_EOVERFLOW;
    *out = negate ? -r : r;
    return FG_OK;
}

/* d(x**y)/dx = y * x**(y-1) (torch's formula), except where x**(y-1) leaves the range
 * while the slope does not (a subnormal x, |y| < 1): then (y / x) * out. pow(x, 1.0)
 * is x for every x (signed zeros, infinities and nan included; Python's x ** 1.0 too),
 * so a square's slope skips the call. */
static inline double fg_pow_slope(double x, double y, double out)
{
    double d = y * (y == 2.0 ? x : pow(x, y - 1.0));
    if (isinf(d) && x != 0.0) {
        double e = (y / x) * out;
        if (isfinite(e)) d = e;
    }
    return d;
}

static inline double fg_sigmoid(double x)
{
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* The forward rule of a scalar op on x and y (ops.def's FG_SCALAR): *res is set, and
 * FG_OK returned, unless the op fails. Inline: with op a constant, as in each facade
 * method, it compiles to that op's rule alone. */
static inline int fg_forward(int op, double x, double y, double *res)
{
    double out;
    (void)y;
    switch (op) {
#define FG_SCALAR(code, label, arity, forward, backward) case FG_##code: forward; break;
#include "ops.def"
    default: FG_EBADOP_RETURN();
    }
    *res = out;
    return FG_OK;
}

/* Is op a dense layer's activation: ops.def's FG_ACT, or FG_LEAF for none (linear)? */
static inline int fg_is_activation(int op)
{
    switch (op) {
    case FG_LEAF:
#define FG_ACT(code, label, forward, backward) case FG_##code:
#include "ops.def"
        return 1;
    default:
        return 0;
    }
}

/* Activation act of a dense layer (fg_is_activation) on x; activations cannot fail. */
static inline double fg_activate(int act, double x)
{
    double out;
    switch (act) {
    case FG_LEAF: return x;
#define FG_ACT(code, label, forward, backward) case FG_##code: forward; return out;
#include "ops.def"
    default: FG_BAD_OP(); return x;
    }
}

/* Activation act's backward: *ga takes gr times the slope at output out (FG_LEAF:
 * nothing; a linear neuron passes its grad on itself). */
static inline void fg_act_backward(int act, double out, double gr, double *ga)
{
    switch (act) {
    case FG_LEAF: return;
#define GA (*ga)
#define FG_ACT(code, label, forward, backward) case FG_##code: backward; return;
#include "ops.def"
#undef GA
    default: FG_BAD_OP();
    }
}

/* The backward rule of a scalar op (ops.def's FG_SCALAR) at node id, operands a and b
 * (b unread for arity 1), constant c (unread for arity 2): its local derivatives,
 * times grad[id], added into grad[a] and grad[b]. Inline: with op a constant, as in
 * each dispatch's case, it compiles to that op's rule alone. */
static inline void fg_backward_scalar(int op, const double *data, double *grad, fg_id id,
                                      fg_id a, fg_id b, double c)
{
    const double out = data[id], gr = grad[id];
    (void)out;
    switch (op) {
#define GA grad[a]
#define GB grad[b]
#define FG_SCALAR(code, label, arity, forward, backward) \
    case FG_##code: {                                                   \
        const double x = data[a], y = (arity) == 2 ? data[b] : c;       \
        (void)x; (void)y;                                               \
        backward;                                                       \
        break;                                                          \
    }
#include "ops.def"
#undef GA
#undef GB
    default: FG_BAD_OP();
    }
}

/* Accumulate node id's local derivatives, times its grad, into its operands' grads,
 * through the node arrays data, grad, cst, kids and ops (g's: a sweep that makes no
 * node reads them once; the constant only of the ops that have one). FG_OK, or
 * FG_ECLOSURE from a custom node's closure. Inline: it is the body of the backward
 * sweep's loop (where only FG_CUSTOM's case can fail, it costs no test). */
static inline int fg_backward_node_in(fg_graph *g, const double *data, double *grad,
                                      const double *cst, const fg_kids *kids,
                                      const uint8_t *ops, fg_id id)
{
    const fg_id a = kids[id].bin.a, b = kids[id].bin.b;
    switch (ops[id]) {
#define FG_NULLARY(code, label) case FG_##code: break;
#define FG_SCALAR(code, label, arity, forward, backward) \
    case FG_##code: \
        fg_backward_scalar(FG_##code, data, grad, id, a, b, (arity) == 2 ? 0.0 : cst[id]); \
        break;
#define FG_NARY(code, label, name) case FG_##code: fg_##name##_backward(g, id); break;
#define FG_USER(code, label, name) case FG_##code: return fg_##name##_backward(g, id);
#include "ops.def"
    default: FG_BAD_OP();
    }
    return FG_OK;
}

/* fg_backward_node_in through g's arrays as they are now. */
static inline int fg_backward_node(fg_graph *g, fg_id id)
{
    return fg_backward_node_in(g, g->data, g->grad, g->cst, g->kids, g->op, id);
}

/* fg_backward_node, not inline: Value._backward() on one node, as a lecture runs it. */
int fg_local_backward(fg_graph *g, fg_id id);

/* Slot k of node id in operand order, constants included (Value._operands): 1, with
 * *node the operand there, or FG_NONE and *c the constant folded in; 0 past the last. */
int fg_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c);

/* Recompute node id's data from its operands as they are now: what a replay of a
 * recorded graph runs per node, in topological order. FG_OK, or the op's error (then
 * nothing changed). Inline: it is the body of the replay's loop, where each scalar
 * op's rule goes in line and only the ops that can fail test for an error. */
static inline int fg_forward_node(fg_graph *g, fg_id id)
{
    const fg_id a = g->kids[id].bin.a, b = g->kids[id].bin.b;
    switch (g->op[id]) {
#define FG_NULLARY(code, label) case FG_##code: return FG_OK;
#define FG_SCALAR(code, label, arity, forward, backward) \
    case FG_##code:                                                                    \
        return fg_forward(FG_##code, g->data[a], (arity) == 2 ? g->data[b] : g->cst[id], \
                          &g->data[id]);
#define FG_NARY(code, label, name) case FG_##code: return fg_##name##_forward(g, id);
#include "ops.def"
    default: FG_EBADOP_RETURN();
    }
}

#endif
