/* stage_loop.c — see stage_loop.h. */
#include "pipeline/stage_loop.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pipeline/checkpoint.h"
#include "pipeline/frames.h"

#include <stdlib.h>
#include <time.h>

void rf_stage_publish(struct rf_stage *sg)
{
	sg->ops->publish(sg->st);
	rf_stat_add(sg->p->stats, RF_ST_FRAMES_IN, sg->in.frames);
	sg->in.frames = 0;
}

/* The aligned BARRIER(id): the stage's part, the ack, then the barrier on
 * every output, so it reaches the next stage behind everything the stage
 * sent before it (points the aggregate emitted) and after the ack. */
static int on_barrier(struct rf_stage *sg, uint64_t id)
{
	if (sg->ops->on_barrier) {
		int64_t t0 = rf_mono_ns();
		int rc = sg->ops->on_barrier(sg->st, id);
		if (rc < 0)
			return -1;
		if (rc > 0)
			rf_ckpt_fail(sg->p, id);
		rf_ckpt_ack(sg->p, id, rf_mono_ns() - t0);
	}
	return rf_send_barrier(sg->outs, sg->nouts, id);
}

/* rf_frame_fn for rf_stage_input_turn: one call per frame. */
static int on_frame(void *arg, int input, uint16_t type, const void *fr, uint32_t len)
{
	struct rf_stage *sg = arg;
	if (type == RF_FRAME_BARRIER)
		return on_barrier(sg, ((const struct rf_barrier *)fr)->id);
	if (type != sg->ops->frame_type && sg->ops->on_other)
		return sg->ops->on_other(sg->st, input, type, fr, len);
	if (type != sg->ops->frame_type || len < sg->ops->frame_hdr) {
		RF_LOG_RL(RF_LOG_ERROR, "unexpected frame type %u from %s %d", type,
			  rf_role_names[sg->in.from[input].role], sg->in.from[input].index);
		return 0;
	}
	return sg->ops->on_frame(sg->st, fr, len);
}

/* Turns until every input ended (RF_EXIT_OK) or the stage must leave. */
static int run_turns(struct rf_stage *sg)
{
	const struct rf_stage_ops *ops = sg->ops;
	struct rf_stage_input *in = &sg->in;
	while (!rf_stage_input_done(in)) {
		if (rf_stop_requested)
			return RF_EXIT_RESTART;
		int taking = !ops->can_take || ops->can_take(sg->st);
		int progress = taking ? rf_stage_input_turn(in, ops->frames_per_turn, on_frame, sg) : 0;
		if (progress < 0)
			return RF_EXIT_RESTART;
		int rc = ops->on_turn ? ops->on_turn(sg->st) : 0;
		rf_stage_publish(sg);
		if (rc < 0)
			return RF_EXIT_RESTART;
		if (!progress && !rf_stage_input_done(in)) {
			int64_t ns = ops->wait_ns(sg->st);
			if (taking) {
				rf_stage_input_wait(in, ns);
			} else {
				/* Input is waiting but the stage holds it back: the
				 * doorbell would not let us sleep. */
				struct timespec ts = { ns / RF_NS_PER_SEC, ns % RF_NS_PER_SEC };
				nanosleep(&ts, NULL);
			}
		}
	}
	return RF_EXIT_OK;
}

int rf_stage_run(const struct rf_stage_ops *ops, void *st, const struct rf_proc *p)
{
	/* Allocated, not on the stack: it holds a handle per possible input
	 * and output ring. */
	struct rf_stage *sg = calloc(1, sizeof *sg);
	if (!sg) {
		rf_error("out of memory");
		return RF_EXIT_RESTART;
	}
	sg->ops = ops;
	sg->st = st;
	sg->p = p;
	char err[256];
	int nin = rf_stage_input_attach(&sg->in, p, err, sizeof err);
	int has_next = p->role != RF_ROLE_WRITER;
	sg->nouts = nin > 0 ? rf_attach_outputs(p, sg->outs, err, sizeof err) : 0;
	if (nin <= 0 || (has_next && sg->nouts <= 0)) {
		rf_error("attach rings: %s", err);
		free(sg);
		return RF_EXIT_RESTART;
	}
	int status = ops->init(st, sg);
	if (status != RF_EXIT_OK) {
		free(sg);
		return status;
	}
	status = run_turns(sg);
	int ended = status == RF_EXIT_OK;
	if (ended && ops->on_eos)
		status = ops->on_eos(st, sg->in.eos_kind);
	rf_stage_publish(sg);
	if (ended)
		rf_send_eos(sg->outs, sg->nouts, sg->in.eos_kind);
	ops->fini(st);
	free(sg);
	return status;
}
