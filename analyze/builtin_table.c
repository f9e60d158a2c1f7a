/*
 * builtin_table.c — the driver's (rule, series, field) state table; see
 * builtin_table.h for its layout. Single-threaded; allocates only when a
 * new entry is created or the slot array doubles.
 */
#include "analyze/builtin_table.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/log.h"

int bt_table_init(struct bt_table *t, size_t state_size, size_t max_states)
{
	memset(t, 0, sizeof *t);
	t->state_size = state_size;
	t->max_states = max_states;
	t->cap = 1024;
	t->slots = calloc(t->cap, sizeof *t->slots);
	t->rules = calloc(BT_MAX_RULES, sizeof *t->rules);
	return t->slots && t->rules ? 0 : -1;
}

void bt_table_free(struct bt_table *t)
{
	if (t->slots)
		for (size_t i = 0; i < t->cap; i++)
			free(t->slots[i]);
	free(t->slots);
	if (t->rules)
		for (uint32_t i = 0; i < t->nrules; i++)
			free(t->rules[i].name);
	free(t->rules);
	memset(t, 0, sizeof *t);
}

static uint64_t entry_hash(uint64_t series_hash, const char *field, size_t flen, uint32_t rule)
{
	return rf_mix64(series_hash ^ rf_hash64(field, flen, 0x5a17) ^ ((uint64_t)rule * 0x9e3779b97f4a7c15ULL));
}

static int entry_is(const struct bt_entry *e, uint64_t h, uint32_t rule, const char *key, size_t klen,
		    const char *field, size_t flen)
{
	return e->hash == h && e->rule == rule && e->klen == klen && e->flen == flen &&
	       !memcmp(e->key, key, klen) && !memcmp(e->key + klen + 1, field, flen);
}

static int grow(struct bt_table *t)
{
	size_t ncap = t->cap * 2;
	struct bt_entry **ns = calloc(ncap, sizeof *ns);
	if (!ns)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		struct bt_entry *e = t->slots[i];
		if (!e)
			continue;
		size_t j = e->hash & (ncap - 1);
		while (ns[j])
			j = (j + 1) & (ncap - 1);
		ns[j] = e;
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

struct bt_entry *bt_lookup(struct bt_table *t, uint32_t rule, const char *key, size_t klen, uint64_t kh,
			   const char *field, size_t flen, int *created)
{
	uint64_t h = entry_hash(kh, field, flen, rule);
	size_t mask = t->cap - 1, i = h & mask;
	*created = 0;
	for (; t->slots[i]; i = (i + 1) & mask)
		if (entry_is(t->slots[i], h, rule, key, klen, field, flen))
			return t->slots[i];
	if (t->count >= t->max_states)
		return NULL;
	size_t off = (sizeof(struct bt_entry) + klen + flen + 2 + 7) & ~(size_t)7;
	struct bt_entry *e = malloc(off + t->state_size);
	if (!e)
		return NULL;
	e->hash = h;
	e->rule = rule;
	e->klen = (uint32_t)klen;
	e->flen = (uint32_t)flen;
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	memcpy(e->key + klen + 1, field, flen);
	e->key[klen + 1 + flen] = '\0';
	e->state = (char *)e + off;
	struct bt_rule *r = &t->rules[rule];
	e->last_seen = e->updated = 0;
	e->prev = NULL;
	e->next = r->head;
	if (r->head)
		r->head->prev = e;
	r->head = e;
	t->slots[i] = e;
	t->count++;
	*created = 1;
	/* A failed grow leaves a fuller table that still works: next time. */
	if (2 * t->count > t->cap && grow(t) < 0)
		RF_LOG_RL(RF_LOG_WARN, "state table: cannot grow past %zu slots (out of memory)", t->cap);
	return e;
}

/* Backward-shift deletion: later entries of the probe run move up so every
 * entry stays reachable from its home slot without tombstones. */
void bt_remove(struct bt_table *t, struct bt_entry *e)
{
	size_t mask = t->cap - 1, i = e->hash & mask;
	while (t->slots[i] != e)
		i = (i + 1) & mask;
	size_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		struct bt_entry *f = t->slots[j];
		if (!f)
			break;
		size_t home = f->hash & mask;
		/* f may fill hole i if its home is not in (i, j] cyclically. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->slots[i] = f;
			i = j;
		}
	}
	t->slots[i] = NULL;
	struct bt_rule *r = &t->rules[e->rule];
	if (e->prev)
		e->prev->next = e->next;
	else
		r->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	t->count--;
	free(e);
}

int bt_rule_index(struct bt_table *t, const char *name, uint32_t *out)
{
	for (uint32_t i = 0; i < t->nrules; i++)
		if (!strcmp(t->rules[i].name, name)) {
			*out = i;
			return 0;
		}
	if (t->nrules == BT_MAX_RULES)
		return -1;
	char *copy = strdup(name);
	if (!copy)
		return -1;
	t->rules[t->nrules].name = copy;
	*out = t->nrules++;
	return 0;
}
