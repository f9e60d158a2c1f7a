/*
 * engine.c — one aggregate process's rows → windows → line protocol (see
 * engine.h). Aggregate processes; called from the main loop, never blocks.
 */
#include "aggregate/engine.h"
#include "pipeline/row.h"
#include "aggregate/watermark.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pipeline/frames.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_IDLE_TIMEOUT_NS (30 * RF_NS_PER_SEC)

struct agg_engine {
	const struct agg_rule *rules;
	const struct rf_row_shape **shapes; /* rules[i].shape, for rf_row_decode */
	int nrules;
	uint32_t self, naggregates;
	struct agg_winstore **ws;
	struct agg_watermark wm;
	struct rf_row row;          /* decode scratch */
	uint64_t rows, bad_rows, nonfinite;
	struct agg_stats stats;
	uint64_t *walk;             /* agg_ws_walk bitmap (snapshot.c) */
	size_t walk_words;
};

struct agg_engine *agg_engine_create(const struct agg_rule *rules, int nrules,
				     const struct rf_config *conf, int self_index, int naggregates)
{
	if (nrules < 0 || nrules > UINT16_MAX || naggregates < 1 || self_index < 0 ||
	    self_index >= naggregates)
		return NULL;
	struct agg_engine *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->rules = rules;
	e->nrules = nrules;
	e->self = (uint32_t)self_index;
	e->naggregates = (uint32_t)naggregates;
	int64_t idle = conf && conf->input.idle_timeout_ns > 0 ? conf->input.idle_timeout_ns
							       : DEFAULT_IDLE_TIMEOUT_NS;
	agg_wm_init(&e->wm, idle);
	e->shapes = agg_rules_row_shapes(rules, nrules);
	e->ws = calloc(nrules ? (size_t)nrules : 1, sizeof *e->ws);
	if (!e->shapes || !e->ws)
		goto fail;
	for (int i = 0; i < nrules; i++)
		if (!(e->ws[i] = agg_ws_create(&rules[i], (uint16_t)i, e->self, e->naggregates)))
			goto fail;
	return e;
fail:
	agg_engine_destroy(e);
	return NULL;
}

void agg_engine_destroy(struct agg_engine *e)
{
	if (!e)
		return;
	if (e->ws)
		for (int i = 0; i < e->nrules; i++)
			agg_ws_destroy(e->ws[i]);
	free(e->ws);
	free(e->shapes);
	free(e->walk);
	free(e);
}

/* NaN and infinite inputs (a product that overflowed, inf in the CSV) are
 * no numbers to aggregate: every function skips them as missing, counted. */
static void drop_nonfinite(struct agg_engine *e, struct rf_row *row, int nargs)
{
	for (int j = 0; j < nargs; j++)
		if (row->vals[j].type == RF_V_FLOAT && !isfinite(row->vals[j].u.f)) {
			row->vals[j].type = RF_V_MISSING;
			e->nonfinite++;
		}
}

/* The rule's watermark as of a row: what an advance just before the row
 * would have used. Its partition's progress is the larger of what earlier
 * frames showed and what came before it in this frame. */
static int64_t row_watermark(int64_t source_max, int64_t others, const struct rf_row *row,
			     int64_t lateness_ns)
{
	int64_t own = row->prior_max_ns > source_max ? row->prior_max_ns : source_max;
	int64_t base = own < others ? own : others;
	return base < INT64_MIN + lateness_ns ? INT64_MIN : base - lateness_ns;
}

void agg_engine_add_rows(struct agg_engine *e, uint32_t source, int64_t max_event_ns, uint32_t flags,
			 const void *rows, size_t len, uint32_t nrows, int64_t now_ns)
{
	/* Progress before this frame, and of the other partitions: a row is
	 * late when its window closed before it in its partition's order. */
	int64_t source_max = agg_wm_source_max(&e->wm, source);
	int64_t others = nrows ? agg_wm_others(&e->wm, source, now_ns) : INT64_MAX;
	int rc = (flags & RF_LINES_ASSIGNED) ? agg_wm_assign(&e->wm, source, now_ns) : 0;
	if (rc == 0)
		rc = agg_wm_observe(&e->wm, source, max_event_ns, now_ns);
	if (rc < 0)
		RF_LOG_RL(RF_LOG_WARN, "aggregate: source %u out of range, its progress is ignored",
			  source);
	e->rows += nrows;
	const uint8_t *p = rows;
	size_t off = 0;
	char err[128];
	for (uint32_t i = 0; i < nrows; i++) {
		int hdr_ok;
		if (rf_row_decode(e->shapes, e->nrules, p + off, len - off, &e->row, &hdr_ok,
				  err, sizeof err) < 0) {
			if (!hdr_ok) {
				/* Cannot find the next row: the rest of the frame is lost. */
				e->bad_rows += nrows - i;
				RF_LOG_RL(RF_LOG_WARN, "aggregate: bad row %u of %u at byte %zu: %s; "
					  "dropping the rest of the frame", i, nrows, off, err);
				return;
			}
			struct rf_row_hdr h;
			memcpy(&h, p + off, sizeof h);
			e->bad_rows++;
			off += h.len;
			RF_LOG_RL(RF_LOG_WARN, "aggregate: bad row %u of %u: %s", i, nrows, err);
			continue;
		}
		off += e->row.len;
		const struct agg_rule *r = &e->rules[e->row.rule];
		if (rf_route_row(&r->shape, e->row.rule, e->row.key_hash, e->naggregates) != e->self) {
			e->bad_rows++;
			RF_LOG_RL(RF_LOG_WARN, "aggregate %u: row for rule %u routed to the wrong "
				  "aggregate", e->self, e->row.rule);
			continue;
		}
		drop_nonfinite(e, &e->row, r->shape.nargs);
		agg_ws_add(e->ws[e->row.rule], &e->row, row_watermark(source_max, others, &e->row, r->lateness_ns));
	}
	if (off != len)
		RF_LOG_RL(RF_LOG_WARN, "aggregate: %zu stray bytes after %u rows", len - off, nrows);
}

int64_t agg_engine_watermark(const struct agg_engine *e, int64_t now_ns, int64_t wall_ns)
{
	return agg_wm_base(&e->wm, now_ns, wall_ns);
}

void agg_engine_advance(struct agg_engine *e, int64_t now_ns, int64_t wall_ns, int flush_all,
			agg_emit_fn emit, void *arg)
{
	int64_t base = agg_wm_base(&e->wm, now_ns, wall_ns);
	for (int i = 0; i < e->nrules; i++) {
		int64_t lat = e->rules[i].lateness_ns;
		int64_t wm = base < INT64_MIN + lat ? INT64_MIN : base - lat;
		agg_ws_advance(e->ws[i], wm, flush_all, emit, arg);
	}
}

int64_t agg_engine_closed_upto(const struct agg_engine *e, int rule)
{
	return agg_ws_closed_upto(e->ws[rule]);
}

const struct agg_stats *agg_engine_stats(struct agg_engine *e)
{
	struct agg_stats *s = &e->stats;
	memset(s, 0, sizeof *s);
	s->rows = e->rows;
	s->bad_rows = e->bad_rows;
	s->nonfinite = e->nonfinite;
	for (int i = 0; i < e->nrules; i++) {
		const struct agg_ws_counters *c = agg_ws_counters(e->ws[i]);
		s->aggregated += c->rows;
		s->late += c->late;
		s->overflow += c->overflow;
		s->bad_rows += c->bad_time;
		s->windows_emitted += c->windows_emitted;
		s->points_emitted += c->points_emitted;
		s->points_empty += c->points_empty;
		s->nomem += c->nomem;
		s->live_keys += agg_ws_live_keys(e->ws[i]);
		s->bytes += agg_ws_bytes(e->ws[i]);
	}
	return s;
}

void agg_engine_parts(struct agg_engine *e, struct agg_engine_parts *out)
{
	out->rules = e->rules;
	out->nrules = e->nrules;
	out->self = e->self;
	out->naggregates = e->naggregates;
	out->ws = e->ws;
	out->wm = &e->wm;
	out->walk = &e->walk;
	out->walk_words = &e->walk_words;
}
