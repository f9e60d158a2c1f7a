/*
 * lineproto.c — see lineproto.h. Pure formatting, no I/O; the escaping
 * decisions were checked against influxd 1.6 (tests/unit/test_influx.c).
 */
#include "pipeline/lineproto.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void lp_buf_init(struct lp_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void lp_buf_free(struct lp_buf *b)
{
	if (!b)
		return;
	free(b->data);
	lp_buf_init(b);
}

void lp_buf_reset(struct lp_buf *b) { b->len = 0; }

void lp_buf_reserve(struct lp_buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p)
		abort(); /* out of memory: nothing sensible to do in a data path */
	b->data = p;
	b->cap = cap;
}

void lp_buf_append(struct lp_buf *b, const char *s, size_t n)
{
	lp_buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* Newlines cannot appear inside a line: they become spaces (then escaped). */
static inline char map_char(char c)
{
	return (c == '\n' || c == '\r') ? ' ' : c;
}

static inline int must_escape(char c, int esc_eq)
{
	return c == ',' || c == ' ' || (esc_eq && c == '=');
}

/*
 * Escapes a name or tag value s into b. esc_eq: also escape '=' (tag keys,
 * tag values, field keys; not the measurement). A run of backslashes that
 * ends the text or precedes a character we escape is left out: influxd would
 * read its last backslash as escaping the next character (see lineproto.h).
 */
static void append_escaped(struct lp_buf *b, const char *s, size_t n, int esc_eq)
{
	lp_buf_reserve(b, 2 * n);
	char *o = b->data + b->len;
	for (size_t i = 0; i < n; i++) {
		char c = map_char(s[i]);
		if (c == '\\') {
			size_t j = i;
			while (j < n && s[j] == '\\')
				j++;
			if (j == n || must_escape(map_char(s[j]), esc_eq)) {
				i = j - 1;
				continue;
			}
			memcpy(o, s + i, j - i);
			o += j - i;
			i = j - 1;
			continue;
		}
		if (must_escape(c, esc_eq))
			*o++ = '\\';
		*o++ = c;
	}
	b->len = (size_t)(o - b->data);
}

static int is_time_key(const char *key, size_t klen)
{
	return klen == 4 && memcmp(key, "time", 4) == 0;
}

void lp_begin(struct lp_enc *p, struct lp_buf *b, const char *m, size_t mlen)
{
	p->b = b;
	p->point_start = b->len;
	p->nfields = 0;
	/* '#' would turn the line into a comment that influxd skips silently. */
	if (mlen > 0 && m[0] == '#') {
		lp_buf_append(b, "_", 1);
		m++;
		mlen--;
	}
	append_escaped(b, m, mlen, 0);
	p->invalid = b->len == p->point_start;
}

void lp_tag(struct lp_enc *p, const char *key, size_t klen, const char *val, size_t vlen)
{
	struct lp_buf *b = p->b;
	if (vlen == 0 || klen == 0 || is_time_key(key, klen))
		return;
	size_t undo = b->len;
	lp_buf_append(b, ",", 1);
	size_t kstart = b->len;
	append_escaped(b, key, klen, 1);
	if (b->len == kstart) { /* the key was only backslashes */
		b->len = undo;
		return;
	}
	lp_buf_append(b, "=", 1);
	size_t vstart = b->len;
	append_escaped(b, val, vlen, 1);
	if (b->len == vstart)
		b->len = undo;
}

/* Writes the separator and the escaped key; NULL if the field is skipped. */
static struct lp_buf *field_key(struct lp_enc *p, const char *key, size_t klen)
{
	struct lp_buf *b = p->b;
	if (klen == 0 || is_time_key(key, klen))
		return NULL;
	size_t undo = b->len;
	lp_buf_append(b, p->nfields ? "," : " ", 1);
	size_t kstart = b->len;
	append_escaped(b, key, klen, 1);
	if (b->len == kstart) {
		b->len = undo;
		return NULL;
	}
	lp_buf_append(b, "=", 1);
	p->nfields++;
	return b;
}

void lp_field_int(struct lp_enc *p, const char *key, size_t klen, int64_t v)
{
	struct lp_buf *b = field_key(p, key, klen);
	if (!b)
		return;
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%" PRId64 "i", v);
	lp_buf_append(b, tmp, (size_t)n);
}

int lp_field_float(struct lp_enc *p, const char *key, size_t klen, double v)
{
	if (!isfinite(v))
		return -1;
	struct lp_buf *b = field_key(p, key, klen);
	if (!b)
		return 0;
	char tmp[40];
	/* %.17g round-trips every double; %.15g is shorter and usually exact. */
	int n = snprintf(tmp, sizeof tmp, "%.15g", v);
	if (strtod(tmp, NULL) != v)
		n = snprintf(tmp, sizeof tmp, "%.17g", v);
	lp_buf_append(b, tmp, (size_t)n);
	return 0;
}

void lp_field_str(struct lp_enc *p, const char *key, size_t klen, const char *val, size_t vlen)
{
	struct lp_buf *b = field_key(p, key, klen);
	if (!b)
		return;
	lp_buf_reserve(b, 2 * vlen + 2);
	char *o = b->data + b->len;
	*o++ = '"';
	for (size_t i = 0; i < vlen; i++) {
		char c = map_char(val[i]);
		if (c == '"' || c == '\\')
			*o++ = '\\';
		*o++ = c;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
}

void lp_field_bool(struct lp_enc *p, const char *key, size_t klen, int v)
{
	struct lp_buf *b = field_key(p, key, klen);
	if (!b)
		return;
	lp_buf_append(b, v ? "true" : "false", v ? 4 : 5);
}

int lp_end(struct lp_enc *p, int64_t time_ns)
{
	struct lp_buf *b = p->b;
	if (p->nfields == 0 || p->invalid) {
		b->len = p->point_start;
		return -1;
	}
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, " %" PRId64 "\n", time_ns);
	lp_buf_append(b, tmp, (size_t)n);
	return 0;
}
