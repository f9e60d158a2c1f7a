/*
 * writer_proc.c — entry point of a writer process.
 *
 * Collects POINTS frames from every aggregate into one batch and delivers
 * it when it holds `batch_points` points or its oldest point has waited
 * `flush_interval`. Delivery blocks while the destination is down
 * (output.h retries forever), and so the rings fill and the pipeline backs
 * up to Kafka: nothing is dropped.
 *
 * A checkpoint barrier (aligned over every aggregate) first delivers the
 * batch — everything before the barrier — and only then acknowledges the
 * checkpoint: while the output is down, no checkpoint completes.
 */
#include "common/log.h"
#include "common/timeutil.h"
#include "pipeline/frames.h"
#include "pipeline/checkpoint.h"
#include "pipeline/proc.h"
#include "pipeline/stage_input.h"
#include "pipeline/lineproto.h"
#include "writer/output.h"
#include "writer/writer.h"

#include <curl/curl.h>
#include <string.h>

#define FRAMES_PER_TURN 32

struct wr_proc {
	const struct rf_proc *p;
	struct wr_output *out;
	struct lp_buf batch;
	uint32_t npoints;
	int64_t first_ns;      /* monotonic time the batch's first point arrived */
	struct wr_report rep, published;
	uint64_t points_in;
	int noted;             /* a note about the output is up */
	struct rf_stage_input in;
};

static void publish(struct wr_proc *w)
{
	struct rf_stats_slot *s = w->p->stats;
	rf_stat_add(s, RF_ST_POINTS_IN, w->points_in);
	rf_stat_add(s, RF_ST_FRAMES_IN, w->in.frames);
	w->points_in = w->in.frames = 0;
	rf_stat_add(s, RF_ST_POINTS_WRITTEN, w->rep.points_accepted - w->published.points_accepted);
	rf_stat_add(s, RF_ST_POINTS_REJECTED, w->rep.points_rejected - w->published.points_rejected);
	rf_stat_add(s, RF_ST_WRITE_REQUESTS, w->rep.requests - w->published.requests);
	rf_stat_add(s, RF_ST_WRITE_RETRIES, w->rep.retries - w->published.retries);
	rf_stat_add(s, RF_ST_WRITE_BYTES, w->rep.bytes_sent - w->published.bytes_sent);
	w->published = w->rep;
}

/* Runs at every retry of a delivery: counters and the reason go out now,
 * while the output is down, not only once it is back. */
static void publish_hook(void *arg)
{
	struct wr_proc *w = arg;
	publish(w);
	char note[160];
	snprintf(note, sizeof note, "output refuses: %.100s (retrying; points are held)", w->rep.last_error);
	rf_stat_note(w->p->stats, note);
	w->noted = 1;
}

/* Returns 0, or -1 when told to stop while the output refused the batch. */
static int deliver(struct wr_proc *w)
{
	if (w->npoints == 0 && w->batch.len == 0)
		return 0;
	enum wr_result r = wr_output_deliver(w->out, w->batch.data, w->batch.len, w->npoints,
					     &rf_stop_flag, &w->rep);
	publish(w);
	if (r != WR_OK)
		return -1;
	if (w->noted) {
		rf_stat_note(w->p->stats, "");
		w->noted = 0;
	}
	lp_buf_reset(&w->batch);
	w->npoints = 0;
	return 0;
}

/* Appends a POINTS frame to the batch; ends the ring's turn once the batch
 * is full so it goes out before more is read. */
static int on_frame(void *arg, int input, uint16_t type, const void *fr, uint32_t len)
{
	struct wr_proc *w = arg;
	if (type == RF_FRAME_BARRIER) {
		int64_t t0 = rf_mono_ns();
		if (deliver(w))
			return -1;
		rf_ckpt_ack(w->p, ((const struct rf_barrier *)fr)->id, rf_mono_ns() - t0);
		return 0;
	}
	if (type != RF_FRAME_POINTS || len < sizeof(struct rf_points_hdr)) {
		RF_LOG_RL(RF_LOG_ERROR, "unexpected frame type %u from aggregate %d", type, input);
		return 0;
	}
	const struct rf_points_hdr *h = fr;
	if (w->npoints == 0)
		w->first_ns = rf_mono_ns();
	lp_buf_append(&w->batch, (const char *)(h + 1), len - sizeof *h);
	w->npoints += h->npoints;
	w->points_in += h->npoints;
	return w->npoints >= (uint32_t)w->p->pl->conf.output.batch_points;
}

int wr_run(const struct rf_proc *p)
{
	static struct wr_proc w;
	struct rf_stage_input *in = &w.in;
	char err[256];
	if (rf_stage_input_attach(in, p, err, sizeof err) <= 0) {
		rf_error("attach rings: %s", err);
		return 1;
	}
	const struct conf_output *oc = &p->pl->conf.output;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	w.p = p;
	w.out = wr_output_open(oc, err, sizeof err);
	if (!w.out) {
		rf_error("%s", err);
		return CONF_EXIT_CONFIG;
	}
	lp_buf_init(&w.batch);
	wr_set_wait_hook(publish_hook, &w);
	int rc = 0;

	while (!rf_stage_input_done(in)) {
		if (rf_stop_requested) {
			rc = 1;
			goto out;
		}
		int progress = rf_stage_input_turn(in, FRAMES_PER_TURN, on_frame, &w);
		if (progress < 0) {
			rc = 1;
			goto out;
		}
		int64_t now = rf_mono_ns();
		if (w.npoints >= (uint32_t)oc->batch_points ||
		    (w.npoints && now - w.first_ns >= oc->flush_interval_ns)) {
			if (deliver(&w)) {
				rc = 1;
				goto out;
			}
		}
		publish(&w);
		if (!progress && !rf_stage_input_done(in)) {
			int64_t timeout = RF_NS_PER_SEC;
			if (w.npoints) {
				timeout = w.first_ns + oc->flush_interval_ns - rf_mono_ns();
				if (timeout < RF_NS_PER_MS)
					timeout = RF_NS_PER_MS;
			}
			rf_stage_input_wait(in, timeout);
		}
	}
	if (deliver(&w))
		rc = 1;
out:
	publish(&w);
	lp_buf_free(&w.batch);
	wr_output_close(w.out);
	curl_global_cleanup();
	return rc;
}
