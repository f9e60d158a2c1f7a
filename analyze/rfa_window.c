/*
 * rfa_window.c — reader of the window protocol on an analyzer's stdin (see
 * rfa.h for the grammar and what is skipped). Runs in analyzer executables;
 * blocks only in read() (and poll() if the caller made the fd non-blocking).
 *
 * Input is read in chunks of up to RD_CAP - (bytes kept) into one buffer and
 * cut into lines in place. A line is handed out as a pointer into that buffer
 * and stays valid until the next line is asked for: headers are copied (two
 * slots, so the window being finished keeps its names while the next header
 * is parsed), points are parsed into the reader's struct lp_point, which
 * copies what it keeps. The buffer is larger than LP_LINE_MAX + 1, so a line
 * of allowed length always fits after compaction; a longer one is dropped as
 * it streams through (state `discarding`) without ever being held whole.
 */
#include "analyze/rfa.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RD_CAP (256 * 1024)
#define HDR_PREFIX "# window"
#define HDR_PREFIX_LEN 8

enum rd_state { RD_OUTSIDE = 0, RD_IN_BLOCK };

struct rfa_reader {
	int fd;
	char *buf;
	size_t pos, len;        /* unread bytes are buf[pos, len) */
	int eof, error, saved_errno;
	int discarding;         /* inside an over-long line: drop to its '\n' */
	enum rd_state state;
	int complete;           /* the last block ended with "# end" */
	int pending;            /* slot 1 - cur holds a header not yet returned */
	int cur;
	char *hdr[2];
	struct rfa_window win[2];
	struct lp_point *pt;
	struct rfa_skip_stats skip;
	struct rfa_read_stats rd;
	char last[320];
};

struct rfa_reader *rfa_reader_new(int fd)
{
	struct rfa_reader *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->fd = fd;
	r->buf = malloc(RD_CAP);
	r->hdr[0] = malloc(LP_LINE_MAX + 1);
	r->hdr[1] = malloc(LP_LINE_MAX + 1);
	r->pt = malloc(sizeof *r->pt);
	if (!r->buf || !r->hdr[0] || !r->hdr[1] || !r->pt) {
		rfa_reader_free(r);
		return NULL;
	}
	return r;
}

void rfa_reader_free(struct rfa_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->hdr[0]);
	free(r->hdr[1]);
	free(r->pt);
	free(r);
}

static void note_skip(struct rfa_reader *r, uint64_t *counter, const char *reason, const char *detail)
{
	(*counter)++;
	snprintf(r->last, sizeof r->last, "line %" PRIu64 ": %s%s%s", r->rd.lines, reason,
		 detail && *detail ? ": " : "", detail ? detail : "");
}

/* One more read() into the buffer's free tail. 1 got bytes, 0 EOF, -1 error. */
static int fill(struct rfa_reader *r)
{
	for (;;) {
		ssize_t n = read(r->fd, r->buf + r->len, RD_CAP - r->len);
		if (n > 0) {
			r->len += (size_t)n;
			return 1;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd p = { .fd = r->fd, .events = POLLIN };
			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				return -1;
			continue;
		}
		return -1;
	}
}

/* The next line without its '\n'. 1, 0 at EOF, -1 on a read error. Over-long
 * lines are counted and passed over here, so callers never see one. */
static int next_line(struct rfa_reader *r, const char **line, size_t *len)
{
	if (r->error)
		return -1;
	for (;;) {
		char *s = r->buf + r->pos;
		size_t have = r->len - r->pos;
		char *nl = memchr(s, '\n', have);
		if (nl) {
			size_t n = (size_t)(nl - s);
			r->pos += n + 1;
			if (r->discarding) {  /* the tail of a line already counted */
				r->discarding = 0;
				continue;
			}
			r->rd.lines++;
			if (n > LP_LINE_MAX) {
				note_skip(r, &r->skip.too_long, "too_long", NULL);
				continue;
			}
			*line = s;
			*len = n;
			return 1;
		}
		if (r->discarding) {
			r->pos = r->len = 0;
		} else if (have > LP_LINE_MAX) {
			/* Already too long and no end in sight: count it now and
			 * drop it as it arrives. */
			r->rd.lines++;
			note_skip(r, &r->skip.too_long, "too_long", NULL);
			r->discarding = 1;
			r->pos = r->len = 0;
		} else if (r->pos > 0) {
			memmove(r->buf, s, have);
			r->pos = 0;
			r->len = have;
		}
		if (r->eof) {
			if (r->len > r->pos && !r->discarding) {
				/* A last line without its newline is still a line. */
				*line = r->buf + r->pos;
				*len = r->len - r->pos;
				r->pos = r->len;
				r->rd.lines++;
				return 1;
			}
			return 0;
		}
		int rc = fill(r);
		if (rc == 0) {
			r->eof = 1;
		} else if (rc < 0) {
			r->saved_errno = errno;
			r->error = 1;
			return -1;
		}
	}
}

/* Control bytes (tab allowed), DEL, or invalid UTF-8 (overlong forms,
 * surrogates, beyond U+10FFFF): the same test lp_parse() applies to points,
 * for the lines it does not see. */
static int is_binary(const char *line, size_t n)
{
	const unsigned char *s = (const unsigned char *)line;
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return 1;
			i++;
			continue;
		}
		size_t k;
		unsigned min, cp;
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1, min = 0x80, cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2, min = 0x800, cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return 1;
		}
		if (n - i <= k)
			return 1;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 1;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 1;
		i += k + 1;
	}
	return 0;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

static int is_header(const char *s, size_t n)
{
	return n >= HDR_PREFIX_LEN && memcmp(s, HDR_PREFIX, HDR_PREFIX_LEN) == 0 &&
	       (n == HDR_PREFIX_LEN || s[HDR_PREFIX_LEN] == ' ');
}

static int is_end(const char *s, size_t n)
{
	return n == 5 && memcmp(s, "# end", 5) == 0;
}

/* Decimal int64, optional '-', digits only. 0 or -1. */
static int parse_i64(const char *s, int64_t *out)
{
	int neg = *s == '-';
	if (neg)
		s++;
	if (!*s)
		return -1;
	uint64_t v = 0;
	const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (lim - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* Parses a header line into slot `slot`. 0, or -1 with a reason in why. */
static int parse_header(struct rfa_reader *r, const char *line, size_t n, int slot, const char **why)
{
	char *h = r->hdr[slot];
	struct rfa_window *w = &r->win[slot];
	memcpy(h, line, n);
	h[n] = '\0';
	const char *rule = NULL, *meas = NULL, *start = NULL, *end = NULL;
	char *p = h + HDR_PREFIX_LEN;  /* at the space before a token, or the end */
	if (!*p) {
		*why = "no keys";
		return -1;
	}
	for (;;) {
		char *tok = p + 1, *e = tok;
		while (*e && *e != ' ')
			e++;
		int more = *e == ' ';
		*e = '\0';  /* tokens are cut in place: each value is a C string */
		if (e == tok) {
			*why = "extra spaces";
			return -1;
		}
		char *eq = strchr(tok, '=');
		if (!eq || eq == tok || eq[1] == '\0') {
			*why = "token is not key=value";
			return -1;
		}
		*eq = '\0';
		const char **dst = !strcmp(tok, "rule") ? &rule : !strcmp(tok, "measurement") ? &meas :
				   !strcmp(tok, "start") ? &start : !strcmp(tok, "end") ? &end : NULL;
		if (dst) {
			if (*dst) {
				*why = "duplicate key";
				return -1;
			}
			*dst = eq + 1;
		}
		if (!more)
			break;
		p = e;
	}
	if (!rule || !meas || !start || !end) {
		*why = "rule, measurement, start and end are required";
		return -1;
	}
	if (parse_i64(start, &w->start_ns) < 0 || parse_i64(end, &w->end_ns) < 0) {
		*why = "start/end are not int64 nanoseconds";
		return -1;
	}
	if (w->end_ns < w->start_ns) {
		*why = "end before start";
		return -1;
	}
	w->rule = rule;
	w->measurement = meas;
	return 0;
}

/* A header line wherever it is: 1 parsed into the free slot, 0 refused
 * (counted). */
static int take_header(struct rfa_reader *r, const char *line, size_t n)
{
	const char *why = "";
	if (is_binary(line, n)) {
		note_skip(r, &r->skip.binary, "binary", "in a header");
		return 0;
	}
	if (parse_header(r, line, n, 1 - r->cur, &why) < 0) {
		note_skip(r, &r->skip.bad_header, "bad_header", why);
		return 0;
	}
	return 1;
}

static void start_block(struct rfa_reader *r, struct rfa_window *w)
{
	r->cur = 1 - r->cur;
	r->pending = 0;
	r->state = RD_IN_BLOCK;
	r->complete = 0;
	r->rd.windows++;
	*w = r->win[r->cur];
}

static void end_block(struct rfa_reader *r, int complete)
{
	r->state = RD_OUTSIDE;
	r->complete = complete;
}

int rfa_next_point(struct rfa_reader *r, const struct lp_point **pt)
{
	const char *line;
	size_t n;
	char err[200];

	if (r->state != RD_IN_BLOCK)
		return 0;
	for (;;) {
		int rc = next_line(r, &line, &n);
		if (rc <= 0) {
			if (rc == 0)
				note_skip(r, &r->skip.cut_by_eof, "cut_by_eof", "block without # end");
			end_block(r, 0);
			return 0;
		}
		if (is_end(line, n)) {
			end_block(r, 1);
			return 0;
		}
		if (is_header(line, n)) {
			if (take_header(r, line, n)) {
				note_skip(r, &r->skip.header_in_block, "header_in_block", "block without # end");
				r->pending = 1;
				end_block(r, 0);
				return 0;
			}
			continue;
		}
		rc = lp_parse(line, n, r->pt, err, sizeof err);
		if (rc == 0) {
			r->rd.points++;
			*pt = r->pt;
			return 1;
		}
		if (lp_is_skip(rc))
			continue;
		if (rc == -LP_BINARY || rc == -LP_BAD_UTF8)
			note_skip(r, &r->skip.binary, "binary", err);
		else
			note_skip(r, &r->skip.bad_point, "bad_point", err);
	}
}

int rfa_next_window(struct rfa_reader *r, struct rfa_window *w)
{
	const char *line;
	size_t n;
	const struct lp_point *pt;

	while (r->state == RD_IN_BLOCK)  /* the caller left points unread */
		(void)rfa_next_point(r, &pt);
	if (r->pending) {
		start_block(r, w);
		return 1;
	}
	for (;;) {
		int rc = next_line(r, &line, &n);
		if (rc < 0) {
			errno = r->saved_errno;
			return -1;
		}
		if (rc == 0)
			return 0;
		if (is_header(line, n)) {
			if (take_header(r, line, n)) {
				start_block(r, w);
				return 1;
			}
		} else if (is_binary(line, n)) {
			note_skip(r, &r->skip.binary, "binary", "outside a block");
		} else if (!is_blank(line, n)) {
			note_skip(r, &r->skip.outside_block, "outside_block", NULL);
		}
	}
}

int rfa_block_complete(const struct rfa_reader *r)
{
	return r->complete;
}

void rfa_skip_stats(const struct rfa_reader *r, struct rfa_skip_stats *out)
{
	*out = r->skip;
}

void rfa_read_stats(const struct rfa_reader *r, struct rfa_read_stats *out)
{
	*out = r->rd;
}

uint64_t rfa_skips_total(const struct rfa_reader *r)
{
	const struct rfa_skip_stats *s = &r->skip;
	return s->bad_header + s->outside_block + s->too_long + s->binary + s->bad_point + s->cut_by_eof +
	       s->header_in_block;
}

const char *rfa_last_skip(const struct rfa_reader *r)
{
	return r->last;
}
