/*
 * stage_loop.h — the main loop of the transform, aggregate and writer
 * processes. Each stage describes itself with one static descriptor of
 * callbacks (struct rf_stage_ops, in the manner of a Fluent Bit plugin)
 * and hands rf_stage_run() its per-process state; the loop does what the
 * three have in common:
 *
 *   attach    the input rings (from every process of every role feeding
 *             it, pipeline/proc.h rf_links) and the output rings (to every
 *             process of every role it feeds; the writer has none);
 *   read      turns over the inputs (stage_input.h: barrier alignment, EOS
 *             per input), checking the stop flag before every turn and
 *             sleeping on the doorbell when nothing came;
 *   frames    rejects (logs, skips) a frame that is not the stage's data
 *             frame, hands the others to on_frame;
 *   barriers  on the aligned BARRIER(N): the stage's own part (on_barrier:
 *             aggregate stores its windows, writer delivers its batch),
 *             then the ack of N (or `failed`, then the ack), then BARRIER(N)
 *             on every output — in that order (checkpoint.h);
 *   the end   once every input sent EOS: on_eos, then EOS of the same kind
 *             on every output;
 *   stats     frames_in_total, and the stage's publish after every turn and
 *             once at exit;
 *   statuses  RF_EXIT_OK, RF_EXIT_RESTART, or the status a callback returns
 *             (CONF_EXIT_CONFIG, RF_EXIT_STATE).
 *
 * The supervisor never sends the stop signal to these stages (it kills
 * them), so the stop flag is a safety net: on it they leave at once,
 * without forwarding EOS, exit status RF_EXIT_RESTART. Park and abort are
 * the ingest's (proc.h).
 *
 * Runs in the transform, aggregate and writer processes. The loop blocks
 * only where a callback or a ring wait blocks.
 */
#ifndef RF_STAGE_LOOP_H
#define RF_STAGE_LOOP_H

#include <stdint.h>

#include "pipeline/proc.h"
#include "pipeline/stage_input.h"

/* Exit statuses of a pipeline process besides CONF_EXIT_CONFIG (78,
 * common/config.h) and RF_EXIT_STATE (65, checkpoint.h), both fatal. */
#define RF_EXIT_OK 0
#define RF_EXIT_RESTART 1 /* the supervisor restarts the data plane */

struct rf_stage;

/* Callbacks get the state pointer given to rf_stage_run() as `st`. Required
 * unless marked optional. */
struct rf_stage_ops {
	int frames_per_turn;        /* frames taken from each input per turn */
	uint16_t frame_type;        /* the data frame this stage reads (RF_FRAME_*) */
	uint32_t frame_hdr;         /* its header: shorter frames are rejected */

	/* Once the rings are attached: set up the stage (sg->outs are the
	 * output rings; keep sg if a callback needs it). Returns RF_EXIT_OK,
	 * or the exit status to leave with (nothing else is called then). */
	int (*init)(void *st, struct rf_stage *sg);
	/* A data frame of frame_type, len >= frame_hdr: 0 to go on, 1 to end
	 * this ring's turn early (a batch is full), -1 to fail the turn (exit
	 * RF_EXIT_RESTART). */
	int (*on_frame)(void *st, const void *frame, uint32_t len);
	/* Optional. Any other frame but BARRIER (which the loop aligns):
	 * the analyzer host's WINDOWS_CLOSED. input: the ring's index in
	 * sg->in. Returns as on_frame. Without it such frames are logged and
	 * skipped. */
	int (*on_other)(void *st, int input, uint16_t type, const void *frame, uint32_t len);
	/* Optional. The stage's own part of checkpoint `id`, everything
	 * before the barrier on every input being handled: 0 done, 1 it could
	 * not be done (the loop marks `id` failed; the supervisor abandons
	 * it), -1 fail the turn (the barrier is not acked). The loop then
	 * acks `id` with the time this took. NULL: the stage has no part in
	 * checkpoints (the transform): the barrier is only forwarded. */
	int (*on_barrier)(void *st, uint64_t id);
	/* Optional. After every turn, frames or none: what is due by time
	 * (the writer's flush_interval, the engine's tick). 0, or -1 to leave
	 * (exit RF_EXIT_RESTART) once the turn's counters are published. */
	int (*on_turn)(void *st);
	/* Optional. 0: take no input this turn (the analyzer host with
	 * finite input while an analyzer's queue is full: the pipeline waits
	 * for it); on_turn still runs, then the loop sleeps wait_ns. */
	int (*can_take)(void *st);
	/* How long to sleep on the doorbell when a turn brought nothing. */
	int64_t (*wait_ns)(void *st);
	/* Optional. Every input sent EOS of `kind` (enum rf_eos_kind): finish
	 * before EOS goes on (the aggregate closes every window at END, the
	 * writer delivers). Returns the exit status; EOS is forwarded
	 * whatever it says. */
	int (*on_eos)(void *st, uint32_t kind);
	/* Adds what the stage counted since last time to p->stats. */
	void (*publish)(void *st);
	/* Last call, on every exit once init succeeded: release what init
	 * took (an output file is closed here, also on the stop path). */
	void (*fini)(void *st);
};

/* The loop's instance, one per process, allocated by rf_stage_run().
 * Callbacks may read p, outs and nouts; the rest is the loop's. */
struct rf_stage {
	const struct rf_stage_ops *ops;
	void *st;
	const struct rf_proc *p;
	struct shm_ring_handle outs[RF_MAX_PEERS];
	int nouts;                  /* 0 for the last role */
	struct rf_stage_input in;
};

/* Runs the stage described by ops until its inputs end; returns the
 * process exit status. */
int rf_stage_run(const struct rf_stage_ops *ops, void *st, const struct rf_proc *p);

/* The stage's publish plus the loop's counters. The loop calls it after
 * every turn and at exit; a stage that blocks long inside a callback (the
 * writer retrying a delivery) calls it too, so the counters keep moving. */
void rf_stage_publish(struct rf_stage *sg);

#endif
