/* What store.c gives release.c, private to the two: a dead node's slot back in its
 * chunk, and the store's look at what to give back once a release is done. */
#ifndef FASTGRAD_STORE_RELEASE_H
#define FASTGRAD_STORE_RELEASE_H

#include "store.h"

/* Put a dead node's slot back in its chunk (marked FG_FREE: the caller's); its
 * operands are the caller's business too. A chunk whose last node this was becomes
 * empty, whole: its free slots need no list. */
void fg_free_slot(fg_graph *g, fg_id id);

/* After a release: settle if the chunks in use have halved since their peak, else
 * let a remembered cycle stop counting when its time has come (store.c's settle). */
void fg_trim_after_release(fg_graph *g);

#endif
