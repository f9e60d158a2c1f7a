/*
 * row.c — encoding of transform→aggregate rows (transform processes, once
 * per record and rule) and their defensive decoding (aggregate processes).
 * See row.h for the layout. No allocation, no syscalls.
 */
#include "pipeline/row.h"
#include "common/hash.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_SECTION_MAX 65535u
#define STR_MAX 65535u

/* Decimal text of v into tmp (>= 21 bytes); returns the start. */
static char *fmt_i64(int64_t v, char *tmp, size_t *len)
{
	char *e = tmp + 24, *p = e;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	*len = (size_t)(e - p);
	return p;
}

static size_t fmt_double(double d, char *tmp, size_t cap)
{
	/* The shortest of %.15g..%.17g that reads back as the same double, so
	 * equal values always give equal key bytes. */
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, cap, "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	return n > 0 ? (size_t)n : 0;
}

/* The key text of v: a pointer to it (maybe into tmp) and its length. */
static const char *key_text(const struct rf_value *v, char *tmp, size_t tmpcap, size_t *len)
{
	switch (v->type) {
	case RF_V_INT:
		return fmt_i64(v->u.i, tmp, len);
	case RF_V_FLOAT:
		*len = fmt_double(v->u.f, tmp, tmpcap);
		return tmp;
	case RF_V_BOOL:
		*len = v->u.i ? 4 : 5;
		return v->u.i ? "true" : "false";
	case RF_V_STR:
		*len = v->len;
		return v->u.s ? v->u.s : "";
	case RF_V_IP:
		if (v->ip_is_v4
		    ? !inet_ntop(AF_INET, v->u.ip + 12, tmp, (socklen_t)tmpcap)
		    : !inet_ntop(AF_INET6, v->u.ip, tmp, (socklen_t)tmpcap)) {
			*len = 0;
			return tmp;
		}
		*len = strlen(tmp);
		return tmp;
	default:
		*len = 0;
		return tmp;
	}
}

size_t rf_row_encode(const struct rf_row_shape *s, uint16_t rule_idx, const struct rf_value *outs,
		     int64_t time_ns, int64_t prior_max_ns, void *buf, size_t cap, uint64_t *key_hash)
{
	uint8_t *base = buf, *p = base + sizeof(struct rf_row_hdr), *end = base + cap;
	if (cap < sizeof(struct rf_row_hdr))
		return 0;
	uint8_t *key = p;
	char tmp[64];
	for (int i = 0; i < s->nkeys; i++) {
		size_t len;
		const char *t = key_text(&outs[s->key_fields[i]], tmp, sizeof tmp, &len);
		/* Keep 2 bytes for each remaining key's length. */
		size_t room = KEY_SECTION_MAX - (size_t)(p - key) - 2 * (size_t)(s->nkeys - i);
		if (len > room)
			len = room;
		if ((size_t)(end - p) < 2 + len)
			return 0;
		uint16_t l16 = (uint16_t)len;
		memcpy(p, &l16, 2);
		memcpy(p + 2, t, len);
		p += 2 + len;
	}
	uint16_t key_len = (uint16_t)(p - key);
	for (int j = 0; j < s->nargs; j++) {
		const struct rf_value *v = &outs[s->arg_fields[j]];
		uint8_t type = v->type < RF_V_TYPE_COUNT ? v->type : RF_V_MISSING;
		size_t need = 1;
		uint16_t slen = 0;
		switch (type) {
		case RF_V_INT: case RF_V_BOOL: case RF_V_FLOAT: need += 8; break;
		case RF_V_STR:
			slen = v->len > STR_MAX ? STR_MAX : (uint16_t)v->len;
			need += 2 + slen;
			break;
		case RF_V_IP: need += 17; break;
		default: break;
		}
		if ((size_t)(end - p) < need)
			return 0;
		*p++ = type;
		switch (type) {
		case RF_V_INT: case RF_V_BOOL: memcpy(p, &v->u.i, 8); p += 8; break;
		case RF_V_FLOAT: memcpy(p, &v->u.f, 8); p += 8; break;
		case RF_V_STR:
			memcpy(p, &slen, 2);
			if (slen)
				memcpy(p + 2, v->u.s, slen);
			p += 2 + slen;
			break;
		case RF_V_IP:
			memcpy(p, v->u.ip, 16);
			p[16] = v->ip_is_v4 ? 1 : 0;
			p += 17;
			break;
		default: break;
		}
	}
	size_t len = (size_t)(p - base);
	size_t padded = (len + 7) & ~(size_t)7;
	if (padded > cap || padded > UINT32_MAX)
		return 0;
	memset(p, 0, padded - len);
	struct rf_row_hdr h = {
		.len = (uint32_t)padded,
		.rule = rule_idx,
		.key_len = key_len,
		.key_hash = rf_hash64(key, key_len, rule_idx),
		.time_ns = time_ns,
		.prior_max_ns = prior_max_ns,
	};
	memcpy(base, &h, sizeof h);
	if (key_hash)
		*key_hash = h.key_hash;
	return padded;
}

static int is_number(unsigned t)
{
	return t == RF_V_INT || t == RF_V_FLOAT;
}

int rf_key_field(const uint8_t *key, uint16_t key_len, int i, const char **val, uint16_t *len)
{
	size_t pos = 0;
	for (int k = 0;; k++) {
		uint16_t l;
		if (key_len - pos < 2)
			return -1;
		memcpy(&l, key + pos, 2);
		if (key_len - pos - 2 < l)
			return -1;
		if (k == i) {
			*val = (const char *)key + pos + 2;
			*len = l;
			return 0;
		}
		pos += 2 + (size_t)l;
	}
}

int rf_row_decode(const struct rf_row_shape *const *shapes, int nshapes, const void *buf,
		  size_t avail, struct rf_row *out, int *hdr_ok, char *err, size_t errlen)
{
	const uint8_t *base = buf;
	struct rf_row_hdr h;
	*hdr_ok = 0;
	if (avail < sizeof h) {
		snprintf(err, errlen, "row header truncated (%zu bytes left)", avail);
		return -1;
	}
	memcpy(&h, base, sizeof h);
	if (h.len < sizeof h || h.len % 8 || h.len > avail) {
		snprintf(err, errlen, "row length %u invalid (%zu bytes left)", h.len, avail);
		return -1;
	}
	*hdr_ok = 1;
	if (h.rule >= nshapes) {
		snprintf(err, errlen, "rule %u out of range", h.rule);
		return -1;
	}
	const struct rf_row_shape *s = shapes[h.rule];
	size_t body = h.len - sizeof h;
	if (h.key_len > body) {
		snprintf(err, errlen, "key section %u longer than row", h.key_len);
		return -1;
	}
	const uint8_t *key = base + sizeof h;
	size_t pos = 0;
	for (int i = 0; i < s->nkeys; i++) {
		uint16_t l;
		if (h.key_len - pos < 2 || (memcpy(&l, key + pos, 2), h.key_len - pos - 2 < l)) {
			snprintf(err, errlen, "key field %d overruns key section", i);
			return -1;
		}
		pos += 2 + (size_t)l;
	}
	if (pos != h.key_len) {
		snprintf(err, errlen, "key section has %zu stray bytes", h.key_len - pos);
		return -1;
	}
	if (rf_hash64(key, h.key_len, h.rule) != h.key_hash) {
		snprintf(err, errlen, "key hash mismatch");
		return -1;
	}
	const uint8_t *p = key + h.key_len, *end = base + h.len;
	for (int j = 0; j < s->nargs; j++) {
		struct rf_value *v = &out->vals[j];
		if (p >= end) {
			snprintf(err, errlen, "value %d missing", j);
			return -1;
		}
		uint8_t type = *p++;
		enum rf_vtype want = s->arg_types[j];
		if (type >= RF_V_TYPE_COUNT ||
		    (type != RF_V_MISSING && want != RF_V_ANY && type != want &&
		     !(is_number(type) && is_number(want)))) {
			snprintf(err, errlen, "value %d has type %u", j, type);
			return -1;
		}
		v->type = type;
		v->ip_is_v4 = 0;
		v->len = 0;
		size_t left = (size_t)(end - p);
		switch (type) {
		case RF_V_INT: case RF_V_BOOL: case RF_V_FLOAT:
			if (left < 8)
				goto trunc;
			memcpy(&v->u.i, p, 8);
			p += 8;
			break;
		case RF_V_STR: {
			uint16_t l;
			if (left < 2 || (memcpy(&l, p, 2), left - 2 < l))
				goto trunc;
			v->u.s = (const char *)p + 2;
			v->len = l;
			p += 2 + (size_t)l;
			break;
		}
		case RF_V_IP:
			if (left < 17)
				goto trunc;
			memcpy(v->u.ip, p, 16);
			if (p[16] > 1) {
				snprintf(err, errlen, "value %d: bad ip flag", j);
				return -1;
			}
			v->ip_is_v4 = p[16];
			p += 17;
			break;
		default:
			break;
		}
	}
	out->len = h.len;
	out->rule = h.rule;
	out->key_len = h.key_len;
	out->key_hash = h.key_hash;
	out->time_ns = h.time_ns;
	out->prior_max_ns = h.prior_max_ns;
	out->key = key;
	return 0;
trunc:
	snprintf(err, errlen, "value overruns row");
	return -1;
}
