/* Memory in whole pages: mappings that grow without copying and give pages back. */
#if defined(__linux__)
#define _GNU_SOURCE /* mremap */
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pages.h"

#if FG_PAGES_DROP
#include <sys/mman.h>
#include <unistd.h>
#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif
#endif

size_t fg_page_size(void)
{
#if FG_PAGES_DROP
    long p = sysconf(_SC_PAGESIZE);
    if (p > 0)
        return (size_t)p;
#endif
    return 4096;
}

#if FG_PAGES_DROP
void *fg_pages_new(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *fg_pages_grow(void *p, size_t old, size_t bytes)
{
#ifdef __linux__
    void *q = mremap(p, old, bytes, MREMAP_MAYMOVE); /* moves page tables, copies nothing */
    return q == MAP_FAILED ? NULL : q;
#else
    void *q = fg_pages_new(bytes);
    if (q) {
        memcpy(q, p, old);
        munmap(p, old);
    }
    return q;
#endif
}

void *fg_pages_shrink(void *p, size_t old, size_t bytes)
{
    munmap((char *)p + bytes, old - bytes);
    return p;
}

int fg_pages_drop(void *p, size_t bytes)
{
    uintptr_t mask = (uintptr_t)(fg_page_size() - 1);
    uintptr_t from = ((uintptr_t)p + mask) & ~mask, to = ((uintptr_t)p + bytes) & ~mask;
    return to <= from ? 0 : madvise((void *)from, to - from, MADV_DONTNEED);
}
#else
void *fg_pages_new(size_t bytes) { return calloc(1, bytes); }

void *fg_pages_grow(void *p, size_t old, size_t bytes)
{
    char *q = realloc(p, bytes);
    if (q)
        memset(q + old, 0, bytes - old); /* as mmap's new pages read */
    return q;
}

void *fg_pages_shrink(void *p, size_t old, size_t bytes)
{
    void *q = realloc(p, bytes);
    (void)old;
    return q ? q : p; /* a refused shrink keeps the larger block */
}

int fg_pages_drop(void *p, size_t bytes)
{
    (void)p; (void)bytes;
    return -1;
}
#endif
