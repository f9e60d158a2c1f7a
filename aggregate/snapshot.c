/*
 * snapshot.c — the checkpoint state of one aggregate process (engine.h):
 * every open window of every rule, each rule's closed_upto and the
 * watermark as one blob (agg_engine_snapshot, on barrier N), and the merge
 * of such blobs into an engine at (re)start (agg_engine_restore).
 * Aggregate processes; called from the main loop. No I/O here: the caller
 * stores and loads the blobs (LMDB).
 *
 * FORMAT, version 2. u16/u32/u64: fixed width, little-endian. varint:
 * LEB128; svarint: zigzag LEB128 (serial.h).
 *
 *   header (24 bytes)
 *     u32      magic "RFAS" ('R' first byte)
 *     u16      format version (2; version 1 is still read, see below);
 *              any other version is refused
 *     u16      0 (reserved)
 *     u64      body length
 *     u64      checksum of the body (blob_checksum)
 *   body
 *     varint   the writer: index of the aggregate process whose state this
 *              is, i.e. the shard its overflow series are tagged with
 *              (absent in version 1)
 *     svarint  highest event time ever seen (INT64_MIN: none)
 *     varint   number of sources, then per source that has seen events:
 *              varint id (< AGG_WM_MAX_SOURCES), svarint its max event time
 *     varint   number of rules, then per rule:
 *       varint   name length (1 .. CONF_NAME_MAX - 1), name bytes
 *       u64      agg_rule.fingerprint
 *       u64      bytes of the rest of this rule (a discarded rule is skipped)
 *       svarint  closed_upto
 *       varint   number of windows, then per window, by ascending start:
 *         svarint  start (the end follows: the fingerprint covers the window)
 *         varint   number of keys
 *         u8       1 if the overflow series follows, else 0
 *         [overflow series: its states]
 *         per key: varint key length, the key bytes (the row's key section:
 *                  per key field a host-order u16 length and the text),
 *                  then its states
 *   The states of a record: agg_state_serialize() of each rule->states[],
 *   in order (each carries its own version and function byte; version 1
 *   states are read too, funcs.h).
 *   Version 1 is version 2 without the writer; it is read so that state
 *   checkpointed by the previous release survives an upgrade.
 *
 * Why so:
 *  - The key hash is not stored: rows seed it with the rule's index (row.h),
 *    and rule indices may change between runs (rules are matched by name),
 *    so a restore recomputes it from the key bytes for the rule's index now;
 *    that hash then routes the key (rf_route_row) and indexes the table.
 *  - The overflow series has no key to route by. Each aggregate process
 *    has its own, tagged shard=<its index> (winstore.h), so it goes back to
 *    the process that wrote it: after a crash, with the same process count,
 *    a replayed window then rewrites every overflow point it wrote before
 *    instead of leaving a stale one of another shard next to a merged one.
 *    With fewer processes now, the writer's index modulo the count; for
 *    `top = N` rules, the one process owning the rule; for a version 1
 *    blob (writer unknown), aggregate 0. Several old overflow series of one
 *    window may thus merge into one.
 *  - The checksum: LMDB checksums nothing, and a torn or rotten value must
 *    give an error, never silently wrong numbers. It runs at memory speed.
 *  - Host byte order inside key sections, like rows: checkpoints stay on
 *    the host that wrote them.
 *
 * Snapshot: one pass over the open windows, writing straight into the
 * caller's buffer, which is sized up front from the windows' memory and
 * kept between checkpoints; no allocation per key. Records are read in
 * arena order (agg_ws_walk), i.e. memory forwards.
 *
 * Restore is two passes over the blob. The first checks all of it (header,
 * checksum, every length, every key section, every state, deserialised into
 * scratch memory) and changes nothing, so a bad blob leaves the engine as
 * it was; the second applies, and can then fail only for lack of memory.
 * Every aggregate process checks every key, also those it will not keep,
 * so all of them judge one blob alike.
 */
#include "aggregate/engine.h"
#include "pipeline/row.h"
#include "aggregate/serial.h"
#include "aggregate/watermark.h"
#include "common/hash.h"
#include "common/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOB_MAGIC   0x53414652u   /* "RFAS" little-endian */
#define BLOB_VERSION 2
#define BLOB_HDR     24
#define TIME_LIMIT   (INT64_C(1) << 62)   /* as winstore.c */
/* A state that does not fit in this much room is not a state. */
#define STATE_ROOM_MAX (16u << 20)

/* ---- checksum ---- */

/* xxHash64's round on four lanes: about 2 multiplies per 8 bytes, so a
 * 10 MB blob costs well under a millisecond. Not cryptographic. */
#define CK_P1 0x9e3779b185ebca87ULL
#define CK_P2 0xc2b2ae3d27d4eb4fULL
#define CK_P4 0x85ebca77c2b2ae63ULL
#define CK_P5 0x27d4eb2f165667c5ULL

static inline uint64_t rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static inline uint64_t ck_round(uint64_t acc, uint64_t in)
{
	acc += in * CK_P2;
	return rotl64(acc, 31) * CK_P1;
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint64_t blob_checksum(const uint8_t *p, size_t n)
{
	uint64_t v1 = CK_P1 + CK_P2, v2 = CK_P2, v3 = 0, v4 = 0 - CK_P1;
	size_t i = 0;
	for (; n - i >= 32; i += 32) {
		v1 = ck_round(v1, ld64(p + i));
		v2 = ck_round(v2, ld64(p + i + 8));
		v3 = ck_round(v3, ld64(p + i + 16));
		v4 = ck_round(v4, ld64(p + i + 24));
	}
	uint64_t h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
	h ^= (uint64_t)n * CK_P5;
	for (; n - i >= 8; i += 8)
		h = rotl64(h ^ ck_round(0, ld64(p + i)), 27) * CK_P1 + CK_P4;
	for (; i < n; i++)
		h = rotl64(h ^ (p[i] * CK_P5), 11) * CK_P1;
	return rf_mix64(h);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- snapshot ---- */

void agg_blob_free(struct agg_blob *b)
{
	if (!b)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* At least n free bytes after b->len. */
static int blob_reserve(struct agg_blob *b, size_t n)
{
	if (b->cap - b->len >= n)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* The put_* helpers write into room the caller reserved. */
static inline void put_varint(struct agg_blob *b, uint64_t v)
{
	uint8_t *p = b->p + b->len;
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	b->len = (size_t)(p - b->p);
}

static inline void put_svarint(struct agg_blob *b, int64_t v)
{
	put_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline void put_u64(struct agg_blob *b, uint64_t v)
{
	put_le(b->p + b->len, v, 8);
	b->len += 8;
}

/* The states of one record. */
static int put_states(struct agg_blob *b, const struct agg_rule *r, const uint8_t *rec)
{
	for (int s = 0; s < r->nstates; s++) {
		const struct agg_state_desc *sd = &r->states[s];
		for (;;) {
			size_t n = agg_state_serialize(sd->fn, rec + sd->offset, b->p + b->len,
						       b->cap - b->len);
			if (n) {
				b->len += n;
				break;
			}
			size_t room = b->cap - b->len;
			if (room >= STATE_ROOM_MAX || blob_reserve(b, room < 4096 ? 8192 : 2 * room) < 0)
				return -1;
		}
	}
	return 0;
}

/* Bytes a fixed-size item needs at most: a varint is up to 10. */
#define VARINT_MAX 10

struct put_key {
	struct agg_blob *b;
	const struct agg_rule *r;
	uint32_t n;
};

static int put_key(void *arg, const uint8_t *rec)
{
	struct put_key *pk = arg;
	struct agg_blob *b = pk->b;
	uint16_t kl;
	/* Record layout (winstore.h): states, u16 key length, key bytes. */
	memcpy(&kl, rec + pk->r->state_size, 2);
	if (blob_reserve(b, 3 + (size_t)kl) < 0)
		return -1;
	put_varint(b, kl);
	memcpy(b->p + b->len, rec + pk->r->state_size + 2, kl);
	b->len += kl;
	pk->n++;
	return put_states(b, pk->r, rec);
}

static int put_rule(struct agg_blob *b, const struct agg_rule *r, const struct agg_winstore *ws,
		    const struct agg_engine_parts *ep)
{
	size_t nl = strlen(r->name);
	if (blob_reserve(b, 3 * VARINT_MAX + nl + 16) < 0)
		return -1;
	put_varint(b, nl);
	memcpy(b->p + b->len, r->name, nl);
	b->len += nl;
	put_u64(b, r->fingerprint);
	size_t sec = b->len;
	put_u64(b, 0);                    /* section length, set below */
	put_svarint(b, agg_ws_closed_upto(ws));
	uint32_t nwins = agg_ws_open_windows(ws);
	put_varint(b, nwins);
	for (uint32_t i = 0; i < nwins; i++) {
		struct agg_ws_window_info wi;
		agg_ws_window_info(ws, i, &wi);
		if (blob_reserve(b, 2 * VARINT_MAX + 1) < 0)
			return -1;
		put_svarint(b, wi.start);
		put_varint(b, wi.nkeys);
		b->p[b->len++] = wi.overflow != NULL;
		if (wi.overflow && put_states(b, r, wi.overflow) < 0)
			return -1;
		size_t words = agg_ws_walk_words(ws, i);
		if (words > *ep->walk_words) {
			uint64_t *nb = realloc(*ep->walk, words * sizeof *nb);
			if (!nb)
				return -1;
			*ep->walk = nb;
			*ep->walk_words = words;
		}
		struct put_key pk = { .b = b, .r = r };
		if (agg_ws_walk(ws, i, *ep->walk, put_key, &pk) < 0)
			return -1;
		/* The count was written first; the walk must agree. */
		if (pk.n != wi.nkeys)
			return -1;
	}
	put_le(b->p + sec, b->len - sec - 8, 8);
	return 0;
}

int agg_engine_snapshot(struct agg_engine *e, struct agg_blob *b)
{
	struct agg_engine_parts ep;
	agg_engine_parts(e, &ep);
	const struct agg_watermark *wm = ep.wm;
	/* Room for everything in one go in the usual case: a serialised
	 * state is rarely larger than its fixed part in memory, plus a key of
	 * some 30 bytes. Not agg_ws_bytes: sketches hold mostly empty buckets
	 * that serialise to nothing, and reserving gigabytes for them could
	 * fail. More, when needed, comes by doubling. */
	size_t est = BLOB_HDR + 4 * VARINT_MAX + (size_t)wm->nsources * 2 * VARINT_MAX;
	for (int i = 0; i < ep.nrules; i++)
		est += CONF_NAME_MAX + 4 * VARINT_MAX + 16 +
		       agg_ws_open_windows(ep.ws[i]) * (size_t)(2 * VARINT_MAX + 1) +
		       agg_ws_live_keys(ep.ws[i]) * (size_t)(ep.rules[i].state_size + 32);
	b->len = 0;
	if (blob_reserve(b, est) < 0)
		goto nomem;
	b->len = BLOB_HDR;
	put_varint(b, ep.self);
	put_svarint(b, wm->max_event_ns);
	uint32_t nsrc = 0;
	for (uint32_t s = 0; s < wm->nsources; s++)
		nsrc += wm->src[s].tracked != 0;
	put_varint(b, nsrc);
	for (uint32_t s = 0; s < wm->nsources; s++) {
		if (!wm->src[s].tracked)
			continue;
		put_varint(b, s);
		put_svarint(b, wm->src[s].max_event_ns);
	}
	put_varint(b, (uint64_t)ep.nrules);
	for (int i = 0; i < ep.nrules; i++)
		if (put_rule(b, &ep.rules[i], ep.ws[i], &ep) < 0)
			goto nomem;
	put_le(b->p, BLOB_MAGIC, 4);
	put_le(b->p + 4, BLOB_VERSION, 2);
	put_le(b->p + 6, 0, 2);
	put_le(b->p + 8, b->len - BLOB_HDR, 8);
	put_le(b->p + 16, blob_checksum(b->p + BLOB_HDR, b->len - BLOB_HDR), 8);
	return 0;
nomem:
	b->len = 0;
	return -1;
}

/* ---- restore ---- */

struct restore {
	struct agg_engine_parts ep;
	int apply;                    /* 0: check only, 1: merge into the engine */
	unsigned version;             /* of the blob */
	uint64_t writer;              /* its writer (version 2 on) */
	int64_t now_ns;
	struct agg_restore_stats st;
	void *state;                  /* scratch for one state, max state size */
	struct agg_arena arena;       /* scratch for what states grow into */
	struct agg_alloc al;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct restore *rs, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(rs->err, rs->errlen, "checkpoint state: %s", msg);
	return -1;
}

/* A key section as rows carry it: exactly shape.nkeys fields, nothing after. */
static int key_valid(const struct agg_rule *r, const uint8_t *key, size_t kl)
{
	size_t pos = 0;
	for (int i = 0; i < r->shape.nkeys; i++) {
		uint16_t l;
		if (kl - pos < 2)
			return 0;
		memcpy(&l, key + pos, 2);
		if (kl - pos - 2 < l)
			return 0;
		pos += 2 + (size_t)l;
	}
	return pos == kl;
}

/* The states of one record at r: merged into the engine when mine and
 * applying, otherwise deserialised into scratch (checked, or skipped).
 * key == NULL: the overflow series. */
static int restore_record(struct restore *rs, const struct agg_rule *r, struct agg_winstore *ws,
			  int64_t start, const uint8_t *key, uint16_t kl, uint64_t hash, int mine,
			  struct agg_rcur *c, int *applied)
{
	uint8_t *rec = NULL;
	int fresh = 0, overflowed = 0;
	const struct agg_alloc *wal = NULL;
	char derr[128];
	if (rs->apply && mine) {
		rec = agg_ws_restore_record(ws, start, key, kl, hash, &fresh, &overflowed, &wal);
		if (!rec)
			return fail(rs, "rule %s: out of memory", r->name);
	}
	for (int s = 0; s < r->nstates; s++) {
		const struct agg_state_desc *sd = &r->states[s];
		/* A fresh record's states are initial: deserialise in place. */
		void *dst = rec && fresh ? rec + sd->offset : rs->state;
		const struct agg_alloc *al = rec && fresh ? wal : &rs->al;
		size_t used;
		if (agg_state_deserialize(sd->fn, dst, c->p + c->pos, c->len - c->pos, &used, al,
					  derr, sizeof derr) < 0)
			return fail(rs, "rule %s, window %" PRId64 ": %s", r->name, start, derr);
		c->pos += used;
		if (rec && !fresh && agg_state_merge(sd->fn, rec + sd->offset, rs->state, wal) < 0)
			return fail(rs, "rule %s: out of memory", r->name);
	}
	/* What the scratch states grew into is dead now. */
	agg_arena_reset(&rs->arena);
	if (rs->apply) {
		if (!mine) {
			rs->st.keys_skipped_other_owner++;
		} else {
			rs->st.keys++;
			rs->st.keys_overflow += (uint64_t)(overflowed && key);
			*applied = 1;
		}
	}
	return 0;
}

static int64_t floor_to(int64_t t, int64_t step)
{
	int64_t m = t % step;
	if (m < 0)
		m += step;
	return t - m;
}

/* One matched rule's section (after the section length). */
static int restore_rule(struct restore *rs, int ri, struct agg_rcur *c)
{
	const struct agg_rule *r = &rs->ep.rules[ri];
	struct agg_winstore *ws = rs->ep.ws[ri];
	uint32_t self = rs->ep.self, n = rs->ep.naggregates;
	int64_t closed = agg_r_svarint(c);
	uint64_t nwins = agg_r_varint(c);
	for (uint64_t w = 0; w < nwins && !c->bad; w++) {
		int64_t start = agg_r_svarint(c);
		uint64_t nkeys = agg_r_varint(c);
		uint8_t has_ov = agg_r_u8(c);
		if (c->bad)
			break;
		if (start <= -TIME_LIMIT || start >= TIME_LIMIT || floor_to(start, r->every_ns) != start)
			return fail(rs, "rule %s: window start %" PRId64 " is not one", r->name, start);
		if (has_ov > 1)
			return fail(rs, "rule %s, window %" PRId64 ": bad overflow flag", r->name, start);
		int applied = 0;
		if (has_ov) {
			uint32_t dest = agg_rule_is_top(r) || rs->version < 2
					? rf_route_row(&r->shape, (uint16_t)ri, 0, n) : (uint32_t)(rs->writer % n);
			int mine = dest == self;
			if (restore_record(rs, r, ws, start, NULL, 0, 0, mine, c, &applied) < 0)
				return -1;
		}
		for (uint64_t k = 0; k < nkeys; k++) {
			uint64_t kl = agg_r_varint(c);
			const uint8_t *key = kl <= UINT16_MAX ? agg_r_bytes(c, (size_t)kl) : NULL;
			if (!key)
				return fail(rs, "rule %s, window %" PRId64 ": key %" PRIu64 " truncated",
					    r->name, start, k);
			if (!key_valid(r, key, (size_t)kl))
				return fail(rs, "rule %s, window %" PRId64 ": key %" PRIu64 " malformed",
					    r->name, start, k);
			uint64_t h = rf_hash64(key, (size_t)kl, (uint64_t)ri);
			int mine = rf_route_row(&r->shape, (uint16_t)ri, h, n) == self;
			if (restore_record(rs, r, ws, start, key, (uint16_t)kl, h, mine, c, &applied) < 0)
				return -1;
		}
		rs->st.windows += (uint64_t)applied;
	}
	if (c->bad)
		return fail(rs, "rule %s: truncated", r->name);
	if (c->pos != c->len)
		return fail(rs, "rule %s: %zu stray bytes", r->name, c->len - c->pos);
	if (rs->apply)
		agg_ws_raise_closed_upto(ws, closed);
	return 0;
}

static int find_rule(const struct agg_engine_parts *ep, const uint8_t *name, size_t nl)
{
	for (int i = 0; i < ep->nrules; i++)
		if (strlen(ep->rules[i].name) == nl && memcmp(ep->rules[i].name, name, nl) == 0)
			return i;
	return -1;
}

static int restore_body(struct restore *rs, struct agg_rcur *c)
{
	if (rs->version >= 2) {
		rs->writer = agg_r_varint(c);
		if (c->bad || rs->writer > UINT32_MAX)
			return fail(rs, "bad writer");
	}
	int64_t gmax = agg_r_svarint(c);
	uint64_t nsrc = agg_r_varint(c);
	if (c->bad || nsrc > AGG_WM_MAX_SOURCES)
		return fail(rs, "watermark: truncated or malformed");
	for (uint64_t i = 0; i < nsrc; i++) {
		uint64_t id = agg_r_varint(c);
		int64_t mx = agg_r_svarint(c);
		if (c->bad || id >= AGG_WM_MAX_SOURCES)
			return fail(rs, "watermark: truncated or malformed");
		if (rs->apply)
			agg_wm_restore_source(rs->ep.wm, (uint32_t)id, mx, rs->now_ns);
	}
	if (rs->apply)
		agg_wm_restore_max(rs->ep.wm, gmax);
	uint64_t nrules = agg_r_varint(c);
	for (uint64_t i = 0; i < nrules && !c->bad; i++) {
		uint64_t nl = agg_r_varint(c);
		if (c->bad || nl == 0 || nl >= CONF_NAME_MAX)
			return fail(rs, "rule %" PRIu64 ": bad name", i);
		const uint8_t *name = agg_r_bytes(c, (size_t)nl);
		uint64_t fp = agg_r_u64(c), seclen = agg_r_u64(c);
		if (c->bad || seclen > c->len - c->pos)
			return fail(rs, "rule %" PRIu64 ": truncated", i);
		struct agg_rcur sec = { .p = c->p + c->pos, .len = (size_t)seclen };
		c->pos += (size_t)seclen;
		int ri = find_rule(&rs->ep, name, (size_t)nl);
		if (ri < 0 || rs->ep.rules[ri].fingerprint != fp) {
			if (rs->apply) {
				rs->st.rules_discarded++;
				rf_warn("checkpoint state: rule [aggregate.%.*s] %s since the checkpoint: "
					"its saved windows are discarded", (int)nl, (const char *)name,
					ri < 0 ? "is gone" : "has changed");
			}
			continue;
		}
		if (restore_rule(rs, ri, &sec) < 0)
			return -1;
	}
	if (c->bad)
		return fail(rs, "truncated rule list");
	if (c->pos != c->len)
		return fail(rs, "%zu stray bytes after the rules", c->len - c->pos);
	return 0;
}

int agg_engine_restore(struct agg_engine *e, const void *blob, size_t len, int64_t now_ns,
		       struct agg_restore_stats *st, char *err, size_t errlen)
{
	struct restore rs = { .now_ns = now_ns, .err = err, .errlen = errlen };
	const uint8_t *p = blob;
	int ret = -1;
	agg_engine_parts(e, &rs.ep);
	if (!p || len < BLOB_HDR)
		return fail(&rs, "truncated (%zu bytes)", len);
	if (get_le(p, 4) != BLOB_MAGIC)
		return fail(&rs, "not an aggregate checkpoint (bad magic)");
	unsigned ver = (unsigned)get_le(p + 4, 2);
	if (ver != BLOB_VERSION && ver != 1)
		return fail(&rs, "format version %u, this build reads versions 1 to %u", ver, BLOB_VERSION);
	rs.version = ver;
	if (get_le(p + 6, 2) != 0)
		return fail(&rs, "unknown header flags %#x", (unsigned)get_le(p + 6, 2));
	uint64_t body = get_le(p + 8, 8);
	if (body != len - BLOB_HDR)
		return fail(&rs, "truncated or padded: %zu body bytes, header says %" PRIu64,
			    len - BLOB_HDR, body);
	if (blob_checksum(p + BLOB_HDR, len - BLOB_HDR) != get_le(p + 16, 8))
		return fail(&rs, "checksum mismatch: the stored state is corrupt");

	size_t smax = 8;
	for (int i = 0; i < rs.ep.nrules; i++)
		for (int s = 0; s < rs.ep.rules[i].nstates; s++)
			if (agg_state_size(rs.ep.rules[i].states[s].fn) > smax)
				smax = agg_state_size(rs.ep.rules[i].states[s].fn);
	rs.state = calloc(1, smax);
	if (!rs.state)
		return fail(&rs, "out of memory");
	agg_arena_init(&rs.arena);
	rs.al.alloc = agg_arena_alloc_cb;
	rs.al.ctx = &rs.arena;
	for (rs.apply = 0; rs.apply <= 1; rs.apply++) {
		struct agg_rcur c = { .p = p + BLOB_HDR, .len = len - BLOB_HDR };
		if (restore_body(&rs, &c) < 0)
			goto out;
	}
	if (st) {
		st->windows += rs.st.windows;
		st->keys += rs.st.keys;
		st->keys_skipped_other_owner += rs.st.keys_skipped_other_owner;
		st->rules_discarded += rs.st.rules_discarded;
		st->keys_overflow += rs.st.keys_overflow;
	}
	ret = 0;
out:
	agg_arena_free(&rs.arena);
	free(rs.state);
	return ret;
}

/* For tests: recomputes the checksum of a blob edited in place, so that a
 * fuzzer reaches the parser behind it. Not declared in engine.h on purpose. */
void agg_snapshot_reseal(void *blob, size_t len);
void agg_snapshot_reseal(void *blob, size_t len)
{
	uint8_t *p = blob;
	if (len < BLOB_HDR)
		return;
	put_le(p + 8, len - BLOB_HDR, 8);
	put_le(p + 16, blob_checksum(p + BLOB_HDR, len - BLOB_HDR), 8);
}
