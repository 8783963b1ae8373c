/* The dense layers' batches of a recorded graph (batch.h): the FG_DOT nodes of one layer's
 * rows on different inputs' blocks, with the activation nodes on them, planned in a
 * forward order and in a sweep's; the rest of the planner is batch.c. */
#include <stdlib.h>
#include <string.h>

#include "batch_plan.h"
#include "dense.h"
#include "nary.h"
#include "ops.h"

/* -- A dense layer's calls: the FG_DOT nodes of an order, by the block they share -------- */

/* A dot node's blocks, and where the order has it. */
typedef struct dot_entry {
    const fg_block *x, *w;
    size_t at;
} dot_entry;

static int by_inputs(const void *a, const void *b)
{
    const dot_entry *p = a, *q = b;
    uintptr_t x = (uintptr_t)p->x, y = (uintptr_t)q->x, v = (uintptr_t)p->w,
              w = (uintptr_t)q->w;
    if (x != y)
        return (x > y) - (x < y);
    if (v != w)
        return (v > w) - (v < w);
    return (p->at > q->at) - (p->at < q->at);
}

/* A call: the dots on one inputs' block, by row (no row twice), and the least place
 * among them. */
typedef struct dense_call {
    const dot_entry *dots;
    int32_t width;
    size_t first;
} dense_call;

static int same_rows(const dense_call *x, const dense_call *y)
{
    if (x->width != y->width)
        return 0;
    for (int32_t r = 0; r < x->width; r++)
        if (x->dots[r].w != y->dots[r].w)
            return 0;
    return 1;
}

static int by_rows(const void *a, const void *b)
{
    const dense_call *x = a, *y = b;
    if (x->width != y->width)
        return (x->width > y->width) - (x->width < y->width);
    for (int32_t r = 0; r < x->width; r++) {
        uintptr_t p = (uintptr_t)x->dots[r].w, q = (uintptr_t)y->dots[r].w;
        if (p != q)
            return (p > q) - (p < q);
    }
    return (x->first > y->first) - (x->first < y->first);
}

/* The dots of order[0 .. n) as calls, calls of the same rows together (a dense layer's,
 * by first place): *m of them in *calls, over *dots; the caller frees both. FG_OK or
 * FG_ENOMEM. */
static int dense_calls_of(const fg_graph *g, const fg_id *order, size_t n, dot_entry **dots,
                          dense_call **calls, size_t *m)
{
    size_t nd = 0, i, e;
    *dots = NULL;
    *calls = NULL;
    *m = 0;
    for (i = 0; i < n; i++)
        nd += order[i] > 0 && g->op[order[i]] == FG_DOT;
    if (!nd)
        return FG_OK;
    *dots = malloc(nd * sizeof **dots);
    *calls = malloc(nd * sizeof **calls);
    if (!*dots || !*calls)
        return FG_ENOMEM;
    for (i = 0, e = 0; i < n; i++)
        if (order[i] > 0 && g->op[order[i]] == FG_DOT)
            (*dots)[e++] = (dot_entry){fg_dot_pair(g, order[i])->x, fg_dot_pair(g, order[i])->w, i};
    qsort(*dots, nd, sizeof **dots, by_inputs);
    for (i = 0; i < nd; i = e) {
        const dot_entry *d = *dots;
        size_t first = d[i].at;
        int distinct = 1;
        for (e = i + 1; e < nd && d[e].x == d[i].x; e++) {
            distinct &= d[e].w != d[e - 1].w;
            first = d[e].at < first ? d[e].at : first;
        }
        if (distinct)
            (*calls)[(*m)++] = (dense_call){&d[i], (int32_t)(e - i), first};
    }
    qsort(*calls, *m, sizeof **calls, by_rows);
    return FG_OK;
}

/* The end of the run of calls of the same rows starting at calls[i]. */
static size_t rows_end(const dense_call *calls, size_t m, size_t i)
{
    size_t e = i + 1;
    while (e < m && same_rows(&calls[e], &calls[i]))
        e++;
    return e;
}

int fg_plan_is_activation(int op)
{
    return op != FG_LEAF && fg_is_activation(op);
}

/* -- Forward ---------------------------------------------------------------------------- */

int fg_plan_dense_forward(fg_graph *g, const fg_id *order, size_t n, const place *places,
                          fg_batch_set *set, int32_t before, member *members, size_t *nm,
                          size_t *firsts)
{
    dot_entry *dots;
    dense_call *calls;
    size_t m, i, e, k;
    int err = dense_calls_of(g, order, n, &dots, &calls, &m);
    for (i = 0; !err && i < m; i = e) {
        int32_t width = calls[i].width, r;
        size_t first = calls[i].first;
        int ok = 1;
        fg_batch *b;
        e = rows_end(calls, m, i);
        if (e - i < 2)
            continue;
        for (k = i; k < e; k++)
            first = calls[k].first < first ? calls[k].first : first;
        for (r = 0; ok && r < width; r++)
            ok = fg_plan_ready(g, calls[i].dots[r].w, places, n, first);
        for (k = i; ok && k < e; k++)
            ok = fg_plan_ready(g, calls[k].dots[0].x, places, n, first);
        if (!ok)
            continue;
        if (!(b = fg_plan_add_batch(set, FG_BATCH_DENSE, (int32_t)(e - i),
                                    (e - i) * (size_t)width, (e - i) * (size_t)width,
                                    fg_dense_batch_scratch(calls[i].dots[0].x->n, width,
                                                           (int32_t)(e - i))))) {
            err = FG_ENOMEM;
            break;
        }
        b->width = width;
        b->nodes = b->n * width;
        firsts[set->n - 1 - before] = first;
        for (k = i; k < e; k++)
            for (r = 0; r < width; r++) {
                int32_t at = (int32_t)(k - i) * width + r;
                b->calls[at] = order[calls[k].dots[r].at];
                members[(*nm)++] = (member){calls[k].dots[r].at, set->n - 1, at};
            }
    }
    free(dots);
    free(calls);
    return err;
}

/* -- Backward --------------------------------------------------------------------------- */

/* An activation node on a dot, by the dot. */
typedef struct on_dot {
    fg_id dot;
    size_t at;
} on_dot;

static int by_dot(const void *a, const void *b)
{
    return fg_plan_compare_ids(&((const on_dot *)a)->dot, &((const on_dot *)b)->dot);
}

/* The activation node on dot id among acts[0 .. nacts) (by dot), or NULL. */
static const on_dot *act_of(const on_dot *acts, size_t nacts, fg_id id)
{
    on_dot key = {id, 0};
    return nacts ? bsearch(&key, acts, nacts, sizeof *acts, by_dot) : NULL;
}

static int compare_sizes(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* A dense layer's calls calls[i .. e) in a sweep's order, with the activation nodes
 * acts[0 .. nacts) (by dot) on their dots (with) or without: nodes[0 .. *nn) its nodes
 * as the sweep runs them, at[0 .. *nn) their places (rising), *ids its operands
 * (*nids) to claim. 1 if they can run where
 * the last of them to run stands; 0; -1 without memory. */
static int dense_movable(const fg_graph *g, const fg_id *order, const dense_call *calls,
                         size_t i, size_t e, const on_dot *acts, size_t nacts, int with,
                         const claim *claims, size_t nclaims, fg_id *nodes, size_t *at,
                         size_t *nn, fg_id **ids, size_t *nids)
{
    int32_t width = calls[i].width, r;
    size_t lo, hi, k, total = 0;
    /* a dot's and its activation's: two nodes per dot at most */
    fg_id *members = malloc((e - i) * 2 * (size_t)width * sizeof *members + 1);
    int ok = 1;
    *nn = *nids = 0;
    for (r = 0; r < width; r++)
        total += (size_t)calls[i].dots[r].w->n;
    for (k = i; k < e; k++)
        total += (size_t)calls[k].dots[0].x->n + (size_t)width;
    *ids = malloc(total * sizeof **ids + 1);
    if (!members || !*ids) {
        free(members);
        free(*ids);
        *ids = NULL;
        return -1;
    }
    for (k = i; k < e; k++)
        for (r = 0; r < width; r++) {
            const dot_entry *d = &calls[k].dots[r];
            const on_dot *a = with ? act_of(acts, nacts, order[d->at]) : NULL;
            at[(*nn)++] = d->at;
            if (a) {
                at[(*nn)++] = a->at;
                (*ids)[(*nids)++] = order[d->at]; /* its activation passes it terms */
            }
        }
    for (r = 0; r < width; r++) {
        const fg_block *w = calls[i].dots[r].w;
        for (int32_t j = 0; j < w->n; j++)
            if (w->ids[j] != FG_NONE)
                (*ids)[(*nids)++] = w->ids[j];
    }
    for (k = i; k < e; k++) {
        const fg_block *x = calls[k].dots[0].x;
        for (int32_t j = 0; j < x->n; j++)
            if (x->ids[j] != FG_NONE)
                (*ids)[(*nids)++] = x->ids[j];
    }
    qsort(*ids, *nids, sizeof **ids, fg_plan_compare_ids);
    qsort(at, *nn, sizeof *at, compare_sizes);
    lo = at[0];
    hi = at[*nn - 1];
    for (k = 0; k < *nn; k++) /* as the sweep runs them: last first */
        nodes[k] = order[at[*nn - 1 - k]];
    memcpy(members, nodes, *nn * sizeof *members);
    qsort(members, *nn, sizeof *members, fg_plan_compare_ids);
    for (k = lo + 1; ok && k < hi; k++)
        if (!fg_plan_among(members, *nn, order[k]))
            ok = !fg_plan_touches(g, order[k], *ids, *nids);
    ok = ok && !fg_plan_claimed(claims, nclaims, *ids, *nids);
    free(members);
    if (!ok) {
        free(*ids);
        *ids = NULL;
    }
    return ok;
}

/* Does a block hold a node twice, or one of ids[0 .. n) (sorted)? */
static int overlaps(const fg_block *b, const fg_id *ids, size_t n)
{
    for (int32_t j = 0; j < b->n; j++) {
        if (b->ids[j] == FG_NONE)
            continue;
        if (fg_plan_among(ids, n, b->ids[j]))
            return 1;
        for (int32_t k = 0; k < j; k++)
            if (b->ids[k] == b->ids[j])
                return 1;
    }
    return 0;
}


/* Can fg_dense_backward_batch run a dense batch's nodes nodes[0 .. nn) (as the sweep
 * runs them, their activations acts_on[0 .. nacts))? See dense.h: the dots call by
 * call, every call's rows in the first's order, no node twice in the rows or in a
 * call's inputs, no input a row's node or one of these nodes. If so, dots and acts
 * (n * width) get them by call as the sweep takes them. -1 without memory. */
static int dense_kernel(const fg_graph *g, const fg_id *order, const fg_id *nodes, size_t nn,
                        int32_t width, const on_dot *acts_on, size_t nacts, fg_id *dots,
                        fg_id *acts)
{
    size_t nd = 0, k, nr = 0, w = (size_t)width;
    fg_id *rows = malloc(nn * sizeof *rows + 1), *mine = malloc(nn * sizeof *mine + 1);
    int ok = rows && mine ? 1 : -1;
    for (k = 0; ok > 0 && k < nn; k++) {
        const fg_pair *d;
        if (g->op[nodes[k]] != FG_DOT)
            continue;
        d = fg_dot_pair(g, nodes[k]);
        ok = (nd % w == 0 || d->x == fg_dot_pair(g, dots[nd - nd % w])->x)
             && (nd < w || d->w == fg_dot_pair(g, dots[nd % w])->w);
        acts[nd] = act_of(acts_on, nacts, nodes[k]) ? order[act_of(acts_on, nacts,
                                                                     nodes[k])->at] : FG_NONE;
        dots[nd++] = nodes[k];
    }
    for (k = 0; ok > 0 && k < w; k++) {
        const fg_block *row = fg_dot_pair(g, dots[k])->w;
        for (int32_t j = 0; j < row->n; j++)
            if (row->ids[j] != FG_NONE)
                rows[nr++] = row->ids[j];
    }
    if (ok > 0) {
        qsort(rows, nr, sizeof *rows, fg_plan_compare_ids);
        memcpy(mine, nodes, nn * sizeof *mine);
        qsort(mine, nn, sizeof *mine, fg_plan_compare_ids);
    }
    for (k = 1; ok > 0 && k < nr; k++)
        ok = rows[k] != rows[k - 1];
    for (k = 0; ok > 0 && k < nd; k += w) {
        const fg_block *x = fg_dot_pair(g, dots[k])->x;
        ok = !overlaps(x, rows, nr) && !overlaps(x, mine, nn);
    }
    free(rows);
    free(mine);
    return ok;
}

int fg_plan_dense_sweep(fg_graph *g, const fg_id *order, size_t n, fg_batch_set *set,
                        int32_t before, claim *claims, size_t *nclaims, size_t *los,
                        uint8_t *gone, fg_id *run)
{
    dot_entry *dots;
    dense_call *calls;
    on_dot *acts = malloc((n + 1) * sizeof *acts);
    size_t *at = malloc((n + 1) * sizeof *at);
    size_t m, i, e, k, nacts = 0;
    int err = dense_calls_of(g, order, n, &dots, &calls, &m);
    if (!acts || !at)
        err = FG_ENOMEM;
    for (i = 0; !err && i < n; i++) /* the activation nodes on dots */
        if (fg_plan_is_activation(g->op[order[i]]) && g->op[g->kids[order[i]].bin.a] == FG_DOT)
            acts[nacts++] = (on_dot){g->kids[order[i]].bin.a, i};
    if (!err)
        qsort(acts, nacts, sizeof *acts, by_dot);
    for (i = 0; !err && i < m; i = e) {
        int32_t width = calls[i].width;
        size_t nn = 0, nids = 0, nc;
        fg_id *ids = NULL;
        int ok, with = nacts > 0, kernel;
        fg_batch *b;
        e = rows_end(calls, m, i);
        if ((nc = e - i) < 2)
            continue;
        ok = dense_movable(g, order, calls, i, e, acts, nacts, with, claims, *nclaims, run,
                           at, &nn, &ids, &nids);
        if (!ok && with) /* the activations in the way: the dots alone */
            ok = dense_movable(g, order, calls, i, e, acts, nacts, with = 0, claims, *nclaims,
                               run, at, &nn, &ids, &nids);
        if (ok <= 0) {
            err = ok < 0 ? FG_ENOMEM : FG_OK;
            continue;
        }
        claims[(*nclaims)++] = (claim){ids, nids};
        if (!(b = fg_plan_add_batch(set, FG_BATCH_DENSE, (int32_t)nc, nn, nc * (size_t)width,
                                    fg_dense_batch_scratch(calls[i].dots[0].x->n, width,
                                                           (int32_t)nc)))) {
            err = FG_ENOMEM;
            break;
        }
        b->sweep = 1;
        b->width = width;
        b->nodes = (int32_t)nn;
        if ((kernel = dense_kernel(g, order, run, nn, width, acts, with ? nacts : 0, b->calls,
                                   b->heads)) < 0) {
            err = FG_ENOMEM;
            break;
        }
        b->mode = kernel ? FG_DENSE_KERNEL : FG_DENSE_IN_ORDER;
        if (!kernel) { /* all its nodes, as the sweep runs them */
            memcpy(b->calls, run, nn * sizeof *run);
            b->n = (int32_t)nn;
        }
        for (k = 1; k < nn; k++) /* the last of them to run stands for them */
            gone[at[k]] = 1;
        los[set->n - 1 - before] = at[0];
    }
    free(dots);
    free(calls);
    free(acts);
    free(at);
    return err;
}
