/*
 * A small local control socket: a Unix stream socket speaking one request per
 * line and answering with zero or more lines followed by "OK" or
 * "ERR <message>". Daemons use it for their local CLI; it runs inside the
 * daemon's own poll loop, so handlers need no locking.
 */
#ifndef IPDK_CTLSOCK_H
#define IPDK_CTLSOCK_H

#include <stddef.h>
#include <stdio.h>

struct ipdk_ctlsock;

/* A reply under construction; handlers print into out (an open memstream). */
struct ipdk_ctl_reply {
	FILE *out;
};

/* Handles one request line (without its newline) from connection conn_id.
 * Returns 0 for "OK" or a negative errno; err_msg (size IPDK_ERR_MSG_MAX) then
 * holds the message sent as "ERR <message>". */
typedef int (*ipdk_ctl_handler)(void *arg, unsigned int conn_id, char *line,
				struct ipdk_ctl_reply *reply, char *err_msg);

/* Called when connection conn_id closes (to drop per-connection state). */
typedef void (*ipdk_ctl_close_cb)(void *arg, unsigned int conn_id);

/* Listens on path (replacing a stale socket file; refusing one a live daemon owns). */
int ipdk_ctlsock_open(const char *path, ipdk_ctl_handler handler, ipdk_ctl_close_cb on_close,
		      void *arg, struct ipdk_ctlsock **out, char *err_msg);

/* Waits up to timeout_ms for activity and serves it; returns -EINTR when a
 * signal interrupted the wait, 0 otherwise. */
int ipdk_ctlsock_poll(struct ipdk_ctlsock *s, int timeout_ms);

/* Adds an extra fd (e.g. a signalfd) to the poll set; ipdk_ctlsock_poll()
 * returns 1 when it is readable. */
void ipdk_ctlsock_watch_fd(struct ipdk_ctlsock *s, int fd);

/* Closes every connection, the listener and removes the socket file. */
void ipdk_ctlsock_close(struct ipdk_ctlsock *s);

#endif
