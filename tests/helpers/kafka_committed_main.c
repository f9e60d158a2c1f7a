/*
 * kafka_committed_main.c — kafka-committed: what a consumer group has
 * committed, as lag tools see it.
 *
 *   kafka-committed -b BROKERS -g GROUP -t TOPIC -n PARTITIONS
 *
 * Prints one line per partition: "PARTITION COMMITTED HIGH" (committed
 * offset, -1001 if none; high watermark). Joins nothing: the committed
 * offsets are fetched with OffsetFetch, as kafka-consumer-groups.sh does.
 * A test tool (tests/integration/test_checkpoint_faults.sh).
 */
#include <librdkafka/rdkafka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: kafka-committed -b BROKERS -g GROUP -t TOPIC -n PARTITIONS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *brokers = NULL, *group = NULL, *topic = NULL;
	int nparts = 0, opt;
	while ((opt = getopt(argc, argv, "b:g:t:n:")) != -1) {
		switch (opt) {
		case 'b': brokers = optarg; break;
		case 'g': group = optarg; break;
		case 't': topic = optarg; break;
		case 'n': nparts = atoi(optarg); break;
		default: usage();
		}
	}
	if (!brokers || !group || !topic || nparts < 1 || nparts > 100000 || optind != argc)
		usage();
	char err[512];
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	if (rd_kafka_conf_set(kc, "bootstrap.servers", brokers, err, sizeof err) ||
	    rd_kafka_conf_set(kc, "group.id", group, err, sizeof err) ||
	    rd_kafka_conf_set(kc, "enable.auto.commit", "false", err, sizeof err)) {
		fprintf(stderr, "kafka-committed: %s\n", err);
		return 1;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof err);
	if (!rk) {
		fprintf(stderr, "kafka-committed: %s\n", err);
		return 1;
	}
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
	for (int p = 0; p < nparts; p++)
		rd_kafka_topic_partition_list_add(l, topic, p);
	rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, 10000);
	int rc = 0;
	if (e) {
		fprintf(stderr, "kafka-committed: %s\n", rd_kafka_err2str(e));
		rc = 1;
	}
	for (int i = 0; !rc && i < l->cnt; i++) {
		int64_t lo = -1, hi = -1;
		rd_kafka_query_watermark_offsets(rk, topic, l->elems[i].partition, &lo, &hi, 10000);
		printf("%d %lld %lld\n", l->elems[i].partition, (long long)l->elems[i].offset, (long long)hi);
	}
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy(rk);
	return rc;
}
