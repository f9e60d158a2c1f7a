/*
 * test_alert_webhook.c — the webhook alert sink against a tiny HTTP server
 * run in a thread of this test on 127.0.0.1 (ephemeral port): the body is
 * the alert's JSON and the configured headers arrive; 500 then 200 is
 * retried and delivered once; 404 fails at once; a server that never answers
 * times out and is counted failed after the retries, while no
 * an_sinks_send/service call takes long; a full queue drops and counts; a
 * refused connection fails; the flush at exit is bounded; the log never
 * shows a header value or the URL's path and query.
 *
 * The server answers each request with the next code of its script (0 =
 * read the request and never answer; past the end: 200), "Connection:
 * close", one connection at a time — the sink sends one request at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "analyze/alert.h"
#include "analyze/alert_sinks.h"
#include "analyze/alert_webhook.h"
#include "common/timeutil.h"

#define MAX_REQ 16
#define REQ_MAX 8192
#define SLOW_CALL_NS (1000LL * 1000000) /* no call may take this long: generous on a busy machine */

struct srv {
	int lfd, port;
	atomic_int stop;
	pthread_t th;
	pthread_mutex_t mu;
	int script[MAX_REQ], nscript;
	int nreq;                          /* requests read completely */
	char head[MAX_REQ][REQ_MAX];
	char body[MAX_REQ][REQ_MAX];
};

static struct srv S;

/* Reads one request: headers to the blank line, then Content-Length bytes. */
static int read_request(int fd, char *head, char *body)
{
	char buf[2 * REQ_MAX];
	size_t len = 0;
	int64_t deadline = rf_mono_ns() + 5 * RF_NS_PER_SEC;
	char *end = NULL;
	size_t need = 0;
	for (;;) {
		if (end && len >= (size_t)(end + 4 - buf) + need)
			break;
		if (rf_mono_ns() > deadline || atomic_load(&S.stop) || len == sizeof buf)
			return -1;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		if (!end) {
			buf[len < sizeof buf ? len : sizeof buf - 1] = '\0';
			end = strstr(buf, "\r\n\r\n");
			if (end) {
				for (char *l = buf; l < end; l = strstr(l, "\r\n") + 2)
					if (!strncasecmp(l, "Content-Length:", 15))
						need = strtoul(l + 15, NULL, 10);
			}
		}
	}
	size_t hl = (size_t)(end - buf);
	if (hl >= REQ_MAX || need >= REQ_MAX)
		return -1;
	memcpy(head, buf, hl);
	head[hl] = '\0';
	memcpy(body, end + 4, need);
	body[need] = '\0';
	return 0;
}

static void *srv_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&S.stop)) {
		struct pollfd p = { .fd = S.lfd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(S.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		static char head[REQ_MAX], body[REQ_MAX];
		if (read_request(fd, head, body) == 0) {
			pthread_mutex_lock(&S.mu);
			int i = S.nreq < MAX_REQ ? S.nreq : MAX_REQ - 1;
			memcpy(S.head[i], head, sizeof head);
			memcpy(S.body[i], body, sizeof body);
			int code = S.nreq < S.nscript ? S.script[S.nreq] : 200;
			S.nreq++;
			pthread_mutex_unlock(&S.mu);
			if (code) {
				char resp[128];
				int n = snprintf(resp, sizeof resp,
						 "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", code);
				ssize_t w = send(fd, resp, (size_t)n, MSG_NOSIGNAL);
				(void)w;
			} else {
				/* never answer: wait until the client gives up */
				char c;
				while (!atomic_load(&S.stop)) {
					struct pollfd q = { .fd = fd, .events = POLLIN };
					if (poll(&q, 1, 50) > 0 && recv(fd, &c, 1, 0) <= 0)
						break;
				}
			}
		}
		close(fd);
	}
	return NULL;
}

static void srv_start(const int *script, int n)
{
	memset(&S, 0, sizeof S);
	pthread_mutex_init(&S.mu, NULL);
	memcpy(S.script, script, sizeof *script * (size_t)n);
	S.nscript = n;
	S.lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(S.lfd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(S.lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(S.lfd, 8), 0);
	socklen_t sl = sizeof a;
	assert_int_equal(getsockname(S.lfd, (struct sockaddr *)&a, &sl), 0);
	S.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&S.th, NULL, srv_main, NULL), 0);
}

static void srv_stop(void)
{
	atomic_store(&S.stop, 1);
	pthread_join(S.th, NULL);
	close(S.lfd);
	pthread_mutex_destroy(&S.mu);
}

static int srv_nreq(void)
{
	pthread_mutex_lock(&S.mu);
	int n = S.nreq;
	pthread_mutex_unlock(&S.mu);
	return n;
}

/* stderr into a file for the whole test, to check what the log shows */
static char logpath[] = "/tmp/test_alert_webhook_log.XXXXXX";
static int saved_stderr = -1;

static void log_capture(void)
{
	int fd = mkstemp(logpath);
	assert_true(fd >= 0);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *log_release(void)
{
	static char text[65536];
	dup2(saved_stderr, 2);
	close(saved_stderr);
	FILE *f = fopen(logpath, "r");
	size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
	text[n] = '\0';
	if (f)
		fclose(f);
	unlink(logpath);
	fputs(text, stderr); /* still shown, after the fact */
	return text;
}

static void base_alert(struct an_alert *a, const char *country)
{
	memset(a, 0, sizeof *a);
	a->time_ns = 1700000000000000000LL; /* 2023-11-14T22:13:20Z */
	a->analyzer = "spikes";
	a->rule = "by_country";
	a->field = "bytes";
	a->message = "high";
	a->severity = DET_CRITICAL;
	a->ntags = 1;
	a->tag_keys[0] = "src_country";
	a->tag_values[0] = country;
	a->value = 2e7;
	a->expected = 1e6;
	a->lower = 9e5;
	a->upper = 1.1e6;
	a->score = 19.3;
}

static const char *const WANT_DE =
	"{\"time\":\"2023-11-14T22:13:20Z\",\"analyzer\":\"spikes\",\"rule\":\"by_country\","
	"\"tags\":{\"src_country\":\"DE\"},\"field\":\"bytes\",\"value\":20000000,"
	"\"expected\":1000000,\"lower\":900000,\"upper\":1100000,\"score\":19.3,"
	"\"severity\":\"critical\",\"message\":\"high\"}";

static char url[256];
static const char *hnames[] = { "Authorization", "X-Test" };
static const char *hvalues[] = { "Bearer tok123secret", "yes" };

static struct an_sinks *make_sinks(int64_t timeout_ns, int retries, int queue)
{
	struct an_alerts_conf c;
	char err[256];
	an_alerts_conf_init(&c);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook/path?token=urlsecret", S.port);
	c.webhook = url;
	c.nheaders = 2;
	c.header_names = hnames;
	c.header_values = hvalues;
	c.webhook_timeout_ns = timeout_ns;
	c.webhook_retries = retries;
	c.webhook_queue = queue;
	struct an_sinks *s = an_sinks_new(&c, "alerts", err, sizeof err);
	if (!s)
		fail_msg("an_sinks_new: %s", err);
	return s;
}

static int64_t slowest;

static void timed_service(struct an_sinks *s)
{
	int64_t t0 = rf_mono_ns();
	an_sinks_service(s, t0);
	int64_t dt = rf_mono_ns() - t0;
	if (dt > slowest)
		slowest = dt;
}

static void timed_send(struct an_sinks *s, const struct an_alert *a)
{
	int64_t t0 = rf_mono_ns();
	an_sinks_send(s, a);
	int64_t dt = rf_mono_ns() - t0;
	if (dt > slowest)
		slowest = dt;
}

/* Services the sinks (as the host loop would, every few ms) until done()
 * or a deadline; returns 0 when done. */
static int run_until(struct an_sinks *s, int (*done)(const struct an_sink_stats *), int64_t limit_ns)
{
	int64_t deadline = rf_mono_ns() + limit_ns;
	struct an_sink_stats ss;
	for (;;) {
		timed_service(s);
		an_sinks_stats(s, &ss);
		if (done(&ss))
			return 0;
		if (rf_mono_ns() > deadline)
			return -1;
		usleep(5000);
	}
}

static int one_sent(const struct an_sink_stats *ss) { return ss->webhook_sent >= 1; }
static int three_sent(const struct an_sink_stats *ss) { return ss->webhook_sent >= 3; }
static int one_failed(const struct an_sink_stats *ss) { return ss->webhook_failed >= 1; }

static void test_delivered_with_headers(void **st)
{
	int script[] = { 200 };
	struct an_alert a;
	struct an_sink_stats ss;
	srv_start(script, 1);
	struct an_sinks *s = make_sinks(0, -1, 0);
	base_alert(&a, "DE");
	slowest = 0;
	timed_send(s, &a);
	assert_int_equal(run_until(s, one_sent, 10 * RF_NS_PER_SEC), 0);
	an_sinks_stats(s, &ss);
	assert_int_equal(ss.webhook_sent, 1);
	assert_int_equal(ss.webhook_failed, 0);
	assert_int_equal(ss.webhook_retries, 0);
	assert_int_equal(srv_nreq(), 1);
	assert_string_equal(S.body[0], WANT_DE);
	assert_true(!strncmp(S.head[0], "POST /hook/path?token=urlsecret HTTP/1.1\r\n", 42));
	assert_non_null(strstr(S.head[0], "\r\nAuthorization: Bearer tok123secret\r\n"));
	assert_non_null(strstr(S.head[0], "\r\nX-Test: yes"));
	assert_non_null(strstr(S.head[0], "\r\nContent-Type: application/json"));
	/* more alerts arrive one request each, in the order sent */
	base_alert(&a, "FR");
	timed_send(s, &a);
	base_alert(&a, "US");
	timed_send(s, &a);
	assert_int_equal(run_until(s, three_sent, 10 * RF_NS_PER_SEC), 0);
	assert_int_equal(srv_nreq(), 3);
	assert_non_null(strstr(S.body[1], "{\"src_country\":\"FR\"}"));
	assert_non_null(strstr(S.body[2], "{\"src_country\":\"US\"}"));
	assert_true(slowest < SLOW_CALL_NS);
	assert_int_equal(an_sinks_flush(s, RF_NS_PER_SEC), 0);
	an_sinks_free(s);
	srv_stop();
}

static void test_retry_500_then_200(void **st)
{
	int script[] = { 500, 200 };
	struct an_alert a;
	struct an_sink_stats ss;
	srv_start(script, 2);
	struct an_sinks *s = make_sinks(2 * RF_NS_PER_SEC, 3, 10);
	base_alert(&a, "DE");
	timed_send(s, &a);
	assert_int_equal(run_until(s, one_sent, 10 * RF_NS_PER_SEC), 0);
	/* a little longer: nothing more may arrive */
	int64_t until = rf_mono_ns() + 300 * RF_NS_PER_MS;
	while (rf_mono_ns() < until) {
		timed_service(s);
		usleep(5000);
	}
	an_sinks_stats(s, &ss);
	assert_int_equal(ss.webhook_sent, 1);
	assert_int_equal(ss.webhook_retries, 1);
	assert_int_equal(ss.webhook_failed, 0);
	assert_int_equal(srv_nreq(), 2);
	assert_string_equal(S.body[0], WANT_DE);
	assert_string_equal(S.body[1], WANT_DE);
	an_sinks_free(s);
	srv_stop();
}

static void test_404_fails_at_once(void **st)
{
	int script[] = { 404, 200 };
	struct an_alert a;
	struct an_sink_stats ss;
	srv_start(script, 2);
	struct an_sinks *s = make_sinks(2 * RF_NS_PER_SEC, 3, 10);
	base_alert(&a, "DE");
	timed_send(s, &a);
	assert_int_equal(run_until(s, one_failed, 10 * RF_NS_PER_SEC), 0);
	an_sinks_stats(s, &ss);
	assert_int_equal(ss.webhook_failed, 1);
	assert_int_equal(ss.webhook_retries, 0);
	assert_int_equal(ss.webhook_sent, 0);
	assert_int_equal(srv_nreq(), 1);
	an_sinks_free(s);
	srv_stop();
}

static void test_never_answers(void **st)
{
	int script[] = { 0, 0, 0, 0 };
	struct an_alert a;
	struct an_sink_stats ss;
	srv_start(script, 4);
	/* timeout 300 ms, 1 retry: about 300 + 200 (backoff) + 300 ms */
	struct an_sinks *s = make_sinks(300 * RF_NS_PER_MS, 1, 10);
	base_alert(&a, "DE");
	slowest = 0;
	timed_send(s, &a);
	/* a second alert of another series waits behind the first */
	base_alert(&a, "FR");
	timed_send(s, &a);
	assert_int_equal(run_until(s, one_failed, 20 * RF_NS_PER_SEC), 0);
	an_sinks_stats(s, &ss);
	assert_int_equal(ss.webhook_failed, 1);
	assert_int_equal(ss.webhook_retries, 1);
	assert_int_equal(ss.webhook_sent, 0);
	assert_int_equal(srv_nreq(), 2);
	assert_true(slowest < SLOW_CALL_NS);
	/* the exit flush gives up in time on the second one */
	int64_t t0 = rf_mono_ns();
	assert_int_equal(an_sinks_flush(s, 100 * RF_NS_PER_MS), 1);
	assert_true(rf_mono_ns() - t0 < SLOW_CALL_NS);
	an_sinks_free(s);
	srv_stop();
}

static void test_queue_full(void **st)
{
	int script[] = { 0 };
	struct an_alert a;
	struct an_sink_stats ss;
	srv_start(script, 1);
	struct an_sinks *s = make_sinks(5 * RF_NS_PER_SEC, 3, 2);
	base_alert(&a, "DE");
	slowest = 0;
	for (int i = 0; i < 5; i++)
		timed_send(s, &a);
	timed_service(s);
	an_sinks_stats(s, &ss);
	assert_int_equal(ss.webhook_dropped, 3);
	assert_int_equal(ss.by_severity[DET_CRITICAL], 5);
	/* the first one is now in flight: one slot is still taken by the second */
	timed_send(s, &a);
	an_sinks_stats(s, &ss);
	assert_int_equal(ss.webhook_dropped, 4);
	assert_true(slowest < SLOW_CALL_NS);
	an_sinks_free(s); /* with a request in flight: must not wait */
	srv_stop();
}

static void test_refused(void **st)
{
	int script[] = { 200 };
	struct an_alert a;
	struct an_sink_stats ss;
	srv_start(script, 1);
	srv_stop(); /* the port is closed now: connections are refused */
	struct an_sinks *s = make_sinks(RF_NS_PER_SEC, 0, 10);
	base_alert(&a, "DE");
	timed_send(s, &a);
	assert_int_equal(run_until(s, one_failed, 10 * RF_NS_PER_SEC), 0);
	an_sinks_stats(s, &ss);
	assert_int_equal(ss.webhook_failed, 1);
	assert_int_equal(ss.webhook_retries, 0);
	an_sinks_free(s);
}

static void test_redact_and_bad_header(void **st)
{
	char b[256];
	an_webhook_redact("https://user:pw@example.org:8443/path?token=x", b, sizeof b);
	assert_string_equal(b, "https://example.org:8443");
	an_webhook_redact("http://h?q=1", b, sizeof b);
	assert_string_equal(b, "http://h");
	an_webhook_redact("junk", b, sizeof b);
	assert_string_equal(b, "(url)");

	struct an_alerts_conf c;
	char err[256];
	const char *names[] = { "X-Token" };
	const char *values[] = { "abc\r\nInjected: 1" };
	an_alerts_conf_init(&c);
	c.webhook = "http://127.0.0.1:9/x";
	c.nheaders = 1;
	c.header_names = names;
	c.header_values = values;
	assert_null(an_sinks_new(&c, "alerts", err, sizeof err));
	assert_non_null(strstr(err, "webhook.header.X-Token"));
	assert_null(strstr(err, "abc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delivered_with_headers),
		cmocka_unit_test(test_retry_500_then_200),
		cmocka_unit_test(test_404_fails_at_once),
		cmocka_unit_test(test_never_answers),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_redact_and_bad_header),
	};
	log_capture();
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	const char *log = log_release();
	/* failures were logged, without a token from the headers or the URL */
	if (!strstr(log, "not delivered") || !strstr(log, "http://127.0.0.1:")) {
		fprintf(stderr, "FAIL: the log lacks the failure lines\n");
		rc = 1;
	}
	if (strstr(log, "tok123secret") || strstr(log, "urlsecret") || strstr(log, "/hook/path")) {
		fprintf(stderr, "FAIL: the log shows a secret\n");
		rc = 1;
	}
	return rc;
}
