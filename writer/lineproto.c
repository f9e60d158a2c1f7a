/* lineproto.c — see lineproto.h. */
#include "writer/lineproto.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void wr_buf_init(struct wr_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void wr_buf_free(struct wr_buf *b)
{
	if (!b)
		return;
	free(b->data);
	wr_buf_init(b);
}

void wr_buf_reset(struct wr_buf *b) { b->len = 0; }

void wr_buf_reserve(struct wr_buf *b, size_t n)
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

void wr_buf_append(struct wr_buf *b, const char *s, size_t n)
{
	wr_buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* Escapes s into b. esc_eq: also escape '='; quote: string field rules. */
static void append_escaped(struct wr_buf *b, const char *s, size_t n, int esc_eq, int esc_comma_space)
{
	wr_buf_reserve(b, 2 * n);
	char *o = b->data + b->len;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\n' || c == '\r')
			c = ' ';
		if ((esc_comma_space && (c == ',' || c == ' ')) || (esc_eq && c == '='))
			*o++ = '\\';
		*o++ = c;
	}
	b->len = (size_t)(o - b->data);
}

void wr_lp_begin(struct wr_lp *p, struct wr_buf *b, const char *m, size_t mlen)
{
	p->b = b;
	p->point_start = b->len;
	p->nfields = 0;
	append_escaped(b, m, mlen, 0, 1);
}

void wr_lp_tag(struct wr_lp *p, const char *key, size_t klen, const char *val, size_t vlen)
{
	struct wr_buf *b = p->b;
	if (vlen == 0 || klen == 0)
		return;
	wr_buf_append(b, ",", 1);
	append_escaped(b, key, klen, 1, 1);
	wr_buf_append(b, "=", 1);
	append_escaped(b, val, vlen, 1, 1);
}

static struct wr_buf *field_key(struct wr_lp *p, const char *key, size_t klen)
{
	struct wr_buf *b = p->b;
	wr_buf_append(b, p->nfields++ ? "," : " ", 1);
	append_escaped(b, key, klen, 1, 1);
	wr_buf_append(b, "=", 1);
	return b;
}

void wr_lp_field_int(struct wr_lp *p, const char *key, size_t klen, int64_t v)
{
	struct wr_buf *b = field_key(p, key, klen);
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%" PRId64 "i", v);
	wr_buf_append(b, tmp, (size_t)n);
}

int wr_lp_field_float(struct wr_lp *p, const char *key, size_t klen, double v)
{
	if (!isfinite(v))
		return -1;
	struct wr_buf *b = field_key(p, key, klen);
	char tmp[40];
	/* %.17g round-trips every double; shorter when it can be. */
	int n = snprintf(tmp, sizeof tmp, "%.15g", v);
	if (strtod(tmp, NULL) != v)
		n = snprintf(tmp, sizeof tmp, "%.17g", v);
	wr_buf_append(b, tmp, (size_t)n);
	return 0;
}

void wr_lp_field_str(struct wr_lp *p, const char *key, size_t klen, const char *val, size_t vlen)
{
	struct wr_buf *b = field_key(p, key, klen);
	wr_buf_reserve(b, 2 * vlen + 2);
	char *o = b->data + b->len;
	*o++ = '"';
	for (size_t i = 0; i < vlen; i++) {
		char c = val[i];
		if (c == '\n' || c == '\r')
			c = ' ';
		if (c == '"' || c == '\\')
			*o++ = '\\';
		*o++ = c;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
}

void wr_lp_field_bool(struct wr_lp *p, const char *key, size_t klen, int v)
{
	struct wr_buf *b = field_key(p, key, klen);
	wr_buf_append(b, v ? "true" : "false", v ? 4 : 5);
}

int wr_lp_end(struct wr_lp *p, int64_t time_ns)
{
	struct wr_buf *b = p->b;
	if (p->nfields == 0) {
		b->len = p->point_start;
		return -1;
	}
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, " %" PRId64 "\n", time_ns);
	wr_buf_append(b, tmp, (size_t)n);
	return 0;
}
