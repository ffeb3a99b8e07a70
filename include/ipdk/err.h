/*
 * Error reporting shared by every ipdk library: a negative errno plus a human
 * message that names the object and the reason, filled in by the function that
 * failed and read by whoever reports it (a log line, a CLI reply, a gRPC status).
 */
#ifndef IPDK_ERR_H
#define IPDK_ERR_H

#include <stdarg.h>

#define IPDK_ERR_MSG_MAX 512

struct ipdk_err {
	int code;                     /* negative errno, 0 when no error */
	char msg[IPDK_ERR_MSG_MAX];   /* "what: why", no trailing newline */
};

/* Clears err (code 0, empty message); err may be NULL. */
void ipdk_err_clear(struct ipdk_err *err);

/* Records code (a negative errno) and a printf-style message in err (which may be
 * NULL) and returns code, so callers can write `return ipdk_err_set(err, -EINVAL, ...)`. */
int ipdk_err_set(struct ipdk_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like ipdk_err_set() but with a va_list. */
int ipdk_err_vset(struct ipdk_err *err, int code, const char *fmt, va_list ap);

/* Puts "prefix: " in front of err's message, keeping its code; returns the code. */
int ipdk_err_prefix(struct ipdk_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
