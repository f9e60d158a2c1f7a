/*
 * timeutil.h — clocks and the duration/size syntax of the config
 * ("10s", "5m", "4M"). Pure functions, any process.
 */
#ifndef RF_TIMEUTIL_H
#define RF_TIMEUTIL_H

#include <stdint.h>

#define RF_NS_PER_SEC 1000000000LL
#define RF_NS_PER_MS  1000000LL

/* CLOCK_REALTIME: event time and emitted timestamps only; durations use
 * rf_mono_ns(). Test hook: when the environment names a file in
 * RINGFLOW_TEST_WALL_STEP_FILE, its content (whole seconds, may be
 * negative; read at most once a second) is added, so a test steps the wall
 * clock this process sees as NTP would, without touching other processes
 * or libraries. */
int64_t rf_now_ns(void);
int64_t rf_mono_ns(void); /* CLOCK_MONOTONIC: timeouts, rates */

/* "250ms", "10s", "5m", "2h", "30d"; a bare number is seconds.
 * Returns 0, or -1 on a malformed or negative value. */
int rf_parse_duration(const char *s, int64_t *ns);
/* "4096", "64K", "4M", "1G" (powers of 1024). Returns 0 or -1. */
int rf_parse_size(const char *s, uint64_t *bytes);

#endif
