/* framer.c — see framer.h. */
#include "ingest/framer.h"
#include "supervisor/proc.h"
#include "common/log.h"
#include "shm/frames.h"

#include <string.h>

void ing_framer_init(struct ing_framer *f, struct shm_ring_handle *outs, int nouts,
		     struct rf_stats_slot *stats)
{
	memset(f, 0, sizeof *f);
	f->outs = outs;
	f->nouts = nouts;
	f->stats = stats;
}

static void close_frame(struct ing_framer *f)
{
	if (!f->frame)
		return;
	struct rf_lines_hdr *h = (struct rf_lines_hdr *)f->frame;
	h->source = f->source;
	h->nlines = f->nlines;
	struct shm_ring_handle *out = &f->outs[f->next];
	shm_ring_shrink_last(out, (uint32_t)sizeof *h + f->used);
	shm_ring_commit(out);
	f->frame = NULL;
	f->frames++;
	f->next = (f->next + 1) % f->nouts;
}

static int open_frame(struct ing_framer *f, uint32_t source)
{
	struct shm_ring_handle *out = &f->outs[f->next];
	uint32_t cap = shm_ring_max_frame(out);
	if (cap > ING_FRAME_BYTES)
		cap = ING_FRAME_BYTES;
	/* A stop still drains; only an abort or a park gives up on a full ring. */
	char *p = shm_ring_reserve(out, cap, RF_FRAME_LINES, &rf_interrupt_flag);
	if (!p)
		return -1;
	f->frame = p;
	f->cap = cap - (uint32_t)sizeof(struct rf_lines_hdr);
	f->used = 0;
	f->nlines = 0;
	f->source = source;
	return 0;
}

int ing_framer_add(struct ing_framer *f, uint32_t source, const char *line, size_t len)
{
	f->lines++;
	f->bytes += len + 1;
	if (len + 1 > ING_FRAME_BYTES / 2) {
		/* Longer than any record ringflow can parse: counted, logged, dropped
		 * here so it never blocks a frame. */
		f->too_long++;
		RF_LOG_RL(RF_LOG_WARN, "input line of %zu bytes rejected: longer than %d bytes (lines_too_long)",
			  len, ING_FRAME_BYTES / 2);
		return 0;
	}
	if (f->frame && (f->source != source || f->used + len + 1 > f->cap))
		close_frame(f);
	if (!f->frame && open_frame(f, source))
		return -1;
	char *dst = f->frame + sizeof(struct rf_lines_hdr) + f->used;
	memcpy(dst, line, len);
	dst[len] = '\n';
	f->used += (uint32_t)len + 1;
	f->nlines++;
	return 0;
}

int ing_framer_add_lines(struct ing_framer *f, uint32_t source, const char *buf, size_t len)
{
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;
		if (ing_framer_add(f, source, buf, n))
			return -1;
		if (!nl)
			break;
		buf += n + 1;
		len -= n + 1;
	}
	return 0;
}

void ing_framer_reset(struct ing_framer *f)
{
	f->frame = NULL;
	f->next = 0;
	f->used = f->nlines = 0;
}

void ing_framer_flush(struct ing_framer *f)
{
	close_frame(f);
	rf_stat_add(f->stats, RF_ST_LINES_IN, f->lines);
	rf_stat_add(f->stats, RF_ST_BYTES_IN, f->bytes);
	rf_stat_add(f->stats, RF_ST_LINES_TOO_LONG, f->too_long);
	rf_stat_add(f->stats, RF_ST_FRAMES_OUT, f->frames);
	f->lines = f->bytes = f->too_long = f->frames = 0;
}
