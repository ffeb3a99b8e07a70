/*
 * What the block layer core shares with its backends: completing an I/O (the
 * channel's in-flight count and the callback) and a per-channel list of
 * finished I/Os with an eventfd, for backends that finish work at submit time
 * but must report it from ipdk_blk_poll().
 */
#ifndef IPDK_BLK_INTERNAL_H
#define IPDK_BLK_INTERNAL_H

#include "ipdk/blk.h"

/* Ends an in-flight I/O: drops the channel's count and runs the callback. */
static inline void blk_complete(struct ipdk_blk_channel *ch, struct ipdk_blk_io *io, int status)
{
	ch->inflight--;
	io->cb(io, status);
}

/* Finished I/Os waiting for ipdk_blk_poll(), in submission order. */
struct blk_done_list {
	struct ipdk_blk_io *head, *tail;
};

/* Creates the channel's eventfd (ch->event_fd); returns 0 or -errno. */
int blk_done_init(struct ipdk_blk_channel *ch, struct blk_done_list *l);

/* Queues io with its status and makes the eventfd readable. */
void blk_done_push(struct ipdk_blk_channel *ch, struct blk_done_list *l,
		   struct ipdk_blk_io *io, int status);

/* Completes up to max queued I/Os; returns how many. */
unsigned int blk_done_run(struct ipdk_blk_channel *ch, struct blk_done_list *l,
			  unsigned int max);

/* Closes the eventfd. */
void blk_done_fini(struct ipdk_blk_channel *ch);

#endif
