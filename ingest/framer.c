/* framer.c — see framer.h. */
#include "ingest/framer.h"
#include "pipeline/proc.h"
#include "common/log.h"
#include "pipeline/frames.h"

#include <string.h>

/* Payload bytes a frame to any transform can hold after its header. */
static uint32_t frame_payload(const struct ing_framer *f)
{
	uint32_t cap = f->nouts ? shm_ring_max_frame(&f->outs[0]) : 0;
	if (cap > ING_FRAME_BYTES)
		cap = ING_FRAME_BYTES;
	return cap > sizeof(struct rf_lines_hdr) ? cap - (uint32_t)sizeof(struct rf_lines_hdr) : 0;
}

void ing_framer_init(struct ing_framer *f, struct shm_ring_handle *outs, int nouts,
		     struct rf_stats_slot *stats)
{
	memset(f, 0, sizeof *f);
	f->outs = outs;
	f->nouts = nouts;
	f->stats = stats;
	f->payload = frame_payload(f);
}

uint32_t ing_framer_transform(const struct ing_framer *f, uint32_t source)
{
	return f->nouts > 0 ? source % (uint32_t)f->nouts : 0;
}

/* Returns 0, or -1 when the ring refused the shrink (a framer bug: the
 * frame stays unpublished and the process must restart). */
static int close_frame(struct ing_framer *f)
{
	if (!f->frame)
		return 0;
	struct rf_lines_hdr *h = (struct rf_lines_hdr *)f->frame;
	h->source = f->source;
	h->nlines = f->nlines;
	h->flags = f->flags;
	struct shm_ring_handle *out = &f->outs[ing_framer_transform(f, f->source)];
	f->frame = NULL;
	if (shm_ring_shrink_last(out, (uint32_t)sizeof *h + f->used)) {
		rf_error("ingest: cannot shrink a frame of %u bytes to %u (internal error)", f->payload,
			 f->used);
		return -1;
	}
	shm_ring_commit(out);
	f->frames++;
	return 0;
}

static int open_frame(struct ing_framer *f, uint32_t source, uint32_t flags)
{
	struct shm_ring_handle *out = &f->outs[ing_framer_transform(f, source)];
	uint32_t cap = f->payload + (uint32_t)sizeof(struct rf_lines_hdr);
	/* A stop still drains; only an abort or a park gives up on a full ring. */
	char *p = shm_ring_reserve(out, cap, RF_FRAME_LINES, &rf_interrupt_flag);
	if (!p)
		return -1;
	f->frame = p;
	f->used = 0;
	f->nlines = 0;
	f->source = source;
	f->flags = flags;
	return 0;
}

void ing_framer_reject_long(struct ing_framer *f, size_t len)
{
	f->lines++;
	f->bytes += len + 1;
	f->too_long++;
	RF_LOG_RL(RF_LOG_WARN, "input line of %zu bytes rejected: a frame holds at most %u bytes "
		  "(ring_size / 4; lines_too_long_total)", len, f->payload ? f->payload - 1 : 0);
}

int ing_framer_add(struct ing_framer *f, uint32_t source, const char *line, size_t len)
{
	if (len >= f->payload) {
		/* Cannot fit any frame (with its '\n'): counted, logged, dropped
		 * here, whole, whatever the ring size. */
		ing_framer_reject_long(f, len);
		return 0;
	}
	f->lines++;
	f->bytes += len + 1;
	if (f->frame && (f->source != source || f->used + len + 1 > f->payload) && close_frame(f))
		return -1;
	if (!f->frame && open_frame(f, source, 0))
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

int ing_framer_announce(struct ing_framer *f, uint32_t source)
{
	if (close_frame(f) || open_frame(f, source, RF_LINES_ASSIGNED))
		return -1;
	return close_frame(f);
}

void ing_framer_reset(struct ing_framer *f)
{
	f->frame = NULL;
	f->used = f->nlines = 0;
}

int ing_framer_flush(struct ing_framer *f)
{
	int rc = close_frame(f);
	rf_stat_add(f->stats, RF_ST_LINES_IN, f->lines);
	rf_stat_add(f->stats, RF_ST_BYTES_IN, f->bytes);
	rf_stat_add(f->stats, RF_ST_LINES_TOO_LONG, f->too_long);
	rf_stat_add(f->stats, RF_ST_FRAMES_OUT, f->frames);
	f->lines = f->bytes = f->too_long = f->frames = 0;
	return rc;
}
