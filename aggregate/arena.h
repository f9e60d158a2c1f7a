/*
 * arena.h — bump allocator for one open window: key records, aggregate
 * states and the sketches they grow into all live here and are freed in one
 * go when the window is emitted. Aggregate processes only.
 *
 * Memory comes from malloc in chunks that double from 64 KiB up to 4 MiB, so
 * a busy window costs one malloc per 4 MiB, never one per record. An
 * allocation is addressed either by pointer or by a 32-bit reference
 * (chunk index and 8-byte unit inside the chunk), which is what the window
 * hash table stores to keep its slots at 8 bytes. Reference 0 is never
 * handed out, so tables can use it as "empty".
 */
#ifndef AGG_ARENA_H
#define AGG_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define AGG_ARENA_MIN_CHUNK (64u << 10)
#define AGG_ARENA_MAX_CHUNK (4u << 20)
#define AGG_ARENA_UNIT_BITS 19   /* 4 MiB / 8 */
#define AGG_ARENA_MAX_CHUNKS (1u << (32 - AGG_ARENA_UNIT_BITS))

struct agg_arena {
	uint8_t **chunks;
	uint32_t nchunks, chunks_cap;
	uint32_t used;     /* bytes used in the last chunk */
	uint32_t cur_size; /* size of the last chunk */
	size_t bytes;      /* total malloc'ed by this arena, chunks array included */
};

/* Allocators given to the state functions (funcs.h), so sketches and long
 * strings grow inside the window's arena. Returns 8-aligned memory or NULL. */
struct agg_alloc {
	void *(*alloc)(void *ctx, size_t n);
	void *ctx;
};

void agg_arena_init(struct agg_arena *a);
/* Frees every chunk; the arena may be reused after agg_arena_init(). */
void agg_arena_free(struct agg_arena *a);
/* Forgets every allocation but keeps the largest chunk for the next ones,
 * so scratch use (a checkpoint restore) does not fault in fresh pages
 * again and again. References and pointers handed out before are void. */
void agg_arena_reset(struct agg_arena *a);
/* n bytes, 8-aligned, uninitialised; NULL when n > AGG_ARENA_MAX_CHUNK,
 * when out of references or out of memory. ref may be NULL. */
void *agg_arena_alloc(struct agg_arena *a, size_t n, uint32_t *ref);
/* agg_alloc callback; ctx is a struct agg_arena. Memory is zeroed. */
void *agg_arena_alloc_cb(void *ctx, size_t n);

static inline void *agg_arena_ptr(const struct agg_arena *a, uint32_t ref)
{
	return a->chunks[ref >> AGG_ARENA_UNIT_BITS] +
	       ((size_t)(ref & ((1u << AGG_ARENA_UNIT_BITS) - 1)) << 3);
}

#endif
