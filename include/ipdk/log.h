/*
 * Logging for daemons and libraries: leveled messages to stderr or syslog.
 * Libraries log through these macros; the daemon chooses where they go.
 */
#ifndef IPDK_LOG_H
#define IPDK_LOG_H

#include <stdbool.h>

enum ipdk_log_level {
	IPDK_LOG_ERR = 3,
	IPDK_LOG_WARN = 4,
	IPDK_LOG_INFO = 6,
	IPDK_LOG_DEBUG = 7,
};

/* Sets the program name, the most verbose level printed and whether to use syslog. */
void ipdk_log_init(const char *ident, enum ipdk_log_level level, bool use_syslog);

/* Parses "err", "warn", "info" or "debug"; returns the level or -1. */
int ipdk_log_level_parse(const char *s);

/* Returns the current level. */
enum ipdk_log_level ipdk_log_level_get(void);

/* Emits one message at level (a newline is added). */
void ipdk_log(enum ipdk_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define IPDK_LOG_ERR(...)   ipdk_log(IPDK_LOG_ERR, __VA_ARGS__)
#define IPDK_LOG_WARN(...)  ipdk_log(IPDK_LOG_WARN, __VA_ARGS__)
#define IPDK_LOG_INFO(...)  ipdk_log(IPDK_LOG_INFO, __VA_ARGS__)
#define IPDK_LOG_DEBUG(...) ipdk_log(IPDK_LOG_DEBUG, __VA_ARGS__)

#endif
