/* Local derivatives of every op, and the forward rule of the n-ary ops.
 * Each line mirrors a closure in fastgrad/pure/engine.py; keep them in step. */
#include "ops.h"

const char *const fg_op_name[FG_NOPS] = {
    [FG_LEAF] = "", [FG_ADD] = "+", [FG_ADDC] = "+", [FG_SUB] = "-", [FG_RSUBC] = "-",
    [FG_MUL] = "*", [FG_MULC] = "*", [FG_DIV] = "/", [FG_DIVC] = "/", [FG_RDIVC] = "/",
    [FG_POW] = "**", [FG_POWC] = "**", [FG_RPOWC] = "**", [FG_RELU] = "ReLU",
    [FG_TANH] = "tanh", [FG_SIGMOID] = "sigmoid", [FG_EXP] = "exp", [FG_LOG] = "log",
    [FG_SQRT] = "sqrt", [FG_ABS] = "abs", [FG_SUM] = "sum", [FG_DOT] = "dot",
};

/* The value of slot i of an n-ary node: its operand's data, or its constant. */
static inline double slot(const fg_graph *g, const fg_edges *e, int32_t i)
{
    return e->ids[i] != FG_NONE ? g->data[e->ids[i]] : e->cst[i];
}

double fg_forward_nary(const fg_graph *g, int op, const fg_edges *e)
{
    double acc;
    int32_t i, n = e->n;
    if (op == FG_SUM) {
        acc = 0.0;
        for (i = 0; i < n; i++)
            acc = acc + slot(g, e, i);
        return acc;
    }
    /* FG_DOT: slots w0, x0, ..., bias; summed left to right from the bias, as
     * micrograd's sum((wi*xi for ...), b) does */
    acc = slot(g, e, n - 1);
    for (i = 0; i + 1 < n; i += 2)
        acc = acc + slot(g, e, i) * slot(g, e, i + 1);
    return acc;
}

void fg_backward_node(fg_graph *g, fg_id id)
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
    case FG_RELU: grad[a] += (out > 0.0 ? 1.0 : 0.0) * gr; break;
    case FG_TANH: grad[a] += (1.0 - out * out) * gr; break;
    case FG_SIGMOID: grad[a] += (out * (1.0 - out)) * gr; break;
    case FG_EXP: grad[a] += out * gr; break;
    case FG_LOG: grad[a] += gr / data[a]; break;
    case FG_SQRT: grad[a] += (0.5 / out) * gr; break;
    case FG_ABS:
        x = data[a];
        grad[a] += (x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0)) * gr;
        break;
    case FG_SUM: {
        const fg_edges *e = g->kids[id].nary;
        for (int32_t i = 0; i < e->n; i++)
            if (e->ids[i] != FG_NONE)
                grad[e->ids[i]] += gr;
        break;
    }
    case FG_DOT: {
        /* each product passes the grad to both of its factors, then the bias gets it */
        const fg_edges *e = g->kids[id].nary;
        int32_t n = e->n;
        for (int32_t i = 0; i + 1 < n; i += 2) {
            fg_id w = e->ids[i], v = e->ids[i + 1];
            double wd = slot(g, e, i), vd = slot(g, e, i + 1);
            if (w != FG_NONE) grad[w] += vd * gr;
            if (v != FG_NONE) grad[v] += wd * gr;
        }
        if (e->ids[n - 1] != FG_NONE)
            grad[e->ids[n - 1]] += gr;
        break;
    }
    default: break; /* FG_LEAF */
    }
}
