/*
 * csv_value_int.h — the fast paths of the typed column decoders, inline in
 * xf_csv_parse (csv.c), and the out-of-line rest of csv_value.c they fall
 * back to. Transform process. Not an API: included by csv.c and
 * csv_value.c only (callers outside use csv_value.h).
 *
 * Why a header: these run for every typed column of every record
 * (transform parsing is ~125 ns per record). As static inline functions
 * they are compiled into xf_csv_parse exactly as when the decoders and the
 * line splitting shared one file; a call per column would cost measurably.
 * Only the slow paths (signs, hexadecimal, IPv6, part values of an IPv4
 * address) are calls, as they were.
 */
#ifndef XF_CSV_VALUE_INT_H
#define XF_CSV_VALUE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Out of line, in csv_value.c. */
int xf_parse_int_slow(const char *p, size_t n, int64_t *out);
/* xf_parse_ip with a hint: can_read20 says 20 bytes are readable at p,
 * whatever n is (the SSE2 path then needs no padded copy). */
int xf_parse_ip_at(const char *p, size_t n, uint8_t ip[16], uint8_t *is_v4, int can_read20);

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
	return xf_parse_int_slow(p, n, out);
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
 * The rules of parse_ipv4() (csv_value.c) as bit masks over the 16 bytes
 * at b, of which the first n (7..15) are the column: no branch per part,
 * which is what makes it fast on addresses whose part lengths vary from
 * line to line.
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
#endif

/* The same verdict as xf_parse_ip_at() without storing the address (an
 * unused column). can_read16: 16 bytes are readable at p. */
static inline int check_ip(const char *p, size_t n, int can_read16)
{
#ifdef __SSE2__
	if (can_read16 && n >= 7 && n <= 15 && ipv4_dots_sse(p, n) != 0)
		return 0;
#else
	(void)can_read16;
#endif
	uint8_t ip[16], v4;
	return xf_parse_ip_at(p, n, ip, &v4, 0);
}

#endif
