/*
 * analyze_proc.c — entry point of an analyzer host process (DESIGN.md §5).
 *
 * NOTES
 *
 * Whole windows. Every aggregate sends the host the closed windows of the
 * rules its analyzers read (POINTS frames), each followed in time by a
 * WINDOWS_CLOSED frame per rule: "every window of rule r ending at or
 * before T that I had is sent" (pipeline/frames.h). The host gathers the
 * points of (rule, window) from all aggregates into one pending block; a
 * block is whole once every aggregate still sending has said it closed
 * that far (one that sent EOS has nothing more). Whole blocks go to the
 * analyzers in window-start order per rule: an aggregate that owned no key
 * of a window still says the window closed, so nothing waits for it.
 *
 * Once. The start of the last window handed to each analyzer, per rule,
 * lives in its shared slot (pipeline/analyzers.h), which a data-plane
 * restart keeps. Replayed windows up to it are not handed on again. The
 * aggregates close, at every checkpoint barrier, everything the input
 * before it closes (aggregate_proc.c), so no window is closed before a
 * checkpoint in one aggregate and after it in another: after a restart
 * from that checkpoint every part of a window not yet whole comes again.
 *
 * Never blocking. Each analyzer is an an_child (child.h): a bounded queue
 * of blocks, non-blocking pipes, its own restarts and timeouts. With
 * streaming input a block that does not fit the queue is dropped for that
 * analyzer and counted; with finite input (type = file) the queue has no
 * bound here, and instead the host takes no input while a queue is full
 * (can_take), so the pipeline waits for the analyzer and the same file
 * always gives the same output.
 *
 * Output. Analyzer stdout lines are parsed (pipeline/lineproto_parse.h);
 * bad ones are counted per analyzer and logged with its name. `alert`
 * points go to the alert sinks (and, as [alerts] measurement, to the
 * writers); every other point goes to the writers as is. A point without
 * a timestamp gets the start of the last window written to that analyzer.
 *
 * The end. When every aggregate sent EOS, the remaining blocks are handed
 * on, each analyzer's stdin is closed once its queue is empty, the host
 * waits for them (child.c bounds it by `timeout`), forwards what they
 * printed, and only then sends EOS on to the writers.
 *
 * Runs in the analyzer host process; the children it starts are the
 * analyzers.
 */
#include "analyze/alert.h"
#include "analyze/alerts_from_config.h"
#include "analyze/analyze.h"
#include "analyze/child.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pipeline/analyzers.h"
#include "pipeline/frames.h"
#include "pipeline/lineproto.h"
#include "pipeline/lineproto_parse.h"
#include "pipeline/stage_loop.h"

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAMES_PER_TURN 32
_Static_assert((int)DET_SEVERITY_COUNT == (int)RF_AN_SEVERITY_COUNT && (int)DET_CRITICAL == (int)RF_AN_CRITICAL,
	       "the slots count alerts by det_severity");
_Static_assert((int)AN_CHILD_STATE_COUNT == (int)RF_AN_STATE_COUNT && (int)AN_CHILD_FINISHED == (int)RF_AN_FINISHED,
	       "the slots show the child's state");
#define OUT_FLUSH_BYTES (256 * 1024)
#define ACTIVE_WAIT_NS (5 * RF_NS_PER_MS)
#define IDLE_WAIT_NS (100 * RF_NS_PER_MS)
#define ALERTS_MEASUREMENT_DEFAULT "ringflow_alerts"
#define SINKS_FLUSH_NS (5 * RF_NS_PER_SEC)  /* at the end, for queued alerts */
/* Stopped for a data-plane restart (the supervisor kills us after 2 s). */
#define STOP_DRAIN_NS (300 * RF_NS_PER_MS)
#define SINKS_STOP_FLUSH_NS (1000 * RF_NS_PER_MS)

/* One (rule, window) being gathered from the aggregates. */
struct block {
	int64_t start, end;
	uint32_t npoints;
	struct lp_buf text;
};

struct rule_blocks {
	struct block *b;      /* by start, ascending */
	int n, cap;
};

/* One analyzer this host runs. */
struct analyzer {
	struct an_host *h;
	const struct an_spec *spec;
	struct an_child *child;
	struct rf_an_slot *slot;
	/* The blocks queued and not yet written whole, oldest first: their
	 * delivered marks move when they are, and an output point without a
	 * timestamp gets the start of the last one written. */
	struct queued { int64_t start; int rule; } *queue;
	int nqueue, capqueue;
	uint64_t delivered_seen;   /* windows_delivered as last read */
	int64_t current_start;     /* last window written whole; INT64_MIN none */
	uint64_t lines_seen;
	char error_published[RF_AN_ERROR_MAX]; /* last error put in the slot */
	/* The slot's counters as this host found them (earlier data-plane
	 * runs): the child's own count from 0. */
	uint64_t base_delivered, base_resent, base_timeouts, base_starts;
};

struct an_host {
	const struct rf_proc *p;
	struct rf_stage *sg;
	const struct an_plan *plan;
	struct analyzer an[CONF_MAX_ANALYZERS];
	int nan;
	uint64_t rules;             /* the rules this host's analyzers read */
	int lossless;               /* finite input: wait for analyzers, drop nothing */
	int nagg;                   /* inputs: the aggregates */
	int64_t closed[RF_MAX_PER_ROLE][CONF_MAX_RULES];
	struct rule_blocks pending[CONF_MAX_RULES];
	struct lp_buf block_text;   /* one whole block as written to analyzers */
	struct lp_buf out;          /* analyzer points for the writers */
	uint32_t out_points;
	int next_writer;
	int failed;
	struct lp_point *pt;        /* parse scratch (large) */
	const char *alerts_measurement; /* "" = none */
	struct rf_ratelimit bad_rl;
	struct an_sinks *sinks;
	struct an_alert alert;      /* scratch */
	/* Stats since the last publish. */
	uint64_t windows, points_in, replayed, points_out, frames_out;
};

/* ---- output to the writers -------------------------------------------- */

static void flush_out(struct an_host *h)
{
	if (!h->out.len || h->failed)
		return;
	int nw = h->p->lay->n[RF_ROLE_WRITER];
	struct shm_ring_handle *ring = &h->sg->outs[h->next_writer];
	h->next_writer = (h->next_writer + 1) % nw;
	struct rf_points_hdr *hdr = shm_ring_reserve(ring, (uint32_t)(sizeof *hdr + h->out.len), RF_FRAME_POINTS,
						     &rf_stop_flag);
	if (!hdr) {
		h->failed = 1;
		return;
	}
	/* The writer reads npoints and the lines; an analyzer's points
	 * belong to no rule and no single window. */
	*hdr = (struct rf_points_hdr){ .rule = UINT32_MAX, .npoints = h->out_points };
	memcpy(hdr + 1, h->out.data, h->out.len);
	shm_ring_commit(ring);
	h->frames_out++;
	h->points_out += h->out_points;
	lp_buf_reset(&h->out);
	h->out_points = 0;
}

/* Room for n more bytes in the frame being built, flushing first if not. */
static void out_room(struct an_host *h, size_t n)
{
	size_t cap = shm_ring_max_frame(&h->sg->outs[0]) - sizeof(struct rf_points_hdr);
	if (h->out.len && (h->out.len + n > cap || h->out.len >= OUT_FLUSH_BYTES))
		flush_out(h);
}

static size_t max_out_line(const struct an_host *h)
{
	return shm_ring_max_frame(&h->sg->outs[0]) - sizeof(struct rf_points_hdr);
}

/* ---- analyzer output ---------------------------------------------------- */

static void reject(struct analyzer *a, const char *why, const char *detail)
{
	atomic_fetch_add(&a->slot->c[RF_AN_LINES_REJECTED], 1);
	rf_log_rl(&a->h->bad_rl, RF_LOG_WARN, "analyzer %s: output line rejected (%s)%s%s", a->spec->name, why,
		  detail ? ": " : "", detail ? detail : "");
}

/* The alert as a point of [alerts] measurement: tag analyzer, then its
 * own tags and fields. */
static void store_alert(struct an_host *h, const struct analyzer *a, const struct lp_point *pt, int64_t t)
{
	out_room(h, 2 * LP_LINE_MAX);
	struct lp_enc e;
	lp_begin(&e, &h->out, h->alerts_measurement, strlen(h->alerts_measurement));
	lp_tag(&e, "analyzer", 8, a->spec->name, strlen(a->spec->name));
	for (int i = 0; i < pt->ntags; i++)
		if (strcmp(pt->tags[i].key.p, "analyzer"))
			lp_tag(&e, pt->tags[i].key.p, pt->tags[i].key.len, pt->tags[i].val.p, pt->tags[i].val.len);
	for (int i = 0; i < pt->nfields; i++) {
		const struct lp_point_field *f = &pt->fields[i];
		switch (f->type) {
		case LP_FLOAT: lp_field_float(&e, f->key.p, f->key.len, f->v.f); break;
		case LP_INT: lp_field_int(&e, f->key.p, f->key.len, f->v.i); break;
		case LP_UINT:
			if (f->v.u <= INT64_MAX)
				lp_field_int(&e, f->key.p, f->key.len, (int64_t)f->v.u);
			else
				lp_field_float(&e, f->key.p, f->key.len, (double)f->v.u);
			break;
		case LP_STRING: lp_field_str(&e, f->key.p, f->key.len, f->v.s.p, f->v.s.len); break;
		case LP_BOOL: lp_field_bool(&e, f->key.p, f->key.len, f->v.b); break;
		}
	}
	if (lp_end(&e, t) == 0)
		h->out_points++;
}

static void on_alert(struct analyzer *a, const struct lp_point *pt, int64_t t)
{
	struct an_host *h = a->h;
	char why[160];
	if (an_alert_from_point(pt, a->spec->name, t, &h->alert, why, sizeof why)) {
		atomic_fetch_add(&a->slot->c[RF_AN_ALERTS_BAD], 1);
		reject(a, "bad alert", why);
		return;
	}
	atomic_fetch_add(&a->slot->alerts[h->alert.severity], 1);
	if (*h->alerts_measurement)
		store_alert(h, a, pt, t);
	an_sinks_send(h->sinks, &h->alert);
}

static void on_line(void *arg, const char *line, size_t len, int too_long)
{
	struct analyzer *a = arg;
	struct an_host *h = a->h;
	if (too_long) {
		reject(a, "too_long", "longer than 64 KiB");
		return;
	}
	char why[160];
	int rc = lp_parse(line, len, h->pt, why, sizeof why);
	if (lp_is_skip(rc))
		return;
	if (rc < 0) {
		reject(a, lp_error_name((enum lp_error)-rc), why);
		return;
	}
	int64_t t = h->pt->has_time ? h->pt->time_ns : a->current_start;
	if (!h->pt->has_time && a->current_start == INT64_MIN) {
		reject(a, "no timestamp", "and no window was written to it yet");
		return;
	}
	if (!strcmp(h->pt->measurement.p, "alert")) {
		on_alert(a, h->pt, t);
		return;
	}
	/* Any other point is written as the analyzer wrote it. */
	if (len + 24 > max_out_line(h)) {
		reject(a, "too_long", "longer than a ring frame");
		return;
	}
	out_room(h, len + 24);
	lp_buf_append(&h->out, line, len);
	if (!h->pt->has_time) {
		char ts[24];
		int n = snprintf(ts, sizeof ts, " %" PRId64, t);
		lp_buf_append(&h->out, ts, (size_t)n);
	}
	lp_buf_append(&h->out, "\n", 1);
	h->out_points++;
	atomic_fetch_add(&a->slot->c[RF_AN_POINTS_OUT], 1);
}

/* ---- analyzers ---------------------------------------------------------- */

/* Mirrors the child's counters into its slot and moves current_start on
 * by the blocks it finished writing. */
static void sync_child(struct analyzer *a)
{
	const struct an_child_stats *st = an_child_stats(a->child);
	uint64_t d = st->windows_delivered - a->delivered_seen;
	a->delivered_seen = st->windows_delivered;
	for (; d && a->nqueue; d--) {
		a->current_start = a->queue[0].start;
		atomic_store(&a->slot->delivered[a->queue[0].rule], a->queue[0].start);
		memmove(a->queue, a->queue + 1, (size_t)--a->nqueue * sizeof *a->queue);
	}
	/* Blocks the child gave up (it kept dying while finishing). */
	while (a->nqueue > an_child_queue_len(a->child))
		memmove(a->queue, a->queue + 1, (size_t)--a->nqueue * sizeof *a->queue);
	struct rf_an_slot *s = a->slot;
	atomic_store(&s->pid, st->pid);
	atomic_store(&s->state, (int32_t)an_child_state(a->child));
	atomic_store(&s->crash_loop, st->crash_loop);
	atomic_store(&s->c[RF_AN_WINDOWS_DELIVERED], a->base_delivered + st->windows_delivered);
	atomic_store(&s->c[RF_AN_WINDOWS_RESENT], a->base_resent + st->windows_resent);
	atomic_store(&s->c[RF_AN_TIMEOUTS], a->base_timeouts + st->timeouts);
	uint64_t starts = a->base_starts + st->starts;
	atomic_store(&s->starts, starts);
	atomic_store(&s->c[RF_AN_RESTARTS], starts > 1 ? starts - 1 : 0);
	uint64_t lines = st->lines_out + st->lines_too_long;
	atomic_fetch_add(&s->c[RF_AN_LINES_OUT], lines - a->lines_seen);
	a->lines_seen = lines;
	if (strcmp(a->error_published, st->last_error)) {
		rf_an_set_error(s, st->last_error);
		snprintf(a->error_published, sizeof a->error_published, "%s", st->last_error);
	}
}

static void service_all(struct an_host *h)
{
	int64_t now = rf_mono_ns();
	for (int i = 0; i < h->nan; i++) {
		an_child_service(h->an[i].child, now, on_line, &h->an[i]);
		sync_child(&h->an[i]);
	}
	an_sinks_service(h->sinks, now);
}

/* Hands a whole block to every analyzer of this host that reads rule. */
static void deliver(struct an_host *h, int rule, const struct block *b)
{
	const struct conf_rule *cr = &h->p->pl->conf.rules[rule];
	struct lp_buf *t = &h->block_text;
	lp_buf_reset(t);
	char hdr[CONF_NAME_MAX * 4 + 96];
	int n = snprintf(hdr, sizeof hdr, "# window rule=%s measurement=%s start=%" PRId64 " end=%" PRId64 "\n",
			 cr->name, cr->measurement, b->start, b->end);
	lp_buf_append(t, hdr, (size_t)n);
	lp_buf_append(t, b->text.data, b->text.len);
	lp_buf_append(t, "# end\n", 6);
	h->windows++;
	int replayed = 0;
	for (int i = 0; i < h->nan; i++) {
		struct analyzer *a = &h->an[i];
		if (!(a->spec->rules >> rule & 1))
			continue;
		if (b->start <= atomic_load(&a->slot->delivered[rule])) {
			replayed = 1;
			continue;
		}
		if (a->nqueue == a->capqueue) {
			int cap = a->capqueue ? 2 * a->capqueue : 64;
			struct queued *q = realloc(a->queue, (size_t)cap * sizeof *q);
			if (!q) {
				RF_LOG_RL(RF_LOG_ERROR, "analyzer %s: out of memory: window dropped for it",
					  a->spec->name);
				atomic_fetch_add(&a->slot->c[RF_AN_WINDOWS_DROPPED], 1);
				continue;
			}
			a->queue = q;
			a->capqueue = cap;
		}
		if (an_child_enqueue(a->child, t->data, t->len) == 0) {
			a->queue[a->nqueue++] = (struct queued){ b->start, rule };
			atomic_store(&a->slot->queued[rule], b->start);
		} else {
			atomic_fetch_add(&a->slot->c[RF_AN_WINDOWS_DROPPED], 1);
			RF_LOG_RL(RF_LOG_WARN, "analyzer %s: queue full (%d windows): window %s start=%" PRId64
				  " dropped for it (windows_dropped)", a->spec->name, a->spec->queue, cr->name,
				  b->start);
		}
	}
	h->replayed += (uint64_t)replayed;
}

/* ---- gathering blocks --------------------------------------------------- */

static struct block *find_block(struct an_host *h, int rule, int64_t start, int64_t end)
{
	struct rule_blocks *rb = &h->pending[rule];
	int i = rb->n;
	while (i > 0 && rb->b[i - 1].start > start)
		i--;
	if (i > 0 && rb->b[i - 1].start == start)
		return &rb->b[i - 1];
	if (rb->n == rb->cap) {
		int cap = rb->cap ? 2 * rb->cap : 8;
		struct block *nb = realloc(rb->b, (size_t)cap * sizeof *nb);
		if (!nb)
			return NULL;
		rb->b = nb;
		rb->cap = cap;
	}
	memmove(&rb->b[i + 1], &rb->b[i], (size_t)(rb->n - i) * sizeof *rb->b);
	rb->n++;
	struct block *b = &rb->b[i];
	*b = (struct block){ .start = start, .end = end };
	lp_buf_init(&b->text);
	return b;
}

/* Delivers, in start order, the blocks of rule every aggregate closed
 * (all of them at the end). */
static void complete(struct an_host *h, int rule, int all)
{
	int64_t upto = INT64_MAX;
	if (!all)
		for (int i = 0; i < h->nagg; i++)
			if (!h->sg->in.eos[i] && h->closed[i][rule] < upto)
				upto = h->closed[i][rule];
	struct rule_blocks *rb = &h->pending[rule];
	int done = 0;
	while (done < rb->n && rb->b[done].end <= upto) {
		deliver(h, rule, &rb->b[done]);
		lp_buf_free(&rb->b[done].text);
		done++;
	}
	if (done) {
		memmove(rb->b, rb->b + done, (size_t)(rb->n - done) * sizeof *rb->b);
		rb->n -= done;
	}
}

static int an_on_frame(void *st, const void *frame, uint32_t len)
{
	struct an_host *h = st;
	const struct rf_points_hdr *hdr = frame;
	if (hdr->rule >= (uint32_t)h->p->pl->nrules || !(h->rules >> hdr->rule & 1)) {
		RF_LOG_RL(RF_LOG_WARN, "points of rule %u, which no analyzer here reads: skipped", hdr->rule);
		return 0;
	}
	struct block *b = find_block(h, (int)hdr->rule, hdr->window_start_ns, hdr->window_end_ns);
	if (!b) {
		RF_LOG_RL(RF_LOG_ERROR, "out of memory gathering a window: restarting");
		return -1;
	}
	lp_buf_append(&b->text, (const char *)(hdr + 1), len - sizeof *hdr);
	b->npoints += hdr->npoints;
	h->points_in += hdr->npoints;
	return 0;
}

static int an_on_other(void *st, int input, uint16_t type, const void *frame, uint32_t len)
{
	struct an_host *h = st;
	if (type != RF_FRAME_WINDOWS_CLOSED || len < sizeof(struct rf_windows_closed) || input >= h->nagg) {
		RF_LOG_RL(RF_LOG_ERROR, "unexpected frame type %u from input %d: skipped", type, input);
		return 0;
	}
	const struct rf_windows_closed *c = frame;
	if (c->rule >= (uint32_t)h->p->pl->nrules || !(h->rules >> c->rule & 1))
		return 0;
	if (c->upto_ns > h->closed[input][c->rule]) {
		h->closed[input][c->rule] = c->upto_ns;
		complete(h, (int)c->rule, 0);
	}
	return 0;
}

/* ---- stage callbacks ---------------------------------------------------- */

static int an_init(void *st, struct rf_stage *sg)
{
	struct an_host *h = st;
	const struct rf_proc *p = sg->p;
	h->p = p;
	h->sg = sg;
	h->plan = p->pl->analyzers;
	h->lossless = p->pl->conf.input.type == CONF_INPUT_FILE;
	h->nagg = p->lay->n[RF_ROLE_AGGREGATE];
	h->alerts_measurement = p->pl->conf.alerts.measurement ? p->pl->conf.alerts.measurement
		: ALERTS_MEASUREMENT_DEFAULT;
	for (int i = 0; i < RF_MAX_PER_ROLE; i++)
		for (int r = 0; r < CONF_MAX_RULES; r++)
			h->closed[i][r] = INT64_MIN;
	lp_buf_init(&h->block_text);
	lp_buf_init(&h->out);
	h->pt = malloc(sizeof *h->pt);
	if (!h->pt || !h->plan) {
		rf_error("analyzer host: %s", h->pt ? "no analyzers compiled" : "out of memory");
		return RF_EXIT_RESTART;
	}
	signal(SIGPIPE, SIG_IGN);
	struct rf_an_slot *slots = rf_an_slots(p->seg, p->lay->analyzers);
	for (int k = 0; k < h->plan->n; k++) {
		const struct an_spec *s = &h->plan->a[k];
		if (s->host != p->index)
			continue;
		struct analyzer *a = &h->an[h->nan++];
		a->h = h;
		a->spec = s;
		a->slot = &slots[k];
		a->current_start = INT64_MIN;
		a->base_delivered = atomic_load(&a->slot->c[RF_AN_WINDOWS_DELIVERED]);
		a->base_resent = atomic_load(&a->slot->c[RF_AN_WINDOWS_RESENT]);
		a->base_timeouts = atomic_load(&a->slot->c[RF_AN_TIMEOUTS]);
		a->base_starts = atomic_load(&a->slot->starts);
		/* What the slot shows now (an earlier run's error, cleared by
		 * the first sync as before). */
		rf_an_read_error(a->slot, a->error_published, sizeof a->error_published);
		atomic_store(&a->slot->host, p->index);
		for (int r = 0; r < CONF_MAX_RULES; r++) {
			int64_t q = atomic_load(&a->slot->queued[r]), d = atomic_load(&a->slot->delivered[r]);
			if (q > d)
				rf_warn("analyzer %s: windows of rule %s up to start %" PRId64 " were queued for it when the "
					"data plane restarted; those that closed before the checkpoint it resumes from are "
					"not sent again", s->name, p->pl->conf.rules[r].name, q);
			atomic_store(&a->slot->queued[r], d);
		}
		h->rules |= s->rules;
		struct an_child_spec cs = {
			.name = s->name,
			.path = s->path,
			.argv = s->argv,
			.envp = s->envp,
			/* Finite input: can_take holds the input back once the
			 * queue is full, but one frame (or the end) can complete
			 * every open window of every rule at once: room for them. */
			.queue_max = h->lossless ? s->queue + p->pl->nrules * CONF_MAX_OPEN_WINDOWS : s->queue,
			.timeout_ns = s->timeout_ns,
		};
		a->child = an_child_new(&cs);
		if (!a->child) {
			rf_error("analyzer %s: out of memory", s->name);
			return RF_EXIT_RESTART;
		}
	}
	char err[600];
	h->sinks = an_sinks_from_config(&p->pl->conf.alerts, err, sizeof err);
	if (!h->sinks) {
		rf_error("%s", err);
		return CONF_EXIT_CONFIG;
	}
	rf_info("analyzer host %d: %d analyzer(s)%s", p->index, h->nan,
		h->lossless ? ", finite input: the pipeline waits for them" : "");
	return RF_EXIT_OK;
}

static int an_can_take(void *st)
{
	struct an_host *h = st;
	if (!h->lossless)
		return 1;
	for (int i = 0; i < h->nan; i++)
		if (an_child_queue_len(h->an[i].child) >= h->an[i].spec->queue &&
		    an_child_state(h->an[i].child) != AN_CHILD_FINISHED)
			return 0;
	return 1;
}

static int an_on_turn(void *st)
{
	struct an_host *h = st;
	service_all(h);
	flush_out(h);
	return h->failed ? -1 : 0;
}

static int64_t an_wait_ns(void *st)
{
	struct an_host *h = st;
	int64_t now = rf_mono_ns(), wait = IDLE_WAIT_NS;
	for (int i = 0; i < h->nan; i++) {
		enum an_child_state s = an_child_state(h->an[i].child);
		if (s == AN_CHILD_RUNNING || s == AN_CHILD_CLOSING)
			wait = ACTIVE_WAIT_NS;
		int64_t due = an_child_next_due(h->an[i].child, now) - now;
		if (due < wait)
			wait = due < 0 ? 0 : due;
	}
	return wait;
}

static int all_finished(const struct an_host *h)
{
	for (int i = 0; i < h->nan; i++)
		if (an_child_state(h->an[i].child) != AN_CHILD_FINISHED)
			return 0;
	return 1;
}

/* Every aggregate ended: the last blocks, then each analyzer finishes
 * (stdin closed once its queue is empty, bounded by its timeout), and
 * what they printed goes out before EOS does. */
static int an_on_eos(void *st, uint32_t kind)
{
	struct an_host *h = st;
	for (int r = 0; r < h->p->pl->nrules; r++)
		if (h->rules >> r & 1)
			complete(h, r, kind == RF_EOS_END);
	for (int i = 0; i < h->nan; i++)
		an_child_finish(h->an[i].child);
	while (!all_finished(h) && !rf_stop_requested && !h->failed) {
		struct pollfd pfd[3 * CONF_MAX_ANALYZERS];
		int n = 0;
		for (int i = 0; i < h->nan; i++)
			n += an_child_pollfds(h->an[i].child, pfd + n, 3);
		int64_t wait = an_wait_ns(h);
		poll(pfd, (nfds_t)n, (int)(wait / RF_NS_PER_MS) + 1);
		service_all(h);
		flush_out(h);
		rf_stage_publish(h->sg);
	}
	int left = an_sinks_flush(h->sinks, SINKS_FLUSH_NS);
	if (left)
		rf_warn("alerts: %d alert(s) not delivered to every sink at the end (see the sink errors)", left);
	flush_out(h);
	return h->failed ? RF_EXIT_RESTART : RF_EXIT_OK;
}

static void an_publish(void *st)
{
	struct an_host *h = st;
	struct rf_stats_slot *s = h->p->stats;
	rf_stat_add(s, RF_ST_AN_WINDOWS, h->windows);
	rf_stat_add(s, RF_ST_AN_POINTS_IN, h->points_in);
	rf_stat_add(s, RF_ST_AN_REPLAYED, h->replayed);
	rf_stat_add(s, RF_ST_AN_POINTS_OUT, h->points_out);
	rf_stat_add(s, RF_ST_FRAMES_OUT, h->frames_out);
	h->windows = h->points_in = h->replayed = h->points_out = h->frames_out = 0;
}

/* Stopped (the data plane restarts): what the analyzers printed within a
 * moment, and the alerts queued for the sinks, still go out. */
static void stop_drain(struct an_host *h)
{
	int64_t until = rf_mono_ns() + STOP_DRAIN_NS;
	while (rf_mono_ns() < until) {
		struct pollfd pfd[3 * CONF_MAX_ANALYZERS];
		int n = 0;
		for (int i = 0; i < h->nan; i++)
			n += an_child_pollfds(h->an[i].child, pfd + n, 2);
		if (poll(pfd, (nfds_t)n, 10) <= 0)
			break;
		service_all(h);
	}
	an_sinks_flush(h->sinks, SINKS_STOP_FLUSH_NS);
}

static void an_fini(void *st)
{
	struct an_host *h = st;
	if (rf_stop_requested && h->sinks)
		stop_drain(h);
	for (int i = 0; i < h->nan; i++) {
		sync_child(&h->an[i]);
		an_child_free(h->an[i].child);
		free(h->an[i].queue);
		atomic_store(&h->an[i].slot->pid, 0);
	}
	an_sinks_free(h->sinks);
	h->sinks = NULL;
	for (int r = 0; r < CONF_MAX_RULES; r++) {
		for (int i = 0; i < h->pending[r].n; i++)
			lp_buf_free(&h->pending[r].b[i].text);
		free(h->pending[r].b);
	}
	lp_buf_free(&h->block_text);
	lp_buf_free(&h->out);
	free(h->pt);
}

static const struct rf_stage_ops an_stage = {
	.frames_per_turn = FRAMES_PER_TURN,
	.frame_type = RF_FRAME_POINTS,
	.frame_hdr = sizeof(struct rf_points_hdr),
	.init = an_init,
	.on_frame = an_on_frame,
	.on_other = an_on_other,
	.on_turn = an_on_turn,
	.can_take = an_can_take,
	.wait_ns = an_wait_ns,
	.on_eos = an_on_eos,
	.publish = an_publish,
	.fini = an_fini,
};

int an_run(const struct rf_proc *p)
{
	static struct an_host h;
	return rf_stage_run(&an_stage, &h, p);
}
