/*
 * lineproto_parse.h — InfluxDB line protocol parser, the reverse of
 * pipeline/lineproto.h, for text from untrusted programs.
 *
 * Runs in the analyzer host, which reads one point per line from analyzer
 * executables' stdout, and in tests. Never allocates, never reads outside
 * [line, line + len), never asserts on input: every refusal is a reason
 * from enum lp_error, named for counters by lp_error_name().
 *
 * Grammar (one line, an optional single trailing '\n' is ignored):
 *
 *   measurement[,tag_key=tag_value...] field_key=value[,field_key=value...] [time]
 *
 * Exactly one space separates the three parts; no leading or trailing
 * whitespace. Escapes follow the rules lineproto.h writes by: outside string
 * fields a backslash escapes the character after it if that is one of the
 * part's special characters — comma and space in the measurement; comma,
 * equals sign and space in tag keys, tag values and field keys — and is an
 * ordinary byte otherwise ("a\b" stays "a\b"; a backslash cannot escape a
 * backslash). In a string field '\"' and '\\' are the only escapes. So a
 * line from lp_*() reads back as the encoder meant it. influxd 1.6 reads a
 * few pairs the encoder writes as plain bytes otherwise (seen: '\\', '\"'
 * and '\=' lose their backslash in a measurement, '\"' in a field key); the
 * parser keeps them as they are.
 *
 * Values: float "1.5", "-2", ".5", "1e3", "1.5E-7" (no sign '+', no
 * NaN/Inf, must be finite, read in the C locale); integer "12i" (int64,
 * overflow refused); unsigned "12u" (uint64); string "\"...\""; boolean
 * t T true True TRUE f F false False FALSE. The timestamp is int64
 * nanoseconds within influxd's range [LP_TIME_MIN, LP_TIME_MAX].
 *
 * Refused as influxd 1.6 refuses them: an unescaped '=' in a tag value,
 * duplicate tag keys, timestamps outside its range, "+1". Refused although
 * influxd 1.6 takes them: extra spaces between the parts or at the end,
 * duplicate field keys (influxd keeps the last: which one was meant?),
 * control bytes other than tab (no well-behaved text writer emits them),
 * invalid UTF-8 (later influxd 1.x refuses it in names, and query answers
 * are JSON, which cannot carry it), lines over LP_LINE_MAX bytes. Not
 * checked: the key "time" (influxd refuses it, lp_tag()/lp_field_*() drop
 * it: the caller decides), tag order.
 *
 * Comments ('#' first) and blank lines (only spaces and tabs) are reported
 * as LP_COMMENT and LP_EMPTY, not points; lp_is_skip() tells them apart from
 * errors. Control bytes and UTF-8 are checked first, so a '#' line of junk
 * is LP_BINARY, not a comment.
 */
#ifndef PL_LINEPROTO_PARSE_H
#define PL_LINEPROTO_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define LP_LINE_MAX   65536 /* bytes, without the trailing '\n' */
#define LP_MAX_TAGS   64
#define LP_MAX_FIELDS 256
/* influxd keeps INT64_MIN, INT64_MIN + 1 and INT64_MAX for itself. */
#define LP_TIME_MIN   (INT64_MIN + 2)
#define LP_TIME_MAX   (INT64_MAX - 1)

/* Why a line is not a point. 0 is a point; lp_parse() returns -reason. */
enum lp_error {
	LP_OK = 0,
	LP_EMPTY,            /* nothing but spaces and tabs: skip */
	LP_COMMENT,          /* '#' line: skip */
	LP_TOO_LONG,         /* more than LP_LINE_MAX bytes */
	LP_BINARY,           /* NUL, a control byte other than tab, or DEL */
	LP_BAD_UTF8,
	LP_BAD_ESCAPE,       /* a backslash ends the line: it escapes nothing */
	LP_NO_MEASUREMENT,
	LP_BAD_TAG,          /* no '=', empty key or value, '=' in the value */
	LP_DUPLICATE_TAG,
	LP_TOO_MANY_TAGS,    /* more than LP_MAX_TAGS */
	LP_NO_FIELDS,
	LP_BAD_FIELD_KEY,    /* empty, or no '=' after it */
	LP_BAD_FIELD_VALUE,  /* empty, not a number/bool, out of range */
	LP_BAD_STRING,       /* string field without its closing quote */
	LP_DUPLICATE_FIELD,
	LP_TOO_MANY_FIELDS,  /* more than LP_MAX_FIELDS */
	LP_BAD_TIMESTAMP,    /* not an integer, or out of range */
	LP_TRAILING_GARBAGE, /* anything after the timestamp */
	LP_ERROR_COUNT
};

/* snake_case names ("bad_tag"), for logs and metric labels; "unknown" for
 * a value outside the enum. Callers pass -rc. */
const char *lp_error_name(enum lp_error e);

/* lp_parse() result that is no point and no error either. */
static inline int lp_is_skip(int rc)
{
	return rc == -LP_EMPTY || rc == -LP_COMMENT;
}

/* Unescaped text: p[len] == '\0', and the text holds no NUL (binary lines
 * are refused), so p is also a C string. */
struct lp_str {
	const char *p;
	size_t len;
};

enum lp_type { LP_FLOAT = 0, LP_INT, LP_UINT, LP_STRING, LP_BOOL };

struct lp_point_tag {
	struct lp_str key, val;
};

struct lp_point_field {
	struct lp_str key;
	enum lp_type type;
	union {
		double f;
		int64_t i;
		uint64_t u;
		int b;           /* 0 or 1 */
		struct lp_str s;
	} v;
};

/*
 * One parsed line. Every lp_str points into text[], never into the line:
 * the caller may reuse its read buffer at once, and the point stays valid
 * until the next lp_parse() into it. About 76 KiB: keep one per reader
 * (static or heap), not one per line on the stack.
 */
struct lp_point {
	struct lp_str measurement;
	int ntags, nfields;
	int has_time;        /* 0: the line had no timestamp, time_ns is 0 */
	int64_t time_ns;
	struct lp_point_tag tags[LP_MAX_TAGS];     /* in line order */
	struct lp_point_field fields[LP_MAX_FIELDS];
	/* Unescaping only shortens, and each piece's '\0' takes the place of
	 * the separator after it: one byte more than the line is enough. */
	char text[LP_LINE_MAX + 1];
};

/*
 * Parses line[0, len) into *out. Returns 0, or -reason (enum lp_error);
 * then err (if errlen > 0) says what and at which byte, e.g.
 * "bad_tag at byte 6: tag without '='", and *out holds no point (counts are
 * zero). line may be NULL when len is 0.
 */
int lp_parse(const char *line, size_t len, struct lp_point *out, char *err, size_t errlen);

#endif
