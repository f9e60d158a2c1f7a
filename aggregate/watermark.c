/*
 * watermark.c — per-partition event-time progress (see watermark.h).
 * Aggregate processes; O(partitions) per query, called once per advance.
 */
#include "aggregate/watermark.h"

#include <string.h>

void agg_wm_init(struct agg_watermark *w, int64_t idle_timeout_ns)
{
	memset(w, 0, sizeof *w);
	w->idle_timeout_ns = idle_timeout_ns > 0 ? idle_timeout_ns : 0;
	w->max_event_ns = INT64_MIN;
}

int agg_wm_observe(struct agg_watermark *w, uint32_t source, int64_t max_event_ns, int64_t now_ns)
{
	if (source >= AGG_WM_MAX_SOURCES)
		return -1;
	if (max_event_ns == INT64_MIN)
		return 0;
	struct agg_wm_source *s = &w->src[source];
	if (!s->seen || max_event_ns > s->max_event_ns)
		s->max_event_ns = max_event_ns;
	s->seen = 1;
	if (now_ns > s->last_seen_ns)
		s->last_seen_ns = now_ns;
	if (source >= w->nsources)
		w->nsources = source + 1;
	if (max_event_ns > w->max_event_ns)
		w->max_event_ns = max_event_ns;
	return 0;
}

static int wm_active(const struct agg_watermark *w, const struct agg_wm_source *s, int64_t now_ns)
{
	/* Quiet for idle_timeout or longer = idle. */
	return s->seen && now_ns - s->last_seen_ns < w->idle_timeout_ns;
}

int64_t agg_wm_base(const struct agg_watermark *w, int64_t now_ns)
{
	int64_t base = INT64_MAX;
	int any = 0;
	for (uint32_t i = 0; i < w->nsources; i++) {
		const struct agg_wm_source *s = &w->src[i];
		if (!wm_active(w, s, now_ns))
			continue;
		any = 1;
		if (s->max_event_ns < base)
			base = s->max_event_ns;
	}
	if (any)
		return base;
	if (w->max_event_ns == INT64_MIN)
		return INT64_MIN;
	return w->max_event_ns > now_ns ? w->max_event_ns : now_ns;
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
	/* Exactly an observation at now_ns: max of the event times, seen,
	 * last seen now. INT64_MIN (never written by a checkpoint) is no
	 * progress, as for a batch. */
	return agg_wm_observe(w, source, max_event_ns, now_ns);
}

void agg_wm_restore_max(struct agg_watermark *w, int64_t max_event_ns)
{
	if (max_event_ns > w->max_event_ns)
		w->max_event_ns = max_event_ns;
}
