/*
 * writer_proc.c — entry point of a writer process.
 *
 * Collects POINTS frames from every aggregate into one batch and delivers
 * it when it holds `batch_points` points or its oldest point has waited
 * `flush_interval`. Delivery blocks while the destination is down
 * (output.h retries forever), and so the rings fill and the pipeline backs
 * up to Kafka: nothing is dropped.
 *
 * Writer 0 also writes the pipeline's own counters every [metrics]
 * interval (metrics.h), in a request of their own.
 *
 * A checkpoint barrier (aligned over every aggregate) first delivers the
 * batch — everything before the barrier — and only then does the stage
 * loop (pipeline/stage_loop.h) acknowledge the checkpoint: while the output
 * is down, no checkpoint completes.
 */
#include "common/log.h"
#include "common/timeutil.h"
#include "pipeline/frames.h"
#include "pipeline/proc.h"
#include "pipeline/stage_loop.h"
#include "pipeline/lineproto.h"
#include "writer/metrics.h"
#include "writer/output.h"
#include "writer/writer.h"

#include <curl/curl.h>
#include <string.h>

#define FRAMES_PER_TURN 32

struct wr_proc {
	const struct rf_proc *p;
	struct rf_stage *sg;
	struct wr_output *out;
	struct lp_buf batch;
	uint32_t npoints;
	int64_t first_ns;      /* monotonic time the batch's first point arrived */
	struct wr_report rep, published;
	uint64_t points_in;
	int noted;             /* a note about the output is up */
	int metrics;           /* writer 0 with [metrics] on */
	int64_t metrics_due;   /* monotonic time of the next metrics points */
	struct lp_buf mbatch;
	struct wr_report mrep, mpublished;
};

/* [metrics] (writer 0): the pipeline's counters, in a request of their
 * own, so points_written_total stays the traffic's (metrics_written_total
 * counts these). Blocks and retries like any delivery. */
static int write_metrics(struct wr_proc *w)
{
	lp_buf_reset(&w->mbatch);
	uint32_t n = wr_metrics_append(w->p, &w->mbatch, rf_now_ns());
	enum wr_result r = wr_output_deliver(w->out, w->mbatch.data, w->mbatch.len, n, &rf_stop_flag, &w->mrep);
	return r == WR_OK ? 0 : -1;
}

static void wr_publish(void *st)
{
	struct wr_proc *w = st;
	struct rf_stats_slot *s = w->p->stats;
	rf_stat_add(s, RF_ST_POINTS_IN, w->points_in);
	w->points_in = 0;
	rf_stat_add(s, RF_ST_POINTS_WRITTEN, w->rep.points_accepted - w->published.points_accepted);
	rf_stat_add(s, RF_ST_POINTS_REJECTED, w->rep.points_rejected - w->published.points_rejected);
	rf_stat_add(s, RF_ST_WRITE_REQUESTS, w->rep.requests - w->published.requests);
	rf_stat_add(s, RF_ST_WRITE_RETRIES, w->rep.retries - w->published.retries);
	rf_stat_add(s, RF_ST_WRITE_BYTES, w->rep.bytes_sent - w->published.bytes_sent);
	w->published = w->rep;
	/* The metrics requests are the writer's too: they count as requests,
	 * retries and bytes; only their points are kept apart. */
	const struct wr_report *m = &w->mrep, *mp = &w->mpublished;
	rf_stat_add(s, RF_ST_WRITE_REQUESTS, m->requests - mp->requests);
	rf_stat_add(s, RF_ST_WRITE_RETRIES, m->retries - mp->retries);
	rf_stat_add(s, RF_ST_WRITE_BYTES, m->bytes_sent - mp->bytes_sent);
	rf_stat_add(s, RF_ST_METRICS_WRITTEN, m->points_accepted - mp->points_accepted);
	w->mpublished = w->mrep;
}

/* Runs at every retry of a delivery: counters and the reason go out now,
 * while the output is down, not only once it is back. */
static void publish_hook(void *arg)
{
	struct wr_proc *w = arg;
	rf_stage_publish(w->sg);
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
	rf_stage_publish(w->sg);
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
static int wr_on_frame(void *st, const void *fr, uint32_t len)
{
	struct wr_proc *w = st;
	const struct rf_points_hdr *h = fr;
	if (w->npoints == 0)
		w->first_ns = rf_mono_ns();
	lp_buf_append(&w->batch, (const char *)(h + 1), len - sizeof *h);
	w->npoints += h->npoints;
	w->points_in += h->npoints;
	return w->npoints >= (uint32_t)w->p->pl->conf.output.batch_points;
}

/* The writer's part of a checkpoint: everything before the barrier is
 * delivered; -1 when told to stop while the output refused it. */
static int wr_on_barrier(void *st, uint64_t id)
{
	return deliver(st);
}

static int wr_init(void *st, struct rf_stage *sg)
{
	struct wr_proc *w = st;
	char err[256];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	w->p = sg->p;
	w->sg = sg;
	w->out = wr_output_open(&sg->p->pl->conf.output, err, sizeof err);
	if (!w->out) {
		rf_error("%s", err);
		return CONF_EXIT_CONFIG;
	}
	lp_buf_init(&w->batch);
	lp_buf_init(&w->mbatch);
	wr_set_wait_hook(publish_hook, w);
	w->metrics = sg->p->index == 0 && sg->p->pl->conf.metrics.on;
	w->metrics_due = rf_mono_ns() + sg->p->pl->conf.metrics.interval_ns;
	return RF_EXIT_OK;
}

/* The batch goes out when full or when its oldest point has waited
 * flush_interval. */
static int wr_on_turn(void *st)
{
	struct wr_proc *w = st;
	const struct conf_output *oc = &w->p->pl->conf.output;
	int64_t now = rf_mono_ns();
	if (w->metrics && now >= w->metrics_due) {
		w->metrics_due = now + w->p->pl->conf.metrics.interval_ns;
		if (write_metrics(w))
			return -1;
	}
	if (w->npoints >= (uint32_t)oc->batch_points || (w->npoints && now - w->first_ns >= oc->flush_interval_ns))
		return deliver(w);
	return 0;
}

/* Until the open batch or the metrics are due, or a second when neither. */
static int64_t wr_wait_ns(void *st)
{
	struct wr_proc *w = st;
	int64_t now = rf_mono_ns();
	int64_t timeout = w->npoints ? w->first_ns + w->p->pl->conf.output.flush_interval_ns - now : RF_NS_PER_SEC;
	if (w->metrics && w->metrics_due - now < timeout)
		timeout = w->metrics_due - now;
	return timeout < RF_NS_PER_MS ? RF_NS_PER_MS : timeout;
}

/* The last metrics go with the last batch: every stage before has ended,
 * so they hold the run's final counts. */
static int wr_on_eos(void *st, uint32_t kind)
{
	struct wr_proc *w = st;
	if (deliver(w) || (w->metrics && write_metrics(w)))
		return RF_EXIT_RESTART;
	return RF_EXIT_OK;
}

static void wr_fini(void *st)
{
	struct wr_proc *w = st;
	lp_buf_free(&w->batch);
	lp_buf_free(&w->mbatch);
	wr_output_close(w->out);
	curl_global_cleanup();
}

static const struct rf_stage_ops wr_stage = {
	.frames_per_turn = FRAMES_PER_TURN,
	.frame_type = RF_FRAME_POINTS,
	.frame_hdr = sizeof(struct rf_points_hdr),
	.init = wr_init,
	.on_frame = wr_on_frame,
	.on_barrier = wr_on_barrier,
	.on_turn = wr_on_turn,
	.wait_ns = wr_wait_ns,
	.on_eos = wr_on_eos,
	.publish = wr_publish,
	.fini = wr_fini,
};

int wr_run(const struct rf_proc *p)
{
	static struct wr_proc w;
	return rf_stage_run(&wr_stage, &w, p);
}
