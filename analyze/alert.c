/*
 * alert.c — an alert from an analyzer's `alert` point, its JSON form and its
 * series identity. See alert.h for the contract.
 *
 * Runs in the analyzer host process; pure functions, no allocation.
 */
#include "analyze/alert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const severity_names[DET_SEVERITY_COUNT] = { "ok", "info", "warning", "critical" };

const char *an_severity_name(int severity)
{
	if (severity < 0 || severity >= DET_SEVERITY_COUNT)
		return NULL;
	return severity_names[severity];
}

int an_severity_parse(const char *s, size_t len)
{
	for (int i = 0; i < DET_SEVERITY_COUNT; i++)
		if (strlen(severity_names[i]) == len && !memcmp(s, severity_names[i], len))
			return i;
	return -1;
}

static int lp_str_is(const struct lp_str *s, const char *lit)
{
	return s->len == strlen(lit) && !memcmp(s->p, lit, s->len);
}

int an_alert_from_point(const struct lp_point *pt, const char *analyzer, int64_t default_time_ns,
			struct an_alert *out, char *err, size_t errlen)
{
	static const char *const numeric[] = { "value", "expected", "lower", "upper", "score" };
	double *slot[5];

	memset(out, 0, offsetof(struct an_alert, tag_keys));
	out->analyzer = analyzer;
	out->value = out->expected = out->lower = out->upper = out->score = NAN;
	slot[0] = &out->value;
	slot[1] = &out->expected;
	slot[2] = &out->lower;
	slot[3] = &out->upper;
	slot[4] = &out->score;

	if (!lp_str_is(&pt->measurement, "alert")) {
		snprintf(err, errlen, "measurement \"%.64s\" is not alert", pt->measurement.p);
		return -1;
	}
	int severity = -1;
	for (int i = 0; i < pt->ntags; i++) {
		const struct lp_point_tag *t = &pt->tags[i];
		if (lp_str_is(&t->key, "severity")) {
			severity = an_severity_parse(t->val.p, t->val.len);
			if (severity < 0) {
				snprintf(err, errlen, "severity \"%.64s\" is not ok, info, warning or critical",
					 t->val.p);
				return -1;
			}
		} else if (lp_str_is(&t->key, "rule")) {
			out->rule = t->val.p;
		} else if (lp_str_is(&t->key, "field")) {
			out->field = t->val.p;
		} else {
			/* LP_MAX_TAGS bounds both arrays: the point cannot have more. */
			out->tag_keys[out->ntags] = t->key.p;
			out->tag_values[out->ntags] = t->val.p;
			out->ntags++;
		}
	}
	if (severity < 0) {
		snprintf(err, errlen, "alert without a severity tag");
		return -1;
	}
	out->severity = severity;

	for (int i = 0; i < pt->nfields; i++) {
		const struct lp_point_field *f = &pt->fields[i];
		if (lp_str_is(&f->key, "message")) {
			if (f->type != LP_STRING) {
				snprintf(err, errlen, "field message is not a string");
				return -1;
			}
			out->message = f->v.s.p;
			continue;
		}
		for (size_t j = 0; j < sizeof numeric / sizeof numeric[0]; j++) {
			if (!lp_str_is(&f->key, numeric[j]))
				continue;
			if (f->type == LP_FLOAT)
				*slot[j] = f->v.f;
			else if (f->type == LP_INT)
				*slot[j] = (double)f->v.i;
			else if (f->type == LP_UINT)
				*slot[j] = (double)f->v.u;
			else {
				snprintf(err, errlen, "field %s is not a number", numeric[j]);
				return -1;
			}
		}
	}
	out->time_ns = pt->has_time ? pt->time_ns : default_time_ns;
	return 0;
}

/* A bounded writer: once something does not fit, every later write is a
 * no-op and the result is 0, so callers check once at the end. */
struct jw {
	char *buf;
	size_t cap, len;
	int full;
};

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->full || n >= w->cap - w->len) { /* keep a byte for the NUL */
		w->full = 1;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void jw_lit(struct jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

static void jw_str(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (!s) {
		jw_lit(w, "null");
		return;
	}
	jw_put(w, "\"", 1);
	const char *run = s;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jw_put(w, run, (size_t)(p - run));
		if (c == '"')
			jw_put(w, "\\\"", 2);
		else if (c == '\\')
			jw_put(w, "\\\\", 2);
		else {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			jw_put(w, u, 6);
		}
		run = p + 1;
	}
	jw_put(w, run, strlen(run));
	jw_put(w, "\"", 1);
}

/* Shortest of %.15g and %.17g that reads back as the same double: 0.1 stays
 * "0.1" and every value still round-trips. */
static void jw_num(struct jw *w, double v)
{
	char t[32];
	if (!isfinite(v)) {
		jw_lit(w, "null");
		return;
	}
	snprintf(t, sizeof t, "%.15g", v);
	if (strtod(t, NULL) != v)
		snprintf(t, sizeof t, "%.17g", v);
	jw_lit(w, t);
}

/* RFC 3339 UTC; floor division so times before 1970 keep a positive
 * fraction. lp timestamps span years 1677..2262: always four digits. */
static void jw_time(struct jw *w, int64_t ns)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	char s[64];
	if (!gmtime_r(&t, &tm)) {
		w->full = 1;
		return;
	}
	int n = snprintf(s, sizeof s, "\"%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (frac) {
		n += snprintf(s + n, sizeof s - (size_t)n, ".%09lld", (long long)frac);
		while (s[n - 1] == '0')
			n--;
	}
	memcpy(s + n, "Z\"", 3);
	jw_put(w, s, (size_t)n + 2);
}

size_t an_alert_json(const struct an_alert *a, char *buf, size_t cap)
{
	struct jw w = { buf, cap, 0, cap == 0 };
	jw_lit(&w, "{\"time\":");
	jw_time(&w, a->time_ns);
	jw_lit(&w, ",\"analyzer\":");
	jw_str(&w, a->analyzer);
	jw_lit(&w, ",\"rule\":");
	jw_str(&w, a->rule);
	jw_lit(&w, ",\"tags\":{");
	int ntags = a->ntags < 0 ? 0 : a->ntags > LP_MAX_TAGS ? LP_MAX_TAGS : a->ntags;
	for (int i = 0; i < ntags; i++) {
		if (i)
			jw_put(&w, ",", 1);
		jw_str(&w, a->tag_keys[i]);
		jw_put(&w, ":", 1);
		jw_str(&w, a->tag_values[i]);
	}
	jw_lit(&w, "},\"field\":");
	jw_str(&w, a->field);
	jw_lit(&w, ",\"value\":");
	jw_num(&w, a->value);
	jw_lit(&w, ",\"expected\":");
	jw_num(&w, a->expected);
	jw_lit(&w, ",\"lower\":");
	jw_num(&w, a->lower);
	jw_lit(&w, ",\"upper\":");
	jw_num(&w, a->upper);
	jw_lit(&w, ",\"score\":");
	jw_num(&w, a->score);
	jw_lit(&w, ",\"severity\":");
	jw_str(&w, an_severity_name(a->severity));
	jw_lit(&w, ",\"message\":");
	jw_str(&w, a->message);
	jw_put(&w, "}", 1);
	if (w.full)
		return 0;
	buf[w.len] = '\0';
	return w.len;
}

/* Appends s with ',', '=' and '\' escaped; counts what does not fit. */
static void key_part(char *buf, size_t cap, size_t *len, const char *s)
{
	for (; s && *s; s++) {
		if (*s == ',' || *s == '=' || *s == '\\') {
			if (*len + 1 < cap)
				buf[*len] = '\\';
			(*len)++;
		}
		if (*len + 1 < cap)
			buf[*len] = *s;
		(*len)++;
	}
}

static void key_char(char *buf, size_t cap, size_t *len, char c)
{
	if (*len + 1 < cap)
		buf[*len] = c;
	(*len)++;
}

static int tag_less(const struct an_alert *a, int i, int j)
{
	int c = strcmp(a->tag_keys[i] ? a->tag_keys[i] : "", a->tag_keys[j] ? a->tag_keys[j] : "");
	if (c)
		return c < 0;
	return strcmp(a->tag_values[i] ? a->tag_values[i] : "", a->tag_values[j] ? a->tag_values[j] : "") < 0;
}

size_t an_alert_series_key(const struct an_alert *a, char *buf, size_t cap)
{
	int order[LP_MAX_TAGS];
	int n = a->ntags < 0 ? 0 : a->ntags > LP_MAX_TAGS ? LP_MAX_TAGS : a->ntags;
	size_t len = 0;

	/* Insertion sort of at most LP_MAX_TAGS indices: no allocation, and
	 * the usual one to three tags cost nothing. */
	for (int i = 0; i < n; i++) {
		int j = i;
		while (j > 0 && tag_less(a, i, order[j - 1])) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	key_part(buf, cap, &len, a->analyzer);
	key_char(buf, cap, &len, ',');
	key_part(buf, cap, &len, a->rule);
	key_char(buf, cap, &len, ',');
	key_part(buf, cap, &len, a->field);
	for (int i = 0; i < n; i++) {
		key_char(buf, cap, &len, ',');
		key_part(buf, cap, &len, a->tag_keys[order[i]]);
		key_char(buf, cap, &len, '=');
		key_part(buf, cap, &len, a->tag_values[order[i]]);
	}
	if (cap)
		buf[len < cap ? len : cap - 1] = '\0';
	return len;
}
