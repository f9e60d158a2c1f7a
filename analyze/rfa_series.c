/*
 * rfa_series.c — series identity and numeric fields of a parsed point, for
 * analyzer authors (see rfa.h). Pure functions; no allocation.
 */
#include "analyze/rfa.h"

#include <stdint.h>
#include <string.h>

/* Bytewise order of two lp_str, a prefix first. */
static int str_cmp(const struct lp_str *a, const struct lp_str *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->p, b->p, n);
	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* Appends s escaped; returns the new length or -1 if it does not fit (one
 * byte is kept for the NUL). */
static long put_escaped(char *buf, size_t len, size_t o, const struct lp_str *s)
{
	for (size_t i = 0; i < s->len; i++) {
		char c = s->p[i];
		int esc = c == '\\' || c == ',' || c == '=';
		if (o + (size_t)esc + 1 >= len)
			return -1;
		if (esc)
			buf[o++] = '\\';
		buf[o++] = c;
	}
	return (long)o;
}

/* Sorted, escaped "k=v,..." from n key/value pairs. */
static int key_build(int n, const struct lp_str *const *keys, const struct lp_str *const *vals, char *buf,
		     size_t len)
{
	int idx[LP_MAX_TAGS];
	if (len == 0 || n < 0 || n > LP_MAX_TAGS)
		return -1;
	/* Insertion sort: at most LP_MAX_TAGS keys, and usually 1..4. Keys
	 * are unique (lp_parse refuses duplicates), so the order is total. */
	for (int i = 0; i < n; i++) {
		int j = i;
		while (j > 0 && str_cmp(keys[idx[j - 1]], keys[i]) > 0) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
	long o = 0;
	for (int i = 0; i < n; i++) {
		if (i > 0) {
			if ((size_t)o + 2 > len)
				return -1;
			buf[o++] = ',';
		}
		o = put_escaped(buf, len, (size_t)o, keys[idx[i]]);
		if (o < 0 || (size_t)o + 2 > len)
			return -1;
		buf[o++] = '=';
		o = put_escaped(buf, len, (size_t)o, vals[idx[i]]);
		if (o < 0)
			return -1;
	}
	buf[o] = '\0';
	return o > INT32_MAX ? -1 : (int)o;
}

int rfa_series_key(const struct lp_point *pt, char *buf, size_t len)
{
	const struct lp_str *k[LP_MAX_TAGS], *v[LP_MAX_TAGS];
	int n = pt->ntags < LP_MAX_TAGS ? pt->ntags : LP_MAX_TAGS;
	for (int i = 0; i < n; i++) {
		k[i] = &pt->tags[i].key;
		v[i] = &pt->tags[i].val;
	}
	return key_build(n, k, v, buf, len);
}

int rfa_series_key_tags(int ntags, const char *const *keys, const char *const *vals, char *buf, size_t len)
{
	struct lp_str ks[LP_MAX_TAGS], vs[LP_MAX_TAGS];
	const struct lp_str *k[LP_MAX_TAGS], *v[LP_MAX_TAGS];
	if (ntags < 0 || ntags > LP_MAX_TAGS)
		return -1;
	for (int i = 0; i < ntags; i++) {
		ks[i] = (struct lp_str){ keys[i], strlen(keys[i]) };
		vs[i] = (struct lp_str){ vals[i], strlen(vals[i]) };
		k[i] = &ks[i];
		v[i] = &vs[i];
	}
	return key_build(ntags, k, v, buf, len);
}

int rfa_field_number(const struct lp_point *pt, const char *name, double *out)
{
	size_t nl = strlen(name);
	for (int i = 0; i < pt->nfields; i++) {
		const struct lp_point_field *f = &pt->fields[i];
		if (f->key.len != nl || memcmp(f->key.p, name, nl) != 0)
			continue;
		switch (f->type) {
		case LP_FLOAT:
			*out = f->v.f;
			return 1;
		case LP_INT:
			*out = (double)f->v.i;
			return 1;
		case LP_UINT:
			*out = (double)f->v.u;
			return 1;
		default:
			return 0;
		}
	}
	return 0;
}
