/*
 * test_ring.c — cmocka tests for shm/: segment, doorbell and SPSC ring.
 *
 * Single-process tests pin the byte layout (expected positions are computed
 * by hand from the frame rules, not read back from the code). The stress
 * tests push millions of seeded, checksummed, variable-length frames through
 * a small ring, across fork() (the real deployment) and across two threads
 * (so ThreadSanitizer, which cannot see into another process, checks the
 * memory orders). Every frame is regenerated independently on the consumer
 * side and compared byte for byte, so a lost, duplicated, reordered or torn
 * frame fails the test.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "shm/doorbell.h"
#include "shm/ring.h"
#include "shm/segment.h"

/* Sanitizers slow every memory access down 5-20x; keep each test to a few
 * seconds there while release still moves millions of frames. */
#if defined(__SANITIZE_THREAD__)
#define STRESS_FRAMES 200000u
#elif defined(__SANITIZE_ADDRESS__)
#define STRESS_FRAMES 1000000u
#else
#define STRESS_FRAMES 3000000u
#endif
#define SLOW_FRAMES (STRESS_FRAMES / 10)
#define STRESS_RING (64u * 1024u)
#define STRESS_DEADLINE_S 60

/* ---- fixture: a segment with two doorbells and one ring ---- */

struct fix {
	struct shm_segment *seg;
	uint64_t prod_bell_off, cons_bell_off, ring_off;
	struct shm_ring *ring;
	struct shm_ring_handle prod, cons;
};

static void fix_open(struct fix *f, size_t capacity)
{
	char err[256] = "";
	memset(f, 0, sizeof(*f));
	f->seg = shm_segment_create(capacity + (1u << 16), err, sizeof(err));
	assert_non_null(f->seg);
	f->prod_bell_off = shm_segment_alloc(f->seg, sizeof(struct shm_doorbell), 64);
	f->cons_bell_off = shm_segment_alloc(f->seg, sizeof(struct shm_doorbell), 64);
	assert_true(f->prod_bell_off != 0 && f->cons_bell_off != 0);
	shm_doorbell_init(shm_at(f->seg, f->prod_bell_off));
	shm_doorbell_init(shm_at(f->seg, f->cons_bell_off));
	f->ring_off = shm_ring_create(f->seg, capacity, f->prod_bell_off, f->cons_bell_off,
				      err, sizeof(err));
	assert_true(f->ring_off != 0);
	f->ring = shm_at(f->seg, f->ring_off);
	assert_int_equal(shm_ring_handle_init(&f->prod, f->seg, f->ring_off, err, sizeof(err)), 0);
	assert_int_equal(shm_ring_handle_init(&f->cons, f->seg, f->ring_off, err, sizeof(err)), 0);
}

static void fix_close(struct fix *f)
{
	shm_segment_destroy(f->seg);
	f->seg = NULL;
}

static uint64_t load_head(struct fix *f)
{
	return atomic_load(&f->ring->head);
}

/* ---- segment ---- */

static void test_segment(void **state)
{
	(void)state;
	char err[256] = "";
	assert_null(shm_segment_create(16, err, sizeof(err)));
	assert_true(strlen(err) > 0);

	struct shm_segment *seg = shm_segment_create(100000, err, sizeof(err));
	assert_non_null(seg);
	assert_true(shm_segment_size(seg) >= 100000);
	assert_int_equal(shm_segment_check(seg, err, sizeof(err)), 0);

	uint64_t a = shm_segment_alloc(seg, 10, 8);
	assert_true(a >= sizeof(struct shm_segment_header));
	assert_int_equal(a % 8, 0);
	uint64_t b = shm_segment_alloc(seg, 100, 64);
	assert_int_equal(b % 64, 0);
	assert_true(b >= a + 10);
	unsigned char *pb = shm_at(seg, b);
	for (int i = 0; i < 100; i++)
		assert_int_equal(pb[i], 0);   /* zeroed */
	assert_int_equal(shm_segment_alloc(seg, 0, 8), 0);
	assert_int_equal(shm_segment_alloc(seg, 8, 3), 0);
	assert_int_equal(shm_segment_alloc(seg, 8, 0), 0);
	assert_int_equal(shm_segment_alloc(seg, SIZE_MAX, 8), 0);
	assert_int_equal(shm_segment_alloc(seg, shm_segment_size(seg), 8), 0);
	assert_null(shm_at(seg, 0));
	assert_null(shm_at(seg, shm_segment_size(seg)));
	assert_ptr_equal(shm_at(seg, b), seg->base + b);

	assert_int_equal(shm_segment_set_entry(seg, 3, b, err, sizeof(err)), 0);
	assert_int_equal(shm_segment_get_entry(seg, 3), b);
	assert_int_equal(shm_segment_get_entry(seg, 4), 0);
	assert_int_equal(shm_segment_get_entry(seg, SHM_SEGMENT_ENTRIES), 0);
	assert_int_equal(shm_segment_set_entry(seg, SHM_SEGMENT_ENTRIES, b, err, sizeof(err)), -1);
	/* Not allocated yet: beyond brk. */
	assert_int_equal(shm_segment_set_entry(seg, 5, shm_segment_size(seg) - 64, err, sizeof(err)), -1);
	assert_int_equal(shm_segment_set_entry(seg, 5, 8, err, sizeof(err)), -1); /* in the header */
	assert_true(shm_segment_contains(seg, b, 100));
	assert_false(shm_segment_contains(seg, b, shm_segment_size(seg)));
	assert_int_equal(shm_segment_check(seg, err, sizeof(err)), 0);

	/* Corruptions are reported, not trusted. */
	struct shm_segment_header *h = (struct shm_segment_header *)(void *)seg->base;
	h->entries[7] = shm_segment_size(seg) + 8;
	assert_int_equal(shm_segment_check(seg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "entry 7"));
	h->entries[7] = 0;
	h->version = 99;
	assert_int_equal(shm_segment_check(seg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version"));
	h->version = SHM_SEGMENT_VERSION;
	h->magic ^= 1;
	assert_int_equal(shm_segment_check(seg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "magic"));
	h->magic ^= 1;
	h->size = 12;
	assert_int_equal(shm_segment_check(seg, err, sizeof(err)), -1);
	h->size = shm_segment_size(seg);
	assert_int_equal(shm_segment_check(seg, err, sizeof(err)), 0);

	shm_segment_destroy(seg);
	shm_segment_destroy(NULL);
}

/* ---- ring setup and attach ---- */

static void test_ring_init_rejects(void **state)
{
	(void)state;
	char err[256];
	struct fix f;
	fix_open(&f, 4096);
	assert_int_equal(shm_ring_footprint(4096), sizeof(struct shm_ring) + 4096);
	assert_int_equal(shm_ring_footprint(3000), 0);
	assert_int_equal(shm_ring_footprint(128), 0);
	assert_int_equal(shm_ring_footprint((size_t)SHM_RING_MAX_CAPACITY * 2), 0);

	uint64_t off = shm_segment_alloc(f.seg, shm_ring_footprint(1024), 64);
	struct shm_ring *r = shm_at(f.seg, off);
	assert_int_equal(shm_ring_init(r, 1000, f.prod_bell_off, f.cons_bell_off, err, sizeof(err)), -EINVAL);
	assert_int_equal(shm_ring_init(r, 1024, 0, f.cons_bell_off, err, sizeof(err)), -EINVAL);
	assert_int_equal(shm_ring_init((struct shm_ring *)(void *)((char *)r + 8), 256,
				       f.prod_bell_off, f.cons_bell_off, err, sizeof(err)), -EINVAL);
	assert_int_equal(shm_ring_create(f.seg, 1u << 30, f.prod_bell_off, f.cons_bell_off,
					 err, sizeof(err)), 0);
	assert_non_null(strstr(err, "no room"));

	/* Attach checks: never initialised, misaligned, bad doorbell, bad magic. */
	struct shm_ring_handle h;
	assert_int_equal(shm_ring_handle_init(&h, f.seg, off, err, sizeof(err)), -EINVAL);
	assert_int_equal(shm_ring_handle_init(&h, f.seg, f.ring_off + 8, err, sizeof(err)), -EINVAL);
	assert_int_equal(shm_ring_handle_init(&h, f.seg, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(shm_ring_init(r, 1024, f.prod_bell_off + 8, f.cons_bell_off, err, sizeof(err)), 0);
	assert_int_equal(shm_ring_handle_init(&h, f.seg, off, err, sizeof(err)), -EINVAL);
	assert_int_equal(shm_ring_init(r, 1024, f.prod_bell_off, f.cons_bell_off, err, sizeof(err)), 0);
	assert_int_equal(shm_ring_handle_init(&h, f.seg, off, err, sizeof(err)), 0);
	assert_int_equal(shm_ring_max_frame(&h), 1024 / 4 - 8);
	r->capacity = 2048; /* footprint would now run past the allocation */
	assert_int_equal(shm_ring_handle_init(&h, f.seg, off, err, sizeof(err)), -EINVAL);
	fix_close(&f);
}

/* ---- single-process behaviour ---- */

static void fill_pattern(unsigned char *p, uint32_t len, unsigned char seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static int check_pattern(const unsigned char *p, uint32_t len, unsigned char seed)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static void test_roundtrip_and_batch_commit(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, 4096);
	uint32_t len;
	uint16_t type;

	errno = 0;
	assert_null(shm_ring_peek(&f.cons, &len, &type));
	assert_int_equal(errno, EAGAIN);

	/* Three frames, one commit. Totals: 8+8, 8+0, 8+104 -> 16, 8, 112. */
	const uint32_t lens[3] = { 5, 0, 100 };
	for (int i = 0; i < 3; i++) {
		unsigned char *p = shm_ring_try_reserve(&f.prod, lens[i], (uint16_t)(10 + i));
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 8, 0);
		fill_pattern(p, lens[i], (unsigned char)i);
	}
	/* Nothing is visible before the commit. */
	assert_null(shm_ring_peek(&f.cons, &len, &type));
	assert_false(shm_ring_readable(&f.cons));
	assert_int_equal(shm_ring_used(f.ring), 0);
	assert_int_equal(load_head(&f), 0);

	shm_ring_commit(&f.prod);
	assert_int_equal(load_head(&f), 16 + 8 + 112);
	assert_int_equal(shm_ring_used(f.ring), 136);
	assert_true(shm_ring_readable(&f.cons));
	for (int i = 0; i < 3; i++) {
		const unsigned char *p = shm_ring_peek(&f.cons, &len, &type);
		assert_non_null(p);
		assert_int_equal(len, lens[i]);
		assert_int_equal(type, 10 + i);
		assert_true(check_pattern(p, len, (unsigned char)i));
		/* Peeking again gives the same frame. */
		assert_ptr_equal(shm_ring_peek(&f.cons, &len, &type), p);
		shm_ring_consume(&f.cons);
	}
	assert_null(shm_ring_peek(&f.cons, &len, &type));
	/* Consumption is local until release. */
	assert_int_equal(shm_ring_used(f.ring), 136);
	shm_ring_release(&f.cons);
	assert_int_equal(shm_ring_used(f.ring), 0);
	assert_int_equal(atomic_load(&f.ring->tail), 136);
	/* Commit and release with nothing pending change nothing. */
	shm_ring_commit(&f.prod);
	shm_ring_release(&f.cons);
	assert_int_equal(load_head(&f), 136);
	fix_close(&f);
}

static void test_wrap_with_pad(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, 256);               /* max payload 56 */
	uint32_t len;
	uint16_t type;
	/* Five frames of 40 bytes (total 48 each) end at 240, 16 short of 256. */
	for (int i = 0; i < 5; i++) {
		unsigned char *p = shm_ring_try_reserve(&f.prod, 40, 1);
		assert_ptr_equal(p, f.ring->data + 48 * i + 8);
		fill_pattern(p, 40, (unsigned char)i);
	}
	shm_ring_commit(&f.prod);
	/* Only 16 bytes free: the next 48-byte frame cannot fit anywhere. */
	errno = 0;
	assert_null(shm_ring_try_reserve(&f.prod, 40, 1));
	assert_int_equal(errno, EAGAIN);
	for (int i = 0; i < 2; i++) {
		const unsigned char *p = shm_ring_peek(&f.cons, &len, &type);
		assert_non_null(p);
		assert_true(check_pattern(p, 40, (unsigned char)i));
		shm_ring_consume(&f.cons);
	}
	shm_ring_release(&f.cons);        /* tail = 96: 16 at the end + 96 at the start free */
	unsigned char *p = shm_ring_try_reserve(&f.prod, 40, 2);
	/* It does not fit in the 16 bytes before the end: PAD there, frame at 0. */
	assert_ptr_equal(p, f.ring->data + 8);
	const struct shm_frame_header *pad = (const void *)(f.ring->data + 240);
	assert_int_equal(pad->type, SHM_FRAME_PAD);
	assert_int_equal(pad->len, 8);
	fill_pattern(p, 40, 9);
	shm_ring_commit(&f.prod);
	assert_int_equal(load_head(&f), 240 + 16 + 48);
	assert_int_equal(shm_ring_used(f.ring), 304 - 96);

	for (int i = 2; i < 5; i++) {
		const unsigned char *q = shm_ring_peek(&f.cons, &len, &type);
		assert_non_null(q);
		assert_true(check_pattern(q, 40, (unsigned char)i));
		shm_ring_consume(&f.cons);
	}
	/* The PAD is skipped silently; the consumer sees the wrapped frame. */
	const unsigned char *q = shm_ring_peek(&f.cons, &len, &type);
	assert_ptr_equal(q, f.ring->data + 8);
	assert_int_equal(len, 40);
	assert_int_equal(type, 2);
	assert_true(check_pattern(q, 40, 9));
	shm_ring_consume(&f.cons);
	assert_null(shm_ring_peek(&f.cons, &len, &type));
	shm_ring_release(&f.cons);
	assert_int_equal(shm_ring_used(f.ring), 0);
	assert_int_equal(atomic_load(&f.ring->tail), 304);
	fix_close(&f);
}

static void test_exact_fill_and_too_big(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, 256);
	uint32_t len;
	uint16_t type;
	assert_int_equal(shm_ring_max_frame(&f.prod), 56);

	errno = 0;
	assert_null(shm_ring_try_reserve(&f.prod, 57, 1));
	assert_int_equal(errno, EMSGSIZE);
	errno = 0;
	assert_null(shm_ring_try_reserve(&f.prod, UINT32_MAX, 1));
	assert_int_equal(errno, EMSGSIZE);
	errno = 0;
	assert_null(shm_ring_reserve(&f.prod, 1000, 1, NULL)); /* must not wait forever */
	assert_int_equal(errno, EMSGSIZE);
	errno = 0;
	assert_null(shm_ring_try_reserve(&f.prod, 8, SHM_FRAME_PAD));
	assert_int_equal(errno, EINVAL);

	/* Four maximum frames (8 + 56 = 64 bytes) fill 256 exactly. */
	for (int i = 0; i < 4; i++) {
		unsigned char *p = shm_ring_try_reserve(&f.prod, 56, 3);
		assert_ptr_equal(p, f.ring->data + 64 * i + 8);
		fill_pattern(p, 56, (unsigned char)(i + 20));
	}
	shm_ring_commit(&f.prod);
	assert_int_equal(shm_ring_used(f.ring), 256);
	errno = 0;
	assert_null(shm_ring_try_reserve(&f.prod, 0, 1));
	assert_int_equal(errno, EAGAIN);

	/* Full and asked to stop: returns instead of waiting. */
	volatile int stop = 1;
	errno = 0;
	assert_null(shm_ring_reserve(&f.prod, 8, 1, &stop));
	assert_int_equal(errno, ECANCELED);
	assert_int_equal(shm_ring_full_waits(f.ring), 1);

	const unsigned char *p = shm_ring_peek(&f.cons, &len, &type);
	assert_true(check_pattern(p, 56, 20));
	shm_ring_consume(&f.cons);
	shm_ring_release(&f.cons);
	/* 64 bytes free at the start of the buffer, index 256 -> offset 0. */
	unsigned char *n = shm_ring_try_reserve(&f.prod, 56, 4);
	assert_ptr_equal(n, f.ring->data + 8);
	fill_pattern(n, 56, 99);
	shm_ring_commit(&f.prod);
	for (int i = 1; i < 4; i++) {
		p = shm_ring_peek(&f.cons, &len, &type);
		assert_true(check_pattern(p, 56, (unsigned char)(i + 20)));
		shm_ring_consume(&f.cons);
	}
	p = shm_ring_peek(&f.cons, &len, &type);
	assert_int_equal(type, 4);
	assert_true(check_pattern(p, 56, 99));
	fix_close(&f);
}

static void test_reserve_commits_pending_before_waiting(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, 256);
	for (int i = 0; i < 4; i++)
		assert_non_null(shm_ring_try_reserve(&f.prod, 56, 1));
	/* Full of our own unpublished frames: reserve must publish them
	 * before it waits, or the consumer could never make room. */
	volatile int stop = 1;
	assert_null(shm_ring_reserve(&f.prod, 8, 1, &stop));
	assert_int_equal(load_head(&f), 256);
	fix_close(&f);
}

static void test_shrink_last(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, 1024);
	uint32_t len;
	uint16_t type;
	assert_int_equal(shm_ring_shrink_last(&f.prod, 0), -EINVAL); /* nothing reserved */

	unsigned char *a = shm_ring_try_reserve(&f.prod, 200, 1);
	fill_pattern(a, 13, 1);
	assert_int_equal(shm_ring_shrink_last(&f.prod, 201), -EINVAL);
	assert_int_equal(shm_ring_shrink_last(&f.prod, 13), 0);
	/* 8 + 16 bytes used by the shrunk frame: the next one starts at 24. */
	unsigned char *b = shm_ring_try_reserve(&f.prod, 30, 2);
	assert_ptr_equal(b, f.ring->data + 24 + 8);
	fill_pattern(b, 30, 2);
	assert_int_equal(shm_ring_shrink_last(&f.prod, 30), 0); /* same size is fine */
	shm_ring_commit(&f.prod);
	assert_int_equal(shm_ring_shrink_last(&f.prod, 1), -EINVAL); /* already published */
	assert_int_equal(load_head(&f), 24 + 8 + 32);

	const unsigned char *p = shm_ring_peek(&f.cons, &len, &type);
	assert_int_equal(len, 13);
	assert_true(check_pattern(p, 13, 1));
	shm_ring_consume(&f.cons);
	p = shm_ring_peek(&f.cons, &len, &type);
	assert_int_equal(len, 30);
	assert_int_equal(type, 2);
	assert_true(check_pattern(p, 30, 2));
	fix_close(&f);
}

static void test_corrupt_header_rejected(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, 1024);
	uint32_t len;
	uint16_t type;
	unsigned char *p = shm_ring_try_reserve(&f.prod, 16, 1);
	assert_non_null(p);
	shm_ring_commit(&f.prod);
	struct shm_frame_header *fh = (struct shm_frame_header *)(void *)(p - 8);
	fh->len = 4000;             /* beyond what was published */
	errno = 0;
	assert_null(shm_ring_peek(&f.cons, &len, &type));
	assert_int_equal(errno, EBADMSG);
	fh->len = 16;
	fh->type = SHM_FRAME_PAD;   /* a PAD that does not reach the end */
	errno = 0;
	assert_null(shm_ring_peek(&f.cons, &len, &type));
	assert_int_equal(errno, EBADMSG);
	fh->type = 1;
	assert_non_null(shm_ring_peek(&f.cons, &len, &type));

	/* Reset empties the ring; handles are re-made afterwards. */
	shm_ring_reset(f.ring);
	assert_int_equal(shm_ring_used(f.ring), 0);
	char err[128];
	assert_int_equal(shm_ring_handle_init(&f.cons, f.seg, f.ring_off, err, sizeof(err)), 0);
	assert_null(shm_ring_peek(&f.cons, &len, &type));
	fix_close(&f);
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void test_doorbell_and_rings_wait(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, 1024);
	struct shm_doorbell *cb = shm_at(f.seg, f.cons_bell_off);

	/* Nobody sleeps: ringing is free and leaves seq alone. */
	shm_doorbell_ring(cb);
	assert_int_equal(shm_doorbell_wakes(cb), 0);
	/* A wake between prepare and wait is not lost. */
	uint32_t s = shm_doorbell_prepare(cb);
	shm_doorbell_ring(cb);
	assert_int_equal(shm_doorbell_wakes(cb), 1);
	int64_t t0 = mono_ns();
	assert_int_equal(shm_doorbell_wait(cb, s, 5 * 1000000000LL), 0);
	assert_true(mono_ns() - t0 < 1000000000LL);
	/* One sleep, one wake: further publishes make no syscall. */
	assert_int_equal(atomic_load(&cb->armed), 0);
	shm_doorbell_ring(cb);
	shm_doorbell_ring(cb);
	assert_int_equal(shm_doorbell_wakes(cb), 1);
	/* No wake: times out. */
	s = shm_doorbell_prepare(cb);
	assert_int_equal(shm_doorbell_wait(cb, s, 2 * 1000000LL), -ETIMEDOUT);
	/* A timed-out waiter leaves the doorbell armed: the next publish pays
	 * one spurious wake, the one after it none. */
	shm_doorbell_ring(cb);
	shm_doorbell_ring(cb);
	assert_int_equal(shm_doorbell_wakes(cb), 2);

	/* A second ring on the same consumer doorbell. */
	char err[128];
	uint64_t r2 = shm_ring_create(f.seg, 256, f.prod_bell_off, f.cons_bell_off, err, sizeof(err));
	assert_true(r2 != 0);
	struct shm_ring_handle p2, c2;
	assert_int_equal(shm_ring_handle_init(&p2, f.seg, r2, err, sizeof(err)), 0);
	assert_int_equal(shm_ring_handle_init(&c2, f.seg, r2, err, sizeof(err)), 0);
	struct shm_ring_handle *hs[2] = { &f.cons, &c2 };
	assert_int_equal(shm_rings_wait(hs, 2, cb, 0), 0);
	assert_int_equal(shm_rings_wait(hs, 2, cb, 1000000), 0);
	assert_int_equal(shm_rings_wait(hs, 0, cb, 0), -EINVAL);
	assert_int_equal(shm_rings_wait(hs, 2, shm_at(f.seg, f.prod_bell_off), 0), -EINVAL);
	assert_non_null(shm_ring_try_reserve(&p2, 4, 1));
	shm_ring_commit(&p2);
	assert_int_equal(shm_rings_wait(hs, 2, cb, -1), 1);
	/* rings_wait publishes what was consumed before it would sleep. */
	uint32_t len;
	uint16_t type;
	assert_non_null(shm_ring_peek(&c2, &len, &type));
	shm_ring_consume(&c2);
	assert_int_equal(shm_ring_used(shm_at(f.seg, r2)), 16);
	assert_int_equal(shm_rings_wait(hs, 2, cb, 0), 0);
	assert_int_equal(shm_ring_used(shm_at(f.seg, r2)), 0);
	fix_close(&f);
}

/* ---- stress: seeded frames, regenerated and compared by the consumer ---- */

#define STRESS_SEED 0x5eed1234abcdULL

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* Length of frame `seq`: mostly small, 1 in 32 large (up to 8 KiB) so PADs
 * of every size and a constantly full 64 KiB ring happen. */
static uint32_t gen_len(uint64_t seq)
{
	uint64_t s = STRESS_SEED ^ (seq * 0x2545f4914f6cdd1dULL);
	uint64_t r = splitmix(&s);
	if ((r & 31) == 0)
		return 16 + (uint32_t)((r >> 8) % 8000);
	return 16 + (uint32_t)((r >> 8) % 250);
}

static uint16_t gen_type(uint64_t seq)
{
	return (uint16_t)(1 + seq % 5);
}

/* Frame = seq (8) | fnv1a of the rest (8) | seeded bytes. */
static void gen_frame(unsigned char *p, uint32_t len, uint64_t seq)
{
	uint64_t s = STRESS_SEED + seq;
	uint32_t i = 16;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = splitmix(&s);
		memcpy(p + i, &w, 8);
	}
	if (i < len) {
		uint64_t w = splitmix(&s);
		memcpy(p + i, &w, len - i);
	}
	uint64_t ck = fnv1a(p + 16, len - 16);
	memcpy(p, &seq, 8);
	memcpy(p + 8, &ck, 8);
}

struct stress {
	struct fix f;
	uint64_t frames;
	int prod_pause_every;   /* 0: never pause */
	int cons_pause_every;
	volatile int stop;      /* producer gives up (thread variant only) */
	int prod_rc;
	char err[256];
};

static void pause_us(long us)
{
	struct timespec ts = { 0, us * 1000 };
	nanosleep(&ts, NULL);
}

/* Returns 0 or a small error code (the fork variant's exit status). */
static int produce(struct stress *st, struct shm_ring_handle *h)
{
	uint64_t rs = STRESS_SEED ^ 0xfeed;
	uint64_t seq = 0;
	while (seq < st->frames) {
		uint64_t batch = 1 + splitmix(&rs) % 64;
		for (uint64_t b = 0; b < batch && seq < st->frames; b++, seq++) {
			uint32_t len = gen_len(seq);
			uint64_t r = splitmix(&rs);
			/* One frame in 8 over-reserves and shrinks. */
			uint32_t want = len;
			if ((r & 7) == 0) {
				want = len + (uint32_t)((r >> 8) % 300);
				if (want > shm_ring_max_frame(h))
					want = shm_ring_max_frame(h);
			}
			unsigned char *p = shm_ring_reserve(h, want, gen_type(seq), &st->stop);
			if (p == NULL)
				return errno == ECANCELED ? 3 : 2;
			gen_frame(p, len, seq);
			if (want != len && shm_ring_shrink_last(h, len) != 0)
				return 4;
			if (st->prod_pause_every && seq % (uint64_t)st->prod_pause_every == 0)
				pause_us(300);
		}
		shm_ring_commit(h);
	}
	shm_ring_commit(h);
	return 0;
}

/* Returns 0 or -1 with the first problem in st->err. */
static int consume(struct stress *st, struct shm_ring_handle *h, struct shm_doorbell *bell)
{
	static unsigned char want[16384];
	uint64_t rs = STRESS_SEED ^ 0xc0de;
	int64_t deadline = mono_ns() + STRESS_DEADLINE_S * 1000000000LL;
	uint64_t seq = 0;
	uint64_t since_release = 0, release_every = 1;

	while (seq < st->frames) {
		uint32_t len;
		uint16_t type;
		const unsigned char *p = shm_ring_peek(h, &len, &type);
		if (p == NULL) {
			if (errno == EBADMSG) {
				snprintf(st->err, sizeof(st->err), "malformed header before frame %llu",
					 (unsigned long long)seq);
				return -1;
			}
			if (mono_ns() > deadline) {
				snprintf(st->err, sizeof(st->err), "deadline: stuck at frame %llu of %llu",
					 (unsigned long long)seq, (unsigned long long)st->frames);
				return -1;
			}
			shm_rings_wait(&h, 1, bell, 100 * 1000000LL);
			continue;
		}
		uint64_t got_seq = 0;
		if (len >= 8)
			memcpy(&got_seq, p, 8);
		uint32_t wlen = gen_len(seq);
		if (len != wlen || len < 16 || got_seq != seq || type != gen_type(seq)) {
			snprintf(st->err, sizeof(st->err),
				 "frame %llu: got seq %llu len %u type %u, want len %u type %u",
				 (unsigned long long)seq, (unsigned long long)(len >= 8 ? got_seq : 0),
				 len, type, wlen, gen_type(seq));
			return -1;
		}
		uint64_t ck;
		memcpy(&ck, p + 8, 8);
		gen_frame(want, wlen, seq);
		if (ck != fnv1a(p + 16, len - 16) || memcmp(p, want, len) != 0) {
			snprintf(st->err, sizeof(st->err), "frame %llu (len %u): bytes differ",
				 (unsigned long long)seq, len);
			return -1;
		}
		shm_ring_consume(h);
		seq++;
		if (++since_release >= release_every) {
			shm_ring_release(h);
			since_release = 0;
			release_every = 1 + splitmix(&rs) % 32;
		}
		if (st->cons_pause_every && seq % (uint64_t)st->cons_pause_every == 0)
			pause_us(300);
	}
	shm_ring_release(h);
	return 0;
}

static void stress_open(struct stress *st, uint64_t frames, int prod_pause, int cons_pause)
{
	memset(st, 0, sizeof(*st));
	fix_open(&st->f, STRESS_RING);
	st->frames = frames;
	st->prod_pause_every = prod_pause;
	st->cons_pause_every = cons_pause;
}

/* After the producer is done the ring must be empty: no extra frame. */
static void assert_drained(struct stress *st)
{
	uint32_t len;
	uint16_t type;
	assert_null(shm_ring_peek(&st->f.cons, &len, &type));
	assert_int_equal(shm_ring_used(st->f.ring), 0);
}

static void run_fork_stress(uint64_t frames, int prod_pause, int cons_pause)
{
	struct stress st;
	stress_open(&st, frames, prod_pause, cons_pause);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(produce(&st, &st.f.prod));
	}
	int rc = consume(&st, &st.f.cons, shm_at(st.f.seg, st.f.cons_bell_off));
	if (rc != 0)
		kill(pid, SIGKILL);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (rc != 0)
		fail_msg("%s", st.err);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_drained(&st);
	if (prod_pause && cons_pause) {
		/* Both slow paths ran: the producer found the ring full and a
		 * sleeper on each doorbell was woken by the other side. */
		assert_true(shm_ring_full_waits(st.f.ring) > 0);
		assert_true(shm_doorbell_wakes(shm_at(st.f.seg, st.f.prod_bell_off)) > 0);
		assert_true(shm_doorbell_wakes(shm_at(st.f.seg, st.f.cons_bell_off)) > 0);
	}
	fix_close(&st.f);
}

static void test_stress_fork(void **state)
{
	(void)state;
	run_fork_stress(STRESS_FRAMES, 0, 0);
}

static void test_stress_fork_slow_sides(void **state)
{
	(void)state;
	/* Pauses of 300 us on each side, at different rhythms, so the ring
	 * runs both full (producer sleeps) and empty (consumer sleeps). */
	run_fork_stress(SLOW_FRAMES, 5003, 3001);
}

static void *producer_thread(void *arg)
{
	struct stress *st = arg;
	st->prod_rc = produce(st, &st->f.prod);
	return NULL;
}

static void run_thread_stress(uint64_t frames, int prod_pause, int cons_pause)
{
	struct stress st;
	stress_open(&st, frames, prod_pause, cons_pause);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, producer_thread, &st), 0);
	int rc = consume(&st, &st.f.cons, shm_at(st.f.seg, st.f.cons_bell_off));
	if (rc != 0)
		st.stop = 1;
	pthread_join(t, NULL);
	if (rc != 0)
		fail_msg("%s", st.err);
	assert_int_equal(st.prod_rc, 0);
	assert_drained(&st);
	fix_close(&st.f);
}

static void test_stress_threads(void **state)
{
	(void)state;
	run_thread_stress(STRESS_FRAMES, 0, 0);
}

static void test_stress_threads_slow_sides(void **state)
{
	(void)state;
	run_thread_stress(SLOW_FRAMES, 5003, 3001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segment),
		cmocka_unit_test(test_ring_init_rejects),
		cmocka_unit_test(test_roundtrip_and_batch_commit),
		cmocka_unit_test(test_wrap_with_pad),
		cmocka_unit_test(test_exact_fill_and_too_big),
		cmocka_unit_test(test_reserve_commits_pending_before_waiting),
		cmocka_unit_test(test_shrink_last),
		cmocka_unit_test(test_corrupt_header_rejected),
		cmocka_unit_test(test_doorbell_and_rings_wait),
		cmocka_unit_test(test_stress_fork),
		cmocka_unit_test(test_stress_fork_slow_sides),
		cmocka_unit_test(test_stress_threads),
		cmocka_unit_test(test_stress_threads_slow_sides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
