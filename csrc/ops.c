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

double fg_forward_sum(const fg_graph *g, const fg_block *terms)
{
    double acc = 0.0;
    for (int32_t i = 0; i < terms->n; i++)
        acc = acc + fg_slot(g, terms, i);
    return acc;
}

double fg_forward_dot(const fg_graph *g, const fg_block *w, const fg_block *x)
{
    int32_t n = x->n;
    double acc = fg_slot(g, w, n);
    for (int32_t i = 0; i < n; i++)
        acc = acc + fg_slot(g, w, i) * fg_slot(g, x, i);
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
        const fg_block *t = g->kids[id].sum;
        for (int32_t i = 0; i < t->n; i++)
            if (t->ids[i] != FG_NONE)
                grad[t->ids[i]] += gr;
        break;
    }
    case FG_DOT: {
        /* each product passes the grad to both of its factors, then the bias gets it */
        const fg_block *w = g->kids[id].dot->w, *xs = g->kids[id].dot->x;
        int32_t n = xs->n;
        for (int32_t i = 0; i < n; i++) {
            fg_id wi = w->ids[i], xi = xs->ids[i];
            double wd = fg_slot(g, w, i), xd = fg_slot(g, xs, i);
            if (wi != FG_NONE) grad[wi] += xd * gr;
            if (xi != FG_NONE) grad[xi] += wd * gr;
        }
        if (w->ids[n] != FG_NONE)
            grad[w->ids[n]] += gr;
        break;
    }
    default: break; /* FG_LEAF */
    }
}
