/*
 * test_influx.c — the writer's output side against the real thing: a private
 * influxd 1.6 started through tests/lib/influxd.sh (skipped, with a message,
 * only when /usr/bin/influxd is absent), plus a tiny HTTP listener thread
 * that records requests for what influxd 1.6 cannot show (v2 API, basic
 * auth, gzip headers, 503/401 answers). File output is checked byte for byte.
 *
 * Run from the repository root (the script is found as tests/lib/influxd.sh,
 * or under $RINGFLOW_ROOT). Expected query answers are written by hand from
 * the points sent, not taken from the code's output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "common/config.h"
#include "common/timeutil.h"
#include "writer/fileout.h"
#include "writer/influx.h"
#include "pipeline/lineproto.h"
#include "writer/output.h"

#define S(x) x, strlen(x)
#define DAY_NS (86400LL * RF_NS_PER_SEC)

static char root[512] = ".";
static int have_influxd;

/* ---- shell helpers ---------------------------------------------------- */

/* Runs `bash -c CMD` with the library sourced; stdout into out. Returns the
 * exit status. */
static int sh(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[2048], full[2048 + 512 + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(full, sizeof full, "bash -c 'cd \"%s\" && source tests/lib/influxd.sh && %s'",
		 root, cmd);
	FILE *p = popen(full, "r");
	if (!p)
		return -1;
	size_t n = 0;
	if (out && outlen) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
	} else {
		char sink[256];
		while (fread(sink, 1, sizeof sink, p) > 0)
			;
	}
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct server {
	char dir[256];
	int port;
	int pid;
};

/* Every server started, so group teardown can stop those a failed test
 * (cmocka longjmps out of it) left behind. */
#define MAX_SERVERS 16
static struct { int pid; char dir[256]; } started[MAX_SERVERS];

static void remember(const struct server *s, int pid)
{
	for (int i = 0; i < MAX_SERVERS; i++)
		if (started[i].dir[0] == '\0' || strcmp(started[i].dir, s->dir) == 0) {
			snprintf(started[i].dir, sizeof started[i].dir, "%s", s->dir);
			started[i].pid = pid;
			return;
		}
}

/* port 0: any free port; max_body 0: the default. */
static int server_start(struct server *s, int port, long max_body)
{
	char out[128], env[128] = "";
	if (port)
		snprintf(env, sizeof env, "INFLUXD_HTTP_PORT=%d ", port);
	if (max_body)
		snprintf(env + strlen(env), sizeof env - strlen(env), "INFLUXD_MAX_BODY_SIZE=%ld ",
			 max_body);
	int rc = sh(out, sizeof out, "%s influxd_start %s >&2 && echo $INFLUX_PORT $INFLUX_PID",
		    env, s->dir);
	if (rc != 0 || sscanf(out, "%d %d", &s->port, &s->pid) != 2)
		return -1;
	remember(s, s->pid);
	return 0;
}

static void server_stop(struct server *s)
{
	if (s->pid > 0)
		sh(NULL, 0, "influxd_stop %d", s->pid);
	s->pid = 0;
	remember(s, 0);
}

static int server_new(struct server *s, long max_body)
{
	memset(s, 0, sizeof *s);
	snprintf(s->dir, sizeof s->dir, "/tmp/rf-test-influx-XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	return server_start(s, 0, max_body);
}

static void server_destroy(struct server *s)
{
	server_stop(s);
	if (s->dir[0])
		sh(NULL, 0, "rm -rf \"%s\"", s->dir);
}

static void destroy_leftovers(void)
{
	for (int i = 0; i < MAX_SERVERS; i++) {
		if (!started[i].dir[0])
			continue;
		struct server s = { .pid = started[i].pid };
		snprintf(s.dir, sizeof s.dir, "%s", started[i].dir);
		server_destroy(&s);
		started[i].dir[0] = '\0';
	}
}

/* JSON answer of a query (epoch=ns); the query goes through the
 * environment so no shell quoting is involved. */
static char *query(const struct server *s, const char *db, const char *q)
{
	static char out[65536];
	setenv("RF_Q", q, 1);
	setenv("RF_DB", db, 1);
	int rc = sh(out, sizeof out,
		    "INFLUX_URL=http://127.0.0.1:%d influxd_query \"$RF_DB\" \"$RF_Q\"", s->port);
	assert_int_equal(rc, 0);
	return out;
}

/* A statement that needs POST (CREATE...), answer discarded. */
static void influx_post(const struct server *s, const char *q)
{
	setenv("RF_Q", q, 1);
	assert_int_equal(sh(NULL, 0, "curl -sS -XPOST http://127.0.0.1:%d/query "
			    "--data-urlencode \"q=$RF_Q\"", s->port), 0);
}

static void assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("expected prefix\n  %s\nof\n  %.200s", prefix, s);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected\n  %s\nin\n  %s", needle, hay);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static struct conf_output make_conf(int port, const char *db)
{
	static char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	struct conf_output c = {
		.type = CONF_OUTPUT_INFLUXDB,
		.url = url,
		.database = (char *)db,
		.retention = "30d",
		.retention_ns = 30 * DAY_NS,
		.batch_points = 5000,
		.flush_interval_ns = RF_NS_PER_SEC,
		.timeout_ns = 5 * RF_NS_PER_SEC,
		.gzip = 1,
	};
	return c;
}

/* A recent whole second, well inside a 30d retention. */
static int64_t base_time(void)
{
	return (rf_now_ns() / RF_NS_PER_SEC - 3600) * RF_NS_PER_SEC;
}

static void lines(struct lp_buf *b, const char *m, int n, int64_t t0)
{
	char tmp[128];
	for (int i = 0; i < n; i++) {
		int len = snprintf(tmp, sizeof tmp, "%s,k=%d v=%di %lld\n", m, i, i,
				   (long long)(t0 + i));
		lp_buf_append(b, tmp, (size_t)len);
	}
}

/* Helper thread: waits until the delivery in progress has retried `after`
 * times, then runs an action. The count is read with an atomic load; the
 * delivering thread writes it plainly, which is fine for this test. */
struct waiter {
	struct wr_report *rep;
	uint64_t after;
	int action;             /* 0: set *stop, 1: start server */
	volatile int *stop;
	struct server *srv;
	int port;
	int64_t fired_ns;
	int ok;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	int64_t deadline = rf_mono_ns() + 30 * RF_NS_PER_SEC;
	while (__atomic_load_n(&w->rep->retries, __ATOMIC_RELAXED) < w->after) {
		if (rf_mono_ns() > deadline)
			return NULL;
		struct timespec ts = { 0, 5 * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (w->action == 0) {
		w->fired_ns = rf_mono_ns();
		*w->stop = 1;
		w->ok = 1;
	} else {
		w->ok = server_start(w->srv, w->port, 0) == 0;
	}
	return NULL;
}

/* ---- tests against influxd -------------------------------------------- */

static struct server main_srv;

static int group_setup(void **state)
{
	const char *r = getenv("RINGFLOW_ROOT");
	if (r) {
		snprintf(root, sizeof root, "%s", r);
	} else if (access("tests/lib/influxd.sh", R_OK) != 0) {
		/* not run from the repository root: the binary lives in
		 * build/<mode>/tests/, three levels below it */
		char exe[400];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n > 0) {
			exe[n] = '\0';
			snprintf(root, sizeof root, "%s/../../..", dirname(exe));
		}
	}
	have_influxd = access("/usr/bin/influxd", X_OK) == 0;
	if (!have_influxd) {
		fprintf(stderr, "test_influx: /usr/bin/influxd not found (Debian package influxdb): "
			"skipping the tests that need a real server\n");
		return 0;
	}
	if (server_new(&main_srv, 0) != 0) {
		fprintf(stderr, "test_influx: could not start influxd (see %s/influxd.log)\n",
			main_srv.dir);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	if (have_influxd)
		server_destroy(&main_srv);
	destroy_leftovers();
	return 0;
}

#define NEED_INFLUXD() do { if (!have_influxd) skip(); } while (0)

static void t_database_policy_and_roundtrip(void **state)
{
	NEED_INFLUXD();
	struct conf_output c = make_conf(main_srv.port, "rf db");
	char err[256] = "";
	struct wr_output *o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);

	int64_t t = base_time();
	struct lp_buf b;
	lp_buf_init(&b);
	struct lp_enc p;
	lp_begin(&p, &b, S("traffic by,country"));
	lp_tag(&p, S("src country"), S("U S"));
	lp_tag(&p, S("k=eq"), S("v,=x"));
	lp_field_int(&p, S("bytes"), 1000);
	lp_field_float(&p, S("rate"), 2.5);
	lp_field_str(&p, S("note"), S("say \"hi\" \\ back\nslash, a=b"));
	assert_int_equal(lp_end(&p, t), 0);
	lp_begin(&p, &b, S("#edge"));
	lp_tag(&p, S("t"), S("end\\"));
	lp_tag(&p, S("u"), S("a\\b"));
	lp_field_float(&p, S("f"), 0.1);
	assert_int_equal(lp_end(&p, t + 1), 0);

	struct wr_report rep = { 0 };
	assert_int_equal(wr_output_deliver(o, b.data, b.len, 2, NULL, &rep), WR_OK);
	assert_int_equal(rep.points_accepted, 2);
	assert_int_equal(rep.points_rejected, 0);
	assert_int_equal(rep.retries, 0);

	char *j = query(&main_srv, "rf db", "SHOW RETENTION POLICIES");
	/* 30d = 720h; influxd picks 1-day shard groups for it; default = true */
	assert_contains(j, "[\"ringflow\",\"720h0m0s\",\"24h0m0s\",1,true]");

	j = query(&main_srv, "rf db", "SELECT * FROM \"traffic by,country\"");
	char want[512];
	snprintf(want, sizeof want,
		 "\"columns\":[\"time\",\"bytes\",\"k=eq\",\"note\",\"rate\",\"src country\"],"
		 "\"values\":[[%lld,1000,\"v,=x\",\"say \\\"hi\\\" \\\\ back slash, a=b\",2.5,\"U S\"]]",
		 (long long)t);
	assert_contains(j, want);

	j = query(&main_srv, "rf db", "SELECT * FROM \"_edge\"");
	snprintf(want, sizeof want,
		 "\"columns\":[\"time\",\"f\",\"t\",\"u\"],\"values\":[[%lld,0.1,\"end\",\"a\\\\b\"]]",
		 (long long)(t + 1));
	assert_contains(j, want);

	/* A bigger batch: gzip shrinks it on the wire, every point is stored. */
	lp_buf_reset(&b);
	lines(&b, "bulk", 1000, t);
	struct wr_report rep2 = { 0 };
	assert_int_equal(wr_output_deliver(o, b.data, b.len, 1000, NULL, &rep2), WR_OK);
	assert_int_equal(rep2.points_accepted, 1000);
	assert_int_equal(rep2.requests, 1);
	assert_true(rep2.bytes_sent * 3 < b.len);
	j = query(&main_srv, "rf db", "SELECT count(v), sum(v) FROM bulk");
	assert_contains(j, "\"values\":[[0,1000,499500]]"); /* sum 0..999 */

	lp_buf_free(&b);
	wr_output_close(o);
}

static void t_policy_follows_config(void **state)
{
	NEED_INFLUXD();
	/* A database that exists with another "ringflow" duration and one with
	 * infinite retention: the configured duration becomes the default. */
	influx_post(&main_srv, "CREATE DATABASE alt WITH DURATION 2h NAME \"ringflow\"");
	struct conf_output c = make_conf(main_srv.port, "alt");
	c.retention = "2d";
	c.retention_ns = 2 * DAY_NS;
	char err[256];
	struct wr_output *o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);
	const char *lp = "m v=1i\n";
	struct wr_report rep = { 0 };
	assert_int_equal(wr_output_deliver(o, lp, strlen(lp), 1, NULL, &rep), WR_OK);
	wr_output_close(o);
	assert_contains(query(&main_srv, "alt", "SHOW RETENTION POLICIES"),
			"[\"ringflow\",\"48h0m0s\",\"1h0m0s\",1,true]"); /* ALTER keeps shards */

	c = make_conf(main_srv.port, "forever");
	c.retention = "0";
	c.retention_ns = 0;
	o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(wr_output_deliver(o, lp, strlen(lp), 1, NULL, &rep), WR_OK);
	wr_output_close(o);
	assert_contains(query(&main_srv, "forever", "SHOW RETENTION POLICIES"),
			"[\"ringflow\",\"0s\",\"168h0m0s\",1,true]");
}

static void t_bad_points(void **state)
{
	NEED_INFLUXD();
	struct conf_output c = make_conf(main_srv.port, "bad");
	char err[256];
	struct wr_output *o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);
	long long t = (long long)base_time();
	char lp[1024];
	struct wr_report rep = { 0 };

	/* unparsable lines among good ones: the good ones are stored */
	snprintf(lp, sizeof lp, "m,k=a v=1i %lld\nthis is not a point\nm,k=b v=2i %lld\n"
		 "m,k=c\nm,k=d v=4i %lld\n", t, t, t);
	assert_int_equal(wr_output_deliver(o, lp, strlen(lp), 5, NULL, &rep), WR_OK);
	assert_int_equal(rep.points_accepted, 3);
	assert_int_equal(rep.points_rejected, 2);
	assert_int_equal(rep.retries, 0);
	assert_contains(rep.last_error, "unable to parse");

	/* a type conflict with what is stored: partial write, dropped=1 */
	memset(&rep, 0, sizeof rep);
	snprintf(lp, sizeof lp, "m,k=e v=5i %lld\nm,k=f v=6.5 %lld\nm,k=g v=7i %lld\n", t, t, t);
	assert_int_equal(wr_output_deliver(o, lp, strlen(lp), 3, NULL, &rep), WR_OK);
	assert_int_equal(rep.points_accepted, 2);
	assert_int_equal(rep.points_rejected, 1);
	assert_contains(rep.last_error, "field type conflict");

	/* a conflict inside one batch on a new measurement: influxd refuses
	 * the whole batch without a count; splitting saves the good points */
	memset(&rep, 0, sizeof rep);
	snprintf(lp, sizeof lp, "x,k=1 f=1i %lld\nx,k=2 f=2.5 %lld\nx,k=3 f=3i %lld\n"
		 "x,k=4 f=4i %lld\n", t, t, t, t);
	assert_int_equal(wr_output_deliver(o, lp, strlen(lp), 4, NULL, &rep), WR_OK);
	assert_int_equal(rep.points_accepted, 3);
	assert_int_equal(rep.points_rejected, 1);
	assert_int_equal(rep.retries, 0);

	/* nothing parsable at all */
	memset(&rep, 0, sizeof rep);
	snprintf(lp, sizeof lp, "junk\nmore junk\n");
	assert_int_equal(wr_output_deliver(o, lp, strlen(lp), 2, NULL, &rep), WR_OK);
	assert_int_equal(rep.points_accepted, 0);
	assert_int_equal(rep.points_rejected, 2);
	assert_int_equal(rep.requests, 1);
	wr_output_close(o);

	assert_contains(query(&main_srv, "bad", "SELECT count(v), sum(v) FROM m"),
			"\"values\":[[0,5,19]]"); /* a b d e g: 1+2+4+5+7 */
	assert_contains(query(&main_srv, "bad", "SELECT count(f), sum(f) FROM x"),
			"\"values\":[[0,3,8]]");  /* 1+3+4 */
}

static void t_restart_mid_delivery(void **state)
{
	NEED_INFLUXD();
	struct server s;
	assert_int_equal(server_new(&s, 0), 0);
	struct conf_output c = make_conf(s.port, "restart");
	char err[256];
	struct wr_output *o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);
	int64_t t = base_time();
	struct lp_buf b;
	lp_buf_init(&b);
	lines(&b, "r", 200, t);
	struct wr_report rep = { 0 };
	assert_int_equal(wr_output_deliver(o, b.data, b.len, 200, NULL, &rep), WR_OK);

	/* influxd goes away under the kept-alive connection */
	server_stop(&s);
	lp_buf_reset(&b);
	lines(&b, "r", 300, t + 200);
	struct wr_report rep2 = { 0 };
	struct waiter w = { .rep = &rep2, .after = 3, .action = 1, .srv = &s, .port = s.port };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, waiter_main, &w), 0);
	enum wr_result r = wr_output_deliver(o, b.data, b.len, 300, NULL, &rep2);
	pthread_join(th, NULL);
	assert_true(w.ok);
	assert_int_equal(r, WR_OK);
	assert_true(rep2.retries >= 3);
	assert_int_equal(rep2.points_accepted, 300);
	assert_int_equal(rep2.points_rejected, 0);
	assert_true(rep2.last_error[0] != '\0');
	assert_contains(query(&s, "restart", "SELECT count(v) FROM r"), "\"values\":[[0,500]]");
	lp_buf_free(&b);
	wr_output_close(o);
	server_destroy(&s);
}

static void t_refused_from_start(void **state)
{
	NEED_INFLUXD();
	struct server s;
	memset(&s, 0, sizeof s);
	snprintf(s.dir, sizeof s.dir, "/tmp/rf-test-influx-XXXXXX");
	assert_non_null(mkdtemp(s.dir));
	int port = free_port();
	struct conf_output c = make_conf(port, "late");
	char err[256];
	struct wr_output *o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);
	struct lp_buf b;
	lp_buf_init(&b);
	lines(&b, "late", 50, base_time());
	struct wr_report rep = { 0 };
	struct waiter w = { .rep = &rep, .after = 2, .action = 1, .srv = &s, .port = port };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, waiter_main, &w), 0);
	enum wr_result r = wr_output_deliver(o, b.data, b.len, 50, NULL, &rep);
	pthread_join(th, NULL);
	assert_true(w.ok);
	assert_int_equal(r, WR_OK);
	assert_true(rep.retries >= 2);
	assert_int_equal(rep.points_accepted, 50);
	assert_contains(query(&s, "late", "SELECT count(v) FROM late"), "\"values\":[[0,50]]");
	lp_buf_free(&b);
	wr_output_close(o);
	server_destroy(&s);
}

static void t_413_split(void **state)
{
	NEED_INFLUXD();
	struct server s;
	assert_int_equal(server_new(&s, 2000), 0);
	struct conf_output c = make_conf(s.port, "small");
	c.gzip = 0;
	char err[256];
	struct wr_output *o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);
	int64_t t = base_time();
	struct lp_buf b;
	lp_buf_init(&b);
	lines(&b, "s", 300, t);             /* ~33 bytes a line: ~10 KB */
	assert_true(b.len > 4 * 2000);
	struct wr_report rep = { 0 };
	assert_int_equal(wr_output_deliver(o, b.data, b.len, 300, NULL, &rep), WR_OK);
	assert_int_equal(rep.points_accepted, 300);
	assert_int_equal(rep.points_rejected, 0);
	assert_true(rep.requests >= 3 + 4); /* 3 queries, then the halves */

	/* one point alone above the limit cannot be split: rejected */
	lp_buf_reset(&b);
	struct lp_enc p;
	char big[3000];
	memset(big, 'z', sizeof big);
	lp_begin(&p, &b, S("s"));
	lp_field_str(&p, S("blob"), big, sizeof big);
	lp_end(&p, t);
	lines(&b, "s", 2, t + 1000);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(wr_output_deliver(o, b.data, b.len, 3, NULL, &rep), WR_OK);
	assert_int_equal(rep.points_accepted, 2);
	assert_int_equal(rep.points_rejected, 1);
	assert_contains(query(&s, "small", "SELECT count(v) FROM s"), "\"values\":[[0,302]]");
	lp_buf_free(&b);
	wr_output_close(o);
	server_destroy(&s);
}

static void t_stop_flag(void **state)
{
	/* nothing listens: refused forever, until *stop. The url carries
	 * userinfo, which must not show up in messages. */
	char url[96];
	snprintf(url, sizeof url, "http://bob:hunter2@127.0.0.1:%d/", free_port());
	struct conf_output c = make_conf(1, "nowhere");
	c.url = url;
	char err[256];
	struct wr_output *o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);
	volatile int stop = 0;
	struct wr_report rep = { 0 };
	struct waiter w = { .rep = &rep, .after = 3, .action = 0, .stop = &stop };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, waiter_main, &w), 0);
	const char *lp = "m v=1i\n";
	enum wr_result r = wr_output_deliver(o, lp, strlen(lp), 1, &stop, &rep);
	int64_t back = rf_mono_ns();
	pthread_join(th, NULL);
	assert_true(w.ok);
	assert_int_equal(r, WR_STOPPED);
	assert_int_equal(rep.points_accepted, 0);
	assert_int_equal(rep.points_rejected, 0);
	assert_true(rep.retries >= 3);
	/* backoff 100, 200, 400 ms... polled every 50 ms */
	assert_true(back - w.fired_ns < 150 * 1000000LL);
	assert_contains(rep.last_error, "POST http://127.0.0.1:");
	assert_null(strstr(rep.last_error, "hunter2"));
	assert_null(strstr(rep.last_error, "bob"));
	wr_output_close(o);
}

/* ---- file output ------------------------------------------------------ */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *d = malloc((size_t)n + 1);
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return d;
}

static void t_file_output(void **state)
{
	char dir[] = "/tmp/rf-test-fileout-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/out.lp", dir);
	struct conf_output c = { .type = CONF_OUTPUT_FILE, .path = path };
	char err[256];
	struct wr_output *o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	mode_t um = umask(0);
	umask(um);
	assert_int_equal(st.st_mode & 0777, 0644 & ~um);

	size_t big_len = 3 * 1024 * 1024;
	char *big = malloc(big_len);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
	struct wr_report rep = { 0 };
	assert_int_equal(wr_output_deliver(o, "a v=1i 1\n", 9, 1, NULL, &rep), WR_OK);
	assert_int_equal(wr_output_deliver(o, big, big_len, (uint32_t)(big_len / 64), NULL, &rep),
			 WR_OK);
	wr_output_close(o);
	/* reopening appends */
	o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);
	assert_int_equal(wr_output_deliver(o, "z v=2i 2\n", 9, 1, NULL, &rep), WR_OK);
	wr_output_close(o);
	assert_int_equal(rep.points_accepted, 2 + big_len / 64);
	assert_int_equal(rep.bytes_sent, 18 + big_len);
	assert_int_equal(rep.retries, 0);

	size_t n;
	char *d = slurp(path, &n);
	assert_int_equal(n, 18 + big_len);
	assert_memory_equal(d, "a v=1i 1\n", 9);
	assert_memory_equal(d + 9, big, big_len);
	assert_memory_equal(d + 9 + big_len, "z v=2i 2\n", 9);
	free(d);
	free(big);
	unlink(path);
	rmdir(dir);

	/* an unopenable path is an error at open, naming the path */
	c.path = "/nonexistent-dir/x.lp";
	assert_null(wr_output_open(&c, err, sizeof err));
	assert_contains(err, "/nonexistent-dir/x.lp");
}

static void t_file_write_error_retries(void **state)
{
	/* /dev/full fails every write with ENOSPC: retried, never dropped */
	if (access("/dev/full", W_OK) != 0)
		skip();
	struct wr_fileout *fo;
	char err[256];
	fo = wr_fileout_open("/dev/full", err, sizeof err);
	assert_non_null(fo);
	volatile int stop = 0;
	struct wr_report rep = { 0 };
	struct waiter w = { .rep = &rep, .after = 2, .action = 0, .stop = &stop };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, waiter_main, &w), 0);
	assert_int_equal(wr_fileout_deliver(fo, "m v=1i\n", 7, 1, &stop, &rep), WR_STOPPED);
	pthread_join(th, NULL);
	assert_true(rep.retries >= 2);
	assert_int_equal(rep.points_accepted, 0);
	assert_contains(rep.last_error, "No space left");
	wr_fileout_close(fo);
}

/* ---- a recording HTTP listener (mock of the server boundary) ----------- */

#define MOCK_MAX 16

struct mock {
	int lfd, port;
	const char *answers[MOCK_MAX]; /* status line + headers, in order; last repeats */
	const char *bodies[MOCK_MAX];
	int nanswers;
	char *req[MOCK_MAX];           /* head + body as received */
	size_t head_len[MOCK_MAX], req_len[MOCK_MAX];
	int nreq;
	int done;
};

static size_t content_length(const char *head)
{
	const char *p = head;
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			return (size_t)strtoul(p + 15, NULL, 10);
	}
	return 0;
}

static int wait_readable(struct mock *m, int fd)
{
	while (!__atomic_load_n(&m->done, __ATOMIC_ACQUIRE)) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int r = poll(&pf, 1, 50);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
	return -1;
}

static void *mock_main(void *arg)
{
	struct mock *m = arg;
	while (wait_readable(m, m->lfd) == 0) {
		int fd = accept(m->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		char *buf = malloc(1 << 20);
		size_t have = 0;
		for (;;) {
			char *end = NULL;
			while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
				if (wait_readable(m, fd) != 0)
					goto closed;
				ssize_t n = read(fd, buf + have, (1 << 20) - have);
				if (n <= 0)
					goto closed;
				have += (size_t)n;
			}
			size_t head = (size_t)(end - buf) + 4;
			buf[head - 1] = '\0';
			size_t total = head + content_length(buf);
			buf[head - 1] = '\n';
			while (have < total) {
				if (wait_readable(m, fd) != 0)
					goto closed;
				ssize_t n = read(fd, buf + have, (1 << 20) - have);
				if (n <= 0)
					goto closed;
				have += (size_t)n;
			}
			int i = m->nreq < MOCK_MAX ? m->nreq : MOCK_MAX - 1;
			free(m->req[i]);
			m->req[i] = malloc(total + 1);
			memcpy(m->req[i], buf, total);
			m->req[i][total] = '\0';
			m->head_len[i] = head;
			m->req_len[i] = total;
			int a = i < m->nanswers ? i : m->nanswers - 1;
			char resp[1024];
			const char *body = m->bodies[a] ? m->bodies[a] : "";
			int rl = snprintf(resp, sizeof resp, "%s\r\nContent-Length: %zu\r\n\r\n%s",
					  m->answers[a], strlen(body), body);
			__atomic_store_n(&m->nreq, m->nreq + 1, __ATOMIC_RELEASE);
			if (write(fd, resp, (size_t)rl) != rl)
				goto closed;
			memmove(buf, buf + total, have - total);
			have -= total;
		}
closed:
		free(buf);
		close(fd);
	}
	return NULL;
}

static void mock_start(struct mock *m, pthread_t *th)
{
	m->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	assert_int_equal(bind(m->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(m->lfd, 8), 0);
	assert_int_equal(getsockname(m->lfd, (struct sockaddr *)&a, &al), 0);
	m->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(th, NULL, mock_main, m), 0);
}

static void mock_stop(struct mock *m, pthread_t th)
{
	__atomic_store_n(&m->done, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	close(m->lfd);
	for (int i = 0; i < MOCK_MAX; i++)
		free(m->req[i]);
}

static char *gunzip(const char *in, size_t len, size_t *outlen)
{
	size_t cap = 1 << 20;
	char *out = malloc(cap);
	z_stream zs = { 0 };
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	*outlen = cap - zs.avail_out;
	inflateEnd(&zs);
	return out;
}

static void t_v2_request(void **state)
{
	struct mock m = { .answers = { "HTTP/1.1 503 Service Unavailable",
				       "HTTP/1.1 204 No Content" }, .nanswers = 2 };
	pthread_t th;
	mock_start(&m, &th);
	char tokpath[] = "/tmp/rf-test-token-XXXXXX";
	int tfd = mkstemp(tokpath);
	assert_true(tfd >= 0);
	assert_int_equal(write(tfd, "s3cr3t-tok\nsecond line\n", 23), 23);
	close(tfd);

	struct conf_output c = make_conf(m.port, NULL);
	c.org = "my org";
	c.bucket = "b/x";
	c.token_file = tokpath;
	char err[256];
	struct wr_output *o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);
	unlink(tokpath);
	const char *lp = "cpu,h=a v=1i 10\ncpu,h=b v=2i 20\n";
	struct wr_report rep = { 0 };
	assert_int_equal(wr_output_deliver(o, lp, strlen(lp), 2, NULL, &rep), WR_OK);
	wr_output_close(o);
	int n = __atomic_load_n(&m.nreq, __ATOMIC_ACQUIRE);
	assert_int_equal(n, 2); /* 503, then the retry */
	assert_int_equal(rep.retries, 1);
	assert_int_equal(rep.points_accepted, 2);
	assert_contains(rep.last_error, "503");
	for (int i = 0; i < 2; i++) {
		const char *r = m.req[i];
		assert_prefix(r, "POST /api/v2/write?org=my%20org&bucket=b%2Fx&precision=ns HTTP/1.1\r\n");
		assert_contains(r, "\r\nAuthorization: Token s3cr3t-tok\r\n");
		assert_contains(r, "\r\nContent-Encoding: gzip\r\n");
		assert_contains(r, "\r\nContent-Type: text/plain; charset=utf-8\r\n");
		size_t plen;
		char *plain = gunzip(r + m.head_len[i], m.req_len[i] - m.head_len[i], &plen);
		assert_int_equal(plen, strlen(lp));
		assert_memory_equal(plain, lp, plen);
		free(plain);
	}
	mock_stop(&m, th);
}

static void t_v1_auth_and_setup_requests(void **state)
{
	const char *ok_json = "{\"results\":[{\"statement_id\":0}]}";
	struct mock m = {
		.answers = { "HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK",
			     "HTTP/1.1 401 Unauthorized", "HTTP/1.1 204 No Content" },
		.bodies = { ok_json, "{\"results\":[{\"statement_id\":0,\"error\":\"retention policy already exists\"}]}",
			    ok_json, "{\"error\":\"authorization failed\"}", NULL },
		.nanswers = 5,
	};
	pthread_t th;
	mock_start(&m, &th);
	struct conf_output c = make_conf(m.port, "d\"b");
	c.username = "alice";
	c.password = "pa:ss";
	c.gzip = 0;
	c.retention_ns = 36 * 3600 * RF_NS_PER_SEC;
	char err[256];
	struct wr_output *o = wr_output_open(&c, err, sizeof err);
	assert_non_null(o);
	const char *lp = "m v=1i 1\n";
	struct wr_report rep = { 0 };
	assert_int_equal(wr_output_deliver(o, lp, strlen(lp), 1, NULL, &rep), WR_OK);
	wr_output_close(o);
	assert_int_equal(__atomic_load_n(&m.nreq, __ATOMIC_ACQUIRE), 5);
	assert_int_equal(rep.retries, 1);        /* the 401 */
	assert_int_equal(rep.points_accepted, 1);
	/* base64("alice:pa:ss") = YWxpY2U6cGE6c3M= */
	for (int i = 0; i < 5; i++) {
		assert_contains(m.req[i], "\r\nAuthorization: Basic YWxpY2U6cGE6c3M=\r\n");
		assert_null(strstr(m.req[i], "pa:ss"));
		assert_null(strstr(m.req[i], "pa%3Ass"));
	}
	assert_prefix(m.req[0], "POST /query HTTP/1.1\r\n");
	/* q=CREATE DATABASE "d\"b", form-encoded */
	assert_contains(m.req[0], "\r\n\r\nq=CREATE%20DATABASE%20%22d%5C%22b%22");
	assert_contains(m.req[1], "\r\n\r\nq=CREATE%20RETENTION%20POLICY%20%22ringflow%22%20ON%20"
			"%22d%5C%22b%22%20DURATION%2036h%20REPLICATION%201%20DEFAULT");
	assert_contains(m.req[2], "\r\n\r\nq=ALTER%20RETENTION%20POLICY%20%22ringflow%22%20ON%20"
			"%22d%5C%22b%22%20DURATION%2036h%20REPLICATION%201%20DEFAULT");
	assert_prefix(m.req[3], "POST /write?db=d%22b&precision=ns HTTP/1.1\r\n");
	assert_null(strstr(m.req[3], "Content-Encoding"));
	assert_contains(m.req[4], "\r\n\r\nm v=1i 1\n");
	assert_null(strstr(rep.last_error, "pa:ss"));
	mock_stop(&m, th);
}

static void t_open_errors(void **state)
{
	char err[256];
	struct conf_output c = make_conf(8086, "db");
	c.url = NULL;
	assert_null(wr_output_open(&c, err, sizeof err));
	assert_contains(err, "url");

	c = make_conf(8086, NULL);
	assert_null(wr_output_open(&c, err, sizeof err));
	assert_contains(err, "database");

	c = make_conf(8086, "db");
	c.retention_ns = 30 * 60 * RF_NS_PER_SEC;
	c.retention = "30m";
	assert_null(wr_output_open(&c, err, sizeof err));
	assert_contains(err, "retention");

	c = make_conf(8086, NULL);
	c.org = "o";
	assert_null(wr_output_open(&c, err, sizeof err));
	assert_contains(err, "bucket");

	c = make_conf(8086, NULL);
	c.bucket = "b";
	c.token_file = "/nonexistent/token";
	assert_null(wr_output_open(&c, err, sizeof err));
	assert_contains(err, "token_file");

	c = make_conf(8086, "db");
	c.url = "ftp://x";
	assert_null(wr_output_open(&c, err, sizeof err));
	assert_contains(err, "url");

	c = make_conf(8086, "db");
	c.username = "u";
	c.password = NULL;
	assert_null(wr_output_open(&c, err, sizeof err));
	assert_contains(err, "password");

	c = make_conf(8086, "db");
	c.type = CONF_OUTPUT_TYPE_COUNT;
	assert_null(wr_output_open(&c, err, sizeof err));
	assert_contains(err, "type");

	wr_output_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_database_policy_and_roundtrip),
		cmocka_unit_test(t_policy_follows_config),
		cmocka_unit_test(t_bad_points),
		cmocka_unit_test(t_restart_mid_delivery),
		cmocka_unit_test(t_refused_from_start),
		cmocka_unit_test(t_413_split),
		cmocka_unit_test(t_stop_flag),
		cmocka_unit_test(t_file_output),
		cmocka_unit_test(t_file_write_error_retries),
		cmocka_unit_test(t_v2_request),
		cmocka_unit_test(t_v1_auth_and_setup_requests),
		cmocka_unit_test(t_open_errors),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
