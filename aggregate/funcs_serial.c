/*
 * funcs_serial.c — the compact, versioned serialisation of the aggregate
 * states (format in funcs.h) that checkpoints store and restores read back.
 * Aggregate processes, at checkpoint and restore time, never per record;
 * reading a state allocates its strings and sketches from the allocator
 * it is given. The count_distinct and percentile payloads are written by
 * their own modules (hll.c, funcs_pct.c).
 */
#include <stdio.h>
#include <string.h>

#include "aggregate/funcs.h"
#include "aggregate/funcs_pct.h"
#include "aggregate/funcs_state.h"
#include "aggregate/hll.h"
#include "aggregate/serial.h"

size_t agg_state_serialize(enum agg_fn fn, const void *st, void *buf, size_t cap)
{
	struct agg_wcur w = { .p = buf, .cap = cap };
	agg_w_u8(&w, AGG_STATE_VERSION);
	agg_w_u8(&w, (uint8_t)fn);
	switch (fn) {
	case AGG_FN_SUM: case AGG_FN_MULT: case AGG_FN_MIN: case AGG_FN_MAX: {
		const struct st_num *s = st;
		agg_w_u8(&w, s->kind);
		if (s->kind == NUM_INT)
			agg_w_svarint(&w, s->v.i);
		else if (s->kind == NUM_FLOAT)
			agg_w_f64(&w, s->v.f);
		break;
	}
	case AGG_FN_COUNT:
		agg_w_varint(&w, ((const struct st_count *)st)->n);
		break;
	case AGG_FN_AVG: {
		const struct st_avg *s = st;
		agg_w_f64(&w, s->sum);
		agg_w_varint(&w, s->n);
		break;
	}
	case AGG_FN_COUNT_DISTINCT:
		agg_cd_serialize(&w, st);
		break;
	case AGG_FN_STDDEV: {
		const struct st_stddev *s = st;
		agg_w_varint(&w, s->n);
		agg_w_f64(&w, s->mean);
		agg_w_f64(&w, s->m2);
		break;
	}
	case AGG_FN_PERCENTILE:
		agg_pct_serialize(&w, st);
		break;
	case AGG_FN_FIRST:
	case AGG_FN_LAST: {
		const struct st_fl *s = st;
		agg_w_u8(&w, s->type);
		if (s->type == RF_V_MISSING)
			break;
		agg_w_svarint(&w, s->t);
		switch (s->type) {
		case RF_V_STR:
			agg_w_varint(&w, s->len);
			agg_w_bytes(&w, fl_str(s), s->len);
			break;
		case RF_V_IP:
			agg_w_u8(&w, s->ip_is_v4);
			agg_w_bytes(&w, s->u.ip, 16);
			break;
		case RF_V_FLOAT:
			agg_w_f64(&w, s->u.f);
			break;
		default:
			agg_w_svarint(&w, s->u.i);
			break;
		}
		break;
	}
	default:
		return 0;
	}
	return w.full ? 0 : w.len;
}

int agg_state_deserialize(enum agg_fn fn, void *st, const void *buf, size_t len, size_t *used,
			  const struct agg_alloc *al, char *err, size_t errlen)
{
	struct agg_rcur r = { .p = buf, .len = len };
	uint8_t ver = agg_r_u8(&r), f = agg_r_u8(&r);
	if (r.bad) {
		snprintf(err, errlen, "state: truncated header");
		return -1;
	}
	if (ver < 1 || ver > AGG_STATE_VERSION) {
		snprintf(err, errlen, "state: version %u, expected 1 to %u", ver, AGG_STATE_VERSION);
		return -1;
	}
	if (f != (uint8_t)fn) {
		snprintf(err, errlen, "state: holds %s, expected %s", agg_fn_name((enum agg_fn)f),
			 agg_fn_name(fn));
		return -1;
	}
	agg_state_init(fn, st);
	switch (fn) {
	case AGG_FN_SUM: case AGG_FN_MULT: case AGG_FN_MIN: case AGG_FN_MAX: {
		struct st_num *s = st;
		uint8_t kind = agg_r_u8(&r);
		if (kind == NUM_INT)
			s->v.i = agg_r_svarint(&r);
		else if (kind == NUM_FLOAT)
			s->v.f = agg_r_f64(&r);
		else if (kind != NUM_NONE)
			goto bad;
		s->kind = kind;
		break;
	}
	case AGG_FN_COUNT:
		((struct st_count *)st)->n = agg_r_varint(&r);
		break;
	case AGG_FN_AVG: {
		struct st_avg *s = st;
		s->sum = agg_r_f64(&r);
		s->n = agg_r_varint(&r);
		break;
	}
	case AGG_FN_COUNT_DISTINCT: {
		int rc = agg_cd_deserialize(&r, ver, st, al);
		if (rc == -2) {
			snprintf(err, errlen, "state: out of memory");
			return -1;
		}
		if (rc < 0)
			goto bad;
		break;
	}
	case AGG_FN_STDDEV: {
		struct st_stddev *s = st;
		s->n = agg_r_varint(&r);
		s->mean = agg_r_f64(&r);
		s->m2 = agg_r_f64(&r);
		break;
	}
	case AGG_FN_PERCENTILE: {
		int rc = agg_pct_deserialize(&r, ver, st, al, err, errlen);
		if (rc == -2)
			return -1;
		if (rc < 0)
			goto bad;
		break;
	}
	case AGG_FN_FIRST:
	case AGG_FN_LAST: {
		struct st_fl *s = st;
		struct rf_value v = { .type = agg_r_u8(&r) };
		if (v.type == RF_V_MISSING)
			break;
		int64_t t = agg_r_svarint(&r);
		switch (v.type) {
		case RF_V_STR: {
			uint64_t n = agg_r_varint(&r);
			if (n > UINT32_MAX)
				goto bad;
			v.u.s = (const char *)agg_r_bytes(&r, (size_t)n);
			v.len = (uint32_t)n;
			break;
		}
		case RF_V_IP: {
			v.ip_is_v4 = agg_r_u8(&r);
			const uint8_t *ip = agg_r_bytes(&r, 16);
			if (ip)
				memcpy(v.u.ip, ip, 16);
			break;
		}
		case RF_V_FLOAT:
			v.u.f = agg_r_f64(&r);
			break;
		case RF_V_INT:
		case RF_V_BOOL:
			v.u.i = agg_r_svarint(&r);
			break;
		default:
			goto bad;
		}
		if (r.bad)
			goto bad;
		if (agg_fl_set(s, &v, t, al) < 0) {
			snprintf(err, errlen, "state: out of memory");
			return -1;
		}
		break;
	}
	default:
		goto bad;
	}
	if (r.bad)
		goto bad;
	*used = r.pos;
	return 0;
bad:
	snprintf(err, errlen, "state: malformed %s state", agg_fn_name(fn));
	return -1;
}
