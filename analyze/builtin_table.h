/*
 * builtin_table.h — the state table of the built-in analyzer driver
 * (analyze/builtin.c): one entry per (rule, series, field), each holding a
 * detector state of a fixed size. Internal to the driver; single-threaded.
 *
 * Open addressing with linear probing over an array of entry pointers,
 * power-of-two capacity, load kept at most 1/2 (doubling, so rehashes are
 * amortised and stop once the set of series is stable), and backward-shift
 * deletion, so no tombstones pile up as series come and go. Each entry is
 * one allocation: header, key bytes ("series key\0field\0"), then the
 * state at an 8-byte-aligned offset. A rule's entries are also on its list,
 * so the driver's end-of-window sweep walks only them. The hash mixes the
 * series key's rf_hash64 (computed once per point by the caller) with the
 * field's hash and the rule index.
 */
#ifndef ANALYZE_BUILTIN_TABLE_H
#define ANALYZE_BUILTIN_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define BT_MAX_RULES 1024

struct bt_entry {
	struct bt_entry *next, *prev;  /* the rule's list */
	uint64_t hash;
	uint64_t last_seen;            /* rule window number with a value */
	uint64_t updated;              /* rule window number of the last update */
	uint32_t rule;
	uint32_t klen, flen;           /* key = series[klen] '\0' field[flen] '\0' */
	void *state;
	char key[];
};

struct bt_rule {
	char *name;
	uint64_t seq;                  /* windows of this rule so far */
	struct bt_entry *head;
	int history_done;
};

struct bt_table {
	size_t state_size, max_states;
	struct bt_entry **slots;
	size_t cap, count;
	struct bt_rule *rules;         /* BT_MAX_RULES */
	uint32_t nrules;
};

/* 0, or -1 when out of memory (then bt_table_free is still fine). */
int bt_table_init(struct bt_table *t, size_t state_size, size_t max_states);
void bt_table_free(struct bt_table *t);
/* The entry of (rule, series key, field); kh = rf_hash64(key, klen, 0).
 * Created when absent (*created = 1; its state is the caller's to
 * initialise). NULL when max_states are in use or memory ran out. */
struct bt_entry *bt_lookup(struct bt_table *t, uint32_t rule, const char *key, size_t klen, uint64_t kh,
			   const char *field, size_t flen, int *created);
void bt_remove(struct bt_table *t, struct bt_entry *e);
/* The index of rule `name`, added when new. 0, or -1 when BT_MAX_RULES are
 * in use or memory ran out. */
int bt_rule_index(struct bt_table *t, const char *name, uint32_t *out);

#endif
