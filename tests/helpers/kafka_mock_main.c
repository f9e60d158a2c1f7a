/*
 * kafka_mock_main.c — kafka-mock: a Kafka cluster for tests, in one process.
 *
 * Debian ships no Kafka broker, but librdkafka carries a mock cluster that
 * speaks the wire protocol on loopback TCP (rdkafka_mock.h). This program hosts
 * one, creates the requested topics, announces the bootstrap list and then
 * just waits for signals; the cluster lives in librdkafka's own threads.
 *
 *   kafka-mock [-b BROKERS] [-t TOPIC:PARTITIONS ...] [-L TOPIC:PARTITIONS ...]
 *              [-c CREATEDFILE] [-p PORTFILE]
 *
 * stdout gets exactly one line, the bootstrap list; everything else goes to
 * stderr. PORTFILE is written to a temporary name and renamed so a reader
 * polling for it never sees half a line.
 *
 * Late topics (-L), for tests that start a consumer before its topic
 * exists: they are created only when SIGHUP arrives, all of them at once.
 * rd_kafka_mock_topic_create returns once the mock's own thread has the
 * topic, so the cluster serves it from then on; after that CREATEDFILE
 * (temp file + rename, like PORTFILE) gets one line per late topic,
 * "created NAME PARTITIONS" or "failed NAME PARTITIONS: REASON". A topic
 * already created is not created again by a later SIGHUP. The mock cannot
 * add partitions to a topic that exists: -t T:2 -L T:4 reports "failed ...
 * Topic already exists" (that is how docs/TESTING-KAFKA.md measured it).
 *
 * Signals: SIGTERM/SIGINT stop (exit 0); SIGUSR1 takes every broker down
 * (connections dropped, new ones refused), SIGUSR2 brings them back, for fault
 * tests; SIGHUP creates the late topics. All signals are blocked in every thread and taken only by the main
 * thread inside sigsuspend(), so librdkafka's threads never run a handler and
 * there is no check-then-sleep race. The process dies with its parent
 * (PR_SET_PDEATHSIG) so a crashed test never leaves a broker behind.
 *
 * Limits of the mock (librdkafka 2.0.2), measured and written up in
 * docs/TESTING-KAFKA.md: each partition keeps at most 5 MiB of message sets
 * (and at most 100000 of them), the oldest sets are discarded beyond that.
 */
#include "common/log.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define MAX_TOPICS 64
#define MAX_BROKERS 16

struct mock_topic {
	char name[250];
	int partitions;
	int created;        /* late topics: a SIGHUP created it */
};

struct mock_opts {
	int brokers;
	int ntopics;
	struct mock_topic topics[MAX_TOPICS];
	int nlate;
	struct mock_topic late[MAX_TOPICS];   /* -L: created on SIGHUP */
	const char *createdfile;
	const char *portfile;
};

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_down;
static volatile sig_atomic_t got_up;
static volatile sig_atomic_t got_hup;

static void on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_stop = 1;
	else if (sig == SIGUSR1)
		got_down = 1;
	else if (sig == SIGUSR2)
		got_up = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kafka-mock [-b BROKERS(1)] [-t TOPIC:PARTITIONS ...] [-L TOPIC:PARTITIONS ...]\n"
		   "                  [-c CREATEDFILE] [-p PORTFILE]\n"
		   "  prints the bootstrap servers on stdout, runs until SIGTERM/SIGINT;\n"
		   "  SIGUSR1 = all brokers down, SIGUSR2 = all brokers up;\n"
		   "  SIGHUP = create the -L topics, then write CREATEDFILE\n");
}

/* "name:N" -> topic. Returns 0, or -1 with a reason in err. */
static int parse_topic(const char *arg, struct mock_topic *t, char *err, size_t errlen)
{
	const char *colon = strrchr(arg, ':');
	size_t nlen = colon ? (size_t)(colon - arg) : strlen(arg);
	if (nlen == 0 || nlen >= sizeof t->name) {
		snprintf(err, errlen, "topic '%s': name empty or longer than %zu", arg,
			 sizeof t->name - 1);
		return -1;
	}
	memcpy(t->name, arg, nlen);
	t->name[nlen] = '\0';
	t->partitions = 1;
	if (colon) {
		char *end;
		errno = 0;
		long n = strtol(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || n < 1 || n > 10000) {
			snprintf(err, errlen, "topic '%s': partitions must be 1..10000", arg);
			return -1;
		}
		t->partitions = (int)n;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct mock_opts *o, char *err, size_t errlen)
{
	int c;
	memset(o, 0, sizeof *o);
	o->brokers = 1;
	while ((c = getopt(argc, argv, "b:t:L:c:p:h")) != -1) {
		switch (c) {
		case 'b': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (end == optarg || *end || n < 1 || n > MAX_BROKERS) {
				snprintf(err, errlen, "-b: broker count must be 1..%d", MAX_BROKERS);
				return -1;
			}
			o->brokers = (int)n;
			break;
		}
		case 't':
			if (o->ntopics == MAX_TOPICS) {
				snprintf(err, errlen, "-t: at most %d topics", MAX_TOPICS);
				return -1;
			}
			if (parse_topic(optarg, &o->topics[o->ntopics], err, errlen) < 0)
				return -1;
			o->ntopics++;
			break;
		case 'L':
			if (o->nlate == MAX_TOPICS) {
				snprintf(err, errlen, "-L: at most %d late topics", MAX_TOPICS);
				return -1;
			}
			if (parse_topic(optarg, &o->late[o->nlate], err, errlen) < 0)
				return -1;
			o->nlate++;
			break;
		case 'c':
			o->createdfile = optarg;
			break;
		case 'p':
			o->portfile = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			snprintf(err, errlen, "bad option");
			return -1;
		}
	}
	if (optind != argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (o->createdfile && o->nlate == 0) {
		snprintf(err, errlen, "-c without any -L topic");
		return -1;
	}
	return 0;
}

/* Write "text\n" to path atomically: temp file in the same directory, rename. */
static int write_file_atomic(const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof tmp) {
		snprintf(err, errlen, "path too long: %s", path);
		return -1;
	}
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, errlen, "fopen(%s): %s", tmp, strerror(errno));
		return -1;
	}
	int bad = fprintf(f, "%s\n", text) < 0;
	bad |= fflush(f) != 0;
	bad |= fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (bad) {
		snprintf(err, errlen, "write(%s): %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "rename(%s, %s): %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* librdkafka logs through rf_log so every line carries our prefix, on stderr. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	/* We host a cluster, we do not connect to one: that warning is noise. */
	if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers"))
		return;
	enum rf_log_level l = level <= 3 ? RF_LOG_ERROR : level <= 4 ? RF_LOG_WARN
			    : level <= 6 ? RF_LOG_INFO : RF_LOG_DEBUG;
	rf_log(l, "rdkafka %s: %s", fac, buf);
}

/* SIGHUP: creates every late topic not created yet, then reports each one
 * (created or failed, with the reason) in o->createdfile. Main thread. */
static void create_late(rd_kafka_mock_cluster_t *mc, struct mock_opts *o)
{
	char report[MAX_TOPICS * 320] = "";
	size_t used = 0;
	for (int i = 0; i < o->nlate; i++) {
		struct mock_topic *t = &o->late[i];
		const char *why = NULL;
		if (!t->created) {
			rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, t->name, t->partitions, 1);
			if (e) {
				why = rd_kafka_err2str(e);
				rf_error("rd_kafka_mock_topic_create(%s, %d): %s", t->name, t->partitions, why);
			} else {
				t->created = 1;
				rf_info("late topic %s created with %d partition(s) (SIGHUP)", t->name, t->partitions);
			}
		}
		int n = why ? snprintf(report + used, sizeof report - used, "%sfailed %s %d: %s", used ? "\n" : "",
				       t->name, t->partitions, why)
			    : snprintf(report + used, sizeof report - used, "%screated %s %d", used ? "\n" : "",
				       t->name, t->partitions);
		if (n > 0 && (size_t)n < sizeof report - used)
			used += (size_t)n;
	}
	char err[PATH_MAX + 256];
	if (o->createdfile && write_file_atomic(o->createdfile, report, err, sizeof err) < 0)
		rf_error("%s", err);
}

static void install_handlers(sigset_t *blocked, sigset_t *waitmask)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* Block before librdkafka starts its threads: they inherit the mask. */
	sigemptyset(blocked);
	sigaddset(blocked, SIGTERM);
	sigaddset(blocked, SIGINT);
	sigaddset(blocked, SIGUSR1);
	sigaddset(blocked, SIGUSR2);
	sigaddset(blocked, SIGHUP);
	sigprocmask(SIG_BLOCK, blocked, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGUSR1);
	sigdelset(waitmask, SIGUSR2);
	sigdelset(waitmask, SIGHUP);
}

int main(int argc, char **argv)
{
	struct mock_opts o;
	char err[2 * PATH_MAX + 256];
	rd_kafka_t *rk = NULL;
	rd_kafka_mock_cluster_t *mc = NULL;
	int rc = 1;

	rf_log_set_role("kafka-mock");
	if (parse_args(argc, argv, &o, err, sizeof err) < 0) {
		rf_error("%s", err);
		usage(stderr);
		return 2;
	}

	pid_t parent = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
		rf_error("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
		return 1;
	}
	/* The parent may have died before prctl(): then nobody will signal us. */
	if (getppid() != parent)
		return 1;

	sigset_t blocked, waitmask;
	install_handlers(&blocked, &waitmask);

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		rf_error("rd_kafka_new: %s", err);
		goto out;
	}
	mc = rd_kafka_mock_cluster_new(rk, o.brokers);
	if (!mc) {
		rf_error("rd_kafka_mock_cluster_new(%d brokers) failed", o.brokers);
		goto out;
	}
	for (int i = 0; i < o.ntopics; i++) {
		rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, o.topics[i].name,
								   o.topics[i].partitions, 1);
		if (e) {
			rf_error("rd_kafka_mock_topic_create(%s, %d): %s", o.topics[i].name,
				 o.topics[i].partitions, rd_kafka_err2str(e));
			goto out;
		}
	}

	const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
	if (o.portfile && write_file_atomic(o.portfile, boot, err, sizeof err) < 0) {
		rf_error("%s", err);
		goto out;
	}
	printf("%s\n", boot);
	fflush(stdout);
	rf_info("%d broker(s) at %s, %d topic(s), %d late topic(s) for SIGHUP", o.brokers, boot, o.ntopics,
		o.nlate);

	while (!got_stop) {
		sigsuspend(&waitmask);
		if (got_down) {
			got_down = 0;
			rd_kafka_mock_broker_set_down(mc, -1);
			rf_info("all brokers down (SIGUSR1)");
		}
		if (got_up) {
			got_up = 0;
			rd_kafka_mock_broker_set_up(mc, -1);
			rf_info("all brokers up (SIGUSR2)");
		}
		if (got_hup) {
			got_hup = 0;
			create_late(mc, &o);
		}
	}
	rf_info("stopping");
	rc = 0;
out:
	if (mc)
		rd_kafka_mock_cluster_destroy(mc);
	if (rk)
		rd_kafka_destroy(rk);
	if (o.portfile && rc != 0)
		unlink(o.portfile);
	return rc;
}
