/*
 * test_file_source.c — `[input] type = file` (ingest/file_source.c) on
 * regular files, whose reads come back in whole 1 MiB chunks: every line is
 * one record whatever its length. A line too long for any frame is rejected
 * whole and counted once in lines_too_long_total (also when it spans several
 * chunks, ends exactly at a chunk boundary, or ends the file without a
 * newline); every other line reaches the ring once, in order, intact.
 *
 * The real framer writes into a real 64 KiB ring (the smallest ring_size);
 * a consumer thread drains it so backpressure never stalls the reader, and
 * the lines it receives are compared with the file's lines computed here.
 * (tests/integration/test_config_edges.sh runs the same through ringflow,
 * reading a FIFO, whose reads are short.)
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ingest/ingest.h"
#include "ingest/inputs.h"
#include "pipeline/frames.h"
#include "shm/ring.h"
#include "shm/segment.h"

#define MIB (1u << 20)
#define RING (64u << 10)

static char tmpdir[256];

/* What the consumer thread saw. */
struct seen {
	struct shm_ring_handle *cons;
	struct shm_doorbell *bell;
	char *lines;       /* every received line, each with its '\n' */
	size_t len, cap;
	uint64_t nlines;
	int eos, bad;
};

static void *consume(void *arg)
{
	struct seen *s = arg;
	struct shm_ring_handle *hs[1] = { s->cons };
	while (!s->eos && !s->bad) {
		uint32_t len;
		uint16_t type;
		const void *fr = shm_ring_peek(s->cons, &len, &type);
		if (!fr) {
			shm_rings_wait(hs, 1, s->bell, -1);
			continue;
		}
		if (type == RF_FRAME_EOS) {
			s->eos = 1;
		} else if (type == RF_FRAME_LINES && len >= sizeof(struct rf_lines_hdr)) {
			const struct rf_lines_hdr *h = fr;
			size_t n = len - sizeof *h;
			if (s->len + n > s->cap) {
				s->cap = (s->len + n) * 2;
				s->lines = realloc(s->lines, s->cap);
				if (!s->lines) {
					s->bad = 1;
					break;
				}
			}
			memcpy(s->lines + s->len, h + 1, n);
			s->len += n;
			s->nlines += h->nlines;
		} else {
			s->bad = 1;
		}
		shm_ring_consume(s->cons);
		shm_ring_release(s->cons);
	}
	return NULL;
}

/* A file part: a line of len bytes of c (c = 0: numbered "line N" text),
 * with or without its newline. */
struct part {
	size_t len;
	int newline;
	int long_line;     /* expected to be rejected */
};

/* Writes the parts and returns, in *want, the lines the ring must carry. */
static const char *write_file(const struct part *parts, int n, char **want, size_t *want_len)
{
	static char path[512];
	static int seq;
	snprintf(path, sizeof path, "%s/in%d.csv", tmpdir, seq++);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	size_t cap = 4096, wl = 0;
	char *w = malloc(cap);
	assert_non_null(w);
	for (int i = 0; i < n; i++) {
		const struct part *p = &parts[i];
		if (p->long_line) {
			for (size_t k = 0; k < p->len; k++)
				putc('x', f);
		} else {
			char line[64];
			int ll = snprintf(line, sizeof line, "%d,line %d,%zu", 1700000000 + i, i, p->len);
			assert_true(ll > 0 && (size_t)ll < sizeof line);
			fwrite(line, 1, (size_t)ll, f);
			if (wl + (size_t)ll + 1 > cap) {
				cap *= 2;
				w = realloc(w, cap);
				assert_non_null(w);
			}
			memcpy(w + wl, line, (size_t)ll);
			wl += (size_t)ll;
			w[wl++] = '\n';  /* the framer ends every line with one */
		}
		if (p->newline)
			putc('\n', f);
	}
	assert_int_equal(fclose(f), 0);
	*want = w;
	*want_len = wl;
	return path;
}

static void run(const struct part *parts, int n, uint64_t want_too_long)
{
	char *want;
	size_t want_len;
	const char *path = write_file(parts, n, &want, &want_len);
	uint64_t want_lines = 0;
	for (int i = 0; i < n; i++)
		want_lines += !parts[i].long_line;

	char err[256] = "";
	struct shm_segment *seg = shm_segment_create(RING + (1u << 16), err, sizeof err);
	assert_non_null(seg);
	uint64_t pb = shm_segment_alloc(seg, sizeof(struct shm_doorbell), 64);
	uint64_t cb = shm_segment_alloc(seg, sizeof(struct shm_doorbell), 64);
	shm_doorbell_init(shm_at(seg, pb));
	shm_doorbell_init(shm_at(seg, cb));
	uint64_t ro = shm_ring_create(seg, RING, pb, cb, err, sizeof err);
	assert_true(ro != 0);
	struct shm_ring_handle prod, cons;
	assert_int_equal(shm_ring_handle_init(&prod, seg, ro, err, sizeof err), 0);
	assert_int_equal(shm_ring_handle_init(&cons, seg, ro, err, sizeof err), 0);

	static struct rf_pipeline pl;
	memset(&pl, 0, sizeof pl);
	pl.conf.input.type = CONF_INPUT_FILE;
	pl.conf.input.path = (char *)path;
	struct rf_stats_slot *stats = calloc(1, sizeof *stats);
	assert_non_null(stats);
	struct rf_proc p = { .pl = &pl, .seg = seg, .role = RF_ROLE_INGEST, .stats = stats };
	struct ing_framer fr;
	ing_framer_init(&fr, &prod, 1, stats);

	struct seen s = { .cons = &cons, .bell = shm_at(seg, cb) };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, consume, &s), 0);
	int rc = ing_file_run(&p, &fr);
	assert_int_equal(pthread_join(t, NULL), 0);

	assert_int_equal(rc, 0);
	assert_int_equal(s.bad, 0);
	assert_int_equal(s.eos, 1);
	assert_true(rf_stat_get(stats, RF_ST_LINES_TOO_LONG) == want_too_long);
	assert_true(rf_stat_get(stats, RF_ST_LINES_IN) == want_lines + want_too_long);
	assert_true(s.nlines == want_lines);
	assert_true(s.len == want_len);
	assert_memory_equal(s.lines ? s.lines : "", want, want_len);

	free(s.lines);
	free(want);
	free(stats);
	shm_segment_destroy(seg);
}

#define LINE { 20, 1, 0 }
#define LONG(n) { (n), 1, 1 }

/* The mix of the integration test: 1 MiB + 1 and 3 MiB lines among normal
 * ones, and a long last line without a newline. */
static void test_long_lines_counted_once(void **state)
{
	const struct part parts[] = {
		LINE, LINE, LONG(MIB + 1), LINE, LINE, LONG(3 * MIB), LINE,
		{ MIB + MIB / 2, 0, 1 },
	};
	run(parts, (int)(sizeof parts / sizeof parts[0]), 3);
}

/* Lengths around the 1 MiB read chunk, where the reader's own skipping
 * starts: a line of exactly one chunk (its newline opens the next read), one
 * byte less (newline is the chunk's last byte, the framer rejects it), lines
 * just over the largest frame, back to back and at the very start. */
static void test_chunk_boundaries(void **state)
{
	const struct part parts[] = {
		LONG(MIB), LINE, LONG(MIB - 1), LINE, LONG(ING_FRAME_BYTES), LONG(MIB + 7), LONG(2 * MIB),
		LINE, LONG(RING / 4), LINE,
	};
	run(parts, (int)(sizeof parts / sizeof parts[0]), 6);
	/* The first line of the file over 1 MiB: nothing carried before it. */
	const struct part first[] = { LONG(5 * MIB / 2), LINE };
	run(first, 2, 1);
}

static void test_end_of_file(void **state)
{
	/* A normal last line without a newline is still a line. */
	const struct part normal[] = { LINE, LINE, { 20, 0, 0 } };
	run(normal, 3, 0);
	/* The whole file one long line, no newline at all. */
	const struct part only[] = { { 3 * MIB + 5, 0, 1 } };
	run(only, 1, 1);
	/* A long line whose newline is the last byte of the file. */
	const struct part nl_last[] = { LINE, LONG(2 * MIB) };
	run(nl_last, 2, 1);
	/* Empty file: nothing, and still the end of stream. */
	run(NULL, 0, 0);
}

/* Normal lines only, enough of them to need many frames and many chunks:
 * nothing lost or doubled at chunk or frame boundaries. */
static void test_many_normal_lines(void **state)
{
	enum { N = 200000 };
	struct part *parts = calloc(N, sizeof *parts);
	assert_non_null(parts);
	for (int i = 0; i < N; i++)
		parts[i] = (struct part)LINE;
	run(parts, N, 0);
	free(parts);
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/rf-test-file-source-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_lines_counted_once),
		cmocka_unit_test(test_chunk_boundaries),
		cmocka_unit_test(test_end_of_file),
		cmocka_unit_test(test_many_normal_lines),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
