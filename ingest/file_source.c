/*
 * file_source.c — `[input] type = file`: reads a file or stdin in large
 * chunks and frames its lines. Runs in ingest 0 (a file has one reader).
 * End of input sends EOS(END) so every window is closed and emitted; a stop
 * request sends EOS(STOP) instead.
 */
#include "ingest/ingest.h"
#include "common/log.h"
#include "shm/frames.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (1 << 20)

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
	size_t carry = 0;
	uint32_t kind = RF_EOS_END;
	int rc = 0;
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
			if (carry)
				ing_framer_add(fr, 0, buf, carry);
			break;
		}
		size_t have = carry + (size_t)n;
		char *last_nl = memrchr(buf, '\n', have);
		size_t complete = last_nl ? (size_t)(last_nl - buf) + 1 : 0;
		if (!last_nl && have >= READ_CHUNK) {
			/* A chunk without any newline: one giant line. Frame it
			 * (the framer rejects and counts it) and move on. */
			complete = have;
		}
		if (complete && ing_framer_add_lines(fr, 0, buf, complete)) {
			kind = RF_EOS_STOP;
			break;
		}
		carry = have - complete;
		memmove(buf, buf + complete, carry);
		ing_framer_flush(fr);
	}
	ing_framer_flush(fr);
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc == 0)
		rf_info("input %s: %s", kind == RF_EOS_END ? "end of file" : "stopped", path);
	rf_send_eos(fr->outs, fr->nouts, kind);
	return rc;
}
