/*
 * watermark.c — per-partition event-time progress (see watermark.h).
 * Aggregate processes; O(partitions) per query, called once per frame and
 * per advance.
 */
#include "aggregate/watermark.h"

#include <string.h>

void agg_wm_init(struct agg_watermark *w, int64_t idle_timeout_ns)
{
	memset(w, 0, sizeof *w);
	w->idle_timeout_ns = idle_timeout_ns > 0 ? idle_timeout_ns : 0;
	w->max_event_ns = INT64_MIN;
}

/* The entry for source, tracked from now on; NULL when out of range. */
static struct agg_wm_source *track(struct agg_watermark *w, uint32_t source, int64_t now_ns)
{
	if (source >= AGG_WM_MAX_SOURCES)
		return NULL;
	struct agg_wm_source *s = &w->src[source];
	if (!s->tracked) {
		s->tracked = 1;
		s->max_event_ns = INT64_MIN;
		s->last_seen_ns = now_ns;
	}
	if (now_ns > s->last_seen_ns)
		s->last_seen_ns = now_ns;
	if (source >= w->nsources)
		w->nsources = source + 1;
	return s;
}

int agg_wm_observe(struct agg_watermark *w, uint32_t source, int64_t max_event_ns, int64_t now_ns)
{
	if (source >= AGG_WM_MAX_SOURCES)
		return -1;
	if (max_event_ns == INT64_MIN)
		return 0;
	struct agg_wm_source *s = track(w, source, now_ns);
	if (max_event_ns > s->max_event_ns)
		s->max_event_ns = max_event_ns;
	if (max_event_ns > w->max_event_ns)
		w->max_event_ns = max_event_ns;
	return 0;
}

int agg_wm_assign(struct agg_watermark *w, uint32_t source, int64_t now_ns)
{
	return track(w, source, now_ns) ? 0 : -1;
}

static int wm_active(const struct agg_watermark *w, const struct agg_wm_source *s, int64_t now_ns)
{
	/* Quiet for idle_timeout or longer = idle. */
	return s->tracked && now_ns - s->last_seen_ns < w->idle_timeout_ns;
}

int64_t agg_wm_others(const struct agg_watermark *w, uint32_t source, int64_t now_ns)
{
	int64_t m = INT64_MAX;
	for (uint32_t i = 0; i < w->nsources; i++) {
		const struct agg_wm_source *s = &w->src[i];
		if (i != source && wm_active(w, s, now_ns) && s->max_event_ns < m)
			m = s->max_event_ns;
	}
	return m;
}

int64_t agg_wm_source_max(const struct agg_watermark *w, uint32_t source)
{
	return source < w->nsources && w->src[source].tracked ? w->src[source].max_event_ns : INT64_MIN;
}

int64_t agg_wm_base(const struct agg_watermark *w, int64_t now_ns, int64_t wall_ns)
{
	int64_t base = agg_wm_others(w, UINT32_MAX, now_ns);
	if (base != INT64_MAX)
		return base;
	if (w->max_event_ns == INT64_MIN)
		return INT64_MIN;
	return w->max_event_ns > wall_ns ? w->max_event_ns : wall_ns;
}

int64_t agg_wm_floor(const struct agg_watermark *w, int64_t now_ns)
{
	int64_t m = INT64_MAX;
	for (uint32_t i = 0; i < w->nsources; i++) {
		const struct agg_wm_source *s = &w->src[i];
		if (wm_active(w, s, now_ns) && s->max_event_ns != INT64_MIN && s->max_event_ns < m)
			m = s->max_event_ns;
	}
	return m == INT64_MAX ? INT64_MIN : m;
}

uint32_t agg_wm_active(const struct agg_watermark *w, int64_t now_ns)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < w->nsources; i++)
		n += (uint32_t)wm_active(w, &w->src[i], now_ns);
	return n;
}

int agg_wm_restore_source(struct agg_watermark *w, uint32_t source, int64_t max_event_ns,
			  int64_t now_ns)
{
	/* Tracked even without progress (assigned, not yet delivering),
	 * then an observation of what it had delivered. */
	if (!track(w, source, now_ns))
		return -1;
	return agg_wm_observe(w, source, max_event_ns, now_ns);
}

void agg_wm_restore_max(struct agg_watermark *w, int64_t max_event_ns)
{
	if (max_event_ns > w->max_event_ns)
		w->max_event_ns = max_event_ns;
}
