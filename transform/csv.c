/*
 * csv.c — splitting one CSV line into columns and decoding the columns its
 * layout (csv_layout.h) has work on (transform process, once per record).
 *
 * Two passes over a line: the first finds separators and control bytes
 * sixteen bytes at a time and records where columns start, so a line with
 * the wrong number of columns is reported as such even when its columns
 * would also fail to parse (a CNTR line under the FLOW layout); the second
 * walks a per-layout list of the columns with work to do: decode the ones
 * the plan reads, only check the other typed ones (xf_csv_use). The typed
 * decoders' fast paths are inline from csv_value_int.h, so this pass is
 * one function with no call per column in the common case. No
 * allocation, no syscall.
 */
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "transform/csv.h"
#include "transform/csv_value.h"
#include "transform/csv_value_int.h"

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
		return xf_parse_ip_at(p, n, v->u.ip, &v->ip_is_v4, s + 20 <= len);
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
