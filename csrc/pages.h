/* Memory in whole pages that grows without copying and gives pages back: what the
 * store's node arrays live in (store.c). Knows nothing of nodes.
 *
 * With mmap, a block is a private anonymous mapping; it grows with mremap on Linux
 * (page tables move, nothing is copied) and gives pages back with
 * madvise(MADV_DONTNEED). Elsewhere a block is a heap block: it grows with realloc,
 * shrinks from the top only, and cannot give back pages in its middle.
 */
#ifndef FASTGRAD_PAGES_H
#define FASTGRAD_PAGES_H

#include <stddef.h>

#if defined(__unix__) || defined(__APPLE__)
#define FG_PAGES_DROP 1 /* pages in the middle of a block can be given back */
#else
#define FG_PAGES_DROP 0
#endif

/* The system's page size (4096 where it cannot be asked). */
size_t fg_page_size(void);

/* A block of bytes (a multiple of the page size); NULL when memory runs out. New bytes,
 * here and where a block grows, read as zeros (the store relies on it). */
void *fg_pages_new(size_t bytes);

/* Block p of old bytes made bytes long (both multiples of the page size), keeping its
 * contents; the block may move. Growing returns NULL when it cannot, p left as it was;
 * shrinking cannot fail (a refused shrink keeps the larger block). */
void *fg_pages_grow(void *p, size_t old, size_t bytes);
void *fg_pages_shrink(void *p, size_t old, size_t bytes);

/* Give back the whole pages inside [p, p + bytes) of a block; they read as zeros when
 * next touched. -1 where that cannot be done: no mmap (FG_PAGES_DROP is 0), or the
 * kernel refused (locked memory). */
int fg_pages_drop(void *p, size_t bytes);

#endif
