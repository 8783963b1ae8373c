/* The op table's arrays, generated from ops.def. */
#include "ops.h"

const char *const fg_op_name[FG_NOPS] = {
#define FG_NULLARY(code, label) [FG_##code] = label,
#define FG_SCALAR(code, label, arity, forward, backward) [FG_##code] = label,
#define FG_NARY(code, label, name) [FG_##code] = label,
#include "ops.def"
};

const char *const fg_op_code[FG_NOPS] = {
#define FG_NULLARY(code, label) [FG_##code] = #code,
#define FG_SCALAR(code, label, arity, forward, backward) [FG_##code] = #code,
#define FG_NARY(code, label, name) [FG_##code] = #code,
#include "ops.def"
};

const int fg_op_arity[FG_NOPS] = {
#define FG_NULLARY(code, label) [FG_##code] = 0,
#define FG_SCALAR(code, label, arity, forward, backward) [FG_##code] = arity,
#define FG_NARY(code, label, name) [FG_##code] = -1,
#include "ops.def"
};

/* The store releases a scalar node's kids.bin.a and .b itself (NULL); the n-ary ops
 * keep their operands where only their own rule knows. */
const fg_release_fn fg_release_rules[FG_NOPS] = {
#define FG_NULLARY(code, label) [FG_##code] = NULL,
#define FG_SCALAR(code, label, arity, forward, backward) [FG_##code] = NULL,
#define FG_NARY(code, label, name) [FG_##code] = fg_##name##_release,
#include "ops.def"
};

/* A recorded graph replays a node by its op's forward rule; a node whose forward is
 * user code (FG_USER) cannot be replayed. */
const uint8_t fg_op_replays[FG_NOPS] = {
#define FG_NULLARY(code, label) [FG_##code] = 1,
#define FG_SCALAR(code, label, arity, forward, backward) [FG_##code] = 1,
#define FG_NARY(code, label, name) [FG_##code] = 1,
#define FG_USER(code, label, name) [FG_##code] = 0,
#include "ops.def"
};

int fg_local_backward(fg_graph *g, fg_id id)
{
    return fg_backward_node(g, id);
}

/* Slot k of a scalar node: its node operands kids.bin.a (then .b if arity is 2), with
 * the folded constant placed at `at` among them (-1: none). */
static int scalar_slot(const fg_graph *g, fg_id id, int32_t k, int arity, int at, fg_id *node,
                       double *c)
{
    if (k >= arity + (at >= 0))
        return 0;
    *c = 0.0;
    if (k == at) {
        *node = FG_NONE;
        *c = g->cst[id];
    } else {
        *node = k - (at >= 0 && at < k) == 0 ? g->kids[id].bin.a : g->kids[id].bin.b;
    }
    return 1;
}

int fg_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c)
{
    switch (g->op[id]) {
#define FG_NULLARY(code, label) case FG_##code: return 0;
#define FG_SCALAR(code, label, arity, forward, backward) \
    case FG_##code: return scalar_slot(g, id, k, arity, -1, node, c);
#define FG_FOLDED(code, label, at, forward, backward) \
    case FG_##code: return scalar_slot(g, id, k, 1, at, node, c);
#define FG_NARY(code, label, name) case FG_##code: return fg_##name##_slot(g, id, k, node, c);
#include "ops.def"
    default: FG_BAD_OP(); return 0;
    }
}
