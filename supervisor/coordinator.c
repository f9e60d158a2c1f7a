/*
 * coordinator.c — the supervisor's side of checkpoints (checkpoint.h):
 * opens the store at start, prepares the control block whenever the data
 * plane starts (resume point, partition positions), asks for checkpoints
 * every checkpoint_interval, on `ringflowctl checkpoint` and before a
 * graceful stop, and completes a checkpoint once every ingest, aggregate and
 * writer acknowledged it.
 *
 * Checkpoints are kept for Kafka input only. A file is finite and read
 * from its start on every run, so restoring state for it would count its
 * records twice (docs/OPERATIONS.md).
 */
#include "supervisor/supervisor.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pipeline/checkpoint.h"
#include "pipeline/sources.h"
#include "supervisor/pipeline.h"

#include <errno.h>

#include <stdio.h>
#include <string.h>

/* The topics' source ids (pipeline/sources.h), for filling `position`. */
static struct rf_topics topic_ids;

static const enum rf_role participants[] = { RF_ROLE_INGEST, RF_ROLE_AGGREGATE, RF_ROLE_WRITER };

static struct rf_ckpt_ctl *ctl(const struct sup *s)
{
	return shm_at(s->seg, s->lay.ckpt);
}

int sup_ckpt_open(struct sup *s, int reset_state, char *err, size_t errlen)
{
	const struct rf_config *c = &s->pl->conf;
	struct sup_ckpt *k = &s->ckpt;
	memset(k, 0, sizeof *k);
	if (c->input.type != CONF_INPUT_KAFKA)
		return 0;
	if (rf_topics_parse(&topic_ids, c->input.topics, err, errlen))
		return -1;
	for (int i = 0; i < RF_MAX_SOURCES; i++)
		atomic_store(&ctl(s)->end_offset[i], RF_POSITION_UNKNOWN);
	if (reset_state) {
		if (ckpt_remove(c->ringflow.state_dir, c->ringflow.name, err, errlen))
			return -1;
		rf_warn("--reset-state: removed the checkpoint store in %s; starting without window state, "
			"partitions start from `start` (%s)", c->ringflow.state_dir, c->input.start);
	}
	if (rf_mkdir_p(c->ringflow.state_dir, 0700)) {
		snprintf(err, errlen, "[ringflow] state_dir: mkdir(%s) failed: %s", c->ringflow.state_dir,
			 strerror(errno));
		return -1;
	}
	k->store = ckpt_open(c->ringflow.state_dir, c->ringflow.name, err, errlen);
	if (!k->store)
		return -1;
	if (ckpt_last_complete(k->store, &k->last, err, errlen)) {
		ckpt_close(k->store);
		k->store = NULL;
		return -1;
	}
	if (k->last.id)
		rf_info("resuming from checkpoint %llu", (unsigned long long)k->last.id);
	else
		rf_info("no checkpoint yet: partitions start from `start` (%s)", c->input.start);
	return 0;
}

void sup_ckpt_close(struct sup *s)
{
	ckpt_close(s->ckpt.store);
	s->ckpt.store = NULL;
}

struct position_fill {
	struct rf_ckpt_ctl *c;
};

static int fill_position(void *arg, const struct ckpt_offset *o)
{
	struct position_fill *f = arg;
	/* A topic no longer in the config is skipped. */
	int src = rf_source_id(&topic_ids, o->topic, o->partition);
	if (src >= 0)
		atomic_store(&f->c->position[src], o->next_offset);
	return 0;
}

int sup_ckpt_plane_start(struct sup *s, char *err, size_t errlen)
{
	struct sup_ckpt *k = &s->ckpt;
	struct rf_ckpt_ctl *c = ctl(s);
	uint64_t id = k->last.id;
	for (int i = 0; i < RF_MAX_SOURCES; i++) {
		atomic_store(&c->position[i], RF_POSITION_UNKNOWN);
		atomic_store(&c->event_max[i], INT64_MIN);
	}
	atomic_store(&c->event_floor, INT64_MIN);   /* nothing paused until aggregate 0 knows */
	for (int r = 0; r < RF_ROLE_COUNT; r++)
		for (int i = 0; i < RF_MAX_PER_ROLE; i++) {
			atomic_store(&c->acked[r][i], id);
			atomic_store(&c->failed[r][i], 0);
		}
	for (int i = 0; i < RF_MAX_PER_ROLE; i++) {
		atomic_store(&c->reading[i], s->pl->conf.input.type != CONF_INPUT_KAFKA);
		atomic_store(&c->ended[i], 0);   /* a rewind reads again what it had read */
	}
	atomic_store(&c->finish, 0);
	atomic_store(&c->requested, id);
	atomic_store(&c->complete, id);
	atomic_store(&c->resume, id);
	k->inflight = k->final = 0;
	k->next_due_ns = rf_mono_ns() + s->pl->conf.ringflow.checkpoint_interval_ns;
	if (!k->store)
		return 0;
	/* What an interrupted checkpoint after `id` wrote is garbage now. */
	if (ckpt_discard_after(k->store, id, err, errlen))
		return -1;
	if (id) {
		struct position_fill f = { c };
		if (ckpt_each_offset(k->store, id, fill_position, &f, err, errlen))
			return -1;
	}
	return 0;
}

static int all_ingests_acked(const struct sup *s, uint64_t id)
{
	struct rf_ckpt_ctl *c = ctl(s);
	for (int i = 0; i < s->lay.n[RF_ROLE_INGEST]; i++)
		if (atomic_load(&c->acked[RF_ROLE_INGEST][i]) < id)
			return 0;
	return 1;
}

static uint64_t request(struct sup *s)
{
	struct rf_ckpt_ctl *c = ctl(s);
	uint64_t id = atomic_load(&c->requested) + 1;
	s->ckpt.started_ns[id & 1] = rf_mono_ns();
	atomic_store(&c->requested, id);
	return id;
}

int sup_ckpt_request(struct sup *s, char *msg, size_t msglen)
{
	struct sup_ckpt *k = &s->ckpt;
	if (!k->store) {
		snprintf(msg, msglen, "checkpoints are kept for Kafka input only");
		return -1;
	}
	if (s->state != SUP_RUNNING) {
		snprintf(msg, msglen, "the data plane is %s", sup_state_names[s->state]);
		return -1;
	}
	if (k->inflight) {
		snprintf(msg, msglen, "checkpoint %llu is in progress", (unsigned long long)k->inflight);
		return 0;
	}
	k->inflight = request(s);
	snprintf(msg, msglen, "checkpoint %llu started", (unsigned long long)k->inflight);
	return 0;
}

void sup_ckpt_final(struct sup *s)
{
	struct sup_ckpt *k = &s->ckpt;
	if (!k->store)
		return;
	/* Ingests that have not yet sent the one in flight will send it after
	 * their last record: it is the final one. Otherwise ask for one more. */
	if (!k->inflight || all_ingests_acked(s, k->inflight))
		k->final = request(s);
	else
		k->final = k->inflight;
	rf_info("graceful stop: final checkpoint %llu", (unsigned long long)k->final);
}

/* 1: every participant acked id; -1: one failed it; 0: not yet. */
static int progress(const struct sup *s, uint64_t id, char *who, size_t wholen)
{
	struct rf_ckpt_ctl *c = ctl(s);
	int done = 1;
	for (size_t p = 0; p < sizeof participants / sizeof participants[0]; p++) {
		enum rf_role r = participants[p];
		for (int i = 0; i < s->lay.n[r]; i++) {
			if (atomic_load(&c->failed[r][i]) == id) {
				snprintf(who, wholen, "%s %d", rf_role_names[r], i);
				return -1;
			}
			if (atomic_load(&c->acked[r][i]) < id)
				done = 0;
		}
	}
	return done;
}

/* Settles checkpoint id if it is done or failed: returns 1 when it
 * completed, -1 when it failed, 0 while it is in progress. */
static int settle(struct sup *s, uint64_t id)
{
	struct sup_ckpt *k = &s->ckpt;
	char who[48], err[512];
	int st = progress(s, id, who, sizeof who);
	if (st == 0)
		return 0;
	if (st < 0) {
		k->failed++;
		rf_error("checkpoint %llu failed (%s could not store its part, see above); keeping checkpoint %llu",
			 (unsigned long long)id, who, (unsigned long long)k->last.id);
		return -1;
	}
	int64_t now = rf_mono_ns();
	struct ckpt_info info = { id, rf_now_ns(), now - k->started_ns[id & 1] };
	if (ckpt_complete(k->store, id, k->last.id, &info, err, sizeof err)) {
		k->failed++;
		rf_error("checkpoint %llu could not be completed: %s; keeping checkpoint %llu", (unsigned long long)id,
			 err, (unsigned long long)k->last.id);
		return -1;
	}
	k->last = info;
	k->completed++;
	atomic_store(&ctl(s)->complete, id);
	rf_debug("checkpoint %llu complete in %lld ms", (unsigned long long)id,
		 (long long)(info.duration_ns / RF_NS_PER_MS));
	return 1;
}

void sup_ckpt_tick(struct sup *s)
{
	struct sup_ckpt *k = &s->ckpt;
	if (!k->store)
		return;
	if (k->inflight) {
		int r = settle(s, k->inflight);
		if (r && k->final == k->inflight) {
			k->final_result = r;
			k->final = 0;
		}
		if (r)
			k->inflight = 0;
	}
	if (k->final && !k->inflight) {
		int r = settle(s, k->final);
		if (r) {
			k->final_result = r;
			k->final = 0;
		}
	}
	int64_t now = rf_mono_ns();
	if (s->state == SUP_RUNNING && !k->inflight && now >= k->next_due_ns) {
		k->inflight = request(s);
		k->next_due_ns = now + s->pl->conf.ringflow.checkpoint_interval_ns;
	}
}

int sup_ckpt_final_pending(const struct sup *s)
{
	return s->ckpt.final != 0;
}

int sup_ckpt_final_failed(const struct sup *s)
{
	return s->ckpt.final_result < 0;
}

int sup_input_ended(struct sup *s)
{
	if (s->pl->conf.input.type != CONF_INPUT_KAFKA || s->pl->conf.input.stop_at != CONF_STOP_END)
		return 0;
	struct rf_ckpt_ctl *c = ctl(s);
	for (int i = 0; i < s->lay.n[RF_ROLE_INGEST]; i++)
		if (!atomic_load_explicit(&c->ended[i], memory_order_acquire))
			return 0;
	atomic_store_explicit(&c->finish, 1, memory_order_release);
	return 1;
}
