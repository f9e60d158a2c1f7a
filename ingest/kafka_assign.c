/*
 * kafka_assign.c — `[input] assignment = ringflow` (the default): the
 * ingest reads the topics' metadata itself, takes the partitions dealt to
 * it (source id modulo the ingest count, so adding partitions never moves
 * one that is already read) and assigns them at their shared positions
 * (checkpoint.h), without joining the consumer group: no initial rebalance
 * delay, and no waiting out a dead member's session after a crash. The
 * group still receives the checkpointed offsets (kafka_checkpoint.c), so
 * lag tools see them.
 *
 * Metadata is read again every metadata_refresh: partitions and topics that
 * appear are assigned from their position, else the group's committed
 * offset when resuming, else `start` (kafka_prepare_assign), and announced
 * downstream so they hold windows back from that moment. A topic that does
 * not exist yet is waited for, logged and shown in status problems.
 *
 * Ingest processes, main thread only; rd_kafka_metadata blocks for at most
 * its timeout.
 */
#include "ingest/kafka_src.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <string.h>

#define RETRY_NS (500 * RF_NS_PER_MS)   /* after a failed metadata request */

static const rd_kafka_metadata_topic_t *find_topic(const rd_kafka_metadata_t *md, const char *name)
{
	for (int i = 0; i < md->topic_cnt; i++)
		if (!strcmp(md->topics[i].topic, name))
			return &md->topics[i];
	return NULL;
}

/* Says which topics are missing (status problems and a rate-limited log
 * line), or clears what it said before once none is. */
static void note_missing(struct kafka_src *s, const char *missing)
{
	if (*missing) {
		char note[RF_NOTE_MAX];
		snprintf(note, sizeof note, "topic %.*s does not exist yet (waiting)", RF_NOTE_MAX - 40, missing);
		rf_stat_note(s->p->stats, note);
		s->noted_missing = 1;
		RF_LOG_RL(RF_LOG_WARN, "kafka: topic %s does not exist yet; waiting for it (looked for again "
			  "every metadata_refresh)", missing);
	} else if (s->noted_missing) {
		rf_stat_note(s->p->stats, "");
		s->noted_missing = 0;
	}
}

int kafka_assign_refresh(struct kafka_src *s, rd_kafka_t *rk, int timeout_ms)
{
	const rd_kafka_metadata_t *md = NULL;
	rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
	if (e) {
		RF_LOG_RL(RF_LOG_WARN, "kafka: reading the topics' metadata failed: %s (retrying)",
			  rd_kafka_err2str(e));
		s->errors++;
		return -1;
	}
	uint32_t self = (uint32_t)s->p->index, n = (uint32_t)s->p->lay->n[RF_ROLE_INGEST];
	rd_kafka_topic_partition_list_t *add = rd_kafka_topic_partition_list_new(16);
	char missing[RF_NOTE_MAX - 40] = "";   /* fits the note with its words */
	for (int t = 0; t < s->parts.topics.n; t++) {
		const char *name = s->parts.topics.name[t];
		const rd_kafka_metadata_topic_t *mt = find_topic(md, name);
		if (!mt || mt->err || mt->partition_cnt == 0) {
			size_t used = strlen(missing);
			snprintf(missing + used, sizeof missing - used, "%s'%s'", used ? ", " : "", name);
			continue;
		}
		for (int i = 0; i < mt->partition_cnt; i++) {
			int32_t part = mt->partitions[i].id;
			int src = rf_source_id(&s->parts.topics, name, part);
			if (src >= 0 && ((uint32_t)src % n != self || s->parts.part[src].owned))
				continue;
			/* src < 0 (partition beyond what ringflow tracks) goes in
			 * too: kafka_prepare_assign reports it and stops. */
			rd_kafka_topic_partition_list_add(add, name, part);
		}
	}
	rd_kafka_metadata_destroy(md);
	note_missing(s, missing);
	int rc = 0;
	if (s->bounded && add->cnt && kafka_bounded_prepare(s, rk, add))
		rc = -1;
	if (add->cnt) {
		kafka_prepare_assign(s, add);
		if (!s->fatal)
			kafka_resolve_start(rk, add);
		rd_kafka_error_t *ae = s->fatal ? NULL : rd_kafka_incremental_assign(rk, add);
		if (ae) {
			rf_error("kafka: assigning %d partition(s) failed: %s", add->cnt, rd_kafka_error_string(ae));
			rd_kafka_error_destroy(ae);
			/* Not owned after all: the next refresh tries them again. */
			for (int i = 0; i < add->cnt; i++) {
				int src = rf_source_id(&s->parts.topics, add->elems[i].topic, add->elems[i].partition);
				if (src >= 0)
					s->parts.part[src].owned = 0;
			}
			rc = -1;
		} else if (!s->fatal) {
			rf_info("kafka: reading %d new partition(s) (assignment = ringflow, ingest %u of %u)",
				add->cnt, self, n);
			kafka_announce_list(s, add);
		}
	}
	rd_kafka_topic_partition_list_destroy(add);
	if (rc == 0 && !s->assigned)
		kafka_set_assigned(s, 1);
	return rc;
}

void kafka_assign_tick(struct kafka_src *s, rd_kafka_t *rk)
{
	int64_t now = rf_mono_ns();
	if (now < s->next_refresh_ns)
		return;
	/* Short waits before the first assignment: cold start is what it
	 * costs until the first line is read. */
	int rc = kafka_assign_refresh(s, rk, s->assigned ? 1000 : 200);
	s->next_refresh_ns = rf_mono_ns() + (rc ? RETRY_NS : s->p->pl->conf.input.metadata_refresh_ns);
}
