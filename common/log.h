/*
 * log.h — logging to stderr for every process (systemd-friendly).
 *
 * Each line carries the level and the process role ("transform 1") so the
 * journal shows who spoke. rf_log_rl() is the rate-limited form used for bad
 * input: at most a few lines per second per call site, with a count of the
 * lines it held back, so a flood of junk never floods the log.
 */
#ifndef RF_LOG_H
#define RF_LOG_H

#include <stdint.h>

enum rf_log_level { RF_LOG_ERROR = 0, RF_LOG_WARN, RF_LOG_INFO, RF_LOG_DEBUG, RF_LOG_LEVEL_COUNT };

struct rf_ratelimit {
	int64_t window_start_ns;
	uint32_t printed;
	uint64_t suppressed;
};

void rf_log_set_level(enum rf_log_level level);
enum rf_log_level rf_log_get_level(void);
/* Returns 0 or -1 if name is not error|warn|info|debug. */
int rf_log_parse_level(const char *name, enum rf_log_level *out);
/* Who is talking: "supervisor", "transform 1"... copied. */
void rf_log_set_role(const char *role);

void rf_log(enum rf_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rf_log_rl(struct rf_ratelimit *rl, enum rf_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define rf_error(...) rf_log(RF_LOG_ERROR, __VA_ARGS__)
#define rf_warn(...)  rf_log(RF_LOG_WARN, __VA_ARGS__)
#define rf_info(...)  rf_log(RF_LOG_INFO, __VA_ARGS__)
#define rf_debug(...) rf_log(RF_LOG_DEBUG, __VA_ARGS__)

/* Rate-limited, one limiter per call site. */
#define RF_LOG_RL(level, ...) do { \
	static struct rf_ratelimit rf_rl_site_; \
	rf_log_rl(&rf_rl_site_, (level), __VA_ARGS__); \
} while (0)

#endif
