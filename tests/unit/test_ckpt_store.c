/*
 * test_ckpt_store.c — the LMDB checkpoint store (common/ckpt_store.h):
 * offsets (larger offset wins), state blobs, completion with carry-forward
 * and pruning, discarding incomplete checkpoints, persistence across
 * reopen, and refusal (never a crash) of garbage and truncated files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ckpt_store.h"

static char dir[] = "/tmp/rf-ckpt-test-XXXXXX";
static char err[512];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rf-ckpt-test-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ckpt_remove(dir, "t", err, sizeof err);
	rmdir(dir);
	return 0;
}

struct seen {
	struct ckpt_offset o[16];
	int n;
	uint32_t owners[8];
	size_t lens[8];
	unsigned char first[8];
	int nstates;
};

static int on_offset(void *arg, const struct ckpt_offset *o)
{
	struct seen *s = arg;
	assert_true(s->n < 16);
	s->o[s->n++] = *o;
	return 0;
}

static int on_state(void *arg, uint32_t owner, const void *blob, size_t len)
{
	struct seen *s = arg;
	assert_true(s->nstates < 8);
	s->owners[s->nstates] = owner;
	s->lens[s->nstates] = len;
	s->first[s->nstates] = len ? ((const unsigned char *)blob)[0] : 0;
	s->nstates++;
	return 0;
}

static int64_t offset_of(const struct seen *s, const char *topic, int32_t partition)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->o[i].topic, topic) && s->o[i].partition == partition)
			return s->o[i].next_offset;
	return -1;
}

static void offs(struct ckpt_offset *o, const char *topic, int32_t partition, int64_t off)
{
	memset(o, 0, sizeof *o);
	snprintf(o->topic, sizeof o->topic, "%s", topic);
	o->partition = partition;
	o->next_offset = off;
}

static void test_round_trip_and_carry_forward(void **state)
{
	(void)state;
	struct ckpt_store *st = ckpt_open(dir, "t", err, sizeof err);
	assert_non_null(st);
	struct ckpt_info info;
	assert_int_equal(ckpt_last_complete(st, &info, err, sizeof err), 0);
	assert_int_equal(info.id, 0);

	/* Checkpoint 1: two ingests both saw partition 1 (it moved between
	 * them); the larger offset must win whichever wrote last. */
	struct ckpt_offset a[3], b[2];
	offs(&a[0], "sflow", 0, 100);
	offs(&a[1], "sflow", 1, 500);
	offs(&a[2], "other", 0, 7);
	offs(&b[0], "sflow", 1, 450);
	offs(&b[1], "sflow", 2, 300);
	assert_int_equal(ckpt_put_offsets(st, 1, a, 3, err, sizeof err), 0);
	assert_int_equal(ckpt_put_offsets(st, 1, b, 2, err, sizeof err), 0);
	size_t big = 3 << 20; /* larger than a page: overflow pages */
	unsigned char *blob = malloc(big);
	memset(blob, 0xab, big);
	assert_int_equal(ckpt_put_state(st, 1, 0, blob, big, err, sizeof err), 0);
	blob[0] = 0x11;
	assert_int_equal(ckpt_put_state(st, 1, 1, blob, 10, err, sizeof err), 0);
	struct ckpt_info i1 = { 1, 1000, 5 };
	assert_int_equal(ckpt_complete(st, 1, 0, &i1, err, sizeof err), 0);
	assert_int_equal(ckpt_last_complete(st, &info, err, sizeof err), 0);
	assert_int_equal(info.id, 1);
	assert_int_equal(info.completed_ns, 1000);

	struct seen s = { 0 };
	assert_int_equal(ckpt_each_offset(st, 1, on_offset, &s, err, sizeof err), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(offset_of(&s, "sflow", 0), 100);
	assert_int_equal(offset_of(&s, "sflow", 1), 500);
	assert_int_equal(offset_of(&s, "sflow", 2), 300);
	assert_int_equal(offset_of(&s, "other", 0), 7);
	assert_int_equal(ckpt_each_state(st, 1, on_state, &s, err, sizeof err), 0);
	assert_int_equal(s.nstates, 2);
	assert_int_equal(s.owners[0], 0);
	assert_int_equal(s.lens[0], big);
	assert_int_equal(s.first[0], 0xab);
	assert_int_equal(s.owners[1], 1);
	assert_int_equal(s.lens[1], 10);
	assert_int_equal(s.first[1], 0x11);

	/* Checkpoint 2 mentions only sflow/0: the rest is carried forward,
	 * checkpoint 1 pruned. */
	struct ckpt_offset c;
	offs(&c, "sflow", 0, 180);
	assert_int_equal(ckpt_put_offsets(st, 2, &c, 1, err, sizeof err), 0);
	assert_int_equal(ckpt_put_state(st, 2, 0, blob, 3, err, sizeof err), 0);
	struct ckpt_info i2 = { 2, 2000, 6 };
	assert_int_equal(ckpt_complete(st, 2, 1, &i2, err, sizeof err), 0);
	memset(&s, 0, sizeof s);
	assert_int_equal(ckpt_each_offset(st, 2, on_offset, &s, err, sizeof err), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(offset_of(&s, "sflow", 0), 180);
	assert_int_equal(offset_of(&s, "sflow", 1), 500);
	assert_int_equal(offset_of(&s, "other", 0), 7);
	memset(&s, 0, sizeof s);
	assert_int_equal(ckpt_each_offset(st, 1, on_offset, &s, err, sizeof err), 0);
	assert_int_equal(ckpt_each_state(st, 1, on_state, &s, err, sizeof err), 0);
	assert_int_equal(s.n + s.nstates, 0);

	/* An interrupted checkpoint 3 leaves parts behind; the next data
	 * plane discards them. */
	offs(&c, "sflow", 0, 999);
	assert_int_equal(ckpt_put_offsets(st, 3, &c, 1, err, sizeof err), 0);
	assert_int_equal(ckpt_put_state(st, 3, 1, blob, 5, err, sizeof err), 0);
	assert_int_equal(ckpt_discard_after(st, 2, err, sizeof err), 0);
	memset(&s, 0, sizeof s);
	assert_int_equal(ckpt_each_offset(st, 3, on_offset, &s, err, sizeof err), 0);
	assert_int_equal(ckpt_each_state(st, 3, on_state, &s, err, sizeof err), 0);
	assert_int_equal(s.n + s.nstates, 0);
	ckpt_close(st);

	/* Everything complete survives a reopen. */
	st = ckpt_open(dir, "t", err, sizeof err);
	assert_non_null(st);
	assert_int_equal(ckpt_last_complete(st, &info, err, sizeof err), 0);
	assert_int_equal(info.id, 2);
	assert_int_equal(info.duration_ns, 6);
	memset(&s, 0, sizeof s);
	assert_int_equal(ckpt_each_state(st, 2, on_state, &s, err, sizeof err), 0);
	assert_int_equal(s.nstates, 1);
	assert_int_equal(s.lens[0], 3);
	ckpt_close(st);
	free(blob);
}

static void store_file(char *p, size_t n)
{
	snprintf(p, n, "%s/t.mdb", dir);
}

static void test_garbage_file_refused(void **state)
{
	(void)state;
	char p[600];
	store_file(p, sizeof p);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	for (int i = 0; i < 100000; i++)
		fputc((i * 7919) & 0xff, f);
	fclose(f);
	err[0] = '\0';
	assert_null(ckpt_open(dir, "t", err, sizeof err));
	assert_non_null(strstr(err, "t.mdb"));
	assert_non_null(strstr(err, "--reset-state"));
}

static void test_truncated_file_refused(void **state)
{
	(void)state;
	struct ckpt_store *st = ckpt_open(dir, "t", err, sizeof err);
	assert_non_null(st);
	size_t n = 1 << 20;
	unsigned char *blob = calloc(1, n);
	for (uint64_t id = 1; id <= 3; id++) {
		assert_int_equal(ckpt_put_state(st, id, 0, blob, n, err, sizeof err), 0);
		struct ckpt_info in = { id, 1, 1 };
		assert_int_equal(ckpt_complete(st, id, id - 1, &in, err, sizeof err), 0);
	}
	ckpt_close(st);
	free(blob);
	char p[600];
	store_file(p, sizeof p);
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(truncate(p, sb.st_size / 3), 0);
	err[0] = '\0';
	/* Must be refused up front: reading pages past the end would SIGBUS. */
	assert_null(ckpt_open(dir, "t", err, sizeof err));
	assert_non_null(strstr(err, "truncated"));
	assert_non_null(strstr(err, "--reset-state"));

	/* --reset-state removes it and a fresh store opens. */
	assert_int_equal(ckpt_remove(dir, "t", err, sizeof err), 0);
	assert_int_equal(access(p, F_OK), -1);
	st = ckpt_open(dir, "t", err, sizeof err);
	assert_non_null(st);
	struct ckpt_info info;
	assert_int_equal(ckpt_last_complete(st, &info, err, sizeof err), 0);
	assert_int_equal(info.id, 0);
	ckpt_close(st);
}

static void test_missing_dir_named(void **state)
{
	(void)state;
	err[0] = '\0';
	assert_null(ckpt_open("/nonexistent/rf-dir", "t", err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent/rf-dir/t.mdb"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_and_carry_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir_named, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
