/*
 * The local control socket server: accepts connections on a Unix socket,
 * splits their input into lines, hands each line to the daemon's handler and
 * writes the reply back. Runs in the caller's thread from ipdk_ctlsock_poll();
 * a slow or vanished client costs nothing but its own connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipdk/ctlsock.h"
#include "ipdk/err.h"
#include "ipdk/log.h"

#define CTL_MAX_CONNS 32
#define CTL_LINE_MAX (64 * 1024)

struct ctl_conn {
	int fd;
	unsigned int id;
	size_t len;
	char *buf;
};

struct ipdk_ctlsock {
	int listen_fd;
	int extra_fd;
	char path[108];
	ipdk_ctl_handler handler;
	ipdk_ctl_close_cb on_close;
	void *arg;
	unsigned int next_id;
	struct ctl_conn conns[CTL_MAX_CONNS];
};

static int socket_in_use(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return live;
}

int ipdk_ctlsock_open(const char *path, ipdk_ctl_handler handler, ipdk_ctl_close_cb on_close,
		      void *arg, struct ipdk_ctlsock **out, char *err_msg)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct ipdk_ctlsock *s;
	int rc;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err_msg, IPDK_ERR_MSG_MAX, "control socket %s: path longer than %zu bytes",
			 path, sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	if (socket_in_use(&addr)) {
		snprintf(err_msg, IPDK_ERR_MSG_MAX,
			 "control socket %s: another daemon is listening there", path);
		return -EADDRINUSE;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err_msg, IPDK_ERR_MSG_MAX, "control socket %s: out of memory", path);
		return -ENOMEM;
	}
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->extra_fd = -1;
	s->handler = handler;
	s->on_close = on_close;
	s->arg = arg;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0)
		goto fail_errno;
	unlink(path);
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(s->listen_fd, 16) < 0)
		goto fail_errno;
	*out = s;
	return 0;

fail_errno:
	rc = -errno;
	snprintf(err_msg, IPDK_ERR_MSG_MAX, "control socket %s: %s", path, strerror(errno));
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s);
	return rc;
}

void ipdk_ctlsock_watch_fd(struct ipdk_ctlsock *s, int fd)
{
	s->extra_fd = fd;
}

static void conn_close(struct ipdk_ctlsock *s, struct ctl_conn *c)
{
	if (s->on_close)
		s->on_close(s->arg, c->id);
	close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
	c->len = 0;
}

static void conn_accept(struct ipdk_ctlsock *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < CTL_MAX_CONNS; i++) {
		struct ctl_conn *c = &s->conns[i];

		if (c->fd >= 0)
			continue;
		c->buf = malloc(CTL_LINE_MAX);
		if (!c->buf)
			break;
		c->fd = fd;
		c->id = ++s->next_id;
		c->len = 0;
		return;
	}
	dprintf(fd, "ERR too many control connections\n");
	close(fd);
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Runs one request and sends its reply; false when the client is gone. */
static bool serve_line(struct ipdk_ctlsock *s, struct ctl_conn *c, char *line)
{
	struct ipdk_ctl_reply reply;
	char err_msg[IPDK_ERR_MSG_MAX] = "";
	char *text = NULL;
	size_t text_len = 0;
	bool ok;
	int rc;

	reply.out = open_memstream(&text, &text_len);
	if (!reply.out)
		return write_all(c->fd, "ERR out of memory\n", 18);
	rc = s->handler(s->arg, c->id, line, &reply, err_msg);
	if (rc)
		fprintf(reply.out, "ERR %s\n", err_msg[0] ? err_msg : strerror(-rc));
	else
		fputs("OK\n", reply.out);
	fclose(reply.out);
	ok = write_all(c->fd, text, text_len);
	free(text);
	return ok;
}

static void conn_read(struct ipdk_ctlsock *s, struct ctl_conn *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, CTL_LINE_MAX - c->len, MSG_DONTWAIT);
	char *start, *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(s, c);
		return;
	}
	c->len += (size_t)n;
	start = c->buf;
	while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
		*nl = '\0';
		if (nl > start && nl[-1] == '\r')
			nl[-1] = '\0';
		if (!serve_line(s, c, start)) {
			conn_close(s, c);
			return;
		}
		start = nl + 1;
	}
	c->len -= (size_t)(start - c->buf);
	memmove(c->buf, start, c->len);
	if (c->len == CTL_LINE_MAX) {
		write_all(c->fd, "ERR request line longer than 65536 bytes\n", 41);
		conn_close(s, c);
	}
}

int ipdk_ctlsock_poll(struct ipdk_ctlsock *s, int timeout_ms)
{
	struct pollfd pfd[CTL_MAX_CONNS + 2];
	struct ctl_conn *who[CTL_MAX_CONNS + 2];
	int n = 0, rc, extra_ready = 0;

	pfd[n] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
	who[n++] = NULL;
	if (s->extra_fd >= 0) {
		pfd[n] = (struct pollfd){ .fd = s->extra_fd, .events = POLLIN };
		who[n++] = NULL;
	}
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0) {
			pfd[n] = (struct pollfd){ .fd = s->conns[i].fd, .events = POLLIN };
			who[n++] = &s->conns[i];
		}
	rc = poll(pfd, (nfds_t)n, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? -EINTR : 0;
	for (int i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == s->listen_fd)
			conn_accept(s);
		else if (pfd[i].fd == s->extra_fd && !who[i])
			extra_ready = 1;
		else if (who[i]->fd >= 0)
			conn_read(s, who[i]);
	}
	return extra_ready;
}

void ipdk_ctlsock_close(struct ipdk_ctlsock *s)
{
	if (!s)
		return;
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			conn_close(s, &s->conns[i]);
	close(s->listen_fd);
	unlink(s->path);
	free(s);
}
