/* The graph store: allocation in chunks, growth, and what a release gives back
 * (release.c frees the dead nodes themselves). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pages.h"
#include "store.h"
#include "store_release.h"

/* Ids are int32; the top 64 Ki are left out, so the capacity is a whole number of
 * chunks of any size up to that. */
#define FG_MAX_SLOTS (INT32_MAX - 65535)
/* The store starts with this many slots of address space, touched only as nodes are
 * made, and keeps at least this many slots' worth of empty chunks resident for the
 * next graph (3.2 MB), so a small training loop never faults its arrays again. */
#define FG_BASE_SLOTS 65536
/* Chunks are a page of the narrowest array, at least 4 Ki slots, at most 64 Ki. */
#define FG_MIN_CHUNK_SHIFT 12
#define FG_MAX_CHUNK_SHIFT 16

/* The node arrays: where each one's pointer is in the store, and its element size. */
static const struct {
    size_t offset, elem;
} ARRAYS[] = {
    {offsetof(fg_graph, data), sizeof(double)},    {offsetof(fg_graph, grad), sizeof(double)},
    {offsetof(fg_graph, cst), sizeof(double)},     {offsetof(fg_graph, op), sizeof(uint8_t)},
    {offsetof(fg_graph, flags), sizeof(uint8_t)},  {offsetof(fg_graph, kids), sizeof(fg_kids)},
    {offsetof(fg_graph, refs), sizeof(uint32_t)},  {offsetof(fg_graph, visit), sizeof(fg_visit)},
    {offsetof(fg_graph, owner), sizeof(void *)},
};
#define NARRAYS (sizeof ARRAYS / sizeof ARRAYS[0])

/* Array k's pointer, read and written as bytes: the fields are typed pointers, which
 * a void ** must not alias. */
static char *array(const fg_graph *g, size_t k)
{
    char *p;
    memcpy(&p, (const char *)g + ARRAYS[k].offset, sizeof p);
    return p;
}

static void set_array(fg_graph *g, size_t k, void *p)
{
    memcpy((char *)g + ARRAYS[k].offset, &p, sizeof p);
}

size_t fg_bytes_per_slot(void)
{
    size_t bytes = 0;
    for (size_t k = 0; k < NARRAYS; k++)
        bytes += ARRAYS[k].elem;
    return bytes;
}

static fg_id chunk_slots(const fg_graph *g) { return (fg_id)1 << g->chunk_shift; }
static uint32_t chunks_of(const fg_graph *g, fg_id slots) { return (uint32_t)slots >> g->chunk_shift; }
static size_t page_up(const fg_graph *g, size_t bytes) { return (bytes + g->page - 1) & ~(g->page - 1); }

/* Array k starts k pages into its mapping. The kernel lays large mappings side by
 * side and aligned, so arrays of one element size would start at addresses equal
 * modulo their size (2^27 at 128 MB): one id's fields would then share the virtual
 * address bits that AMD cores' L1 way predictor tags lines by, and evict each other
 * at every node made (a C loop of the cheap loop's store calls: 20.6 ns a node at 10^7
 * ids against 5.8 at 4*10^6; 6.0 with the lead). Whole pages, so a chunk's share of
 * each array stays whole pages. Never touched, the lead takes no memory. */
static size_t lead(const fg_graph *g, size_t k) { return k * g->page; }

/* The bytes of array k's mapping at cap slots, lead included. */
static size_t mapped(const fg_graph *g, size_t k, fg_id cap)
{
    return lead(g, k) + page_up(g, ARRAYS[k].elem * (size_t)cap);
}

/* Resize every node array from cap to new_cap slots: all or none. */
static int resize_arrays(fg_graph *g, fg_id new_cap)
{
    size_t k;
    assert(!g->pinned); /* a replay reads them without the caller's lock */
    for (k = 0; k < NARRAYS; k++) {
        char *a = g->cap ? array(g, k) - lead(g, k) : NULL;
        size_t old = mapped(g, k, g->cap), bytes = mapped(g, k, new_cap);
        char *p = bytes == old ? a : bytes < old ? fg_pages_shrink(a, old, bytes)
                  : a ? fg_pages_grow(a, old, bytes) : fg_pages_new(bytes);
        if (!p)
            break;
        set_array(g, k, p + lead(g, k));
    }
    if (k == NARRAYS)
        return 0;
    while (k-- > 0) { /* only growing can fail: undo it */
        char *a = array(g, k) - lead(g, k);
        set_array(g, k, (char *)fg_pages_shrink(a, mapped(g, k, new_cap), mapped(g, k, g->cap))
                            + lead(g, k));
    }
    return -1;
}

/* Double the address space of the arrays and the chunk table. */
static int grow(fg_graph *g)
{
    fg_id new_cap;
    fg_chunk *chunks;
    if (g->cap >= FG_MAX_SLOTS)
        return -1;
    new_cap = !g->cap ? FG_BASE_SLOTS : g->cap > FG_MAX_SLOTS / 2 ? FG_MAX_SLOTS : g->cap * 2;
    chunks = realloc(g->chunks, sizeof *chunks * chunks_of(g, new_cap));
    if (!chunks)
        return -1;
    g->chunks = chunks;
    if (resize_arrays(g, new_cap))
        return -1;
    g->cap = new_cap; /* slots are initialised as fg_take_slot hands them out */
    return 0;
}

/* -- chunk lists --------------------------------------------------------------------- */

static void list_push(fg_graph *g, fg_chunk_list *l, uint32_t c, int at_tail)
{
    fg_chunk *ch = &g->chunks[c];
    if (at_tail) {
        ch->prev = l->tail;
        ch->next = FG_NO_CHUNK;
        *(l->tail == FG_NO_CHUNK ? &l->head : &g->chunks[l->tail].next) = c;
        l->tail = c;
    } else {
        ch->prev = FG_NO_CHUNK;
        ch->next = l->head;
        *(l->head == FG_NO_CHUNK ? &l->tail : &g->chunks[l->head].prev) = c;
        l->head = c;
    }
    l->count++;
}

static void list_remove(fg_graph *g, fg_chunk_list *l, uint32_t c)
{
    fg_chunk *ch = &g->chunks[c];
    *(ch->prev == FG_NO_CHUNK ? &l->head : &g->chunks[ch->prev].next) = ch->next;
    *(ch->next == FG_NO_CHUNK ? &l->tail : &g->chunks[ch->next].prev) = ch->prev;
    l->count--;
}

static void list_init(fg_chunk_list *l)
{
    l->head = l->tail = FG_NO_CHUNK;
    l->count = 0;
}

/* -- taking slots ------------------------------------------------------------------- */

/* Will the next refill double the arrays: no chunk left with room? */
static int must_grow(const fg_graph *g)
{
    return g->partial.head == FG_NO_CHUNK && g->empty.head == FG_NO_CHUNK
           && g->released.head == FG_NO_CHUNK && g->nchunks == chunks_of(g, g->cap);
}

/* The current chunk has no free slot left: every slot of it is a node. Next come the
 * free slots of a partial chunk (filling those lets the others empty), then an empty
 * chunk's, the warmest first, then a given-back one's, then a new chunk's. */
fg_id fg_refill(fg_graph *g)
{
    uint32_t c;
    fg_id id;
    assert(g->free_head == FG_NONE && g->bump == g->bump_end);
    if (FG_UNLIKELY(g->pinned) && must_grow(g)) {
        g->wait_unpinned(g); /* the caller's lock let go: other threads' nodes came and went */
        assert(!g->pinned);
        if (g->live >= g->max_live)
            return FG_NONE;
        if ((id = g->free_head) != FG_NONE) {
            g->free_head = g->kids[id].bin.a;
            return id;
        }
        if (g->bump != g->bump_end)
            return g->bump++;
    }
    if (g->cur != FG_NO_CHUNK) {
        g->chunks[g->cur].state = FG_CHUNK_FULL;
        g->chunks[g->cur].free = FG_NONE;
        g->chunks[g->cur].live = (uint32_t)chunk_slots(g);
        g->cur = FG_NO_CHUNK;
    }
    if ((c = g->partial.head) != FG_NO_CHUNK) {
        list_remove(g, &g->partial, c);
        id = g->chunks[c].free;
        g->free_head = g->kids[id].bin.a;
        g->bump = g->bump_end = (fg_id)(c + 1) << g->chunk_shift;
    } else {
        if ((c = g->empty.head) != FG_NO_CHUNK) {
            list_remove(g, &g->empty, c);
        } else if ((c = g->released.head) != FG_NO_CHUNK) {
            list_remove(g, &g->released, c);
        } else {
            if (g->nchunks == chunks_of(g, g->cap) && grow(g))
                return FG_NONE;
            c = g->nchunks++;
        }
        id = (fg_id)c << g->chunk_shift;
        g->bump = id + 1;
        g->bump_end = id + chunk_slots(g);
        if (++g->in_use > g->peak)
            g->peak = g->in_use;
    }
    g->chunks[c].state = FG_CHUNK_CUR;
    g->cur = c;
    return id;
}

fg_id fg_node_slow(fg_graph *g, int op, double data, fg_id a, fg_id b, double c, void *owner)
{
    fg_id id = fg_new_id(g);
    if (id == FG_NONE)
        return FG_NONE;
    fg_fill_slot(g, id, op, data, a, b, c, owner);
    if (a != FG_NONE)
        fg_incref(g, a);
    if (b != FG_NONE)
        fg_incref(g, b);
    return id;
}

int fg_init(fg_graph *g, const fg_release_fn *release_rules)
{
    size_t page = fg_page_size();
    memset(g, 0, sizeof *g);
    g->release_rules = release_rules;
    g->ruled_from = FG_NOPS;
    while (g->ruled_from > 0 && release_rules[g->ruled_from - 1])
        g->ruled_from--;
    for (int op = 0; op < g->ruled_from; op++) /* else release_run would skip a rule */
        assert(!release_rules[op]);
    g->max_live = FG_MAX_SLOTS - 1;
    g->free_head = FG_NONE;
    g->page = page;
    g->chunk_shift = FG_MIN_CHUNK_SHIFT;
    while (g->chunk_shift < FG_MAX_CHUNK_SHIFT && ((size_t)1 << g->chunk_shift) < page)
        g->chunk_shift++;
    g->cur = FG_NO_CHUNK;
    g->recheck_at = UINT64_MAX;
    list_init(&g->partial);
    list_init(&g->empty);
    list_init(&g->released);
    if (grow(g))
        return -1;
    fg_refill(g); /* hands out id 0, FG_NONE, a slot of chunk 0 forever: it never empties */
    g->visit[FG_NONE].stamp = FG_LEAF_STAMP; /* the walk takes "no operand" for a leaf */
    return 0;
}

void fg_set_max_live(fg_graph *g, fg_id max_live)
{
    g->max_live = max_live < 0 ? 0 : (max_live > FG_MAX_SLOTS - 1 ? FG_MAX_SLOTS - 1 : max_live);
}

/* The ids of chunk c that may hold nodes: up to bump in the current chunk. */
static fg_id chunk_end(const fg_graph *g, uint32_t c)
{
    return c == g->cur ? g->bump : (fg_id)(c + 1) << g->chunk_shift;
}

void fg_reset_stamps(fg_graph *g)
{
    for (uint32_t c = 0; c < g->nchunks; c++) {
        uint8_t s = g->chunks[c].state;
        if (s != FG_CHUNK_CUR && s != FG_CHUNK_FULL && s != FG_CHUNK_PARTIAL)
            continue;
        for (fg_id id = c ? (fg_id)c << g->chunk_shift : 1, end = chunk_end(g, c); id < end; id++)
            if (g->op[id] != FG_FREE)
                g->visit[id].stamp = g->op[id] == FG_LEAF ? FG_LEAF_STAMP : 0;
    }
}

/* -- slots back from a release (release.c) -------------------------------------------- */

void fg_free_slot(fg_graph *g, fg_id id)
{
    uint32_t c = (uint32_t)id >> g->chunk_shift;
    fg_chunk *ch;
    g->live--;
    g->freed++;
    if (c == g->cur) {
        g->kids[id].bin.a = g->free_head;
        g->free_head = id;
        return;
    }
    ch = &g->chunks[c];
    assert(ch->live > 0 && (ch->state == FG_CHUNK_FULL || ch->state == FG_CHUNK_PARTIAL));
    if (--ch->live == 0) {
        if (ch->state == FG_CHUNK_PARTIAL)
            list_remove(g, &g->partial, c);
        ch->state = FG_CHUNK_EMPTY;
        list_push(g, &g->empty, c, 0);
        g->in_use--;
        return;
    }
    g->kids[id].bin.a = ch->free;
    ch->free = id;
    if (ch->state == FG_CHUNK_FULL) {
        ch->state = FG_CHUNK_PARTIAL;
        list_push(g, &g->partial, c, 0);
    }
}

static void settle(fg_graph *g);
static void keep_recent(fg_graph *g);

void fg_trim_after_release(fg_graph *g)
{
    if (2 * g->in_use <= g->peak)
        settle(g);
    else if (g->freed >= g->recheck_at)
        keep_recent(g);
}

/* Whether no node lives in the current chunk (not counted while it is current). */
static int cur_is_empty(const fg_graph *g)
{
    fg_id end = g->bump;
    if (g->cur == 0)
        return 0;
    for (fg_id id = (fg_id)g->cur << g->chunk_shift; id < end; id++)
        if (g->op[id] != FG_FREE)
            return 0;
    return 1;
}

/* Give back the pages of every run of given-back chunks, one call per array and run
 * (a 10^7-node graph is ~2400 chunks, most of them one run: 9 calls, not 22 000); runs
 * given back before cost the kernel a look at page tables with nothing in them. A run
 * the kernel refuses (locked memory) is empty again, its pages kept. */
static void drop_released(fg_graph *g)
{
    uint32_t c = 1, end;
    size_t k;
    while (c < g->nchunks) {
        if (g->chunks[c].state != FG_CHUNK_RELEASED) {
            c++;
            continue;
        }
        for (end = c + 1; end < g->nchunks && g->chunks[end].state == FG_CHUNK_RELEASED; end++)
            ;
        for (k = 0; k < NARRAYS; k++) {
            size_t bytes = ARRAYS[k].elem << g->chunk_shift;
            if (fg_pages_drop(array(g, k) + bytes * c, bytes * (end - c)))
                break;
        }
        if (k < NARRAYS) {
            for (; c < end; c++) {
                list_remove(g, &g->released, c);
                g->chunks[c].state = FG_CHUNK_EMPTY;
                list_push(g, &g->empty, c, 0);
            }
            return;
        }
        c = end;
    }
}

/* Give back the pages of up to n empty chunks, the longest empty first; then the
 * address space of the given-back chunks at the top, and the cells. */
static void give_back(fg_graph *g, uint32_t n)
{
    fg_id top, new_cap = FG_BASE_SLOTS;
    if (FG_PAGES_DROP && n > 0) { /* elsewhere no page in the middle can go back */
        while (n-- > 0) {
            uint32_t c = g->empty.tail;
            list_remove(g, &g->empty, c);
            g->chunks[c].state = FG_CHUNK_RELEASED;
            list_push(g, &g->released, c, 0);
        }
        drop_released(g);
    }
    for (;;) { /* without mmap, the top's empty chunks go too: only the top can shrink */
        uint32_t c = g->nchunks - 1;
        if (c > 0 && g->chunks[c].state == FG_CHUNK_RELEASED)
            list_remove(g, &g->released, c);
        else if (c > 0 && !FG_PAGES_DROP && g->chunks[c].state == FG_CHUNK_EMPTY)
            list_remove(g, &g->empty, c);
        else
            break;
        g->nchunks = c;
    }
    top = (fg_id)g->nchunks << g->chunk_shift;
    while (new_cap < 2 * top)
        new_cap *= 2;
    if (new_cap < g->cap && !g->pinned && !resize_arrays(g, new_cap)) {
        fg_chunk *chunks = realloc(g->chunks, sizeof *chunks * chunks_of(g, new_cap));
        if (chunks) /* a refused shrink keeps the larger table */
            g->chunks = chunks;
        g->cap = new_cap;
    }
    fg_free_scratch(g);
    while (g->free_cells) {
        void **c = g->free_cells;
        g->free_cells = c[0];
        fg_ext_free(g, c, FG_CELL_BYTES);
    }
}

/* Nodes freed after a cycle ends within which its peak still counts: twice its size. */
static uint64_t window(const fg_graph *g, const fg_peak *p)
{
    return (uint64_t)2 * p->chunks << g->chunk_shift;
}

/* Give back the empty chunks beyond what recent cycles needed: the most chunks in use
 * in any remembered cycle still within its window, at least FG_BASE_SLOTS' worth. Then
 * note when the next of those windows closes, to look again then (a quiet loop that
 * never settles still gives back a burst long past). */
static void keep_recent(fg_graph *g)
{
    uint32_t demand = 0, floor = chunks_of(g, FG_BASE_SLOTS), keep;
    g->recheck_at = UINT64_MAX;
    for (int k = 0; k < FG_PEAKS_KEPT; k++) {
        const fg_peak *p = &g->peaks[k];
        if (g->freed - p->freed_at > window(g, p))
            continue;
        demand = p->chunks > demand ? p->chunks : demand;
        if (p->freed_at + window(g, p) < g->recheck_at)
            g->recheck_at = p->freed_at + window(g, p) + 1;
    }
    keep = demand > g->in_use + floor ? demand - g->in_use : floor;
    if (g->empty.count > keep)
        give_back(g, g->empty.count - keep);
    if (g->empty.count <= floor)
        g->recheck_at = UINT64_MAX;
}

/* Half the chunks in use at the last peak have emptied: a graph died, a cycle ends.
 * Its empty chunks stay as far as recent cycles needed them (keep_recent), so a
 * training loop's steps do not fault their pages again; a graph may die in pieces, one
 * cycle each, hence FG_PEAKS_KEPT of them. The cycle ending does not count itself, so
 * one big evaluation graph among small steps goes back at once; it counts for the
 * next, so a second one soon after finds its pages. A cycle needs the chunks in use to
 * double and halve again, and a window closes once per cycle, so both are paid by the
 * nodes those chunks held: amortized O(1) per released node. */
static void settle(fg_graph *g)
{
    if (g->cur != FG_NO_CHUNK && cur_is_empty(g)) { /* last, so it is given back first */
        g->chunks[g->cur].state = FG_CHUNK_EMPTY;
        g->chunks[g->cur].live = 0;
        list_push(g, &g->empty, g->cur, 1);
        g->in_use--;
        g->cur = FG_NO_CHUNK;
        g->free_head = FG_NONE;
        g->bump = g->bump_end;
    }
    keep_recent(g);
    memmove(g->peaks + 1, g->peaks, (FG_PEAKS_KEPT - 1) * sizeof *g->peaks);
    g->peaks[0].chunks = g->peak;
    g->peaks[0].freed_at = g->freed;
    g->peak = g->in_use;
    if (g->empty.count > chunks_of(g, FG_BASE_SLOTS) && g->freed + window(g, g->peaks) < g->recheck_at)
        g->recheck_at = g->freed + window(g, g->peaks) + 1;
}

size_t fg_bytes_in_use(const fg_graph *g)
{
    return fg_bytes_per_slot() * (size_t)g->live + g->ext_bytes;
}

size_t fg_bytes_reserved(const fg_graph *g)
{
    size_t held = (size_t)(g->nchunks - g->released.count) << g->chunk_shift;
    return fg_bytes_per_slot() * held + sizeof(fg_chunk) * chunks_of(g, g->cap) + g->ext_bytes
           + g->scratch_cap * 2 * sizeof(fg_id);
}
