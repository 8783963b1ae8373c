/* Batches of a recorded graph: which calls run together, and where; see batch.h. */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
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

static int compare_ids(const void *a, const void *b)
{
    fg_id x = *(const fg_id *)a, y = *(const fg_id *)b;
    return (x > y) - (x < y);
}

/* Is node c in the sorted ids[0 .. n)? */
static int among(const fg_id *ids, size_t n, fg_id c)
{
    return n && bsearch(&c, ids, n, sizeof *ids, compare_ids) != NULL;
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

/* A new batch of kind kind and n calls at the end of set, with room for ncalls calls and
 * nheads heads (FG_NONE), its kernels needing `need` doubles of scratch; NULL without
 * memory. */
static fg_batch *add_batch(fg_batch_set *set, int kind, int32_t n, size_t ncalls,
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

/* Is op an activation node's (one operand, a dense layer's activation)? */
static int is_activation_node(int op)
{
    return op != FG_LEAF && fg_is_activation(op);
}

/* -- Forward ---------------------------------------------------------------------------- */

/* A node and where the order has it. */
typedef struct place {
    fg_id id;
    size_t at;
} place;

static int by_id(const void *a, const void *b)
{
    return compare_ids(&((const place *)a)->id, &((const place *)b)->id);
}

/* Does every node with operands in block b come before entry first? (A leaf is there
 * from the start.) */
static int ready(const fg_graph *g, const fg_block *b, const place *places, size_t n,
                 size_t first)
{
    if (b->all_leaves)
        return 1;
    for (int32_t i = 0; i < b->n; i++) {
        place key = {b->ids[i], 0}, *p;
        if (b->ids[i] == FG_NONE || g->op[b->ids[i]] == FG_LEAF)
            continue;
        p = bsearch(&key, places, n, sizeof *places, by_id);
        if (p && p->at >= first)
            return 0;
    }
    return 1;
}

/* A batched call: its batch and place in it, by the call's entry. */
typedef struct member {
    size_t at;
    int32_t batch, s;
} member;

static int by_at(const void *a, const void *b)
{
    size_t x = ((const member *)a)->at, y = ((const member *)b)->at;
    return (x > y) - (x < y);
}

/* The dense layers' calls of order[0 .. n) that can run together where the first of
 * them stands: batches added to set, their dots to members[*nm ..], their first
 * places to firsts (by batch, from the set's first). */
static int dense_forward(fg_graph *g, const fg_id *order, size_t n, const place *places,
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
            ok = ready(g, calls[i].dots[r].w, places, n, first);
        for (k = i; ok && k < e; k++)
            ok = ready(g, calls[k].dots[0].x, places, n, first);
        if (!ok)
            continue;
        if (!(b = add_batch(set, FG_BATCH_DENSE, (int32_t)(e - i), (e - i) * (size_t)width,
                            (e - i) * (size_t)width,
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
    qsort(places, *n, sizeof *places, by_id);
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
            ok = ready(g, net->rows[u], places, *n, first);
        for (k = i; ok && k < e; k++)
            ok = ready(g, fg_call_of(g, order[calls[k].at])->x, places, *n, first);
        if (!ok)
            continue;
        if (!(b = add_batch(set, FG_BATCH_NET, (int32_t)(e - i), e - i, (e - i) * (size_t)nout,
                            fg_net_batch_scratch(net, (int32_t)(e - i)))))
            goto done;
        firsts[set->n - 1 - before] = first;
        b->nodes = b->n;
        for (k = i; k < e; k++) {
            b->calls[k - i] = order[calls[k].at];
            members[nm++] = (member){calls[k].at, set->n - 1, (int32_t)(k - i)};
        }
    }
    if (dense_forward(g, order, *n, places, set, before, members, &nm, firsts))
        goto done;
    qsort(members, nm, sizeof *members, by_at);
    /* the heads of batched calls whose rows are ready, the activation nodes on batched
     * dots (one each) */
    for (i = 0; i < *n; i++) {
        fg_id id = order[i];
        member key, *c;
        place where = {0, 0}, *p;
        fg_batch *b;
        if (g->op[id] != FG_HEAD && !is_activation_node(g->op[id]))
            continue;
        where.id = g->kids[id].bin.a;
        if (!(p = bsearch(&where, places, *n, sizeof *places, by_id)))
            continue;
        key.at = p->at;
        if (!(c = bsearch(&key, members, nm, sizeof *members, by_at)))
            continue;
        b = &set->batch[c->batch];
        if (g->op[id] == FG_HEAD
            && ready(g, fg_head_row(g, id), places, *n, firsts[c->batch - before])) {
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
        if (b->ids[i] != FG_NONE && among(ids, n, b->ids[i]))
            return 1;
    return 0;
}

/* Is node id, or an operand of it, among ids[0 .. n) (sorted)? */
static int touches(const fg_graph *g, fg_id id, const fg_id *ids, size_t n)
{
    fg_id node;
    double c;
    if (among(ids, n, id))
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
        return among(ids, n, g->kids[id].bin.a) || block_touches(fg_head_row(g, id), ids, n);
    for (int32_t k = 0; fg_slot(g, id, k, &node, &c); k++)
        if (node != FG_NONE && among(ids, n, node))
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
    qsort(ids, *n, sizeof *ids, compare_ids);
    return ids;
}

/* The operand sets of a sweep's batches so far. */
typedef struct claim {
    fg_id *ids;
    size_t n;
} claim;

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
            ok = !touches(g, id, *ids, *nids);
    }
    for (size_t c = 0; ok && c < nclaims; c++)
        for (k = 0; ok && k < *nids; k++)
            ok = !among(claims[c].ids, claims[c].n, (*ids)[k]);
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

/* Does an earlier claim hold one of ids[0 .. n)? */
static int claimed(const claim *claims, size_t nclaims, const fg_id *ids, size_t n)
{
    for (size_t c = 0; c < nclaims; c++)
        for (size_t k = 0; k < n; k++)
            if (among(claims[c].ids, claims[c].n, ids[k]))
                return 1;
    return 0;
}

/* An activation node on a dot, by the dot. */
typedef struct on_dot {
    fg_id dot;
    size_t at;
} on_dot;

static int by_dot(const void *a, const void *b)
{
    return compare_ids(&((const on_dot *)a)->dot, &((const on_dot *)b)->dot);
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
    qsort(*ids, *nids, sizeof **ids, compare_ids);
    qsort(at, *nn, sizeof *at, compare_sizes);
    lo = at[0];
    hi = at[*nn - 1];
    for (k = 0; k < *nn; k++) /* as the sweep runs them: last first */
        nodes[k] = order[at[*nn - 1 - k]];
    memcpy(members, nodes, *nn * sizeof *members);
    qsort(members, *nn, sizeof *members, compare_ids);
    for (k = lo + 1; ok && k < hi; k++)
        if (!among(members, *nn, order[k]))
            ok = !touches(g, order[k], *ids, *nids);
    ok = ok && !claimed(claims, nclaims, *ids, *nids);
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
        if (among(ids, n, b->ids[j]))
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
        qsort(rows, nr, sizeof *rows, compare_ids);
        memcpy(mine, nodes, nn * sizeof *mine);
        qsort(mine, nn, sizeof *mine, compare_ids);
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

/* The dense layers' calls of a sweep's order[0 .. n) that can run together where the
 * last of them to run stands: batches added to set (their places to los, by batch from
 * before), their operands to claims, their nodes marked gone but the last's. run: room
 * for n nodes. */
static int dense_sweep(fg_graph *g, const fg_id *order, size_t n, fg_batch_set *set,
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
        if (is_activation_node(g->op[order[i]]) && g->op[g->kids[order[i]].bin.a] == FG_DOT)
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
        if (!(b = add_batch(set, FG_BATCH_DENSE, (int32_t)nc, nn, nc * (size_t)width,
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
        if (!(b = add_batch(set, FG_BATCH_NET, (int32_t)(e - i), e - i, 0,
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
    if (dense_sweep(g, order, *n, set, before, claims, &nclaims, los, gone, run))
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
