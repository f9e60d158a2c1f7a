/*
 * file_source.c — `[input] type = file`: reads a file or stdin in large
 * chunks and frames its lines. Runs in ingest 0 (a file has one reader).
 * End of input sends EOS(END) so every window is closed and emitted; a stop
 * request sends EOS(STOP) instead.
 *
 * A line that fills the whole chunk without a newline can never fit a frame
 * (frames are at most ING_FRAME_BYTES): the reader stops buffering it, skips
 * to its newline (or to EOF) and rejects it once with its whole length, so
 * a line of any length is one record, rejected whole and counted once.
 */
#include "ingest/ingest.h"
#include "ingest/inputs.h"
#include "common/log.h"
#include "pipeline/frames.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (1 << 20)
_Static_assert(READ_CHUNK > ING_FRAME_BYTES, "a line that fills a chunk must be one no frame holds");

int ing_file_run(const struct rf_proc *p, struct ing_framer *fr)
{
	const char *path = p->pl->conf.input.path;
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0) {
		rf_error("[input] path: open(%s) failed: %s", path, strerror(errno));
		return 1;
	}
	/* Twice the chunk: a partial line carried over plus a new chunk. */
	char *buf = malloc(2 * READ_CHUNK);
	if (!buf) {
		rf_error("out of memory for the read buffer");
		return 1;
	}
	size_t carry = 0;     /* start of a line, no newline in it yet */
	int skipping = 0;     /* inside a line too long to buffer */
	size_t skipped = 0;   /* its bytes so far */
	uint32_t kind = RF_EOS_END;
	int rc = 0, ring_error = 0;
	for (;;) {
		if (rf_stop_requested) {
			kind = RF_EOS_STOP;
			break;
		}
		ssize_t n = read(fd, buf + carry, READ_CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rf_error("[input] path: read(%s) failed: %s", path, strerror(errno));
			rc = 1;
			break;
		}
		if (n == 0) {
			if (skipping)
				ing_framer_reject_long(fr, skipped);
			else if (carry && ing_framer_add(fr, 0, buf, carry))
				kind = RF_EOS_STOP;
			break;
		}
		size_t have = carry + (size_t)n, start = 0;
		if (skipping) {
			/* carry is 0 while skipping: buf holds only this read. */
			const char *nl = memchr(buf, '\n', have);
			if (!nl) {
				skipped += have;
				continue;
			}
			start = (size_t)(nl - buf) + 1;
			ing_framer_reject_long(fr, skipped + (start - 1));
			skipping = 0;
			skipped = 0;
		}
		const char *last_nl = memrchr(buf + start, '\n', have - start);
		size_t complete = last_nl ? (size_t)(last_nl - buf) + 1 : start;
		if (complete > start && ing_framer_add_lines(fr, 0, buf + start, complete - start)) {
			kind = RF_EOS_STOP;
			break;
		}
		carry = have - complete;
		if (carry >= READ_CHUNK) {
			/* A whole chunk of one line: stop keeping it. */
			skipping = 1;
			skipped = carry;
			carry = 0;
		}
		memmove(buf, buf + complete, carry);
		if (ing_framer_flush(fr)) {
			ring_error = 1;
			break;
		}
	}
	if (!ring_error && ing_framer_flush(fr))
		ring_error = 1;
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	/* The framer logged the ring error; the data plane restarts, so an EOS
	 * would only go into a ring in an unknown state. */
	if (ring_error)
		return 1;
	if (rc == 0)
		rf_info("input %s: %s", kind == RF_EOS_END ? "end of file" : "stopped", path);
	rf_send_eos(fr->outs, fr->nouts, kind);
	return rc;
}
