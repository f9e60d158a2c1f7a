/*
 * test_sketches.c — count_distinct (exact inline and set, then
 * HyperLogLog) and the percentile state and sketch against exact answers:
 * error bounds over several cardinalities and distributions (fixed seeds),
 * merges of every mode into every mode and across shards, memory, bucket
 * collapsing, serialisation round trips and corrupt input; the sketch also against a model of
 * its documented buckets (every answer exactly), in its sparse and dense
 * forms and every merge of them; the inline percentile state exact, its
 * promotion, merges in every combination of modes, and its memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate/arena.h"
#include "aggregate/ddsketch.h"
#include "aggregate/funcs.h"
#include "aggregate/hll.h"
#include "tests/lib/splitmix.h"

static double rnd01(void) { return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0; }
static double rnd_normal(void) { return sqrt(-2 * log(rnd01())) * cos(2 * M_PI * rnd01()); }

static struct agg_arena arena;
static struct agg_alloc al = { agg_arena_alloc_cb, &arena };

/* An allocator that counts what it hands out (from the same arena). */
static size_t counted;
static void *count_alloc(void *ctx, size_t n)
{
	counted += (n + 7) & ~(size_t)7;
	return agg_arena_alloc_cb(ctx, n);
}
static struct agg_alloc cal = { count_alloc, &arena };

static int setup(void **state) { (void)state; agg_arena_init(&arena); return 0; }
static int teardown(void **state) { (void)state; agg_arena_free(&arena); return 0; }

static int64_t cd_result(const void *st)
{
	struct rf_value r;
	agg_state_result(AGG_FN_COUNT_DISTINCT, st, 0, &r);
	assert_int_equal(r.type, RF_V_INT);
	return r.u.i;
}

#define CD AGG_FN_COUNT_DISTINCT

static void *cd_fail_alloc(void *ctx, size_t n)
{
	(void)ctx, (void)n;
	return NULL;
}
static const struct agg_alloc nomem = { cd_fail_alloc, NULL };

/* Value i (distinct for distinct i) of one of four kinds: IPv4 addresses
 * (::ffff:a.b.c.d, as the parser stores them), strings, ints, floats. */
static struct rf_value cd_value(int kind, uint64_t base, uint64_t i, char *buf)
{
	struct rf_value v = { .type = RF_V_INT };
	switch (kind) {
	case 0: {
		uint32_t a = (uint32_t)base + (uint32_t)i * 2654435761u;   /* odd: a bijection */
		v.type = RF_V_IP;
		v.ip_is_v4 = 1;
		v.u.ip[10] = v.u.ip[11] = 0xff;
		memcpy(v.u.ip + 12, &a, 4);
		break;
	}
	case 1:
		v.type = RF_V_STR;
		v.len = (uint32_t)snprintf(buf, 32, "%llx", (unsigned long long)(base + i));
		v.u.s = buf;
		break;
	case 2:
		v.u.i = (int64_t)(base + i);
		break;
	default:
		v.type = RF_V_FLOAT;
		v.u.f = (double)i * 0.5 - 1000.0;
		break;
	}
	return v;
}

static size_t cd_bytes(const void *st, uint8_t *buf, size_t cap)
{
	size_t n = agg_state_serialize(CD, st, buf, cap);
	assert_true(n > 3);
	assert_int_equal(buf[0], AGG_STATE_VERSION);
	return n;
}

/* The mode byte a state is serialised with. */
static int cd_mode(const void *st)
{
	static uint8_t buf[AGG_HLL_BYTES + 64];
	cd_bytes(st, buf, sizeof buf);
	return buf[2];
}

static void cd_feed(struct agg_cd *s, const uint64_t *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(agg_cd_add(s, h[i], &al), 0);
}

/* Exact from 1 to AGG_CD_SET_MAX distinct values of every kind, repeats
 * included, in the documented mode at each size; within 2% at the switch. */
static void test_count_distinct_exact(void **state)
{
	(void)state;
	_Alignas(8) uint8_t st[64];
	char name[32];
	for (int kind = 0; kind < 4; kind++)
		for (int run = 0; run < 3; run++) {
			rng_state = 100 + (uint64_t)(10 * kind + run);
			uint64_t base = rnd();
			agg_state_init(CD, st);
			assert_int_equal(cd_result(st), 0);
			for (int64_t i = 0; i <= AGG_CD_SET_MAX; i++) {
				struct rf_value v = cd_value(kind, base, (uint64_t)i, name);
				assert_int_equal(agg_state_update(CD, st, &v, 0, &al), 0);
				v = cd_value(kind, base, (uint64_t)(i / 2 + (int64_t)(rnd() % (uint64_t)(i / 2 + 1))), name);
				assert_int_equal(agg_state_update(CD, st, &v, 0, &al), 0);   /* seen before */
				int64_t n = i + 1, got = cd_result(st);
				if (n <= AGG_CD_SET_MAX && got != n)
					fail_msg("kind %d: %lld distinct values counted as %lld", kind, (long long)n,
						 (long long)got);
				if (n == 1 || n == AGG_CD_EXACT || n == AGG_CD_EXACT + 1 || n % 97 == 0 ||
				    n >= AGG_CD_SET_MAX)
					assert_int_equal(cd_mode(st), n <= AGG_CD_EXACT ? AGG_CD_INLINE
								      : n <= AGG_CD_SET_MAX ? AGG_CD_SET : AGG_CD_HLL);
			}
			assert_true(llabs(cd_result(st) - (AGG_CD_SET_MAX + 1)) <= 0.02 * (AGG_CD_SET_MAX + 1));
		}
	/* A hash of 0 is 1 (0 marks an empty slot); both count once. */
	struct agg_cd c;
	memset(&c, 0, sizeof c);
	uint64_t z[] = { 0, 1, 0, 1 };
	cd_feed(&c, z, 4);
	assert_int_equal(agg_cd_count(&c), 1);
}

/* HyperLogLog past AGG_CD_SET_MAX: many sketches per cardinality up to
 * 10^6 against the true count. Up to 10 000 values the measured share of
 * estimates more than 2% off is below 0.1% (hll.h): allow 0.5%. Past that
 * the standard error approaches 1.04/sqrt(m) = 0.81% and about 1% of
 * estimates exceed 2%: check the RMS error and no outlier past 5 sigma. */
static void test_count_distinct_error(void **state)
{
	(void)state;
	static const struct { int64_t n; int trials; } cases[] = {
		{ AGG_CD_SET_MAX + 1, 4000 }, { 2000, 4000 }, { 3000, 3000 }, { 5000, 2000 },
		{ 10000, 1000 }, { 20000, 400 }, { 100000, 50 }, { 1000000, 5 },
	};
	static uint64_t h[1000];
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		int64_t n = cases[c].n;
		int over = 0;
		double worst = 0, sq = 0;
		rng_state = 5000 + c;
		for (int t = 0; t < cases[c].trials; t++) {
			struct agg_cd s;
			memset(&s, 0, sizeof s);
			for (int64_t i = 0; i < n; i += 1000) {
				size_t k = n - i < 1000 ? (size_t)(n - i) : 1000;
				for (size_t j = 0; j < k; j++)
					h[j] = rnd();
				cd_feed(&s, h, k);
				if (t == 0 && i == 0)
					cd_feed(&s, h, k);   /* repeats change nothing */
			}
			double err = fabs((double)agg_cd_count(&s) - (double)n) / (double)n;
			over += err > 0.02;
			sq += err * err;
			if (err > worst)
				worst = err;
			agg_arena_reset(&arena);
		}
		double share = (double)over / cases[c].trials, rms = sqrt(sq / cases[c].trials);
		print_message("count_distinct n=%lld: %d sketches, %.3f%% more than 2%% off, worst %.2f%%, rms %.3f%%\n",
			      (long long)n, cases[c].trials, 100 * share, 100 * worst, 100 * rms);
		if (n <= 10000 && share > 0.005)
			fail_msg("n=%lld: %.2f%% of estimates more than 2%% off", (long long)n, 100 * share);
		if (worst > 0.04 || rms > 0.0105)
			fail_msg("n=%lld: worst %.2f%%, rms %.3f%%", (long long)n, 100 * worst, 100 * rms);
	}
}

/* Counted memory at every size: the tables of 16, 64, 256, 2048 slots,
 * 8 bytes each, none freed (the arena does not free), and nothing more for
 * the registers (the last table becomes them). */
static void test_count_distinct_memory(void **state)
{
	(void)state;
	struct agg_cd s;
	memset(&s, 0, sizeof s);
	counted = 0;
	rng_state = 61;
	for (uint32_t n = 1; n <= 3000; n++) {
		assert_int_equal(agg_cd_add(&s, rnd(), &cal), 0);
		size_t want = n <= 6 ? 0 : n <= 12 ? 128 : n <= 48 ? 640 : n <= 192 ? 2688 : 19072;
		if (counted != want)
			fail_msg("%u distinct values: %zu bytes allocated, expected %zu", n, counted, want);
	}
	/* A failed allocation leaves the state as it was; it goes on later. */
	for (uint32_t grow = 0; grow < 4; grow++) {
		uint32_t at = grow == 0 ? 6 : grow == 1 ? 12 : grow == 2 ? 48 : 192;
		memset(&s, 0, sizeof s);
		rng_state = 62 + grow;
		for (uint32_t i = 0; i < at; i++)
			agg_cd_add(&s, rnd(), &al);
		uint64_t next = rnd();
		assert_int_equal(agg_cd_add(&s, next, &nomem), -1);
		assert_int_equal(agg_cd_count(&s), at);
		assert_int_equal(agg_cd_add(&s, next, &al), 0);
		assert_int_equal(agg_cd_count(&s), at + 1);
	}
	/* The switch to HyperLogLog allocates nothing, so cannot fail. */
	memset(&s, 0, sizeof s);
	for (uint32_t i = 0; i < AGG_CD_SET_MAX; i++)
		agg_cd_add(&s, rnd(), &al);
	assert_int_equal(agg_cd_add(&s, rnd(), &nomem), 0);
	assert_int_equal(cd_mode(&s), AGG_CD_HLL);
	/* A merge that needs registers, without memory: a is unchanged. */
	struct agg_cd small;
	memset(&small, 0, sizeof small);
	agg_cd_add(&small, 42, &al);
	assert_int_equal(agg_cd_merge(&small, &s, &nomem), -1);
	assert_int_equal(agg_cd_count(&small), 1);
}

/* Builds a state over the n hashes h, in the order given. */
static void cd_build(struct agg_cd *s, const uint64_t *h, size_t n)
{
	memset(s, 0, sizeof *s);
	cd_feed(s, h, n);
}

static void cd_assert_same(const struct agg_cd *a, const struct agg_cd *b, const char *what)
{
	static uint8_t b1[AGG_HLL_BYTES + 64], b2[AGG_HLL_BYTES + 64];
	size_t l1 = cd_bytes(a, b1, sizeof b1), l2 = cd_bytes(b, b2, sizeof b2);
	if (l1 != l2 || memcmp(b1, b2, l1) != 0)
		fail_msg("%s: states differ (%zu and %zu bytes, modes %u and %u)", what, l1, l2, b1[2], b2[2]);
}

/* Every mode into every mode (inline, set at each table size, sketch),
 * disjoint and overlapping, both ways round: the same state as one fed
 * the union, exact while the union is within AGG_CD_SET_MAX. */
static void test_count_distinct_merge(void **state)
{
	(void)state;
	static const uint32_t sizes[] = { 0, 3, 6, 7, 12, 40, 150, 1000, 1536, 1537, 5000 };
	enum { NS = sizeof sizes / sizeof sizes[0] };
	static uint64_t ha[5000], hb[5000], hu[10000];
	char what[96];
	for (size_t i = 0; i < NS; i++)
		for (size_t j = 0; j < NS; j++)
			for (int overlap = 0; overlap < 3; overlap++) {
				uint32_t na = sizes[i], nb = sizes[j];
				/* overlap 0: disjoint; 1: half of the smaller; 2: b within a or a within b. */
				uint32_t small = na < nb ? na : nb;
				uint32_t common = overlap == 0 ? 0 : overlap == 1 ? small / 2 : small;
				rng_state = 7000 + 100 * i + 10 * j + (uint64_t)overlap;
				for (uint32_t k = 0; k < na; k++)
					ha[k] = rnd();
				for (uint32_t k = 0; k < nb; k++)
					hb[k] = k < common ? ha[na - 1 - k] : rnd();
				uint32_t nu = 0;
				for (uint32_t k = 0; k < na; k++)
					hu[nu++] = ha[k];
				for (uint32_t k = common; k < nb; k++)
					hu[nu++] = hb[k];
				struct agg_cd a, b, u, m;
				cd_build(&a, ha, na);
				cd_build(&b, hb, nb);
				cd_build(&u, hu, nu);
				snprintf(what, sizeof what, "%u into %u, %u in common", nb, na, common);
				m = a;   /* shares a's memory: a is not used again */
				assert_int_equal(agg_cd_merge(&m, &b, &al), 0);
				cd_assert_same(&m, &u, what);
				if (nu <= AGG_CD_SET_MAX)
					assert_int_equal(agg_cd_count(&m), nu);
				/* b unchanged, then the other way round. */
				struct agg_cd b2;
				cd_build(&b2, hb, nb);
				cd_assert_same(&b, &b2, "merge source");
				struct agg_cd a2;
				cd_build(&a2, ha, na);
				assert_int_equal(agg_cd_merge(&b, &a2, &al), 0);
				cd_assert_same(&b, &u, what);
				agg_arena_reset(&arena);
			}
}

/* A stream with repeats cut into 1 to 5 shards at random, each shard
 * serialised and read back (as a checkpoint restore re-shards them), then
 * merged in a random order into an empty state or into one of them: the
 * same bytes as one state over the whole stream, at sizes around every
 * switch. Through the public functions, with IPv4 values. */
static void test_count_distinct_shards(void **state)
{
	(void)state;
	static const uint32_t sizes[] = { 1, 5, 6, 7, 12, 13, 48, 49, 150, 192, 193, 1200, 1536, 1537, 4000 };
	static uint8_t buf[5][AGG_HLL_BYTES + 64];
	size_t len[5];
	char name[32];
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
		for (int run = 0; run < 4; run++) {
			uint32_t n = sizes[si], nshards = 1 + (uint32_t)(run + si) % 5;
			rng_state = 9000 + 10 * si + (uint64_t)run;
			uint64_t base = rnd();
			_Alignas(8) uint8_t whole[64], sh[5][64], m[64], back[64];
			agg_state_init(CD, whole);
			for (uint32_t k = 0; k < nshards; k++)
				agg_state_init(CD, sh[k]);
			for (uint32_t i = 0; i < 2 * n; i++) {
				/* n distinct values, each about twice, in a random order */
				struct rf_value v = cd_value(0, base, i < n ? i : rnd() % n, name);
				assert_int_equal(agg_state_update(CD, whole, &v, 0, &al), 0);
				assert_int_equal(agg_state_update(CD, sh[rnd() % nshards], &v, 0, &al), 0);
			}
			if (n <= AGG_CD_SET_MAX)
				assert_int_equal(cd_result(whole), n);
			char err[128];
			size_t used;
			for (uint32_t k = 0; k < nshards; k++)
				len[k] = cd_bytes(sh[k], buf[k], sizeof buf[k]);
			/* Merge order: a random permutation; into an empty state on even runs. */
			uint32_t order[5] = { 0, 1, 2, 3, 4 };
			for (uint32_t k = nshards; k > 1; k--) {
				uint32_t r = (uint32_t)(rnd() % k), t = order[k - 1];
				order[k - 1] = order[r];
				order[r] = t;
			}
			uint32_t first = 0;
			if (run % 2) {
				assert_int_equal(agg_state_deserialize(CD, m, buf[order[0]], len[order[0]], &used, &al, err,
									 sizeof err), 0);
				first = 1;
			} else {
				agg_state_init(CD, m);
			}
			for (uint32_t k = first; k < nshards; k++) {
				assert_int_equal(agg_state_deserialize(CD, back, buf[order[k]], len[order[k]], &used, &al,
									 err, sizeof err), 0);
				assert_int_equal(used, len[order[k]]);
				assert_int_equal(agg_state_merge(CD, m, back, &al), 0);
			}
			snprintf(name, sizeof name, "%u values, %u shards", n, nshards);
			cd_assert_same((const struct agg_cd *)m, (const struct agg_cd *)whole, name);
			agg_arena_reset(&arena);
		}
}

/* Hashes that crowd into few slots, wrap past the last slot, or come in
 * any order: counts stay exact, the layout (so the serialisation) does
 * not depend on the order, and it reads back. */
static void test_count_distinct_clusters(void **state)
{
	(void)state;
	static uint64_t h[AGG_CD_SET_MAX];
	static const uint32_t sizes[] = { 7, 12, 13, 48, 49, 192, 193, 1000, AGG_CD_SET_MAX };
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
		for (int shape = 0; shape < 4; shape++) {
			uint32_t n = sizes[si];
			rng_state = 300 + 10 * si + (uint64_t)shape;
			for (uint32_t i = 0; i < n; i++) {
				uint64_t r = rnd();
				switch (shape) {
				case 0: h[i] = r; break;                                   /* uniform */
				case 1: h[i] = r | 0xff00000000000000ULL; break;           /* the last slots, wrapping */
				case 2: h[i] = (r >> 8) | (i % 2 ? 0xff00000000000000ULL : 0); break; /* both ends */
				default: h[i] = 0x8000000000000000ULL + i * 3; break;     /* one run, neighbours */
				}
			}
			struct agg_cd a, b;
			cd_build(&a, h, n);
			assert_int_equal(agg_cd_count(&a), n);
			/* Reversed, then shuffled. */
			memset(&b, 0, sizeof b);
			for (uint32_t i = n; i-- > 0;)
				assert_int_equal(agg_cd_add(&b, h[i], &al), 0);
			cd_assert_same(&a, &b, "reversed");
			for (uint32_t i = n; i > 1; i--) {
				uint32_t r = (uint32_t)(rnd() % i);
				uint64_t t = h[i - 1];
				h[i - 1] = h[r];
				h[r] = t;
			}
			cd_build(&b, h, n);
			cd_assert_same(&a, &b, "shuffled");
			for (uint32_t i = 0; i < n; i++)   /* all there */
				assert_int_equal(agg_cd_add(&b, h[i], &nomem), 0);
			assert_int_equal(agg_cd_count(&b), n);
			/* Serialised ascending (the reader insists), read back the same. */
			static uint8_t buf[AGG_HLL_BYTES + 64];
			size_t len = cd_bytes(&a, buf, sizeof buf), used;
			_Alignas(8) uint8_t back[64];
			char err[128];
			assert_int_equal(agg_state_deserialize(CD, back, buf, len, &used, &al, err, sizeof err), 0);
			cd_assert_same(&a, (const struct agg_cd *)back, "read back");
			agg_arena_reset(&arena);
		}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Little-endian u64 into p. */
static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int cd_read(const uint8_t *buf, size_t len, void *st)
{
	size_t used = 0;
	char err[128];
	int rc = agg_state_deserialize(CD, st, buf, len, &used, &al, err, sizeof err);
	if (rc == 0)
		assert_int_equal(used, len);
	return rc;
}

/* The serialisation by hand: each mode read, round trips byte for byte,
 * every truncation and each kind of corruption refused; version 1 and 2
 * states (inline in insertion order, 0 allowed; sketches) still read. */
static void test_count_distinct_serialize(void **state)
{
	(void)state;
	_Alignas(8) uint8_t st[64];
	static uint8_t buf[AGG_HLL_BYTES + 64], again[AGG_HLL_BYTES + 64];
	/* Inline: version, function, mode 0, n, hashes ascending. */
	uint8_t in[3 + 1 + 24] = { AGG_STATE_VERSION, CD, AGG_CD_INLINE, 3 };
	put64(in + 4, 5);
	put64(in + 12, 9);
	put64(in + 20, UINT64_MAX);
	assert_int_equal(cd_read(in, sizeof in, st), 0);
	assert_int_equal(cd_result(st), 3);
	assert_int_equal(cd_bytes(st, again, sizeof again), sizeof in);
	assert_memory_equal(again, in, sizeof in);
	put64(in + 12, 5);   /* a repeat */
	assert_int_equal(cd_read(in, sizeof in, st), -1);
	put64(in + 12, 4);   /* descending */
	assert_int_equal(cd_read(in, sizeof in, st), -1);
	put64(in + 4, 0);    /* 0 is never written */
	put64(in + 12, 9);
	assert_int_equal(cd_read(in, sizeof in, st), -1);
	in[3] = AGG_CD_EXACT + 1;
	assert_int_equal(cd_read(in, sizeof in, st), -1);

	/* The same in version 2 and 1: insertion order, and 0 (read as 1). */
	for (uint8_t ver = 1; ver <= 2; ver++) {
		uint8_t old[3 + 1 + 32] = { ver, CD, AGG_CD_INLINE, 4 };
		put64(old + 4, 77);
		put64(old + 12, 0);
		put64(old + 20, 3);
		put64(old + 28, 12);
		assert_int_equal(cd_read(old, sizeof old, st), 0);
		assert_int_equal(cd_result(st), 4);
		uint8_t want[3 + 1 + 32] = { AGG_STATE_VERSION, CD, AGG_CD_INLINE, 4 };
		put64(want + 4, 1);
		put64(want + 12, 3);
		put64(want + 20, 12);
		put64(want + 28, 77);
		assert_int_equal(cd_bytes(st, again, sizeof again), sizeof want);
		assert_memory_equal(again, want, sizeof want);
		/* No set mode before version 3. */
		uint8_t set[3 + 1 + 7 * 8] = { ver, CD, AGG_CD_SET, 7 };
		for (int i = 0; i < 7; i++)
			put64(set + 4 + 8 * i, (uint64_t)i + 1);
		assert_int_equal(cd_read(set, sizeof set, st), -1);
		set[0] = AGG_STATE_VERSION;
		assert_int_equal(cd_read(set, sizeof set, st), 0);
		assert_int_equal(cd_result(st), 7);
	}

	/* Set: mode 2, varint n, n hashes ascending. */
	static uint8_t set[3 + 2 + 8 * (AGG_CD_SET_MAX + 1)];
	rng_state = 808;
	uint64_t hs[AGG_CD_SET_MAX + 1];
	for (int i = 0; i <= AGG_CD_SET_MAX; i++)
		hs[i] = rnd() | 1;
	qsort(hs, AGG_CD_SET_MAX + 1, sizeof *hs, cmp_u64);
	for (uint32_t n = AGG_CD_EXACT; n <= AGG_CD_SET_MAX + 1; n++) {
		set[0] = AGG_STATE_VERSION;
		set[1] = CD;
		set[2] = AGG_CD_SET;
		size_t len = 3;
		if (n < 128) {
			set[len++] = (uint8_t)n;
		} else {
			set[len++] = (uint8_t)(0x80 | (n & 0x7f));
			set[len++] = (uint8_t)(n >> 7);
		}
		for (uint32_t i = 0; i < n; i++, len += 8)
			put64(set + len, hs[i]);
		int ok = n > AGG_CD_EXACT && n <= AGG_CD_SET_MAX;
		assert_int_equal(cd_read(set, len, st), ok ? 0 : -1);
		if (!ok)
			continue;
		assert_int_equal(cd_result(st), n);
		assert_int_equal(cd_bytes(st, again, sizeof again), len);
		assert_memory_equal(again, set, len);
		if (n != 7 && n != 200 && n != AGG_CD_SET_MAX)
			continue;
		/* Every truncation, and a cap one short, refused. */
		for (size_t k = 0; k < len; k++)
			assert_int_equal(cd_read(set, k, st), -1);
		assert_true(cd_read(set, len, st) == 0 && agg_state_serialize(CD, st, again, len - 1) == 0);
		/* Out of order, a repeat, a 0: refused. */
		uint8_t keep[16];
		memcpy(keep, set + len - 16, 16);
		memcpy(set + len - 16, keep + 8, 8);
		memcpy(set + len - 8, keep, 8);
		assert_int_equal(cd_read(set, len, st), -1);
		memcpy(set + len - 8, set + len - 16, 8);
		assert_int_equal(cd_read(set, len, st), -1);
		memcpy(set + len - 16, keep, 16);
		put64(set + len - 8 * n, 0);
		assert_int_equal(cd_read(set, len, st), -1);
		put64(set + len - 8 * n, hs[0]);
		assert_int_equal(cd_read(set, len, st), 0);
	}

	/* Sketch: mode 1 and the registers, in every version; a register out
	 * of range, an unknown mode, a short buffer refused. */
	struct agg_cd big;
	memset(&big, 0, sizeof big);
	for (int i = 0; i < 3000; i++)
		agg_cd_add(&big, rnd(), &al);
	size_t len = cd_bytes(&big, buf, sizeof buf);
	assert_int_equal(len, 3 + AGG_HLL_BYTES);
	assert_int_equal(buf[2], AGG_CD_HLL);
	for (uint8_t ver = 1; ver <= AGG_STATE_VERSION; ver++) {
		buf[0] = ver;
		assert_int_equal(cd_read(buf, len, st), 0);
		assert_int_equal(cd_result(st), agg_cd_count(&big));
		assert_int_equal(cd_bytes(st, again, sizeof again), len);
		assert_memory_equal(again + 1, buf + 1, len - 1);
	}
	assert_int_equal(cd_read(buf, len - 1, st), -1);
	buf[3 + 100] = AGG_HLL_Q + 2;
	assert_int_equal(cd_read(buf, len, st), -1);
	buf[2] = 3;
	assert_int_equal(cd_read(buf, len, st), -1);
	uint8_t v4[] = { 4, CD, AGG_CD_INLINE, 0 };
	assert_int_equal(cd_read(v4, sizeof v4, st), -1);
	/* A sketch merged into what a set read back: still the union. */
	agg_state_init(CD, st);
	assert_int_equal(agg_state_merge(CD, st, &big, &al), 0);
	assert_int_equal(cd_result(st), agg_cd_count(&big));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

enum dist { D_UNIFORM, D_EXP, D_LOGNORMAL, D_NORMAL0, D_INTS, D_WIDE, D_COUNT };

static double draw(enum dist d)
{
	switch (d) {
	case D_UNIFORM: return rnd01() * 1000;
	case D_EXP: return -log(rnd01()) * 50;
	case D_LOGNORMAL: return exp(3 + 2.5 * rnd_normal());
	case D_NORMAL0: return rnd_normal() * 100;               /* negatives, positives */
	case D_INTS: return (double)(rnd() % 20) * ((rnd() & 3) ? 1 : 0); /* duplicates, zeros */
	default: return exp((rnd01() - 0.5) * 28);               /* 1e-6 .. 1e6 */
	}
}

static void check_quantiles(const struct agg_dds *s, double *xs, size_t n, double tol, double qmin)
{
	static const double qs[] = { 0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1 };
	qsort(xs, n, sizeof *xs, cmp_double);
	for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
		if (qs[k] < qmin)
			continue;
		double want = xs[(size_t)floor(qs[k] * (double)(n - 1))], got;
		assert_int_equal(agg_dds_quantile(s, qs[k], &got), 0);
		if (fabs(got - want) > tol * fabs(want))
			fail_msg("q=%g: got %.17g want %.17g (rel err %g)", qs[k], got, want,
				 fabs(got - want) / fabs(want));
	}
}

static void test_percentile_error(void **state)
{
	(void)state;
	const size_t n = 100000;
	double *xs = malloc(n * sizeof *xs);
	for (int d = 0; d < D_COUNT; d++) {
		rng_state = 500 + (uint64_t)d;
		struct agg_dds s;
		agg_dds_init(&s);
		for (size_t i = 0; i < n; i++) {
			xs[i] = draw((enum dist)d);
			assert_int_equal(agg_dds_add(&s, xs[i], &al), 0);
		}
		assert_int_equal(s.count, n);
		check_quantiles(&s, xs, n, 0.01, 0);
	}
	free(xs);
	/* Through the aggregate-function interface, ints, missing skipped. */
	_Alignas(8) uint8_t st[128];
	agg_state_init(AGG_FN_PERCENTILE, st);
	struct rf_value r;
	agg_state_result(AGG_FN_PERCENTILE, st, 0.5, &r);
	assert_int_equal(r.type, RF_V_MISSING);
	for (int i = 1; i <= 1001; i++) {
		struct rf_value v = { .type = RF_V_INT, .u.i = i }, m = rf_missing();
		agg_state_update(AGG_FN_PERCENTILE, st, &v, 0, &al);
		agg_state_update(AGG_FN_PERCENTILE, st, &m, 0, &al);
	}
	agg_state_result(AGG_FN_PERCENTILE, st, 0.5, &r);
	assert_true(r.type == RF_V_FLOAT && fabs(r.u.f - 501) <= 5.01);
	agg_state_result(AGG_FN_PERCENTILE, st, 0.999, &r);
	assert_true(fabs(r.u.f - 1000) <= 10);
	agg_state_result(AGG_FN_PERCENTILE, st, 1, &r);
	assert_true(r.u.f == 1001);  /* clamped to the exact max */
}

static void test_percentile_merge_serialize(void **state)
{
	(void)state;
	const size_t n = 50000;
	double *xs = malloc(n * sizeof *xs);
	rng_state = 99;
	struct agg_dds whole, a, b, back;
	agg_dds_init(&whole);
	agg_dds_init(&a);
	agg_dds_init(&b);
	for (size_t i = 0; i < n; i++) {
		xs[i] = draw((enum dist)(i % D_COUNT));
		agg_dds_add(&whole, xs[i], &al);
		agg_dds_add(i % 3 ? &a : &b, xs[i], &al);
	}
	assert_int_equal(agg_dds_merge(&a, &b, &al), 0);
	static uint8_t s1[65536], s2[65536];
	size_t l1 = agg_dds_serialize(&a, s1, sizeof s1), l2 = agg_dds_serialize(&whole, s2, sizeof s2);
	assert_true(l1 > 0 && l1 == l2);
	assert_memory_equal(s1, s2, l1);
	check_quantiles(&a, xs, n, 0.01, 0);

	char err[128];
	agg_dds_init(&back);
	assert_int_equal(agg_dds_deserialize(&back, s1, l1, &al, err, sizeof err), l1);
	assert_int_equal(agg_dds_serialize(&back, s2, sizeof s2), l1);
	assert_memory_equal(s1, s2, l1);
	assert_int_equal(agg_dds_serialize(&back, s2, l1 - 1), 0);
	for (size_t k = 0; k < l1; k += 1 + k / 16) {
		agg_dds_init(&back);
		assert_int_equal(agg_dds_deserialize(&back, s1, k, &al, err, sizeof err), 0);
	}
	/* A count that does not match the buckets is refused. */
	s1[0] ^= 1;
	agg_dds_init(&back);
	assert_int_equal(agg_dds_deserialize(&back, s1, l1, &al, err, sizeof err), 0);
	free(xs);
}

static void test_percentile_collapse(void **state)
{
	(void)state;
	/* e^-40 .. e^40 needs ~5300 buckets per sign; only AGG_DDS_MAX_BUCKETS
	 * (a ratio of e^30.7) are kept, by folding the lowest values, so upper
	 * quantiles stay within 1% while memory stays bounded. */
	const size_t n = 200000;
	double *xs = malloc(n * sizeof *xs);
	rng_state = 4242;
	struct agg_dds s;
	agg_dds_init(&s);
	for (size_t i = 0; i < n; i++) {
		xs[i] = exp((rnd01() - 0.5) * 80) * ((i % 2) ? 1 : -1);
		agg_dds_add(&s, xs[i], &al);
	}
	assert_true(s.pos.imax - s.pos.imin + 1 <= AGG_DDS_MAX_BUCKETS);
	assert_true(s.neg.imax - s.neg.imin + 1 <= AGG_DDS_MAX_BUCKETS);
	assert_true(s.pos.cap <= AGG_DDS_MAX_BUCKETS && s.neg.cap <= AGG_DDS_MAX_BUCKETS);
	assert_int_equal(s.count, n);
	/* Positives are collapsed at their smallest end: values above about
	 * e^9.3, the top ~19% of the sample, are untouched, so q >= 0.85 holds.
	 * Negatives lose their most negative end: the bottom 1% is folded up
	 * into the most negative kept bucket (about -e^-9.3), by design. */
	check_quantiles(&s, xs, n, 0.01, 0.85);
	free(xs);
	double q0;
	assert_int_equal(agg_dds_quantile(&s, 0.01, &q0), 0);
	assert_true(q0 < 0 && q0 >= -exp(-9.0));
	assert_int_equal(agg_dds_quantile(&s, 0.0, &q0), 0);
	assert_true(q0 == s.min && q0 < -exp(39.0));
}

/* ---- the sketch against a model of its buckets ----
 * ddsketch.h documents the algorithm: bucket ceil(log(|x|) / log(gamma)),
 * at most AGG_DDS_MAX_BUCKETS per sign (the lowest |x| folded up for
 * positives, the highest folded down for negatives), answer = the
 * representative 2 gamma^i / (gamma + 1) of the bucket holding the value of
 * rank floor(q (n - 1)), clamped to the exact min and max. The model applies
 * that to the sorted sample directly. */

static double m_inv_ln_gamma(void)
{
	return 1.0 / log((1.0 + AGG_DDS_ALPHA) / (1.0 - AGG_DDS_ALPHA));
}
static int32_t m_index(double a) { return (int32_t)ceil(log(a) * m_inv_ln_gamma()); }
static double m_value(int32_t i)
{
	double g = (1.0 + AGG_DDS_ALPHA) / (1.0 - AGG_DDS_ALPHA);
	return exp((double)i / m_inv_ln_gamma()) * (2.0 / (g + 1.0));
}

static double model_quantile(const double *sorted, size_t n, double q)
{
	if (q == 0 || n == 1)
		return sorted[0];
	if (q == 1)
		return sorted[n - 1];
	int32_t pmax = INT32_MIN, nmin = INT32_MAX;
	for (size_t i = 0; i < n; i++) {
		if (sorted[i] > 0 && m_index(sorted[i]) > pmax)
			pmax = m_index(sorted[i]);
		if (sorted[i] < 0 && m_index(-sorted[i]) < nmin)
			nmin = m_index(-sorted[i]);
	}
	double x = sorted[(size_t)(q * (double)(n - 1))], v;
	if (x > 0) {
		int32_t i = m_index(x);
		v = m_value(i < pmax - AGG_DDS_MAX_BUCKETS + 1 ? pmax - AGG_DDS_MAX_BUCKETS + 1 : i);
	} else if (x < 0) {
		int32_t i = m_index(-x);
		v = -m_value(i > nmin + AGG_DDS_MAX_BUCKETS - 1 ? nmin + AGG_DDS_MAX_BUCKETS - 1 : i);
	} else {
		v = 0;
	}
	return v < sorted[0] ? sorted[0] : v > sorted[n - 1] ? sorted[n - 1] : v;
}

static const double model_qs[] = { 0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1 };

/* s must hold exactly the n values of xs (sorted here). */
static void check_model(const struct agg_dds *s, double *xs, size_t n, const char *what)
{
	qsort(xs, n, sizeof *xs, cmp_double);
	assert_int_equal(s->count, n);
	for (size_t k = 0; k < sizeof model_qs / sizeof model_qs[0]; k++) {
		double want = model_quantile(xs, n, model_qs[k]), got;
		assert_int_equal(agg_dds_quantile(s, model_qs[k], &got), 0);
		if (fabs(got - want) > 1e-12 * fabs(want))
			fail_msg("%s, n=%zu, q=%g: got %.17g, model %.17g", what, n, model_qs[k], got, want);
	}
}

/* The serialised form (a function of the buckets only), for comparisons. */
static size_t dds_bytes(const struct agg_dds *s, uint8_t *buf, size_t cap)
{
	size_t n = agg_dds_serialize(s, buf, cap);
	assert_true(n > 0);
	return n;
}

static void assert_same_sketch(const struct agg_dds *a, const struct agg_dds *b)
{
	static uint8_t s1[1 << 16], s2[1 << 16];
	size_t l1 = dds_bytes(a, s1, sizeof s1), l2 = dds_bytes(b, s2, sizeof s2);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
}

/* Value sets: a few over decades (sparse), many (dense), ranges wider than
 * AGG_DDS_MAX_BUCKETS (collapsing) in both forms, both signs and zeros. */
enum vset { V_FEW, V_FEW_NEG, V_SOME, V_MANY, V_FEW_HUGE, V_MANY_HUGE, V_MIXED, V_NARROW, V_COUNT };

static size_t vset_fill(enum vset k, double *xs)
{
	size_t n;
	switch (k) {
	case V_FEW: n = 12; for (size_t i = 0; i < n; i++) xs[i] = exp(rnd01() * 16 - 4); break;
	case V_FEW_NEG: n = 15; for (size_t i = 0; i < n; i++) xs[i] = -exp(rnd01() * 20 - 5); break;
	case V_SOME: n = 150; for (size_t i = 0; i < n; i++) xs[i] = exp(rnd01() * 12); break;
	case V_MANY: n = 20000; for (size_t i = 0; i < n; i++) xs[i] = exp(rnd01() * 10) * ((i % 3) ? 1 : -1); break;
	case V_FEW_HUGE: n = 20; for (size_t i = 0; i < n; i++) xs[i] = exp((rnd01() - 0.5) * 1200) * ((i % 2) ? 1 : -1); break;
	case V_MANY_HUGE: n = 30000; for (size_t i = 0; i < n; i++) xs[i] = exp((rnd01() - 0.5) * 90) * ((i % 2) ? 1 : -1); break;
	case V_MIXED: n = 300; for (size_t i = 0; i < n; i++) xs[i] = (i % 10 == 0) ? 0 : rnd_normal() * 1e4; break;
	default: n = 5000; for (size_t i = 0; i < n; i++) xs[i] = 1400 + (double)(rnd() % 100); break;
	}
	return n;
}

static void test_dds_model(void **state)
{
	(void)state;
	static double xs[2][30000], all[60000];
	static const char *const vname[] = { "few", "few_neg", "some", "many", "few_huge", "many_huge", "mixed", "narrow" };
	rng_state = 2024;
	size_t n[V_COUNT];
	static struct agg_dds sk[V_COUNT];
	static double vals[V_COUNT][30000];
	for (int k = 0; k < V_COUNT; k++) {
		n[k] = vset_fill((enum vset)k, vals[k]);
		agg_dds_init(&sk[k]);
		for (size_t i = 0; i < n[k]; i++)
			assert_int_equal(agg_dds_add(&sk[k], vals[k][i], &al), 0);
		memcpy(xs[0], vals[k], n[k] * sizeof *xs[0]);
		check_model(&sk[k], xs[0], n[k], vname[k]);
		assert_true(sk[k].pos.imax - sk[k].pos.imin < AGG_DDS_MAX_BUCKETS);
		assert_true(sk[k].neg.imax - sk[k].neg.imin < AGG_DDS_MAX_BUCKETS);
	}
	/* The forms are what they are for: few values stay sparse, many over
	 * a wide range go dense. */
	assert_false(sk[V_FEW].pos.dense);
	assert_false(sk[V_FEW_NEG].neg.dense);
	assert_false(sk[V_FEW_HUGE].pos.dense);
	assert_true(sk[V_MANY].pos.dense && sk[V_MANY].neg.dense);
	assert_true(sk[V_MANY_HUGE].pos.dense);
	/* Every merge of two forms: a ∪ b answers as the model of the union
	 * and serialises like one sketch fed the union value by value. */
	for (int i = 0; i < V_COUNT; i++)
		for (int j = 0; j < V_COUNT; j++) {
			char what[64];
			snprintf(what, sizeof what, "%s + %s", vname[i], vname[j]);
			struct agg_dds m, whole;
			agg_dds_init(&m);
			agg_dds_init(&whole);
			assert_int_equal(agg_dds_merge(&m, &sk[i], &al), 0);
			assert_int_equal(agg_dds_merge(&m, &sk[j], &al), 0);
			for (size_t k = 0; k < n[i]; k++)
				agg_dds_add(&whole, vals[i][k], &al);
			for (size_t k = 0; k < n[j]; k++)
				agg_dds_add(&whole, vals[j][k], &al);
			memcpy(all, vals[i], n[i] * sizeof *all);
			memcpy(all + n[i], vals[j], n[j] * sizeof *all);
			check_model(&m, all, n[i] + n[j], what);
			assert_same_sketch(&m, &whole);
			/* and the bulk add gives the same sketch */
			struct agg_dds bulk;
			agg_dds_init(&bulk);
			assert_int_equal(agg_dds_add_many(&bulk, vals[i], n[i], &al), 0);
			assert_int_equal(agg_dds_add_many(&bulk, vals[j], n[j], &al), 0);
			assert_same_sketch(&bulk, &whole);
		}
	/* Round trips keep every answer, whichever form the reader picks. */
	for (int k = 0; k < V_COUNT; k++) {
		static uint8_t buf[1 << 16];
		char err[128];
		size_t len = dds_bytes(&sk[k], buf, sizeof buf);
		struct agg_dds back;
		agg_dds_init(&back);
		assert_int_equal(agg_dds_deserialize(&back, buf, len, &al, err, sizeof err), len);
		memcpy(xs[0], vals[k], n[k] * sizeof *xs[0]);
		check_model(&back, xs[0], n[k], vname[k]);
		assert_same_sketch(&back, &sk[k]);
		/* A restored sketch keeps growing correctly. */
		for (size_t i = 0; i < 50; i++) {
			xs[1][i] = exp(rnd01() * 30 - 10) * ((i % 4) ? 1 : -1);
			agg_dds_add(&back, xs[1][i], &al);
		}
		memcpy(xs[0] + n[k], xs[1], 50 * sizeof *xs[0]);
		memcpy(xs[0], vals[k], n[k] * sizeof *xs[0]);
		check_model(&back, xs[0], n[k] + 50, vname[k]);
	}
}

/* Memory of a sketch for a few values over decades: sparse buckets, not
 * an array over the whole range (~450 buckets, 3.6 KB, for 3 decades). */
static void test_dds_memory(void **state)
{
	(void)state;
	rng_state = 77;
	struct agg_dds s;
	for (int n = 10; n <= 40; n += 10) {
		agg_dds_init(&s);
		counted = 0;
		double xs[40];
		for (int i = 0; i < n; i++)
			xs[i] = exp(rnd01() * 7);          /* 1 .. 1100: ~460 buckets */
		assert_int_equal(agg_dds_add_many(&s, xs, (size_t)n, &cal), 0);
		print_message("    %d values over 3 decades: %zu bytes of buckets\n", n, counted);
		assert_false(s.pos.dense);
		assert_true(counted <= (size_t)n * 12 * 2 + 48);
	}
	/* Grown value by value: geometric, and dense at most about the range. */
	agg_dds_init(&s);
	counted = 0;
	for (int i = 0; i < 100000; i++)
		agg_dds_add(&s, exp(rnd01() * 7), &cal);
	print_message("    100000 values over 3 decades: %zu bytes of buckets\n", counted);
	assert_true(s.pos.dense);
	assert_true(counted <= 3 * 8 * 700 + 4 * 128 * 12);
}

/* ---- the percentile state: inline values, then the sketch ---- */

#define PCT AGG_FN_PERCENTILE
#define ST_BYTES 128

static struct rf_value num(double x, int as_int)
{
	if (as_int)
		return (struct rf_value){ .type = RF_V_INT, .u.i = (int64_t)x };
	return (struct rf_value){ .type = RF_V_FLOAT, .u.f = x };
}

static void pct_feed(void *st, const double *xs, size_t n, const struct agg_alloc *a)
{
	for (size_t i = 0; i < n; i++) {
		int as_int = xs[i] == floor(xs[i]) && fabs(xs[i]) < 1e15 && (i % 2);
		struct rf_value v = num(xs[i], as_int);
		assert_int_equal(agg_state_update(PCT, st, &v, 0, a), 0);
	}
}

static size_t pct_bytes(const void *st, uint8_t *buf, size_t cap)
{
	size_t n = agg_state_serialize(PCT, st, buf, cap);
	assert_true(n >= 3);
	return n;
}

/* The state's answer for q; NAN when it has none. */
static double pct_q(const void *st, double q)
{
	struct rf_value r;
	agg_state_result(PCT, st, q, &r);
	if (r.type == RF_V_MISSING)
		return NAN;
	assert_int_equal(r.type, RF_V_FLOAT);
	return r.u.f;
}

/* Exact while at most AGG_PCT_INLINE values, within 1% after; xs sorted here. */
static void check_pct(const void *st, double *xs, size_t n, const char *what)
{
	qsort(xs, n, sizeof *xs, cmp_double);
	if (n == 0) {
		assert_true(isnan(pct_q(st, 0.5)));
		return;
	}
	for (size_t k = 0; k < sizeof model_qs / sizeof model_qs[0]; k++) {
		double want = xs[(size_t)(model_qs[k] * (double)(n - 1))], got = pct_q(st, model_qs[k]);
		double tol = n <= AGG_PCT_INLINE ? 0 : 0.01 * fabs(want);
		if (!(fabs(got - want) <= tol))
			fail_msg("%s, n=%zu, q=%g: got %.17g, want %.17g", what, n, model_qs[k], got, want);
	}
	assert_true(isnan(pct_q(st, -0.1)) && isnan(pct_q(st, 1.1)));
}

static void test_percentile_inline(void **state)
{
	(void)state;
	_Alignas(8) uint8_t st[ST_BYTES];
	uint8_t buf[512];
	double xs[AGG_PCT_INLINE + 1];
	assert_true(agg_state_size(PCT) <= 80);
	rng_state = 31;
	for (int rep = 0; rep < 200; rep++)
		for (size_t n = 0; n <= AGG_PCT_INLINE; n++) {
			for (size_t i = 0; i < n; i++) {
				switch (rnd() % 5) {
				case 0: xs[i] = (double)(int64_t)(rnd() % 3000) - 1000; break;
				case 1: xs[i] = rnd_normal() * 1e6; break;
				case 2: xs[i] = (rnd() & 1) ? -0.0 : 0.0; break;
				case 3: xs[i] = xs[i ? i - 1 : 0] = 7; break;   /* duplicates */
				default: xs[i] = exp(rnd01() * 40 - 20); break;
				}
			}
			agg_state_init(PCT, st);
			counted = 0;
			pct_feed(st, xs, n, &cal);
			assert_int_equal(counted, 0);           /* inline: nothing allocated */
			/* Infinities are skipped, as the sketch skips them. */
			struct rf_value inf = num(INFINITY, 0), ninf = num(-INFINITY, 0), m = rf_missing();
			agg_state_update(PCT, st, &inf, 0, &cal);
			agg_state_update(PCT, st, &ninf, 0, &cal);
			agg_state_update(PCT, st, &m, 0, &cal);
			assert_int_equal(counted, 0);
			assert_true(pct_bytes(st, buf, sizeof buf) > 0 && buf[2] != 2);
			check_pct(st, xs, n, "inline");
			/* The exact median of an even count is the lower one. */
			if (n == 4)
				assert_true(pct_q(st, 0.5) == xs[1]);
		}
	/* One value more: a sketch, allocated now, holding all of them. */
	rng_state = 32;
	for (int rep = 0; rep < 50; rep++) {
		for (size_t i = 0; i <= AGG_PCT_INLINE; i++)
			xs[i] = exp(rnd01() * 12) * ((rnd() % 4) ? 1 : -1);
		agg_state_init(PCT, st);
		counted = 0;
		pct_feed(st, xs, AGG_PCT_INLINE, &cal);
		assert_int_equal(counted, 0);
		pct_feed(st, xs + AGG_PCT_INLINE, 1, &cal);
		assert_true(counted > 0 && counted <= 400);
		size_t len = pct_bytes(st, buf, sizeof buf);
		assert_int_equal(buf[2], 2);
		/* ... the same sketch as one fed the values directly. */
		struct agg_dds d;
		static uint8_t dbuf[512];
		agg_dds_init(&d);
		for (size_t i = 0; i <= AGG_PCT_INLINE; i++)
			agg_dds_add(&d, xs[i], &al);
		size_t dl = dds_bytes(&d, dbuf, sizeof dbuf);
		assert_int_equal(len, 3 + dl);
		assert_memory_equal(buf + 3, dbuf, dl);
		check_pct(st, xs, AGG_PCT_INLINE + 1, "promoted");
		double xq[AGG_PCT_INLINE + 1];
		memcpy(xq, xs, sizeof xq);
		check_model(&d, xq, AGG_PCT_INLINE + 1, "promoted");
	}
}

static void *fail_alloc(void *ctx, size_t n)
{
	(void)ctx, (void)n;
	return NULL;
}

static void test_percentile_nomem(void **state)
{
	(void)state;
	_Alignas(8) uint8_t st[ST_BYTES];
	uint8_t b1[512], b2[512];
	struct agg_alloc bad = { fail_alloc, NULL };
	double xs[AGG_PCT_INLINE + 1];
	for (int i = 0; i <= AGG_PCT_INLINE; i++)
		xs[i] = 10.0 * (i + 1);
	agg_state_init(PCT, st);
	pct_feed(st, xs, AGG_PCT_INLINE, &al);
	size_t l1 = pct_bytes(st, b1, sizeof b1);
	struct rf_value v = num(1e6, 0);
	assert_int_equal(agg_state_update(PCT, st, &v, 0, &bad), -1);
	size_t l2 = pct_bytes(st, b2, sizeof b2);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);   /* unchanged, still inline */
	check_pct(st, xs, AGG_PCT_INLINE, "after a failed promotion");
}

/* Value sets for the merge matrix: empty, a few inline, a full inline set,
 * a sparse sketch, a dense sketch. */
static size_t mode_fill(int mode, double *xs)
{
	static const size_t sizes[] = { 0, 3, AGG_PCT_INLINE, 40, 6000 };
	for (size_t i = 0; i < sizes[mode]; i++)
		xs[i] = mode == 1 ? (double)(int64_t)(rnd() % 100)
				  : exp(rnd01() * 14 - 2) * ((rnd() % 5) ? 1 : -1);
	return sizes[mode];
}

static void test_percentile_merge_modes(void **state)
{
	(void)state;
	static const char *const mname[] = { "empty", "few", "full", "sparse", "dense" };
	static double va[6000], vb[6000], all[12000];
	static uint8_t s1[1 << 16], s2[1 << 16], s3[1 << 16];
	_Alignas(8) uint8_t a[ST_BYTES], b[ST_BYTES], whole[ST_BYTES], back[ST_BYTES];
	rng_state = 33;
	for (int rep = 0; rep < 4; rep++)
		for (int i = 0; i < 5; i++)
			for (int j = 0; j < 5; j++) {
				char what[64];
				snprintf(what, sizeof what, "%s + %s", mname[i], mname[j]);
				size_t na = mode_fill(i, va), nb = mode_fill(j, vb);
				agg_state_init(PCT, a);
				agg_state_init(PCT, b);
				agg_state_init(PCT, whole);
				pct_feed(a, va, na, &al);
				pct_feed(b, vb, nb, &al);
				pct_feed(whole, va, na, &al);
				pct_feed(whole, vb, nb, &al);
				size_t lb = pct_bytes(b, s3, sizeof s3);
				assert_int_equal(agg_state_merge(PCT, a, b, &al), 0);
				/* a ∪ b is the state of the union, byte for byte
				 * (inline when it fits, else the sketch). */
				size_t l1 = pct_bytes(a, s1, sizeof s1), l2 = pct_bytes(whole, s2, sizeof s2);
				if (l1 != l2 || memcmp(s1, s2, l1))
					fail_msg("%s: merged state differs from the state of the union", what);
				assert_int_equal(s1[2] == 2, na + nb > AGG_PCT_INLINE);
				memcpy(all, va, na * sizeof *all);
				memcpy(all + na, vb, nb * sizeof *all);
				check_pct(a, all, na + nb, what);
				/* b is untouched, and a shares nothing with it. */
				assert_int_equal(pct_bytes(b, s2, sizeof s2), lb);
				assert_memory_equal(s2, s3, lb);
				double more[20];
				for (int k = 0; k < 20; k++)
					more[k] = 1e9 + k;
				pct_feed(b, more, 20, &al);
				assert_int_equal(pct_bytes(a, s2, sizeof s2), l1);
				assert_memory_equal(s1, s2, l1);
				/* Round trip of the merged state. */
				size_t used;
				char err[128];
				assert_int_equal(agg_state_deserialize(PCT, back, s1, l1, &used, &al, err, sizeof err), 0);
				assert_int_equal(used, l1);
				assert_int_equal(pct_bytes(back, s2, sizeof s2), l1);
				assert_memory_equal(s1, s2, l1);
			}
}

static void test_percentile_serialize(void **state)
{
	(void)state;
	_Alignas(8) uint8_t st[ST_BYTES], back[ST_BYTES];
	static uint8_t buf[1 << 16];
	size_t used;
	char err[128];
	const double big = 9007199254740991.0;   /* 2^53 - 1 */
	struct { const char *name; double xs[AGG_PCT_INLINE]; size_t n; int mode; } cases[] = {
		{ "empty", { 0 }, 0, 1 },
		{ "ints", { -5, 2, 2, 40000, 3 }, 5, 1 },
		{ "int limits", { -big, big, 0 }, 3, 1 },
		{ "floats", { 0.5, -1e300, 3 }, 3, 0 },
		{ "beyond 2^53", { 2 * big + 2, 1 }, 2, 0 },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		agg_state_init(PCT, st);
		pct_feed(st, cases[c].xs, cases[c].n, &al);
		size_t len = pct_bytes(st, buf, sizeof buf);
		assert_int_equal(buf[0], AGG_STATE_VERSION);
		assert_int_equal(buf[2], cases[c].mode);
		assert_int_equal(agg_state_deserialize(PCT, back, buf, len, &used, &al, err, sizeof err), 0);
		assert_int_equal(used, len);
		double xs[AGG_PCT_INLINE];
		memcpy(xs, cases[c].xs, sizeof xs);
		check_pct(back, xs, cases[c].n, cases[c].name);
		for (size_t k = 0; k < len; k++)
			assert_int_equal(agg_state_deserialize(PCT, back, buf, k, &used, &al, err, sizeof err), -1);
	}
	/* Integers cost their digits: -5 and the gaps 7, 0, 1, 39997 take
	 * 1 + 1 + 1 + 1 + 3 bytes after version, function, mode and count. */
	agg_state_init(PCT, st);
	pct_feed(st, cases[1].xs, 5, &al);
	assert_int_equal(pct_bytes(st, buf, sizeof buf), 4 + 7);

	/* By hand: version, function, mode 1, n = 3, -5, gaps 7 and 0. */
	uint8_t ok[] = { AGG_STATE_VERSION, PCT, 1, 3, 9, 7, 0 };
	assert_int_equal(agg_state_deserialize(PCT, back, ok, sizeof ok, &used, &al, err, sizeof err), 0);
	assert_true(pct_q(back, 0) == -5 && pct_q(back, 0.5) == 2 && pct_q(back, 1) == 2);
	/* Refused: unknown mode, too many values, unsorted, not finite, an
	 * integer at 2^53. */
	uint8_t bad_mode[] = { AGG_STATE_VERSION, PCT, 3, 0 };
	uint8_t too_many[] = { AGG_STATE_VERSION, PCT, 1, AGG_PCT_INLINE + 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t unsorted[2 + 2 + 16] = { AGG_STATE_VERSION, PCT, 0, 2 };
	uint8_t not_finite[2 + 2 + 8] = { AGG_STATE_VERSION, PCT, 0, 1 };
	uint8_t at_limit[] = { AGG_STATE_VERSION, PCT, 1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40 };
	double two = 2, one = 1, inf = INFINITY;
	memcpy(unsorted + 4, &two, 8);
	memcpy(unsorted + 12, &one, 8);
	memcpy(not_finite + 4, &inf, 8);
	const struct { const uint8_t *p; size_t n; } rejects[] = {
		{ bad_mode, sizeof bad_mode }, { too_many, sizeof too_many }, { unsorted, sizeof unsorted },
		{ not_finite, sizeof not_finite }, { at_limit, sizeof at_limit },
	};
	for (size_t k = 0; k < sizeof rejects / sizeof rejects[0]; k++)
		if (agg_state_deserialize(PCT, back, rejects[k].p, rejects[k].n, &used, &al, err, sizeof err) != -1)
			fail_msg("reject case %zu accepted", k);
	/* 2^53 - 1 itself (svarint 2^54 - 2) is fine. */
	uint8_t below[] = { AGG_STATE_VERSION, PCT, 1, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f };
	assert_int_equal(agg_state_deserialize(PCT, back, below, sizeof below, &used, &al, err, sizeof err), 0);
	assert_true(pct_q(back, 0.5) == big);

	/* Version 1 (the previous release): a bare sketch, read as a sketch;
	 * an empty one as an empty state. */
	struct agg_dds d;
	agg_dds_init(&d);
	double xs[5] = { 3, 1, 4, 1, 5 };
	for (int i = 0; i < 5; i++)
		agg_dds_add(&d, xs[i], &al);
	buf[0] = 1;
	buf[1] = PCT;
	size_t dl = dds_bytes(&d, buf + 2, sizeof buf - 2);
	assert_int_equal(agg_state_deserialize(PCT, back, buf, 2 + dl, &used, &al, err, sizeof err), 0);
	assert_int_equal(used, 2 + dl);
	for (size_t k = 0; k < sizeof model_qs / sizeof model_qs[0]; k++) {
		double want;
		agg_dds_quantile(&d, model_qs[k], &want);
		assert_true(pct_q(back, model_qs[k]) == want);
	}
	uint8_t again[512];
	size_t al2 = pct_bytes(back, again, sizeof again);
	assert_true(again[0] == AGG_STATE_VERSION && again[2] == 2 && al2 == 3 + dl);
	assert_memory_equal(again + 3, buf + 2, dl);
	agg_dds_init(&d);
	dl = dds_bytes(&d, buf + 2, sizeof buf - 2);
	assert_int_equal(agg_state_deserialize(PCT, back, buf, 2 + dl, &used, &al, err, sizeof err), 0);
	assert_true(isnan(pct_q(back, 0.5)));
	assert_int_equal(pct_bytes(back, again, sizeof again), 4);
	buf[0] = 0;
	assert_int_equal(agg_state_deserialize(PCT, back, buf, 2 + dl, &used, &al, err, sizeof err), -1);
	assert_non_null(strstr(err, "version"));
}

static void test_hll_estimator_small(void **state)
{
	(void)state;
	/* The improved estimator needs no linear-counting switch: exact-ish
	 * from 1 upward, and 0 for an empty sketch. */
	static uint8_t regs[AGG_HLL_BYTES];
	memset(regs, 0, sizeof regs);
	assert_true(agg_hll_estimate(regs) == 0.0);
	rng_state = 7;
	for (int i = 1; i <= 2000; i++) {
		agg_hll_add(regs, rnd());
		if (i == 1 || i == 50 || i == 2000) {
			double e = agg_hll_estimate(regs);
			assert_true(fabs(e - i) <= 0.02 * i + 0.5);
		}
	}
	assert_true(agg_hll_valid(regs));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_count_distinct_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_distinct_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_distinct_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_distinct_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_distinct_shards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_distinct_clusters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_distinct_serialize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_percentile_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_percentile_merge_serialize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_percentile_collapse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dds_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dds_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_percentile_inline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_percentile_nomem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_percentile_merge_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_percentile_serialize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hll_estimator_small, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
