/*
 * arena.c — chunked bump allocator for window state (see arena.h).
 * Aggregate processes; malloc only when a chunk is full.
 */
#include "aggregate/arena.h"

#include <stdlib.h>
#include <string.h>

void agg_arena_init(struct agg_arena *a)
{
	memset(a, 0, sizeof *a);
}

void agg_arena_free(struct agg_arena *a)
{
	if (!a)
		return;
	for (uint32_t i = 0; i < a->nchunks; i++)
		free(a->chunks[i]);
	free(a->chunks);
	memset(a, 0, sizeof *a);
}

void agg_arena_reset(struct agg_arena *a)
{
	if (a->nchunks == 0)
		return;
	/* The last chunk is the largest: sizes only grow. */
	uint8_t *keep = a->chunks[a->nchunks - 1];
	for (uint32_t i = 0; i + 1 < a->nchunks; i++)
		free(a->chunks[i]);
	a->bytes = (size_t)a->chunks_cap * sizeof *a->chunks + a->cur_size;
	a->chunks[0] = keep;
	a->nchunks = 1;
	a->used = 8;                       /* reference 0 stays free */
}

static int arena_new_chunk(struct agg_arena *a, size_t need)
{
	if (a->nchunks >= AGG_ARENA_MAX_CHUNKS)
		return -1;
	if (a->nchunks == a->chunks_cap) {
		uint32_t cap = a->chunks_cap ? a->chunks_cap * 2 : 8;
		uint8_t **c = realloc(a->chunks, cap * sizeof *c);
		if (!c)
			return -1;
		a->bytes += (cap - a->chunks_cap) * sizeof *c;
		a->chunks = c;
		a->chunks_cap = cap;
	}
	uint32_t size = a->cur_size ? a->cur_size * 2 : AGG_ARENA_MIN_CHUNK;
	if (size > AGG_ARENA_MAX_CHUNK)
		size = AGG_ARENA_MAX_CHUNK;
	/* The first chunk skips its first unit so that reference 0 stays free. */
	size_t lead = a->nchunks == 0 ? 8 : 0;
	while (size < need + lead)
		size *= 2;
	uint8_t *c = malloc(size);
	if (!c)
		return -1;
	a->chunks[a->nchunks++] = c;
	a->cur_size = size;
	a->used = (uint32_t)lead;
	a->bytes += size;
	return 0;
}

void *agg_arena_alloc(struct agg_arena *a, size_t n, uint32_t *ref)
{
	if (n > AGG_ARENA_MAX_CHUNK - 8)
		return NULL;
	n = (n + 7) & ~(size_t)7;
	if (a->nchunks == 0 || a->used + n > a->cur_size)
		if (arena_new_chunk(a, n) < 0)
			return NULL;
	uint32_t ci = a->nchunks - 1;
	uint8_t *p = a->chunks[ci] + a->used;
	if (ref)
		*ref = (ci << AGG_ARENA_UNIT_BITS) | (a->used >> 3);
	a->used += (uint32_t)n;
	return p;
}

void *agg_arena_alloc_cb(void *ctx, size_t n)
{
	void *p = agg_arena_alloc(ctx, n, NULL);
	if (p)
		memset(p, 0, n);
	return p;
}
