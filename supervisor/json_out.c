/*
 * json_out.c — see json_out.h. Runs in the supervisor's loop (control
 * socket replies); allocates only through the reply buffer.
 */
#include "supervisor/json_out.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void sup_json_init(struct sup_json *j, struct sup_out *o)
{
	memset(j, 0, sizeof *j);
	j->o = o;
}

static void escape(struct sup_out *o, const char *s);

/* Before any value: the comma and the key its container wants. */
static void before_value(struct sup_json *j, const char *key)
{
	if (!j->depth) {
		if (j->top_done || key)
			j->bad = 1;
		j->top_done = 1;
		return;
	}
	int d = j->depth - 1;
	if (j->has_item[d])
		sup_outf(j->o, ",");
	j->has_item[d] = 1;
	if (j->is_obj[d] != (key != NULL))
		j->bad = 1;
	if (key) {
		/* Keys are escaped like any string. */
		escape(j->o, key);
		sup_outf(j->o, ":");
	}
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char b = p[0];
	if (b < 0x80)
		return 1;
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;
	if (b >= 0xC2 && b <= 0xDF)
		n = 2;
	else if (b >= 0xE0 && b <= 0xEF) {
		n = 3;
		if (b == 0xE0)
			lo = 0xA0;      /* overlong */
		else if (b == 0xED)
			hi = 0x9F;      /* UTF-16 surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		n = 4;
		if (b == 0xF0)
			lo = 0x90;      /* overlong */
		else if (b == 0xF4)
			hi = 0x8F;      /* beyond U+10FFFF */
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;           /* also stops at the terminating NUL */
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

static void escape(struct sup_out *o, const char *s)
{
	/* Built in a small buffer and appended in pieces: one sup_outf per
	 * byte would be slow for long error texts. */
	char buf[256];
	size_t n = 0;
	buf[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		if (n > sizeof buf - 8) {
			sup_outf(o, "%.*s", (int)n, buf);
			n = 0;
		}
		unsigned char c = *p;
		const char *esc = NULL;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default: break;
		}
		if (esc) {
			size_t l = strlen(esc);
			memcpy(buf + n, esc, l);
			n += l;
			p++;
		} else if (c < 0x20 || c == 0x7f) {
			n += (size_t)snprintf(buf + n, sizeof buf - n, "\\u%04x", c);
			p++;
		} else {
			size_t l = utf8_len(p);
			if (!l) {
				memcpy(buf + n, "\xEF\xBF\xBD", 3); /* U+FFFD */
				n += 3;
				p++;
			} else {
				memcpy(buf + n, p, l);
				n += l;
				p += l;
			}
		}
	}
	buf[n++] = '"';
	sup_outf(o, "%.*s", (int)n, buf);
}

static void open_container(struct sup_json *j, const char *key, int obj)
{
	before_value(j, key);
	if (j->depth >= SUP_JSON_MAX_DEPTH) {
		j->bad = 1;
		return;
	}
	j->is_obj[j->depth] = (unsigned char)obj;
	j->has_item[j->depth] = 0;
	j->depth++;
	sup_outf(j->o, obj ? "{" : "[");
}

static void close_container(struct sup_json *j, int obj)
{
	if (!j->depth || j->is_obj[j->depth - 1] != obj) {
		j->bad = 1;
		return;
	}
	j->depth--;
	sup_outf(j->o, obj ? "}" : "]");
}

void sup_json_obj_begin(struct sup_json *j, const char *key) { open_container(j, key, 1); }
void sup_json_obj_end(struct sup_json *j) { close_container(j, 1); }
void sup_json_arr_begin(struct sup_json *j, const char *key) { open_container(j, key, 0); }
void sup_json_arr_end(struct sup_json *j) { close_container(j, 0); }

void sup_json_str(struct sup_json *j, const char *key, const char *v)
{
	before_value(j, key);
	if (v)
		escape(j->o, v);
	else
		sup_outf(j->o, "null");
}

void sup_json_int(struct sup_json *j, const char *key, long long v)
{
	before_value(j, key);
	sup_outf(j->o, "%lld", v);
}

void sup_json_uint(struct sup_json *j, const char *key, unsigned long long v)
{
	before_value(j, key);
	sup_outf(j->o, "%llu", v);
}

void sup_json_double(struct sup_json *j, const char *key, double v, int decimals)
{
	before_value(j, key);
	if (!isfinite(v)) {
		sup_outf(j->o, "null");
		return;
	}
	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	long long scale = 1;
	for (int i = 0; i < decimals; i++)
		scale *= 10;
	double scaled = v * (double)scale;
	if (fabs(scaled) >= 9e18) {
		/* Beyond long long: no decimals, and "%.0f" prints no decimal
		 * point (nor grouping, which only the ' flag asks for). */
		sup_outf(j->o, "%.0f", v);
		return;
	}
	long long r = llround(scaled);
	unsigned long long u = r < 0 ? 0ULL - (unsigned long long)r : (unsigned long long)r;
	if (!decimals)
		sup_outf(j->o, "%s%llu", r < 0 ? "-" : "", u);
	else
		sup_outf(j->o, "%s%llu.%0*llu", r < 0 ? "-" : "", u / (unsigned long long)scale, decimals,
			 u % (unsigned long long)scale);
}

void sup_json_bool(struct sup_json *j, const char *key, int v)
{
	before_value(j, key);
	sup_outf(j->o, v ? "true" : "false");
}

void sup_json_null(struct sup_json *j, const char *key)
{
	before_value(j, key);
	sup_outf(j->o, "null");
}

int sup_json_finish(struct sup_json *j, char *err, size_t errlen)
{
	sup_outf(j->o, "\n");
	if (j->bad || j->depth || !j->top_done) {
		snprintf(err, errlen, "JSON writer misused (%s)",
			 j->bad ? "key/container mismatch" : j->depth ? "container left open" : "no value");
		return -1;
	}
	if (j->o->oom) {
		snprintf(err, errlen, "out of memory for the reply");
		return -1;
	}
	return 0;
}
