/* Fused networks; see net.h. */
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "nary.h"
#include "ops.h"

static size_t stack_bytes(int32_t nlayers, int32_t units)
{
    return sizeof(fg_stack) + (size_t)nlayers * sizeof(fg_stack_layer)
           + (size_t)units * sizeof(fg_block *);
}

fg_stack *fg_stack_new(fg_graph *g, int32_t nlayers, int32_t units)
{
    fg_stack *s;
    if (nlayers < 0 || units < 0 || !(s = calloc(1, stack_bytes(nlayers, units))))
        return NULL;
    s->refs = 1;
    s->nlayers = nlayers;
    s->units = units;
    s->layer = (fg_stack_layer *)(s + 1);
    s->rows = (fg_block **)(s->layer + nlayers);
    g->block_bytes += stack_bytes(nlayers, units);
    return s;
}

/* Let go of one reference on s; the last frees it and puts what only its rows (NULL
 * where never filled) kept alive on the release worklist *head. */
static void release_stack(fg_graph *g, fg_stack *s, fg_id *head)
{
    if (--s->refs > 0)
        return;
    for (int32_t u = 0; u < s->units; u++)
        if (s->rows[u])
            fg_block_release(g, s->rows[u], head);
    g->block_bytes -= stack_bytes(s->nlayers, s->units);
    free(s);
}

void fg_stack_drop(fg_graph *g, fg_stack *s)
{
    fg_id head = FG_NONE;
    release_stack(g, s, &head);
    fg_release(g, head);
}

static size_t tape_bytes(int32_t units, int32_t nin)
{
    return sizeof(fg_tape) + (3 * (size_t)units + (size_t)nin) * sizeof(double);
}

/* A tape for one call of s on inputs x (references taken on both), gh and gz zero,
 * h and in for the forward to fill; NULL when memory runs out. */
static fg_tape *tape_new(fg_graph *g, fg_stack *s, fg_block *x)
{
    fg_tape *t = malloc(tape_bytes(s->units, x->n));
    if (!t)
        return NULL;
    t->stack = s;
    t->x = x;
    s->refs++;
    x->refs++;
    t->h = (double *)(t + 1);
    t->gh = t->h + s->units;
    t->gz = t->gh + s->units;
    t->in = t->gz + s->units;
    memset(t->gh, 0, 2 * (size_t)s->units * sizeof(double));
    g->block_bytes += tape_bytes(s->units, x->n);
    return t;
}

static void release_tape(fg_graph *g, fg_tape *t, fg_id *head)
{
    g->block_bytes -= tape_bytes(t->stack->units, t->x->n);
    fg_block_release(g, t->x, head);
    release_stack(g, t->stack, head);
    free(t);
}

static int compare_ids(const void *a, const void *b)
{
    fg_id x = *(const fg_id *)a, y = *(const fg_id *)b;
    return (x > y) - (x < y);
}

/* Does any node fill two slots of the rows? (Then the order in which its grad takes
 * their terms is the unfused graph's only if they are taken one row at a time.) */
static int shares_a_node(const fg_stack *s)
{
    size_t n = 0, slots = 0;
    fg_id *ids;
    int shared = 0;
    for (int32_t u = 0; u < s->units; u++)
        slots += (size_t)s->rows[u]->n;
    if (!(ids = malloc((slots ? slots : 1) * sizeof *ids)))
        return 1; /* cannot tell: assume it does */
    for (int32_t u = 0; u < s->units; u++)
        for (int32_t i = 0; i < s->rows[u]->n; i++)
            if (s->rows[u]->ids[i] != FG_NONE)
                ids[n++] = s->rows[u]->ids[i];
    qsort(ids, n, sizeof *ids, compare_ids);
    for (size_t i = 1; i < n && !shared; i++)
        shared = ids[i] == ids[i - 1];
    free(ids);
    return shared;
}

void fg_stack_finish(fg_stack *s)
{
    int32_t hidden = s->layer[s->nlayers - 1].first; /* rows of the hidden layers */
    s->leaves = s->nodes = 1;
    for (int32_t u = 0; u < s->units; u++) {
        if (u < hidden && !s->rows[u]->leaves)
            s->leaves = 0;
        if (!s->rows[u]->nodes)
            s->nodes = 0;
    }
    s->runs = 1;
    for (int32_t u = 0; u < s->units; u++)
        if (!s->rows[u]->runs)
            s->runs = 0;
    s->runs = s->runs && !shares_a_node(s);
    s->lo = s->hi = s->rows[0]->ids[0];
    for (int32_t u = 0; s->runs && u < s->layer[0].nout; u++) {
        const fg_block *row = s->rows[u];
        if (row->ids[0] < s->lo)
            s->lo = row->ids[0];
        if (row->ids[row->n - 1] > s->hi)
            s->hi = row->ids[row->n - 1];
    }
}

/* How the forward reads the rows' weights: as arrays (each row's ids run on by one),
 * by id, or from constants too. */
enum layout { RUNS, NODES, ANY };

/* Neighbouring neurons summed together, each in its own order: their additions
 * overlap instead of each waiting on the one before (and pair up in vectors). */
#define FG_NET_LANES 8

/* out[j] = act(bias_j + w_j0*in[0] + w_j1*in[1] + ...) for the nout rows: FG_DOT's
 * sum, then the activation's forward rule. Inlined with a constant layout: one copy
 * of the loop per layout, with no test per weight. */
static inline void forward_rows(const fg_graph *g, fg_block *const *rows, int32_t nout,
                                int32_t nin, int act, const double *in, double *out,
                                enum layout layout)
{
    int32_t j = 0, k, i, n;
    for (; j < nout; j += n) {
        const fg_block *r[FG_NET_LANES];
        const double *w[FG_NET_LANES]; /* RUNS: the rows' weights */
        double a[FG_NET_LANES];
        n = nout - j < FG_NET_LANES ? nout - j : FG_NET_LANES;
        for (i = 0; i < n; i++) {
            r[i] = rows[j + i];
            w[i] = g->data + r[i]->ids[0];
        }
#define FG_WEIGHT(i, k) (layout == RUNS ? w[i][k] : layout == NODES ? g->data[r[i]->ids[k]] \
                                                                  : fg_slot(g, r[i], k))
        for (i = 0; i < n; i++)
            a[i] = FG_WEIGHT(i, nin);
        if (n == FG_NET_LANES) /* a constant count: the lanes stay in registers */
            for (k = 0; k < nin; k++)
                for (i = 0; i < FG_NET_LANES; i++)
                    a[i] = a[i] + FG_WEIGHT(i, k) * in[k];
        else
            for (i = 0; i < n; i++)
                for (k = 0; k < nin; k++)
                    a[i] = a[i] + FG_WEIGHT(i, k) * in[k];
#undef FG_WEIGHT
        for (i = 0; i < n; i++)
            out[j + i] = fg_activate(act, a[i]);
    }
}

static void forward_layer(const fg_graph *g, const fg_stack *s, const fg_stack_layer *L,
                          const double *in, double *out)
{
    fg_block *const *rows = s->rows + L->first;
    if (s->runs)
        forward_rows(g, rows, L->nout, L->nin, L->act, in, out, RUNS);
    else if (s->nodes)
        forward_rows(g, rows, L->nout, L->nin, L->act, in, out, NODES);
    else
        forward_rows(g, rows, L->nout, L->nin, L->act, in, out, ANY);
}

void fg_net_forward(const fg_graph *g, const fg_stack *s, const fg_block *x, double *in,
                    double *h)
{
    for (int32_t k = 0; k < x->n; k++)
        in[k] = fg_slot(g, x, k);
    for (int32_t l = 0; l < s->nlayers; l++) {
        const fg_stack_layer *L = &s->layer[l];
        forward_layer(g, s, L, in, h + L->first);
        in = h + L->first;
    }
}

fg_id fg_net(fg_graph *g, fg_stack *s, fg_block *x, fg_id *heads)
{
    const fg_stack_layer *last = &s->layer[s->nlayers - 1];
    fg_tape *t = tape_new(g, s, x);
    fg_id net;
    int32_t j;
    if (!t)
        return FG_NONE;
    fg_net_forward(g, s, x, t->in, t->h); /* the output layer's values too: the heads' data */
    if ((net = fg_take_slot(g, FG_NET, 0.0, NULL)) == FG_NONE) {
        fg_id head = FG_NONE;
        release_tape(g, t, &head);
        fg_release(g, head);
        return FG_NONE;
    }
    g->kids[net].tape = t;
    for (j = 0; j < last->nout; j++) {
        fg_id head = fg_take_slot(g, FG_HEAD, t->h[last->first + j], NULL);
        if (head == FG_NONE)
            break;
        g->kids[head].bin.a = net;
        g->kids[head].bin.b = j;
        g->refs[net]++;
        heads[j] = head;
    }
    if (j < last->nout) { /* out of nodes: the last head to go takes the net with it */
        if (j == 0)
            fg_discard(g, net);
        while (j-- > 0)
            fg_discard(g, heads[j]);
        return FG_NONE;
    }
    return net;
}

/* The grad of neuron u's dot node, once its activation node (output out, grad gr)
 * has passed its own back; a linear neuron's dot has no activation after it. */
static inline double dot_grad(fg_tape *t, int act, int32_t u, double out, double gr)
{
    if (act == FG_LEAF)
        return gr;
    fg_act_backward(act, out, gr, &t->gz[u]);
    return t->gz[u];
}

/* FG_DOT's backward for a neuron whose inputs are the hidden neurons below it: their
 * data h and grads gh are on the tape. */
static inline void back_to_hidden(fg_graph *g, const fg_block *w, double gr, const double *h,
                                  double *gh)
{
    double *data = g->data, *grad = g->grad;
    int32_t n = w->n - 1, k;
    if (w->nodes) { /* the common case, without a test per weight */
        for (k = 0; k < n; k++) {
            fg_id wk = w->ids[k];
            grad[wk] += h[k] * gr;
            gh[k] += data[wk] * gr;
        }
        grad[w->ids[n]] += gr;
        return;
    }
    for (k = 0; k < n; k++) {
        fg_id wk = w->ids[k];
        if (wk != FG_NONE) grad[wk] += h[k] * gr;
        gh[k] += fg_slot(g, w, k) * gr;
    }
    if (w->ids[n] != FG_NONE)
        grad[w->ids[n]] += gr;
}

void fg_head_backward(fg_graph *g, fg_id id)
{
    fg_tape *t = fg_call_tape(g, g->kids[id].bin.a);
    const fg_stack *s = t->stack;
    const fg_stack_layer *L = &s->layer[s->nlayers - 1], *below = L - 1;
    int32_t u = L->first + g->kids[id].bin.b;
    double gr = dot_grad(t, L->act, u, g->data[id], g->grad[id]);
    back_to_hidden(g, s->rows[u], gr, t->h + below->first, t->gh + below->first);
}

/* The loop of back4_runs, on arrays the compiler is told are disjoint: it runs a
 * vector of k at a time (each grad still takes its terms in the same order). */
static void back4_arrays(double *restrict ga, double *restrict gb, double *restrict gc,
                         double *restrict gd, const double *restrict a,
                         const double *restrict b, const double *restrict c,
                         const double *restrict d, const double *restrict h,
                         double *restrict gh, const double *gr, int32_t n)
{
    double g0 = gr[0], g1 = gr[1], g2 = gr[2], g3 = gr[3];
    for (int32_t k = 0; k < n; k++) {
        double x = h[k];
        ga[k] += x * g0;
        gb[k] += x * g1;
        gc[k] += x * g2;
        gd[k] += x * g3;
        gh[k] = (((gh[k] + a[k] * g0) + b[k] * g1) + c[k] * g2) + d[k] * g3;
    }
    ga[n] += g0;
    gb[n] += g1;
    gc[n] += g2;
    gd[n] += g3;
}

/* back_to_hidden for four neurons of one layer, w[0] first (the sweep's order), with
 * dot grads gr[0..3], where the rows are runs of distinct nodes: their data and grads
 * are arrays, disjoint from each other and from the tape, and each hidden input's
 * grad takes the four terms in that order. */
static inline void back4_runs(fg_graph *g, fg_block *const *w, const double *gr,
                              const double *h, double *gh)
{
    fg_id a = w[0]->ids[0], b = w[1]->ids[0], c = w[2]->ids[0], d = w[3]->ids[0];
    back4_arrays(g->grad + a, g->grad + b, g->grad + c, g->grad + d, g->data + a, g->data + b,
                 g->data + c, g->data + d, h, gh, gr, w[0]->n - 1);
}

/* Can the first layer's backward take the inputs' grads a whole input at a time?
 * Yes when its rows are runs of distinct nodes and no input node is another input
 * or one of those rows' nodes: then each input's grad, held in a register, takes
 * the neurons' terms in the same order as one neuron at a time would give them.
 * In O(inputs): the input nodes' ids must rise (as Values made in turn do), and an
 * id inside the rows' span is looked for in each row. */
static int inputs_apart(const fg_stack *s, const fg_block *x)
{
    const fg_stack_layer *L = &s->layer[0];
    fg_id last = FG_NONE;
    if (!s->runs)
        return 0;
    for (int32_t k = 0; k < x->n; k++) {
        fg_id c = x->ids[k];
        if (c == FG_NONE)
            continue;
        if (c <= last)
            return 0;
        last = c;
        if (c < s->lo || c > s->hi)
            continue;
        for (int32_t j = 0; j < L->nout; j++) {
            fg_id first = s->rows[L->first + j]->ids[0];
            if (c >= first && c <= first + L->nin)
                return 0;
        }
    }
    return 1;
}

/* The first layer's backward when inputs_apart: gr[j] is neuron j's dot grad. */
static void back_to_inputs(fg_graph *g, const fg_stack *s, const fg_block *x, const double *gr)
{
    const fg_stack_layer *L = &s->layer[0];
    fg_block *const *rows = s->rows + L->first;
    double *grad = g->grad;
    const double *data = g->data;
    for (int32_t k = 0; k < x->n; k++) {
        fg_id c = x->ids[k];
        double xd = fg_slot(g, x, k), acc = c != FG_NONE ? grad[c] : 0.0;
        for (int32_t j = L->nout - 1; j >= 0; j--) {
            fg_id w = rows[j]->ids[0] + k;
            grad[w] += xd * gr[j];
            acc += data[w] * gr[j];
        }
        if (c != FG_NONE)
            grad[c] = acc;
    }
    for (int32_t j = L->nout - 1; j >= 0; j--)
        grad[rows[j]->ids[0] + L->nin] += gr[j];
}

void fg_call_backward(fg_graph *g, fg_id id)
{
    fg_tape *t = fg_call_tape(g, id);
    const fg_stack *s = t->stack;
    for (int32_t l = s->nlayers - 2; l >= 0; l--) {
        const fg_stack_layer *L = &s->layer[l];
        int32_t j = L->nout - 1;
        if (l > 0 && s->runs) /* neurons four at a time, last first */
            for (; j >= 3; j -= 4) {
                double gr[4];
                fg_block *rows[4];
                for (int32_t i = 0; i < 4; i++) {
                    int32_t u = L->first + j - i;
                    gr[i] = dot_grad(t, L->act, u, t->h[u], t->gh[u]);
                    rows[i] = s->rows[u];
                }
                back4_runs(g, rows, gr, t->h + L[-1].first, t->gh + L[-1].first);
            }
        if (l == 0 && inputs_apart(s, t->x)) {
            /* the dot grads first (the tape's gz, or gh for a linear layer), then the
             * inputs and weights take them */
            for (; j >= 0; j--)
                dot_grad(t, L->act, L->first + j, t->h[L->first + j], t->gh[L->first + j]);
            back_to_inputs(g, s, t->x, (L->act == FG_LEAF ? t->gh : t->gz) + L->first);
            continue;
        }
        for (; j >= 0; j--) {
            int32_t u = L->first + j;
            double gr = dot_grad(t, L->act, u, t->h[u], t->gh[u]);
            if (l > 0)
                back_to_hidden(g, s->rows[u], gr, t->h + L[-1].first, t->gh + L[-1].first);
            else
                fg_dot_backward_blocks(g, s->rows[u], t->x, gr);
        }
    }
}

fg_id fg_head_operand(const fg_graph *g, fg_id id, int32_t *k)
{
    const fg_block *row = fg_head_row(g, id);
    if (*k == 0) {
        (*k)++;
        return g->kids[id].bin.a;
    }
    while (*k <= row->n) {
        fg_id c = row->ids[(*k)++ - 1];
        if (c != FG_NONE)
            return c;
    }
    return FG_NONE;
}

fg_id fg_call_operand(const fg_graph *g, fg_id id, int32_t *k)
{
    const fg_tape *t = fg_call_tape(g, id);
    const fg_stack *s = t->stack;
    for (;;) {
        int32_t i = (*k)++, l;
        fg_id c = FG_NONE;
        if (i < t->x->n) {
            c = t->x->ids[i];
        } else {
            i -= t->x->n;
            for (l = 0; l < s->nlayers - 1; l++) {
                const fg_stack_layer *L = &s->layer[l];
                if (i < L->nout * (L->nin + 1))
                    break;
                i -= L->nout * (L->nin + 1);
            }
            if (l == s->nlayers - 1)
                return FG_NONE;
            c = s->rows[s->layer[l].first + i / (s->layer[l].nin + 1)]
                    ->ids[i % (s->layer[l].nin + 1)];
        }
        if (c != FG_NONE)
            return c;
    }
}

/* The whole call again, on its operands' data as they are now: the heads then read
 * their values from the tape. The node's own data stays 0. */
int fg_call_forward(fg_graph *g, fg_id id)
{
    fg_tape *t = fg_call_tape(g, id);
    fg_net_forward(g, t->stack, t->x, t->in, t->h);
    return FG_OK;
}

int fg_head_forward(fg_graph *g, fg_id id)
{
    const fg_tape *t = fg_call_tape(g, g->kids[id].bin.a);
    const fg_stack_layer *last = &t->stack->layer[t->stack->nlayers - 1];
    g->data[id] = t->h[last->first + g->kids[id].bin.b];
    return FG_OK;
}

void fg_call_release(fg_graph *g, fg_id id, fg_id *head)
{
    release_tape(g, fg_call_tape(g, id), head);
}

void fg_head_release(fg_graph *g, fg_id id, fg_id *head)
{
    fg_release_push(g, g->kids[id].bin.a, head); /* kids.bin.b is a neuron, no node */
}

int fg_head_act(const fg_graph *g, fg_id id)
{
    const fg_stack *s = fg_call_tape(g, g->kids[id].bin.a)->stack;
    return s->layer[s->nlayers - 1].act;
}
