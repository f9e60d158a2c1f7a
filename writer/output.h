/*
 * output.h — where the writer process sends closed-window line protocol:
 * InfluxDB (writer/influx.c) or a file / stdout (writer/fileout.c).
 *
 * Runs in the writer process only. wr_output_open does no network I/O and
 * must be called after fork (libcurl handles are per process).
 * wr_output_deliver blocks until the batch is stored (or refused point by
 * point as bad data), retrying transient failures with backoff forever: data
 * is never dropped for being hard to deliver. The only early exit is *stop
 * becoming non-zero while the destination does not accept the batch.
 */
#ifndef WR_OUTPUT_H
#define WR_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

enum wr_result { WR_OK = 0, WR_STOPPED, WR_RESULT_COUNT };

/* Counters of one or more deliveries: the caller zeroes it and may keep
 * adding across calls (every field is incremented, never reset). */
struct wr_report {
	uint64_t points_accepted;  /* stored by the destination */
	uint64_t points_rejected;  /* refused as bad data; never retried */
	uint64_t retries;          /* attempts repeated after a failure */
	uint64_t bytes_sent;       /* request bodies as sent (after gzip) */
	uint64_t requests;         /* HTTP requests / write(2) calls made */
	char last_error[256];      /* latest failure or refusal, "" if none */
};

struct wr_output;

struct wr_output *wr_output_open(const struct conf_output *conf, char *err, size_t errlen);
void wr_output_close(struct wr_output *out);  /* accepts NULL */
/* lp[0..len): complete lines of line protocol, npoints of them. */
enum wr_result wr_output_deliver(struct wr_output *out, const char *lp, size_t len,
				 uint32_t npoints, const volatile int *stop,
				 struct wr_report *rep);

/* Backoff shared by the outputs: 100 ms doubling to 5 s. */
#define WR_BACKOFF_MIN_NS (100 * 1000000LL)
#define WR_BACKOFF_MAX_NS (5 * 1000000000LL)

/*
 * Sleeps *delay_ns (waking every <= 50 ms to look at *stop), then doubles
 * *delay_ns up to WR_BACKOFF_MAX_NS. Returns 0 after the full wait, -1 as
 * soon as *stop is non-zero (stop may be NULL: never stops).
 */
int wr_backoff_wait(int64_t *delay_ns, const volatile int *stop);

/* fn(arg) runs at the start of every backoff wait: the writer publishes
 * its counters there, so retries show in `ringflowctl stats` while an
 * outage lasts, not only after it. One per process. */
void wr_set_wait_hook(void (*fn)(void *), void *arg);

/* Records msg as rep->last_error (truncated to fit). */
void wr_report_error(struct wr_report *rep, const char *msg);

#endif
