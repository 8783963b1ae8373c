/* Release: freeing the dead nodes on a worklist, and what only they kept alive. */
#include "store.h"
#include "store_release.h"

/* Free dead node x, the worklist's head, whatever it is: its operands let go by its
 * op's rule, its label dropped, its slot back in any chunk. The worklist's next head. */
static FG_NOINLINE fg_id release_one(fg_graph *g, fg_id x)
{
    fg_id head = g->visit[x].next_dead;
    fg_release_fn rule = g->release_rules[g->op[x]];
    g->visit[x].stamp = 0; /* as a fresh slot's (store.h), in a line just read */
    assert(g->refs[x] == 0 && g->op[x] < FG_NOPS && g->owner[x] == NULL);
    if (rule) {
        rule(g, x, &head);
    } else {
        fg_id a = g->kids[x].bin.a, b = g->kids[x].bin.b;
        if (a != FG_NONE)
            fg_release_push(g, a, &head);
        if (b != FG_NONE)
            fg_release_push(g, b, &head);
    }
    if (FG_UNLIKELY(g->flags[x])) {
        if (g->flags[x] & FG_FLAG_LABEL)
            g->drop_label(x);
        g->flags[x] = 0; /* as a fresh slot's (store.h): the next node's start */
    }
    g->op[x] = FG_FREE;
    g->grad[x] = 0.0;
    fg_free_slot(g, x);
    return head;
}

/* Where a run of release_run stopped: returned in registers, so that the run holds no
 * pointer to write it through (nor g) while it frees nodes. */
typedef struct fg_run {
    fg_id head;      /* the worklist's next head */
    fg_id free_head; /* the current chunk's free list, the nodes freed at its start */
    fg_id freed;     /* how many */
    fg_id pin;       /* a custom node that lives on, whose pin to look at; or FG_NONE */
} fg_run;

/* Free the dead nodes on the worklist from head on as long as each is scalar,
 * unflagged and in the current chunk (a graph dying soon after it was made), into the
 * current chunk's free list: a leaf function, so that its state stays in registers
 * (the caller counts the nodes and keeps the list). The arrays stay where they are (a
 * release makes no node): read once, as each store to them (a byte's above all) may
 * alias g's fields, which the compiler would otherwise read again for every node.
 * Stops before any other node, or as soon as a node lets go of a custom node that
 * lives on: the caller must look at its pin before anything else moves its count (as
 * fg_release_push would), then let go of *rest, the operand the dead node has not let
 * go of yet, if any. */
static FG_NOINLINE fg_run release_run(const fg_graph *g, fg_id head, fg_id *rest)
{
    uint8_t *const op = g->op;
    const uint8_t *const flags = g->flags;
    double *const grad = g->grad;
    fg_kids *const kids = g->kids;
    uint32_t *const refs = g->refs;
    fg_visit *const visit = g->visit;
    const int ruled_from = g->ruled_from;
    /* x is in the current chunk iff (x & high) == cur_base; none matches no chunk */
    const uint32_t high = ~(((uint32_t)1 << g->chunk_shift) - 1);
    const uint32_t cur_base = g->cur == FG_NO_CHUNK ? UINT32_MAX : g->cur << g->chunk_shift;
    fg_run r;
    r.free_head = g->free_head;
    r.freed = 0;
    r.pin = FG_NONE;
    while (head != FG_NONE) {
        fg_id x = head, a, b;
        assert(refs[x] == 0 && op[x] < FG_NOPS && g->owner[x] == NULL);
        if (FG_UNLIKELY(op[x] >= ruled_from || flags[x]
                        || ((uint32_t)x & high) != cur_base))
            break;
        head = visit[x].next_dead;
        visit[x].stamp = 0;
        a = kids[x].bin.a;
        b = kids[x].bin.b;
        op[x] = FG_FREE;
        grad[x] = 0.0;
        kids[x].bin.a = r.free_head;
        r.free_head = x;
        r.freed++;
        if (a != FG_NONE && fg_release_drop_in(refs, visit, op, a, &head)) {
            r.pin = a;
            *rest = b;
            break;
        }
        if (b != FG_NONE && fg_release_drop_in(refs, visit, op, b, &head)) {
            r.pin = b;
            break;
        }
    }
    r.head = head;
    return r;
}

/* Dead nodes wait on the list linked through their own visit field, which a dead
 * node no longer needs for walks, so this neither recurses nor allocates: a chain of
 * any length frees in O(1) space. A dead node's owner is NULL already (an owner holds
 * a reference). Most nodes go in runs of release_run, the others one by one. */
void fg_release(fg_graph *g, fg_id head)
{
    while (head != FG_NONE) {
        fg_id rest = FG_NONE;
        fg_run r = release_run(g, head, &rest);
        head = r.head;
        g->free_head = r.free_head;
        g->live -= r.freed;
        g->freed += (uint64_t)r.freed;
        if (FG_UNLIKELY(r.pin != FG_NONE)) {
            fg_custom_repin(g, r.pin);
            if (rest != FG_NONE)
                fg_release_push(g, rest, &head);
        } else if (head != FG_NONE) {
            head = release_one(g, head);
        }
    }
    fg_trim_after_release(g);
    if (FG_UNLIKELY(g->unpin_head != FG_NONE)) /* last: it may run user code, which */
        fg_custom_unpin_queued(g);               /* may release again */
}

void fg_discard(fg_graph *g, fg_id id)
{
    assert(g->owner[id] == NULL);
    if (g->refs[id] == 0) {
        g->visit[id].next_dead = FG_NONE;
        fg_release(g, id);
    }
}
