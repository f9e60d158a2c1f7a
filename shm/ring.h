/*
 * ring.h — single-producer/single-consumer ring of variable-length frames in
 * the shared segment: the only link between ringflow's pipeline processes.
 *
 * Who runs what: the supervisor carves and initialises rings before fork (and
 * resets them when it restarts the data plane); exactly one process produces
 * into a ring and exactly one consumes from it, each through its own local
 * struct shm_ring_handle. Only shm_ring_reserve() and shm_rings_wait() block.
 *
 * Layout (DPDK rte_ring / liburing habits):
 *   - byte capacity is a power of two; `head` (producer) and `tail`
 *     (consumer) are free-running 64-bit byte counts, masked on use, so
 *     used = head - tail needs no "full vs empty" bit;
 *   - the producer's and the consumer's fields sit on separate cache lines;
 *   - a frame is an 8-byte header {len, type, flags} then len bytes, padded to
 *     8; a frame never wraps: when it does not fit before the end of the
 *     buffer the producer fills the rest with a PAD frame (type 0) that the
 *     consumer skips silently, so the consumer always gets contiguous bytes;
 *   - the largest frame (header + padded payload) is capacity / 4, so a PAD
 *     wastes at most a quarter of the ring;
 *   - each side caches the other side's index and re-reads the shared one
 *     only when its cache says full / empty, so the hot path touches the
 *     other side's cache line rarely;
 *   - publishing is batched: reserve+fill n frames, commit once (one atomic
 *     exchange of head and a doorbell check); consume n frames, release once;
 *   - the per-frame calls (reserve, peek, consume) and commit/release are
 *     inline fast paths at the end of this file; refreshes, PADs, errors and
 *     waiting are out of line in ring.c.
 *
 * Nothing in struct shm_ring is a pointer: doorbells are segment offsets.
 */
#ifndef SHM_RING_H
#define SHM_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/doorbell.h"
#include "shm/segment.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "ring indices need lock-free 64-bit atomics");

#define SHM_RING_MAGIC   0x474e4952574f4c46ULL /* "FLOWRING" little-endian */
#define SHM_RING_VERSION 1u
#define SHM_RING_MIN_CAPACITY 256u
#define SHM_RING_MAX_CAPACITY (1u << 30)
#define SHM_FRAME_HEADER 8u
/* Frame types are small integers chosen by the callers (1..65535); 0 is the
 * ring's own padding and is never handed out. */
#define SHM_FRAME_PAD 0u

struct shm_frame_header {
	uint32_t len;    /* payload bytes, without header or padding */
	uint16_t type;   /* SHM_FRAME_PAD or a caller's type */
	uint16_t flags;  /* reserved, written 0 */
};
_Static_assert(sizeof(struct shm_frame_header) == SHM_FRAME_HEADER, "frame header is 8 bytes");

/* In shared memory; the data buffer follows the struct. */
struct shm_ring {
	/* Set at init, read-only afterwards. */
	uint64_t magic;
	uint32_t version;
	uint32_t max_frame;        /* largest payload accepted (capacity/4 - header) */
	uint64_t capacity;         /* bytes, power of two */
	uint64_t prod_bell_off;    /* producer sleeps here waiting for space */
	uint64_t cons_bell_off;    /* consumer sleeps here waiting for data */

	/* Producer line: written by the producer only. */
	_Alignas(64) _Atomic uint64_t head;     /* bytes published */
	_Atomic uint64_t full_waits;            /* times the producer had to wait (stats) */

	/* Consumer line: written by the consumer only. */
	_Alignas(64) _Atomic uint64_t tail;     /* bytes released */

	_Alignas(64) unsigned char data[];
};

/* Per-process view of one ring; used either as producer or as consumer. */
struct shm_ring_handle {
	struct shm_ring *ring;
	unsigned char *data;
	uint64_t mask;
	uint32_t max_frame;
	struct shm_doorbell *prod_bell;
	struct shm_doorbell *cons_bell;
	/* producer side */
	uint64_t prod_next;        /* where the next frame is reserved */
	uint64_t prod_pub;         /* last value stored into ring->head */
	uint64_t prod_last;        /* index of the last reserved frame's header */
	uint64_t cached_tail;      /* consumer's tail as last seen */
	int prod_have_last;        /* prod_last is valid (reserved, not committed) */
	/* consumer side */
	uint64_t cons_next;        /* index of the next frame to read */
	uint64_t cons_pub;         /* last value stored into ring->tail */
	uint64_t cached_head;      /* producer's head as last seen */
	uint32_t cons_peeked;      /* bytes of the peeked frame, 0 if none */
};

/* Bytes of segment a ring of `capacity` needs (align the allocation to 64);
 * 0 if capacity is not a power of two in [SHM_RING_MIN_CAPACITY,
 * SHM_RING_MAX_CAPACITY]. */
size_t shm_ring_footprint(size_t capacity);

/* Before fork: initialise a ring at r (shm_ring_footprint(capacity) bytes).
 * Both doorbell offsets are required (non-zero). Returns 0 or -EINVAL with the
 * reason in err. */
int shm_ring_init(struct shm_ring *r, size_t capacity, uint64_t prod_bell_off,
		  uint64_t cons_bell_off, char *err, size_t errlen);
/* Convenience for the supervisor: allocate in seg and init. Returns the
 * ring's offset or 0 with the reason in err. */
uint64_t shm_ring_create(struct shm_segment *seg, size_t capacity, uint64_t prod_bell_off,
			 uint64_t cons_bell_off, char *err, size_t errlen);
/* Empty the ring. Only while neither side uses it (data-plane restart);
 * handles made before must be re-initialised. */
void shm_ring_reset(struct shm_ring *r);

/* Attach: checks the ring's magic, version, capacity and doorbell offsets
 * against the segment. Returns 0 or -EINVAL with the reason in err. */
int shm_ring_handle_init(struct shm_ring_handle *h, struct shm_segment *seg, uint64_t ring_off,
			 char *err, size_t errlen);

/* ---- producer ---- */

/* Largest `len` that reserve accepts. */
static inline uint32_t shm_ring_max_frame(const struct shm_ring_handle *h);
/* Room for a frame of len payload bytes, or NULL: errno = EMSGSIZE when len
 * exceeds shm_ring_max_frame() (it never fits), EINVAL when type is
 * SHM_FRAME_PAD, EAGAIN when the ring is full now. The memory is 8-byte aligned and invisible to the
 * consumer until shm_ring_commit(). Reserving a frame ends the previous one:
 * fill each frame before reserving the next. */
static inline void *shm_ring_try_reserve(struct shm_ring_handle *h, uint32_t len, uint16_t type);
/* Like try_reserve but waits for room on the producer doorbell. Before it
 * waits it commits the frames reserved so far (the consumer cannot free space
 * it cannot see). Returns NULL with errno = EMSGSIZE/EINVAL as above, or ECANCELED
 * once stop != NULL && *stop != 0 (checked at least every 100 ms and on
 * signals). */
static inline void *shm_ring_reserve(struct shm_ring_handle *h, uint32_t len, uint16_t type,
				     const volatile int *stop);
/* The last reserved (not yet committed) frame used only new_len bytes.
 * Returns 0, or -EINVAL when there is no such frame or new_len is larger than
 * what was reserved. */
int shm_ring_shrink_last(struct shm_ring_handle *h, uint32_t new_len);
/* Publish every frame reserved since the last commit: one atomic exchange
 * of head, then a wake syscall only if the consumer sleeps. No-op when
 * nothing is pending. */
static inline void shm_ring_commit(struct shm_ring_handle *h);

/* ---- consumer ---- */

/* The next frame (PAD frames skipped), or NULL when empty (errno = EAGAIN) or
 * when the ring holds a malformed header (errno = EBADMSG: the producer wrote
 * garbage; the ring must be reset). Peeking twice returns the same frame. The
 * bytes stay valid until shm_ring_consume(). */
static inline const void *shm_ring_peek(struct shm_ring_handle *h, uint32_t *len, uint16_t *type);
/* Step past the peeked frame (local only; no-op if nothing is peeked). */
static inline void shm_ring_consume(struct shm_ring_handle *h);
/* Give consumed bytes back to the producer: one atomic exchange of tail,
 * then a wake syscall only if the producer sleeps. No-op when nothing was
 * consumed. */
static inline void shm_ring_release(struct shm_ring_handle *h);

/* Consumer of n rings sharing one doorbell: release what was consumed on each
 * ring (so a producer waiting for space is not stuck while we sleep), spin
 * briefly, then sleep on `bell` until one ring has a frame, a signal arrives
 * or timeout_ns passes (< 0: no timeout). Returns 1 when some ring is
 * readable, 0 otherwise (woken, timed out or interrupted), -EINVAL on bad
 * arguments. */
int shm_rings_wait(struct shm_ring_handle *const *hs, int n, struct shm_doorbell *bell,
		   int64_t timeout_ns);
/* True when the consumer has a frame to read (peeked or published). */
static inline int shm_ring_readable(struct shm_ring_handle *h);

/* ---- status (any process, approximate while the ring is in use) ---- */
size_t shm_ring_used(const struct shm_ring *r);
size_t shm_ring_capacity(const struct shm_ring *r);
uint64_t shm_ring_full_waits(const struct shm_ring *r);

/* ---- inline fast paths ----
 *
 * One frame per record means one reserve, one peek and one consume per
 * record: as calls into ring.c (another translation unit, no LTO) they cost
 * more than the record itself. The common case is therefore inlined here and
 * everything else (an index refresh, a PAD, an error, waiting) goes to the
 * out-of-line *_slow functions in ring.c, which keep the full rules. A fast
 * path only ever answers what the slow path would answer for the same state.
 */

/* Internal, for the inline functions below only. */
void *shm_ring_try_reserve_slow(struct shm_ring_handle *h, uint32_t len, uint16_t type);
void *shm_ring_reserve_slow(struct shm_ring_handle *h, uint32_t len, uint16_t type,
			    const volatile int *stop);
const void *shm_ring_peek_slow(struct shm_ring_handle *h, uint32_t *len, uint16_t *type);

/* How far ahead of the frame it returns peek prefetches, in bytes. A
 * consumer behind its producer (the ring holds more than the L2 cache) reads
 * lines that are no longer in any core's L2, and the address of each frame
 * comes from the header of the previous one: without help every small frame
 * waits for its own miss, one after the other (64-byte frames cost 14 ns
 * each, 64 bytes inside a 4 KiB frame 6 ns). One prefetch per peek, this far
 * ahead and only below cached_head (published bytes, which the producer no
 * longer writes, so no line is pulled away from it), keeps several misses in
 * flight. 1 KiB was too short; 2, 4 and 8 KiB measured the same
 * (docs/PERFORMANCE.md section 1). */
#define SHM_RING_PREFETCH 2048u

/* Header plus payload rounded up to 8. */
static inline uint64_t shm_frame_total(uint64_t len)
{
	return SHM_FRAME_HEADER + ((len + 7) & ~(uint64_t)7);
}

static inline uint32_t shm_ring_max_frame(const struct shm_ring_handle *h)
{
	return h->max_frame;
}

/* The frame if it fits before the end of the buffer and below the cached
 * tail; NULL (errno untouched) for anything else. */
static inline void *shm_ring_reserve_fast(struct shm_ring_handle *h, uint32_t len, uint16_t type)
{
	uint64_t total = shm_frame_total(len);
	uint64_t pos = h->prod_next;
	uint64_t off = pos & h->mask;
	/* Anything unusual (too long, PAD type, the end of the buffer, full by
	 * the cached tail) goes to the slow path, which decides and sets errno. */
	if (__builtin_expect(len > h->max_frame || type == SHM_FRAME_PAD ||
			     total > h->mask + 1 - off ||
			     pos + total - h->cached_tail > h->mask + 1, 0))
		return NULL;
	/* Plain stores: published by the exchange of head in commit. */
	struct shm_frame_header *fh = (struct shm_frame_header *)(void *)(h->data + off);
	*fh = (struct shm_frame_header){ .len = len, .type = type, .flags = 0 };
	h->prod_last = pos;
	h->prod_have_last = 1;
	h->prod_next = pos + total;
	return fh + 1;
}

static inline void *shm_ring_try_reserve(struct shm_ring_handle *h, uint32_t len, uint16_t type)
{
	void *p = shm_ring_reserve_fast(h, len, type);
	return __builtin_expect(p != NULL, 1) ? p : shm_ring_try_reserve_slow(h, len, type);
}

static inline void *shm_ring_reserve(struct shm_ring_handle *h, uint32_t len, uint16_t type,
				     const volatile int *stop)
{
	void *p = shm_ring_reserve_fast(h, len, type);
	return __builtin_expect(p != NULL, 1) ? p : shm_ring_reserve_slow(h, len, type, stop);
}

static inline void shm_ring_commit(struct shm_ring_handle *h)
{
	h->prod_have_last = 0;
	if (h->prod_next == h->prod_pub)
		return;
	h->prod_pub = h->prod_next;
	/* A seq_cst exchange, not a plain release store: it is both the
	 * publication (its release half pairs with the acquire load of head in
	 * shm_ring_peek_slow() / shm_ring_readable(): every frame byte written
	 * since the last commit is visible before head moves) and the
	 * notifier's full barrier of the doorbell protocol (doorbell.h,
	 * shm_doorbell_ring_sc). */
	(void)atomic_exchange_explicit(&h->ring->head, h->prod_next, memory_order_seq_cst);
	shm_doorbell_ring_sc(h->cons_bell);
}

static inline const void *shm_ring_peek(struct shm_ring_handle *h, uint32_t *len, uint16_t *type)
{
	uint64_t pos = h->cons_next;
	if (__builtin_expect(pos != h->cached_head, 1)) {
		/* Below cached_head: published, and made visible by the acquire
		 * load that set cached_head. */
		uint64_t off = pos & h->mask;
		const struct shm_frame_header *fh =
			(const struct shm_frame_header *)(const void *)(h->data + off);
		uint32_t flen = fh->len;
		uint16_t ftype = fh->type;
		uint64_t total = shm_frame_total(flen);
		/* The same checks as the slow path; a PAD goes there too. */
		if (__builtin_expect(ftype != SHM_FRAME_PAD && flen <= h->max_frame &&
				     total <= h->cached_head - pos && total <= h->mask + 1 - off, 1)) {
			if (h->cached_head - pos > SHM_RING_PREFETCH)
				__builtin_prefetch(h->data + ((pos + SHM_RING_PREFETCH) & h->mask));
			h->cons_peeked = (uint32_t)total;
			*len = flen;
			*type = ftype;
			return fh + 1;
		}
	}
	return shm_ring_peek_slow(h, len, type);
}

static inline void shm_ring_consume(struct shm_ring_handle *h)
{
	h->cons_next += h->cons_peeked;
	h->cons_peeked = 0;
}

static inline void shm_ring_release(struct shm_ring_handle *h)
{
	if (h->cons_next == h->cons_pub)
		return;
	h->cons_pub = h->cons_next;
	/* Seq_cst exchange: its release half orders our reads of the consumed
	 * bytes before the producer may overwrite them (partner: the acquire
	 * load of tail in shm_ring_try_reserve_slow()); as a whole it is the
	 * notifier's full barrier of the doorbell protocol. */
	(void)atomic_exchange_explicit(&h->ring->tail, h->cons_next, memory_order_seq_cst);
	shm_doorbell_ring_sc(h->prod_bell);
}

static inline int shm_ring_readable(struct shm_ring_handle *h)
{
	if (h->cons_peeked != 0 || h->cons_next != h->cached_head)
		return 1;
	/* Acquire pairs with the exchange of head in shm_ring_commit(): the
	 * frames below it are fully written. */
	h->cached_head = atomic_load_explicit(&h->ring->head, memory_order_acquire);
	return h->cons_next != h->cached_head;
}

#endif
