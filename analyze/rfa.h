/*
 * rfa.h — the protocol half of the analyzer-author library ("rfa" =
 * ringflow analyzer): read the window protocol an analyzer gets on stdin,
 * write line protocol (alerts, other points) on stdout. DESIGN.md §5 and the
 * issue-10 conventions:
 *
 *   # window rule=<rule> measurement=<m> start=<ns> end=<ns>
 *   <that window's points, line protocol, timestamp = window start>
 *   # end
 *
 * Runs inside analyzer executables (the built-ins through analyze/builtin.h,
 * and third-party ones in C). Single-threaded; the reader blocks in read()
 * on its fd, the writer in write() on its fd. Neither closes its fd.
 *
 * Reader (rfa_window.c; the series key and field helpers: rfa_series.c):
 * input is buffered with large read()s and split into lines in place,
 * never one syscall per line. Bad input never stops it: each
 * refused line is counted by reason (struct rfa_skip_stats) and skipped.
 *  - Header keys may come in any order; the four above are required, each
 *    once, with non-empty values; unknown keys are ignored (a later host may
 *    add some); start/end are decimal int64 with start <= end. Values are
 *    the bytes up to the next space: a rule or measurement name with a space
 *    cannot be carried (ringflow's config does not allow one).
 *  - Inside a block: "# end" ends it; a new header ends it too (counted
 *    header_in_block) and starts the new block; other '#' comments and blank
 *    lines are ignored; every other line must parse with lp_parse().
 *  - Outside a block every line but a header is counted (outside_block);
 *    blank lines are ignored.
 *  - A line of more than LP_LINE_MAX bytes is skipped up to its newline.
 *  - Control bytes (other than tab) or invalid UTF-8 count as binary.
 *  - EOF inside a block ends it (cut_by_eof); a last line without its
 *    newline is still a line.
 *
 * Writer (rfa_out.c): one growable buffer, one write() per flush (looping only
 * on short writes); it flushes by itself when the buffer passes 64 KiB, and
 * the caller flushes at the end of each window.
 */
#ifndef ANALYZE_RFA_H
#define ANALYZE_RFA_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/lineproto_parse.h"

/* ---- reader ---- */

struct rfa_reader;

struct rfa_window {
	/* Owned by the reader: valid until the rfa_next_window() after the
	 * one that returned them (so still valid while the block's points are
	 * read and after rfa_next_point() has returned 0). */
	const char *rule, *measurement;
	int64_t start_ns, end_ns;
};

/* Lines skipped, by reason, since rfa_reader_new(). */
struct rfa_skip_stats {
	uint64_t bad_header;      /* "# window" line that does not parse */
	uint64_t outside_block;   /* a line that is no header, outside a block */
	uint64_t too_long;        /* over LP_LINE_MAX bytes */
	uint64_t binary;          /* control bytes or invalid UTF-8 */
	uint64_t bad_point;       /* in a block, refused by lp_parse() */
	uint64_t cut_by_eof;      /* blocks without "# end" at EOF */
	uint64_t header_in_block; /* blocks ended by the next header */
};

/* Also counted, not skips. */
struct rfa_read_stats {
	uint64_t lines, windows, points;
};

/* NULL when out of memory (about 460 KiB: a 256 KiB read buffer, two header copies
 * and one struct lp_point). The fd stays the caller's. */
struct rfa_reader *rfa_reader_new(int fd);
void rfa_reader_free(struct rfa_reader *r);

/* Reads up to the next valid header. Points of the current block not read
 * yet are passed over (not counted as skips). 1: *w holds the window; 0:
 * EOF; -1: read error (errno kept). */
int rfa_next_window(struct rfa_reader *r, struct rfa_window *w);
/* 1: *pt is the block's next point (owned by the reader, valid until the
 * next call); 0: the block has ended ("# end", a new header, EOF or a read
 * error), and keeps returning 0 until rfa_next_window(). */
int rfa_next_point(struct rfa_reader *r, const struct lp_point **pt);
/* 1 if the block that ended last ended with "# end". */
int rfa_block_complete(const struct rfa_reader *r);

void rfa_skip_stats(const struct rfa_reader *r, struct rfa_skip_stats *out);
void rfa_read_stats(const struct rfa_reader *r, struct rfa_read_stats *out);
/* Total of every skip reason: lets a caller notice new skips cheaply. */
uint64_t rfa_skips_total(const struct rfa_reader *r);
/* The last skip, e.g. "line 12: bad_point: bad_tag at byte 6: ...", for a
 * rate-limited log line; "" before any. */
const char *rfa_last_skip(const struct rfa_reader *r);

/* The series identity of a point: its tags sorted by key (bytewise), as
 * "k=v,k2=v2" with '\\', ',' and '=' inside keys and values escaped by a
 * backslash, so two different tag sets never give the same key; "" for a
 * point without tags. Returns the length (buf NUL-terminated), or -1 when
 * len is too small. */
int rfa_series_key(const struct lp_point *pt, char *buf, size_t len);
/* The same key from ntags C-string pairs (at most LP_MAX_TAGS; keys
 * unique), e.g. tags read back from InfluxDB. -1 also for too many tags. */
int rfa_series_key_tags(int ntags, const char *const *keys, const char *const *vals, char *buf, size_t len);
/* 1 and *out when pt has a float, integer or unsigned field `name`; 0 when
 * it is absent or of another type. */
int rfa_field_number(const struct lp_point *pt, const char *name, double *out);

/* ---- writer ---- */

struct rfa_out;

#define RFA_OUT_FLUSH_AT 65536
/* No timestamp on the point: the host gives it the window start. */
#define RFA_TIME_NONE INT64_MIN

/* NULL when out of memory. The fd stays the caller's. */
struct rfa_out *rfa_out_new(int fd);
/* Flushes what is left (errors ignored: flush first to see them), frees. */
void rfa_out_free(struct rfa_out *o);
/* 0, or -1 with errno from write() (EPIPE: the host has gone). After an
 * error the buffer is dropped and every later flush fails too. */
int rfa_out_flush(struct rfa_out *o);
/* Bytes buffered, not yet written. */
size_t rfa_out_pending(const struct rfa_out *o);

struct rfa_alert {
	const char *rule, *field;   /* required */
	int severity;               /* enum det_severity */
	/* The series: its tags are copied from `series` when it is not NULL,
	 * else from the ntags tag_keys/tag_values. Tags named rule, field or
	 * severity are left out (the alert's own tags have those names). */
	const struct lp_point *series;
	int ntags;
	const char *const *tag_keys, *const *tag_values;
	const char *message;        /* NULL: "" */
	double value, expected, lower, upper, score; /* NaN or inf: omitted */
	int64_t time_ns;            /* or RFA_TIME_NONE */
};

/* "ok", "info", "warning", "critical"; NULL outside the enum. */
const char *rfa_severity_name(int severity);

/* Appends one alert point. 0, -1 when it was not written (severity out of
 * range, rule or field missing or empty) or an automatic flush failed. */
int rfa_alert(struct rfa_out *o, const struct rfa_alert *a);

/* Any other point: begin, tags, fields, end. Keys and values are C
 * strings; escaping and the rules of pipeline/lineproto.h apply. */
void rfa_point_begin(struct rfa_out *o, const char *measurement);
void rfa_point_tag(struct rfa_out *o, const char *key, const char *val);
/* NaN and infinities are left out; returns -1 then. */
int rfa_point_field(struct rfa_out *o, const char *key, double v);
void rfa_point_field_int(struct rfa_out *o, const char *key, int64_t v);
void rfa_point_field_str(struct rfa_out *o, const char *key, const char *val);
/* 0, or -1 when the point had no field or measurement (it is removed) or
 * an automatic flush failed. time_ns may be RFA_TIME_NONE. */
int rfa_point_end(struct rfa_out *o, int64_t time_ns);

#endif
