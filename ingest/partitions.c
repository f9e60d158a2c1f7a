/* partitions.c — see partitions.h. */
#include "ingest/partitions.h"
#include "pipeline/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ing_parts_init(struct ing_partitions *ps, const char *topics, char *err, size_t errlen)
{
	memset(ps, 0, sizeof *ps);
	return rf_topics_parse(&ps->topics, topics, err, errlen);
}

void ing_parts_free(struct ing_partitions *ps)
{
	for (int i = 0; i < ING_PENDING; i++)
		free(ps->pending[i].offs);
	memset(ps->pending, 0, sizeof ps->pending);
}

struct ing_part *ing_parts_get(struct ing_partitions *ps, int src, const char *topic, int32_t partition)
{
	struct ing_part *p = &ps->part[src];
	if (!p->topic[0]) {
		snprintf(p->topic, sizeof p->topic, "%s", topic);
		p->partition = partition;
		p->next_offset = RF_POSITION_UNKNOWN;
		p->lag_slot = -1;
		ps->used[ps->nused++] = (uint16_t)src;
	}
	return p;
}

int ing_parts_snapshot(struct ing_partitions *ps, uint64_t id, const struct ckpt_offset **out)
{
	/* Reuse the oldest slot. */
	struct ing_pending *pe = &ps->pending[0];
	for (int i = 1; i < ING_PENDING; i++)
		if (ps->pending[i].id < pe->id)
			pe = &ps->pending[i];
	if (!pe->offs && !(pe->offs = malloc(RF_MAX_SOURCES * sizeof *pe->offs)))
		return -1;
	pe->id = id;
	pe->n = 0;
	for (int i = 0; i < ps->nused; i++) {
		const struct ing_part *p = &ps->part[ps->used[i]];
		if (p->next_offset == RF_POSITION_UNKNOWN)
			continue;
		struct ckpt_offset *o = &pe->offs[pe->n++];
		memcpy(o->topic, p->topic, sizeof o->topic);
		o->partition = p->partition;
		o->next_offset = p->next_offset;
	}
	*out = pe->offs;
	return pe->n;
}

const struct ing_pending *ing_parts_pending(const struct ing_partitions *ps, uint64_t id)
{
	for (int i = 0; i < ING_PENDING; i++)
		if (ps->pending[i].id == id && ps->pending[i].offs)
			return &ps->pending[i];
	return NULL;
}
