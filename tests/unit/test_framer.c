/*
 * test_framer.c — ingest/framer.c on real rings of the smallest and a large
 * ring_size: a partition's frames all go to one transform (source modulo
 * the transform count), so partition order survives; a line that cannot fit
 * a frame is rejected whole and counted whatever the ring size, the
 * longest line that fits goes through intact; an announce is one empty
 * frame flagged ASSIGNED; every frame holds one source only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ingest/framer.h"
#include "pipeline/frames.h"
#include "shm/ring.h"
#include "shm/segment.h"

#define NOUT 3

struct rig {
	struct shm_segment *seg;
	struct shm_ring_handle prod[NOUT], cons[NOUT];
	struct rf_stats_slot *stats;
	struct ing_framer fr;
};

static void rig_init(struct rig *r, uint64_t ring_size)
{
	char err[256] = "";
	r->seg = shm_segment_create(NOUT * (ring_size + 4096) + (1u << 16), err, sizeof err);
	assert_non_null(r->seg);
	for (int i = 0; i < NOUT; i++) {
		uint64_t pb = shm_segment_alloc(r->seg, sizeof(struct shm_doorbell), 64);
		uint64_t cb = shm_segment_alloc(r->seg, sizeof(struct shm_doorbell), 64);
		shm_doorbell_init(shm_at(r->seg, pb));
		shm_doorbell_init(shm_at(r->seg, cb));
		uint64_t ro = shm_ring_create(r->seg, ring_size, pb, cb, err, sizeof err);
		assert_true(ro != 0);
		assert_int_equal(shm_ring_handle_init(&r->prod[i], r->seg, ro, err, sizeof err), 0);
		assert_int_equal(shm_ring_handle_init(&r->cons[i], r->seg, ro, err, sizeof err), 0);
	}
	r->stats = calloc(1, sizeof *r->stats);
	assert_non_null(r->stats);
	ing_framer_init(&r->fr, r->prod, NOUT, r->stats);
}

static void rig_free(struct rig *r)
{
	free(r->stats);
	shm_segment_destroy(r->seg);
}

/* The next frame on ring i (NULL if none), copied out and consumed. */
struct got {
	uint16_t type;
	struct rf_lines_hdr h;
	char *text;
	size_t len;
};

static int next_frame(struct rig *r, int i, struct got *g)
{
	uint32_t len;
	uint16_t type;
	const void *fr = shm_ring_peek(&r->cons[i], &len, &type);
	if (!fr)
		return 0;
	assert_true(len >= sizeof g->h);
	g->type = type;
	memcpy(&g->h, fr, sizeof g->h);
	g->len = len - sizeof g->h;
	g->text = malloc(g->len + 1);
	memcpy(g->text, (const char *)fr + sizeof g->h, g->len);
	g->text[g->len] = '\0';
	shm_ring_consume(&r->cons[i]);
	shm_ring_release(&r->cons[i]);
	return 1;
}

static void test_route_by_source(void **state)
{
	(void)state;
	static struct rig r;
	rig_init(&r, 1u << 20);
	/* Interleaved sources 0..6, numbered lines per source. */
	int sent[7] = { 0 };
	char line[32];
	for (int k = 0; k < 700; k++) {
		int src = (k * 5 + k / 3) % 7;
		int n = snprintf(line, sizeof line, "%d:%d", src, sent[src]++);
		assert_int_equal(ing_framer_add(&r.fr, (uint32_t)src, line, (size_t)n), 0);
	}
	assert_int_equal(ing_framer_flush(&r.fr), 0);
	int seen[7] = { 0 };
	for (int i = 0; i < NOUT; i++) {
		struct got g;
		while (next_frame(&r, i, &g)) {
			assert_int_equal(g.type, RF_FRAME_LINES);
			assert_int_equal(g.h.flags, 0);
			/* The transform of a source is source % NOUT. */
			assert_int_equal(g.h.source % NOUT, (uint32_t)i);
			assert_int_equal(ing_framer_transform(&r.fr, g.h.source), (uint32_t)i);
			uint32_t lines = 0;
			for (char *tok = strtok(g.text, "\n"); tok; tok = strtok(NULL, "\n"), lines++) {
				int s, seq;
				assert_int_equal(sscanf(tok, "%d:%d", &s, &seq), 2);
				assert_int_equal((uint32_t)s, g.h.source);   /* one source per frame */
				assert_int_equal(seq, seen[s]++);            /* partition order */
			}
			assert_int_equal(lines, g.h.nlines);
			free(g.text);
		}
	}
	for (int s = 0; s < 7; s++)
		assert_int_equal(seen[s], sent[s]);
	assert_int_equal(rf_stat_get(r.stats, RF_ST_LINES_IN), 700);
	assert_int_equal(rf_stat_get(r.stats, RF_ST_LINES_TOO_LONG), 0);
	rig_free(&r);
}

/* Whatever the ring size, the longest line that fits a frame passes whole
 * and one byte more is rejected whole and counted. */
static void check_limits(uint64_t ring_size)
{
	static struct rig r;
	rig_init(&r, ring_size);
	uint32_t payload = r.fr.payload;
	uint32_t frame = shm_ring_max_frame(&r.prod[0]);
	assert_true(payload < frame && payload <= ING_FRAME_BYTES);
	size_t fits = payload - 1;   /* plus its '\n' */
	char *big = malloc(payload + 10);
	memset(big, 'x', payload + 10);
	assert_int_equal(ing_framer_add(&r.fr, 4, "a,b", 3), 0);
	assert_int_equal(ing_framer_add(&r.fr, 4, big, fits + 1), 0);     /* rejected */
	assert_int_equal(ing_framer_add(&r.fr, 4, big, payload + 9), 0);   /* rejected */
	assert_int_equal(ing_framer_add(&r.fr, 4, big, fits), 0);          /* passes */
	assert_int_equal(ing_framer_add(&r.fr, 4, "c,d", 3), 0);
	assert_int_equal(ing_framer_flush(&r.fr), 0);
	assert_int_equal(rf_stat_get(r.stats, RF_ST_LINES_IN), 5);
	assert_int_equal(rf_stat_get(r.stats, RF_ST_LINES_TOO_LONG), 2);
	/* Ring 4 % 3 = 1 carries "a,b", the long line alone, "c,d". */
	struct got g;
	size_t total = 0;
	int frames = 0, lines = 0;
	while (next_frame(&r, 1, &g)) {
		frames++;
		lines += (int)g.h.nlines;
		if (g.len == fits + 1) {
			assert_int_equal(g.h.nlines, 1);
			assert_int_equal(g.text[fits], '\n');
			assert_true(memcmp(g.text, big, fits) == 0);
		}
		total += g.len;
		free(g.text);
	}
	assert_int_equal(lines, 3);
	assert_int_equal(total, 4 + fits + 1 + 4);
	assert_true(frames >= 2);   /* the long line needs a frame of its own */
	assert_int_equal(next_frame(&r, 0, &g), 0);
	free(big);
	rig_free(&r);
}

static void test_line_limits_small_ring(void **state)
{
	(void)state;
	check_limits(64u << 10);   /* frames of 16 KiB */
}

static void test_line_limits_large_ring(void **state)
{
	(void)state;
	check_limits(64u << 20);   /* frames capped at ING_FRAME_BYTES */
}

static void test_announce(void **state)
{
	(void)state;
	static struct rig r;
	rig_init(&r, 1u << 20);
	assert_int_equal(ing_framer_add(&r.fr, 5, "x", 1), 0);
	assert_int_equal(ing_framer_announce(&r.fr, 5), 0);   /* closes the open frame first */
	assert_int_equal(ing_framer_announce(&r.fr, 6), 0);
	assert_int_equal(ing_framer_add(&r.fr, 5, "y", 1), 0);
	assert_int_equal(ing_framer_flush(&r.fr), 0);
	struct got g;
	assert_int_equal(next_frame(&r, 2, &g), 1);            /* 5 % 3 */
	assert_true(g.h.source == 5 && g.h.nlines == 1 && g.h.flags == 0 && !strcmp(g.text, "x\n"));
	free(g.text);
	assert_int_equal(next_frame(&r, 2, &g), 1);
	assert_true(g.h.source == 5 && g.h.nlines == 0 && g.h.flags == RF_LINES_ASSIGNED && g.len == 0);
	free(g.text);
	assert_int_equal(next_frame(&r, 2, &g), 1);
	assert_true(g.h.source == 5 && g.h.nlines == 1 && g.h.flags == 0 && !strcmp(g.text, "y\n"));
	free(g.text);
	assert_int_equal(next_frame(&r, 2, &g), 0);
	assert_int_equal(next_frame(&r, 0, &g), 1);            /* 6 % 3 */
	assert_true(g.h.source == 6 && g.h.nlines == 0 && g.h.flags == RF_LINES_ASSIGNED);
	free(g.text);
	assert_int_equal(next_frame(&r, 0, &g), 0);
	rig_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_by_source),
		cmocka_unit_test(test_line_limits_small_ring),
		cmocka_unit_test(test_line_limits_large_ring),
		cmocka_unit_test(test_announce),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
