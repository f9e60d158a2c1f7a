/*
 * status.h — what `ringflowctl status` reports, read from the supervisor's
 * table and the shared segment once, for both of its forms: the text
 * (control.c) and `status --json` (status.c). Runs in the supervisor's
 * loop; reads shared memory only, never blocks.
 */
#ifndef SUP_STATUS_H
#define SUP_STATUS_H

#include <stdint.h>

#include "supervisor/ctl_server.h"
#include "supervisor/supervisor.h"

#define SUP_PROBLEM_MAX 400

/* The unit of sup->rate[i].per_sec, by the child's role. */
extern const char *const sup_rate_units[RF_ROLE_COUNT];

/* An analyzer slot's state (enum rf_an_state) as a word; "?" if unknown. */
const char *sup_an_state_name(int st);

/* Calls fn with the text of each problem there is now (a process's note
 * saying why it is stuck, an analyzer in a crash loop), in status order.
 * Returns how many. */
typedef void (*sup_problem_fn)(void *arg, const char *text);
int sup_status_problems(struct sup *s, sup_problem_fn fn, void *arg);

/* One partition an ingest consumes (Kafka input). */
struct sup_lag {
	const char *topic;
	long long partition;
	long long next_offset, high;  /* both >= 0, or nothing consumed yet */
	int64_t paused_ahead_ns;      /* > 0: fetching paused (max_skew) */
};
/* Calls fn for each partition assigned to any ingest. Returns how many. */
typedef void (*sup_lag_fn)(void *arg, const struct sup_lag *l);
int sup_status_lag(struct sup *s, sup_lag_fn fn, void *arg);

/* The checkpoint requested and not settled (the graceful stop's one
 * included): its id, 0 if none, and *for_ns how long since it was asked. */
uint64_t sup_status_ckpt_busy(const struct sup *s, int64_t *for_ns);

/* `status --json`: the whole status as one JSON object and a newline,
 * appended to o after the caller's "OK" line. */
void sup_status_json(struct sup *s, struct sup_out *o);

#endif
