/*
 * kafka_produce_main.c — kafka-produce: stdin lines -> Kafka messages.
 *
 *   kafka-produce -b BROKERS -t TOPIC [-k] [-K COLUMN] [-l LINES_PER_MESSAGE]
 *                 [-P PARTITION] [-r LINES_PER_SEC] [-X key=value ...] [-q]
 *
 * A test and demo tool: feeds generated traffic into a (mock) broker while
 * ringflow consumes it. Every line read is either delivered or counted as
 * failed; nothing is dropped: a full local queue (QUEUE_FULL) makes us serve
 * delivery reports and retry. At EOF (or SIGTERM/SIGINT, which count as EOF)
 * it flushes, waits for every delivery report and prints
 * "produced N lines in M messages" on stderr; the exit status is non-zero if
 * any delivery failed.
 *
 * -l N packs N newline-separated lines into one message (no trailing
 * newline). With -k the key is a CSV column of the line (default 3, the agent
 * in ringflow's timestamp-first sFlow layout), so one agent stays on one
 * partition; with -k and -l > 1 lines are grouped per key, so a message never
 * mixes agents and per-agent order is kept. A partly filled group is sent
 * once its oldest line has waited 100 ms (input paused or -r pacing), so a
 * slow stream is not held back.
 *
 * stdin is read in large chunks (read(2) + poll(2) with a timeout), not line
 * by line; the line copy into librdkafka (RD_KAFKA_MSG_F_COPY) is the only
 * per-message allocation.
 */
#include "common/hash.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (1u << 20)
#define MAX_GROUPS 4096         /* distinct keys batched at once with -k -l */
#define MAX_KEY 64
#define MAX_X 32
#define IDLE_FLUSH_MS 100

struct prod_opts {
	const char *brokers;
	const char *topic;
	int keyed;
	int key_column;         /* 1-based */
	uint32_t lines_per_msg;
	int32_t partition;
	double rate;            /* lines/s, 0 = unlimited */
	int quiet;
	int nx;
	char *x[MAX_X];         /* "key=value" for librdkafka */
};

/* Lines waiting to be packed into one message (one per key with -k). */
struct group {
	char key[MAX_KEY];
	size_t keylen;
	int used;               /* slot taken by this key */
	char *buf;
	size_t len, cap;
	uint32_t lines;
};

struct producer {
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	const struct prod_opts *o;
	struct group *groups;   /* MAX_GROUPS slots, open addressing by key hash */
	uint32_t ngroups;
	/* Written by the delivery report callback, which runs inside
	 * rd_kafka_poll()/rd_kafka_flush() on this thread. */
	uint64_t ok_lines, ok_msgs, bad_lines, bad_msgs;
	uint64_t sent_lines, sent_msgs;
	int64_t oldest_pending_ns; /* when the oldest batched line arrived, 0 = none */
};

static volatile sig_atomic_t got_stop;

static void on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct producer *p = opaque;
	uint64_t lines = (uint64_t)(uintptr_t)m->_private;
	if (m->err) {
		p->bad_lines += lines;
		p->bad_msgs++;
		RF_LOG_RL(RF_LOG_ERROR, "delivery to %s [%d] failed: %s",
			  rd_kafka_topic_name(m->rkt), (int)m->partition, rd_kafka_err2str(m->err));
	} else {
		p->ok_lines += lines;
		p->ok_msgs++;
	}
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	enum rf_log_level l = level <= 3 ? RF_LOG_ERROR : level <= 4 ? RF_LOG_WARN
			    : level <= 6 ? RF_LOG_INFO : RF_LOG_DEBUG;
	rf_log(l, "rdkafka %s: %s", fac, buf);
}

/* Hand one message to librdkafka; on a full local queue serve delivery
 * reports until there is room. Returns 0, or -1 on a permanent error. */
static int send_msg(struct producer *p, const char *payload, size_t len, const char *key,
		    size_t keylen, uint32_t lines)
{
	for (;;) {
		if (rd_kafka_produce(p->rkt, p->o->partition, RD_KAFKA_MSG_F_COPY, (void *)payload, len,
				     keylen ? key : NULL, keylen, (void *)(uintptr_t)lines) == 0) {
			p->sent_lines += lines;
			p->sent_msgs++;
			return 0;
		}
		rd_kafka_resp_err_t e = rd_kafka_last_error();
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			rf_error("rd_kafka_produce(%s, %zu bytes): %s", p->o->topic, len, rd_kafka_err2str(e));
			p->bad_lines += lines;
			p->bad_msgs++;
			return -1;
		}
		rd_kafka_poll(p->rk, 50);
	}
}

static int group_flush(struct producer *p, struct group *g)
{
	if (!g->lines)
		return 0;
	int rc = send_msg(p, g->buf, g->len, g->key, g->keylen, g->lines);
	g->len = 0;
	g->lines = 0;
	return rc;
}

static int flush_all_groups(struct producer *p)
{
	int rc = 0;
	p->oldest_pending_ns = 0;
	for (uint32_t i = 0; i < MAX_GROUPS; i++)
		if (p->groups[i].used && group_flush(p, &p->groups[i]) < 0)
			rc = -1;
	return rc;
}

/* The key column of a CSV line, or an empty key if the line is too short. */
static void line_key(const char *line, size_t len, int column, const char **key, size_t *keylen)
{
	const char *s = line, *end = line + len;
	for (int c = 1; c < column; c++) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		if (!comma) {
			*key = NULL;
			*keylen = 0;
			return;
		}
		s = comma + 1;
	}
	const char *comma = memchr(s, ',', (size_t)(end - s));
	*key = s;
	*keylen = (size_t)((comma ? comma : end) - s);
	if (*keylen > MAX_KEY)
		*keylen = MAX_KEY;
}

static struct group *group_find(struct producer *p, const char *key, size_t keylen)
{
	uint32_t h = (uint32_t)rf_hash64(key, keylen, 0);
	for (uint32_t i = 0; i < MAX_GROUPS; i++) {
		struct group *g = &p->groups[(h + i) % MAX_GROUPS];
		if (!g->used) {
			if (p->ngroups == MAX_GROUPS - 1)
				return NULL; /* keep one slot free so lookups terminate */
			g->used = 1;
			memcpy(g->key, key, keylen);
			g->keylen = keylen;
			p->ngroups++;
			return g;
		}
		if (g->keylen == keylen && memcmp(g->key, key, keylen) == 0)
			return g;
	}
	return NULL;
}

static int group_append(struct group *g, const char *line, size_t len)
{
	size_t need = g->len + len + 1;
	if (need > g->cap) {
		size_t cap = g->cap ? g->cap : 4096;
		while (cap < need)
			cap *= 2;
		char *nb = realloc(g->buf, cap);
		if (!nb)
			return -1;
		g->buf = nb;
		g->cap = cap;
	}
	/* Every line ends with '\n' (not just separated by it): otherwise an
	 * empty last line would vanish, "a\n" reading as the single line "a". */
	memcpy(g->buf + g->len, line, len);
	g->len += len;
	g->buf[g->len++] = '\n';
	g->lines++;
	return 0;
}

static int handle_line(struct producer *p, const char *line, size_t len)
{
	const struct prod_opts *o = p->o;
	const char *key = NULL;
	size_t keylen = 0;
	if (o->keyed)
		line_key(line, len, o->key_column, &key, &keylen);
	if (o->lines_per_msg == 1)
		return send_msg(p, line, len, key, keylen, 1);
	struct group *g = o->keyed ? group_find(p, key ? key : "", keylen) : &p->groups[0];
	if (!g) /* more distinct keys than slots: this line goes alone */
		return send_msg(p, line, len, key, keylen, 1);
	if (!p->oldest_pending_ns)
		p->oldest_pending_ns = rf_mono_ns();
	if (group_append(g, line, len) < 0) {
		rf_error("out of memory batching lines");
		return -1;
	}
	return g->lines >= o->lines_per_msg ? group_flush(p, g) : 0;
}

/* Rate limit: line n (0-based) is not sent before t0 + n / rate. */
static void pace(struct producer *p, int64_t t0, uint64_t n)
{
	int64_t due = t0 + (int64_t)((double)n / p->o->rate * 1e9);
	int64_t now = rf_mono_ns();
	if (due <= now)
		return;
	/* Waiting anyway: send batches that have waited long enough (so a slow
	 * stream is not held back, yet -l still packs lines at modest rates)
	 * and serve delivery reports. */
	while ((now = rf_mono_ns()) < due && !got_stop) {
		if (p->oldest_pending_ns && now - p->oldest_pending_ns >= IDLE_FLUSH_MS * RF_NS_PER_MS)
			flush_all_groups(p);
		int ms = (int)((due - now) / RF_NS_PER_MS);
		if (p->oldest_pending_ns && ms > IDLE_FLUSH_MS)
			ms = IDLE_FLUSH_MS;
		rd_kafka_poll(p->rk, ms > 0 ? ms : 0);
		if (ms == 0) {
			struct timespec d = { 0, (long)(due - now) };
			nanosleep(&d, NULL);
		}
	}
}

static int run(struct producer *p)
{
	size_t cap = READ_CHUNK, len = 0;
	char *buf = malloc(cap);
	int rc = 0, eof = 0;
	uint64_t nlines = 0;
	int64_t t0 = rf_mono_ns();
	if (!buf) {
		rf_error("out of memory");
		return -1;
	}
	while (!eof && !got_stop) {
		struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
		int pr = poll(&pfd, 1, IDLE_FLUSH_MS);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			rf_error("poll(stdin): %s", strerror(errno));
			rc = -1;
			break;
		}
		if (pr == 0) {
			/* Input paused: do not sit on half-filled messages. */
			if (flush_all_groups(p) < 0)
				rc = -1;
			rd_kafka_poll(p->rk, 0);
			continue;
		}
		if (len == cap) {
			/* One line longer than the buffer: grow (rare, not per line). */
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				rf_error("out of memory for a %zu byte line", cap);
				rc = -1;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rf_error("read(stdin): %s", strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0)
			eof = 1;
		len += (size_t)n;
		size_t start = 0;
		for (;;) {
			char *nl = memchr(buf + start, '\n', len - start);
			if (!nl)
				break;
			if (p->o->rate > 0)
				pace(p, t0, nlines);
			if (handle_line(p, buf + start, (size_t)(nl - buf - start)) < 0)
				rc = -1;
			nlines++;
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
		if (eof && len > 0) {
			/* Last line without a newline is still a line. */
			if (handle_line(p, buf, len) < 0)
				rc = -1;
			len = 0;
		}
		rd_kafka_poll(p->rk, 0);
	}
	free(buf);
	if (flush_all_groups(p) < 0)
		rc = -1;
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kafka-produce -b BROKERS -t TOPIC [-k] [-K COLUMN(3)] [-l LINES_PER_MESSAGE(1)]\n"
		   "                     [-P PARTITION(-1)] [-r LINES_PER_SEC(0)] [-X key=value ...] [-q]\n"
		   "  -k  key = CSV column COLUMN (1-based; 3 = agent in the timestamp-first sFlow layout)\n"
		   "  -X  any librdkafka producer property, e.g. -X compression.codec=lz4\n"
		   "  -q  no summary line\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct prod_opts *o, char *err, size_t errlen)
{
	int c;
	long v;
	memset(o, 0, sizeof *o);
	o->key_column = 3;
	o->lines_per_msg = 1;
	o->partition = RD_KAFKA_PARTITION_UA;
	while ((c = getopt(argc, argv, "b:t:kK:l:P:r:X:qh")) != -1) {
		switch (c) {
		case 'b': o->brokers = optarg; break;
		case 't': o->topic = optarg; break;
		case 'k': o->keyed = 1; break;
		case 'K':
			if (parse_long(optarg, 1, 1000, &v) < 0) {
				snprintf(err, errlen, "-K '%s': column must be 1..1000", optarg);
				return -1;
			}
			o->key_column = (int)v;
			break;
		case 'l':
			if (parse_long(optarg, 1, 1000000, &v) < 0) {
				snprintf(err, errlen, "-l '%s': lines per message must be 1..1000000", optarg);
				return -1;
			}
			o->lines_per_msg = (uint32_t)v;
			break;
		case 'P':
			if (parse_long(optarg, -1, 1000000, &v) < 0) {
				snprintf(err, errlen, "-P '%s': partition must be -1 or >= 0", optarg);
				return -1;
			}
			o->partition = (int32_t)v;
			break;
		case 'r': {
			char *end;
			errno = 0;
			o->rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->rate >= 0 && o->rate <= 1e9)) {
				snprintf(err, errlen, "-r '%s': rate must be 0..1e9 lines/s", optarg);
				return -1;
			}
			break;
		}
		case 'X':
			if (o->nx == MAX_X || !strchr(optarg, '=')) {
				snprintf(err, errlen, "-X '%s': expected key=value (at most %d)", optarg, MAX_X);
				return -1;
			}
			o->x[o->nx++] = optarg;
			break;
		case 'q': o->quiet = 1; break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			snprintf(err, errlen, "bad option");
			return -1;
		}
	}
	if (!o->brokers || !o->topic) {
		snprintf(err, errlen, "-b BROKERS and -t TOPIC are required");
		return -1;
	}
	if (optind != argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, char *err, size_t errlen)
{
	char why[256];
	if (rd_kafka_conf_set(conf, key, val, why, sizeof why) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "%s=%s: %s", key, val, why);
		return -1;
	}
	return 0;
}

/* Throughput-friendly defaults; every one can be overridden with -X. */
static rd_kafka_conf_t *make_conf(const struct prod_opts *o, struct producer *p, char *err, size_t errlen)
{
	static const char *defaults[][2] = {
		{ "linger.ms", "10" },
		{ "batch.num.messages", "10000" },
		{ "batch.size", "1000000" },
		{ "queue.buffering.max.messages", "500000" },
		{ "queue.buffering.max.kbytes", "262144" },
		{ "message.timeout.ms", "30000" },
		/* Retries must not reorder or duplicate: a test counts lines. */
		{ "enable.idempotence", "true" },
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (conf_set(conf, "bootstrap.servers", o->brokers, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		if (conf_set(conf, defaults[i][0], defaults[i][1], err, errlen) < 0)
			goto fail;
	for (int i = 0; i < o->nx; i++) {
		char kv[512];
		snprintf(kv, sizeof kv, "%s", o->x[i]);
		char *eq = strchr(kv, '=');
		*eq = '\0';
		if (conf_set(conf, kv, eq + 1, err, errlen) < 0)
			goto fail;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_opaque(conf, p);
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* Wait until librdkafka has a delivery report for every message; each one
 * ends within message.timeout.ms, so this terminates. */
static void drain(struct producer *p)
{
	int64_t last_log = rf_mono_ns();
	while (rd_kafka_outq_len(p->rk) > 0) {
		rd_kafka_flush(p->rk, 1000);
		if (rf_mono_ns() - last_log > 5 * RF_NS_PER_SEC) {
			rf_info("waiting for %d deliveries", rd_kafka_outq_len(p->rk));
			last_log = rf_mono_ns();
		}
	}
}

int main(int argc, char **argv)
{
	struct prod_opts o;
	struct producer p;
	char err[1024];
	int rc = 1;

	rf_log_set_role("kafka-produce");
	if (parse_args(argc, argv, &o, err, sizeof err) < 0) {
		rf_error("%s", err);
		usage(stderr);
		return 2;
	}
	memset(&p, 0, sizeof p);
	p.o = &o;
	p.groups = calloc(MAX_GROUPS, sizeof *p.groups);
	if (!p.groups) {
		rf_error("out of memory");
		return 1;
	}
	if (!o.keyed)
		p.groups[0].used = 1;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop; /* no SA_RESTART: poll/read return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	rd_kafka_conf_t *conf = make_conf(&o, &p, err, sizeof err);
	if (!conf) {
		rf_error("config: %s", err);
		rc = 2;
		goto out;
	}
	p.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
	if (!p.rk) {
		rd_kafka_conf_destroy(conf);
		rf_error("rd_kafka_new: %s", err);
		goto out;
	}
	p.rkt = rd_kafka_topic_new(p.rk, o.topic, NULL);
	if (!p.rkt) {
		rf_error("rd_kafka_topic_new(%s): %s", o.topic, rd_kafka_err2str(rd_kafka_last_error()));
		goto out;
	}
	int run_rc = run(&p);
	drain(&p);
	if (!o.quiet || p.bad_lines)
		rf_info("produced %llu lines in %llu messages", (unsigned long long)p.ok_lines,
			(unsigned long long)p.ok_msgs);
	if (p.bad_lines)
		rf_error("%llu lines in %llu messages FAILED", (unsigned long long)p.bad_lines,
			 (unsigned long long)p.bad_msgs);
	rc = run_rc == 0 && p.bad_lines == 0 && p.ok_lines == p.sent_lines ? 0 : 1;
out:
	if (p.rkt)
		rd_kafka_topic_destroy(p.rkt);
	if (p.rk)
		rd_kafka_destroy(p.rk);
	for (uint32_t i = 0; i < MAX_GROUPS; i++)
		free(p.groups[i].buf);
	free(p.groups);
	return rc;
}
