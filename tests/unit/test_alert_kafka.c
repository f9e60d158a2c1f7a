/*
 * test_alert_kafka.c — the Kafka alert sink against librdkafka's mock
 * cluster (rdkafka_mock.h, hosted by a producer-less rd_kafka_t of this
 * test), read back with a consumer: the value is the alert's JSON, the key
 * the series identity, one series stays in one partition and in order; a
 * webhook that never answers does not hold Kafka back; a
 * refused kafka.* key fails an_sinks_new naming the key only; with no
 * broker listening, send and service stay fast and the exit flush is
 * bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "analyze/alert.h"
#include "analyze/alert_sinks.h"
#include "common/timeutil.h"

#define PARTITIONS 4
#define SLOW_CALL_NS (1000LL * 1000000)

static void base_alert(struct an_alert *a, const char *country, int severity)
{
	memset(a, 0, sizeof *a);
	a->time_ns = 1700000000000000000LL; /* 2023-11-14T22:13:20Z */
	a->analyzer = "spikes";
	a->rule = "by_country";
	a->field = "bytes";
	a->message = "m";
	a->severity = severity;
	a->ntags = 1;
	a->tag_keys[0] = "src_country";
	a->tag_values[0] = country;
	a->value = 5;
	a->expected = 1;
	a->lower = 0.5;
	a->upper = 1.5;
	a->score = 8;
}

/* The JSON of base_alert(country, severity), written out by hand. */
static void want_json(char *buf, size_t cap, const char *country, const char *sev)
{
	snprintf(buf, cap,
		 "{\"time\":\"2023-11-14T22:13:20Z\",\"analyzer\":\"spikes\",\"rule\":\"by_country\","
		 "\"tags\":{\"src_country\":\"%s\"},\"field\":\"bytes\",\"value\":5,\"expected\":1,"
		 "\"lower\":0.5,\"upper\":1.5,\"score\":8,\"severity\":\"%s\",\"message\":\"m\"}",
		 country, sev);
}

struct got {
	int n;
	int partition[16];
	char key[16][128];
	char value[16][1024];
};

static void consume_all(const char *boot, const char *topic, int want, struct got *g)
{
	char err[512];
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	assert_int_equal(rd_kafka_conf_set(kc, "bootstrap.servers", boot, err, sizeof err), RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(kc, "group.id", "test-alert-kafka", err, sizeof err), RD_KAFKA_CONF_OK);
	rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof err);
	assert_non_null(c);
	rd_kafka_poll_set_consumer(c);
	/* assign, not subscribe: no group join (≈3 s on the mock) */
	rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(PARTITIONS);
	for (int p = 0; p < PARTITIONS; p++)
		rd_kafka_topic_partition_list_add(tl, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(c, tl), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(tl);
	memset(g, 0, sizeof *g);
	int64_t deadline = rf_mono_ns() + 20 * RF_NS_PER_SEC;
	while (g->n < want && rf_mono_ns() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
		if (!m)
			continue;
		if (!m->err && g->n < 16) {
			g->partition[g->n] = m->partition;
			snprintf(g->key[g->n], sizeof g->key[0], "%.*s", (int)m->key_len, (const char *)m->key);
			snprintf(g->value[g->n], sizeof g->value[0], "%.*s", (int)m->len, (const char *)m->payload);
			g->n++;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
}

static void test_mock_cluster(void **st)
{
	char err[512];
	rd_kafka_conf_t *mconf = rd_kafka_conf_new();
	rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof err);
	assert_non_null(mrk);
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
	assert_non_null(mc);
	assert_int_equal(rd_kafka_mock_topic_create(mc, "alerts", PARTITIONS, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
	const char *boot = rd_kafka_mock_cluster_bootstraps(mc);

	struct an_alerts_conf c;
	const char *keys[] = { "brokers", "message.timeout.ms" };
	const char *values[] = { boot, "10000" };
	an_alerts_conf_init(&c);
	c.kafka_topic = "alerts";
	c.nkafka = 2;
	c.kafka_keys = keys;
	c.kafka_values = values;
	struct an_sinks *s = an_sinks_new(&c, "alerts", err, sizeof err);
	if (!s)
		fail_msg("an_sinks_new: %s", err);

	/* series DE three times (warning, critical, ok), FR and US once each */
	static const struct {
		const char *country;
		int sev;
		const char *name;
	} seq[] = {
		{ "DE", DET_WARNING, "warning" }, { "FR", DET_CRITICAL, "critical" }, { "DE", DET_CRITICAL, "critical" },
		{ "US", DET_INFO, "info" },       { "DE", DET_OK, "ok" },
	};
	const int n = (int)(sizeof seq / sizeof seq[0]);
	struct an_alert a;
	int64_t slowest = 0;
	for (int i = 0; i < n; i++) {
		base_alert(&a, seq[i].country, seq[i].sev);
		int64_t t0 = rf_mono_ns();
		an_sinks_send(s, &a);
		an_sinks_service(s, rf_mono_ns());
		if (rf_mono_ns() - t0 > slowest)
			slowest = rf_mono_ns() - t0;
	}
	assert_true(slowest < SLOW_CALL_NS);
	assert_int_equal(an_sinks_flush(s, 15 * RF_NS_PER_SEC), 0);
	struct an_sink_stats ss;
	an_sinks_stats(s, &ss);
	assert_int_equal(ss.kafka_sent, n);
	assert_int_equal(ss.kafka_failed, 0);
	an_sinks_free(s);

	struct got g;
	consume_all(boot, "alerts", n, &g);
	assert_int_equal(g.n, n);
	/* Every message is one of the expected ones, each exactly once; DE's
	 * three share a partition and come in the order sent. */
	int used[8] = { 0 };
	int de_part = -1, de_next = 0;
	const int de_order[] = { 0, 2, 4 };
	for (int i = 0; i < g.n; i++) {
		int found = -1;
		for (int j = 0; j < n && found < 0; j++) {
			char want[1024], key[128];
			want_json(want, sizeof want, seq[j].country, seq[j].name);
			snprintf(key, sizeof key, "spikes,by_country,bytes,src_country=%s", seq[j].country);
			if (!used[j] && !strcmp(g.value[i], want) && !strcmp(g.key[i], key))
				found = j;
		}
		if (found < 0)
			fail_msg("unexpected message key=%s value=%s", g.key[i], g.value[i]);
		used[found] = 1;
		if (!strcmp(seq[found].country, "DE")) {
			if (de_part < 0)
				de_part = g.partition[i];
			assert_int_equal(g.partition[i], de_part);
			assert_int_equal(found, de_order[de_next]);
			de_next++;
		}
	}
	assert_int_equal(de_next, 3);

	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(mrk);
}

/* A webhook whose receiver accepts connections (the kernel's backlog
 * does) and never answers does not hold back the Kafka sink. */
static void test_dead_webhook_does_not_hold_kafka(void **st)
{
	char err[512], url[128];
	rd_kafka_conf_t *mconf = rd_kafka_conf_new();
	rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof err);
	assert_non_null(mrk);
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
	assert_non_null(mc);
	assert_int_equal(rd_kafka_mock_topic_create(mc, "alerts2", PARTITIONS, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
	const char *boot = rd_kafka_mock_cluster_bootstraps(mc);

	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(sa.sin_port));

	struct an_alerts_conf c;
	const char *keys[] = { "brokers" };
	const char *values[] = { boot };
	an_alerts_conf_init(&c);
	c.kafka_topic = "alerts2";
	c.nkafka = 1;
	c.kafka_keys = keys;
	c.kafka_values = values;
	c.webhook = url;
	c.webhook_timeout_ns = 10 * RF_NS_PER_SEC;
	struct an_sinks *s = an_sinks_new(&c, "alerts", err, sizeof err);
	if (!s)
		fail_msg("an_sinks_new: %s", err);
	struct an_alert a;
	const char *countries[] = { "DE", "FR", "US" };
	int64_t slowest = 0;
	for (int i = 0; i < 3; i++) {
		base_alert(&a, countries[i], DET_WARNING);
		int64_t t = rf_mono_ns();
		an_sinks_send(s, &a);
		an_sinks_service(s, rf_mono_ns());
		if (rf_mono_ns() - t > slowest)
			slowest = rf_mono_ns() - t;
	}
	/* the host loop: service every few ms until Kafka has delivered */
	struct an_sink_stats ss;
	int64_t deadline = rf_mono_ns() + 15 * RF_NS_PER_SEC;
	do {
		int64_t t = rf_mono_ns();
		an_sinks_service(s, t);
		if (rf_mono_ns() - t > slowest)
			slowest = rf_mono_ns() - t;
		an_sinks_stats(s, &ss);
		usleep(5000);
	} while (ss.kafka_sent < 3 && rf_mono_ns() < deadline);
	assert_int_equal(ss.kafka_sent, 3);
	assert_int_equal(ss.webhook_sent + ss.webhook_failed, 0); /* still waiting for its answer */
	assert_true(slowest < SLOW_CALL_NS);
	an_sinks_free(s);
	close(lfd);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(mrk);
}

static void test_bad_key(void **st)
{
	struct an_alerts_conf c;
	char err[512];
	const char *keys[] = { "no.such.property" };
	const char *values[] = { "hunter2" };
	an_alerts_conf_init(&c);
	c.kafka_topic = "alerts";
	c.nkafka = 1;
	c.kafka_keys = keys;
	c.kafka_values = values;
	assert_null(an_sinks_new(&c, "alerts", err, sizeof err));
	assert_non_null(strstr(err, "kafka.no.such.property"));
	assert_null(strstr(err, "hunter2"));
}

static void test_broker_down(void **st)
{
	struct an_alerts_conf c;
	char err[512];
	/* port 1 on loopback: nobody listens, connections are refused */
	const char *keys[] = { "brokers" };
	const char *values[] = { "127.0.0.1:1" };
	an_alerts_conf_init(&c);
	c.kafka_topic = "alerts";
	c.nkafka = 1;
	c.kafka_keys = keys;
	c.kafka_values = values;
	c.log = 1;
	struct an_sinks *s = an_sinks_new(&c, "alerts", err, sizeof err);
	if (!s)
		fail_msg("an_sinks_new: %s", err);
	struct an_alert a;
	int64_t t0 = rf_mono_ns(), slowest = 0;
	for (int i = 0; i < 50; i++) {
		base_alert(&a, "DE", i % 2 ? DET_WARNING : DET_CRITICAL);
		int64_t t = rf_mono_ns();
		an_sinks_send(s, &a);
		an_sinks_service(s, rf_mono_ns());
		if (rf_mono_ns() - t > slowest)
			slowest = rf_mono_ns() - t;
	}
	assert_true(slowest < SLOW_CALL_NS);
	t0 = rf_mono_ns();
	assert_int_equal(an_sinks_flush(s, 200 * RF_NS_PER_MS), 50);
	assert_true(rf_mono_ns() - t0 < SLOW_CALL_NS);
	struct an_sink_stats ss;
	an_sinks_stats(s, &ss);
	assert_int_equal(ss.kafka_sent, 0);
	assert_int_equal(ss.log, 50);
	an_sinks_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mock_cluster),
		cmocka_unit_test(test_dead_webhook_does_not_hold_kafka),
		cmocka_unit_test(test_bad_key),
		cmocka_unit_test(test_broker_down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
