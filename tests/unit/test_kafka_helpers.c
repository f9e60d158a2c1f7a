/*
 * test_kafka_helpers.c — the Kafka test fixtures work end to end.
 *
 * Runs the real binaries (kafka-mock, kafka-produce, gen-sflow from $BIN,
 * default build/bin) and a real librdkafka consumer group in this process:
 *  - gen-sflow is deterministic and writes the documented 21-column layout;
 *  - lines produced with kafka-produce (-k, -l 10) come back complete and
 *    unchanged through a consumer group with a rebalance callback;
 *  - each agent stays on one partition with -k;
 *  - committed offsets are resumed: a second consumer in the same group
 *    sees only lines produced after the commit.
 * Expected values come from reading the generator's output here, not from
 * the tools under test. Takes a few seconds.
 */
#include <librdkafka/rdkafka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/hash.h"

#define TOPIC "flows"
#define PARTITIONS 4
#define N_LINES 100000
#define N_MORE 1000

static char bin[512];
static char dir[256];
static char brokers[512];
static pid_t mock_pid = -1;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Order-independent digest of a multiset of lines: sum of per-line hashes. */
struct digest {
	uint64_t n;
	uint64_t sum;
};

static void digest_add(struct digest *d, const char *line, size_t len)
{
	d->n++;
	d->sum += rf_hash64(line, len, 42);
}

/* Runs a shell pipeline; returns its exit status or -1. */
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Checks one FLOW line against the sflowtool formats; 0 if fine. */
static int check_flow_line(char *line)
{
	char *f[32];
	int n = 0;
	for (char *tok = strtok(line, ","); tok && n < 32; tok = strtok(NULL, ","))
		f[n++] = tok;
	if (n != 21 || strcmp(f[1], "FLOW") != 0)
		return -1;
	unsigned char buf[16];
	if (inet_pton(AF_INET, f[2], buf) != 1)
		return -2;
	if (strlen(f[5]) != 12 || !is_hex(f[5], 12) || strlen(f[6]) != 12 || !is_hex(f[6], 12))
		return -3;
	if (strcmp(f[7], "0x0800") != 0 && strcmp(f[7], "0x86dd") != 0)
		return -4;
	int v6 = strcmp(f[7], "0x86dd") == 0;
	for (int i = 10; i <= 11; i++) {
		if (inet_pton(v6 ? AF_INET6 : AF_INET, f[i], buf) != 1)
			return -5;
		/* sflowtool's IPv6: eight groups of four digits. */
		if (v6 && strlen(f[i]) != 39)
			return -6;
	}
	if (strncmp(f[13], "0x", 2) || strlen(f[13]) != 4 || strncmp(f[17], "0x", 2) || strlen(f[17]) != 4)
		return -7;
	long pkt = strtol(f[18], NULL, 10), ipsz = strtol(f[19], NULL, 10);
	if (pkt < 64 || pkt > 1518 || ipsz != pkt - 18 || strtol(f[20], NULL, 10) <= 0)
		return -8;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	const char *b = getenv("BIN");
	snprintf(bin, sizeof bin, "%s", b && *b ? b : "build/bin");
	snprintf(dir, sizeof dir, "/tmp/test_kafka_helpers.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	char portfile[300];
	snprintf(portfile, sizeof portfile, "%s/port", dir);
	char topic[64];
	snprintf(topic, sizeof topic, "%s:%d", TOPIC, PARTITIONS);
	char exe[600];
	snprintf(exe, sizeof exe, "%s/kafka-mock", bin);
	mock_pid = fork();
	if (mock_pid < 0)
		return -1;
	if (mock_pid == 0) {
		execl(exe, "kafka-mock", "-t", topic, "-p", portfile, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	/* Poll for the port file (written atomically) with a deadline. */
	int64_t deadline = mono_ms() + 10000;
	while (mono_ms() < deadline) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			int ok = fgets(brokers, sizeof brokers, f) != NULL;
			fclose(f);
			if (ok) {
				brokers[strcspn(brokers, "\n")] = '\0';
				return 0;
			}
		}
		if (waitpid(mock_pid, NULL, WNOHANG) == mock_pid) {
			mock_pid = -1;
			return -1;
		}
		struct timespec d = { 0, 20 * 1000000L };
		nanosleep(&d, NULL);
	}
	return -1;
}

static int teardown(void **state)
{
	(void)state;
	if (mock_pid > 0) {
		kill(mock_pid, SIGTERM);
		int st;
		waitpid(mock_pid, &st, 0);
		mock_pid = -1;
	}
	sh("rm -rf '%s'", dir);
	return 0;
}

/* Digest (and optionally format check) of a file of lines. */
static struct digest digest_file(const char *path, int check, int *bad)
{
	struct digest d = { 0, 0 };
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	*bad = 0;
	if (!f)
		return d;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		digest_add(&d, line, (size_t)n);
		if (check && strncmp(line + 11, "FLOW", 4) == 0) {
			line[n] = '\0';
			if (check_flow_line(line) != 0)
				(*bad)++;
		}
	}
	free(line);
	fclose(f);
	return d;
}

static void test_generator_deterministic_and_well_formed(void **state)
{
	(void)state;
	const char *args = "--seed 7 --records 20000 --start 1700000000 --ipv6-share 0.3 --counters 10";
	assert_int_equal(sh("'%s/gen-sflow' %s > '%s/g1.csv'", bin, args, dir), 0);
	assert_int_equal(sh("'%s/gen-sflow' %s > '%s/g2.csv'", bin, args, dir), 0);
	assert_int_equal(sh("cmp -s '%s/g1.csv' '%s/g2.csv'", dir, dir), 0);
	assert_int_not_equal(sh("'%s/gen-sflow' --seed 8 --records 20000 --start 1700000000 | cmp -s - '%s/g1.csv'",
				bin, dir), 0);
	char path[300];
	snprintf(path, sizeof path, "%s/g1.csv", dir);
	int bad;
	struct digest d = digest_file(path, 1, &bad);
	assert_int_equal(d.n, 20000);
	assert_int_equal(bad, 0);
	/* 20000 records at 1000/s = 20 s: CNTR lines at +10 s for 4 agents,
	 * +20 s is the very end (may or may not fit). */
	assert_int_equal(sh("test $(grep -c ',CNTR,' '%s') -ge 4", path), 0);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
		rd_kafka_assign(rk, parts);
	else
		rd_kafka_assign(rk, NULL);
}

/* Consume `want` lines with a group consumer; fills digest and the
 * agent->partition map check. Commits and closes. Returns lines seen. */
static uint64_t consume_group(const char *group, uint64_t want, struct digest *d, int *agent_split)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err), RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(conf, "group.id", group, err, sizeof err), RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err), RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err), RD_KAFKA_CONF_OK);
	/* The mock coordinator of librdkafka 2.0.2 lets a new member in only
	 * after the previous member's session has expired (see
	 * docs/TESTING-KAFKA.md), so keep the session short. */
	assert_int_equal(rd_kafka_conf_set(conf, "session.timeout.ms", "6000", err, sizeof err), RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(conf, "heartbeat.interval.ms", "500", err, sizeof err), RD_KAFKA_CONF_OK);
	rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
	assert_non_null(rk);
	rd_kafka_poll_set_consumer(rk);
	rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, TOPIC, RD_KAFKA_PARTITION_UA);
	assert_int_equal(rd_kafka_subscribe(rk, topics), 0);
	rd_kafka_topic_partition_list_destroy(topics);

	/* agent (last octets) -> partition seen first; -1 unknown */
	int part_of[65536];
	memset(part_of, 0xff, sizeof part_of);
	uint64_t got = 0;
	int64_t deadline = mono_ms() + 20000;
	while (got < want && mono_ms() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
		if (!m)
			continue;
		if (!m->err) {
			const char *p = m->payload, *end = p + m->len;
			while (p < end) {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				const char *le = nl ? nl : end;
				digest_add(d, p, (size_t)(le - p));
				unsigned a, b2, c, e;
				/* agent is the third column: "ts,FLOW,10.0.x.y,..." */
				const char *ag = memchr(p, ',', (size_t)(le - p));
				ag = ag ? memchr(ag + 1, ',', (size_t)(le - ag - 1)) : NULL;
				if (ag && sscanf(ag + 1, "%u.%u.%u.%u", &a, &b2, &c, &e) == 4) {
					unsigned k = (c << 8 | e) & 0xffff;
					if (part_of[k] == -1)
						part_of[k] = m->partition;
					else if (part_of[k] != m->partition)
						(*agent_split)++;
				}
				got++;
				p = le + 1;
			}
		}
		rd_kafka_message_destroy(m);
	}
	assert_int_equal(rd_kafka_commit(rk, NULL, 0), 0);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return got;
}

static void test_produce_consume_resume(void **state)
{
	(void)state;
	char in[300], more[300];
	snprintf(in, sizeof in, "%s/in.csv", dir);
	snprintf(more, sizeof more, "%s/more.csv", dir);
	assert_int_equal(sh("'%s/gen-sflow' --seed 11 --records %d --agents 16 --junk 0.01 --start 1700000000 > '%s'",
			    bin, N_LINES, in), 0);
	int bad;
	struct digest want = digest_file(in, 0, &bad);
	assert_int_equal(want.n, N_LINES);

	/* lz4 keeps all 100k lines well inside the mock's 5 MiB per partition. */
	int64_t t0 = mono_ms();
	assert_int_equal(sh("'%s/kafka-produce' -q -b '%s' -t %s -k -l 10 -X compression.codec=lz4 < '%s'",
			    bin, brokers, TOPIC, in), 0);
	int64_t t1 = mono_ms();

	struct digest got = { 0, 0 };
	int split = 0;
	uint64_t n = consume_group("tkh", N_LINES, &got, &split);
	int64_t t2 = mono_ms();
	print_message("produce %d lines: %lld ms; group consume: %lld ms\n", N_LINES,
		      (long long)(t1 - t0), (long long)(t2 - t1));
	assert_int_equal(n, N_LINES);
	assert_int_equal(got.n, want.n);
	assert_true(got.sum == want.sum);
	assert_int_equal(split, 0);

	/* Resume: only lines produced after the commit reach the same group. */
	assert_int_equal(sh("'%s/gen-sflow' --seed 12 --records %d --start 1700000500 > '%s'", bin, N_MORE, more), 0);
	struct digest want2 = digest_file(more, 0, &bad);
	assert_int_equal(sh("'%s/kafka-produce' -q -b '%s' -t %s -l 7 < '%s'", bin, brokers, TOPIC, more), 0);
	struct digest got2 = { 0, 0 };
	split = 0;
	t0 = mono_ms();
	/* Re-delivered old lines would be counted first and break the digest. */
	n = consume_group("tkh", N_MORE, &got2, &split);
	print_message("rejoin and consume %d lines: %lld ms\n", N_MORE, (long long)(mono_ms() - t0));
	assert_int_equal(n, N_MORE);
	assert_true(got2.sum == want2.sum);
}

static void test_produce_rejects_bad_usage(void **state)
{
	(void)state;
	assert_int_equal(sh("'%s/kafka-produce' -t x < /dev/null 2>/dev/null", bin), 2);
	assert_int_equal(sh("'%s/kafka-produce' -b '%s' -t x -l 0 < /dev/null 2>/dev/null", bin, brokers), 2);
	assert_int_equal(sh("'%s/gen-sflow' --burst-country XX --records 1 >/dev/null 2>&1", bin), 2);
	assert_int_equal(sh("'%s/gen-sflow' --rate -5 >/dev/null 2>&1", bin), 2);
	assert_int_equal(sh("'%s/kafka-mock' -t :3 >/dev/null 2>&1", bin), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generator_deterministic_and_well_formed),
		cmocka_unit_test(test_produce_consume_resume),
		cmocka_unit_test(test_produce_rejects_bad_usage),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
