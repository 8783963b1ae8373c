/* The op names and the forward rules of the n-ary ops (the rest of the op table is
 * inline, in ops.h). Each rule mirrors fastgrad/pure/engine.py; keep them in step. */
#include "ops.h"

const char *const fg_op_name[FG_NOPS] = {
    [FG_LEAF] = "", [FG_ADD] = "+", [FG_ADDC] = "+", [FG_SUB] = "-", [FG_RSUBC] = "-",
    [FG_MUL] = "*", [FG_MULC] = "*", [FG_DIV] = "/", [FG_DIVC] = "/", [FG_RDIVC] = "/",
    [FG_POW] = "**", [FG_POWC] = "**", [FG_RPOWC] = "**", [FG_RELU] = "ReLU",
    [FG_TANH] = "tanh", [FG_SIGMOID] = "sigmoid", [FG_EXP] = "exp", [FG_LOG] = "log",
    [FG_SQRT] = "sqrt", [FG_ABS] = "abs", [FG_SUM] = "sum", [FG_DOT] = "dot",
    [FG_NET] = "mlp", [FG_HEAD] = "dot",
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
