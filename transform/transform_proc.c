/*
 * transform_proc.c — entry point of a transform process.
 *
 * Reads LINES frames from every ingest, runs each line through the compiled
 * plan (parse, filter, expressions, GeoIP), and for every rule encodes a row
 * that goes to the aggregate process owning the row's key
 * (rf_route_row: by hash of rule + key; rules with `top` to one process).
 * For each input frame every aggregate gets at least one ROWS frame, even
 * an empty one: it carries the frame's newest event time, so every
 * aggregate learns every partition's progress. Each row also carries the
 * newest event time before it in its frame (row.h), so the aggregates judge
 * lateness per record. A partition's frames all come through one transform
 * (ingest/framer.h), so its rows keep partition order. An ASSIGNED frame
 * (no lines) is passed on to every aggregate with its flag.
 *
 * Rows are built in a local buffer per aggregate and copied into the ring
 * once per frame, so a full ring toward one aggregate never leaves a
 * half-written frame in it. The rows of every earlier frame are thus in
 * the rings when a checkpoint barrier comes: the stage loop
 * (pipeline/stage_loop.h) forwards it at once; the transform has no part
 * of its own in a checkpoint.
 */
#include "pipeline/row.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pipeline/frames.h"
#include "pipeline/proc.h"
#include "pipeline/stage_loop.h"
#include "transform/plan.h"
#include "transform/transform.h"

#include <stdlib.h>
#include <string.h>

#define ROWS_FRAME_BYTES (512 * 1024)
#define FRAMES_PER_TURN 16

struct agg_out {
	struct shm_ring_handle *ring;
	unsigned char *buf;     /* rows */
	size_t cap, used;
	uint32_t nrows;
};

struct xf_proc {
	const struct rf_proc *p;
	const struct xf_plan *plan;
	struct xf_ctx *ctx;
	struct agg_out outs[RF_MAX_PER_ROLE];
	int nouts;
	struct rf_value *vals;
	unsigned char *row;     /* one encoded row, as large as a rows frame */
	size_t row_cap;
	uint64_t rows_too_long;
	uint64_t results[XF_RESULT_COUNT];
	struct xf_counters published;
	uint64_t rows_out, frames_out;
};

static int flush_out(struct xf_proc *x, struct agg_out *o, const struct rf_lines_hdr *in, int64_t max_event)
{
	struct rf_rows_hdr *h = shm_ring_reserve(o->ring, (uint32_t)(sizeof *h + o->used), RF_FRAME_ROWS,
						 &rf_stop_flag);
	if (!h)
		return -1;
	h->source = in->source;
	h->nrows = o->nrows;
	h->max_event_ns = max_event;
	h->flags = in->flags;
	h->pad = 0;
	memcpy(h + 1, o->buf, o->used);
	shm_ring_commit(o->ring);
	x->rows_out += o->nrows;
	x->frames_out++;
	o->used = 0;
	o->nrows = 0;
	return 0;
}

/* One rate-limited line per input frame with rejects: how many, the first
 * one's reason and the line itself (printable characters only). */
static void log_rejected(uint64_t n, enum xf_result why, const char *line, size_t len)
{
	char shown[96];
	size_t k = 0;
	for (; k < len && k < sizeof shown - 1; k++)
		shown[k] = line[k] >= 0x20 && line[k] < 0x7f ? line[k] : '?';
	shown[k] = '\0';
	RF_LOG_RL(RF_LOG_WARN, "%llu record(s) rejected in one batch (records_rejected_by_reason_total); "
		  "first: %s: '%s'%s", (unsigned long long)n, xf_result_name(why), shown, len > k ? "..." : "");
}

static int process_lines(struct xf_proc *x, const struct rf_lines_hdr *h, const char *text, size_t len)
{
	const struct rf_pipeline *pl = x->p->pl;
	int64_t now = rf_now_ns();
	int64_t max_event = INT64_MIN;
	uint64_t rejected = 0;
	const char *sample = NULL;     /* the frame's first rejected line */
	size_t sample_len = 0;
	enum xf_result sample_why = XF_OK;
	const char *end = text + len;
	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		size_t n = nl ? (size_t)(nl - text) : (size_t)(end - text);
		int64_t t = 0;
		enum xf_result r = xf_process_line(x->plan, x->ctx, text, n, now, x->vals, &t);
		x->results[r]++;
		if (r != XF_OK && r != XF_FILTERED && !rejected++) {
			sample = text;
			sample_len = n;
			sample_why = r;
		}
		text += n + 1;
		if (r != XF_OK)
			continue;
		int64_t prior_max = max_event;
		if (t > max_event)
			max_event = t;
		for (int k = 0; k < pl->nrules; k++) {
			uint64_t hash;
			size_t rl = rf_row_encode(pl->row_shapes[k], (uint16_t)k, x->vals, t, prior_max, x->row,
						  x->row_cap, &hash);
			if (rl == 0) {
				RF_LOG_RL(RF_LOG_WARN, "rule %s: row larger than a ring frame (%zu bytes) dropped "
					  "(rows_too_long_total)", pl->conf.rules[k].name, x->row_cap);
				x->rows_too_long++;
				continue;
			}
			struct agg_out *o = &x->outs[rf_route_row(pl->row_shapes[k], (uint16_t)k, hash, (uint32_t)x->nouts)];
			if (o->used + rl > o->cap && flush_out(x, o, h, max_event))
				return -1;
			memcpy(o->buf + o->used, x->row, rl);
			o->used += rl;
			o->nrows++;
		}
	}
	if (rejected)
		log_rejected(rejected, sample_why, sample, sample_len);
	for (int a = 0; a < x->nouts; a++)
		if (flush_out(x, &x->outs[a], h, max_event))
			return -1;
	return 0;
}

static void xf_publish(void *st)
{
	struct xf_proc *x = st;
	struct rf_stats_slot *s = x->p->stats;
	uint64_t total = 0, rejected = 0;
	for (int r = 0; r < XF_RESULT_COUNT; r++) {
		total += x->results[r];
		if (r != XF_OK && r != XF_FILTERED) {
			rejected += x->results[r];
			if (r < RF_REJECT_MAX)
				atomic_store_explicit(&s->reject[r],
						      atomic_load_explicit(&s->reject[r], memory_order_relaxed) + x->results[r],
						      memory_order_relaxed);
		}
	}
	rf_stat_add(s, RF_ST_RECORDS, total);
	rf_stat_add(s, RF_ST_RECORDS_OK, x->results[XF_OK]);
	rf_stat_add(s, RF_ST_RECORDS_FILTERED, x->results[XF_FILTERED]);
	rf_stat_add(s, RF_ST_RECORDS_REJECTED, rejected);
	memset(x->results, 0, sizeof x->results);
	const struct xf_counters *c = xf_ctx_counters(x->ctx);
	if (c->geoip_error > x->published.geoip_error)
		RF_LOG_RL(RF_LOG_WARN, "geoip: %llu lookup(s) failed inside the database (corrupt .mmdb?); "
			  "counted in geoip_error_total", (unsigned long long)(c->geoip_error - x->published.geoip_error));
	if (c->div_by_zero > x->published.div_by_zero)
		RF_LOG_RL(RF_LOG_WARN, "%llu division(s) by zero gave missing values (div_by_zero_total)",
			  (unsigned long long)(c->div_by_zero - x->published.div_by_zero));
	rf_stat_add(s, RF_ST_DIV_BY_ZERO, c->div_by_zero - x->published.div_by_zero);
	rf_stat_add(s, RF_ST_GEOIP_UNKNOWN, c->geoip_unknown - x->published.geoip_unknown);
	rf_stat_add(s, RF_ST_GEOIP_ERROR, c->geoip_error - x->published.geoip_error);
	rf_stat_add(s, RF_ST_SCRATCH_OVERFLOW, c->scratch_overflow - x->published.scratch_overflow);
	x->published = *c;
	rf_stat_add(s, RF_ST_ROWS_OUT, x->rows_out);
	rf_stat_add(s, RF_ST_ROWS_TOO_LONG, x->rows_too_long);
	x->rows_too_long = 0;
	rf_stat_add(s, RF_ST_FRAMES_OUT, x->frames_out);
	x->rows_out = x->frames_out = 0;
}

static int xf_on_frame(void *st, const void *fr, uint32_t len)
{
	const struct rf_lines_hdr *h = fr;
	return process_lines(st, h, (const char *)(h + 1), len - sizeof *h);
}

static int xf_init(void *st, struct rf_stage *sg)
{
	_Static_assert(XF_RESULT_COUNT <= RF_REJECT_MAX, "reject counters too few");
	struct xf_proc *x = st;
	char err[256];
	x->p = sg->p;
	x->plan = sg->p->pl->plan;
	x->ctx = xf_ctx_create(x->plan, err, sizeof err);
	if (!x->ctx) {
		rf_error("%s", err);
		return CONF_EXIT_CONFIG;
	}
	x->vals = calloc((size_t)xf_plan_nout(x->plan) + 1, sizeof *x->vals);
	x->nouts = sg->nouts;
	for (int a = 0; a < sg->nouts; a++) {
		x->outs[a].ring = &sg->outs[a];
		x->outs[a].cap = shm_ring_max_frame(&sg->outs[a]) - sizeof(struct rf_rows_hdr);
		if (x->outs[a].cap > ROWS_FRAME_BYTES)
			x->outs[a].cap = ROWS_FRAME_BYTES;
		x->outs[a].buf = malloc(x->outs[a].cap);
		x->row_cap = x->outs[a].cap;
		if (!x->outs[a].buf || !x->vals) {
			rf_error("out of memory");
			return RF_EXIT_RESTART;
		}
	}
	/* Any row up to a whole frame: the row format allows 64 KiB keys. */
	x->row = aligned_alloc(8, (x->row_cap + 7) & ~(size_t)7);
	if (!x->row) {
		rf_error("out of memory");
		return RF_EXIT_RESTART;
	}
	return RF_EXIT_OK;
}

/* Nothing is due by time: wake once a second all the same. */
static int64_t xf_wait_ns(void *st)
{
	return RF_NS_PER_SEC;
}

static void xf_fini(void *st)
{
	struct xf_proc *x = st;
	xf_ctx_destroy(x->ctx);
	free(x->vals);
	free(x->row);
	for (int a = 0; a < x->nouts; a++)
		free(x->outs[a].buf);
}

static const struct rf_stage_ops xf_stage = {
	.frames_per_turn = FRAMES_PER_TURN,
	.frame_type = RF_FRAME_LINES,
	.frame_hdr = sizeof(struct rf_lines_hdr),
	.init = xf_init,
	.on_frame = xf_on_frame,
	.wait_ns = xf_wait_ns,
	.publish = xf_publish,
	.fini = xf_fini,
};

int xf_run(const struct rf_proc *p)
{
	static struct xf_proc x;
	return rf_stage_run(&xf_stage, &x, p);
}
