/*
 * alert_state.c — the state_changes_only table: series identity -> last
 * severity sent. See alert_state.h for the contract.
 *
 * A chained hash table (power-of-two buckets, doubled when the load passes
 * 1) plus a list in update order, so the hard cap evicts the series updated
 * longest ago in O(1). Runs in the analyzer host's loop, single-threaded.
 */
#include "analyze/alert_state.h"
#include "common/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 64

struct entry {
	struct entry *chain;             /* next in the bucket */
	struct entry *older, *newer;     /* update order */
	uint64_t hash;
	int severity;
	size_t keylen;
	char key[];
};

struct an_alert_state {
	struct entry **buckets;
	size_t nbuckets;                 /* power of two */
	size_t count, max;
	uint64_t evictions;
	struct entry *oldest, *newest;
	char *kbuf;                      /* the key being looked up */
	size_t kcap;
};

static void *xalloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "alert_state: out of memory (%zu bytes)\n", n);
		abort();
	}
	return p;
}

struct an_alert_state *an_alert_state_new(size_t max_series)
{
	struct an_alert_state *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->nbuckets = MIN_BUCKETS;
	st->buckets = calloc(st->nbuckets, sizeof *st->buckets);
	st->kcap = 256;
	st->kbuf = malloc(st->kcap);
	st->max = max_series ? max_series : AN_ALERT_STATE_DEFAULT_MAX;
	if (!st->buckets || !st->kbuf) {
		an_alert_state_free(st);
		return NULL;
	}
	return st;
}

void an_alert_state_free(struct an_alert_state *st)
{
	if (!st)
		return;
	for (struct entry *e = st->oldest, *next; e; e = next) {
		next = e->newer;
		free(e);
	}
	free(st->buckets);
	free(st->kbuf);
	free(st);
}

size_t an_alert_state_count(const struct an_alert_state *st)
{
	return st->count;
}

uint64_t an_alert_state_evictions(const struct an_alert_state *st)
{
	return st->evictions;
}

static void lru_unlink(struct an_alert_state *st, struct entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		st->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		st->newest = e->older;
	e->older = e->newer = NULL;
}

static void lru_push(struct an_alert_state *st, struct entry *e)
{
	e->older = st->newest;
	e->newer = NULL;
	if (st->newest)
		st->newest->newer = e;
	else
		st->oldest = e;
	st->newest = e;
}

/* The link that points at e (bucket head or a chain field). */
static struct entry **find_link(struct an_alert_state *st, uint64_t h, const char *key, size_t len)
{
	struct entry **l = &st->buckets[h & (st->nbuckets - 1)];
	for (; *l; l = &(*l)->chain)
		if ((*l)->hash == h && (*l)->keylen == len && !memcmp((*l)->key, key, len))
			return l;
	return l;
}

static void remove_entry(struct an_alert_state *st, struct entry *e)
{
	struct entry **l = find_link(st, e->hash, e->key, e->keylen);
	*l = e->chain;
	lru_unlink(st, e);
	st->count--;
	free(e);
}

static void grow(struct an_alert_state *st)
{
	size_t n = st->nbuckets * 2;
	struct entry **b = calloc(n, sizeof *b);
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < st->nbuckets; i++)
		for (struct entry *e = st->buckets[i], *next; e; e = next) {
			next = e->chain;
			e->chain = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(st->buckets);
	st->buckets = b;
	st->nbuckets = n;
}

int an_alert_state_pass(struct an_alert_state *st, const struct an_alert *a)
{
	if (a->severity < 0 || a->severity >= DET_SEVERITY_COUNT)
		return -1;
	size_t len = an_alert_series_key(a, st->kbuf, st->kcap);
	if (len >= st->kcap) {
		st->kcap = len + 1;
		st->kbuf = xalloc(st->kbuf, st->kcap);
		an_alert_series_key(a, st->kbuf, st->kcap);
	}
	uint64_t h = rf_hash64(st->kbuf, len, 0x616c657274ULL);
	struct entry **l = find_link(st, h, st->kbuf, len);
	struct entry *e = *l;
	int last = e ? e->severity : DET_OK;

	if (a->severity == last)
		return 0;
	if (a->severity == DET_OK) {
		remove_entry(st, e); /* e exists: last != ok */
		return 1;
	}
	if (e) {
		e->severity = a->severity;
		lru_unlink(st, e);
		lru_push(st, e);
		return 1;
	}
	if (st->count >= st->max) {
		remove_entry(st, st->oldest);
		st->evictions++;
		l = find_link(st, h, st->kbuf, len); /* the chain may have changed */
	}
	e = xalloc(NULL, sizeof *e + len + 1);
	e->hash = h;
	e->severity = a->severity;
	e->keylen = len;
	memcpy(e->key, st->kbuf, len + 1);
	e->chain = NULL;
	*l = e;
	lru_push(st, e);
	st->count++;
	if (st->count > st->nbuckets)
		grow(st);
	return 1;
}
