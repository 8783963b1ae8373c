/* The op table: every operation's code, forward rule and (in ops.c) local derivative.
 *
 * Each rule is the same expression, in the same order, as in fastgrad/pure/engine.py,
 * and this file is compiled with -ffp-contract=off, so results are bit-identical to
 * the pure backend. Forward rules report Python float's errors (see fg_err) instead
 * of producing a value, so a failing operation creates no node.
 */
#ifndef FASTGRAD_OPS_H
#define FASTGRAD_OPS_H

#include <math.h>

#include "graph.h"
#include "net.h"

enum fg_op {
    FG_LEAF = 0,
    FG_ADD,     /* a + b */
    FG_ADDC,    /* a + c   (also x - c, as x + (-c)) */
    FG_SUB,     /* a - b */
    FG_RSUBC,   /* c - a */
    FG_MUL,     /* a * b */
    FG_MULC,    /* a * c   (also -x, as x * -1) */
    FG_DIV,     /* a / b */
    FG_DIVC,    /* a / c */
    FG_RDIVC,   /* c / a */
    FG_POW,     /* a ** b */
    FG_POWC,    /* a ** c */
    FG_RPOWC,   /* c ** a */
    FG_RELU,
    FG_TANH,
    FG_SIGMOID,
    FG_EXP,
    FG_LOG,
    FG_SQRT,
    FG_ABS,
    FG_SUM,     /* 0.0 + v0 + v1 + ... */
    FG_DOT,     /* bias + w0*x0 + w1*x1 + ..., slots w0, x0, w1, x1, ..., bias */
    FG_NET,     /* the hidden layers of one call of a stack (net.h); data 0 */
    FG_HEAD,    /* one output neuron of that call: act(dot(row, last hidden layer)) */
    FG_NOPS,
    FG_FREE = 255
};

/* micrograd's label for each op (FG_POWC's "**k" is formatted by the caller). */
extern const char *const fg_op_name[FG_NOPS];

static inline int fg_is_odd_integer(double x) { return fmod(fabs(x), 2.0) == 1.0; }

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
        if (y != floor(y)) return FG_EDOMAIN; /* Python would give a complex number */
        x = -x;
        negate = fg_is_odd_integer(y);
    }
    if (x == 1.0) { *out = negate ? -1.0 : 1.0; return FG_OK; }
    double r = pow(x, y);
    if (isinf(r)) return FG_EOVERFLOW;
    *out = negate ? -r : r;
    return FG_OK;
}

static inline double fg_sigmoid(double x)
{
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* Forward rule of a unary or binary op: a is the first operand's data, b the second
 * operand's data or the folded constant. */
static inline int fg_forward(int op, double a, double b, double *out)
{
    switch (op) {
    case FG_ADD: case FG_ADDC: *out = a + b; return FG_OK;
    case FG_SUB: *out = a - b; return FG_OK;
    case FG_RSUBC: *out = b - a; return FG_OK;
    case FG_MUL: case FG_MULC: *out = a * b; return FG_OK;
    case FG_DIV: case FG_DIVC:
        if (b == 0.0) return FG_EZERODIV;
        *out = a / b; return FG_OK;
    case FG_RDIVC:
        if (a == 0.0) return FG_EZERODIV;
        *out = b / a; return FG_OK;
    case FG_POW: case FG_POWC: return fg_pow(a, b, out);
    case FG_RPOWC: return fg_pow(b, a, out);
    case FG_RELU: *out = a < 0.0 ? 0.0 : a; return FG_OK;
    case FG_TANH: *out = tanh(a); return FG_OK;
    case FG_SIGMOID: *out = fg_sigmoid(a); return FG_OK;
    case FG_EXP:
        *out = exp(a);
        return isinf(*out) && isfinite(a) ? FG_ERANGE : FG_OK;
    case FG_LOG:
        if (!(a > 0.0) && !isnan(a)) return FG_EDOMAIN;
        *out = log(a); return FG_OK;
    case FG_SQRT:
        if (a < 0.0) return FG_EDOMAIN;
        *out = sqrt(a); return FG_OK;
    case FG_ABS: *out = fabs(a); return FG_OK;
    default: *out = a; return FG_OK;
    }
}

/* Slot k of a dot in operand order w0, x0, w1, x1, ..., bias: the node id, or
 * FG_NONE for a constant (whose value *c receives). */
static inline fg_id fg_dot_slot(const fg_pair *d, int32_t k, double *c)
{
    const fg_block *b = (k & 1) ? d->x : d->w;
    int32_t i = k >> 1;
    if (k == 2 * d->x->n)
        i = d->x->n; /* the bias, after the weights */
    *c = b->cst[i];
    return b->ids[i];
}

/* The next operand of node id after cursor *k (advanced past it), or FG_NONE after
 * the last: enumerates a node's operands in slot order, constants skipped. */
static inline fg_id fg_operand(const fg_graph *g, fg_id id, int32_t *k)
{
    double c;
    switch (g->op[id]) {
    case FG_LEAF:
        return FG_NONE;
    case FG_SUM: {
        const fg_block *b = g->kids[id].sum;
        while (*k < b->n) {
            fg_id x = b->ids[(*k)++];
            if (x != FG_NONE)
                return x;
        }
        return FG_NONE;
    }
    case FG_DOT: {
        const fg_pair *d = g->kids[id].dot;
        while (*k < 2 * d->x->n + 1) {
            fg_id x = fg_dot_slot(d, (*k)++, &c);
            if (x != FG_NONE)
                return x;
        }
        return FG_NONE;
    }
    case FG_NET: case FG_HEAD:
        return fg_net_operand(g, id, k);
    default:
        switch ((*k)++) {
        case 0: return g->kids[id].bin.a;
        case 1: return g->kids[id].bin.b;
        default: return FG_NONE;
        }
    }
}

/* The value of slot i of a block: its node's data, or its constant. */
static inline double fg_slot(const fg_graph *g, const fg_block *b, int32_t i)
{
    return b->ids[i] != FG_NONE ? g->data[b->ids[i]] : b->cst[i];
}

/* Forward rules of the n-ary ops, reading operand data from g:
 * 0.0 + t0 + t1 + ..., and bias + w0*x0 + w1*x1 + ..., left to right (as micrograd's
 * sum((wi*xi for ...), b) adds them). */
double fg_forward_sum(const fg_graph *g, const fg_block *terms);
double fg_forward_dot(const fg_graph *g, const fg_block *w, const fg_block *x);

/* d act(z) / dz, from the activation's output */
static inline double fg_act_slope(int act, double out)
{
    switch (act) {
    case FG_RELU: return out > 0.0 ? 1.0 : 0.0;
    case FG_TANH: return 1.0 - out * out;
    case FG_SIGMOID: return out * (1.0 - out);
    default: return 1.0;
    }
}

/* FG_DOT's backward with grad gr: each product passes the grad to both of its factors,
 * then the bias gets it. */
static inline void fg_dot_backward(fg_graph *g, const fg_block *w, const fg_block *xs, double gr)
{
    double *grad = g->grad;
    int32_t n = xs->n;
    for (int32_t i = 0; i < n; i++) {
        fg_id wi = w->ids[i], xi = xs->ids[i];
        double wd = fg_slot(g, w, i), xd = fg_slot(g, xs, i);
        if (wi != FG_NONE) grad[wi] += xd * gr;
        if (xi != FG_NONE) grad[xi] += wd * gr;
    }
    if (w->ids[n] != FG_NONE)
        grad[w->ids[n]] += gr;
}

/* Accumulate node id's local derivatives, times its grad, into its operands' grads.
 * Each line mirrors a closure in fastgrad/pure/engine.py; keep them in step. Inline:
 * it is the body of the backward sweep's loop. */
static inline void fg_backward_node(fg_graph *g, fg_id id)
{
    double *data = g->data, *grad = g->grad;
    double out = data[id], gr = grad[id], c = g->cst[id];
    fg_id a = g->kids[id].bin.a, b = g->kids[id].bin.b;
    double x, y;

    switch (g->op[id]) {
    case FG_ADD: grad[a] += gr; grad[b] += gr; break;
    case FG_ADDC: grad[a] += gr; break;
    case FG_SUB: grad[a] += gr; grad[b] -= gr; break;
    case FG_RSUBC: grad[a] -= gr; break;
    case FG_MUL:
        grad[a] += data[b] * gr;
        grad[b] += data[a] * gr;
        break;
    case FG_MULC: grad[a] += c * gr; break;
    case FG_DIV:
        x = data[a]; y = data[b];
        grad[a] += gr / y;
        grad[b] -= x / (y * y) * gr;
        break;
    case FG_DIVC: grad[a] += gr / c; break;
    case FG_RDIVC:
        x = data[a];
        grad[a] -= c / (x * x) * gr;
        break;
    case FG_POW:
        x = data[a]; y = data[b];
        grad[a] += (y * pow(x, y - 1.0)) * gr;
        grad[b] += (out * log(x)) * gr;
        break;
    case FG_POWC: grad[a] += (c * pow(data[a], c - 1.0)) * gr; break;
    case FG_RPOWC: grad[a] += (out * log(c)) * gr; break;
    case FG_RELU: case FG_TANH: case FG_SIGMOID:
        grad[a] += fg_act_slope(g->op[id], out) * gr;
        break;
    case FG_EXP: grad[a] += out * gr; break;
    case FG_LOG: grad[a] += gr / data[a]; break;
    case FG_SQRT: grad[a] += (0.5 / out) * gr; break;
    case FG_ABS:
        x = data[a];
        grad[a] += (x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0)) * gr;
        break;
    case FG_SUM: {
        const fg_block *t = g->kids[id].sum;
        for (int32_t i = 0; i < t->n; i++)
            if (t->ids[i] != FG_NONE)
                grad[t->ids[i]] += gr;
        break;
    }
    case FG_DOT:
        fg_dot_backward(g, g->kids[id].dot->w, g->kids[id].dot->x, gr);
        break;
    case FG_NET: fg_net_backward(g, id); break;
    case FG_HEAD: fg_head_backward(g, id); break;
    default: break; /* FG_LEAF */
    }
}

#endif
