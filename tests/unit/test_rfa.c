/*
 * test_rfa.c — cmocka tests for analyze/rfa_window.c and analyze/rfa_out.c.
 *
 * Reading: input goes through a real descriptor, written by a thread. For
 * the cases about read() boundaries it is a SOCK_SEQPACKET socket pair,
 * where each read() returns exactly one write() of the feeder, so "the
 * header arrives in pieces of 1, 2, 3... bytes" is what really happens, not
 * what a fast writer might coalesce. What the reader returns is turned into
 * a transcript (W window / P point / E end of block) and compared with one
 * written by hand from the protocol in rfa.h.
 *
 * Writing: alerts and points go to a temporary file (or a SEQPACKET socket,
 * where each message is one write(), to count flushes) and are read back
 * with lp_parse(), an independent parser, and compared field by field with
 * the values given.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyze/detector.h"
#include "analyze/rfa.h"
#include "pipeline/lineproto_parse.h"

#define S_LINE(x) x, strlen(x)

/* ---- feeding input through a descriptor ---- */

struct feeder {
	pthread_t th;
	int fd;
	const char *data;
	size_t n, chunk;
};

static void *feed_main(void *arg)
{
	struct feeder *f = arg;
	for (size_t off = 0; off < f->n;) {
		size_t k = f->n - off < f->chunk ? f->n - off : f->chunk;
		ssize_t w = write(f->fd, f->data + off, k);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	close(f->fd);
	return NULL;
}

/* Starts a feeder writing data in chunk-byte writes; returns the read end.
 * seqpacket: one read() per write(). chunk must be <= 32 KiB for it. */
static int feed_start(struct feeder *f, const char *data, size_t n, size_t chunk, int seqpacket)
{
	int sv[2];
	if (seqpacket)
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	else
		assert_int_equal(pipe(sv), 0);
	/* pipe(): sv[0] is the read end; socketpair: either. */
	f->fd = sv[1];
	f->data = data;
	f->n = n;
	f->chunk = chunk;
	assert_int_equal(pthread_create(&f->th, NULL, feed_main, f), 0);
	return sv[0];
}

static void feed_join(struct feeder *f)
{
	pthread_join(f->th, NULL);
}

/* ---- transcript of what the reader returns ---- */

struct tbuf {
	char *s;
	size_t len, cap;
};

static void tput(struct tbuf *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->len + (size_t)n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static void put_point(struct tbuf *t, const struct lp_point *pt)
{
	static char key[2 * LP_LINE_MAX + 1];
	assert_true(rfa_series_key(pt, key, sizeof key) >= 0);
	tput(t, "P %s {%s}", pt->measurement.p, key);
	for (int i = 0; i < pt->nfields; i++) {
		const struct lp_point_field *f = &pt->fields[i];
		switch (f->type) {
		case LP_FLOAT: tput(t, " %s=%.17g", f->key.p, f->v.f); break;
		case LP_INT: tput(t, " %s=%" PRId64 "i", f->key.p, f->v.i); break;
		case LP_UINT: tput(t, " %s=%" PRIu64 "u", f->key.p, f->v.u); break;
		case LP_STRING: tput(t, " %s=\"%s\"", f->key.p, f->v.s.p); break;
		case LP_BOOL: tput(t, " %s=%s", f->key.p, f->v.b ? "true" : "false"); break;
		}
	}
	if (pt->has_time)
		tput(t, " @%" PRId64, pt->time_ns);
	tput(t, "\n");
}

/* Reads everything: every window, every point, every block end. */
static char *transcript(struct rfa_reader *r)
{
	struct tbuf t = { 0 };
	struct rfa_window w;
	const struct lp_point *pt;
	tput(&t, "%s", "");
	int rc;
	while ((rc = rfa_next_window(r, &w)) == 1) {
		tput(&t, "W %s %s %" PRId64 " %" PRId64 "\n", w.rule, w.measurement, w.start_ns, w.end_ns);
		while (rfa_next_point(r, &pt) == 1)
			put_point(&t, pt);
		assert_int_equal(rfa_next_point(r, &pt), 0);  /* stays ended */
		/* The window's names outlive the block's end. */
		tput(&t, "E %s %d\n", w.rule, rfa_block_complete(r));
	}
	assert_int_equal(rc, 0);
	return t.s;
}

/* Whole run: data through a descriptor in chunk-byte writes. */
static char *read_all(const char *data, size_t n, size_t chunk, int seqpacket, struct rfa_skip_stats *st)
{
	struct feeder f;
	int fd = feed_start(&f, data, n, chunk, seqpacket);
	struct rfa_reader *r = rfa_reader_new(fd);
	assert_non_null(r);
	char *t = transcript(r);
	if (st)
		rfa_skip_stats(r, st);
	rfa_reader_free(r);
	feed_join(&f);
	close(fd);
	return t;
}

static void assert_no_skips(const struct rfa_skip_stats *s)
{
	assert_int_equal(s->bad_header + s->outside_block + s->too_long + s->binary + s->bad_point +
				 s->cut_by_eof + s->header_in_block, 0);
}

/* ---- reader tests ---- */

static const char normal_in[] =
	"# window rule=by_country measurement=traffic start=1000 end=2000\n"
	"traffic,src_country=DE bytes=10,packets=2i 1000\n"
	"traffic,src_country=FR bytes=2.5,packets=1i 1000\n"
	"# end\n"
	"# window rule=by_country measurement=traffic start=2000 end=3000\n"
	"# end\n"
	"# window end=4000 start=3000 measurement=other rule=r2\n"
	"other v=7u\n"
	"# end\n";

static const char normal_want[] =
	"W by_country traffic 1000 2000\n"
	"P traffic {src_country=DE} bytes=10 packets=2i @1000\n"
	"P traffic {src_country=FR} bytes=2.5 packets=1i @1000\n"
	"E by_country 1\n"
	"W by_country traffic 2000 3000\n"
	"E by_country 1\n"
	"W r2 other 3000 4000\n"
	"P other {} v=7u\n"
	"E r2 1\n";

static void normal_blocks(void **state)
{
	struct rfa_skip_stats st;
	char *t = read_all(normal_in, strlen(normal_in), 4096, 0, &st);
	assert_string_equal(t, normal_want);
	assert_no_skips(&st);
	free(t);
}

/* The same input split into every small size, including 1 byte per read:
 * headers, "# end" and points cut anywhere must read the same. */
static void split_reads(void **state)
{
	static const size_t chunks[] = { 1, 2, 3, 5, 7, 13, 64 };
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		struct rfa_skip_stats st;
		char *t = read_all(normal_in, strlen(normal_in), chunks[i], 1, &st);
		assert_string_equal(t, normal_want);
		assert_no_skips(&st);
		free(t);
	}
}

/* Each reason once or twice, in and out of blocks; hand-counted below. */
static void every_skip_reason(void **state)
{
	static const char in[] =
		"junk outside\n"                                        /* outside 1 */
		"\n"                                                    /* ignored */
		"   \t\n"                                               /* ignored */
		"# end\n"                                               /* outside 2: stray end */
		"# window rule=r start=1 end=2\n"                       /* bad_header 1 */
		"# window rule=r measurement=m start=5 end=2\n"         /* bad_header 2 */
		"# window  rule=r measurement=m start=1 end=2\n"        /* bad_header 3 */
		"# window rule=r measurement=m start=x end=2\n"         /* bad_header 4 */
		"# window rule=r rule=s measurement=m start=1 end=2\n"  /* bad_header 5 */
		"# window rule=r measurement=m start=1 end=2 \n"        /* bad_header 6 */
		"# window\n"                                            /* bad_header 7 */
		"# windows are nice\n"                                  /* outside 3 */
		"\x01\x02 junk\n"                                       /* binary 1 */
		"# window rule=a measurement=m start=10 end=20 extra=1\n"
		"m,t=1 v=1 10\n"
		"m,t=1 v= 10\n"                                         /* bad_point 1 */
		"m,t=1\n"                                               /* bad_point 2 */
		"\x7f\x01junk\n"                                        /* binary 2 */
		"m,t=\xff\xfe v=1\n"                                    /* binary 3 (UTF-8) */
		"# a comment inside\n"                                  /* ignored */
		"\n"                                                    /* ignored */
		"# window rule=a measurement=m start=bad end=20\n"      /* bad_header 8, block goes on */
		"m,t=2 v=2 10\n"
		"# window rule=b measurement=m2 start=20 end=30\n"      /* header_in_block 1 */
		"m2 v=2i 20\n"
		"# end\n"
		"# window rule=\x01 measurement=m start=1 end=2\n"      /* binary 4 */
		"# window rule=c measurement=m3 start=-30 end=40\n"
		"m3 v=3u\n"
		"m3 v=4u";                                              /* last line, no '\n' */
	                                                                /* cut_by_eof 1 */
	static const char want[] =
		"W a m 10 20\n"
		"P m {t=1} v=1 @10\n"
		"P m {t=2} v=2 @10\n"
		"E a 0\n"
		"W b m2 20 30\n"
		"P m2 {} v=2i @20\n"
		"E b 1\n"
		"W c m3 -30 40\n"
		"P m3 {} v=3u\n"
		"P m3 {} v=4u\n"
		"E c 0\n";
	struct rfa_skip_stats st;
	char *t = read_all(in, sizeof in - 1, 4096, 0, &st);
	assert_string_equal(t, want);
	assert_int_equal(st.outside_block, 3);
	assert_int_equal(st.bad_header, 8);
	assert_int_equal(st.binary, 4);
	assert_int_equal(st.bad_point, 2);
	assert_int_equal(st.header_in_block, 1);
	assert_int_equal(st.cut_by_eof, 1);
	assert_int_equal(st.too_long, 0);
	free(t);
}

/* "m,t=aaa...a v=1" of exactly len bytes. */
static void make_point_line(char *dst, size_t len)
{
	memcpy(dst, "m,t=", 4);
	memset(dst + 4, 'a', len - 4 - 4);
	memcpy(dst + len - 4, " v=1", 4);
}

/* LP_LINE_MAX bytes is a line; one more is too long, in a block and
 * outside; one far longer than the read buffer (1 MiB) is dropped as it
 * streams through; the line after each still reads. */
static void over_long_lines(void **state)
{
	size_t big = 1 << 20;
	size_t cap = 4 * LP_LINE_MAX + big + 1024;
	char *in = malloc(cap);
	assert_non_null(in);
	size_t n = 0;
	memset(in, 'x', LP_LINE_MAX + 1);                 /* too_long 1, outside */
	n += LP_LINE_MAX + 1;
	in[n++] = '\n';
	n += (size_t)sprintf(in + n, "# window rule=r measurement=m start=1 end=2\n");
	make_point_line(in + n, LP_LINE_MAX);             /* exactly the limit: a point */
	n += LP_LINE_MAX;
	in[n++] = '\n';
	make_point_line(in + n, LP_LINE_MAX + 1);         /* too_long 2 */
	n += LP_LINE_MAX + 1;
	in[n++] = '\n';
	n += (size_t)sprintf(in + n, "m v=2\n");
	memset(in + n, 'y', big);                         /* too_long 3 */
	n += big;
	in[n++] = '\n';
	n += (size_t)sprintf(in + n, "m v=3\n# end\n");

	char head[64];
	snprintf(head, sizeof head, "P m {t=%.4s", "aaaa");
	for (int seq = 0; seq < 2; seq++) {
		struct rfa_skip_stats st;
		/* pipe with large writes, and 4000-byte reads via seqpacket */
		char *t = read_all(in, n, seq ? 4000 : 65536, seq, &st);
		assert_int_equal(st.too_long, 3);
		assert_int_equal(st.outside_block + st.bad_point + st.binary + st.bad_header, 0);
		/* W, the long point, v=2, v=3, E */
		assert_memory_equal(t, "W r m 1 2\n", 10);
		assert_memory_equal(t + 10, head, strlen(head));
		const char *rest = strchr(t + 10, '\n');
		assert_non_null(rest);
		assert_int_equal(rest - (t + 10), strlen("P m {t=}") + (LP_LINE_MAX - 8) + strlen(" v=1"));
		assert_string_equal(rest + 1, "P m {} v=2\nP m {} v=3\nE r 1\n");
		free(t);
	}
	free(in);
}

/* A window's points left unread are passed over; the next window reads. */
static void unread_points_skipped(void **state)
{
	struct feeder f;
	int fd = feed_start(&f, normal_in, strlen(normal_in), 4096, 0);
	struct rfa_reader *r = rfa_reader_new(fd);
	struct rfa_window w;
	const struct lp_point *pt;
	assert_int_equal(rfa_next_window(r, &w), 1);
	assert_int_equal(w.start_ns, 1000);
	assert_int_equal(rfa_next_window(r, &w), 1);
	assert_int_equal(w.start_ns, 2000);
	assert_int_equal(rfa_next_window(r, &w), 1);
	assert_string_equal(w.rule, "r2");
	assert_int_equal(rfa_next_point(r, &pt), 1);
	assert_int_equal(rfa_next_window(r, &w), 0);
	struct rfa_read_stats rs;
	rfa_read_stats(r, &rs);
	assert_int_equal(rs.windows, 3);
	assert_int_equal(rs.points, 3);
	assert_int_equal(rs.lines, 9);
	assert_int_equal(rfa_skips_total(r), 0);
	rfa_reader_free(r);
	feed_join(&f);
	close(fd);
}

static void read_error(void **state)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	close(fds[1]);
	close(fds[0]);  /* fds[0] is now a closed descriptor: EBADF */
	struct rfa_reader *r = rfa_reader_new(fds[0]);
	struct rfa_window w;
	const struct lp_point *pt;
	errno = 0;
	assert_int_equal(rfa_next_window(r, &w), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(rfa_next_point(r, &pt), 0);
	assert_int_equal(rfa_next_window(r, &w), -1);
	rfa_reader_free(r);
	rfa_reader_free(NULL);
}

static void series_key_and_fields(void **state)
{
	struct lp_point *pt = malloc(sizeof *pt);
	char err[200], key[256];
	/* Tags in line order b, a, c\=d; values unescape to "x,y=z", "2", "a\b"
	 * (a backslash before 'b' is an ordinary byte). Key: sorted by key
	 * (a < b < c=d), with '\\', ',' and '=' escaped. */
	static const char line[] = "m,b=2,a=x\\,y\\=z,c\\=d=a\\b f=1.5,i=-3i,u=7u,s=\"str\",t=true 5";
	assert_int_equal(lp_parse(line, sizeof line - 1, pt, err, sizeof err), 0);
	assert_int_equal(rfa_series_key(pt, key, sizeof key), (int)strlen("a=x\\,y\\=z,b=2,c\\=d=a\\\\b"));
	assert_string_equal(key, "a=x\\,y\\=z,b=2,c\\=d=a\\\\b");
	/* Exactly fits (length + NUL), one byte short does not. */
	size_t need = strlen(key) + 1;
	assert_int_equal(rfa_series_key(pt, key, need), (int)need - 1);
	assert_int_equal(rfa_series_key(pt, key, need - 1), -1);
	assert_int_equal(rfa_series_key(pt, key, 0), -1);

	double v = 0;
	assert_int_equal(rfa_field_number(pt, "f", &v), 1);
	assert_true(v == 1.5);
	assert_int_equal(rfa_field_number(pt, "i", &v), 1);
	assert_true(v == -3.0);
	assert_int_equal(rfa_field_number(pt, "u", &v), 1);
	assert_true(v == 7.0);
	assert_int_equal(rfa_field_number(pt, "s", &v), 0);
	assert_int_equal(rfa_field_number(pt, "t", &v), 0);
	assert_int_equal(rfa_field_number(pt, "nope", &v), 0);
	assert_int_equal(rfa_field_number(pt, "", &v), 0);

	/* No tags: "". Two points with the same tags in other orders: same key. */
	assert_int_equal(lp_parse("m v=1", 5, pt, err, sizeof err), 0);
	assert_int_equal(rfa_series_key(pt, key, sizeof key), 0);
	assert_string_equal(key, "");
	char k2[256];
	assert_int_equal(lp_parse(S_LINE("m,z=1,y=2,x=3 v=1"), pt, err, sizeof err), 0);
	assert_true(rfa_series_key(pt, key, sizeof key) > 0);
	assert_int_equal(lp_parse(S_LINE("m,x=3,z=1,y=2 v=1"), pt, err, sizeof err), 0);
	assert_true(rfa_series_key(pt, k2, sizeof k2) > 0);
	assert_string_equal(key, "x=3,y=2,z=1");
	assert_string_equal(k2, key);
	/* A tag value with a comma is not the same series as two tags. */
	assert_int_equal(lp_parse(S_LINE("m,a=1\\,b\\=2 v=1"), pt, err, sizeof err), 0);
	assert_true(rfa_series_key(pt, key, sizeof key) > 0);
	assert_int_equal(lp_parse(S_LINE("m,a=1,b=2 v=1"), pt, err, sizeof err), 0);
	assert_true(rfa_series_key(pt, k2, sizeof k2) > 0);
	assert_string_not_equal(key, k2);

	/* From C-string pairs (as history rows give them), in another order:
	 * the same key as the parsed point of the first case. */
	const char *tk[] = { "c=d", "b", "a" }, *tv[] = { "a\\b", "2", "x,y=z" };
	static const char want_key[] = "a=x\\,y\\=z,b=2,c\\=d=a\\\\b";
	assert_int_equal(rfa_series_key_tags(3, tk, tv, key, sizeof key), (int)strlen(want_key));
	assert_string_equal(key, want_key);
	assert_int_equal(rfa_series_key_tags(0, NULL, NULL, key, sizeof key), 0);
	assert_string_equal(key, "");
	assert_int_equal(rfa_series_key_tags(LP_MAX_TAGS + 1, tk, tv, key, sizeof key), -1);
	free(pt);
}

/* ---- writer tests ---- */

static char *slurp(int fd, size_t *n)
{
	off_t end = lseek(fd, 0, SEEK_END);
	assert_true(end >= 0);
	char *s = malloc((size_t)end + 1);
	assert_non_null(s);
	assert_int_equal(pread(fd, s, (size_t)end, 0), end);
	s[end] = '\0';
	*n = (size_t)end;
	return s;
}

static const char *tag_of(const struct lp_point *pt, const char *k)
{
	for (int i = 0; i < pt->ntags; i++)
		if (!strcmp(pt->tags[i].key.p, k))
			return pt->tags[i].val.p;
	return NULL;
}

static const struct lp_point_field *field_of(const struct lp_point *pt, const char *k)
{
	for (int i = 0; i < pt->nfields; i++)
		if (!strcmp(pt->fields[i].key.p, k))
			return &pt->fields[i];
	return NULL;
}

static void assert_float_field(const struct lp_point *pt, const char *k, double want)
{
	const struct lp_point_field *f = field_of(pt, k);
	assert_non_null(f);
	assert_int_equal(f->type, LP_FLOAT);
	assert_true(f->v.f == want);
}

/* Parses line i (0-based) of text into pt. */
static void parse_line(const char *text, int i, struct lp_point *pt)
{
	const char *p = text;
	for (; i > 0; i--) {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	const char *e = strchr(p, '\n');
	assert_non_null(e);
	char err[200];
	int rc = lp_parse(p, (size_t)(e - p), pt, err, sizeof err);
	if (rc != 0)
		fail_msg("line %.*s: %s", (int)(e - p), p, err);
}

static void alerts_round_trip(void **state)
{
	FILE *tf = tmpfile();
	assert_non_null(tf);
	int fd = fileno(tf);
	struct rfa_out *o = rfa_out_new(fd);
	assert_non_null(o);
	struct lp_point *series = malloc(sizeof *series), *pt = malloc(sizeof *pt);
	char err[200];

	/* The series: tag "src country" = "D E", tag "k,1" = "v=1,2", and a tag
	 * named field that the alert's own field tag must win over. */
	static const char sline[] = "traffic,src\\ country=D\\ E,k\\,1=v\\=1\\,2,field=oops bytes=1 5";
	assert_int_equal(lp_parse(sline, sizeof sline - 1, series, err, sizeof err), 0);
	struct rfa_alert a = {
		.rule = "by country", .field = "bytes,x", .severity = DET_CRITICAL, .series = series,
		.message = "bytes \"big\" \\ x", .value = 2e7, .expected = 1e6, .lower = 9e5,
		.upper = 1.1e6, .score = 19.3, .time_ns = 1700000000000000000LL,
	};
	assert_int_equal(rfa_alert(o, &a), 0);

	const char *keys[] = { "host", "severity", "if" }, *vals[] = { "r1 a", "x", "eth0=1" };
	struct rfa_alert b = {
		.rule = "r", .field = "f", .severity = DET_OK, .ntags = 3, .tag_keys = keys, .tag_values = vals,
		.message = NULL, .value = -0.5, .expected = NAN, .lower = NAN, .upper = INFINITY,
		.score = NAN, .time_ns = RFA_TIME_NONE,
	};
	assert_int_equal(rfa_alert(o, &b), 0);

	/* Refused: nothing written for them. */
	struct rfa_alert c = b;
	c.severity = DET_SEVERITY_COUNT;
	assert_int_equal(rfa_alert(o, &c), -1);
	c.severity = -1;
	assert_int_equal(rfa_alert(o, &c), -1);
	c = b;
	c.rule = "";
	assert_int_equal(rfa_alert(o, &c), -1);
	c = b;
	c.field = NULL;
	assert_int_equal(rfa_alert(o, &c), -1);

	rfa_point_begin(o, "traffic_forecast");
	rfa_point_tag(o, "field", "bytes");
	rfa_point_tag(o, "k=", "a, b");
	assert_int_equal(rfa_point_field(o, "prediction", 1.25), 0);
	assert_int_equal(rfa_point_field(o, "lower", NAN), -1);
	rfa_point_field_int(o, "n", -5);
	rfa_point_field_str(o, "s", "q\"x\\");
	assert_int_equal(rfa_point_end(o, 42), 0);
	rfa_point_begin(o, "empty");
	rfa_point_tag(o, "k", "v");
	assert_int_equal(rfa_point_end(o, 1), -1);  /* no field: removed */

	assert_true(rfa_out_pending(o) > 0);
	assert_int_equal(rfa_out_flush(o), 0);
	assert_int_equal(rfa_out_pending(o), 0);
	size_t n;
	char *text = slurp(fd, &n);
	int lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += text[i] == '\n';
	assert_int_equal(lines, 3);

	parse_line(text, 0, pt);
	assert_string_equal(pt->measurement.p, "alert");
	assert_int_equal(pt->ntags, 5);
	assert_string_equal(tag_of(pt, "rule"), "by country");
	assert_string_equal(tag_of(pt, "field"), "bytes,x");
	assert_string_equal(tag_of(pt, "severity"), "critical");
	assert_string_equal(tag_of(pt, "src country"), "D E");
	assert_string_equal(tag_of(pt, "k,1"), "v=1,2");
	assert_int_equal(pt->nfields, 6);
	assert_int_equal(field_of(pt, "message")->type, LP_STRING);
	assert_string_equal(field_of(pt, "message")->v.s.p, "bytes \"big\" \\ x");
	assert_float_field(pt, "value", 2e7);
	assert_float_field(pt, "expected", 1e6);
	assert_float_field(pt, "lower", 9e5);
	assert_float_field(pt, "upper", 1.1e6);
	assert_float_field(pt, "score", 19.3);
	assert_int_equal(pt->has_time, 1);
	assert_true(pt->time_ns == 1700000000000000000LL);

	parse_line(text, 1, pt);
	assert_string_equal(pt->measurement.p, "alert");
	assert_int_equal(pt->ntags, 5);  /* rule field severity host if */
	assert_string_equal(tag_of(pt, "severity"), "ok");
	assert_string_equal(tag_of(pt, "host"), "r1 a");
	assert_string_equal(tag_of(pt, "if"), "eth0=1");
	assert_int_equal(pt->nfields, 2);  /* message, value: the rest not finite */
	assert_string_equal(field_of(pt, "message")->v.s.p, "");
	assert_float_field(pt, "value", -0.5);
	assert_int_equal(pt->has_time, 0);

	parse_line(text, 2, pt);
	assert_string_equal(pt->measurement.p, "traffic_forecast");
	assert_int_equal(pt->ntags, 2);
	assert_string_equal(tag_of(pt, "field"), "bytes");
	assert_string_equal(tag_of(pt, "k="), "a, b");
	assert_int_equal(pt->nfields, 3);
	assert_float_field(pt, "prediction", 1.25);
	assert_int_equal(field_of(pt, "n")->type, LP_INT);
	assert_int_equal(field_of(pt, "n")->v.i, -5);
	assert_string_equal(field_of(pt, "s")->v.s.p, "q\"x\\");
	assert_true(pt->time_ns == 42);

	assert_string_equal(rfa_severity_name(DET_INFO), "info");
	assert_string_equal(rfa_severity_name(DET_WARNING), "warning");
	assert_null(rfa_severity_name(4));
	free(text);
	free(series);
	free(pt);
	rfa_out_free(o);
	rfa_out_free(NULL);
	fclose(tf);
}

/* One message on a SEQPACKET socket is one write(): nothing goes out
 * before the buffer passes RFA_OUT_FLUSH_AT, then all of it in one write;
 * an explicit flush is one write; an empty flush none. */
static void flush_policy(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	int big = 1 << 20;
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	signal(SIGPIPE, SIG_IGN);
	struct rfa_out *o = rfa_out_new(sv[0]);
	static char msg[RFA_OUT_FLUSH_AT * 2];
	size_t written = 0;
	int points = 0;
	for (;;) {
		size_t before = rfa_out_pending(o);
		rfa_point_begin(o, "m");
		rfa_point_field_int(o, "i", points++);
		assert_int_equal(rfa_point_end(o, 1), 0);
		size_t after = rfa_out_pending(o);
		if (after == 0) {
			/* It flushed: the point that crossed the mark went too. */
			assert_true(before < RFA_OUT_FLUSH_AT);
			break;
		}
		written = after;
		assert_true(after < RFA_OUT_FLUSH_AT);
		assert_int_equal(recv(sv[1], msg, sizeof msg, MSG_DONTWAIT), -1);
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	}
	ssize_t got = recv(sv[1], msg, sizeof msg, MSG_DONTWAIT);
	assert_true(got >= RFA_OUT_FLUSH_AT);
	assert_true((size_t)got > written);
	assert_int_equal(recv(sv[1], msg, sizeof msg, MSG_DONTWAIT), -1);  /* only one */
	/* Point k is "m i=<k>i 1\n": the message is every point in order. */
	int k = 0;
	for (char *p = msg; p < msg + got; k++) {
		char want[64];
		int wl = snprintf(want, sizeof want, "m i=%di 1\n", k);
		assert_memory_equal(p, want, (size_t)wl);
		p += wl;
	}
	assert_int_equal(k, points);

	assert_int_equal(rfa_out_flush(o), 0);  /* empty: no write */
	assert_int_equal(recv(sv[1], msg, sizeof msg, MSG_DONTWAIT), -1);
	rfa_point_begin(o, "m");
	rfa_point_field(o, "v", 1);
	rfa_point_end(o, RFA_TIME_NONE);
	assert_int_equal(rfa_out_flush(o), 0);
	assert_int_equal(recv(sv[1], msg, sizeof msg, MSG_DONTWAIT), 6);
	assert_memory_equal(msg, "m v=1\n", 6);

	/* The reader has gone: EPIPE, and every later flush fails too. */
	close(sv[1]);
	rfa_point_begin(o, "m");
	rfa_point_field(o, "v", 1);
	rfa_point_end(o, 1);
	errno = 0;
	assert_int_equal(rfa_out_flush(o), -1);
	assert_int_equal(errno, EPIPE);
	rfa_point_begin(o, "m");
	rfa_point_field(o, "v", 1);
	assert_int_equal(rfa_point_end(o, 1), -1);  /* the writer is broken: said at once */
	assert_int_equal(rfa_out_flush(o), -1);
	assert_int_equal(rfa_out_pending(o), 0);
	rfa_out_free(o);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(normal_blocks),
		cmocka_unit_test(split_reads),
		cmocka_unit_test(every_skip_reason),
		cmocka_unit_test(over_long_lines),
		cmocka_unit_test(unread_points_skipped),
		cmocka_unit_test(read_error),
		cmocka_unit_test(series_key_and_fields),
		cmocka_unit_test(alerts_round_trip),
		cmocka_unit_test(flush_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
