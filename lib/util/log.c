/*
 * Leveled logging to stderr (with a timestamp) or syslog. Thread-safe: each
 * message is written with a single call so lines from threads do not interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "ipdk/log.h"

static const char *log_ident = "ipdk";
static enum ipdk_log_level log_level = IPDK_LOG_INFO;
static bool log_syslog;

void ipdk_log_init(const char *ident, enum ipdk_log_level level, bool use_syslog)
{
	log_ident = ident;
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

int ipdk_log_level_parse(const char *s)
{
	static const struct { const char *name; int level; } names[] = {
		{ "err", IPDK_LOG_ERR }, { "error", IPDK_LOG_ERR },
		{ "warn", IPDK_LOG_WARN }, { "warning", IPDK_LOG_WARN },
		{ "info", IPDK_LOG_INFO }, { "debug", IPDK_LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].level;
	return -1;
}

enum ipdk_log_level ipdk_log_level_get(void)
{
	return log_level;
}

static const char *level_name(enum ipdk_log_level level)
{
	switch (level) {
	case IPDK_LOG_ERR: return "ERROR";
	case IPDK_LOG_WARN: return "WARN";
	case IPDK_LOG_INFO: return "INFO";
	default: return "DEBUG";
	}
}

void ipdk_log(enum ipdk_log_level level, const char *fmt, ...)
{
	char msg[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_syslog) {
		syslog((int)level, "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s[%s] %s\n", tm.tm_hour, tm.tm_min,
		tm.tm_sec, ts.tv_nsec / 1000000, log_ident, level_name(level), msg);
}
