/*
 * aggregate_proc.c — entry point of an aggregate process.
 *
 * Reads ROWS frames from every transform into the window engine (engine.h),
 * advances watermarks, and sends each closed window's points to a writer as
 * POINTS frames (split at line boundaries to fit a frame), and to every
 * analyzer host that reads the rule, followed by WINDOWS_CLOSED frames
 * saying how far each of those rules is closed here (pipeline/frames.h). Wakes at least
 * every 100 ms even without input, so idle partitions and quiet streams
 * still close their windows.
 *
 * Checkpoints: on the aligned BARRIER(N) the engine's open windows and
 * watermarks go into the checkpoint store as one blob (one write
 * transaction); the stage loop (pipeline/stage_loop.h) then acks N and
 * forwards the barrier to the writers, behind every point emitted before
 * it. At start, when the data plane resumes from checkpoint C, every blob
 * of C is merged in (blobs of other or differently many aggregate
 * processes included: the engine keeps the keys this process owns now).
 *
 * The engine's duration clock (idle timeouts; CLOCK_MONOTONIC, so an NTP
 * step marks nothing idle) stands still
 *  - while some ingest is not reading — joining the consumer group after a
 *    (re)start or rebalancing (Kafka input): input nobody reads is not
 *    quiet input, and restored windows must wait for the replay instead of
 *    being emitted half-full;
 *  - while this process waits for room in a writer's ring (output down,
 *    backpressure): the records queued behind it are not late.
 */
#include "aggregate/engine.h"
#include "aggregate/watermark.h"
#include "common/ckpt_store.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pipeline/frames.h"
#include "pipeline/checkpoint.h"
#include "pipeline/proc.h"
#include "aggregate/aggregate.h"
#include "pipeline/stage_loop.h"

#include <string.h>

#define FRAMES_PER_TURN 16
#define POINTS_FRAME_BYTES (512 * 1024)

struct agg_proc {
	const struct rf_proc *p;
	struct agg_engine *eng;
	struct shm_ring_handle *outs;  /* the writers, then the analyzer hosts */
	int nwriters, nhosts;
	int next_out;
	int64_t closed_sent[RF_MAX_PER_ROLE][CONF_MAX_RULES]; /* last WINDOWS_CLOSED per host, rule */
	int failed;               /* a reserve was refused: we are stopping */
	struct ckpt_store *store;  /* NULL for finite input: no checkpoints */
	struct agg_blob blob;      /* snapshot buffer, reused */
	struct agg_stats published;
	int pausable;              /* Kafka input: the clock may stand still */
	int64_t paused_ns;         /* time the clock stood still so far */
	int64_t pause_since;       /* monotonic time when it stopped, 0 if running */
	uint64_t points_too_long;  /* points no frame could hold, dropped */
	int64_t progress_due;      /* aggregate 0: next publication for max_skew */
	uint64_t frames_out;
};

static uint32_t count_lines(const char *s, size_t n)
{
	uint32_t c = 0;
	for (const char *e = s + n; (s = memchr(s, '\n', (size_t)(e - s))) != NULL; s++)
		c++;
	return c;
}

/* Sends one window's points to out as POINTS frames cut at line
 * boundaries. count: this is the window's writer copy, so a point no frame
 * can hold is counted and logged here (the hosts' copies skip it quietly).
 * 0, or -1 once a reserve was refused (we are stopping). */
static int send_window(struct agg_proc *a, struct shm_ring_handle *out, int rule, int64_t start_ns, int64_t end_ns,
		       const char *lp, size_t len, uint32_t npoints, int count)
{
	size_t cap = shm_ring_max_frame(out) - sizeof(struct rf_points_hdr);
	if (cap > POINTS_FRAME_BYTES)
		cap = POINTS_FRAME_BYTES;
	while (len) {
		size_t n = len;
		if (n > cap) {
			const char *cut = memrchr(lp, '\n', cap);
			if (!cut) {
				/* One point longer than any frame: dropped whole, counted. */
				const char *nl = memchr(lp, '\n', len);
				size_t skip = nl ? (size_t)(nl - lp) + 1 : len;
				if (count) {
					RF_LOG_RL(RF_LOG_WARN, "rule %s: a point of %zu bytes is longer than a ring "
						  "frame (%zu bytes) and was dropped (points_too_long_total)",
						  a->p->pl->conf.rules[rule].name, skip, cap);
					a->points_too_long++;
				}
				npoints--;
				lp += skip;
				len -= skip;
				continue;
			}
			n = (size_t)(cut - lp) + 1;
		}
		struct rf_points_hdr *h = shm_ring_reserve(out, (uint32_t)(sizeof *h + n), RF_FRAME_POINTS,
							   &rf_stop_flag);
		if (!h)
			return -1;
		h->rule = (uint32_t)rule;
		h->npoints = n == len ? npoints : count_lines(lp, n);
		h->window_start_ns = start_ns;
		h->window_end_ns = end_ns;
		memcpy(h + 1, lp, n);
		shm_ring_commit(out);
		a->frames_out++;
		npoints -= h->npoints;
		lp += n;
		len -= n;
	}
	return 0;
}

static void emit_window(void *arg, int rule, int64_t start_ns, int64_t end_ns, const char *lp,
			size_t len, uint32_t npoints)
{
	struct agg_proc *a = arg;
	if (a->failed || len == 0)
		return;
	/* One writer per window: its points stay together in one batch. */
	struct shm_ring_handle *out = &a->outs[a->next_out];
	int64_t t0 = rf_mono_ns();
	a->next_out = (a->next_out + 1) % a->nwriters;
	if (send_window(a, out, rule, start_ns, end_ns, lp, len, npoints, 1))
		a->failed = 1;
	/* Every analyzer host that reads the rule gets the window too. */
	for (int j = 0; j < a->nhosts && !a->failed; j++)
		if (a->p->pl->an_host_rules[j] >> rule & 1)
			if (send_window(a, &a->outs[a->nwriters + j], rule, start_ns, end_ns, lp, len, npoints, 0))
				a->failed = 1;
	int64_t waited = rf_mono_ns() - t0;
	if (waited > RF_NS_PER_MS)
		a->paused_ns += waited;
}

/* After an advance: tells each analyzer host how far each of its rules is
 * closed here (frames.h rf_windows_closed), when that moved. */
static void send_closed(struct agg_proc *a)
{
	for (int j = 0; j < a->nhosts && !a->failed; j++) {
		uint64_t want = a->p->pl->an_host_rules[j];
		for (int r = 0; r < a->p->pl->nrules && !a->failed; r++) {
			if (!(want >> r & 1))
				continue;
			int64_t upto = agg_engine_closed_upto(a->eng, r);
			if (upto <= a->closed_sent[j][r])
				continue;
			struct rf_windows_closed *c = shm_ring_reserve(&a->outs[a->nwriters + j], sizeof *c,
								       RF_FRAME_WINDOWS_CLOSED, &rf_stop_flag);
			if (!c) {
				a->failed = 1;
				return;
			}
			*c = (struct rf_windows_closed){ .rule = (uint32_t)r, .upto_ns = upto };
			shm_ring_commit(&a->outs[a->nwriters + j]);
			a->frames_out++;
			a->closed_sent[j][r] = upto;
		}
	}
}

static void agg_publish(void *st)
{
	struct agg_proc *a = st;
	struct rf_stats_slot *s = a->p->stats;
	const struct agg_stats *c = agg_engine_stats(a->eng);
	struct agg_stats *o = &a->published;
	if (c->late > o->late)
		RF_LOG_RL(RF_LOG_WARN, "%llu row(s) dropped as late: their window was already emitted "
			  "(lateness; rows_late_total)", (unsigned long long)(c->late - o->late));
	if (c->overflow > o->overflow)
		RF_LOG_RL(RF_LOG_WARN, "%llu row(s) went to the overflow series: max_keys reached "
			  "(rows_overflow_total)", (unsigned long long)(c->overflow - o->overflow));
	rf_stat_add(s, RF_ST_ROWS_IN, c->rows - o->rows);
	rf_stat_add(s, RF_ST_ROWS_AGGREGATED, c->aggregated - o->aggregated);
	rf_stat_add(s, RF_ST_ROWS_LATE, c->late - o->late);
	rf_stat_add(s, RF_ST_ROWS_OVERFLOW, c->overflow - o->overflow);
	rf_stat_add(s, RF_ST_ROWS_BAD, c->bad_rows - o->bad_rows);
	rf_stat_add(s, RF_ST_WINDOWS_EMITTED, c->windows_emitted - o->windows_emitted);
	rf_stat_add(s, RF_ST_POINTS_EMITTED, c->points_emitted - o->points_emitted);
	rf_stat_add(s, RF_ST_POINTS_EMPTY, c->points_empty - o->points_empty);
	if (c->nomem > o->nomem)
		RF_LOG_RL(RF_LOG_ERROR, "out of memory: %llu window update(s) lost (nomem_total)",
			  (unsigned long long)(c->nomem - o->nomem));
	rf_stat_add(s, RF_ST_NOMEM, c->nomem - o->nomem);
	if (c->nonfinite > o->nonfinite)
		RF_LOG_RL(RF_LOG_WARN, "%llu NaN or infinite aggregate input(s) skipped as missing "
			  "(values_nonfinite_total)", (unsigned long long)(c->nonfinite - o->nonfinite));
	rf_stat_add(s, RF_ST_VALUES_NONFINITE, c->nonfinite - o->nonfinite);
	rf_stat_add(s, RF_ST_POINTS_TOO_LONG, a->points_too_long);
	a->points_too_long = 0;
	rf_stat_set(s, RF_ST_LIVE_KEYS, c->live_keys);
	rf_stat_set(s, RF_ST_STATE_BYTES, c->bytes);
	rf_stat_add(s, RF_ST_FRAMES_OUT, a->frames_out);
	a->frames_out = 0;
	*o = *c;
}

/* The engine's duration clock: monotonic time minus the time no ingest
 * could read. */
static int64_t engine_clock(struct agg_proc *a)
{
	int64_t now = rf_mono_ns();
	if (!a->pausable)
		return now - a->paused_ns;
	int reading = rf_ckpt_input_reading(a->p);
	if (!reading && !a->pause_since)
		a->pause_since = now;
	else if (reading && a->pause_since) {
		a->paused_ns += now - a->pause_since;
		a->pause_since = 0;
	}
	return (a->pause_since ? a->pause_since : now) - a->paused_ns;
}

/* Aggregate 0 (every aggregate sees the same progress) publishes each
 * partition's event time and the floor for the ingests' watermark
 * alignment (checkpoint.h), at most every 10 ms. */
static void publish_progress(struct agg_proc *a, int64_t now)
{
	if (now < a->progress_due)
		return;
	a->progress_due = now + 10 * RF_NS_PER_MS;
	struct agg_engine_parts ep;
	agg_engine_parts(a->eng, &ep);
	struct rf_ckpt_ctl *c = rf_ckpt_ctl(a->p);
	for (uint32_t i = 0; i < ep.wm->nsources && i < RF_MAX_SOURCES; i++)
		atomic_store_explicit(&c->event_max[i], ep.wm->src[i].tracked ? ep.wm->src[i].max_event_ns : INT64_MIN,
				      memory_order_relaxed);
	atomic_store_explicit(&c->event_floor, agg_wm_floor(ep.wm, now), memory_order_release);
}

/* The aggregate's part of checkpoint `id`: 1 when it cannot be stored
 * (the loop marks the checkpoint failed, then acks). */
static int agg_on_barrier(void *st, uint64_t id)
{
	struct agg_proc *a = st;
	char err[512];
	/* Everything the input before the barrier closes is closed now, so
	 * every aggregate has closed the same windows at checkpoint N (they
	 * all see every partition's progress): no window is closed before N in
	 * one aggregate and after it in another. An analyzer host restarted
	 * from N would otherwise wait for the part of a window that the first
	 * one will not send again. */
	agg_engine_advance(a->eng, engine_clock(a), rf_now_ns(), 0, emit_window, a);
	send_closed(a);
	if (a->failed)
		return -1;
	if (!a->store)
		snprintf(err, sizeof err, "no checkpoint store");
	else if (agg_engine_snapshot(a->eng, &a->blob))
		snprintf(err, sizeof err, "out of memory for the snapshot");
	if (!a->store || a->blob.len == 0 ||
	    ckpt_put_state(a->store, id, (uint32_t)a->p->index, a->blob.p, a->blob.len, err, sizeof err)) {
		RF_LOG_RL(RF_LOG_ERROR, "checkpoint %llu: cannot store window state: %s", (unsigned long long)id, err);
		return 1;
	}
	return 0;
}

struct restore_ctx {
	struct agg_proc *a;
	struct agg_restore_stats st;
	char err[512];
};

static int restore_blob(void *arg, uint32_t owner, const void *blob, size_t len)
{
	struct restore_ctx *r = arg;
	char why[400];
	if (agg_engine_restore(r->a->eng, blob, len, engine_clock(r->a), &r->st, why, sizeof why)) {
		snprintf(r->err, sizeof r->err, "state of aggregate %u: %s", owner, why);
		return -1;
	}
	return 0;
}

/* Merges the state of the checkpoint this data plane resumes from. */
static int restore(struct agg_proc *a, uint64_t id)
{
	struct restore_ctx r = { .a = a };
	int64_t t0 = rf_mono_ns();
	if (ckpt_each_state(a->store, id, restore_blob, &r, r.err, sizeof r.err)) {
		rf_error("checkpoint %llu: %s; start ringflow with --reset-state to discard the checkpoint "
			 "(window state and checkpointed offsets are lost)", (unsigned long long)id, r.err);
		return -1;
	}
	rf_info("checkpoint %llu: restored %llu windows, %llu keys (%llu keys belong to other aggregate "
		"processes) in %lld ms", (unsigned long long)id, (unsigned long long)r.st.windows,
		(unsigned long long)r.st.keys, (unsigned long long)r.st.keys_skipped_other_owner,
		(long long)((rf_mono_ns() - t0) / RF_NS_PER_MS));
	return 0;
}

static int agg_on_frame(void *st, const void *fr, uint32_t len)
{
	struct agg_proc *a = st;
	const struct rf_rows_hdr *h = fr;
	agg_engine_add_rows(a->eng, h->source, h->max_event_ns, h->flags, h + 1, len - sizeof *h, h->nrows,
			    engine_clock(a));
	return 0;
}

static int agg_init(void *st, struct rf_stage *sg)
{
	struct agg_proc *a = st;
	const struct rf_proc *p = sg->p;
	char err[256];
	a->p = p;
	a->outs = sg->outs;
	a->nwriters = p->lay->n[RF_ROLE_WRITER];
	a->nhosts = p->lay->n[RF_ROLE_ANALYZE];
	for (int j = 0; j < RF_MAX_PER_ROLE; j++)
		for (int r = 0; r < CONF_MAX_RULES; r++)
			a->closed_sent[j][r] = INT64_MIN;
	a->eng = agg_engine_create(p->pl->rules, p->pl->nrules, &p->pl->conf, p->index,
				   p->lay->n[RF_ROLE_AGGREGATE]);
	if (!a->eng) {
		rf_error("cannot create the window engine (out of memory)");
		return RF_EXIT_RESTART;
	}
	if (p->pl->conf.input.type == CONF_INPUT_KAFKA) {
		a->pausable = 1;
		a->store = ckpt_open(p->pl->conf.ringflow.state_dir, p->pl->conf.ringflow.name, err, sizeof err);
		if (!a->store) {
			rf_error("%s", err);
			return RF_EXIT_STATE;
		}
		uint64_t resume = atomic_load(&rf_ckpt_ctl(p)->resume);
		if (resume && restore(a, resume))
			return RF_EXIT_STATE;
	}
	return RF_EXIT_OK;
}

/* The engine's tick, after every turn: windows close by watermark and by
 * idle time even without input. -1 once a reserve was refused. */
static int agg_on_turn(void *st)
{
	struct agg_proc *a = st;
	const struct rf_proc *p = a->p;
	int64_t clock = engine_clock(a);
	agg_engine_advance(a->eng, clock, rf_now_ns(), 0, emit_window, a);
	send_closed(a);
	if (a->pausable && p->index == 0 && p->pl->conf.input.max_skew_ns > 0)
		publish_progress(a, clock);
	return a->failed ? -1 : 0;
}

/* Idle partitions and quiet streams close their windows at this pace. */
static int64_t agg_wait_ns(void *st)
{
	return 100 * RF_NS_PER_MS;
}

/* End of input closes every window; a stop keeps them for the checkpoint
 * (DESIGN.md §2). */
static int agg_on_eos(void *st, uint32_t kind)
{
	struct agg_proc *a = st;
	if (kind == RF_EOS_END)
		agg_engine_advance(a->eng, engine_clock(a), rf_now_ns(), 1, emit_window, a);
	return a->failed ? RF_EXIT_RESTART : RF_EXIT_OK;
}

static void agg_fini(void *st)
{
	struct agg_proc *a = st;
	agg_engine_destroy(a->eng);
	agg_blob_free(&a->blob);
	ckpt_close(a->store);
}

static const struct rf_stage_ops agg_stage = {
	.frames_per_turn = FRAMES_PER_TURN,
	.frame_type = RF_FRAME_ROWS,
	.frame_hdr = sizeof(struct rf_rows_hdr),
	.init = agg_init,
	.on_frame = agg_on_frame,
	.on_barrier = agg_on_barrier,
	.on_turn = agg_on_turn,
	.wait_ns = agg_wait_ns,
	.on_eos = agg_on_eos,
	.publish = agg_publish,
	.fini = agg_fini,
};

int agg_run(const struct rf_proc *p)
{
	static struct agg_proc a;
	return rf_stage_run(&agg_stage, &a, p);
}
