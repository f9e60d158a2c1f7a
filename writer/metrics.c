/* metrics.c — see metrics.h. Runs in writer 0. */
#include "writer/metrics.h"
#include "pipeline/analyzers.h"
#include "shm/ring.h"
#include "shm/stats.h"

#include <stdio.h>
#include <string.h>

static void begin(struct lp_enc *e, struct lp_buf *b, const struct rf_proc *p)
{
	const char *m = p->pl->conf.metrics.measurement;
	const char *name = p->pl->conf.ringflow.name ? p->pl->conf.ringflow.name : "ringflow";
	lp_begin(e, b, m, strlen(m));
	lp_tag(e, "instance", 8, name, strlen(name));
}

#define S(x) x, strlen(x)

uint32_t wr_metrics_append(const struct rf_proc *p, struct lp_buf *b, int64_t wall_ns)
{
	const struct rf_layout *lay = p->lay;
	uint32_t n = 0;
	struct lp_enc e;
	char v[64], w[64];
	for (int r = 0; r < RF_ROLE_COUNT; r++)
		for (int i = 0; i < lay->n[r]; i++) {
			const struct rf_stats_slot *s = rf_layout_stats(p->seg, lay, (enum rf_role)r, i);
			begin(&e, b, p);
			snprintf(v, sizeof v, "%d", i);
			lp_tag(&e, S("role"), S(rf_role_names[r]));
			lp_tag(&e, S("index"), S(v));
			for (int k = 0; k < RF_ST_COUNT; k++)
				lp_field_int(&e, S(rf_stat_descs[k].name), (int64_t)rf_stat_get(s, (enum rf_stat)k));
			lp_field_int(&e, S("pid"), atomic_load_explicit(&s->pid, memory_order_relaxed));
			n += lp_end(&e, wall_ns) == 0;
		}
	for (int k = 0; k < lay->nrings; k++) {
		const struct rf_ring_ref *rr = &lay->rings[k];
		const struct shm_ring *ring = shm_at(p->seg, rr->off);
		begin(&e, b, p);
		snprintf(v, sizeof v, "%s_%d->%s_%d", rf_role_names[rr->from_role], rr->from, rf_role_names[rr->to_role],
			 rr->to);
		lp_tag(&e, S("ring"), S(v));
		lp_field_int(&e, S("used_bytes"), (int64_t)shm_ring_used(ring));
		lp_field_int(&e, S("capacity_bytes"), (int64_t)shm_ring_capacity(ring));
		n += lp_end(&e, wall_ns) == 0;
	}
	for (int i = 0; i < lay->n[RF_ROLE_INGEST]; i++) {
		const struct rf_stats_slot *s = rf_layout_stats(p->seg, lay, RF_ROLE_INGEST, i);
		for (int k = 0; k < RF_LAG_PARTITIONS; k++) {
			int64_t part = atomic_load_explicit(&s->lag[k].partition, memory_order_acquire);
			int64_t off = atomic_load_explicit(&s->lag[k].offset, memory_order_relaxed);
			int64_t hi = atomic_load_explicit(&s->lag[k].high, memory_order_relaxed);
			if (part < 0 || off < 0 || hi < 0)
				continue;
			begin(&e, b, p);
			snprintf(w, sizeof w, "%lld", (long long)part);
			lp_tag(&e, S("topic"), S(s->lag[k].topic));
			lp_tag(&e, S("partition"), S(w));
			lp_field_int(&e, S("next_offset"), off);
			lp_field_int(&e, S("high_watermark"), hi);
			lp_field_int(&e, S("lag"), hi - off);
			n += lp_end(&e, wall_ns) == 0;
		}
	}
	const struct rf_an_slot *an = rf_an_slots(p->seg, lay->analyzers);
	for (int k = 0; k < p->pl->conf.nanalyzers; k++) {
		begin(&e, b, p);
		lp_tag(&e, S("analyzer"), S(p->pl->conf.analyzers[k].name));
		for (int c = 0; c < RF_AN_COUNTER_COUNT; c++)
			lp_field_int(&e, S(rf_an_counter_names[c]), (int64_t)atomic_load(&an[k].c[c]));
		for (int sev = 0; sev < RF_AN_SEVERITY_COUNT; sev++) {
			snprintf(w, sizeof w, "alerts_%s", rf_an_severity_names[sev]);
			lp_field_int(&e, S(w), (int64_t)atomic_load(&an[k].alerts[sev]));
		}
		lp_field_int(&e, S("up"), atomic_load(&an[k].pid) > 0);
		n += lp_end(&e, wall_ns) == 0;
	}
	return n;
}
