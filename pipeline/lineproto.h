/*
 * lineproto.h — InfluxDB line protocol encoder.
 *
 *   measurement,tag=v,tag2=v2 field=1i,field2=2.5,s="x" 1700000000000000000
 *
 * Escaping follows InfluxDB's rules: measurement escapes comma and space;
 * tag keys, tag values and field keys escape comma, equals sign and space;
 * string field values escape double quote and backslash.
 *
 * What line protocol cannot express, checked against influxd 1.6 (see
 * tests/unit/test_influx.c, which sends these cases to a real server):
 *  - newlines (and CR) anywhere: replaced by a space;
 *  - outside string fields a character counts as escaped whenever a
 *    backslash precedes it, and a backslash itself cannot be escaped, so a
 *    run of backslashes right before a character that must be escaped, or
 *    at the end of a name, would corrupt or invalidate the line: such a run
 *    is left out (other backslashes are written and stored as they are);
 *  - a line starting with '#' is a comment that influxd skips without an
 *    error: a leading '#' in the measurement becomes '_';
 *  - influxd refuses a whole point with a tag or field key "time": such a
 *    tag or field is left out instead;
 *  - an empty measurement, or no field at all: the point is removed again
 *    (lp_end returns -1).
 *
 * Runs in aggregate (closed windows), analyze and the writer's tests. Writes
 * into a caller-owned growable buffer; never allocates per point once the
 * buffer has grown. The reverse, for untrusted lines: lineproto_parse.h.
 */
#ifndef PL_LINEPROTO_H
#define PL_LINEPROTO_H

#include <stddef.h>
#include <stdint.h>

struct lp_buf {
	char *data;
	size_t len, cap;
};

void lp_buf_init(struct lp_buf *b);
void lp_buf_free(struct lp_buf *b);
void lp_buf_reset(struct lp_buf *b);
/* Ensure room for n more bytes; aborts the process on ENOMEM. */
void lp_buf_reserve(struct lp_buf *b, size_t n);
void lp_buf_append(struct lp_buf *b, const char *s, size_t n);

/* A point being written: begin, tags..., fields..., end. Lives on the
 * caller's stack; the text goes straight into b. */
struct lp_enc {
	struct lp_buf *b;
	size_t point_start;
	int nfields;
	int invalid;  /* empty measurement: lp_end removes the point */
};

void lp_begin(struct lp_enc *p, struct lp_buf *b, const char *measurement, size_t mlen);
/* Empty keys and values are skipped (InfluxDB does not store empty tags). */
void lp_tag(struct lp_enc *p, const char *key, size_t klen, const char *val, size_t vlen);
/* Fields with an empty key or the key "time" are skipped. */
void lp_field_int(struct lp_enc *p, const char *key, size_t klen, int64_t v);
/* NaN and infinities are not representable in line protocol: skipped, and
 * the function returns -1 so the caller can count it. */
int lp_field_float(struct lp_enc *p, const char *key, size_t klen, double v);
void lp_field_str(struct lp_enc *p, const char *key, size_t klen, const char *val, size_t vlen);
void lp_field_bool(struct lp_enc *p, const char *key, size_t klen, int v);
/* Returns 0, or -1 if the point had no field (then it is removed again). */
int lp_end(struct lp_enc *p, int64_t time_ns);

#endif
