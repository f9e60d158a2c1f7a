/*
 * csv.c — CSV line splitting and typed column parsing (transform process).
 *
 * Two passes over a line: the first finds separators and control bytes
 * sixteen bytes at a time and records where columns start, so a line with
 * the wrong number of columns is reported as such even when its columns
 * would also fail to parse (a CNTR line under the FLOW layout); the second
 * walks a per-layout list of the columns with work to do: decode the ones
 * the plan reads, only check the other typed ones (xf_csv_use). No
 * allocation, no syscall.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "transform/csv.h"

static const char *const csv_err_names[XF_CSV_ERR_COUNT] = {
	[XF_CSV_OK] = "ok",
	[XF_CSV_EMPTY_LINE] = "empty_line",
	[XF_CSV_WRONG_COLUMN_COUNT] = "wrong_column_count",
	[XF_CSV_BAD_INT] = "bad_int",
	[XF_CSV_BAD_FLOAT] = "bad_float",
	[XF_CSV_BAD_IP] = "bad_ip",
	[XF_CSV_BAD_TIMESTAMP] = "bad_timestamp",
	[XF_CSV_LINE_TOO_LONG] = "line_too_long",
	[XF_CSV_BINARY_JUNK] = "binary_junk",
};

const char *xf_csv_err_name(enum xf_csv_err e)
{
	if ((unsigned)e >= XF_CSV_ERR_COUNT)
		return "unknown";
	return csv_err_names[e];
}

int xf_csv_init(struct xf_csv *c, char sep, const enum rf_vtype *types, int ncols,
		char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (sep == '\0' || sep == '\r' || sep == '\n') {
		snprintf(err, errlen, "separator cannot be NUL, CR or LF");
		return -1;
	}
	if (ncols < 1 || ncols > CONF_MAX_FIELDS) {
		snprintf(err, errlen, "need 1 to %d fields, got %d", CONF_MAX_FIELDS, ncols);
		return -1;
	}
	for (int i = 0; i < ncols; i++) {
		if (types[i] != RF_V_STR && types[i] != RF_V_INT &&
		    types[i] != RF_V_FLOAT && types[i] != RF_V_IP) {
			snprintf(err, errlen, "field %d: type must be str, int, float or ip", i + 1);
			return -1;
		}
		c->types[i] = (uint8_t)types[i];
	}
	c->ncols = ncols;
	c->sep = sep;
	xf_csv_use(c, NULL, XF_CSV_UNUSED_VALIDATE);
	return 0;
}

void xf_csv_use(struct xf_csv *c, const uint8_t *used, enum xf_csv_unused unused)
{
	static const uint8_t decode[RF_V_TYPE_COUNT] = {
		[RF_V_STR] = XF_CSV_OP_STR, [RF_V_INT] = XF_CSV_OP_INT,
		[RF_V_FLOAT] = XF_CSV_OP_FLOAT, [RF_V_IP] = XF_CSV_OP_IP,
	};
	static const uint8_t check[RF_V_TYPE_COUNT] = {
		[RF_V_INT] = XF_CSV_OP_CHECK_INT, [RF_V_FLOAT] = XF_CSV_OP_CHECK_FLOAT,
		[RF_V_IP] = XF_CSV_OP_CHECK_IP,
	};
	c->nwork = 0;
	for (int i = 0; i < c->ncols; i++) {
		int t = c->types[i];
		if (used == NULL || used[i]) {
			c->work_op[c->nwork] = decode[t];
		} else if (unused == XF_CSV_UNUSED_VALIDATE && t != RF_V_STR) {
			c->work_op[c->nwork] = check[t];
		} else {
			continue;      /* a str column cannot be wrong */
		}
		c->work_col[c->nwork++] = (uint8_t)i;
	}
}

static int parse_int_slow(const char *p, size_t n, int64_t *out);

/* Short plain decimals (the common case) inline; the rest out of line. */
static inline int parse_int(const char *p, size_t n, int64_t *out)
{
	/* Up to 18 plain decimal digits cannot overflow. */
	if (n > 0 && n <= 18) {
		int64_t v = 0;
		size_t k = 0;
		for (; k < n; k++) {
			unsigned d = (unsigned char)p[k] - '0';
			if (d > 9)
				break;
			v = v * 10 + d;
		}
		if (k == n) {
			*out = v;
			return 0;
		}
	}
	return parse_int_slow(p, n, out);
}

int xf_parse_int(const char *p, size_t n, int64_t *out)
{
	return parse_int(p, n, out);
}

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the 8-byte digit code below assumes a little-endian machine"
#endif

#define ZEROS 0x3030303030303030ULL /* "00000000" */

/* Eight bytes (the first character in the low byte) all in '0'..'9':
 * high nibble 3, and still 3 after adding 6. A carry out of a byte only
 * comes from a byte >= 0xfa, which fails its own test, so carries cannot
 * hide a bad byte. */
static inline int swar_digits(uint64_t w)
{
	return ((w & 0xf0f0f0f0f0f0f0f0ULL) |
		(((w + 0x0606060606060606ULL) & 0xf0f0f0f0f0f0f0f0ULL) >> 4)) == 0x3333333333333333ULL;
}

/* Value of eight checked digits, without a multiply per digit. */
static inline uint64_t swar_value(uint64_t w)
{
	w -= ZEROS;
	w = (w * 10 + (w >> 8)) & 0x00ff00ff00ff00ffULL;
	w = (w * 100 + (w >> 16)) & 0x0000ffff0000ffffULL;
	return (w * 10000 + (w >> 32)) & 0xffffffffULL;
}

/* The m (1-8) bytes at p as the last m of an 8-digit word, '0' before
 * them; 8 bytes are readable at p. */
static inline uint64_t load_front(const char *p, size_t m)
{
	uint64_t w;
	unsigned shift = (unsigned)(8 - m) * 8;
	memcpy(&w, p, 8);
	return (w << shift) | (ZEROS & ((1ULL << shift) - 1));
}

/* The same for the m (1-8) bytes that end at e, with 8 bytes readable
 * before e: no shift needed, only the bytes before them become '0'. */
static inline uint64_t load_back(const char *e, size_t m)
{
	uint64_t w, low = (1ULL << ((8 - m) * 8)) - 1;
	memcpy(&w, e - 8, 8);
	return (w & ~low) | (ZEROS & low);
}

/*
 * A column [s, s + n) of a line of len bytes as two 8-digit words (hi
 * holds the digits before the last eight), loaded in place without reading
 * outside the line and without a branch per digit: column lengths vary
 * from record to record, so a digit loop mispredicts. Returns -1 if n is
 * outside 1..16 or the line is too short to load in place.
 */
static inline int load_digits(const char *line, size_t len, size_t s, size_t n,
			      uint64_t *hi, uint64_t *lo)
{
	const char *p = line + s;
	if (n - 1 >= 16)       /* also n == 0 */
		return -1;
	if (n <= 8) {
		*hi = ZEROS;
		if (s + n >= 8)
			*lo = load_back(p + n, n);
		else if (s + 8 <= len)
			*lo = load_front(p, n);
		else
			return -1;
		return 0;
	}
	*lo = load_back(p + n, 8);
	*hi = s + n - 8 >= 8 ? load_back(p + n - 8, n - 8) : load_front(p, n - 8);
	return 0;
}

/* A plain decimal column of up to 16 digits (no overflow possible); -1 for
 * anything else, which the caller gives to parse_int(). */
static inline int int_fast(const char *line, size_t len, size_t s, size_t n, int64_t *out)
{
	uint64_t hi, lo;
	if (load_digits(line, len, s, n, &hi, &lo) < 0 || !swar_digits(hi) || !swar_digits(lo))
		return -1;
	*out = (int64_t)(hi == ZEROS ? swar_value(lo) : swar_value(hi) * 100000000 + swar_value(lo));
	return 0;
}

/* int_fast() without the conversion, for columns that are only checked. */
static inline int int_fast_ok(const char *line, size_t len, size_t s, size_t n)
{
	uint64_t hi, lo;
	return load_digits(line, len, s, n, &hi, &lo) == 0 && swar_digits(hi) && swar_digits(lo);
}

/* Signs, 0x hexadecimal and long numbers with overflow checks. */
static int parse_int_slow(const char *p, size_t n, int64_t *out)
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
static inline uint32_t mask_eq(__m128i v, char c)
{
	return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
}

static inline uint32_t mask_gt(__m128i v, char c)
{
	/* Signed compare: bytes >= 0x80 are "less"; only used on digits. */
	return (uint32_t)_mm_movemask_epi8(_mm_cmpgt_epi8(v, _mm_set1_epi8(c)));
}

/*
 * The rules of parse_ipv4() as bit masks over the 16 bytes at b, of which
 * the first n (7..15) are the column: no branch per part, which is what
 * makes it fast on addresses whose part lengths vary from line to line.
 * Returns the mask of the three dots, or 0 if the text is not a dotted
 * quad. Bit i of each mask is byte i.
 */
static inline uint32_t ipv4_dots_sse(const char *b, size_t n)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)b);
	__m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
	uint32_t valid = (1u << n) - 1;
	uint32_t digit = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d)) & valid;
	uint32_t dot = mask_eq(v, '.') & valid;
	uint32_t first = ((dot << 1) | 1) & valid;   /* first byte of each part */
	uint32_t run3 = digit & (digit >> 1) & (digit >> 2); /* 3 digits start here */
	uint32_t two = dot & (dot - 1), three = two & (two - 1);
	uint32_t bad = (digit | dot) ^ valid;        /* a byte neither digit nor dot */
	bad |= (uint32_t)(three == 0 || (three & (three - 1)) != 0); /* not 3 dots */
	bad |= (first & dot) | (dot >> (n - 1));     /* an empty part */
	bad |= run3 & (digit >> 3);                  /* a part of 4+ digits */
	bad |= first & mask_eq(v, '0') & (digit >> 1); /* a leading zero */
	/* A 3-digit part above "255": first digit > 2, or 2 and then > 5, or
	 * 25 and then > 5. Bytes past a part are only looked at when they
	 * are its digits (run3). */
	uint32_t gt5 = mask_gt(v, '5');
	bad |= first & run3 & (mask_gt(v, '2') |
			       (mask_eq(v, '2') & ((gt5 >> 1) | ((mask_eq(v, '5') >> 1) & (gt5 >> 2)))));
	return bad ? 0 : dot;
}

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
static inline int parse_ip(const char *p, size_t n, uint8_t ip[16], uint8_t *is_v4, int can_read20)
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

/* The same verdict as parse_ip() without storing the address (an unused
 * column). can_read16: 16 bytes are readable at p. */
static inline int check_ip(const char *p, size_t n, int can_read16)
{
#ifdef __SSE2__
	if (can_read16 && n >= 7 && n <= 15 && ipv4_dots_sse(p, n) != 0)
		return 0;
#else
	(void)can_read16;
#endif
	uint8_t ip[16], v4;
	return parse_ip(p, n, ip, &v4, 0);
}

int xf_parse_ip(const char *p, size_t n, uint8_t ip[16], uint8_t *is_v4)
{
	return parse_ip(p, n, ip, is_v4, 0);
}

/*
 * Bit i of *sepm: byte i of the 16 at p is the separator; of *junkm: it is
 * a control byte other than tab (and other than the separator) or DEL.
 * SSE2 on x86-64 (always present there); elsewhere two 8-byte words with
 * exact per-byte tests (no borrow between bytes).
 */
static inline void scan_block(const char *p, char sep, uint32_t *sepm, uint32_t *junkm)
{
#ifdef __SSE2__
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i c1f = _mm_set1_epi8(0x1f);
	uint32_t s = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(sep)));
	uint32_t tab = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
	uint32_t del = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
	uint32_t ctl = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f));
	*sepm = s;
	*junkm = ((ctl & ~tab) | del) & ~s;
#else
	const uint64_t ones = 0x0101010101010101ULL, low7 = 0x7f7f7f7f7f7f7f7fULL;
	uint32_t sm = 0, jm = 0;
	for (int h = 0; h < 2; h++) {
		uint64_t w, x;
		memcpy(&w, p + 8 * h, 8);
		x = w ^ (ones * (unsigned char)sep);
		uint64_t se = ~(((x & low7) + low7) | x | low7);
		x = w ^ (ones * '\t');
		uint64_t tb = ~(((x & low7) + low7) | x | low7);
		x = w ^ (ones * 0x7f);
		uint64_t de = ~(((x & low7) + low7) | x | low7);
		uint64_t ct = ~(((w & low7) + 0x6060606060606060ULL) | w) & ~low7;
		uint64_t ju = ((ct & ~tb) | de) & ~se;
		for (int b = 0; b < 8; b++) {
			sm |= (uint32_t)((se >> (8 * b + 7)) & 1) << (8 * h + b);
			jm |= (uint32_t)((ju >> (8 * b + 7)) & 1) << (8 * h + b);
		}
	}
	*sepm = sm;
	*junkm = jm;
#endif
}

/* Records the column starts of one block's separators (bit i of sepm: a
 * separator at base + i). Keeps counting past ncols but stops recording. */
static inline void record_seps(uint32_t sepm, size_t base, uint32_t *start, int *k, int ncols)
{
	while (sepm != 0) {
		if (*k <= ncols)
			start[*k] = (uint32_t)(base + (size_t)__builtin_ctz(sepm)) + 1;
		(*k)++;
		sepm &= sepm - 1;
	}
}

static enum xf_csv_err bad_value(const struct xf_csv *c, int col, int *bad_col)
{
	if (bad_col != NULL)
		*bad_col = col;
	return c->types[col] == RF_V_INT ? XF_CSV_BAD_INT :
	       c->types[col] == RF_V_FLOAT ? XF_CSV_BAD_FLOAT : XF_CSV_BAD_IP;
}

/*
 * An empty column or "-": computed without a branch, because the lengths
 * of short columns (a protocol number of 1 or 2 digits) vary from record
 * to record and a branch on n == 1 would mispredict. Reads line[0] rather
 * than p[0] for an empty column, which may sit just past the line.
 */
static inline int is_missing(const char *line, const char *p, size_t n)
{
	const char *first = n != 0 ? p : line;
	return (n == 0) | ((n == 1) & (*first == '-'));
}

/*
 * The work of pass 2 on column col: decode into *v or only check. start[]
 * holds the column starts (start[ncols] = len + 1). Returns 0 or -1 for a
 * bad value. Numbers try the digit-word path first: a missing value fails
 * it and is caught after. always_inline measured about 5 ns per sFlow
 * record faster than gcc's own inlining decisions (gcc 12, -O2).
 */
static inline __attribute__((always_inline)) int do_column(int op, const char *line, size_t len,
		const uint32_t *start, int col, struct rf_value *v)
{
	size_t s = start[col], n = start[col + 1] - 1 - s;
	const char *p = line + s;
	switch (op) {
	case XF_CSV_OP_INT:
		v->type = RF_V_INT;
		if (int_fast(line, len, s, n, &v->u.i) == 0)
			return 0;
		if (is_missing(line, p, n)) {
			v->type = RF_V_MISSING;
			return 0;
		}
		return parse_int(p, n, &v->u.i);
	case XF_CSV_OP_CHECK_INT: {
		int64_t tmp;
		if (int_fast_ok(line, len, s, n) || is_missing(line, p, n))
			return 0;
		return parse_int(p, n, &tmp);
	}
	case XF_CSV_OP_STR:
		v->type = is_missing(line, p, n) ? RF_V_MISSING : RF_V_STR;
		v->u.s = p;
		v->len = (uint32_t)n;
		return 0;
	default:
		break;
	}
	if (is_missing(line, p, n)) {
		if (op <= XF_CSV_OP_IP)
			v->type = RF_V_MISSING;
		return 0;
	}
	switch (op) {
	case XF_CSV_OP_FLOAT:
		v->type = RF_V_FLOAT;
		return xf_parse_float(p, n, &v->u.f);
	case XF_CSV_OP_IP:
		v->type = RF_V_IP;
		return parse_ip(p, n, v->u.ip, &v->ip_is_v4, s + 20 <= len);
	case XF_CSV_OP_CHECK_FLOAT: {
		double tmp;
		return xf_parse_float(p, n, &tmp);
	}
	default: /* XF_CSV_OP_CHECK_IP */
		return check_ip(p, n, s + 16 <= len);
	}
}

enum xf_csv_err xf_csv_parse(const struct xf_csv *c, const char *line, size_t len,
		struct rf_value *vals, struct xf_csv_col *cols, int *bad_col)
{
	uint32_t start[CONF_MAX_FIELDS + 1];
	int ncols = c->ncols, k = 1;

	if (len > XF_CSV_LINE_MAX)
		return XF_CSV_LINE_TOO_LONG;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return XF_CSV_EMPTY_LINE;

	/* Pass 1: column boundaries and junk, sixteen bytes at a time. Junk
	 * wins over a wrong column count, so the scan always finishes. */
	uint32_t sepm, junkm;
	size_t i = 0;
	start[0] = 0;
	for (; i + 16 <= len; i += 16) {
		scan_block(line + i, c->sep, &sepm, &junkm);
		if (junkm != 0)
			return XF_CSV_BINARY_JUNK;
		record_seps(sepm, i, start, &k, ncols);
	}
	if (i < len) {
		/* The last partial block: rescan the line's last 16 bytes and
		 * drop what the loop saw already, or, for a line shorter than
		 * 16 bytes, a zeroed copy. Nothing past the line is read. */
		size_t rest = len - i;
		if (len >= 16) {
			scan_block(line + len - 16, c->sep, &sepm, &junkm);
			sepm >>= 16 - rest;
			junkm >>= 16 - rest;
		} else {
			char tail[16];
			memset(tail, 0, sizeof(tail));
			memcpy(tail, line, len);
			scan_block(tail, c->sep, &sepm, &junkm);
			sepm &= (1u << len) - 1;
			junkm &= (1u << len) - 1;
		}
		if (junkm != 0)
			return XF_CSV_BINARY_JUNK;
		record_seps(sepm, i, start, &k, ncols);
	}
	if (k != ncols)
		return XF_CSV_WRONG_COLUMN_COUNT;
	start[ncols] = (uint32_t)len + 1;
	if (cols != NULL)
		for (int j = 0; j < ncols; j++) {
			cols[j].off = start[j];
			cols[j].len = start[j + 1] - 1 - start[j];
		}

	/* Pass 2: in column order, so the first bad column is reported
	 * whether it is decoded or only checked. (One tight loop per op, with
	 * this loop only to find the culprit, measured no faster.) */
	for (int w = 0; w < c->nwork; w++) {
		int col = c->work_col[w];
		if (do_column(c->work_op[w], line, len, start, col, &vals[col]) < 0)
			return bad_value(c, col, bad_col);
	}
	return XF_CSV_OK;
}

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
