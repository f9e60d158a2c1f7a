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
 *    (wr_lp_end returns -1).
 *
 * Runs in aggregate (closed windows), analyze and the writer's tests. Writes
 * into a caller-owned growable buffer; never allocates per point once the
 * buffer has grown.
 */
#ifndef WR_LINEPROTO_H
#define WR_LINEPROTO_H

#include <stddef.h>
#include <stdint.h>

struct wr_buf {
	char *data;
	size_t len, cap;
};

void wr_buf_init(struct wr_buf *b);
void wr_buf_free(struct wr_buf *b);
void wr_buf_reset(struct wr_buf *b);
/* Ensure room for n more bytes; aborts the process on ENOMEM. */
void wr_buf_reserve(struct wr_buf *b, size_t n);
void wr_buf_append(struct wr_buf *b, const char *s, size_t n);

/* A point being written: begin, tags..., fields..., end. Lives on the
 * caller's stack; the text goes straight into b. */
struct wr_lp {
	struct wr_buf *b;
	size_t point_start;
	int nfields;
	int invalid;  /* empty measurement: wr_lp_end removes the point */
};

void wr_lp_begin(struct wr_lp *p, struct wr_buf *b, const char *measurement, size_t mlen);
/* Empty keys and values are skipped (InfluxDB does not store empty tags). */
void wr_lp_tag(struct wr_lp *p, const char *key, size_t klen, const char *val, size_t vlen);
/* Fields with an empty key or the key "time" are skipped. */
void wr_lp_field_int(struct wr_lp *p, const char *key, size_t klen, int64_t v);
/* NaN and infinities are not representable in line protocol: skipped, and
 * the function returns -1 so the caller can count it. */
int wr_lp_field_float(struct wr_lp *p, const char *key, size_t klen, double v);
void wr_lp_field_str(struct wr_lp *p, const char *key, size_t klen, const char *val, size_t vlen);
void wr_lp_field_bool(struct wr_lp *p, const char *key, size_t klen, int v);
/* Returns 0, or -1 if the point had no field (then it is removed again). */
int wr_lp_end(struct wr_lp *p, int64_t time_ns);

#endif
