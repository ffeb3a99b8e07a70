/*
 * The finished-I/O list backends use when the work is done at submit time
 * (RAM) or when an error must be reported without reaching the kernel: I/Os
 * are chained through io->next and the channel's eventfd is written once
 * when the list becomes non-empty, so a busy channel costs one syscall per
 * batch rather than per I/O.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blk_internal.h"

int blk_done_init(struct ipdk_blk_channel *ch, struct blk_done_list *l)
{
	l->head = l->tail = NULL;
	ch->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return ch->event_fd < 0 ? -errno : 0;
}

void blk_done_push(struct ipdk_blk_channel *ch, struct blk_done_list *l,
		   struct ipdk_blk_io *io, int status)
{
	io->status = status;
	io->next = NULL;
	if (l->tail) {
		l->tail->next = io;
		l->tail = io;
		return;
	}
	l->head = l->tail = io;
	if (ch->event_fd >= 0) {
		uint64_t one = 1;
		ssize_t n = write(ch->event_fd, &one, sizeof(one));

		(void)n;
	}
}

unsigned int blk_done_run(struct ipdk_blk_channel *ch, struct blk_done_list *l,
			  unsigned int max)
{
	unsigned int n = 0;
	uint64_t v;

	if (ch->event_fd >= 0 && l->head) {
		ssize_t r = read(ch->event_fd, &v, sizeof(v));

		(void)r;
	}
	/* Only the I/Os queued before this call: callbacks may queue more. */
	struct ipdk_blk_io *io = l->head, *last = l->tail;

	l->head = l->tail = NULL;
	while (io) {
		struct ipdk_blk_io *next = io->next;

		if (n == max) {
			/* put the rest back in front of anything queued meanwhile */
			last->next = l->head;
			if (!l->head)
				l->tail = last;
			l->head = io;
			if (ch->event_fd >= 0) {
				uint64_t one = 1;
				ssize_t w = write(ch->event_fd, &one, sizeof(one));

				(void)w;
			}
			break;
		}
		n++;
		blk_complete(ch, io, io->status);
		if (io == last)
			break;
		io = next;
	}
	return n;
}

void blk_done_fini(struct ipdk_blk_channel *ch)
{
	if (ch->event_fd >= 0)
		close(ch->event_fd);
	ch->event_fd = -1;
}
