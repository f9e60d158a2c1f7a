/*
 * layout.c — carves the shared segment: doorbells, stats slots and one SPSC
 * ring per (producer, consumer) pair of adjacent roles. Runs in the
 * supervisor before fork; children only attach.
 *
 * rf_layout_plan() is the one place that decides whether [processes] can
 * be laid out (ring_size against the ring's limits, counts against the
 * layout's tables) and how big the segment is; rf_pipeline_load() runs it,
 * so `ringflow -t` refuses exactly what rf_layout_create() would.
 */
#include "supervisor/layout.h"
#include "pipeline/analyzers.h"
#include "pipeline/checkpoint.h"
#include "pipeline/frames.h"
#include "supervisor/pipeline.h"

#include <stdio.h>
#include <string.h>

_Static_assert(CONF_MAX_PROCESSES <= RF_MAX_PER_ROLE, "config allows more processes than the layout holds");
_Static_assert(RF_RING_SIZE_MIN >= SHM_RING_MIN_CAPACITY && RF_RING_SIZE_MAX == SHM_RING_MAX_CAPACITY,
	       "ring_size bounds are the ring's");
/* The largest point an ordinary rule writes (CONF_MAX_KEYS tags with 64-byte
 * values, CONF_MAX_AGGS 24-digit fields, names of CONF_NAME_MAX, a
 * measurement of 2 * CONF_NAME_MAX, a timestamp) fits one frame of the
 * smallest ring, with the headers; so does an sflowtool line (~300 bytes)
 * many times over. */
#define RF_ORDINARY_POINT (2 * CONF_NAME_MAX + CONF_MAX_KEYS * (CONF_NAME_MAX + 2 + 64) + \
			   CONF_MAX_AGGS * (CONF_NAME_MAX + 2 + 24) + 24)
_Static_assert(RF_ORDINARY_POINT + sizeof(struct rf_points_hdr) + SHM_FRAME_HEADER <= RF_RING_SIZE_MIN / 4,
	       "the smallest ring's frames must hold an ordinary point");

/* "64K", "1G", or bytes when not a whole K. */
static const char *fmt_size(char *buf, size_t len, uint64_t v)
{
	static const char units[] = "KMGTPE";
	int u = -1;
	while (v >= 1024 && v % 1024 == 0 && u + 1 < (int)sizeof units - 1) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, units[u]);
	return buf;
}

void rf_layout_counts(const struct rf_config *conf, int n[RF_ROLE_COUNT])
{
	n[RF_ROLE_INGEST] = conf->processes.ingest;
	n[RF_ROLE_TRANSFORM] = conf->processes.transform;
	n[RF_ROLE_AGGREGATE] = conf->processes.aggregate;
	n[RF_ROLE_WRITER] = conf->processes.writer;
	n[RF_ROLE_ANALYZE] = conf->nanalyzers == 0 ? 0
		: conf->processes.analyze == CONF_ANALYZE_AUTO ? 1 : conf->processes.analyze;
	if (n[RF_ROLE_ANALYZE] > conf->nanalyzers)
		n[RF_ROLE_ANALYZE] = conf->nanalyzers;
}

int rf_layout_plan(const struct rf_config *conf, size_t *bytes, char *err, size_t errlen)
{
	uint64_t rs = conf->processes.ring_size;
	char a[32];
	if (rs == 0 || (rs & (rs - 1)) != 0) {
		snprintf(err, errlen, "[processes] ring_size: %s is not a power of two (e.g. 1M, 4M)",
			 fmt_size(a, sizeof a, rs));
		return -1;
	}
	if (rs < RF_RING_SIZE_MIN) {
		snprintf(err, errlen, "[processes] ring_size: %s is below the minimum of 64K: a frame is ring_size / 4, "
			 "and frames under 16K would reject ordinary input lines, rows and points",
			 fmt_size(a, sizeof a, rs));
		return -1;
	}
	if (rs > RF_RING_SIZE_MAX) {
		snprintf(err, errlen, "[processes] ring_size: %s is above the largest ring, 1G",
			 fmt_size(a, sizeof a, rs));
		return -1;
	}
	size_t ring_bytes = shm_ring_footprint((size_t)rs);
	if (!ring_bytes) {
		snprintf(err, errlen, "[processes] ring_size: %s is not a usable ring size", fmt_size(a, sizeof a, rs));
		return -1;
	}
	int n[RF_ROLE_COUNT];
	rf_layout_counts(conf, n);
	size_t rings = 0, procs = 0;
	for (int r = 0; r < RF_ROLE_COUNT; r++) {
		/* The config refuses other counts; this guards the tables. */
		int min = r == RF_ROLE_ANALYZE ? 0 : 1;
		if (n[r] < min || n[r] > RF_MAX_PER_ROLE) {
			snprintf(err, errlen, "[processes] %s: %d is not a count from %d to %d", rf_role_names[r], n[r],
				 min, RF_MAX_PER_ROLE);
			return -1;
		}
		procs += (size_t)n[r];
	}
	for (int l = 0; l < RF_NLINKS; l++)
		rings += (size_t)n[rf_links[l][0]] * (size_t)n[rf_links[l][1]];
	size_t total = 1 << 20;
	total += rings * (ring_bytes + 128);
	total += procs * (2 * (sizeof(struct shm_doorbell) + 64) + sizeof(struct rf_stats_slot) + 64);
	total += sizeof(struct rf_ckpt_ctl) + 64;
	total += CONF_MAX_ANALYZERS * sizeof(struct rf_an_slot) + 64;
	*bytes = total;
	return 0;
}


struct shm_segment *rf_layout_create(const struct rf_config *conf, struct rf_layout *lay,
				     char *err, size_t errlen)
{
	memset(lay, 0, sizeof *lay);
	rf_layout_counts(conf, lay->n);
	lay->ring_size = conf->processes.ring_size;

	size_t total;
	if (rf_layout_plan(conf, &total, err, errlen))
		return NULL;
	struct shm_segment *seg = shm_segment_create(total, err, errlen);
	if (!seg)
		return NULL;
	lay->ckpt = shm_segment_alloc(seg, sizeof(struct rf_ckpt_ctl), 64);
	if (!lay->ckpt)
		goto nospace;
	memset(shm_at(seg, lay->ckpt), 0, sizeof(struct rf_ckpt_ctl));
	lay->analyzers = shm_segment_alloc(seg, CONF_MAX_ANALYZERS * sizeof(struct rf_an_slot), 64);
	if (!lay->analyzers)
		goto nospace;
	for (int k = 0; k < CONF_MAX_ANALYZERS; k++)
		rf_an_slot_init(&rf_an_slots(seg, lay->analyzers)[k]);
	for (int r = 0; r < RF_ROLE_COUNT; r++)
		for (int i = 0; i < lay->n[r]; i++) {
			lay->in_bell[r][i] = shm_segment_alloc(seg, sizeof(struct shm_doorbell), 64);
			lay->out_bell[r][i] = shm_segment_alloc(seg, sizeof(struct shm_doorbell), 64);
			lay->stats[r][i] = shm_segment_alloc(seg, sizeof(struct rf_stats_slot), 64);
			if (!lay->in_bell[r][i] || !lay->out_bell[r][i] || !lay->stats[r][i])
				goto nospace;
			shm_doorbell_init(shm_at(seg, lay->in_bell[r][i]));
			shm_doorbell_init(shm_at(seg, lay->out_bell[r][i]));
			struct rf_stats_slot *s = shm_at(seg, lay->stats[r][i]);
			memset(s, 0, sizeof *s);
			for (int k = 0; k < RF_LAG_PARTITIONS; k++)
				atomic_store(&s->lag[k].partition, -1);
		}
	for (int l = 0; l < RF_NLINKS; l++) {
		enum rf_role fr = rf_links[l][0], tr = rf_links[l][1];
		for (int i = 0; i < lay->n[fr]; i++)
			for (int j = 0; j < lay->n[tr]; j++) {
				uint64_t off = shm_ring_create(seg, lay->ring_size, lay->out_bell[fr][i], lay->in_bell[tr][j],
							       err, errlen);
				if (!off) {
					shm_segment_destroy(seg);
					return NULL;
				}
				lay->rings[lay->nrings++] = (struct rf_ring_ref){ off, (uint8_t)fr, (uint8_t)i, (uint8_t)tr,
										  (uint8_t)j };
			}
	}
	return seg;
nospace:
	snprintf(err, errlen, "shared segment too small (internal sizing error)");
	shm_segment_destroy(seg);
	return NULL;
}

void rf_layout_reset_rings(struct shm_segment *seg, const struct rf_layout *lay)
{
	for (int k = 0; k < lay->nrings; k++)
		shm_ring_reset(shm_at(seg, lay->rings[k].off));
	for (int r = 0; r < RF_ROLE_COUNT; r++)
		for (int i = 0; i < lay->n[r]; i++) {
			shm_doorbell_init(shm_at(seg, lay->in_bell[r][i]));
			shm_doorbell_init(shm_at(seg, lay->out_bell[r][i]));
		}
}
