/* Batches of a recorded graph (see batch.h): a network's calls (with their heads) batched
 * in a forward order and in a sweep's, the batch set, and running a batch; the dense
 * layers' batches are planned in batch_dense.c, with the helpers of batch_plan.h. */
#include <stdlib.h>
#include <string.h>

#include "batch_plan.h"
#include "dense.h"
#include "nary.h"
#include "net.h"
#include "ops.h"

/* A call in an order: its network, and where it stands. */
typedef struct entry {
    const fg_net *net;
    size_t at;
} entry;

static int by_net(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    uintptr_t p = (uintptr_t)x->net, q = (uintptr_t)y->net;
    if (p != q)
        return (p > q) - (p < q);
    return (x->at > y->at) - (x->at < y->at);
}

int fg_plan_compare_ids(const void *a, const void *b)
{
    fg_id x = *(const fg_id *)a, y = *(const fg_id *)b;
    return (x > y) - (x < y);
}

int fg_plan_among(const fg_id *ids, size_t n, fg_id c)
{
    return n && bsearch(&c, ids, n, sizeof *ids, fg_plan_compare_ids) != NULL;
}

int fg_plan_claimed(const claim *claims, size_t nclaims, const fg_id *ids, size_t n)
{
    for (size_t c = 0; c < nclaims; c++)
        for (size_t k = 0; k < n; k++)
            if (fg_plan_among(claims[c].ids, claims[c].n, ids[k]))
                return 1;
    return 0;
}

/* The network of an FG_NET or FG_HEAD node. */
static const fg_net *net_of(const fg_graph *g, fg_id id)
{
    return g->op[id] == FG_NET ? fg_call_of(g, id)->net : fg_head_call(g, id)->net;
}

/* The entries of order[0 .. n) with op op (FG_NET or FG_HEAD), each network's together
 * in the order's: *m of them; NULL without memory (or with none). */
static entry *nodes_of(const fg_graph *g, const fg_id *order, size_t n, int op, size_t *m)
{
    entry *calls;
    *m = 0;
    for (size_t i = 0; i < n; i++)
        *m += order[i] > 0 && g->op[order[i]] == op;
    if (!*m || !(calls = malloc(*m * sizeof *calls)))
        return NULL;
    for (size_t i = 0, k = 0; i < n; i++)
        if (order[i] > 0 && g->op[order[i]] == op)
            calls[k++] = (entry){net_of(g, order[i]), i};
    qsort(calls, *m, sizeof *calls, by_net);
    return calls;
}

/* The end of the group of calls starting at calls[i] (one network's). */
static size_t group_end(const entry *calls, size_t m, size_t i)
{
    size_t e = i;
    while (e < m && calls[e].net == calls[i].net)
        e++;
    return e;
}

fg_batch *fg_plan_add_batch(fg_batch_set *set, int kind, int32_t n, size_t ncalls,
                            size_t nheads, size_t need)
{
    fg_batch *grown = realloc(set->batch, ((size_t)set->n + 1) * sizeof *grown), *b;
    if (!grown)
        return NULL;
    set->batch = grown;
    b = &set->batch[set->n];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->n = n;
    b->mode = FG_BATCH_CALLS;
    b->nheads = (int32_t)nheads;
    b->calls = malloc(ncalls * sizeof *b->calls);
    b->heads = nheads ? calloc(nheads, sizeof *b->heads) : NULL; /* FG_NONE */
    if (!b->calls || (nheads && !b->heads)) {
        free(b->calls);
        free(b->heads);
        return NULL;
    }
    set->n++;
    if (need > set->scratch)
        set->scratch = need;
    return b;
}

/* Drop the batches set holds past its first n. */
static void truncate_set(fg_batch_set *set, int32_t n)
{
    while (set->n > n) {
        set->n--;
        free(set->batch[set->n].calls);
        free(set->batch[set->n].heads);
    }
}

void fg_batch_set_free(fg_batch_set *set)
{
    truncate_set(set, 0);
    free(set->batch);
    memset(set, 0, sizeof *set);
}

/* Drop the entries marked gone from order[0 .. *n). */
static void compact(fg_id *order, size_t *n, const uint8_t *gone)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (!gone[i])
            order[k++] = order[i];
    *n = k;
}

/* -- Forward ---------------------------------------------------------------------------- */

int fg_plan_by_id(const void *a, const void *b)
{
    return fg_plan_compare_ids(&((const place *)a)->id, &((const place *)b)->id);
}

int fg_plan_ready(const fg_graph *g, const fg_block *b, const place *places, size_t n,
                  size_t first)
{
    if (b->all_leaves)
        return 1;
    for (int32_t i = 0; i < b->n; i++) {
        place key = {b->ids[i], 0}, *p;
        if (b->ids[i] == FG_NONE || g->op[b->ids[i]] == FG_LEAF)
            continue;
        p = bsearch(&key, places, n, sizeof *places, fg_plan_by_id);
        if (p && p->at >= first)
            return 0;
    }
    return 1;
}
static int by_at(const void *a, const void *b)
{
    size_t x = ((const member *)a)->at, y = ((const member *)b)->at;
    return (x > y) - (x < y);
}

int fg_batch_forward(fg_graph *g, fg_id *order, size_t *n, fg_batch_set *set)
{
    size_t m, i, e, k, nm = 0;
    int32_t before = set->n;
    entry *calls = nodes_of(g, order, *n, FG_NET, &m);
    place *places = malloc((*n + 1) * sizeof *places);
    /* a batch's members: its calls or dots, fewer than the order's entries */
    member *members = malloc((*n + 1) * sizeof *members);
    size_t *firsts = malloc((*n + 1) * sizeof *firsts); /* by batch, from before */
    uint8_t *gone = calloc(*n + 1, 1);
    int err = FG_ENOMEM;
    if ((m && !calls) || !places || !members || !firsts || !gone)
        goto done;
    for (i = 0; i < *n; i++)
        places[i] = (place){order[i], i};
    qsort(places, *n, sizeof *places, fg_plan_by_id);
    for (i = 0; i < m; i = e) {
        const fg_net *net = calls[i].net;
        size_t first = calls[i].at;
        int32_t nout = net->layer[net->nlayers - 1].nout;
        int ok = 1;
        fg_batch *b;
        e = group_end(calls, m, i);
        if (e - i < 2)
            continue;
        for (int32_t u = 0; ok && u < net->layer[net->nlayers - 1].first; u++)
            ok = fg_plan_ready(g, net->rows[u], places, *n, first);
        for (k = i; ok && k < e; k++)
            ok = fg_plan_ready(g, fg_call_of(g, order[calls[k].at])->x, places, *n, first);
        if (!ok)
            continue;
        if (!(b = fg_plan_add_batch(set, FG_BATCH_NET, (int32_t)(e - i), e - i,
                                    (e - i) * (size_t)nout,
                                    fg_net_batch_scratch(net, (int32_t)(e - i)))))
            goto done;
        firsts[set->n - 1 - before] = first;
        b->nodes = b->n;
        for (k = i; k < e; k++) {
            b->calls[k - i] = order[calls[k].at];
            members[nm++] = (member){calls[k].at, set->n - 1, (int32_t)(k - i)};
        }
    }
    if (fg_plan_dense_forward(g, order, *n, places, set, before, members, &nm, firsts))
        goto done;
    qsort(members, nm, sizeof *members, by_at);
    /* the heads of batched calls whose rows are ready, the activation nodes on batched
     * dots (one each) */
    for (i = 0; i < *n; i++) {
        fg_id id = order[i];
        member key, *c;
        place where = {0, 0}, *p;
        fg_batch *b;
        if (g->op[id] != FG_HEAD && !fg_plan_is_activation(g->op[id]))
            continue;
        where.id = g->kids[id].bin.a;
        if (!(p = bsearch(&where, places, *n, sizeof *places, fg_plan_by_id)))
            continue;
        key.at = p->at;
        if (!(c = bsearch(&key, members, nm, sizeof *members, by_at)))
            continue;
        b = &set->batch[c->batch];
        if (g->op[id] == FG_HEAD
            && fg_plan_ready(g, fg_head_row(g, id), places, *n, firsts[c->batch - before])) {
            const fg_net *net = fg_call_of(g, b->calls[0])->net;
            size_t nout = (size_t)net->layer[net->nlayers - 1].nout;
            b->heads[(size_t)c->s * nout + (size_t)g->kids[id].bin.b] = id;
            b->nodes++;
            gone[i] = 1;
        } else if (b->kind == FG_BATCH_DENSE && b->heads[c->s] == FG_NONE) {
            b->heads[c->s] = id;
            b->nodes++;
            gone[i] = 1;
        }
    }
    for (k = 0; k < nm; k++) {
        const member *c = &members[k];
        if (c->at == firsts[c->batch - before])
            order[c->at] = FG_BATCH_ENTRY(c->batch);
        else
            gone[c->at] = 1;
    }
    compact(order, n, gone);
    err = FG_OK;
done:
    if (err)
        truncate_set(set, before);
    free(calls);
    free(places);
    free(members);
    free(firsts);
    free(gone);
    return err;
}

/* -- Backward --------------------------------------------------------------------------- */

static int block_touches(const fg_block *b, const fg_id *ids, size_t n)
{
    for (int32_t i = 0; i < b->n; i++)
        if (b->ids[i] != FG_NONE && fg_plan_among(ids, n, b->ids[i]))
            return 1;
    return 0;
}

int fg_plan_touches(const fg_graph *g, fg_id id, const fg_id *ids, size_t n)
{
    fg_id node;
    double c;
    if (fg_plan_among(ids, n, id))
        return 1;
    if (g->op[id] == FG_NET) { /* its slots by block: fg_slot walks the rows per slot */
        const fg_net_call *t = fg_call_of(g, id);
        if (block_touches(t->x, ids, n))
            return 1;
        for (int32_t u = 0; u < t->net->layer[t->net->nlayers - 1].first; u++)
            if (block_touches(t->net->rows[u], ids, n))
                return 1;
        return 0;
    }
    if (g->op[id] == FG_HEAD)
        return fg_plan_among(ids, n, g->kids[id].bin.a)
               || block_touches(fg_head_row(g, id), ids, n);
    for (int32_t k = 0; fg_slot(g, id, k, &node, &c); k++)
        if (node != FG_NONE && fg_plan_among(ids, n, node))
            return 1;
    return 0;
}

/* The operands of calls of one network at calls[i .. e) of order, sorted: their
 * inputs and the hidden rows' nodes, and with out the output layer's too (the heads');
 * *n of them; NULL without memory. */
static fg_id *operands(const fg_graph *g, const fg_id *order, const entry *calls, size_t i,
                       size_t e, int out, size_t *n)
{
    const fg_net *net = calls[i].net;
    int32_t rows = out ? net->units : net->layer[net->nlayers - 1].first;
    size_t k, total = 0;
    fg_id *ids;
    for (int32_t u = 0; u < rows; u++)
        total += (size_t)net->rows[u]->n;
    for (k = i; k < e; k++)
        total += (size_t)fg_call_of(g, order[calls[k].at])->x->n;
    if (!(ids = malloc((total + 1) * sizeof *ids)))
        return NULL;
    *n = 0;
    for (int32_t u = 0; u < rows; u++)
        for (int32_t j = 0; j < net->rows[u]->n; j++)
            if (net->rows[u]->ids[j] != FG_NONE)
                ids[(*n)++] = net->rows[u]->ids[j];
    for (k = i; k < e; k++) {
        const fg_block *x = fg_call_of(g, order[calls[k].at])->x;
        for (int32_t j = 0; j < x->n; j++)
            if (x->ids[j] != FG_NONE)
                ids[(*n)++] = x->ids[j];
    }
    qsort(ids, *n, sizeof *ids, fg_plan_compare_ids);
    return ids;
}

/* Can the calls at calls[i .. e) of order (one network's) run where the first of them
 * stands, with their heads (heads folded, the last at order[top]: then no call may take
 * one of them as an input) or without? 1, and
 * *ids their operands (*nids of them) to claim; 0; or -1 without memory. */
static int movable(const fg_graph *g, const fg_id *order, const entry *calls, size_t i,
                   size_t e, int folded, size_t top, const claim *claims, size_t nclaims,
                   fg_id **ids, size_t *nids)
{
    const fg_net *net = calls[i].net;
    size_t lo = calls[i].at, hi = folded && top > calls[e - 1].at ? top : calls[e - 1].at, k;
    int ok = 1;
    if (!(*ids = operands(g, order, calls, i, e, folded, nids)))
        return -1;
    for (k = i; folded && ok && k < e; k++) { /* the heads would run before any call */
        const fg_block *x = fg_call_of(g, order[calls[k].at])->x;
        for (int32_t j = 0; ok && j < x->n; j++)
            ok = x->ids[j] == FG_NONE || g->op[x->ids[j]] != FG_HEAD
                 || net_of(g, x->ids[j]) != net;
    }
    for (k = lo + 1; ok && k < hi; k++) {
        fg_id id = order[k];
        int op = g->op[id];
        if (!((op == FG_NET || (folded && op == FG_HEAD)) && net_of(g, id) == net))
            ok = !fg_plan_touches(g, id, *ids, *nids);
    }
    ok = ok && !fg_plan_claimed(claims, nclaims, *ids, *nids);
    if (!ok) {
        free(*ids);
        *ids = NULL;
    }
    return ok;
}

/* Are heads[0 .. n) (in the order the sweep runs them) calls' heads in turn, all of
 * each call's, every call's in the same order of neurons (fg_net_heads_backward's
 * kernel)? */
static int heads_by_call(const fg_graph *g, const fg_id *heads, int32_t n, int32_t nout)
{
    if (n % nout)
        return 0;
    for (int32_t k = 0; k < n; k++) {
        fg_id first = heads[k - k % nout];
        if (g->kids[heads[k]].bin.a != g->kids[first].bin.a
            || g->kids[heads[k]].bin.b != g->kids[heads[k % nout]].bin.b)
            return 0;
    }
    return 1;
}

int fg_batch_sweep(fg_graph *g, fg_id *order, size_t *n, fg_batch_set *set)
{
    size_t m, nh, i, e, h = 0, he, k, nclaims = 0;
    int32_t before = set->n;
    entry *calls = nodes_of(g, order, *n, FG_NET, &m);
    entry *heads = nodes_of(g, order, *n, FG_HEAD, &nh);
    claim *claims = malloc((*n + 1) * sizeof *claims); /* batches: fewer than entries */
    size_t *los = malloc((*n + 1) * sizeof *los); /* by batch, from before */
    uint8_t *gone = calloc(*n + 1, 1);
    fg_id *run = malloc((*n + 1) * sizeof *run); /* a batch's nodes as the sweep runs them */
    int err = FG_ENOMEM;
    if ((m && !calls) || (nh && !heads) || !claims || !los || !gone || !run)
        goto done;
    for (i = 0; i < m; i = e) {
        const fg_net *net = calls[i].net;
        size_t nids = 0;
        fg_id *ids = NULL;
        int ok, folded, mode;
        fg_batch *b;
        e = group_end(calls, m, i);
        while (h < nh && (uintptr_t)heads[h].net < (uintptr_t)net)
            h++;
        he = h < nh && heads[h].net == net ? group_end(heads, nh, h) : h;
        if (e - i < 2)
            continue;
        for (k = i; k < e; k++) /* swept from the last: the calls run last first */
            run[e - 1 - k] = order[calls[k].at];
        mode = fg_net_batch_mode(g, run, (int32_t)(e - i));
        folded = he > h && mode != FG_BATCH_CALLS;
        ok = movable(g, order, calls, i, e, folded, folded ? heads[he - 1].at : 0, claims,
                     nclaims, &ids, &nids);
        if (!ok && folded) /* the heads' operands in the way: the calls alone */
            ok = movable(g, order, calls, i, e, folded = 0, 0, claims, nclaims, &ids, &nids);
        if (ok < 0)
            goto done;
        if (!ok)
            continue;
        claims[nclaims++] = (claim){ids, nids};
        if (!(b = fg_plan_add_batch(set, FG_BATCH_NET, (int32_t)(e - i), e - i, 0,
                                    fg_net_batch_scratch(net, (int32_t)(e - i)))))
            goto done;
        b->sweep = 1;
        b->mode = mode;
        memcpy(b->calls, run, (e - i) * sizeof *run);
        for (k = i; k < e; k++)
            gone[calls[k].at] = calls[k].at != calls[i].at;
        if (folded) {
            b->nheads = (int32_t)(he - h);
            if (!(b->heads = malloc((he - h) * sizeof *b->heads)))
                goto done;
            for (k = h; k < he; k++) {
                b->heads[he - 1 - k] = order[heads[k].at];
                gone[heads[k].at] = 1;
            }
            b->heads_kernel = heads_by_call(g, b->heads, b->nheads,
                                            net->layer[net->nlayers - 1].nout);
        }
        b->nodes = b->n + b->nheads;
        los[set->n - 1 - before] = calls[i].at;
    }
    if (fg_plan_dense_sweep(g, order, *n, set, before, claims, &nclaims, los, gone, run))
        goto done;
    for (int32_t b = before; b < set->n; b++)
        order[los[b - before]] = FG_BATCH_ENTRY(b);
    compact(order, n, gone);
    err = FG_OK;
done:
    if (err)
        truncate_set(set, before);
    while (nclaims)
        free(claims[--nclaims].ids);
    free(calls);
    free(heads);
    free(claims);
    free(los);
    free(gone);
    free(run);
    return err;
}

/* -- Running them ----------------------------------------------------------------------- */

void fg_batch_forward_run(fg_graph *g, const fg_batch *b, double *scratch)
{
    if (b->kind == FG_BATCH_DENSE)
        fg_dense_forward_batch(g, b->calls, b->heads, b->n, b->width, scratch);
    else
        fg_net_forward_batch(g, b->calls, b->n, b->heads, scratch);
}

void fg_batch_backward_run(fg_graph *g, const fg_batch *b, double *scratch)
{
    if (b->kind == FG_BATCH_DENSE && b->mode == FG_DENSE_KERNEL) {
        fg_dense_backward_batch(g, b->calls, b->heads, b->n, b->width, scratch);
        return;
    }
    if (b->kind == FG_BATCH_DENSE) { /* no custom node here: it cannot fail */
        for (int32_t k = 0; k < b->n; k++)
            (void)fg_backward_node(g, b->calls[k]);
        return;
    }
    if (b->nheads)
        fg_net_heads_backward(g, b->heads, b->nheads, b->heads_kernel, scratch);
    fg_net_backward_batch(g, b->calls, b->n, b->mode, scratch);
}
