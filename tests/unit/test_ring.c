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
 *
 * The ring's per-frame calls are inline fast paths in ring.h with slow paths
 * in ring.c; a model test drives both through random operations against
 * positions computed here. Lost wake-ups are looked for three ways: stress
 * runs whose waits have no timeout (a lost wake-up hangs and a watchdog
 * fails the test), a lock-step run where every wake-up is the only one the
 * sleeper will get, and a litmus test that checks the doorbell's Dekker pair
 * round by round without sleeping (it fails within a second when either
 * side's full barrier is removed).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
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
#ifndef STRESS_DEADLINE_S
#define STRESS_DEADLINE_S 60
#endif

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

/* Seeded generator for the model and stress tests. */
static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

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

/* A commit or a release while the other side is armed wakes it once; while
 * nobody is armed, or with nothing to publish, it makes no syscall. These go
 * through the inline commit/release (seq_cst exchange, then
 * shm_doorbell_ring_sc), not shm_doorbell_ring(). */
static void test_commit_release_wake_only_sleepers(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, 1024);
	struct shm_doorbell *cb = shm_at(f.seg, f.cons_bell_off);
	struct shm_doorbell *pb = shm_at(f.seg, f.prod_bell_off);
	uint32_t len;
	uint16_t type;

	assert_non_null(shm_ring_try_reserve(&f.prod, 8, 1));
	shm_ring_commit(&f.prod);
	assert_non_null(shm_ring_peek(&f.cons, &len, &type));
	shm_ring_consume(&f.cons);
	shm_ring_release(&f.cons);
	assert_int_equal(shm_doorbell_wakes(cb), 0);
	assert_int_equal(shm_doorbell_wakes(pb), 0);

	/* Consumer about to sleep: the next commit wakes it, once. */
	uint32_t s = shm_doorbell_prepare(cb);
	shm_ring_commit(&f.prod);                 /* nothing pending: no-op */
	assert_int_equal(shm_doorbell_wakes(cb), 0);
	assert_int_equal(atomic_load(&cb->armed), 1);
	assert_non_null(shm_ring_try_reserve(&f.prod, 8, 1));
	shm_ring_commit(&f.prod);
	assert_int_equal(shm_doorbell_wakes(cb), 1);
	assert_int_equal(atomic_load(&cb->armed), 0);
	int64_t t0 = mono_ns();
	assert_int_equal(shm_doorbell_wait(cb, s, 5 * 1000000000LL), 0);
	assert_true(mono_ns() - t0 < 1000000000LL);
	assert_non_null(shm_ring_try_reserve(&f.prod, 8, 1));
	shm_ring_commit(&f.prod);
	assert_int_equal(shm_doorbell_wakes(cb), 1);

	/* Producer about to sleep: the next release wakes it, once. */
	s = shm_doorbell_prepare(pb);
	shm_ring_release(&f.cons);                /* nothing consumed: no-op */
	assert_int_equal(shm_doorbell_wakes(pb), 0);
	assert_non_null(shm_ring_peek(&f.cons, &len, &type));
	shm_ring_consume(&f.cons);
	shm_ring_release(&f.cons);
	assert_int_equal(shm_doorbell_wakes(pb), 1);
	assert_int_equal(shm_doorbell_wait(pb, s, 5 * 1000000000LL), 0);
	assert_non_null(shm_ring_peek(&f.cons, &len, &type));
	shm_ring_consume(&f.cons);
	shm_ring_release(&f.cons);
	assert_int_equal(shm_doorbell_wakes(pb), 1);
	assert_int_equal(shm_doorbell_wakes(cb), 1);
	fix_close(&f);
}

/* ---- model: random operations against an independent reference ----
 *
 * The inline fast paths (ring.h) and the slow paths (ring.c) split every
 * reserve and peek by position and by what the cached index says. This test
 * drives a 256-byte ring through random reserve / shrink / commit / peek /
 * consume / release, so frames start at every offset, end exactly at the
 * end, need PADs of every size (a header-only one too) and find the ring
 * full by a stale cached index, and checks every answer against positions
 * computed here from the frame rules alone. */

#define MODEL_STEPS 400000u
#define MODEL_RING 256u
#define MODEL_MAX (MODEL_RING / 4 - 8)

struct model_frame {
	uint64_t pos;      /* index of the frame's header */
	uint32_t len;
	uint16_t type;
	unsigned char seed;
};

static uint64_t model_total(uint32_t len)
{
	return 8 + (((uint64_t)len + 7) / 8) * 8;
}

static void test_model_random_ops(void **state)
{
	(void)state;
	struct fix f;
	fix_open(&f, MODEL_RING);
	/* Frames reserved, in order; [0, published) committed; the first
	 * `consumed` of those consumed. A small ring holds at most 32. */
	struct model_frame q[64];
	unsigned nq = 0, published = 0, consumed = 0;
	uint64_t next = 0, head = 0, cons = 0, tail = 0;
	int have_last = 0, peeked = 0;
	uint64_t rs = 0x6d6f64656cULL;
	unsigned reserved = 0, pads = 0, fulls = 0, exact_end = 0;

	for (unsigned step = 0; step < MODEL_STEPS; step++) {
		uint64_t r = splitmix(&rs);
		unsigned op = (unsigned)(r % 16);
		r >>= 8;
		if (op < 6) {                           /* reserve */
			uint32_t len = (uint32_t)(r % (MODEL_MAX + 9)); /* a few too long */
			uint16_t type = (uint16_t)((r >> 8) % 50); /* 0 now and then */
			unsigned char seed = (unsigned char)(r >> 16);
			errno = 0;
			unsigned char *p = shm_ring_try_reserve(&f.prod, len, type);
			if (len > MODEL_MAX || type == SHM_FRAME_PAD) {
				assert_null(p);
				assert_int_equal(errno, len > MODEL_MAX ? EMSGSIZE : EINVAL);
				continue;
			}
			uint64_t total = model_total(len);
			uint64_t to_end = MODEL_RING - next % MODEL_RING;
			uint64_t need = total <= to_end ? total : to_end + total;
			if (next + need - tail > MODEL_RING) {
				assert_null(p);
				assert_int_equal(errno, EAGAIN);
				fulls++;
				continue;
			}
			if (need != total) {
				const struct shm_frame_header *pad =
					(const void *)(f.ring->data + next % MODEL_RING);
				assert_int_equal(pad->type, SHM_FRAME_PAD);
				assert_int_equal(pad->len, to_end - 8);
				next += to_end;
				pads++;
			} else if (total == to_end) {
				exact_end++;
			}
			assert_ptr_equal(p, f.ring->data + next % MODEL_RING + 8);
			fill_pattern(p, len, seed);
			assert_true(nq < 64);
			q[nq++] = (struct model_frame){ next, len, type, seed };
			next += total;
			have_last = 1;
			reserved++;
		} else if (op < 8) {                    /* shrink the last frame */
			uint32_t want = (uint32_t)(r % (MODEL_MAX + 2));
			int rc = shm_ring_shrink_last(&f.prod, want);
			if (!have_last || want > q[nq - 1].len) {
				assert_int_equal(rc, -EINVAL);
				continue;
			}
			assert_int_equal(rc, 0);
			q[nq - 1].len = want;
			next = q[nq - 1].pos + model_total(want);
		} else if (op < 10) {                   /* commit */
			shm_ring_commit(&f.prod);
			have_last = 0;
			head = next;
			published = nq;
			assert_int_equal(load_head(&f), head);
		} else if (op < 13) {                   /* peek, maybe consume */
			uint32_t len = 0;
			uint16_t type = 0;
			errno = 0;
			const unsigned char *p = shm_ring_peek(&f.cons, &len, &type);
			if (consumed == published) {
				assert_null(p);
				assert_int_equal(errno, EAGAIN);
				assert_false(shm_ring_readable(&f.cons));
				continue;
			}
			const struct model_frame *m = &q[consumed];
			assert_ptr_equal(p, f.ring->data + m->pos % MODEL_RING + 8);
			assert_int_equal(len, m->len);
			assert_int_equal(type, m->type);
			assert_true(check_pattern(p, len, m->seed));
			assert_true(shm_ring_readable(&f.cons));
			cons = m->pos;     /* a PAD before it was skipped */
			peeked = 1;
			if (r & 1) {
				shm_ring_consume(&f.cons);
				cons = m->pos + model_total(m->len);
				consumed++;
				peeked = 0;
			}
		} else if (op < 14) {                   /* consume without a fresh peek */
			shm_ring_consume(&f.cons);
			if (peeked) {
				cons = q[consumed].pos + model_total(q[consumed].len);
				consumed++;
				peeked = 0;
			}
		} else {                                /* release */
			shm_ring_release(&f.cons);
			tail = cons;
			assert_int_equal(atomic_load(&f.ring->tail), tail);
			assert_int_equal(shm_ring_used(f.ring), head - tail);
			/* Forget the frames that can no longer be peeked. */
			if (consumed > 0) {
				memmove(q, q + consumed, (nq - consumed) * sizeof(q[0]));
				nq -= consumed;
				published -= consumed;
				consumed = 0;
			}
		}
	}
	/* Every kind of case came up many times. */
	assert_true(reserved > 10000 && pads > 1000 && fulls > 1000 && exact_end > 100);
	fix_close(&f);
}

/* ---- stress: seeded frames, regenerated and compared by the consumer ---- */

#define STRESS_SEED 0x5eed1234abcdULL

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
	uint32_t fixed_len;     /* 0: gen_len(); else every frame has this length */
	int one_by_one;         /* commit every frame, release every frame */
	int forever;            /* waits without timeout: a lost wake-up hangs */
	int prod_pause_every;   /* 0: never pause */
	int cons_pause_every;
	volatile int stop;      /* producer gives up (thread variant only) */
	_Atomic int hung;       /* watchdog fired: both sides give up */
	_Atomic int done;       /* sides finished (forever thread variant) */
	int prod_rc;
	int cons_rc;
	char err[256];          /* consumer's first problem */
	char prod_err[256];     /* producer's */
};

static uint32_t frame_len(const struct stress *st, uint64_t seq)
{
	return st->fixed_len ? st->fixed_len : gen_len(seq);
}

static void pause_us(long us)
{
	struct timespec ts = { 0, us * 1000 };
	nanosleep(&ts, NULL);
}

/* shm_ring_reserve() without its spin and without its 100 ms re-check: the
 * producer goes to sleep on its doorbell as soon as the ring is full and
 * only a release wakes it, so a lost wake-up hangs the test (the watchdog
 * reports it) instead of costing 100 ms. */
static void *reserve_forever(struct stress *st, struct shm_ring_handle *h, uint32_t len,
			     uint16_t type)
{
	for (;;) {
		void *p = shm_ring_try_reserve(h, len, type);
		if (p != NULL || errno != EAGAIN)
			return p;
		shm_ring_commit(h);
		uint32_t seq = shm_doorbell_prepare(h->prod_bell);
		p = shm_ring_try_reserve(h, len, type);
		if (p != NULL) {
			shm_doorbell_cancel(h->prod_bell);
			return p;
		}
		if (errno != EAGAIN)
			return NULL;
		shm_doorbell_wait(h->prod_bell, seq, -1);
		if (atomic_load(&st->hung)) {
			errno = ECANCELED;
			return NULL;
		}
	}
}

/* Returns 0 or a small error code (the fork variant's exit status). */
static int produce(struct stress *st, struct shm_ring_handle *h)
{
	uint64_t rs = STRESS_SEED ^ 0xfeed;
	uint64_t seq = 0;
	while (seq < st->frames) {
		uint64_t batch = st->one_by_one ? 1 : 1 + splitmix(&rs) % 64;
		for (uint64_t b = 0; b < batch && seq < st->frames; b++, seq++) {
			uint32_t len = frame_len(st, seq);
			uint64_t r = splitmix(&rs);
			/* One frame in 8 over-reserves and shrinks. */
			uint32_t want = len;
			if ((r & 7) == 0) {
				want = len + (uint32_t)((r >> 8) % 300);
				if (want > shm_ring_max_frame(h))
					want = shm_ring_max_frame(h);
			}
			unsigned char *p = st->forever ? reserve_forever(st, h, want, gen_type(seq))
						       : shm_ring_reserve(h, want, gen_type(seq), &st->stop);
			if (p == NULL) {
				int e = errno;
				snprintf(st->prod_err, sizeof(st->prod_err),
					 "producer: reserve of %u bytes for frame %llu: %s", want,
					 (unsigned long long)seq, strerror(e));
				return e == ECANCELED ? 3 : 2;
			}
			gen_frame(p, len, seq);
			if (want != len && shm_ring_shrink_last(h, len) != 0) {
				snprintf(st->prod_err, sizeof(st->prod_err),
					 "producer: shrink of frame %llu failed", (unsigned long long)seq);
				return 4;
			}
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
			if (mono_ns() > deadline || atomic_load(&st->hung)) {
				snprintf(st->err, sizeof(st->err), "deadline: stuck at frame %llu of %llu",
					 (unsigned long long)seq, (unsigned long long)st->frames);
				return -1;
			}
			shm_rings_wait(&h, 1, bell, st->forever ? -1 : 100 * 1000000LL);
			continue;
		}
		uint64_t got_seq = 0;
		if (len >= 8)
			memcpy(&got_seq, p, 8);
		uint32_t wlen = frame_len(st, seq);
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
			release_every = st->one_by_one ? 1 : 1 + splitmix(&rs) % 32;
		}
		if (st->cons_pause_every && seq % (uint64_t)st->cons_pause_every == 0) {
			/* The first pause lasts until the producer has found the
			 * ring full (bounded): a fixed pause alone did not always
			 * let a slow producer (TSan) fill it, and the test must see
			 * that slow path every time. */
			for (int i = 0; seq == (uint64_t)st->cons_pause_every && !st->forever &&
			     shm_ring_full_waits(st->f.ring) == 0 && i < 20000; i++)
				pause_us(100);
			pause_us(300);
		}
	}
	shm_ring_release(h);
	return 0;
}

struct stress_opts {
	uint64_t frames;
	size_t ring;            /* 0: STRESS_RING */
	uint32_t fixed_len;
	int one_by_one;
	int forever;
	int prod_pause;
	int cons_pause;
};

static void stress_open(struct stress *st, const struct stress_opts *o)
{
	memset(st, 0, sizeof(*st));
	fix_open(&st->f, o->ring ? o->ring : STRESS_RING);
	st->frames = o->frames;
	st->fixed_len = o->fixed_len;
	st->one_by_one = o->one_by_one;
	st->forever = o->forever;
	st->prod_pause_every = o->prod_pause;
	st->cons_pause_every = o->cons_pause;
}

/* After the producer is done the ring must be empty: no extra frame. */
static void assert_drained(struct stress *st)
{
	uint32_t len;
	uint16_t type;
	assert_null(shm_ring_peek(&st->f.cons, &len, &type));
	assert_int_equal(shm_ring_used(st->f.ring), 0);
}

static void assert_both_slept(struct stress *st)
{
	/* Both slow paths ran: the producer found the ring full and a
	 * sleeper on each doorbell was woken by the other side. */
	assert_true(shm_ring_full_waits(st->f.ring) > 0 || st->forever); /* reserve_forever does not count */
	assert_true(shm_doorbell_wakes(shm_at(st->f.seg, st->f.prod_bell_off)) > 0);
	assert_true(shm_doorbell_wakes(shm_at(st->f.seg, st->f.cons_bell_off)) > 0);
}

static void run_fork_stress(const struct stress_opts *o)
{
	struct stress st;
	stress_open(&st, o);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int prc = produce(&st, &st.f.prod);
		if (prc != 0)
			fprintf(stderr, "%s\n", st.prod_err);
		_exit(prc);
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
	if (o->prod_pause && o->cons_pause)
		assert_both_slept(&st);
	fix_close(&st.f);
}

/* Both sides in children that wait without timeouts; the parent is the
 * watchdog: a lost wake-up leaves a side asleep forever, and the deadline
 * turns that into a failure instead of a hang. */
static void run_fork_stress_forever(const struct stress_opts *o)
{
	struct stress st;
	stress_open(&st, o);
	pid_t pids[2];
	for (int side = 0; side < 2; side++) {
		pids[side] = fork();
		assert_true(pids[side] >= 0);
		if (pids[side] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (side == 0) {
				int prc = produce(&st, &st.f.prod);
				if (prc != 0)
					fprintf(stderr, "%s\n", st.prod_err);
				_exit(prc);
			}
			if (consume(&st, &st.f.cons, shm_at(st.f.seg, st.f.cons_bell_off)) != 0) {
				fprintf(stderr, "consumer: %s\n", st.err);
				_exit(1);
			}
			_exit(0);
		}
	}
	int64_t deadline = mono_ns() + STRESS_DEADLINE_S * 1000000000LL;
	int status[2] = { -1, -1 }, left = 2;
	int failed = -1;        /* a side that exited with an error */
	while (left > 0 && failed < 0 && mono_ns() < deadline) {
		for (int side = 0; side < 2; side++) {
			int stt = 0;
			if (status[side] != -1 || waitpid(pids[side], &stt, WNOHANG) != pids[side])
				continue;
			status[side] = stt;
			left--;
			if (!WIFEXITED(stt) || WEXITSTATUS(stt) != 0)
				failed = side;
		}
		if (left > 0 && failed < 0)
			pause_us(2000);
	}
	for (int side = 0; side < 2; side++) {
		if (status[side] == -1) {
			kill(pids[side], SIGKILL);
			waitpid(pids[side], NULL, 0);
		}
	}
	if (failed >= 0)
		fail_msg("%s failed, status 0x%x (its message is above)",
			 failed == 0 ? "producer" : "consumer", (unsigned)status[failed]);
	if (left > 0)
		fail_msg("lost wake-up? %s still asleep after %d s (%llu frames, doorbell wakes %u / %u)",
			 left == 2 ? "both sides" : status[0] == -1 ? "producer" : "consumer",
			 STRESS_DEADLINE_S, (unsigned long long)st.frames,
			 shm_doorbell_wakes(shm_at(st.f.seg, st.f.prod_bell_off)),
			 shm_doorbell_wakes(shm_at(st.f.seg, st.f.cons_bell_off)));
	/* The consumer ran in a child: attach afresh at the shared tail. */
	char err[128];
	assert_int_equal(shm_ring_handle_init(&st.f.cons, st.f.seg, st.f.ring_off, err, sizeof(err)), 0);
	assert_drained(&st);
	/* Which side sleeps how often depends on their speeds (sanitizers
	 * slow one side more than the other), so it is not asserted; in a
	 * release build both doorbells wake thousands of times here. */
	fix_close(&st.f);
}

static void test_stress_fork(void **state)
{
	(void)state;
	run_fork_stress(&(struct stress_opts){ .frames = STRESS_FRAMES });
}

static void test_stress_fork_slow_sides(void **state)
{
	(void)state;
	/* Pauses of 300 us on each side, at different rhythms, so the ring
	 * runs both full (producer sleeps) and empty (consumer sleeps). */
	run_fork_stress(&(struct stress_opts){ .frames = SLOW_FRAMES, .prod_pause = 5003,
					       .cons_pause = 3001 });
}

static void test_stress_fork_fixed_frames(void **state)
{
	(void)state;
	/* bench_ring's shape: 64-byte records, a 72-byte stride, so the frame
	 * before each wrap needs a PAD of a different size every lap. */
	run_fork_stress(&(struct stress_opts){ .frames = STRESS_FRAMES, .fixed_len = 64 });
	/* 64-byte frames: every lap ends with a frame that fits exactly, never
	 * a PAD, always on the inline fast path. */
	run_fork_stress(&(struct stress_opts){ .frames = STRESS_FRAMES, .fixed_len = 56 });
}

static void test_stress_fork_one_by_one_no_timeouts(void **state)
{
	(void)state;
	/* Commit and release per frame, sleep without timeouts, in a 4 KiB
	 * ring: the producer sleeps whenever the ring is full, the consumer
	 * whenever it is empty, and each publishes while the other is arming,
	 * over and over. Then variable frames in the usual 64 KiB ring with
	 * pauses, so that each side also sleeps long. */
	run_fork_stress_forever(&(struct stress_opts){ .frames = SLOW_FRAMES * 3, .ring = 4096,
						       .fixed_len = 64, .one_by_one = 1, .forever = 1 });
	run_fork_stress_forever(&(struct stress_opts){ .frames = SLOW_FRAMES, .one_by_one = 1,
						       .forever = 1, .prod_pause = 503, .cons_pause = 301 });
}

static void *producer_thread(void *arg)
{
	struct stress *st = arg;
	st->prod_rc = produce(st, &st->f.prod);
	atomic_fetch_add(&st->done, 1);
	return NULL;
}

static void *consumer_thread(void *arg)
{
	struct stress *st = arg;
	st->cons_rc = consume(st, &st->f.cons, shm_at(st->f.seg, st->f.cons_bell_off));
	atomic_fetch_add(&st->done, 1);
	return NULL;
}

static void run_thread_stress(const struct stress_opts *o)
{
	struct stress st;
	stress_open(&st, o);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, producer_thread, &st), 0);
	int rc = consume(&st, &st.f.cons, shm_at(st.f.seg, st.f.cons_bell_off));
	if (rc != 0)
		st.stop = 1;
	pthread_join(t, NULL);
	if (rc != 0)
		fail_msg("%s", st.err);
	if (st.prod_rc != 0)
		fail_msg("%s", st.prod_err);
	assert_drained(&st);
	fix_close(&st.f);
}

/* Both sides in threads that wait without timeouts; this thread is the
 * watchdog (ThreadSanitizer sees the memory orders only within a process). */
static void run_thread_stress_forever(const struct stress_opts *o)
{
	struct stress st;
	stress_open(&st, o);
	pthread_t tp, tc;
	assert_int_equal(pthread_create(&tp, NULL, producer_thread, &st), 0);
	assert_int_equal(pthread_create(&tc, NULL, consumer_thread, &st), 0);
	int64_t deadline = mono_ns() + STRESS_DEADLINE_S * 1000000000LL;
	while (atomic_load(&st.done) < 2 && mono_ns() < deadline)
		pause_us(2000);
	int hung = atomic_load(&st.done) < 2;
	if (hung) {
		/* Get the sleepers out so they can be joined. */
		atomic_store(&st.hung, 1);
		while (atomic_load(&st.done) < 2) {
			shm_doorbell_ring(shm_at(st.f.seg, st.f.prod_bell_off));
			shm_doorbell_ring(shm_at(st.f.seg, st.f.cons_bell_off));
			pause_us(1000);
		}
	}
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	if (st.prod_rc != 0 && st.prod_rc != 3)
		fail_msg("%s", st.prod_err);
	if (hung)
		fail_msg("lost wake-up? a side was still asleep after %d s (doorbell wakes %u / %u)",
			 STRESS_DEADLINE_S, shm_doorbell_wakes(shm_at(st.f.seg, st.f.prod_bell_off)),
			 shm_doorbell_wakes(shm_at(st.f.seg, st.f.cons_bell_off)));
	if (st.cons_rc != 0)
		fail_msg("%s", st.err);
	if (st.prod_rc != 0)
		fail_msg("%s", st.prod_err);
	assert_drained(&st);
	/* Which side sleeps how often depends on their speeds (sanitizers
	 * slow one side more than the other), so it is not asserted; in a
	 * release build both doorbells wake thousands of times here. */
	fix_close(&st.f);
}

static void test_stress_threads(void **state)
{
	(void)state;
	run_thread_stress(&(struct stress_opts){ .frames = STRESS_FRAMES });
}

static void test_stress_threads_slow_sides(void **state)
{
	(void)state;
	run_thread_stress(&(struct stress_opts){ .frames = SLOW_FRAMES, .prod_pause = 5003,
						 .cons_pause = 3001 });
}

static void test_stress_threads_one_by_one_no_timeouts(void **state)
{
	(void)state;
	run_thread_stress_forever(&(struct stress_opts){ .frames = SLOW_FRAMES * 3, .ring = 4096,
							 .fixed_len = 64, .one_by_one = 1, .forever = 1 });
	run_thread_stress_forever(&(struct stress_opts){ .frames = SLOW_FRAMES, .one_by_one = 1,
							 .forever = 1, .prod_pause = 503, .cons_pause = 301 });
}

/* ---- lost wake-ups: each side sleeps as soon as it must ----
 *
 * A lost wake-up in the stress tests above mostly heals itself: the next
 * commit or release sees the flag and wakes the sleeper. Here the ring holds
 * exactly 4 frames (256 bytes, 56-byte payloads), every frame is committed
 * and released alone, and each side arms its doorbell right away (after a
 * random delay of a few dozen loop turns, not after shm_rings_wait's spin)
 * whenever it must wait: the producer when the ring is full, the consumer
 * when it is empty. Each arming then races with the other side's publish,
 * and losing one wake-up leaves both sides asleep for good: the producer
 * waits for space the consumer already freed, or the consumer for a frame
 * the producer already committed. The watchdog turns that into a failure. */

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define LOCKSTEP_FRAMES 20000u
#else
#define LOCKSTEP_FRAMES 100000u
#endif
#define LOCKSTEP_LEN 56u

struct lockstep {
	struct fix f;
	uint64_t frames;
	_Atomic int hung;       /* watchdog fired (thread variant) */
	_Atomic int done;
	int rc[2];              /* producer, consumer */
	char err[2][160];
};

static void short_delay(uint64_t *rs, unsigned max)
{
	unsigned n = (unsigned)(splitmix(rs) % max);
	for (volatile unsigned i = 0; i < n; i++)
		;
}

static int lockstep_produce(struct lockstep *ls)
{
	struct shm_ring_handle *h = &ls->f.prod;
	uint64_t rs = STRESS_SEED ^ 0x1057;
	for (uint64_t i = 0; i < ls->frames; i++) {
		uint64_t *p;
		while ((p = shm_ring_try_reserve(h, LOCKSTEP_LEN, 1)) == NULL) {
			if (errno != EAGAIN || atomic_load(&ls->hung)) {
				snprintf(ls->err[0], sizeof(ls->err[0]), "producer: frame %llu: %s",
					 (unsigned long long)i, strerror(errno));
				return 2;
			}
			short_delay(&rs, 48);
			uint32_t seq = shm_doorbell_prepare(h->prod_bell);
			if ((p = shm_ring_try_reserve(h, LOCKSTEP_LEN, 1)) != NULL) {
				shm_doorbell_cancel(h->prod_bell);
				break;
			}
			shm_doorbell_wait(h->prod_bell, seq, -1);
		}
		for (unsigned k = 0; k < LOCKSTEP_LEN / 8; k++)
			p[k] = i * 7 + k;
		shm_ring_commit(h);
	}
	return 0;
}

static int lockstep_consume(struct lockstep *ls)
{
	struct shm_ring_handle *h = &ls->f.cons;
	struct shm_doorbell *bell = shm_at(ls->f.seg, ls->f.cons_bell_off);
	uint64_t rs = STRESS_SEED ^ 0x7e57;
	for (uint64_t i = 0; i < ls->frames; i++) {
		const uint64_t *p;
		uint32_t len;
		uint16_t type;
		while ((p = shm_ring_peek(h, &len, &type)) == NULL) {
			if (errno != EAGAIN || atomic_load(&ls->hung)) {
				snprintf(ls->err[1], sizeof(ls->err[1]), "consumer: frame %llu: %s",
					 (unsigned long long)i, strerror(errno));
				return 2;
			}
			short_delay(&rs, 48);
			uint32_t seq = shm_doorbell_prepare(bell);
			if (shm_ring_readable(h)) {
				shm_doorbell_cancel(bell);
				continue;
			}
			shm_doorbell_wait(bell, seq, -1);
		}
		for (unsigned k = 0; k < LOCKSTEP_LEN / 8; k++) {
			if (len != LOCKSTEP_LEN || p[k] != i * 7 + k) {
				snprintf(ls->err[1], sizeof(ls->err[1]),
					 "consumer: frame %llu: len %u, word %u is %llu", (unsigned long long)i,
					 len, k, (unsigned long long)p[k]);
				return 1;
			}
		}
		shm_ring_consume(h);
		shm_ring_release(h);
	}
	return 0;
}

static void lockstep_open(struct lockstep *ls)
{
	memset(ls, 0, sizeof(*ls));
	fix_open(&ls->f, 256);
	assert_int_equal(shm_ring_max_frame(&ls->f.prod), LOCKSTEP_LEN);
	ls->frames = LOCKSTEP_FRAMES;
}

/* Both sides slept, and the counts are those of real sleeps (few wake-ups
 * are spurious); then the ring is empty. */
static void lockstep_check(struct lockstep *ls)
{
	char err[128];
	assert_int_equal(shm_ring_handle_init(&ls->f.cons, ls->f.seg, ls->f.ring_off, err, sizeof(err)), 0);
	uint32_t len;
	uint16_t type;
	assert_null(shm_ring_peek(&ls->f.cons, &len, &type));
	assert_int_equal(shm_ring_used(ls->f.ring), 0);
	assert_true(shm_doorbell_wakes(shm_at(ls->f.seg, ls->f.prod_bell_off)) > 0);
	assert_true(shm_doorbell_wakes(shm_at(ls->f.seg, ls->f.cons_bell_off)) > 0);
}

static void test_lockstep_fork(void **state)
{
	(void)state;
	struct lockstep ls;
	lockstep_open(&ls);
	pid_t pids[2];
	for (int side = 0; side < 2; side++) {
		pids[side] = fork();
		assert_true(pids[side] >= 0);
		if (pids[side] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			int rc = side == 0 ? lockstep_produce(&ls) : lockstep_consume(&ls);
			if (rc != 0)
				fprintf(stderr, "%s\n", ls.err[side]);
			_exit(rc);
		}
	}
	int64_t deadline = mono_ns() + STRESS_DEADLINE_S * 1000000000LL;
	int status[2] = { -1, -1 }, left = 2, failed = -1;
	while (left > 0 && failed < 0 && mono_ns() < deadline) {
		for (int side = 0; side < 2; side++) {
			int stt = 0;
			if (status[side] != -1 || waitpid(pids[side], &stt, WNOHANG) != pids[side])
				continue;
			status[side] = stt;
			left--;
			if (!WIFEXITED(stt) || WEXITSTATUS(stt) != 0)
				failed = side;
		}
		if (left > 0 && failed < 0)
			pause_us(2000);
	}
	for (int side = 0; side < 2; side++) {
		if (status[side] == -1) {
			kill(pids[side], SIGKILL);
			waitpid(pids[side], NULL, 0);
		}
	}
	if (failed >= 0)
		fail_msg("%s failed, status 0x%x (its message is above)",
			 failed == 0 ? "producer" : "consumer", (unsigned)status[failed]);
	if (left > 0)
		fail_msg("lost wake-up: %s asleep after %d s, ring holds %zu bytes, doorbell wakes %u / %u",
			 left == 2 ? "both sides" : status[0] == -1 ? "producer" : "consumer",
			 STRESS_DEADLINE_S, shm_ring_used(ls.f.ring),
			 shm_doorbell_wakes(shm_at(ls.f.seg, ls.f.prod_bell_off)),
			 shm_doorbell_wakes(shm_at(ls.f.seg, ls.f.cons_bell_off)));
	lockstep_check(&ls);
	fix_close(&ls.f);
}

static void *lockstep_thread(void *arg)
{
	struct lockstep *ls = arg;
	/* The first thread to start is the producer. */
	static _Atomic int next_side;
	int side = atomic_fetch_add(&next_side, 1) & 1;
	ls->rc[side] = side == 0 ? lockstep_produce(ls) : lockstep_consume(ls);
	atomic_fetch_add(&ls->done, 1);
	return NULL;
}

static void test_lockstep_threads(void **state)
{
	(void)state;
	struct lockstep ls;
	lockstep_open(&ls);
	pthread_t t[2];
	for (int side = 0; side < 2; side++)
		assert_int_equal(pthread_create(&t[side], NULL, lockstep_thread, &ls), 0);
	int64_t deadline = mono_ns() + STRESS_DEADLINE_S * 1000000000LL;
	while (atomic_load(&ls.done) < 2 && mono_ns() < deadline)
		pause_us(2000);
	int hung = atomic_load(&ls.done) < 2;
	size_t used = shm_ring_used(ls.f.ring);
	if (hung) {
		/* Get the sleepers out so they can be joined. */
		atomic_store(&ls.hung, 1);
		while (atomic_load(&ls.done) < 2) {
			shm_doorbell_ring(shm_at(ls.f.seg, ls.f.prod_bell_off));
			shm_doorbell_ring(shm_at(ls.f.seg, ls.f.cons_bell_off));
			pause_us(1000);
		}
	}
	for (int side = 0; side < 2; side++)
		pthread_join(t[side], NULL);
	if (hung)
		fail_msg("lost wake-up: a side asleep after %d s, ring holds %zu bytes", STRESS_DEADLINE_S,
			 used);
	for (int side = 0; side < 2; side++)
		if (ls.rc[side] != 0)
			fail_msg("%s", ls.err[side]);
	lockstep_check(&ls);
	fix_close(&ls.f);
}

/* ---- the Dekker pair itself, step by step ----
 *
 * The lock-step test needs a lost wake-up to happen at the one publish the
 * sleeper depends on, which a few-nanosecond reordering window rarely hits.
 * This one checks the property directly, the way a store-buffering litmus
 * test does: in each round a notifier publishes (commit, or release) while a
 * waiter arms and re-checks (shm_doorbell_prepare, then readable / reserve),
 * both let go at the same moment by a spin barrier, each after its own random
 * delay of a few loop turns. After the round either the waiter's re-check
 * saw the publication or the notifier saw `armed` and bumped seq; a round
 * where neither happened is the lost wake-up, counted with no sleeping and
 * no timing. Publishing with a release store and no barrier (mov, then load
 * of armed) fails this within a few thousand rounds on x86-64. */

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define LITMUS_ROUNDS 100000u
#else
#define LITMUS_ROUNDS 500000u
#endif

/* In the segment, so that the two sides may be processes. */
struct litmus_shared {
	_Alignas(64) _Atomic uint64_t at[2];   /* barrier: last step each side reached */
	_Alignas(64) _Atomic uint64_t lost;
	_Atomic uint64_t seen_by_waiter, seen_by_notifier;
};

struct litmus {
	struct fix f;
	struct litmus_shared *sh;
	int prod_side;          /* 1: the producer waits for space (release notifies) */
};

static void litmus_barrier(struct litmus_shared *sh, int side, uint64_t step)
{
	atomic_store(&sh->at[side], step);
	for (unsigned spins = 0; atomic_load(&sh->at[!side]) < step; spins++)
		if ((spins & 1023) == 1023)
			sched_yield();   /* the other side may share our core */
}

/* Side 0 notifies, side 1 waits. */
static int litmus_side(struct litmus *lt, int side)
{
	struct litmus_shared *sh = lt->sh;
	struct shm_ring_handle *prod = &lt->f.prod, *cons = &lt->f.cons;
	struct shm_doorbell *bell = shm_at(lt->f.seg, lt->prod_side ? lt->f.prod_bell_off
								     : lt->f.cons_bell_off);
	uint64_t rs = STRESS_SEED ^ (0x11u + (unsigned)side);
	uint32_t len;
	uint16_t type;

	for (uint64_t round = 0; round < LITMUS_ROUNDS; round++) {
		/* The notifier gets its frame ready before the barrier, so that
		 * only the publication itself runs inside the race. */
		if (side == 0 && !lt->prod_side && shm_ring_try_reserve(prod, 8, 1) == NULL)
			return 1;
		if (side == 0 && lt->prod_side) {
			if (shm_ring_peek(cons, &len, &type) == NULL)
				return 1;
			shm_ring_consume(cons);
		}
		litmus_barrier(sh, side, 2 * round + 1);
		/* The waiter has more to do before its critical load, so its
		 * delays spread wider; two spreads in turn, because which one
		 * finds the reordering window best varies from run to run. */
		if (round & 1)
			short_delay(&rs, side == 0 ? 16 : 64);
		else
			short_delay(&rs, side == 0 ? 1 : 200);
		if (side == 0 && !lt->prod_side)
			shm_ring_commit(prod);          /* publish one frame */
		else if (side == 0)
			shm_ring_release(cons);         /* free one frame of the full ring */
		uint32_t seq = 0;
		int saw = 0;
		void *p = NULL;
		if (side == 1) {
			seq = shm_doorbell_prepare(bell);
			if (!lt->prod_side)
				saw = shm_ring_readable(cons);
			else
				saw = (p = shm_ring_try_reserve(prod, LOCKSTEP_LEN, 1)) != NULL;
		}
		litmus_barrier(sh, side, 2 * round + 2);
		if (side == 0)
			continue;
		/* Both halves of the round are done: the notifier's wake, if
		 * any, has bumped seq already. */
		int woke = shm_doorbell_wakes(bell) != seq;
		if (!saw && !woke)
			atomic_fetch_add(&sh->lost, 1);
		atomic_fetch_add(saw ? &sh->seen_by_waiter : &sh->seen_by_notifier, saw ? 1 : woke);
		/* Back to the start state for the next round: not armed, and
		 * the ring empty (commit test) or full (release test). */
		if (!lt->prod_side) {
			if (shm_ring_peek(cons, &len, &type) == NULL)
				return 2;
			shm_ring_consume(cons);
			shm_ring_release(cons);
		} else {
			if (p == NULL && (p = shm_ring_try_reserve(prod, LOCKSTEP_LEN, 1)) == NULL)
				return 2;
			shm_ring_commit(prod);
		}
		atomic_store(&bell->armed, 0);
	}
	return 0;
}

static void *litmus_thread(void *arg)
{
	struct litmus *lt = arg;
	return (void *)(intptr_t)litmus_side(lt, 0);
}

static void run_litmus(int prod_side, int use_fork)
{
	struct litmus lt;
	memset(&lt, 0, sizeof(lt));
	fix_open(&lt.f, 256);
	uint64_t off = shm_segment_alloc(lt.f.seg, sizeof(struct litmus_shared), 64);
	assert_true(off != 0);
	lt.sh = shm_at(lt.f.seg, off);
	lt.prod_side = prod_side;
	if (prod_side) {
		/* Start full: 4 frames of 64 bytes. */
		for (int i = 0; i < 4; i++)
			assert_non_null(shm_ring_try_reserve(&lt.f.prod, LOCKSTEP_LEN, 1));
		shm_ring_commit(&lt.f.prod);
	}
	int rc_notifier, rc_waiter;
	if (use_fork) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			_exit(litmus_side(&lt, 0));
		}
		rc_waiter = litmus_side(&lt, 1);
		if (rc_waiter != 0)
			kill(pid, SIGKILL);
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		rc_notifier = WIFEXITED(status) ? WEXITSTATUS(status) : 100;
	} else {
		pthread_t t;
		void *ret;
		assert_int_equal(pthread_create(&t, NULL, litmus_thread, &lt), 0);
		rc_waiter = litmus_side(&lt, 1);
		pthread_join(t, &ret);
		rc_notifier = (int)(intptr_t)ret;
	}
	assert_int_equal(rc_notifier, 0);
	assert_int_equal(rc_waiter, 0);
	uint64_t lost = atomic_load(&lt.sh->lost);
	if (lost != 0)
		fail_msg("%llu lost wake-ups in %u rounds (%s notifies)", (unsigned long long)lost,
			 LITMUS_ROUNDS, prod_side ? "release" : "commit");
	/* Every round was decided one way or the other. */
	assert_int_equal(atomic_load(&lt.sh->seen_by_waiter) + atomic_load(&lt.sh->seen_by_notifier),
			 LITMUS_ROUNDS);
	fix_close(&lt.f);
}

static void test_litmus_threads(void **state)
{
	(void)state;
	run_litmus(0, 0);
	run_litmus(1, 0);
}

static void test_litmus_fork(void **state)
{
	(void)state;
	run_litmus(0, 1);
	run_litmus(1, 1);
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
		cmocka_unit_test(test_commit_release_wake_only_sleepers),
		cmocka_unit_test(test_model_random_ops),
		cmocka_unit_test(test_stress_fork),
		cmocka_unit_test(test_stress_fork_slow_sides),
		cmocka_unit_test(test_stress_fork_fixed_frames),
		cmocka_unit_test(test_stress_fork_one_by_one_no_timeouts),
		cmocka_unit_test(test_stress_threads),
		cmocka_unit_test(test_stress_threads_slow_sides),
		cmocka_unit_test(test_stress_threads_one_by_one_no_timeouts),
		cmocka_unit_test(test_lockstep_fork),
		cmocka_unit_test(test_lockstep_threads),
		cmocka_unit_test(test_litmus_fork),
		cmocka_unit_test(test_litmus_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
