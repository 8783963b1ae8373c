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

/* The batched orders: forward[] from nodes[0 .. n), each of the nroots sweeps in place. */
static int batch(fg_graph *g, fg_program *p, size_t n, int32_t nroots)
{
    size_t start = 0, to = 0;
    if (!(p->forward = malloc((n + 1) * sizeof *p->forward)))
        return FG_ENOMEM;
    memcpy(p->forward, p->nodes, n * sizeof *p->forward);
    p->nforward = n;
    FG_TRY(fg_batch_forward(g, p->forward, &p->nforward, &p->batches));
    for (int32_t r = 0; r < nroots; r++) {
        size_t len = p->sweep_end[r] - start;
        FG_TRY(fg_batch_sweep(g, p->sweep + start, &len, &p->batches));
        memmove(p->sweep + to, p->sweep + start, len * sizeof *p->sweep);
        start = p->sweep_end[r];
        p->sweep_end[r] = to += len;
    }
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
    memset(p, 0, sizeof *p);
    *refused = FG_NONE;
    p->roots = malloc(((size_t)nroots + 1) * sizeof *p->roots);
    p->inputs = malloc(((size_t)ninputs + 1) * sizeof *p->inputs);
    p->sweep_end = malloc(((size_t)nroots + 1) * sizeof *p->sweep_end);
    if (!p->roots || !p->inputs || !p->sweep_end)
        goto nomem;
    memcpy(p->roots, roots, (size_t)nroots * sizeof *roots);
    memcpy(p->inputs, inputs, (size_t)ninputs * sizeof *inputs);
    /* each root's own order, for its sweep */
    for (int32_t r = 0; r < nroots; r++) {
        fg_id *grown;
        if ((n = fg_topological_order(g, &roots[r], 1)) < 0)
            goto nomem;
        if (!(grown = realloc(p->sweep, (total + (size_t)n + 1) * sizeof *grown)))
            goto nomem;
        p->sweep = grown;
        memcpy(p->sweep + total, g->order, (size_t)n * sizeof *grown);
        p->sweep_end[r] = total += (size_t)n;
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
            return FG_OK;
        }
    if (batch(g, p, (size_t)n, nroots))
        goto nomem;
    /* from here on the program holds what it names: fg_program_free lets go of it */
    p->nnodes = (size_t)n;
    p->nroots = nroots;
    p->ninputs = ninputs;
    hold(g, p->nodes, p->nnodes);
    hold(g, p->roots, (size_t)p->nroots);
    hold(g, p->inputs, (size_t)p->ninputs);
    return FG_OK;
nomem:
    fg_program_free(g, p);
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
    free(p->sweep);
    free(p->sweep_end);
    free(p->inputs);
    memset(p, 0, sizeof *p);
}

int fg_program_forward(fg_graph *g, const fg_program *p, const double *values)
{
    double *data = g->data, *grad = g->grad;
    if (values)
        for (int32_t i = 0; i < p->ninputs; i++)
            data[p->inputs[i]] = values[i];
    for (size_t i = 0; i < p->nforward; i++) {
        fg_id id = p->forward[i];
        int err;
        if (id < 0) {
            const fg_batch *b = &p->batches.batch[FG_BATCH_INDEX(id)];
            fg_batch_forward_run(g, b, p->scratch);
            continue;
        }
        if ((err = fg_forward_node(g, id)))
            return err;
        grad[id] = 0.0;
    }
    return FG_OK;
}

/* fg_sweep over a batched order. */
static void sweep(fg_graph *g, const fg_program *p, fg_id root, const fg_id *order, size_t n)
{
    g->grad[root] = 1.0;
    while (n--) {
        fg_id id = order[n];
        if (id < 0) {
            const fg_batch *b = &p->batches.batch[FG_BATCH_INDEX(id)];
            fg_batch_backward_run(g, b, p->scratch);
        } else {
            (void)fg_backward_node(g, id); /* no custom node here: it cannot fail */
        }
    }
}

void fg_program_backward(fg_graph *g, const fg_program *p)
{
    size_t start = 0;
    for (int32_t r = 0; r < p->nroots; r++) {
        /* a program holds no custom node (fg_op_replays), so the sweep cannot fail */
        sweep(g, p, p->roots[r], p->sweep + start, p->sweep_end[r] - start);
        start = p->sweep_end[r];
    }
}
