/*
 * analyzers.h — what the data plane shares about the analyzers
 * (DESIGN.md §5): which rules each analyzer host needs (the aggregates
 * send those only), and one slot per analyzer in the shared segment.
 *
 * A slot has two jobs:
 *   status     the host that runs the analyzer publishes its pid, state
 *              and counters there; the supervisor reads them for
 *              `ringflowctl status` and `stats`;
 *   delivered  per rule, the start of the last window written whole into
 *              the analyzer's stdin. The segment outlives a data-plane
 *              restart (only rings and doorbells are reset), so after a
 *              crash the replayed windows up to that mark are not handed on
 *              again: each window once. A window still queued at the crash
 *              comes again if it closed after the checkpoint the data plane
 *              resumes from; one that closed before it does not (`queued`
 *              tells the restarted host to say so). A new supervisor starts
 *              with a new segment, so a restart of ringflow itself repeats
 *              the windows after the last checkpoint (alerts are
 *              at-least-once, §2).
 *
 * Written by one host process only (the analyzer's), read by anyone.
 */
#ifndef PL_ANALYZERS_H
#define PL_ANALYZERS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

#define RF_AN_ERROR_MAX 200

/* Alert severities as analyzers write them (tag severity). */
enum rf_an_severity { RF_AN_OK = 0, RF_AN_INFO, RF_AN_WARNING, RF_AN_CRITICAL, RF_AN_SEVERITY_COUNT };
extern const char *const rf_an_severity_names[RF_AN_SEVERITY_COUNT];

/* An analyzer's process state, as analyze/child.h's enum an_child_state. */
enum rf_an_state { RF_AN_WAITING = 0, RF_AN_RUNNING, RF_AN_CLOSING, RF_AN_FINISHED, RF_AN_STATE_COUNT };
extern const char *const rf_an_state_names[RF_AN_STATE_COUNT];

enum rf_an_counter {
	RF_AN_WINDOWS_DELIVERED = 0, /* written whole into its stdin */
	RF_AN_WINDOWS_DROPPED,       /* its queue was full (streaming input) */
	RF_AN_WINDOWS_RESENT,        /* cut by its death, sent again whole */
	RF_AN_RESTARTS,              /* instances started after the first */
	RF_AN_TIMEOUTS,              /* killed for not reading */
	RF_AN_LINES_OUT,             /* stdout lines */
	RF_AN_LINES_REJECTED,        /* bad, over-long or binary lines, skipped */
	RF_AN_POINTS_OUT,            /* points sent to the writers */
	RF_AN_ALERTS_BAD,            /* alert points without a valid severity */
	RF_AN_COUNTER_COUNT
};
extern const char *const rf_an_counter_names[RF_AN_COUNTER_COUNT];

struct rf_an_slot {
	_Atomic int32_t host;        /* analyzer host index running it, -1 none */
	_Atomic int32_t pid;         /* 0 when not running */
	_Atomic int32_t state;       /* enum rf_an_state */
	_Atomic int32_t crash_loop;
	_Atomic uint64_t starts;     /* instances started, over every host run */
	_Atomic uint64_t c[RF_AN_COUNTER_COUNT];
	_Atomic uint64_t alerts[RF_AN_SEVERITY_COUNT];
	_Atomic int64_t delivered[CONF_MAX_RULES]; /* window start; INT64_MIN: none yet */
	_Atomic int64_t queued[CONF_MAX_RULES];    /* last window queued for it; INT64_MIN: none */
	_Atomic uint32_t error_seq;  /* seqlock of error[], as rf_stat_note */
	_Atomic char error[RF_AN_ERROR_MAX];
};

struct shm_segment;

/* The slots for conf's analyzers, in [analyzer.*] order. */
struct rf_an_slot *rf_an_slots(const struct shm_segment *seg, uint64_t off);
/* Owner only. */
void rf_an_set_error(struct rf_an_slot *s, const char *text);
/* Any reader: copies the last error ("" if none) into buf. */
void rf_an_read_error(const struct rf_an_slot *s, char *buf, size_t len);
/* Resets a slot to "nothing delivered yet" (the segment's creation). */
void rf_an_slot_init(struct rf_an_slot *s);

#endif
