/*
 * log.c — stderr logging with a role prefix and per-site rate limiting.
 * Runs in every process; not thread-safe beyond what one write(2) per line
 * gives, which is enough: each line is formatted first and written once.
 */
#include "common/log.h"
#include "common/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define RL_LINES_PER_SEC 5

static enum rf_log_level current_level = RF_LOG_INFO;
static char role[48] = "ringflow";
static const char *level_names[RF_LOG_LEVEL_COUNT] = { "error", "warn", "info", "debug" };

void rf_log_set_level(enum rf_log_level level) { current_level = level; }
enum rf_log_level rf_log_get_level(void) { return current_level; }

int rf_log_parse_level(const char *name, enum rf_log_level *out)
{
	for (int i = 0; i < RF_LOG_LEVEL_COUNT; i++)
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum rf_log_level)i;
			return 0;
		}
	return -1;
}

void rf_log_set_role(const char *r)
{
	snprintf(role, sizeof role, "%s", r);
}

static void vlog(enum rf_log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof line, "ringflow[%d] %s: %s: ", (int)getpid(), role,
			 level_names[level]);
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	if (suffix) {
		int k = snprintf(line + len, sizeof line - len, "%s", suffix);
		if (k > 0)
			len += (size_t)k;
		if (len > sizeof line - 2)
			len = sizeof line - 2;
	}
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void rf_log(enum rf_log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(level, NULL, fmt, ap);
	va_end(ap);
}

void rf_log_rl(struct rf_ratelimit *rl, enum rf_log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	int64_t now = rf_mono_ns();
	char suffix[64] = "";
	if (now - rl->window_start_ns >= RF_NS_PER_SEC) {
		if (rl->suppressed)
			snprintf(suffix, sizeof suffix, " (%llu similar lines suppressed)",
				 (unsigned long long)rl->suppressed);
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= RL_LINES_PER_SEC) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_list ap;
	va_start(ap, fmt);
	vlog(level, suffix[0] ? suffix : NULL, fmt, ap);
	va_end(ap);
}
