/*
 * stage_input.h — how transform, aggregate and writer read their input
 * rings, for the stage loop (stage_loop.h): a turn takes up to `per_turn`
 * frames from each ring still open, hands data frames to the loop's
 * callback, tracks end-of-stream per input (a stage is done once every
 * input sent EOS), releases what it consumed, and sleeps on the process's
 * doorbell when nothing came.
 *
 * Checkpoint barriers are aligned here (DESIGN.md §2): once BARRIER(N)
 * came from an input, that input is not read again until every input still
 * open sent BARRIER(N) too; then the callback gets one RF_FRAME_BARRIER
 * (input -1) and reading resumes. So everything before the barrier on every
 * input is handled before it, and nothing after it.
 *
 * A malformed frame header means the producer wrote garbage into shared
 * memory: the turn fails, the process exits non-zero, and the supervisor
 * resets every ring (DESIGN.md §2).
 */
#ifndef PL_STAGE_INPUT_H
#define PL_STAGE_INPUT_H

#include "pipeline/proc.h"

struct rf_stage_input {
	struct shm_ring_handle rings[RF_MAX_PEERS];
	struct rf_peer from[RF_MAX_PEERS];  /* producer of each ring, for log lines */
	int n;
	int eos[RF_MAX_PEERS];
	int neos;
	uint64_t barrier;          /* id being aligned, 0 when none */
	int blocked[RF_MAX_PEERS]; /* input sent BARRIER(barrier) */
	int nblocked;
	uint32_t eos_kind;         /* RF_EOS_STOP if any input stopped, else RF_EOS_END */
	struct shm_doorbell *bell;
	uint64_t frames;           /* frames consumed, for the caller's stats */
};

/* Data frame callback: return 0 to go on, 1 to end this ring's turn early
 * (e.g. a batch is full), -1 to fail the turn. */
typedef int (*rf_frame_fn)(void *arg, int input, uint16_t type, const void *frame, uint32_t len);

/* Returns the number of inputs, or -1 with err set. */
int rf_stage_input_attach(struct rf_stage_input *in, const struct rf_proc *p, char *err, size_t errlen);
/* Returns the frames handled (EOS included), or -1 when fn failed or a ring
 * is corrupt. */
int rf_stage_input_turn(struct rf_stage_input *in, int per_turn, rf_frame_fn fn, void *arg);
static inline int rf_stage_input_done(const struct rf_stage_input *in)
{
	return in->neos >= in->n;
}
/* Sleeps until an open input has a frame, a signal, or timeout_ns. */
void rf_stage_input_wait(struct rf_stage_input *in, int64_t timeout_ns);

#endif
