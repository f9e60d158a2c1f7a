/*
 * row.h — the bytes a transform process puts in a transform→aggregate ring
 * for each (record, rule), and their decoding in the aggregate process.
 *
 * A row is 8-byte aligned and self-describing in length:
 *
 *   struct rf_row_hdr                        32 bytes
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
 * What goes in a row is a rule's row shape (struct rf_row_shape): which
 * transform outputs form the key, which ones the aggregates read. The
 * aggregate stage compiles it with the rule (aggregate/rule.h embeds it)
 * before fork; the transform finds each rule's shape in
 * rf_pipeline.row_shapes (proc.h). This layer knows only the shape, never
 * the rule.
 *
 * Who calls what: a transform process encodes each row (rf_row_encode) and
 * picks the aggregate process that gets it (rf_route_row); an aggregate
 * process decodes it (rf_row_decode), checking every length against the row
 * and the row against the rest of the frame — a bad row is reported, never
 * trusted — and checks that it was routed there (rf_route_row again, as a
 * checkpoint restore does for each key it reads back).
 */
#ifndef PL_ROW_H
#define PL_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/value.h"

/* An argument type that takes a value of any type (an output whose type is
 * known only per record). */

/* What a rule puts in its rows. Compiled once before fork, read-only after. */
struct rf_row_shape {
	int key_fields[CONF_MAX_KEYS];     /* transform output indices */
	int nkeys;
	int arg_fields[CONF_MAX_AGGS];     /* distinct output indices, in order of
	                                    * first use; the row carries them so */
	enum rf_vtype arg_types[CONF_MAX_AGGS]; /* static type, or RF_V_ANY */
	int nargs;
	int one_owner;                     /* all rows to one aggregate process
	                                    * (a `top = N` rule: rf_route_row) */
};

struct rf_row_hdr {
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

_Static_assert(sizeof(struct rf_row_hdr) == 32, "row header is 32 bytes");

/* Which aggregate process owns a key: the high 32 bits of the hash scaled to
 * n (the window store indexes with the low bits, so the two stay
 * independent). n >= 1. */
static inline uint32_t rf_route(uint64_t key_hash, uint32_t n)
{
	return (uint32_t)(((key_hash >> 32) * (uint64_t)n) >> 32);
}

/* Which of n aggregate processes gets a row of rule rule_idx, of shape s.
 * A rule with `top = N` needs every key of a window in one place to rank
 * them, so all its rows go to one process (chosen by rule index, spreading
 * several top rules); every other rule spreads its keys over all
 * processes. */
static inline uint32_t rf_route_row(const struct rf_row_shape *s, uint16_t rule_idx,
				    uint64_t key_hash, uint32_t n)
{
	return s->one_owner ? rule_idx % n : rf_route(key_hash, n);
}

/* The row of rule rule_idx, of shape s. outs: the transform's output
 * values, indexed by output field. Returns bytes written (a multiple of 8),
 * or 0 if cap is too small — the caller flushes its frame and retries.
 * *key_hash gets the header's hash. buf must be 8-byte aligned. */
size_t rf_row_encode(const struct rf_row_shape *s, uint16_t rule_idx, const struct rf_value *outs,
		     int64_t time_ns, int64_t prior_max_ns, void *buf, size_t cap, uint64_t *key_hash);

/* A decoded row; pointers point into the row. */
struct rf_row {
	uint32_t len;
	uint16_t rule;
	uint16_t key_len;
	uint64_t key_hash;
	int64_t time_ns;
	int64_t prior_max_ns;
	const uint8_t *key;
	struct rf_value vals[CONF_MAX_AGGS];   /* per arg field of the shape */
};

/* Decodes the row at buf, of which avail bytes remain in the frame.
 * shapes[i] is the shape of rule i's rows, for i < nshapes; a row of any
 * other rule is rejected ("rule N out of range"). Returns 0, or -1 with err
 * (hdr_ok says whether the header's len can still be trusted to skip to the
 * next row). The key hash is recomputed and must match. A number of the
 * other numeric type than the shape's argument (an int expression that
 * overflowed to float) is accepted as it is: the aggregate functions fold
 * it as float, as they do on int64 overflow. */
int rf_row_decode(const struct rf_row_shape *const *shapes, int nshapes, const void *buf,
		  size_t avail, struct rf_row *out, int *hdr_ok, char *err, size_t errlen);

/* Walks a key section: the i-th key value. Returns 0, -1 if malformed. */
int rf_key_field(const uint8_t *key, uint16_t key_len, int i, const char **val, uint16_t *len);

#endif
