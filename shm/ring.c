/*
 * ring.c — SPSC frame ring in shared memory (layout and rules in ring.h).
 *
 * The supervisor runs init/create/reset; a producer process runs the reserve
 * family and commit; a consumer process runs peek/consume/release and
 * shm_rings_wait. The producer only writes bytes in [head, tail + capacity),
 * the consumer only reads bytes in [tail, head), and those two index updates
 * are the only synchronisation: each is a seq_cst exchange (release half
 * paired with the other side's acquire load, named at each site; full
 * barrier for the doorbell protocol) made by the inline commit / release in
 * ring.h. This file holds everything but the fast paths: setup, refreshes of
 * the other side's index, PAD frames, errors and waiting.
 */
#include "shm/ring.h"

#include <errno.h>
#include <stdio.h>

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* How long a side polls before it sleeps. Short: the machine may have as many
 * pipeline processes as cores, and a spinning waiter steals the core of the
 * process it waits for. ~200 pauses is a few microseconds. */
#define SHM_SPIN_ROUNDS 200
/* Reserve re-checks its stop flag at least this often while waiting. */
#define SHM_RESERVE_WAIT_NS (100 * 1000 * 1000LL)

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static int capacity_ok(size_t capacity)
{
	return capacity >= SHM_RING_MIN_CAPACITY && capacity <= SHM_RING_MAX_CAPACITY &&
	       (capacity & (capacity - 1)) == 0;
}

size_t shm_ring_footprint(size_t capacity)
{
	if (!capacity_ok(capacity))
		return 0;
	return sizeof(struct shm_ring) + capacity;
}

int shm_ring_init(struct shm_ring *r, size_t capacity, uint64_t prod_bell_off,
		  uint64_t cons_bell_off, char *err, size_t errlen)
{
	if (r == NULL || ((uintptr_t)r & 63) != 0) {
		snprintf(err, errlen, "ring: memory %p is not 64-byte aligned", (void *)r);
		return -EINVAL;
	}
	if (!capacity_ok(capacity)) {
		snprintf(err, errlen, "ring: capacity %zu is not a power of two in [%u, %u]",
			 capacity, SHM_RING_MIN_CAPACITY, SHM_RING_MAX_CAPACITY);
		return -EINVAL;
	}
	if (prod_bell_off == 0 || cons_bell_off == 0) {
		snprintf(err, errlen, "ring: both doorbells are required (producer %llu, consumer %llu)",
			 (unsigned long long)prod_bell_off, (unsigned long long)cons_bell_off);
		return -EINVAL;
	}
	r->magic = SHM_RING_MAGIC;
	r->version = SHM_RING_VERSION;
	r->capacity = capacity;
	r->max_frame = (uint32_t)(capacity / 4 - SHM_FRAME_HEADER);
	r->prod_bell_off = prod_bell_off;
	r->cons_bell_off = cons_bell_off;
	atomic_init(&r->head, 0);
	atomic_init(&r->full_waits, 0);
	atomic_init(&r->tail, 0);
	return 0;
}

uint64_t shm_ring_create(struct shm_segment *seg, size_t capacity, uint64_t prod_bell_off,
			 uint64_t cons_bell_off, char *err, size_t errlen)
{
	size_t need = shm_ring_footprint(capacity);
	if (need == 0) {
		snprintf(err, errlen, "ring: capacity %zu is not a power of two in [%u, %u]",
			 capacity, SHM_RING_MIN_CAPACITY, SHM_RING_MAX_CAPACITY);
		return 0;
	}
	uint64_t off = shm_segment_alloc(seg, need, 64);
	if (off == 0) {
		snprintf(err, errlen, "ring: no room for %zu bytes in the shared segment (%zu of %zu used)",
			 need, shm_segment_used(seg), shm_segment_size(seg));
		return 0;
	}
	if (shm_ring_init(shm_at(seg, off), capacity, prod_bell_off, cons_bell_off, err, errlen) != 0)
		return 0;
	return off;
}

void shm_ring_reset(struct shm_ring *r)
{
	/* Nobody runs on the ring now (the supervisor has reaped both sides), so
	 * relaxed stores suffice; the fork() or the next handshake orders them. */
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&r->full_waits, 0, memory_order_relaxed);
}

static int bell_ok(const struct shm_segment *seg, uint64_t off)
{
	return (off & 63) == 0 && shm_segment_contains(seg, off, sizeof(struct shm_doorbell));
}

int shm_ring_handle_init(struct shm_ring_handle *h, struct shm_segment *seg, uint64_t ring_off,
			 char *err, size_t errlen)
{
	if (h == NULL || seg == NULL) {
		snprintf(err, errlen, "ring: no handle or no segment");
		return -EINVAL;
	}
	if ((ring_off & 63) != 0 || !shm_segment_contains(seg, ring_off, sizeof(struct shm_ring))) {
		snprintf(err, errlen, "ring: offset %llu is not an aligned ring inside the segment",
			 (unsigned long long)ring_off);
		return -EINVAL;
	}
	struct shm_ring *r = shm_at(seg, ring_off);
	if (r->magic != SHM_RING_MAGIC || r->version != SHM_RING_VERSION) {
		snprintf(err, errlen, "ring at %llu: bad magic 0x%016llx or version %u (want %u)",
			 (unsigned long long)ring_off, (unsigned long long)r->magic, r->version,
			 SHM_RING_VERSION);
		return -EINVAL;
	}
	if (!capacity_ok(r->capacity) || r->max_frame != r->capacity / 4 - SHM_FRAME_HEADER ||
	    !shm_segment_contains(seg, ring_off, shm_ring_footprint(r->capacity))) {
		snprintf(err, errlen, "ring at %llu: corrupt capacity %llu / max frame %u",
			 (unsigned long long)ring_off, (unsigned long long)r->capacity, r->max_frame);
		return -EINVAL;
	}
	if (!bell_ok(seg, r->prod_bell_off) || !bell_ok(seg, r->cons_bell_off)) {
		snprintf(err, errlen, "ring at %llu: doorbell offsets %llu / %llu are not doorbells in the segment",
			 (unsigned long long)ring_off, (unsigned long long)r->prod_bell_off,
			 (unsigned long long)r->cons_bell_off);
		return -EINVAL;
	}
	*h = (struct shm_ring_handle){
		.ring = r,
		.data = r->data,
		.mask = r->capacity - 1,
		.max_frame = r->max_frame,
		.prod_bell = shm_at(seg, r->prod_bell_off),
		.cons_bell = shm_at(seg, r->cons_bell_off),
	};
	/* Attaching to a ring that is not empty (e.g. a test re-attaching)
	 * starts where the shared indices are. Acquire pairs with the release
	 * stores in commit/release. */
	h->prod_next = h->prod_pub = atomic_load_explicit(&r->head, memory_order_acquire);
	h->cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	h->cons_next = h->cons_pub = h->cached_tail;
	h->cached_head = h->prod_next;
	return 0;
}

/* ---- producer ---- */

void *shm_ring_try_reserve_slow(struct shm_ring_handle *h, uint32_t len, uint16_t type)
{
	if (UNLIKELY(len > h->max_frame || type == SHM_FRAME_PAD)) {
		errno = len > h->max_frame ? EMSGSIZE : EINVAL;
		return NULL;
	}
	uint64_t total = shm_frame_total(len);
	uint64_t pos = h->prod_next;
	uint64_t off = pos & h->mask;
	uint64_t to_end = h->mask + 1 - off;
	/* A frame that does not fit before the end costs the rest of the buffer
	 * as a PAD frame, then starts at 0. */
	uint64_t need = LIKELY(total <= to_end) ? total : to_end + total;

	if (pos + need - h->cached_tail > h->mask + 1) {
		/* Acquire pairs with the consumer's exchange of tail in
		 * shm_ring_release(): it has finished reading the bytes we are
		 * about to overwrite. */
		h->cached_tail = atomic_load_explicit(&h->ring->tail, memory_order_acquire);
		if (pos + need - h->cached_tail > h->mask + 1) {
			errno = EAGAIN;
			return NULL;
		}
	}
	if (need != total) {
		struct shm_frame_header *pad = (struct shm_frame_header *)(void *)(h->data + off);
		pad->len = (uint32_t)(to_end - SHM_FRAME_HEADER);
		pad->type = SHM_FRAME_PAD;
		pad->flags = 0;
		pos += to_end;
		off = 0;
	}
	/* Plain stores: published by the exchange of head in commit. */
	struct shm_frame_header *fh = (struct shm_frame_header *)(void *)(h->data + off);
	fh->len = len;
	fh->type = type;
	fh->flags = 0;
	h->prod_last = pos;
	h->prod_have_last = 1;
	h->prod_next = pos + total;
	return fh + 1;
}

void *shm_ring_reserve_slow(struct shm_ring_handle *h, uint32_t len, uint16_t type,
			    const volatile int *stop)
{
	void *p = shm_ring_try_reserve_slow(h, len, type);
	if (LIKELY(p != NULL) || errno != EAGAIN)
		return p;

	/* Full. Whatever we reserved but did not publish may be what the
	 * consumer needs to see before it can free anything. */
	shm_ring_commit(h);
	/* Only the producer writes full_waits, so load+store, no locked op. */
	atomic_store_explicit(&h->ring->full_waits,
			      atomic_load_explicit(&h->ring->full_waits, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	for (;;) {
		if (stop != NULL && *stop != 0) {
			errno = ECANCELED;
			return NULL;
		}
		for (int i = 0; i < SHM_SPIN_ROUNDS; i++) {
			cpu_relax();
			if ((p = shm_ring_try_reserve(h, len, type)) != NULL)
				return p;
		}
		uint32_t seq = shm_doorbell_prepare(h->prod_bell);
		/* Re-check after announcing ourselves (doorbell.h protocol).
		 * The ring was full by cached_tail, so this reloads tail. */
		if ((p = shm_ring_try_reserve(h, len, type)) != NULL) {
			shm_doorbell_cancel(h->prod_bell);
			return p;
		}
		shm_doorbell_wait(h->prod_bell, seq, SHM_RESERVE_WAIT_NS);
		if ((p = shm_ring_try_reserve(h, len, type)) != NULL)
			return p;
	}
}

int shm_ring_shrink_last(struct shm_ring_handle *h, uint32_t new_len)
{
	if (!h->prod_have_last)
		return -EINVAL;
	struct shm_frame_header *fh =
		(struct shm_frame_header *)(void *)(h->data + (h->prod_last & h->mask));
	if (new_len > fh->len)
		return -EINVAL;
	/* The frame is the last thing reserved, so its end is prod_next and
	 * giving bytes back is just moving prod_next. */
	h->prod_next = h->prod_last + shm_frame_total(new_len);
	fh->len = new_len;
	return 0;
}

/* shm_ring_commit() is inline in ring.h. */

/* ---- consumer ---- */

static int refresh_head(struct shm_ring_handle *h)
{
	/* Acquire pairs with the exchange of head in shm_ring_commit(): the
	 * frames below it are fully written. */
	h->cached_head = atomic_load_explicit(&h->ring->head, memory_order_acquire);
	return h->cons_next != h->cached_head;
}

const void *shm_ring_peek_slow(struct shm_ring_handle *h, uint32_t *len, uint16_t *type)
{
	for (;;) {
		uint64_t pos = h->cons_next;
		if (pos == h->cached_head && !refresh_head(h)) {
			errno = EAGAIN;
			return NULL;
		}
		uint64_t off = pos & h->mask;
		const struct shm_frame_header *fh =
			(const struct shm_frame_header *)(const void *)(h->data + off);
		uint32_t flen = fh->len;
		uint16_t ftype = fh->type;
		uint64_t total = shm_frame_total(flen);
		uint64_t avail = h->cached_head - pos;
		uint64_t to_end = h->mask + 1 - off;

		if (UNLIKELY(ftype == SHM_FRAME_PAD)) {
			/* A PAD always runs exactly to the end of the buffer and is
			 * published together with the frame after it. */
			if (total != to_end || total >= avail)
				goto bad;
			h->cons_next = pos + total;
			continue;
		}
		if (UNLIKELY(flen > h->max_frame || total > avail || total > to_end))
			goto bad;
		h->cons_peeked = (uint32_t)total;
		*len = flen;
		*type = ftype;
		return fh + 1;
	bad:
		/* Only a broken producer gets here; never read past the data. */
		h->cons_peeked = 0;
		errno = EBADMSG;
		return NULL;
	}
}

/* shm_ring_consume(), shm_ring_release() and shm_ring_readable() are inline
 * in ring.h. */

int shm_rings_wait(struct shm_ring_handle *const *hs, int n, struct shm_doorbell *bell,
		   int64_t timeout_ns)
{
	if (hs == NULL || n <= 0 || bell == NULL)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		/* Every ring must ring this bell, or we could sleep through data. */
		if (hs[i] == NULL || hs[i]->cons_bell != bell)
			return -EINVAL;
		shm_ring_release(hs[i]);
	}
	int rounds = timeout_ns == 0 ? 1 : SHM_SPIN_ROUNDS;
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < n; i++)
			if (shm_ring_readable(hs[i]))
				return 1;
		cpu_relax();
	}
	if (timeout_ns == 0)
		return 0;

	uint32_t seq = shm_doorbell_prepare(bell);
	/* Re-check after announcing ourselves (doorbell.h protocol). */
	for (int i = 0; i < n; i++) {
		if (shm_ring_readable(hs[i])) {
			shm_doorbell_cancel(bell);
			return 1;
		}
	}
	shm_doorbell_wait(bell, seq, timeout_ns);
	for (int i = 0; i < n; i++)
		if (shm_ring_readable(hs[i]))
			return 1;
	return 0;
}

/* ---- status ---- */

size_t shm_ring_used(const struct shm_ring *r)
{
	struct shm_ring *m = (struct shm_ring *)r; /* atomic loads want non-const */
	/* tail first: head only grows, so head read later is >= tail; a stale
	 * tail can make the difference exceed capacity, hence the clamp. */
	uint64_t tail = atomic_load_explicit(&m->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&m->head, memory_order_relaxed);
	uint64_t used = head - tail;
	return (size_t)(used > r->capacity ? r->capacity : used);
}

size_t shm_ring_capacity(const struct shm_ring *r)
{
	return (size_t)r->capacity;
}

uint64_t shm_ring_full_waits(const struct shm_ring *r)
{
	return atomic_load_explicit(&((struct shm_ring *)r)->full_waits, memory_order_relaxed);
}
