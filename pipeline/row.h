/*
 * row.h — the bytes a transform process puts in a transform→aggregate ring
 * for each (record, rule), and their decoding in the aggregate process.
 *
 * A row is 8-byte aligned and self-describing in length:
 *
 *   struct agg_row_hdr                       32 bytes
 *   key section   (key_len bytes)            per key field: uint16 len + text
 *   value section                            per arg field, in arg_fields order:
 *                                            uint8 type + payload
 *   padding to a multiple of 8
 *
 * Key text: int → decimal, float → shortest %.17g form that reads back
 * exactly, ip → inet_ntop text (IPv4 as a dotted quad), bool → true/false,
 * str as is; len 0 = missing (the tag is left out). The whole key section is
 * at most 65535 bytes: a value that would overflow it is truncated.
 * Value payloads: INT/BOOL/FLOAT 8 bytes (memcpy, unaligned), STR uint16 len
 * + bytes (truncated to 65535), IP 16 bytes + 1 byte ip_is_v4, MISSING
 * nothing. Integers are in host byte order: rows never leave the host.
 *
 * The transform encodes (agg_row_encode), routes the row with agg_route()
 * and the aggregate decodes it (agg_row_decode), which checks every length
 * against the row and the row against the rest of the frame: a bad row is
 * reported, never trusted.
 */
#ifndef AGG_ROW_H
#define AGG_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate/rule.h"
#include "common/value.h"

struct agg_row_hdr {
	uint32_t len;      /* whole row incl. header and padding, multiple of 8 */
	uint16_t rule;     /* rule index */
	uint16_t key_len;  /* bytes of the key section */
	uint64_t key_hash; /* rf_hash64(key section, key_len, seed = rule index) */
	int64_t time_ns;
	/* Largest event time of the records before this one in the same
	 * input frame (INT64_MIN for the first): with the progress the
	 * aggregate has from earlier frames of the partition, it tells the
	 * watermark as of this record, so lateness is judged per record in
	 * partition order, not per frame (engine.h). */
	int64_t prior_max_ns;
};

_Static_assert(sizeof(struct agg_row_hdr) == 32, "row header is 32 bytes");

/* Which aggregate process owns a key: the high 32 bits of the hash scaled to
 * n (the window store indexes with the low bits, so the two stay
 * independent). n >= 1. */
static inline uint32_t agg_route(uint64_t key_hash, uint32_t n)
{
	return (uint32_t)(((key_hash >> 32) * (uint64_t)n) >> 32);
}

/* Which aggregate process gets a row of rule r. A rule with `top = N`
 * needs every key of a window in one place to rank them, so all its rows go
 * to one process (chosen by rule index, spreading several top rules);
 * every other rule spreads its keys over all processes. */
static inline uint32_t agg_route_row(const struct agg_rule *r, uint16_t rule_idx, uint64_t key_hash,
				     uint32_t n)
{
	return agg_rule_is_top(r) ? rule_idx % n : agg_route(key_hash, n);
}

/* outs: the transform's output values, indexed by output field. Returns
 * bytes written (a multiple of 8), or 0 if cap is too small — the caller
 * flushes its frame and retries. *key_hash gets the header's hash. buf must
 * be 8-byte aligned. */
size_t agg_row_encode(const struct agg_rule *r, uint16_t rule_idx, const struct rf_value *outs,
		      int64_t time_ns, int64_t prior_max_ns, void *buf, size_t cap, uint64_t *key_hash);

/* A decoded row; pointers point into the row. */
struct agg_row {
	uint32_t len;
	uint16_t rule;
	uint16_t key_len;
	uint64_t key_hash;
	int64_t time_ns;
	int64_t prior_max_ns;
	const uint8_t *key;
	struct rf_value vals[CONF_MAX_AGGS];   /* per arg field of the rule */
};

/* Decodes the row at buf, of which avail bytes remain in the frame.
 * Returns 0, or -1 with err (hdr_ok says whether the header's len can still
 * be trusted to skip to the next row). The key hash is recomputed and must
 * match. A number of the other numeric type than the rule's argument (an
 * int expression that overflowed to float) is accepted as it is: the
 * aggregate functions fold it as float, as they do on int64 overflow. */
int agg_row_decode(const struct agg_rule *rules, int nrules, const void *buf, size_t avail,
		   struct agg_row *out, int *hdr_ok, char *err, size_t errlen);

/* Walks a key section: the i-th key value. Returns 0, -1 if malformed. */
int agg_key_field(const uint8_t *key, uint16_t key_len, int i, const char **val, uint16_t *len);

#endif
