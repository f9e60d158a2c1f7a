/* sources.c — source ids of (topic, partition); see sources.h. */
#include "pipeline/sources.h"

#include <stdio.h>
#include <string.h>

int rf_topics_parse(struct rf_topics *t, const char *list, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	const char *p = list;
	while (*p) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (!n)
			break;
		if (t->n == RF_MAX_TOPICS) {
			snprintf(err, errlen, "[input] topic: at most %d topics (ringflow tracks %d partitions each)",
				 RF_MAX_TOPICS, RF_PARTITIONS_PER_TOPIC);
			return -1;
		}
		if (n >= CKPT_TOPIC_MAX) {
			snprintf(err, errlen, "[input] topic: '%.*s' is longer than %d characters", (int)n, p,
				 CKPT_TOPIC_MAX - 1);
			return -1;
		}
		memcpy(t->name[t->n++], p, n);
		p += n;
	}
	return 0;
}

int rf_source_id(const struct rf_topics *t, const char *topic, int32_t partition)
{
	if (partition < 0 || partition >= RF_PARTITIONS_PER_TOPIC)
		return -1;
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->name[i], topic))
			return i * RF_PARTITIONS_PER_TOPIC + partition;
	return -1;
}
