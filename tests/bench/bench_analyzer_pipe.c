/*
 * bench_analyzer_pipe.c — how fast the analyzer host moves window blocks
 * into one analyzer's stdin (issue 10: >= 1 M points/s, batched writes).
 *
 * The analyzer is `cat > /dev/null` started by analyze/child.c exactly as
 * the host starts one (fork, execve, pipes); the blocks are window blocks
 * as the host writes them (header, points like rf_by_country's, "# end").
 * Measured: points per second from the first enqueue to the last block
 * written whole, over BLOCKS blocks of POINTS points each, the host polling
 * the pipe as its loop does. Run: build/release/bench/bench_analyzer_pipe
 * [points per block] [blocks].
 */
#include "analyze/child.h"
#include "common/timeutil.h"

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_line(void *arg, const char *line, size_t len, int too_long)
{
}

int main(int argc, char **argv)
{
	long points = argc > 1 ? atol(argv[1]) : 100000;
	int blocks = argc > 2 ? atoi(argv[2]) : 20;
	signal(SIGPIPE, SIG_IGN);
	/* One block: what the host writes for one window of a rule. */
	size_t cap = (size_t)points * 128 + 256, len = 0;
	char *text = malloc(cap);
	if (!text)
		return 1;
	len += (size_t)snprintf(text + len, cap - len, "# window rule=by_key measurement=rf_by_key "
				"start=1700000000000000000 end=1700000010000000000\n");
	for (long i = 0; i < points; i++)
		len += (size_t)snprintf(text + len, cap - len, "rf_by_key,src_ip=10.%ld.%ld.%ld bytes=%ldi,flows=%ldi,"
					"max_packet=1500i 1700000000000000000\n", (i >> 16) & 255, (i >> 8) & 255, i & 255,
					i * 1000 + 17, i % 97 + 1);
	len += (size_t)snprintf(text + len, cap - len, "# end\n");
	char *argv_c[] = { "sh", "-c", "exec cat > /dev/null", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct an_child_spec spec = { .name = "bench", .path = "/bin/sh", .argv = argv_c, .envp = envp,
				      .queue_max = blocks, .timeout_ns = 60 * RF_NS_PER_SEC };
	struct an_child *c = an_child_new(&spec);
	if (!c)
		return 1;
	/* Started and idle before the clock runs. */
	while (an_child_state(c) != AN_CHILD_RUNNING)
		an_child_service(c, rf_mono_ns(), on_line, NULL);
	int64_t t0 = rf_mono_ns();
	for (int b = 0; b < blocks; b++)
		if (an_child_enqueue(c, text, len)) {
			fprintf(stderr, "enqueue failed\n");
			return 1;
		}
	while (an_child_stats(c)->windows_delivered < (uint64_t)blocks) {
		struct pollfd pfd[3];
		int n = an_child_pollfds(c, pfd, 3);
		poll(pfd, (nfds_t)n, 10);
		an_child_service(c, rf_mono_ns(), on_line, NULL);
	}
	double secs = (double)(rf_mono_ns() - t0) / 1e9;
	double pts = (double)points * blocks;
	printf("analyzer pipe: %d blocks of %ld points (%.1f MB) in %.3f s: %.2f M points/s, %.0f MB/s, "
	       "%" PRIu64 " bytes written\n", blocks, points, (double)len * blocks / 1e6, secs, pts / secs / 1e6,
	       (double)len * blocks / secs / 1e6, an_child_stats(c)->bytes_in);
	an_child_free(c);
	free(text);
	return 0;
}
