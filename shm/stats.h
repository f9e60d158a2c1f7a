/*
 * stats.h — per-process counters in shared memory.
 *
 * One slot per process: only the owner writes its slot (relaxed stores, no
 * read-modify-write needed with a single writer); the supervisor reads every
 * slot for `ringflowctl stats|status`. Hot loops count in locals and publish
 * once per batch (rf_stat_add). Counters survive a process restart because
 * the slot belongs to the role, not the pid; they are reset only when
 * ringflow starts.
 */
#ifndef SHM_STATS_H
#define SHM_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "stats need lock-free 64-bit atomics");

enum rf_stat {
	/* ingest */
	RF_ST_LINES_IN = 0,
	RF_ST_BYTES_IN,
	RF_ST_KAFKA_MESSAGES,
	RF_ST_KAFKA_ERRORS,
	RF_ST_LINES_TOO_LONG,   /* ingest cut a line longer than a frame */
	/* transform */
	RF_ST_RECORDS,          /* lines parsed */
	RF_ST_RECORDS_OK,       /* passed the filter and were evaluated */
	RF_ST_RECORDS_FILTERED,
	RF_ST_RECORDS_REJECTED, /* sum of the per-reason counters */
	RF_ST_ROWS_OUT,
	RF_ST_ROWS_TOO_LONG,    /* rows larger than the row format allows, dropped */
	RF_ST_DIV_BY_ZERO,
	RF_ST_GEOIP_UNKNOWN,
	RF_ST_GEOIP_ERROR,
	RF_ST_SCRATCH_OVERFLOW,
	/* aggregate */
	RF_ST_ROWS_IN,
	RF_ST_ROWS_AGGREGATED,
	RF_ST_ROWS_LATE,
	RF_ST_ROWS_OVERFLOW,
	RF_ST_ROWS_BAD,
	RF_ST_WINDOWS_EMITTED,
	RF_ST_POINTS_EMITTED,
	RF_ST_POINTS_EMPTY,
	RF_ST_LIVE_KEYS,        /* gauge */
	RF_ST_STATE_BYTES,      /* gauge */
	RF_ST_NOMEM,            /* window updates or windows lost to a failed allocation */
	RF_ST_VALUES_NONFINITE, /* NaN or infinite aggregate inputs skipped */
	RF_ST_POINTS_TOO_LONG,  /* points longer than a ring frame, dropped */
	/* writer */
	RF_ST_POINTS_IN,
	RF_ST_POINTS_WRITTEN,
	RF_ST_POINTS_REJECTED,
	RF_ST_WRITE_REQUESTS,
	RF_ST_WRITE_RETRIES,
	RF_ST_WRITE_BYTES,
	RF_ST_METRICS_WRITTEN,  /* [metrics] points accepted (writer 0) */
	/* analyzer host (per analyzer: pipeline/analyzers.h) */
	RF_ST_AN_WINDOWS,       /* (rule, window) blocks complete from every aggregate */
	RF_ST_AN_POINTS_IN,     /* aggregate points received */
	RF_ST_AN_REPLAYED,      /* blocks not handed on again after a restart: delivered before */
	RF_ST_AN_POINTS_OUT,    /* analyzer points sent to the writers */
	/* every stage */
	RF_ST_FRAMES_IN,
	RF_ST_FRAMES_OUT,
	RF_ST_RING_FULL_WAITS,
	RF_ST_COUNT
};

#define RF_REJECT_MAX 32       /* >= transform's XF_RESULT_COUNT */
#define RF_NOTE_MAX 160
#define RF_LAG_PARTITIONS 64   /* partitions whose lag an ingest reports */

struct rf_partition_lag {
	_Atomic int64_t partition;  /* -1 = unused */
	_Atomic int64_t offset;     /* next offset to read */
	_Atomic int64_t high;       /* high watermark */
	_Atomic int64_t paused_ahead_ns; /* > 0: fetching paused, this far ahead (max_skew) */
	char topic[48];             /* written before partition is published */
};

struct rf_stats_slot {
	_Atomic int32_t pid;
	_Atomic int32_t state;       /* enum rf_proc_state (pipeline/proc.h) */
	_Atomic uint64_t c[RF_ST_COUNT];
	_Atomic uint64_t reject[RF_REJECT_MAX];   /* transform: by enum xf_result */
	struct rf_partition_lag lag[RF_LAG_PARTITIONS];
	/* Why the process is stuck right now ("" when it is not), for
	 * `ringflowctl status`: a seqlock (odd seq = being written). */
	_Atomic uint32_t note_seq;
	_Atomic char note[RF_NOTE_MAX];
};

struct rf_stat_desc {
	const char *name;   /* Prometheus metric name without the ringflow_ prefix */
	const char *help;
	int gauge;
};

extern const struct rf_stat_desc rf_stat_descs[RF_ST_COUNT];

static inline void rf_stat_add(struct rf_stats_slot *s, enum rf_stat i, uint64_t n)
{
	/* Single writer: load + store is enough, and avoids a locked RMW. */
	uint64_t v = atomic_load_explicit(&s->c[i], memory_order_relaxed);
	atomic_store_explicit(&s->c[i], v + n, memory_order_relaxed);
}

static inline void rf_stat_set(struct rf_stats_slot *s, enum rf_stat i, uint64_t v)
{
	atomic_store_explicit(&s->c[i], v, memory_order_relaxed);
}

/* Owner only. text "" clears the note. Byte-wise atomics instead of
 * fences keep the seqlock visible to TSan; notes change rarely. */
static inline void rf_stat_note(struct rf_stats_slot *s, const char *text)
{
	uint32_t seq = atomic_load_explicit(&s->note_seq, memory_order_relaxed);
	atomic_store_explicit(&s->note_seq, seq + 1, memory_order_relaxed);
	size_t n = strnlen(text, RF_NOTE_MAX - 1);
	/* Release: no byte becomes visible before the odd sequence. */
	for (size_t i = 0; i <= n; i++)
		atomic_store_explicit(&s->note[i], i < n ? text[i] : '\0', memory_order_release);
	atomic_store_explicit(&s->note_seq, seq + 2, memory_order_release);
}

/* Any reader: copies the note into buf (len <= RF_NOTE_MAX). */
static inline void rf_stat_read_note(const struct rf_stats_slot *s, char *buf, size_t len)
{
	for (int tries = 0; tries < 100; tries++) {
		uint32_t a = atomic_load_explicit(&s->note_seq, memory_order_acquire);
		if (a & 1)
			continue;
		/* Acquire: the second sequence load cannot move before these. */
		for (size_t i = 0; i < len; i++)
			buf[i] = atomic_load_explicit(&s->note[i], memory_order_acquire);
		if (atomic_load_explicit(&s->note_seq, memory_order_relaxed) == a) {
			buf[len - 1] = '\0';
			return;
		}
	}
	snprintf(buf, len, "(changing)");
}

static inline uint64_t rf_stat_get(const struct rf_stats_slot *s, enum rf_stat i)
{
	return atomic_load_explicit(&s->c[i], memory_order_relaxed);
}

#endif
