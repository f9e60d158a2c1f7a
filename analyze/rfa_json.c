/*
 * rfa_json.c — see rfa_json.h.  Runs in analyzer processes, inside libcurl's
 * write callback; never blocks, allocates only when the token buffer grows.
 *
 * NOTES
 * - One byte at a time through a small state machine: `state` is the grammar
 *   position between tokens, `lex` the token being read.  A number has no
 *   closing character, so the byte that ends it is processed again as the
 *   first byte after it (the `again` loop in feed).
 * - Strings are decoded while read (escapes, \uXXXX with surrogate pairs to
 *   UTF-8); a lone surrogate is an error, as no conforming writer (InfluxDB is
 *   Go's encoding/json) produces one.  Raw bytes >= 0x80 pass through as they
 *   are: validating UTF-8 is left to whoever displays the text.
 */
#include "analyze/rfa_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PS_TOP = 0, PS_VALUE, PS_VALUE_OR_END, PS_KEY, PS_KEY_OR_END, PS_COLON, PS_NEXT };
enum { LX_NONE = 0, LX_STRING, LX_NUMBER, LX_LITERAL };

#define TOK_INITIAL 256

void rfa_json_init(struct rfa_json *j, rfa_json_fn fn, void *arg)
{
	memset(j, 0, sizeof *j);
	j->fn = fn;
	j->arg = arg;
}

void rfa_json_free(struct rfa_json *j)
{
	if (!j)
		return;
	free(j->tok);
	j->tok = NULL;
	j->tok_len = j->tok_cap = 0;
}

static int fail(struct rfa_json *j, char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "malformed JSON at byte %llu: %s", (unsigned long long)j->offset, why);
	j->failed = 1;
	return -1;
}

/* Room for n more bytes plus the NUL; -1 beyond the token limit. */
static int tok_room(struct rfa_json *j, size_t n)
{
	if (j->tok_len + n > RFA_JSON_MAX_TOKEN)
		return -1;
	if (j->tok_len + n + 1 <= j->tok_cap)
		return 0;
	size_t cap = j->tok_cap ? j->tok_cap : TOK_INITIAL;
	while (cap < j->tok_len + n + 1)
		cap *= 2;
	if (cap > RFA_JSON_MAX_TOKEN + 1)
		cap = RFA_JSON_MAX_TOKEN + 1;
	char *t = realloc(j->tok, cap);
	if (!t)
		return -2;
	j->tok = t;
	j->tok_cap = cap;
	return 0;
}

static int tok_put(struct rfa_json *j, const char *s, size_t n, char *err, size_t errlen)
{
	int rc = tok_room(j, n);
	if (rc == -1)
		return fail(j, err, errlen, "string or number longer than 1 MiB");
	if (rc == -2)
		return fail(j, err, errlen, "out of memory");
	memcpy(j->tok + j->tok_len, s, n);
	j->tok_len += n;
	return 0;
}

static int put_utf8(struct rfa_json *j, unsigned cp, char *err, size_t errlen)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return tok_put(j, b, n, err, errlen);
}

/* Calls the callback; 1 if it asked to stop. */
static int emit(struct rfa_json *j, enum rfa_json_ev ev, int text)
{
	const char *s = NULL;
	size_t len = 0;
	if (text) {
		if (tok_room(j, 0) == 0) {
			j->tok[j->tok_len] = '\0';
			s = j->tok;
			len = j->tok_len;
		} else {
			s = ""; /* out of memory for an empty token's buffer */
		}
	}
	int rc = j->fn(j->arg, ev, s, len);
	j->tok_len = 0;
	return rc != 0;
}

static void value_done(struct rfa_json *j)
{
	if (j->depth == 0) {
		j->state = PS_TOP;
		j->values++;
	} else {
		j->state = PS_NEXT;
	}
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i >= n)
		return 0;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return 0;
	}
	if (i < n && s[i] == '.') {
		size_t d = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	return i == n;
}

/* Ends the number being read: -1 error, 1 stopped, 0 fine. */
static int end_number(struct rfa_json *j, char *err, size_t errlen)
{
	j->lex = LX_NONE;
	if (!number_ok(j->tok, j->tok_len))
		return fail(j, err, errlen, "bad number");
	if (emit(j, RFA_JSON_NUMBER, 1))
		return 1;
	value_done(j);
	return 0;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One byte inside a string: -1 error, 1 stopped, 0 fine. */
static int string_byte(struct rfa_json *j, unsigned char c, char *err, size_t errlen)
{
	if (j->esc >= 2) {
		int v = hexval(c);
		if (v < 0)
			return fail(j, err, errlen, "bad \\u escape");
		j->ucode = j->ucode * 16 + (unsigned)v;
		if (++j->esc < 6)
			return 0;
		j->esc = 0;
		unsigned u = j->ucode;
		if (j->high) {
			if (u < 0xDC00 || u > 0xDFFF)
				return fail(j, err, errlen, "lone surrogate in \\u escape");
			unsigned cp = 0x10000 + ((j->high - 0xD800) << 10) + (u - 0xDC00);
			j->high = 0;
			return put_utf8(j, cp, err, errlen);
		}
		if (u >= 0xD800 && u <= 0xDBFF) {
			j->high = u;
			return 0;
		}
		if (u >= 0xDC00 && u <= 0xDFFF)
			return fail(j, err, errlen, "lone surrogate in \\u escape");
		return put_utf8(j, u, err, errlen);
	}
	if (j->esc == 1) {
		j->esc = 0;
		if (j->high && c != 'u')
			return fail(j, err, errlen, "lone surrogate in \\u escape");
		char out;
		switch (c) {
		case '"': out = '"'; break;
		case '\\': out = '\\'; break;
		case '/': out = '/'; break;
		case 'b': out = '\b'; break;
		case 'f': out = '\f'; break;
		case 'n': out = '\n'; break;
		case 'r': out = '\r'; break;
		case 't': out = '\t'; break;
		case 'u':
			j->esc = 2;
			j->ucode = 0;
			return 0;
		default:
			return fail(j, err, errlen, "bad escape in string");
		}
		return tok_put(j, &out, 1, err, errlen);
	}
	if (c == '\\') {
		j->esc = 1;
		return 0;
	}
	if (j->high)
		return fail(j, err, errlen, "lone surrogate in \\u escape");
	if (c == '"') {
		j->lex = LX_NONE;
		if (j->is_key) {
			if (emit(j, RFA_JSON_KEY, 1))
				return 1;
			j->state = PS_COLON;
		} else {
			if (emit(j, RFA_JSON_STRING, 1))
				return 1;
			value_done(j);
		}
		return 0;
	}
	if (c < 0x20)
		return fail(j, err, errlen, "control character in string");
	char ch = (char)c;
	return tok_put(j, &ch, 1, err, errlen);
}

static int push(struct rfa_json *j, unsigned char kind, char *err, size_t errlen)
{
	if (j->depth >= RFA_JSON_MAX_DEPTH)
		return fail(j, err, errlen, "nested deeper than 64 levels");
	j->stack[j->depth++] = kind;
	return 0;
}

/* Starts a value with byte c: -1 error, 1 stopped, 0 fine. */
static int value_byte(struct rfa_json *j, unsigned char c, char *err, size_t errlen)
{
	switch (c) {
	case '{':
		if (push(j, 'o', err, errlen))
			return -1;
		j->state = PS_KEY_OR_END;
		return emit(j, RFA_JSON_OBJ_BEGIN, 0);
	case '[':
		if (push(j, 'a', err, errlen))
			return -1;
		j->state = PS_VALUE_OR_END;
		return emit(j, RFA_JSON_ARR_BEGIN, 0);
	case '"':
		j->lex = LX_STRING;
		j->is_key = 0;
		j->esc = 0;
		j->high = 0;
		j->tok_len = 0;
		return 0;
	case 't':
	case 'f':
	case 'n':
		j->lex = LX_LITERAL;
		j->lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
		j->lit_pos = 1;
		return 0;
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			j->lex = LX_NUMBER;
			j->tok_len = 0;
			char ch = (char)c;
			return tok_put(j, &ch, 1, err, errlen);
		}
		return fail(j, err, errlen, "unexpected character where a value should start");
	}
}

static int close_container(struct rfa_json *j, unsigned char kind)
{
	j->depth--;
	int stop = emit(j, kind == 'o' ? RFA_JSON_OBJ_END : RFA_JSON_ARR_END, 0);
	value_done(j);
	return stop;
}

/* One byte between tokens: -1 error, 1 stopped, 0 fine. */
static int grammar_byte(struct rfa_json *j, unsigned char c, char *err, size_t errlen)
{
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
		return 0;
	switch (j->state) {
	case PS_TOP:
	case PS_VALUE:
		return value_byte(j, c, err, errlen);
	case PS_VALUE_OR_END:
		if (c == ']')
			return close_container(j, 'a');
		return value_byte(j, c, err, errlen);
	case PS_KEY_OR_END:
		if (c == '}')
			return close_container(j, 'o');
		/* fall through */
	case PS_KEY:
		if (c != '"')
			return fail(j, err, errlen, "expected a string key");
		j->lex = LX_STRING;
		j->is_key = 1;
		j->esc = 0;
		j->high = 0;
		j->tok_len = 0;
		return 0;
	case PS_COLON:
		if (c != ':')
			return fail(j, err, errlen, "expected ':'");
		j->state = PS_VALUE;
		return 0;
	case PS_NEXT: {
		unsigned char top = j->stack[j->depth - 1];
		if (c == ',') {
			j->state = top == 'o' ? PS_KEY : PS_VALUE;
			return 0;
		}
		if ((c == '}' && top == 'o') || (c == ']' && top == 'a'))
			return close_container(j, top);
		return fail(j, err, errlen, top == 'o' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
	}
	return fail(j, err, errlen, "internal: bad state");
}

int rfa_json_feed(struct rfa_json *j, const char *data, size_t len, char *err, size_t errlen)
{
	if (j->failed)
		return fail(j, err, errlen, "stream already failed");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		int rc;
	again:
		switch (j->lex) {
		case LX_STRING:
			rc = string_byte(j, c, err, errlen);
			break;
		case LX_NUMBER:
			if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' ||
			    c == 'E') {
				char ch = (char)c;
				rc = tok_put(j, &ch, 1, err, errlen);
				break;
			}
			rc = end_number(j, err, errlen);
			if (rc == 0)
				goto again;
			break;
		case LX_LITERAL:
			if (c != (unsigned char)j->lit[j->lit_pos]) {
				rc = fail(j, err, errlen, "bad literal (true, false or null expected)");
				break;
			}
			rc = 0;
			if (j->lit[++j->lit_pos] == '\0') {
				j->lex = LX_NONE;
				rc = emit(j, j->lit[0] == 't' ? RFA_JSON_TRUE :
					  j->lit[0] == 'f' ? RFA_JSON_FALSE : RFA_JSON_NULL, 0);
				value_done(j);
			}
			break;
		default:
			rc = grammar_byte(j, c, err, errlen);
			break;
		}
		if (rc < 0)
			return -1;
		j->offset++;
		if (rc > 0) {
			j->failed = 1; /* stopped: the rest of the stream is not ours to read */
			return 1;
		}
	}
	return 0;
}

int rfa_json_finish(struct rfa_json *j, char *err, size_t errlen)
{
	if (j->failed)
		return fail(j, err, errlen, "stream already failed");
	if (j->lex == LX_NUMBER && j->depth == 0) {
		int rc = end_number(j, err, errlen);
		if (rc != 0)
			return rc;
	}
	if (j->lex == LX_STRING)
		return fail(j, err, errlen, "answer ends inside a string");
	if (j->lex != LX_NONE)
		return fail(j, err, errlen, "answer ends inside a value");
	if (j->depth > 0)
		return fail(j, err, errlen, j->stack[j->depth - 1] == 'o' ?
			    "answer ends inside an object" : "answer ends inside an array");
	if (j->state != PS_TOP)
		return fail(j, err, errlen, "answer ends before a value");
	return 0;
}
