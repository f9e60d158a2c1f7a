/* analyzers.c — see analyzers.h. */
#include "pipeline/analyzers.h"
#include "shm/segment.h"

#include <stdio.h>
#include <string.h>

const char *const rf_an_severity_names[RF_AN_SEVERITY_COUNT] = { "ok", "info", "warning", "critical" };

const char *const rf_an_state_names[RF_AN_STATE_COUNT] = { "waiting", "running", "closing", "finished" };

const char *const rf_an_counter_names[RF_AN_COUNTER_COUNT] = {
	[RF_AN_WINDOWS_DELIVERED] = "windows_delivered",
	[RF_AN_WINDOWS_DROPPED] = "windows_dropped",
	[RF_AN_WINDOWS_RESENT] = "windows_resent",
	[RF_AN_RESTARTS] = "restarts",
	[RF_AN_TIMEOUTS] = "timeouts",
	[RF_AN_LINES_OUT] = "lines_out",
	[RF_AN_LINES_REJECTED] = "lines_rejected",
	[RF_AN_POINTS_OUT] = "points_out",
	[RF_AN_ALERTS_BAD] = "alerts_bad",
};

struct rf_an_slot *rf_an_slots(const struct shm_segment *seg, uint64_t off)
{
	return shm_at(seg, off);
}

void rf_an_slot_init(struct rf_an_slot *s)
{
	memset(s, 0, sizeof *s);
	atomic_store(&s->host, -1);
	for (int r = 0; r < CONF_MAX_RULES; r++)
	{
		atomic_store(&s->delivered[r], INT64_MIN);
		atomic_store(&s->queued[r], INT64_MIN);
	}
}

/* The seqlock of rf_stat_note (shm/stats.h), for a longer text. */
void rf_an_set_error(struct rf_an_slot *s, const char *text)
{
	uint32_t seq = atomic_load_explicit(&s->error_seq, memory_order_relaxed);
	atomic_store_explicit(&s->error_seq, seq + 1, memory_order_relaxed);
	size_t n = strnlen(text, RF_AN_ERROR_MAX - 1);
	for (size_t i = 0; i <= n; i++)
		atomic_store_explicit(&s->error[i], i < n ? text[i] : '\0', memory_order_release);
	atomic_store_explicit(&s->error_seq, seq + 2, memory_order_release);
}

void rf_an_read_error(const struct rf_an_slot *s, char *buf, size_t len)
{
	if (len > RF_AN_ERROR_MAX)
		len = RF_AN_ERROR_MAX;
	for (int tries = 0; tries < 100; tries++) {
		uint32_t a = atomic_load_explicit(&s->error_seq, memory_order_acquire);
		if (a & 1)
			continue;
		for (size_t i = 0; i < len; i++)
			buf[i] = atomic_load_explicit(&s->error[i], memory_order_acquire);
		if (atomic_load_explicit(&s->error_seq, memory_order_relaxed) == a) {
			buf[len - 1] = '\0';
			return;
		}
	}
	snprintf(buf, len, "(changing)");
}
