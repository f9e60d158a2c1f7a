/*
 * test_partitions.c — the ingest's partition table (ingest/partitions.h):
 * the [input] topic list, stable source ids, per-partition entries and the
 * offsets kept per checkpoint until it completes. No librdkafka here: the
 * table is plain data, so nothing is mocked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/partitions.h"
#include "pipeline/checkpoint.h"

/* struct ing_partitions is a few hundred KiB: never on the stack. */
static int setup(void **state)
{
	*state = calloc(1, sizeof(struct ing_partitions));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	ing_parts_free(*state);
	free(*state);
	return 0;
}

static void init_ok(struct ing_partitions *ps, const char *topics)
{
	char err[256] = "";
	if (ing_parts_init(ps, topics, err, sizeof err))
		fail_msg("'%s' refused: %s", topics, err);
}

static void init_refused(struct ing_partitions *ps, const char *topics, const char *want)
{
	char err[256] = "";
	assert_int_equal(ing_parts_init(ps, topics, err, sizeof err), -1);
	if (!strstr(err, want))
		fail_msg("'%s': message \"%s\" lacks \"%s\"", topics, err, want);
}

/* Commas and blanks both separate names; empty items are skipped (Kafka
 * topic names hold neither commas nor blanks). */
static void test_topic_list(void **state)
{
	struct ing_partitions *ps = *state;
	init_ok(ps, "flows");
	assert_int_equal(ps->topics.n, 1);
	assert_string_equal(ps->topics.name[0], "flows");

	init_ok(ps, " a , b,,\tc ,");
	assert_int_equal(ps->topics.n, 3);
	assert_string_equal(ps->topics.name[0], "a");
	assert_string_equal(ps->topics.name[1], "b");
	assert_string_equal(ps->topics.name[2], "c");

	/* A blank inside splits: "my topic" is two topics, as librdkafka
	 * would refuse a name with a blank anyway. */
	init_ok(ps, "my topic");
	assert_int_equal(ps->topics.n, 2);
	assert_string_equal(ps->topics.name[0], "my");
	assert_string_equal(ps->topics.name[1], "topic");

	/* Nothing but separators: no topic (the config refuses this file). */
	init_ok(ps, " , ,");
	assert_int_equal(ps->topics.n, 0);
	init_ok(ps, "");
	assert_int_equal(ps->topics.n, 0);

	/* Re-initialising forgets the previous list. */
	init_ok(ps, "x");
	assert_int_equal(ps->topics.n, 1);
	assert_string_equal(ps->topics.name[0], "x");
}

static void test_topic_limits(void **state)
{
	struct ing_partitions *ps = *state;
	_Static_assert(RF_MAX_TOPICS == 4, "the cases below assume 4 topics");
	init_ok(ps, "t0,t1,t2,t3");
	assert_int_equal(ps->topics.n, RF_MAX_TOPICS);
	init_refused(ps, "t0,t1,t2,t3,t4", "[input] topic: at most 4 topics (ringflow tracks 1024 partitions each)");
	/* Separators after the last allowed name are no fifth topic. */
	init_ok(ps, "t0,t1,t2,t3, ,");
	assert_int_equal(ps->topics.n, RF_MAX_TOPICS);

	char name[CKPT_TOPIC_MAX + 8];
	memset(name, 'n', CKPT_TOPIC_MAX - 1);
	name[CKPT_TOPIC_MAX - 1] = '\0';
	init_ok(ps, name);  /* the longest name that fits */
	assert_int_equal((int)strlen(ps->topics.name[0]), CKPT_TOPIC_MAX - 1);
	char list[2 * CKPT_TOPIC_MAX + 8];
	snprintf(list, sizeof list, "ok,%sN", name);
	init_refused(ps, list, "is longer than 47 characters");
	/* The message quotes the whole offending name, not the rest of the list. */
	snprintf(list, sizeof list, "%sN,next", name);
	char want[sizeof list];
	snprintf(want, sizeof want, "'%sN' is", name);
	init_refused(ps, list, want);
}

static void test_source_ids(void **state)
{
	struct ing_partitions *ps = *state;
	init_ok(ps, "a,b,c,d");
	assert_int_equal(rf_source_id(&ps->topics, "a", 0), 0);
	assert_int_equal(rf_source_id(&ps->topics, "a", 7), 7);
	assert_int_equal(rf_source_id(&ps->topics, "b", 0), RF_PARTITIONS_PER_TOPIC);
	assert_int_equal(rf_source_id(&ps->topics, "c", 5), 2 * RF_PARTITIONS_PER_TOPIC + 5);
	/* The largest id is the last slot of the table. */
	assert_int_equal(rf_source_id(&ps->topics, "d", RF_PARTITIONS_PER_TOPIC - 1), RF_MAX_SOURCES - 1);
	/* No id: beyond the partitions a topic can have, negative, unknown topic,
	 * or a prefix of a known one. */
	assert_int_equal(rf_source_id(&ps->topics, "a", RF_PARTITIONS_PER_TOPIC), -1);
	assert_int_equal(rf_source_id(&ps->topics, "d", RF_PARTITIONS_PER_TOPIC + 100), -1);
	assert_int_equal(rf_source_id(&ps->topics, "a", -1), -1);
	assert_int_equal(rf_source_id(&ps->topics, "e", 0), -1);
	assert_int_equal(rf_source_id(&ps->topics, "", 0), -1);
	init_ok(ps, "flows");
	assert_int_equal(rf_source_id(&ps->topics, "flow", 0), -1);
	assert_int_equal(rf_source_id(&ps->topics, "flowsx", 0), -1);
	/* Stable whatever else is in the list: the id depends on the
	 * position in [input] topic only. */
	init_ok(ps, "flows, other");
	assert_int_equal(rf_source_id(&ps->topics, "flows", 3), 3);
	assert_int_equal(rf_source_id(&ps->topics, "other", 3), RF_PARTITIONS_PER_TOPIC + 3);
}

static void test_entries(void **state)
{
	struct ing_partitions *ps = *state;
	init_ok(ps, "a,b");
	int s = rf_source_id(&ps->topics, "b", 2);
	struct ing_part *p = ing_parts_get(ps, s, "b", 2);
	assert_string_equal(p->topic, "b");
	assert_int_equal(p->partition, 2);
	assert_true(p->next_offset == RF_POSITION_UNKNOWN);
	assert_int_equal(p->lag_slot, -1);
	assert_int_equal(p->owned, 0);
	assert_int_equal(ps->nused, 1);
	assert_int_equal(ps->used[0], s);
	/* The same source again: the same entry, with what was stored in it. */
	p->next_offset = 42;
	p->owned = 1;
	struct ing_part *q = ing_parts_get(ps, s, "b", 2);
	assert_ptr_equal(p, q);
	assert_true(q->next_offset == 42);
	assert_int_equal(ps->nused, 1);
	ing_parts_get(ps, rf_source_id(&ps->topics, "a", 0), "a", 0);
	assert_int_equal(ps->nused, 2);
	/* Every source id has an entry: the table holds all of them. */
	init_ok(ps, "a,b,c,d");
	for (int i = 0; i < RF_MAX_SOURCES; i++) {
		const char *t = ps->topics.name[i / RF_PARTITIONS_PER_TOPIC];
		int32_t part = i % RF_PARTITIONS_PER_TOPIC;
		assert_int_equal(rf_source_id(&ps->topics, t, part), i);
		ing_parts_get(ps, i, t, part)->next_offset = i;
	}
	assert_int_equal(ps->nused, RF_MAX_SOURCES);
	const struct ckpt_offset *offs;
	assert_int_equal(ing_parts_snapshot(ps, 1, &offs), RF_MAX_SOURCES);
	assert_string_equal(offs[RF_MAX_SOURCES - 1].topic, "d");
	assert_int_equal(offs[RF_MAX_SOURCES - 1].partition, RF_PARTITIONS_PER_TOPIC - 1);
}

/* Only partitions with a known position are in a checkpoint's offsets. */
static void test_snapshot_contents(void **state)
{
	struct ing_partitions *ps = *state;
	init_ok(ps, "a,b");
	ing_parts_get(ps, rf_source_id(&ps->topics, "a", 0), "a", 0)->next_offset = 100;
	ing_parts_get(ps, rf_source_id(&ps->topics, "a", 1), "a", 1);  /* assigned, nothing read */
	ing_parts_get(ps, rf_source_id(&ps->topics, "b", 9), "b", 9)->next_offset = 0;
	const struct ckpt_offset *offs = NULL;
	assert_int_equal(ing_parts_snapshot(ps, 5, &offs), 2);
	assert_string_equal(offs[0].topic, "a");
	assert_int_equal(offs[0].partition, 0);
	assert_true(offs[0].next_offset == 100);
	assert_string_equal(offs[1].topic, "b");
	assert_int_equal(offs[1].partition, 9);
	assert_true(offs[1].next_offset == 0);
	const struct ing_pending *pe = ing_parts_pending(ps, 5);
	assert_non_null(pe);
	assert_true(pe->id == 5);
	assert_int_equal(pe->n, 2);
	assert_ptr_equal(pe->offs, offs);
	/* Never stored, or the "no id" 0 of an unused slot. */
	assert_null(ing_parts_pending(ps, 6));
	assert_null(ing_parts_pending(ps, 0));
	/* A snapshot is a copy: later progress does not change it. */
	ing_parts_get(ps, rf_source_id(&ps->topics, "a", 0), "a", 0)->next_offset = 200;
	assert_true(ing_parts_pending(ps, 5)->offs[0].next_offset == 100);
}

/* ING_PENDING checkpoints are kept; the next one reuses the oldest slot and
 * its buffer, so the offsets of the newest ones survive. */
static void test_pending_slot_reuse(void **state)
{
	struct ing_partitions *ps = *state;
	init_ok(ps, "a");
	struct ing_part *p = ing_parts_get(ps, 0, "a", 0);
	const struct ckpt_offset *bufs[ING_PENDING + 1];
	for (uint64_t id = 1; id <= ING_PENDING; id++) {
		p->next_offset = (int64_t)id * 10;
		assert_int_equal(ing_parts_snapshot(ps, id, &bufs[id - 1]), 1);
	}
	for (uint64_t id = 1; id <= ING_PENDING; id++) {
		const struct ing_pending *pe = ing_parts_pending(ps, id);
		assert_non_null(pe);
		assert_true(pe->offs[0].next_offset == (int64_t)id * 10);
	}
	/* One more: checkpoint 1 (the oldest) gives up its slot. */
	p->next_offset = 999;
	assert_int_equal(ing_parts_snapshot(ps, ING_PENDING + 1, &bufs[ING_PENDING]), 1);
	assert_null(ing_parts_pending(ps, 1));
	assert_ptr_equal(bufs[ING_PENDING], bufs[0]);
	for (uint64_t id = 2; id <= ING_PENDING; id++)
		assert_true(ing_parts_pending(ps, id)->offs[0].next_offset == (int64_t)id * 10);
	assert_true(ing_parts_pending(ps, ING_PENDING + 1)->offs[0].next_offset == 999);
	/* Then checkpoint 2, and so on: always the smallest id. */
	assert_int_equal(ing_parts_snapshot(ps, ING_PENDING + 2, &bufs[0]), 1);
	assert_null(ing_parts_pending(ps, 2));
	assert_non_null(ing_parts_pending(ps, 3));
	assert_non_null(ing_parts_pending(ps, ING_PENDING + 2));

	/* Freed buffers are gone; the table can be filled again. */
	ing_parts_free(ps);
	assert_null(ing_parts_pending(ps, ING_PENDING + 1));
	assert_int_equal(ing_parts_snapshot(ps, 50, &bufs[0]), 1);
	assert_non_null(ing_parts_pending(ps, 50));
	ing_parts_free(ps);
	ing_parts_free(ps);  /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_topic_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_topic_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_contents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_slot_reuse, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
