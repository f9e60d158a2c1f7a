/*
 * fileout.c — see fileout.h. Runs in the writer process; blocks in write(2)
 * and in backoff waits.
 */
#include "writer/fileout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

struct wr_fileout {
	int fd;
	int owns_fd;  /* 0 for stdout: not ours to close */
	char path[256];
};

struct wr_fileout *wr_fileout_open(const char *path, char *err, size_t errlen)
{
	if (!path || !*path) {
		snprintf(err, errlen, "output: path: missing (a file name, or - for stdout)");
		return NULL;
	}
	struct wr_fileout *fo = calloc(1, sizeof *fo);
	if (!fo) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(fo->path, sizeof fo->path, "%s", path);
	if (strcmp(path, "-") == 0) {
		fo->fd = STDOUT_FILENO;
		return fo;
	}
	fo->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fo->fd == -1) {
		snprintf(err, errlen, "open(%s, O_APPEND|O_CREAT): %s", path, strerror(errno));
		free(fo);
		return NULL;
	}
	fo->owns_fd = 1;
	return fo;
}

void wr_fileout_close(struct wr_fileout *fo)
{
	if (!fo)
		return;
	if (fo->owns_fd)
		close(fo->fd);
	free(fo);
}

enum wr_result wr_fileout_deliver(struct wr_fileout *fo, const char *lp, size_t len,
				  uint32_t npoints, const volatile int *stop,
				  struct wr_report *rep)
{
	size_t done = 0;
	int64_t delay = WR_BACKOFF_MIN_NS;
	while (done < len) {
		ssize_t n = write(fo->fd, lp + done, len - done);
		rep->requests++;
		if (n > 0) {
			done += (size_t)n;
			rep->bytes_sent += (uint64_t)n;
			delay = WR_BACKOFF_MIN_NS;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		char msg[320];
		snprintf(msg, sizeof msg, "write(%s, %zu bytes): %s", fo->path, len - done,
			 n == 0 ? "wrote nothing" : strerror(errno));
		wr_report_error(rep, msg);
		RF_LOG_RL(RF_LOG_ERROR, "%s; retrying in %lld ms", msg,
			  (long long)(delay / 1000000));
		rep->retries++;
		if (wr_backoff_wait(&delay, stop) != 0)
			return WR_STOPPED;
	}
	rep->points_accepted += npoints;
	return WR_OK;
}
