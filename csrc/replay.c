/* Recorded graphs; see replay.h. */
#include <string.h>

#include "replay.h"
#include "ops.h"

static void hold(fg_graph *g, const fg_id *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fg_incref(g, ids[i]);
}

static void let_go(fg_graph *g, const fg_id *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fg_decref(g, ids[i]);
}

/* Entry e of a batched order (a node, or a batch: FG_BATCH_ENTRY) as a step. */
static fg_step step_of(const fg_graph *g, fg_id e)
{
    fg_step s = {FG_STEP_BATCH, FG_BATCH_INDEX(e), FG_NONE, FG_NONE, 0.0};
    if (e >= 0) {
        s.op = g->op[e];
        s.id = e;
        if (fg_op_arity[s.op] > 0) {
            s.a = g->kids[e].bin.a;
            s.b = g->kids[e].bin.b;
            if (s.b == FG_NONE) /* a two-operand node keeps no constant (store.h) */
                s.c = g->cst[e];
        }
    }
    return s;
}

/* The plans: forward[] from nodes[0 .. n), backward[] from the nroots sweeps of
 * sweep[0 .. total) (root r's ending at sweep_end[r]), each batched. */
static int plan(fg_graph *g, fg_program *p, size_t n, int32_t nroots, fg_id *sweep,
                const size_t *sweep_end, size_t total)
{
    size_t start = 0, to = 0;
    fg_id *order = malloc((n + 1) * sizeof *order);
    if (!order)
        return FG_ENOMEM;
    memcpy(order, p->nodes, n * sizeof *order);
    if (fg_batch_forward(g, order, &n, &p->batches)
        || !(p->forward = malloc((n + 2) * sizeof *p->forward))) {
        free(order);
        return FG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        p->forward[i] = step_of(g, order[i]);
    p->forward[n] = (fg_step){FG_STEP_END, FG_NONE, FG_NONE, FG_NONE, 0.0};
    free(order);
    if (!(p->backward = malloc((total + (size_t)nroots + 2)
                               * sizeof *p->backward)))
        return FG_ENOMEM;
    for (int32_t r = 0; r < nroots; r++) {
        size_t len = sweep_end[r] - start;
        FG_TRY(fg_batch_sweep(g, sweep + start, &len, &p->batches));
        p->backward[to++] = (fg_step){FG_STEP_SEED, p->roots[r], FG_NONE, FG_NONE, 0.0};
        while (len--)
            p->backward[to++] = step_of(g, sweep[start + len]);
        start = sweep_end[r];
    }
    p->backward[to] = (fg_step){FG_STEP_END, FG_NONE, FG_NONE, FG_NONE, 0.0};
    if (p->batches.scratch
        && !(p->scratch = malloc(p->batches.scratch * sizeof *p->scratch)))
        return FG_ENOMEM;
    return FG_OK;
}

int fg_program_record(fg_graph *g, fg_program *p, const fg_id *roots, int32_t nroots,
                      const fg_id *inputs, int32_t ninputs, fg_id *refused)
{
    ptrdiff_t n;
    size_t total = 0;
    fg_id *sweep = NULL; /* each root's own order, one after another */
    size_t *sweep_end = malloc(((size_t)nroots + 1) * sizeof *sweep_end);
    memset(p, 0, sizeof *p);
    *refused = FG_NONE;
    p->roots = malloc(((size_t)nroots + 1) * sizeof *p->roots);
    p->inputs = malloc(((size_t)ninputs + 1) * sizeof *p->inputs);
    if (!p->roots || !p->inputs || !sweep_end)
        goto nomem;
    memcpy(p->roots, roots, (size_t)nroots * sizeof *roots);
    memcpy(p->inputs, inputs, (size_t)ninputs * sizeof *inputs);
    for (int32_t r = 0; r < nroots; r++) {
        fg_id *grown;
        if ((n = fg_topological_order(g, &roots[r], 1)) < 0)
            goto nomem;
        if (!(grown = realloc(sweep, (total + (size_t)n + 1) * sizeof *grown)))
            goto nomem;
        sweep = grown;
        memcpy(sweep + total, g->order, (size_t)n * sizeof *grown);
        sweep_end[r] = total += (size_t)n;
    }
    /* and every node once, for the forward */
    if ((n = fg_topological_order(g, roots, (size_t)nroots)) < 0)
        goto nomem;
    if (!(p->nodes = malloc(((size_t)n + 1) * sizeof *p->nodes)))
        goto nomem;
    memcpy(p->nodes, g->order, (size_t)n * sizeof *p->nodes);
    for (ptrdiff_t i = 0; i < n; i++)
        if (!fg_op_replayable(g->op[p->nodes[i]])) {
            *refused = p->nodes[i];
            fg_program_free(g, p);
            goto done;
        }
    if (plan(g, p, (size_t)n, nroots, sweep, sweep_end, total))
        goto nomem;
    /* from here on the program holds what it names: fg_program_free lets go of it */
    p->nnodes = (size_t)n;
    p->nroots = nroots;
    p->ninputs = ninputs;
    hold(g, p->nodes, p->nnodes);
    hold(g, p->roots, (size_t)p->nroots);
    hold(g, p->inputs, (size_t)p->ninputs);
done:
    free(sweep);
    free(sweep_end);
    return FG_OK;
nomem:
    fg_program_free(g, p);
    free(sweep);
    free(sweep_end);
    return FG_ENOMEM;
}

void fg_program_free(fg_graph *g, fg_program *p)
{
    /* the roots last: each keeps the nodes below it, so they die in one release */
    let_go(g, p->nodes, p->nnodes);
    let_go(g, p->inputs, (size_t)p->ninputs);
    let_go(g, p->roots, (size_t)p->nroots);
    free(p->nodes);
    free(p->forward);
    fg_batch_set_free(&p->batches);
    free(p->scratch);
    free(p->roots);
    free(p->backward);
    free(p->inputs);
    memset(p, 0, sizeof *p);
}

int fg_program_forward(fg_graph *g, const fg_program *p, const double *values)
{
    /* a replay takes no slot, so the arrays stay where they are */
    double *const data = g->data, *const grad = g->grad;
    if (values)
        for (int32_t i = 0; i < p->ninputs; i++)
            data[p->inputs[i]] = values[i];
    /* one switch for the nodes' ops and the steps' own kinds: one jump a step */
    for (const fg_step *s = p->forward;; s++) {
        int err;
        switch (s->op) {
#define FG_SCALAR(code, label, arity, forward, backward) \
        case FG_##code: \
            err = fg_forward(FG_##code, data[s->a], (arity) == 2 ? data[s->b] : s->c, \
                             &data[s->id]); \
            break;
#define FG_NARY(code, label, name) case FG_##code: err = fg_##name##_forward(g, s->id); break;
#define FG_USER(code, label, name) /* not replayable */
#include "ops.def"
        case FG_STEP_BATCH:
            fg_batch_forward_run(g, &p->batches.batch[s->id], p->scratch);
            continue;
        case FG_STEP_END:
            return FG_OK;
        default:
            FG_EBADOP_RETURN();
        }
        if (err)
            return err;
        grad[s->id] = 0.0;
    }
}

void fg_program_backward(fg_graph *g, const fg_program *p)
{
    double *const data = g->data, *const grad = g->grad;
    for (const fg_step *s = p->backward;; s++) {
        switch (s->op) {
#define FG_SCALAR(code, label, arity, forward, backward) \
        case FG_##code: fg_backward_scalar(FG_##code, data, grad, s->id, s->a, s->b, s->c); break;
#define FG_NARY(code, label, name) case FG_##code: fg_##name##_backward(g, s->id); break;
#define FG_USER(code, label, name) /* not replayable: no backward that can fail */
#include "ops.def"
        case FG_STEP_SEED:
            grad[s->id] = 1.0;
            break;
        case FG_STEP_BATCH:
            fg_batch_backward_run(g, &p->batches.batch[s->id], p->scratch);
            break;
        case FG_STEP_END:
            return;
        default:
            FG_BAD_OP();
        }
    }
}
