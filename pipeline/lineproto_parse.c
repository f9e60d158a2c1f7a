/*
 * lineproto_parse.c — see lineproto_parse.h. Pure parsing, no I/O, no
 * allocation; runs in the analyzer host on lines from untrusted programs.
 *
 * NOTES
 * One pass left to right with a cursor; every piece of text is unescaped
 * straight into the point's text[] and '\0'-ended there. The bound that
 * keeps text[] from overflowing: a piece never grows when unescaped, and its
 * '\0' takes the place of the separator that ended it (',', '=', ' '), so
 * after reading i bytes at most i + 1 bytes are written (+1: a last piece
 * that ends the line). A float is copied after the written text for strtod
 * (its key's '\0' took the '=' before it), still inside that bound.
 *
 * The whole line is checked for control bytes and UTF-8 before any parsing,
 * so the parser proper only ever sees text.
 */
#include "pipeline/lineproto_parse.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const lp_error_names[LP_ERROR_COUNT] = {
	[LP_OK] = "ok",
	[LP_EMPTY] = "empty",
	[LP_COMMENT] = "comment",
	[LP_TOO_LONG] = "too_long",
	[LP_BINARY] = "binary",
	[LP_BAD_UTF8] = "bad_utf8",
	[LP_BAD_ESCAPE] = "bad_escape",
	[LP_NO_MEASUREMENT] = "no_measurement",
	[LP_BAD_TAG] = "bad_tag",
	[LP_DUPLICATE_TAG] = "duplicate_tag",
	[LP_TOO_MANY_TAGS] = "too_many_tags",
	[LP_NO_FIELDS] = "no_fields",
	[LP_BAD_FIELD_KEY] = "bad_field_key",
	[LP_BAD_FIELD_VALUE] = "bad_field_value",
	[LP_BAD_STRING] = "bad_string",
	[LP_DUPLICATE_FIELD] = "duplicate_field",
	[LP_TOO_MANY_FIELDS] = "too_many_fields",
	[LP_BAD_TIMESTAMP] = "bad_timestamp",
	[LP_TRAILING_GARBAGE] = "trailing_garbage",
};

const char *lp_error_name(enum lp_error e)
{
	if ((unsigned)e >= LP_ERROR_COUNT)
		return "unknown";
	return lp_error_names[e];
}

/* Where the parser is: the line, and where the next text goes. */
struct cursor {
	const char *s;
	size_t n, i;
	char *w;
};

/* Records no point and says why; returns -reason. */
static int fail(struct lp_point *out, char *err, size_t errlen, enum lp_error why,
		size_t at, const char *fmt, ...)
{
	out->ntags = out->nfields = 0;
	out->has_time = 0;
	out->time_ns = 0;
	if (err && errlen > 0) {
		int n = snprintf(err, errlen, "%s at byte %zu: ", lp_error_name(why), at);
		if (n >= 0 && (size_t)n < errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -(int)why;
}

/*
 * Control bytes (tab aside) and DEL are binary; bytes >= 0x80 must form
 * well-formed UTF-8: no overlong forms, no surrogates, nothing past
 * U+10FFFF (RFC 3629). Returns LP_OK or the reason, with its byte in *at.
 */
static enum lp_error check_bytes(const unsigned char *s, size_t n, size_t *at)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				*at = i;
				return LP_BINARY;
			}
			i++;
			continue;
		}
		size_t more;
		unsigned char lo = 0x80, hi = 0xbf; /* range of the 2nd byte */
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0;  /* overlong */
			else if (c == 0xed)
				hi = 0x9f;  /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90;  /* overlong */
			else if (c == 0xf4)
				hi = 0x8f;  /* past U+10FFFF */
		} else {
			*at = i;
			return LP_BAD_UTF8;
		}
		if (n - i <= more || s[i + 1] < lo || s[i + 1] > hi) {
			*at = i;
			return LP_BAD_UTF8;
		}
		for (size_t k = 2; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80) {
				*at = i;
				return LP_BAD_UTF8;
			}
		}
		i += more + 1;
	}
	return LP_OK;
}

static inline int is_special(char c, int esc_eq)
{
	return c == ',' || c == ' ' || (esc_eq && c == '=');
}

/*
 * Reads a measurement (esc_eq 0) or a tag key, tag value or field key
 * (esc_eq 1) up to the first unescaped special character or the end, and
 * unescapes it into the text. A backslash escapes only a special character
 * after it; before anything else it is an ordinary byte (lineproto.h).
 */
static struct lp_str scan_name(struct cursor *c, int esc_eq)
{
	struct lp_str r = { c->w, 0 };
	char *w = c->w;
	size_t i = c->i;
	while (i < c->n) {
		char ch = c->s[i];
		if (ch == '\\' && i + 1 < c->n && is_special(c->s[i + 1], esc_eq)) {
			*w++ = c->s[i + 1];
			i += 2;
			continue;
		}
		if (is_special(ch, esc_eq))
			break;
		*w++ = ch;
		i++;
	}
	*w = '\0';
	r.len = (size_t)(w - r.p);
	c->w = w + 1;
	c->i = i;
	return r;
}

/* A string field from its opening quote; '\"' and '\\' are its escapes. */
static int scan_string(struct cursor *c, struct lp_str *out)
{
	char *w = c->w;
	size_t i = c->i + 1;
	out->p = w;
	for (;;) {
		if (i >= c->n)
			return -1;
		char ch = c->s[i];
		if (ch == '"')
			break;
		if (ch == '\\' && i + 1 < c->n && (c->s[i + 1] == '"' || c->s[i + 1] == '\\')) {
			*w++ = c->s[i + 1];
			i += 2;
			continue;
		}
		*w++ = ch;
		i++;
	}
	*w = '\0';
	out->len = (size_t)(w - out->p);
	c->w = w + 1;
	c->i = i + 1; /* past the closing quote */
	return 0;
}

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Decimal digits only, at least one, within uint64. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* An optional '-' and decimal digits, within int64. */
static int parse_i64(const char *s, size_t n, int64_t *out)
{
	int neg = n > 0 && s[0] == '-';
	uint64_t u;
	if (parse_u64(s + neg, n - (size_t)neg, &u) < 0)
		return -1;
	if (neg) {
		if (u > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	} else {
		if (u > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)u;
	}
	return 0;
}

/* -?(digits[.digits*] | .digits)([eE][+-]?digits)?: what strtod may read,
 * minus what line protocol does not have (hex, inf, nan, a leading '+'). */
static int float_syntax(const char *s, size_t n)
{
	size_t i = 0, digits = 0;
	if (i < n && s[i] == '-')
		i++;
	for (; i < n && is_digit(s[i]); i++)
		digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && is_digit(s[i]); i++)
			digits++;
	if (digits == 0)
		return 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp_digits = 0;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < n && is_digit(s[i]); i++)
			exp_digits++;
		if (exp_digits == 0)
			return 0;
	}
	return i == n;
}

/* strtod honours LC_NUMERIC; an explicit "C" locale reads "1.5" the same way
 * whatever the process set (as transform/csv.c does). */
static double strtod_c(const char *s)
{
	static locale_t loc;
	if (loc == (locale_t)0)
		loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	return loc != (locale_t)0 ? strtod_l(s, NULL, loc) : strtod(s, NULL);
}

static int parse_bool(const char *s, size_t n, int *out)
{
	static const char *const names[] = {
		"t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE",
	};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		if (strlen(names[k]) == n && memcmp(names[k], s, n) == 0) {
			*out = k < 5;
			return 0;
		}
	}
	return -1;
}

/*
 * A field value at c->i, up to ',', ' ' or the end (a string: to its closing
 * quote, which one of those must follow). Returns LP_OK or the reason; the
 * message goes into msg.
 */
static enum lp_error parse_value(struct cursor *c, struct lp_point_field *f, const char **msg)
{
	const char *s = c->s;
	if (c->i < c->n && s[c->i] == '"') {
		if (scan_string(c, &f->v.s) < 0) {
			*msg = "string without its closing quote";
			return LP_BAD_STRING;
		}
		if (c->i < c->n && s[c->i] != ',' && s[c->i] != ' ') {
			*msg = "text after a string's closing quote";
			return LP_BAD_FIELD_VALUE;
		}
		f->type = LP_STRING;
		return LP_OK;
	}
	size_t start = c->i, end = start;
	while (end < c->n && s[end] != ',' && s[end] != ' ')
		end++;
	const char *tok = s + start;
	size_t n = end - start;
	c->i = end;
	*msg = "not a number, boolean or string";
	if (n == 0) {
		*msg = "empty value";
		return LP_BAD_FIELD_VALUE;
	}
	if (parse_bool(tok, n, &f->v.b) == 0) {
		f->type = LP_BOOL;
		return LP_OK;
	}
	if (tok[n - 1] == 'i') {
		f->type = LP_INT;
		if (parse_i64(tok, n - 1, &f->v.i) < 0) {
			*msg = "not an int64";
			return LP_BAD_FIELD_VALUE;
		}
		return LP_OK;
	}
	if (tok[n - 1] == 'u') {
		f->type = LP_UINT;
		if (parse_u64(tok, n - 1, &f->v.u) < 0) {
			*msg = "not a uint64";
			return LP_BAD_FIELD_VALUE;
		}
		return LP_OK;
	}
	if (!float_syntax(tok, n))
		return LP_BAD_FIELD_VALUE;
	/* A '\0'-ended copy for strtod, in text[] beyond what is kept. */
	memcpy(c->w, tok, n);
	c->w[n] = '\0';
	f->type = LP_FLOAT;
	f->v.f = strtod_c(c->w);
	if (!isfinite(f->v.f)) {
		*msg = "float out of range";
		return LP_BAD_FIELD_VALUE;
	}
	return LP_OK;
}

static int str_eq(const struct lp_str *a, const struct lp_str *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

int lp_parse(const char *line, size_t len, struct lp_point *out, char *err, size_t errlen)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > LP_LINE_MAX)
		return fail(out, err, errlen, LP_TOO_LONG, LP_LINE_MAX,
			    "%zu bytes, more than %d", len, LP_LINE_MAX);
	size_t at = 0;
	enum lp_error why = check_bytes((const unsigned char *)line, len, &at);
	if (why == LP_BINARY)
		return fail(out, err, errlen, why, at, "control byte 0x%02x",
			    (unsigned char)line[at]);
	if (why != LP_OK)
		return fail(out, err, errlen, why, at, "not UTF-8");
	size_t blank = 0;
	while (blank < len && (line[blank] == ' ' || line[blank] == '\t'))
		blank++;
	if (blank == len)
		return fail(out, err, errlen, LP_EMPTY, 0, "empty line");
	if (line[0] == '#')
		return fail(out, err, errlen, LP_COMMENT, 0, "comment");
	if (line[len - 1] == '\\')
		return fail(out, err, errlen, LP_BAD_ESCAPE, len - 1,
			    "backslash at the end of the line");

	struct cursor c = { .s = line, .n = len, .i = 0, .w = out->text };
	out->ntags = out->nfields = 0;
	out->has_time = 0;
	out->time_ns = 0;

	out->measurement = scan_name(&c, 0);
	if (out->measurement.len == 0)
		return fail(out, err, errlen, LP_NO_MEASUREMENT, 0, "no measurement");

	while (c.i < len && line[c.i] == ',') {
		at = ++c.i;
		if (out->ntags == LP_MAX_TAGS)
			return fail(out, err, errlen, LP_TOO_MANY_TAGS, at,
				    "more than %d tags", LP_MAX_TAGS);
		struct lp_point_tag *t = &out->tags[out->ntags];
		t->key = scan_name(&c, 1);
		if (t->key.len == 0)
			return fail(out, err, errlen, LP_BAD_TAG, at, "empty tag key");
		if (c.i == len || line[c.i] != '=')
			return fail(out, err, errlen, LP_BAD_TAG, at, "tag without '='");
		c.i++;
		t->val = scan_name(&c, 1);
		if (t->val.len == 0)
			return fail(out, err, errlen, LP_BAD_TAG, at, "empty tag value");
		if (c.i < len && line[c.i] == '=')
			return fail(out, err, errlen, LP_BAD_TAG, c.i,
				    "unescaped '=' in a tag value");
		for (int k = 0; k < out->ntags; k++)
			if (str_eq(&out->tags[k].key, &t->key))
				return fail(out, err, errlen, LP_DUPLICATE_TAG, at,
					    "tag key \"%s\" again", t->key.p);
		out->ntags++;
	}

	/* Here line[c.i] is the space before the fields, or the end. */
	if (c.i == len || c.i + 1 == len)
		return fail(out, err, errlen, LP_NO_FIELDS, c.i, "no fields");
	c.i++;
	for (;;) {
		at = c.i;
		if (out->nfields == LP_MAX_FIELDS)
			return fail(out, err, errlen, LP_TOO_MANY_FIELDS, at,
				    "more than %d fields", LP_MAX_FIELDS);
		struct lp_point_field *f = &out->fields[out->nfields];
		f->key = scan_name(&c, 1);
		if (f->key.len == 0)
			return fail(out, err, errlen, LP_BAD_FIELD_KEY, at, "empty field key");
		if (c.i == len || line[c.i] != '=')
			return fail(out, err, errlen, LP_BAD_FIELD_KEY, at,
				    "field key without '='");
		c.i++;
		size_t vat = c.i;
		const char *msg = "";
		why = parse_value(&c, f, &msg);
		if (why != LP_OK)
			return fail(out, err, errlen, why, vat, "%s", msg);
		for (int k = 0; k < out->nfields; k++)
			if (str_eq(&out->fields[k].key, &f->key))
				return fail(out, err, errlen, LP_DUPLICATE_FIELD, at,
					    "field key \"%s\" again", f->key.p);
		out->nfields++;
		if (c.i < len && line[c.i] == ',') {
			c.i++;
			continue;
		}
		break;
	}

	/* The end, or the space before the timestamp. */
	if (c.i < len) {
		size_t start = ++c.i, end = start;
		while (end < len && line[end] != ' ')
			end++;
		int64_t t;
		if (parse_i64(line + start, end - start, &t) < 0)
			return fail(out, err, errlen, LP_BAD_TIMESTAMP, start,
				    "not an int64 of nanoseconds");
		if (t < LP_TIME_MIN || t > LP_TIME_MAX)
			return fail(out, err, errlen, LP_BAD_TIMESTAMP, start,
				    "outside influxd's time range");
		if (end < len)
			return fail(out, err, errlen, LP_TRAILING_GARBAGE, end,
				    "text after the timestamp");
		out->has_time = 1;
		out->time_ns = t;
	}
	return 0;
}
