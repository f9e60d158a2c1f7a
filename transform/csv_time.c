/*
 * csv_time.c — the event time of a record from its time column, for the
 * time_format values of the config: Unix seconds, milliseconds,
 * microseconds or nanoseconds (with an optional fraction) and RFC 3339.
 * Transform process: the plan calls it once per record on the raw column
 * xf_csv_parse returned. No allocation, no syscall, no time zone database
 * (RFC 3339 carries its offset).
 */
#include <stddef.h>
#include <stdint.h>

#include "transform/csv_time.h"

/* Days since 1970-01-01 of a proleptic Gregorian date: shift the year to
 * start in March so the leap day is the last day of the "year". */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int digits(const char *p, size_t n, size_t at, int count, int *out)
{
	int v = 0;
	if (at + (size_t)count > n)
		return -1;
	for (int i = 0; i < count; i++) {
		unsigned d = (unsigned char)p[at + i] - '0';
		if (d > 9)
			return -1;
		v = v * 10 + (int)d;
	}
	*out = v;
	return 0;
}

/* Fraction digits after a '.', as nanoseconds (extra digits truncated). */
static int fraction_ns(const char *p, size_t n, size_t *i, int64_t *ns)
{
	int64_t scale = 100000000, v = 0;
	size_t start = *i;
	while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
		v += (p[*i] - '0') * scale;
		scale /= 10;
		(*i)++;
	}
	if (*i == start)
		return -1;
	*ns = v;
	return 0;
}

static int parse_rfc3339(const char *p, size_t n, int64_t *ns)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, s;
	size_t i;
	int64_t frac = 0, off = 0;

	if (digits(p, n, 0, 4, &y) || n < 19 || p[4] != '-' || digits(p, n, 5, 2, &mo) ||
	    p[7] != '-' || digits(p, n, 8, 2, &d) ||
	    (p[10] != 'T' && p[10] != 't' && p[10] != ' ') ||
	    digits(p, n, 11, 2, &h) || p[13] != ':' || digits(p, n, 14, 2, &mi) ||
	    p[16] != ':' || digits(p, n, 17, 2, &s))
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) ||
	    h > 23 || mi > 59 || s > 60)
		return -1;
	i = 19;
	if (i < n && p[i] == '.') {
		i++;
		if (fraction_ns(p, n, &i, &frac) < 0)
			return -1;
	}
	if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
		i++;
	} else if (i < n && (p[i] == '+' || p[i] == '-')) {
		int oh, om;
		if (digits(p, n, i + 1, 2, &oh) || i + 3 >= n || p[i + 3] != ':' ||
		    digits(p, n, i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = (int64_t)(oh * 60 + om) * 60;
		if (p[i] == '-')
			off = -off;
		i += 6;
	} else {
		return -1;           /* RFC 3339 requires an offset */
	}
	if (i != n)
		return -1;
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
	/* Years 0000-9999 all fit in int64 nanoseconds except far from 1970;
	 * check rather than overflow. */
	int64_t r;
	if (__builtin_mul_overflow(secs, (int64_t)1000000000, &r) ||
	    __builtin_add_overflow(r, frac, &r))
		return -1;
	*ns = r;
	return 0;
}

int xf_parse_time(const char *p, size_t n, enum conf_time_format fmt, int64_t *ns)
{
	int64_t scale;
	switch (fmt) {
	case CONF_TIME_UNIX: scale = 1000000000; break;
	case CONF_TIME_UNIX_MS: scale = 1000000; break;
	case CONF_TIME_UNIX_US: scale = 1000; break;
	case CONF_TIME_UNIX_NS: scale = 1; break;
	case CONF_TIME_RFC3339: return parse_rfc3339(p, n, ns);
	default: return -1;
	}
	size_t i = 0;
	int neg = 0;
	int64_t whole = 0, frac = 0;
	if (n > 0 && (p[0] == '-' || p[0] == '+')) {
		neg = p[0] == '-';
		i = 1;
	}
	size_t dstart = i;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		if (__builtin_mul_overflow(whole, (int64_t)10, &whole) ||
		    __builtin_add_overflow(whole, (int64_t)(p[i] - '0'), &whole))
			return -1;
	if (i == dstart)
		return -1;
	if (i < n && p[i] == '.' && scale > 1) {
		int64_t fns;
		i++;
		if (fraction_ns(p, n, &i, &fns) < 0)
			return -1;
		frac = fns / (1000000000 / scale); /* ns of a second -> ns of one unit */
	}
	if (i != n)
		return -1;
	int64_t r;
	if (__builtin_mul_overflow(whole, scale, &r) || __builtin_add_overflow(r, frac, &r))
		return -1;
	*ns = neg ? -r : r;
	return 0;
}
