/*
 * csv_value.c — the typed column decoders (transform process): integers
 * with signs, 0x hexadecimal and overflow checks, floats independent of the
 * locale, IPv4 and IPv6 addresses. xf_csv_parse (csv.c) calls them per
 * column, the expression lexer for literals. The fast paths xf_csv_parse
 * inlines are in csv_value_int.h; this file holds the slow paths and the
 * entry points of csv_value.h. No allocation, no syscall.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "transform/csv_value.h"
#include "transform/csv_value_int.h"
int xf_parse_int(const char *p, size_t n, int64_t *out)
{
	return parse_int(p, n, out);
}

/* Signs, 0x hexadecimal and long numbers with overflow checks. */
int xf_parse_int_slow(const char *p, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0;

	if (n > 0 && (p[0] == '-' || p[0] == '+')) {
		neg = p[0] == '-';
		i = 1;
	}
	if (n - i > 2 && p[i] == '0' && (p[i + 1] == 'x' || p[i + 1] == 'X')) {
		i += 2;
		if (n - i > 16)
			return -1;
		for (; i < n; i++) {
			unsigned char ch = (unsigned char)p[i];
			unsigned d;
			if (ch >= '0' && ch <= '9')
				d = ch - '0';
			else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
				d = (ch | 0x20) - 'a' + 10;
			else
				return -1;
			v = v << 4 | d;
		}
	} else {
		if (i == n)
			return -1;
		for (; i < n; i++) {
			unsigned d = (unsigned char)p[i] - '0';
			if (d > 9)
				return -1;
			if (v > (UINT64_MAX - d) / 10)
				return -1;
			v = v * 10 + d;
		}
	}
	/* Accept exactly the int64 range: INT64_MIN only with a minus sign. */
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	return 0;
}

/* strtod honours LC_NUMERIC; the slow path uses an explicit "C" locale so a
 * process that calls setlocale() still reads "1.5" the same way. */
static locale_t c_locale(void)
{
	static locale_t loc;
	if (loc == (locale_t)0)
		loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	return loc;
}

int xf_parse_float(const char *p, size_t n, double *out)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
	};
	size_t i = 0;
	int neg = 0, ndig = 0, sig = 0, frac_digits = 0, exp = 0;
	uint64_t mant = 0;

	if (n > 0 && (p[0] == '-' || p[0] == '+')) {
		neg = p[0] == '-';
		i = 1;
	}
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, ndig++) {
		if (mant == 0 && p[i] == '0')
			continue;        /* leading zeros are not significant */
		if (sig < 19)
			mant = mant * 10 + (uint64_t)(p[i] - '0');
		else
			exp++;           /* dropped digit: slow path will be used */
		sig++;
	}
	if (i < n && p[i] == '.') {
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++, ndig++) {
			if (mant == 0 && p[i] == '0') {
				frac_digits++;
				continue;
			}
			if (sig < 19) {
				mant = mant * 10 + (uint64_t)(p[i] - '0');
				frac_digits++;
			}
			sig++;
		}
	}
	if (ndig == 0)
		return -1;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		int eneg = 0, e = 0, edig = 0;
		i++;
		if (i < n && (p[i] == '-' || p[i] == '+')) {
			eneg = p[i] == '-';
			i++;
		}
		for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, edig++)
			if (e < 100000)
				e = e * 10 + (p[i] - '0');
		if (edig == 0)
			return -1;
		exp += eneg ? -e : e;
	}
	if (i != n)
		return -1;
	exp -= frac_digits;
	/* Clinger's fast path: an exact mantissa below 2^53 times an exact
	 * power of ten is rounded once, so the result is correctly rounded. */
	if (sig <= 15 && exp >= -22 && exp <= 22) {
		double d = (double)mant;
		d = exp < 0 ? d / pow10[-exp] : d * pow10[exp];
		*out = neg ? -d : d;
		return 0;
	}
	char buf[128];
	if (n >= sizeof(buf))
		return -1;           /* absurdly long number: not from sflowtool */
	memcpy(buf, p, n);
	buf[n] = '\0';
	locale_t loc = c_locale();
	char *end;
	errno = 0;
	double d = loc != (locale_t)0 ? strtod_l(buf, &end, loc) : strtod(buf, &end);
	if (end != buf + n)
		return -1;
	if (errno == ERANGE && (d > 1.0 || d < -1.0))
		return -1;           /* overflow to infinity is not a number we can store */
	*out = d;
	return 0;
}

/* One IPv4 part: 1-3 digits, no leading zero, at most 255. Unrolled by
 * digit position: this runs for three columns of every sFlow record. */
static inline const char *ipv4_part(const char *p, const char *end, uint8_t *out)
{
	if (p == end || (unsigned char)(*p - '0') > 9)
		return NULL;
	unsigned v = (unsigned)(*p++ - '0');
	if (p != end && (unsigned char)(*p - '0') <= 9) {
		if (v == 0)
			return NULL;
		v = v * 10 + (unsigned)(*p++ - '0');
		if (p != end && (unsigned char)(*p - '0') <= 9) {
			v = v * 10 + (unsigned)(*p++ - '0');
			if (v > 255)
				return NULL;
		}
	}
	*out = (uint8_t)v;
	return p;
}

/* inet_pton's IPv4 rules: exactly four parts separated by dots. */
static inline int parse_ipv4(const char *p, size_t n, uint8_t q[4])
{
	const char *end = p + n;
	for (int part = 0; part < 4; part++) {
		p = ipv4_part(p, end, &q[part]);
		if (p == NULL)
			return -1;
		if (part < 3) {
			if (p == end || *p != '.')
				return -1;
			p++;
		}
	}
	return p == end ? 0 : -1;
}

/* Anything that is not a dotted quad: IPv6 through inet_pton. */
static int parse_ipv6(const char *p, size_t n, uint8_t ip[16], uint8_t *is_v4)
{
	char buf[INET6_ADDRSTRLEN + 1];
	if (n >= sizeof(buf) || memchr(p, ':', n) == NULL)
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, ip) != 1)
		return -1;
	*is_v4 = 0;
	return 0;
}

#ifdef __SSE2__
/* Value of the part [s, e) (1-3 checked digits); 4 bytes readable at b + s. */
static inline unsigned ipv4_part_value(const char *b, unsigned s, unsigned e)
{
	uint32_t w;
	memcpy(&w, b + s, 4);
	w ^= 0x30303030u;                 /* '0'..'9' -> 0..9 */
	/* Little endian: move the part's bytes up so the last digit is byte 2
	 * and the bytes past it fall off; missing leading digits become 0. */
	w = (w << ((3 - (e - s)) * 8)) & 0xffffff;
	return (w & 0xff) * 100 + ((w >> 8) & 0xff) * 10 + (w >> 16);
}

/* can_read20: 20 bytes are readable at p (the masks read 16, the part
 * values up to 4 past the last part's start). */
static inline int parse_ipv4_sse(const char *p, size_t n, uint8_t q[4], int can_read20)
{
	char pad[20];
	const char *b = p;
	if (n < 7 || n > 15)
		return -1;
	if (!can_read20) {
		/* Near the end of the line: work on a padded copy. */
		memset(pad, 0, sizeof(pad));
		memcpy(pad, p, n);
		b = pad;
	}
	uint32_t dot = ipv4_dots_sse(b, n);
	if (dot == 0)
		return -1;
	unsigned d1 = (unsigned)__builtin_ctz(dot);
	dot &= dot - 1;
	unsigned d2 = (unsigned)__builtin_ctz(dot);
	dot &= dot - 1;
	unsigned d3 = (unsigned)__builtin_ctz(dot);
	q[0] = (uint8_t)ipv4_part_value(b, 0, d1);
	q[1] = (uint8_t)ipv4_part_value(b, d1 + 1, d2);
	q[2] = (uint8_t)ipv4_part_value(b, d2 + 1, d3);
	q[3] = (uint8_t)ipv4_part_value(b, d3 + 1, (unsigned)n);
	return 0;
}
#endif

/* can_read20: 20 bytes are readable at p, whatever n is. */
int xf_parse_ip_at(const char *p, size_t n, uint8_t ip[16], uint8_t *is_v4, int can_read20)
{
	uint8_t q[4];
	if (n == 0)
		return -1;
#ifdef __SSE2__
	if (parse_ipv4_sse(p, n, q, can_read20) == 0) {
#else
	(void)can_read20;
	if (parse_ipv4(p, n, q) == 0) {
#endif
		static const uint8_t v4_prefix[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
		memcpy(ip, v4_prefix, 12);
		memcpy(ip + 12, q, 4);
		*is_v4 = 1;
		return 0;
	}
	return parse_ipv6(p, n, ip, is_v4);
}

int xf_parse_ip(const char *p, size_t n, uint8_t ip[16], uint8_t *is_v4)
{
	return xf_parse_ip_at(p, n, ip, is_v4, 0);
}
