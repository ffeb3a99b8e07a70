/*
 * A QEMU Machine Protocol client: connect to a VM's QMP Unix socket, read the
 * greeting, negotiate capabilities, run commands and wait for events, each
 * bounded by a timeout so a stuck VM costs a clear error, not a hung daemon.
 *
 * QMP sends one JSON object per line. Replies carry the "id" we sent, so a
 * reply is matched to its command; events that arrive while a reply is awaited
 * are kept in a small queue for ipdk_qmp_wait_event().
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ipdk/vdev.h"

#define QMP_LINE_MAX (1 << 20)
#define QMP_EVENTS_MAX 64

struct ipdk_qmp {
	int fd;
	char path[IPDK_VDEV_PATH_MAX];
	char *buf;
	size_t len, cap;
	unsigned long next_id;
	json_t *events[QMP_EVENTS_MAX];
	unsigned int n_events;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the next message into *msg within the deadline (absolute, ms). */
static int qmp_read_msg(struct ipdk_qmp *q, int64_t deadline, json_t **msg, struct ipdk_err *err)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;   /* buf is NULL at first */

		if (nl) {
			size_t n = nl - q->buf + 1;
			json_error_t jerr;

			*msg = json_loadb(q->buf, n, 0, &jerr);
			memmove(q->buf, q->buf + n, q->len - n);
			q->len -= n;
			if (!*msg || !json_is_object(*msg)) {
				json_decref(*msg);
				return ipdk_err_set(err, -EPROTO, "QMP %s: malformed message: %s",
						    q->path, jerr.text);
			}
			return 0;
		}
		if (q->len == q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 4096;
			char *b;

			if (cap > QMP_LINE_MAX)
				return ipdk_err_set(err, -EPROTO, "QMP %s: message longer than %d bytes",
						    q->path, QMP_LINE_MAX);
			b = realloc(q->buf, cap);
			if (!b)
				return ipdk_err_set(err, -ENOMEM, "QMP %s: out of memory", q->path);
			q->buf = b;
			q->cap = cap;
		}
		int64_t left = deadline - now_ms();
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		int rc;

		if (left <= 0)
			return ipdk_err_set(err, -ETIMEDOUT, "QMP %s: no answer from QEMU in time",
					    q->path);
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return ipdk_err_set(err, -errno, "QMP %s: poll: %s", q->path, strerror(errno));
		if (rc == 0)
			continue;
		ssize_t got = recv(q->fd, q->buf + q->len, q->cap - q->len, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return ipdk_err_set(err, -errno, "QMP %s: %s", q->path, strerror(errno));
		if (got == 0)
			return ipdk_err_set(err, -ECONNRESET, "QMP %s: QEMU closed the connection "
					    "(the VM exited?)", q->path);
		q->len += got;
	}
}

static void qmp_keep_event(struct ipdk_qmp *q, json_t *ev)
{
	if (q->n_events == QMP_EVENTS_MAX) {
		/* Nobody waits for the oldest: drop it rather than grow. */
		json_decref(q->events[0]);
		memmove(q->events, q->events + 1, sizeof(q->events[0]) * (QMP_EVENTS_MAX - 1));
		q->n_events--;
	}
	q->events[q->n_events++] = ev;
}

static int qmp_send(struct ipdk_qmp *q, json_t *msg, struct ipdk_err *err)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t len, off = 0;

	if (!text)
		return ipdk_err_set(err, -ENOMEM, "QMP %s: cannot encode command", q->path);
	len = strlen(text);
	text[len++] = '\n';    /* replaces the NUL; we send by length */
	while (off < len) {
		ssize_t n = send(q->fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;

			free(text);
			return ipdk_err_set(err, rc, "QMP %s: send: %s", q->path, strerror(-rc));
		}
		off += n;
	}
	free(text);
	return 0;
}

static int qmp_error(struct ipdk_qmp *q, const char *command, json_t *error,
		     struct ipdk_err *err)
{
	const char *cls = json_string_value(json_object_get(error, "class"));
	const char *desc = json_string_value(json_object_get(error, "desc"));
	int code = cls && !strcmp(cls, "DeviceNotFound") ? -ENOENT : -EIO;

	return ipdk_err_set(err, code, "QMP %s: %s: %s", q->path, command,
			    desc ? desc : "error without a description");
}

int ipdk_qmp_execute(struct ipdk_qmp *q, const char *command, json_t *args, json_t **ret,
		     unsigned int timeout_ms, struct ipdk_err *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	unsigned long id = ++q->next_id;
	json_t *msg, *reply = NULL;
	int rc;

	msg = json_pack("{s:s, s:I}", "execute", command, "id", (json_int_t)id);
	if (!msg)
		return ipdk_err_set(err, -ENOMEM, "QMP %s: out of memory", q->path);
	if (args)
		json_object_set(msg, "arguments", args);
	rc = qmp_send(q, msg, err);
	json_decref(msg);
	if (rc)
		return rc;
	for (;;) {
		rc = qmp_read_msg(q, deadline, &reply, err);
		if (rc)
			return ipdk_err_prefix(err, "%s", command);
		if (json_object_get(reply, "event")) {
			qmp_keep_event(q, reply);
			continue;
		}
		json_t *rid = json_object_get(reply, "id");

		if (json_is_integer(rid) && (unsigned long)json_integer_value(rid) == id)
			break;
		json_decref(reply);   /* a reply to a command that timed out earlier */
	}
	json_t *error = json_object_get(reply, "error");

	if (error) {
		rc = qmp_error(q, command, error, err);
	} else if (ret) {
		*ret = json_incref(json_object_get(reply, "return"));
	}
	json_decref(reply);
	return rc;
}

static bool event_matches(json_t *ev, const char *name, const char *key, const char *value)
{
	const char *ename = json_string_value(json_object_get(ev, "event"));
	const char *v;

	if (!ename || strcmp(ename, name))
		return false;
	if (!key)
		return true;
	v = json_string_value(json_object_get(json_object_get(ev, "data"), key));
	return v && !strcmp(v, value);
}

int ipdk_qmp_wait_event(struct ipdk_qmp *q, const char *name, const char *key,
			const char *value, unsigned int timeout_ms, json_t **ev,
			struct ipdk_err *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	json_t *msg;
	int rc;

	for (unsigned int i = 0; i < q->n_events; i++) {
		if (!event_matches(q->events[i], name, key, value))
			continue;
		msg = q->events[i];
		memmove(q->events + i, q->events + i + 1,
			sizeof(q->events[0]) * (q->n_events - i - 1));
		q->n_events--;
		goto found;
	}
	for (;;) {
		rc = qmp_read_msg(q, deadline, &msg, err);
		if (rc == -ETIMEDOUT)
			return ipdk_err_set(err, rc, "QMP %s: no %s event%s%s within %u ms",
					    q->path, name, key ? " for " : "", key ? value : "",
					    timeout_ms);
		if (rc)
			return rc;
		if (event_matches(msg, name, key, value))
			break;
		if (json_object_get(msg, "event"))
			qmp_keep_event(q, msg);
		else
			json_decref(msg);
	}
found:
	if (ev)
		*ev = msg;
	else
		json_decref(msg);
	return 0;
}

static int qmp_dial(struct ipdk_qmp *q, const char *path, struct ipdk_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return ipdk_err_set(err, -ENAMETOOLONG, "QMP socket %s: path longer than %zu "
				    "characters", path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0)
		return ipdk_err_set(err, -errno, "QMP socket %s: %s", path, strerror(errno));
	if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	rc = -errno;
	/* no socket file, or a file nobody listens on (QEMU killed): either way no VM */
	if (rc == -ENOENT || rc == -ECONNREFUSED)
		return ipdk_err_set(err, -EHOSTDOWN, "QMP socket %s: no VM is running there (%s)",
				    path, strerror(-rc));
	return ipdk_err_set(err, rc, "QMP socket %s: %s", path, strerror(-rc));
}

int ipdk_qmp_connect(const char *path, unsigned int timeout_ms, struct ipdk_qmp **out,
		     struct ipdk_err *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct ipdk_qmp *q;
	json_t *greeting = NULL;
	int rc;

	q = calloc(1, sizeof(*q));
	if (!q)
		return ipdk_err_set(err, -ENOMEM, "QMP socket %s: out of memory", path);
	q->fd = -1;
	snprintf(q->path, sizeof(q->path), "%s", path);
	rc = qmp_dial(q, path, err);
	if (rc)
		goto fail;
	/* QEMU serves one client per monitor: a second one waits, silently, for
	 * the first to leave. Say so when the greeting does not come. */
	rc = qmp_read_msg(q, deadline, &greeting, err);
	if (rc == -ETIMEDOUT) {
		ipdk_err_set(err, rc, "QMP socket %s: no greeting from QEMU within %u ms (is "
			     "another client connected to this monitor?)", path, timeout_ms);
		goto fail;
	}
	if (rc)
		goto fail;
	if (!json_object_get(greeting, "QMP")) {
		rc = ipdk_err_set(err, -EPROTO, "QMP socket %s: not a QMP greeting", path);
		goto fail;
	}
	json_decref(greeting);
	greeting = NULL;
	rc = ipdk_qmp_execute(q, "qmp_capabilities", NULL, NULL,
			      (unsigned int)(deadline > now_ms() ? deadline - now_ms() : 1), err);
	if (rc)
		goto fail;
	*out = q;
	return 0;
fail:
	json_decref(greeting);
	ipdk_qmp_close(q);
	return rc;
}

void ipdk_qmp_close(struct ipdk_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	for (unsigned int i = 0; i < q->n_events; i++)
		json_decref(q->events[i]);
	free(q->buf);
	free(q);
}
