/*
 * winstore.c — open windows of one rule: per-window arena + hash table,
 * update per record, emission as line protocol (see winstore.h).
 * Aggregate processes. The per-record path (agg_ws_add) does a table probe
 * and the state updates; it allocates only when an arena chunk fills or the
 * table doubles.
 */
#include "aggregate/winstore.h"
#include "pipeline/lineproto.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_TIME_LIMIT (INT64_C(1) << 62)
#define WS_INITIAL_SLOTS 64u
/* Emission buffers above this are given back after the window is out. */
#define WS_LP_KEEP (16u << 20)

struct agg_window {
	int64_t start, end;
	struct agg_arena arena;
	struct agg_alloc al;     /* allocates from arena */
	uint64_t *slots;         /* tag << 32 | ref, 0 = empty */
	uint32_t mask;
	uint32_t nkeys;
	uint8_t *overflow;       /* record of the overflow series, or NULL */
};

struct agg_winstore {
	const struct agg_rule *rule;
	uint16_t rule_idx;
	struct agg_window **wins; /* open windows by ascending start */
	uint32_t nwins, capwins;
	struct agg_window *last;  /* the window the previous record used */
	int64_t closed_upto;      /* windows ending at or before this are gone */
	uint32_t rec_key_off;     /* offset of key_len inside a record */
	uint64_t max_keys;        /* this process's share of rule->max_keys, 0 = unlimited */
	char shard[12];           /* tag value of the overflow series */
	struct agg_ws_counters c;
	struct lp_buf lp;
};

struct agg_winstore *agg_ws_create(const struct agg_rule *rule, uint16_t rule_idx, uint32_t shard,
				   uint32_t nshards)
{
	if (nshards < 1 || shard >= nshards)
		return NULL;
	struct agg_winstore *ws = calloc(1, sizeof *ws);
	if (!ws)
		return NULL;
	ws->rule = rule;
	ws->rule_idx = rule_idx;
	ws->closed_upto = INT64_MIN;
	ws->rec_key_off = rule->state_size;
	ws->max_keys = rule->max_keys;
	if (!agg_rule_is_top(rule) && rule->max_keys)
		ws->max_keys = rule->max_keys / nshards + (rule->max_keys % nshards != 0);
	snprintf(ws->shard, sizeof ws->shard, "%u", shard);
	lp_buf_init(&ws->lp);
	return ws;
}

static void window_free(struct agg_window *w)
{
	if (!w)
		return;
	agg_arena_free(&w->arena);
	free(w->slots);
	free(w);
}

void agg_ws_destroy(struct agg_winstore *ws)
{
	if (!ws)
		return;
	for (uint32_t i = 0; i < ws->nwins; i++)
		window_free(ws->wins[i]);
	free(ws->wins);
	lp_buf_free(&ws->lp);
	free(ws);
}

static struct agg_window *window_new(int64_t start, int64_t end)
{
	struct agg_window *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->slots = calloc(WS_INITIAL_SLOTS, sizeof *w->slots);
	if (!w->slots) {
		free(w);
		return NULL;
	}
	w->mask = WS_INITIAL_SLOTS - 1;
	w->start = start;
	w->end = end;
	agg_arena_init(&w->arena);
	w->al.alloc = agg_arena_alloc_cb;
	w->al.ctx = &w->arena;
	return w;
}

/* The open window starting at start, created if needed; NULL on ENOMEM. */
static struct agg_window *window_get(struct agg_winstore *ws, int64_t start)
{
	if (ws->last && ws->last->start == start)
		return ws->last;
	uint32_t lo = 0, hi = ws->nwins;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (ws->wins[mid]->start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ws->nwins && ws->wins[lo]->start == start)
		return ws->last = ws->wins[lo];
	if (ws->nwins == ws->capwins) {
		uint32_t cap = ws->capwins ? ws->capwins * 2 : 8;
		struct agg_window **nw = realloc(ws->wins, cap * sizeof *nw);
		if (!nw)
			return NULL;
		ws->wins = nw;
		ws->capwins = cap;
	}
	struct agg_window *w = window_new(start, start + ws->rule->window_ns);
	if (!w)
		return NULL;
	memmove(&ws->wins[lo + 1], &ws->wins[lo], (ws->nwins - lo) * sizeof *ws->wins);
	ws->wins[lo] = w;
	ws->nwins++;
	return ws->last = w;
}

static int table_grow(struct agg_window *w)
{
	uint32_t ncap = (w->mask + 1) * 2;
	if (ncap == 0)
		return -1;
	uint64_t *ns = calloc(ncap, sizeof *ns);
	if (!ns)
		return -1;
	uint32_t nmask = ncap - 1;
	for (uint32_t i = 0; i <= w->mask; i++) {
		uint64_t s = w->slots[i];
		if (!s)
			continue;
		uint32_t j = (uint32_t)(s >> 32) & nmask;
		while (ns[j])
			j = (j + 1) & nmask;
		ns[j] = s;
	}
	free(w->slots);
	w->slots = ns;
	w->mask = nmask;
	return 0;
}

/* A fresh key record: initialised states, then key_len and key bytes. */
static uint8_t *record_new(struct agg_winstore *ws, struct agg_window *w, const uint8_t *key,
			   uint16_t key_len, uint32_t *ref)
{
	const struct agg_rule *r = ws->rule;
	size_t size = ws->rec_key_off + 2 + (size_t)key_len;
	uint8_t *rec = agg_arena_alloc(&w->arena, size, ref);
	if (!rec)
		return NULL;
	for (int s = 0; s < r->nstates; s++)
		agg_state_init(r->states[s].fn, rec + r->states[s].offset);
	memcpy(rec + ws->rec_key_off, &key_len, 2);
	if (key_len)
		memcpy(rec + ws->rec_key_off + 2, key, key_len);
	return rec;
}

/* The record of the row's key in w: found, inserted, or the overflow
 * record when the window is full. NULL on ENOMEM. */
static uint8_t *window_record(struct agg_winstore *ws, struct agg_window *w,
			      const struct rf_row *row, int *overflowed)
{
	uint32_t tag = (uint32_t)row->key_hash;
	uint32_t i = tag & w->mask;
	for (;;) {
		uint64_t s = w->slots[i];
		if (!s)
			break;
		if ((uint32_t)(s >> 32) == tag) {
			uint8_t *rec = agg_arena_ptr(&w->arena, (uint32_t)s);
			uint16_t kl;
			memcpy(&kl, rec + ws->rec_key_off, 2);
			if (kl == row->key_len && memcmp(rec + ws->rec_key_off + 2, row->key, kl) == 0)
				return rec;
		}
		i = (i + 1) & w->mask;
	}
	/* Full by max_keys, or (only when growing the table failed) by the
	 * table itself: probing needs one free slot to stop. */
	if ((ws->max_keys && w->nkeys >= ws->max_keys) || w->nkeys >= w->mask) {
		*overflowed = 1;
		if (!w->overflow)
			w->overflow = record_new(ws, w, NULL, 0, NULL);
		return w->overflow;
	}
	uint32_t ref;
	uint8_t *rec = record_new(ws, w, row->key, row->key_len, &ref);
	if (!rec)
		return NULL;
	w->slots[i] = (uint64_t)tag << 32 | ref;
	w->nkeys++;
	if ((uint64_t)w->nkeys * 4 > (uint64_t)(w->mask + 1) * 3 && table_grow(w) < 0) {
		/* Keep going at a higher load; the next insert retries. */
	}
	return rec;
}

static void record_update(struct agg_winstore *ws, struct agg_window *w, uint8_t *rec,
			  const struct rf_row *row)
{
	const struct agg_rule *r = ws->rule;
	for (int s = 0; s < r->nstates; s++) {
		const struct agg_state_desc *sd = &r->states[s];
		const struct rf_value *v = sd->arg >= 0 ? &row->vals[sd->arg] : NULL;
		if (agg_state_update(sd->fn, rec + sd->offset, v, row->time_ns, &w->al) < 0)
			ws->c.nomem++;
	}
}

static int64_t floor_to(int64_t t, int64_t step)
{
	int64_t m = t % step;
	if (m < 0)
		m += step;
	return t - m;
}

int agg_ws_add(struct agg_winstore *ws, const struct rf_row *row, int64_t watermark)
{
	int64_t closed = watermark > ws->closed_upto ? watermark : ws->closed_upto;
	const struct agg_rule *r = ws->rule;
	int64_t t = row->time_ns;
	if (t <= -WS_TIME_LIMIT || t >= WS_TIME_LIMIT) {
		ws->c.bad_time++;
		return -1;
	}
	int applied = 0;
	/* Newest window first: start = floor(t / every) * every, then back by
	 * every while the window still contains t. */
	for (int64_t start = floor_to(t, r->every_ns); start > t - r->window_ns; start -= r->every_ns) {
		if (start + r->window_ns <= closed) {
			ws->c.late++;
			continue;
		}
		struct agg_window *w = window_get(ws, start);
		if (!w) {
			ws->c.nomem++;
			continue;
		}
		int overflowed = 0;
		uint8_t *rec = window_record(ws, w, row, &overflowed);
		if (!rec) {
			ws->c.nomem++;
			continue;
		}
		ws->c.overflow += (uint64_t)overflowed;
		record_update(ws, w, rec, row);
		applied = 1;
	}
	ws->c.rows += (uint64_t)applied;
	return 0;
}

/* ---- emission ---- */

static const uint8_t *record_key(const struct agg_winstore *ws, const uint8_t *rec, uint16_t *len)
{
	memcpy(len, rec + ws->rec_key_off, 2);
	return rec + ws->rec_key_off + 2;
}

static void emit_field(struct lp_enc *p, const char *name, const struct rf_value *v)
{
	size_t nl = strlen(name);
	char tmp[INET6_ADDRSTRLEN];
	switch (v->type) {
	case RF_V_INT:
		lp_field_int(p, name, nl, v->u.i);
		break;
	case RF_V_FLOAT:
		lp_field_float(p, name, nl, v->u.f);
		break;
	case RF_V_BOOL:
		lp_field_bool(p, name, nl, v->u.i != 0);
		break;
	case RF_V_STR:
		lp_field_str(p, name, nl, v->u.s, v->len);
		break;
	case RF_V_IP:
		if (v->ip_is_v4 ? inet_ntop(AF_INET, v->u.ip + 12, tmp, sizeof tmp)
				: inet_ntop(AF_INET6, v->u.ip, tmp, sizeof tmp))
			lp_field_str(p, name, nl, tmp, strlen(tmp));
		break;
	default:
		break;
	}
}

/* Appends one point; returns 1 if written, 0 if it had no field. */
static int emit_point(struct agg_winstore *ws, const struct agg_window *w, const uint8_t *rec,
		      int is_overflow)
{
	const struct agg_rule *r = ws->rule;
	struct lp_enc p;
	lp_begin(&p, &ws->lp, r->measurement, strlen(r->measurement));
	if (is_overflow) {
		lp_tag(&p, "overflow", 8, "true", 4);
		lp_tag(&p, "shard", 5, ws->shard, strlen(ws->shard));
	} else {
		uint16_t key_len, pos = 0;
		const uint8_t *key = record_key(ws, rec, &key_len);
		for (int i = 0; i < r->shape.nkeys && pos + 2 <= key_len; i++) {
			uint16_t l;
			memcpy(&l, key + pos, 2);
			lp_tag(&p, r->key_names[i], strlen(r->key_names[i]),
				  (const char *)key + pos + 2, l);
			pos = (uint16_t)(pos + 2 + l);
		}
	}
	for (int a = 0; a < r->naggs; a++) {
		const struct agg_spec *sp = &r->aggs[a];
		const struct agg_state_desc *sd = &r->states[sp->state];
		struct rf_value v;
		agg_state_result(sd->fn, rec + sd->offset, sp->q, &v);
		emit_field(&p, sp->name, &v);
	}
	return lp_end(&p, w->start) == 0;
}

struct top_item {
	double v;
	int has;
	const uint8_t *rec;
};

/* Ranks a above b: larger value; present before absent; then the smaller
 * key bytes, so the choice never depends on table order. */
static int top_above(const struct agg_winstore *ws, const struct top_item *a, const struct top_item *b)
{
	if (a->has != b->has)
		return a->has;
	if (a->has && a->v != b->v)
		return a->v > b->v;
	uint16_t la, lb;
	const uint8_t *ka = record_key(ws, a->rec, &la), *kb = record_key(ws, b->rec, &lb);
	int c = memcmp(ka, kb, la < lb ? la : lb);
	return c != 0 ? c < 0 : la < lb;
}

/* Min-heap on "above": the root is the weakest of the kept items. */
static void heap_down(const struct agg_winstore *ws, struct top_item *h, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, m = i;
		if (l < n && top_above(ws, &h[m], &h[l]))
			m = l;
		if (l + 1 < n && top_above(ws, &h[m], &h[l + 1]))
			m = l + 1;
		if (m == i)
			return;
		struct top_item t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void top_value(const struct agg_winstore *ws, const uint8_t *rec, struct top_item *it)
{
	const struct agg_rule *r = ws->rule;
	const struct agg_spec *sp = &r->aggs[r->top_agg];
	const struct agg_state_desc *sd = &r->states[sp->state];
	struct rf_value v;
	agg_state_result(sd->fn, rec + sd->offset, sp->q, &v);
	it->rec = rec;
	it->has = 1;
	if (v.type == RF_V_INT || v.type == RF_V_BOOL)
		it->v = (double)v.u.i;
	else if (v.type == RF_V_FLOAT && v.u.f == v.u.f)
		it->v = v.u.f;
	else
		it->has = 0, it->v = 0;
}

/* Emits the top_n keys of w in descending order. Falls back to every key
 * when the ranking array cannot be allocated (better too much than none). */
static uint32_t emit_top(struct agg_winstore *ws, const struct agg_window *w, uint32_t *empty)
{
	uint32_t n = (uint32_t)ws->rule->top_n, k = 0, pts = 0;
	struct top_item *h = malloc((size_t)n * sizeof *h);
	if (!h)
		return UINT32_MAX;
	for (uint32_t i = 0; i <= w->mask; i++) {
		uint64_t s = w->slots[i];
		if (!s)
			continue;
		struct top_item it;
		top_value(ws, agg_arena_ptr(&w->arena, (uint32_t)s), &it);
		if (k < n) {
			h[k++] = it;
			if (k == n)
				for (uint32_t j = n / 2; j-- > 0;)
					heap_down(ws, h, n, j);
		} else if (top_above(ws, &it, &h[0])) {
			h[0] = it;
			heap_down(ws, h, n, 0);
		}
	}
	if (k < n)
		for (uint32_t j = k / 2; j-- > 0;)
			heap_down(ws, h, k, j);
	/* Pop the weakest to the back: h ends up in descending order. */
	for (uint32_t m = k; m > 1; m--) {
		struct top_item t = h[0];
		h[0] = h[m - 1];
		h[m - 1] = t;
		heap_down(ws, h, m - 1, 0);
	}
	for (uint32_t j = 0; j < k; j++) {
		if (emit_point(ws, w, h[j].rec, 0))
			pts++;
		else
			(*empty)++;
	}
	free(h);
	return pts;
}

static void window_emit(struct agg_winstore *ws, struct agg_window *w, agg_emit_fn emit, void *arg)
{
	uint32_t pts = UINT32_MAX, empty = 0;
	lp_buf_reset(&ws->lp);
	if (ws->rule->top_n > 0 && w->nkeys > (uint32_t)ws->rule->top_n)
		pts = emit_top(ws, w, &empty);
	if (pts == UINT32_MAX) {
		pts = 0;
		for (uint32_t i = 0; i <= w->mask; i++) {
			uint64_t s = w->slots[i];
			if (!s)
				continue;
			if (emit_point(ws, w, agg_arena_ptr(&w->arena, (uint32_t)s), 0))
				pts++;
			else
				empty++;
		}
	}
	if (w->overflow) {
		if (emit_point(ws, w, w->overflow, 1))
			pts++;
		else
			empty++;
	}
	ws->c.windows_emitted++;
	ws->c.points_emitted += pts;
	ws->c.points_empty += empty;
	if (emit)
		emit(arg, ws->rule_idx, w->start, w->end, ws->lp.data ? ws->lp.data : "", ws->lp.len, pts);
	if (ws->lp.cap > WS_LP_KEEP)
		lp_buf_free(&ws->lp);
}

void agg_ws_advance(struct agg_winstore *ws, int64_t watermark, int flush_all,
		    agg_emit_fn emit, void *arg)
{
	uint32_t n = 0;
	int64_t closed = ws->closed_upto;
	while (n < ws->nwins && (flush_all || ws->wins[n]->end <= watermark)) {
		struct agg_window *w = ws->wins[n++];
		window_emit(ws, w, emit, arg);
		if (w->end > closed)
			closed = w->end;
		if (ws->last == w)
			ws->last = NULL;
		window_free(w);
	}
	if (n) {
		memmove(ws->wins, ws->wins + n, (ws->nwins - n) * sizeof *ws->wins);
		ws->nwins -= n;
	}
	if (!flush_all && watermark > closed)
		closed = watermark;
	ws->closed_upto = closed;
}

const struct agg_ws_counters *agg_ws_counters(const struct agg_winstore *ws)
{
	return &ws->c;
}

uint64_t agg_ws_live_keys(const struct agg_winstore *ws)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < ws->nwins; i++)
		n += ws->wins[i]->nkeys + (ws->wins[i]->overflow ? 1 : 0);
	return n;
}

size_t agg_ws_bytes(const struct agg_winstore *ws)
{
	size_t b = ws->capwins * sizeof *ws->wins;
	for (uint32_t i = 0; i < ws->nwins; i++) {
		const struct agg_window *w = ws->wins[i];
		b += sizeof *w + w->arena.bytes + ((size_t)w->mask + 1) * sizeof *w->slots;
	}
	return b;
}

uint32_t agg_ws_open_windows(const struct agg_winstore *ws)
{
	return ws->nwins;
}

/* ---- checkpoints ---- */

int64_t agg_ws_closed_upto(const struct agg_winstore *ws)
{
	return ws->closed_upto;
}

void agg_ws_raise_closed_upto(struct agg_winstore *ws, int64_t t)
{
	if (t > ws->closed_upto)
		ws->closed_upto = t;
}

void agg_ws_window_info(const struct agg_winstore *ws, uint32_t i, struct agg_ws_window_info *out)
{
	const struct agg_window *w = ws->wins[i];
	out->start = w->start;
	out->nkeys = w->nkeys;
	out->overflow = w->overflow;
}

/* The bitmap has one bit per 8-byte arena unit, indexed by reference
 * (chunk << AGG_ARENA_UNIT_BITS | unit): every chunk is at most
 * AGG_ARENA_MAX_CHUNK bytes, so 2^AGG_ARENA_UNIT_BITS bits cover one. */
size_t agg_ws_walk_words(const struct agg_winstore *ws, uint32_t i)
{
	return (size_t)ws->wins[i]->arena.nchunks << (AGG_ARENA_UNIT_BITS - 6);
}

int agg_ws_walk(const struct agg_winstore *ws, uint32_t i, uint64_t *bitmap,
		int (*fn)(void *arg, const uint8_t *rec), void *arg)
{
	const struct agg_window *w = ws->wins[i];
	size_t words = agg_ws_walk_words(ws, i);
	memset(bitmap, 0, words * sizeof *bitmap);
	for (uint32_t j = 0; j <= w->mask; j++) {
		uint32_t ref = (uint32_t)w->slots[j];
		if (w->slots[j])
			bitmap[ref >> 6] |= UINT64_C(1) << (ref & 63);
	}
	for (size_t k = 0; k < words; k++)
		for (uint64_t b = bitmap[k]; b; b &= b - 1) {
			uint32_t ref = (uint32_t)(k << 6) | (uint32_t)__builtin_ctzll(b);
			int rc = fn(arg, agg_arena_ptr(&w->arena, ref));
			if (rc)
				return rc;
		}
	return 0;
}

uint8_t *agg_ws_restore_record(struct agg_winstore *ws, int64_t start, const uint8_t *key,
			       uint16_t key_len, uint64_t key_hash, int *fresh, int *overflowed,
			       const struct agg_alloc **al)
{
	*fresh = 0;
	*overflowed = 0;
	struct agg_window *w = window_get(ws, start);
	if (!w) {
		ws->c.nomem++;
		return NULL;
	}
	*al = &w->al;
	uint8_t *rec;
	if (!key) {
		*overflowed = 1;
		if (!w->overflow) {
			w->overflow = record_new(ws, w, NULL, 0, NULL);
			*fresh = w->overflow != NULL;
		}
		rec = w->overflow;
	} else {
		/* window_record reads only the key fields of a row. */
		struct rf_row row = { .key = key, .key_len = key_len, .key_hash = key_hash };
		uint32_t nkeys = w->nkeys;
		const uint8_t *ov = w->overflow;
		rec = window_record(ws, w, &row, overflowed);
		*fresh = rec && (w->nkeys != nkeys || (*overflowed && !ov));
	}
	if (!rec)
		ws->c.nomem++;
	return rec;
}
