/*
 * serial.h — bounds-checked little-endian / LEB128 cursors for the compact
 * state serialisation (funcs_serial.c, funcs_pct.c, ddsketch.c) that checkpoints store.
 * Aggregate processes. A cursor that runs out of room or input sets a sticky
 * flag instead of touching memory past the end; callers check it once.
 */
#ifndef AGG_SERIAL_H
#define AGG_SERIAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct agg_wcur {
	uint8_t *p;
	size_t len, cap;
	int full;      /* a write did not fit */
};

struct agg_rcur {
	const uint8_t *p;
	size_t len, pos;
	int bad;       /* a read went past the end or a varint was malformed */
};

static inline void agg_w_bytes(struct agg_wcur *w, const void *s, size_t n)
{
	if (w->full || w->cap - w->len < n) {
		w->full = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static inline void agg_w_u8(struct agg_wcur *w, uint8_t v) { agg_w_bytes(w, &v, 1); }

static inline void agg_w_u64(struct agg_wcur *w, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	agg_w_bytes(w, b, 8);
}

static inline void agg_w_f64(struct agg_wcur *w, double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	agg_w_u64(w, v);
}

static inline void agg_w_varint(struct agg_wcur *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	agg_w_bytes(w, b, n);
}

static inline void agg_w_svarint(struct agg_wcur *w, int64_t v)
{
	agg_w_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline const uint8_t *agg_r_bytes(struct agg_rcur *r, size_t n)
{
	if (r->bad || r->len - r->pos < n) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *p = r->p + r->pos;
	r->pos += n;
	return p;
}

static inline uint8_t agg_r_u8(struct agg_rcur *r)
{
	const uint8_t *p = agg_r_bytes(r, 1);
	return p ? p[0] : 0;
}

static inline uint64_t agg_r_u64(struct agg_rcur *r)
{
	const uint8_t *p = agg_r_bytes(r, 8);
	uint64_t v = 0;
	if (p)
		for (int i = 0; i < 8; i++)
			v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline double agg_r_f64(struct agg_rcur *r)
{
	uint64_t v = agg_r_u64(r);
	double d;
	memcpy(&d, &v, 8);
	return d;
}

static inline uint64_t agg_r_varint(struct agg_rcur *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		const uint8_t *p = agg_r_bytes(r, 1);
		if (!p)
			return 0;
		v |= (uint64_t)(p[0] & 0x7f) << shift;
		if (!(p[0] & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

static inline int64_t agg_r_svarint(struct agg_rcur *r)
{
	uint64_t u = agg_r_varint(r);
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

#endif
