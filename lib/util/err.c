/*
 * The ipdk_err helpers: every failing function fills one of these so the
 * caller can report what failed and why without parsing strings.
 */
#include <stdio.h>
#include <string.h>

#include "ipdk/err.h"

void ipdk_err_clear(struct ipdk_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

int ipdk_err_vset(struct ipdk_err *err, int code, const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return code;
}

int ipdk_err_set(struct ipdk_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ipdk_err_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int ipdk_err_prefix(struct ipdk_err *err, const char *fmt, ...)
{
	char prefix[IPDK_ERR_MSG_MAX], old[IPDK_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return 0;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return err->code;
}
