/*
 * test_child.c — cmocka tests for analyze/child: real child processes
 * (/bin/cat, /bin/sh scripts, /bin/sleep) driven the way the analyzer host
 * drives them: poll on the descriptors an_child_pollfds() gives, then
 * an_child_service().
 *
 * Time given to the child module is a test clock: backoff, timeouts and
 * the finish deadline are checked against it exactly, while the processes
 * themselves run in real time (each wait is bounded in real time too, so a
 * broken child fails the test instead of hanging it).
 *
 * Checked: windows go through whole and in order and come back as lines;
 * the child has only 0, 1 and 2 open, the given environment and nothing of
 * ours, its own process group; an exec failure is an error with the path;
 * exits restart with 100 ms doubling backoff and show as a crash loop
 * after three; a child that stops reading is killed at the timeout and the
 * window it was cut in is sent again whole; the queue bound; an over-long
 * stdout line is reported once and the next line still arrives; stderr
 * lines are counted; a child that does not exit after its input ended is
 * killed at the deadline.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyze/child.h"

#define MS 1000000LL
#define MAX_LINES 256

struct lines {
	char text[MAX_LINES][128];
	int n;
	int too_long;
};

static void on_line(void *arg, const char *line, size_t len, int too_long)
{
	struct lines *l = arg;
	if (too_long) {
		l->too_long++;
		return;
	}
	if (l->n < MAX_LINES)
		snprintf(l->text[l->n++], sizeof l->text[0], "%.*s", (int)len, line);
}

static char *const env_ok[] = { "RINGFLOW_ANALYZER=t", "PATH=/usr/bin:/bin", NULL };

static struct an_child *child(const char *path, char *const *argv, int queue, int64_t timeout)
{
	struct an_child_spec sp = { .name = "t", .path = path, .argv = argv, .envp = env_ok,
				    .queue_max = queue, .timeout_ns = timeout };
	struct an_child *c = an_child_new(&sp);
	assert_non_null(c);
	return c;
}

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Services c at test time *now until done(c) holds; fails after 10 s of
 * real time. */
typedef int (*pred_fn)(struct an_child *c, struct lines *l);
static void run_until(struct an_child *c, int64_t *now, struct lines *l, pred_fn done)
{
	int64_t give_up = real_ms() + 10000;
	for (;;) {
		an_child_service(c, *now, on_line, l);
		if (done(c, l))
			return;
		assert_true(real_ms() < give_up);
		struct pollfd pfd[3];
		int n = an_child_pollfds(c, pfd, 3);
		poll(pfd, (nfds_t)n, 10);
	}
}

static int finished(struct an_child *c, struct lines *l)
{
	return an_child_state(c) == AN_CHILD_FINISHED;
}

static int waiting(struct an_child *c, struct lines *l)
{
	return an_child_state(c) == AN_CHILD_WAITING;
}

static int running(struct an_child *c, struct lines *l)
{
	return an_child_state(c) == AN_CHILD_RUNNING;
}

static void windows_round_trip(void **state)
{
	char *argv[] = { "cat", NULL };
	struct an_child *c = child("/bin/cat", argv, 8, 1000 * MS);
	struct lines l = { 0 };
	int64_t now = 1;
	assert_int_equal(an_child_enqueue(c, "# window a\nx 1\n# end\n", 21), 0);
	assert_int_equal(an_child_enqueue(c, "", 0), 0);
	assert_int_equal(an_child_enqueue(c, "# window b\n# end\n", 17), 0);
	an_child_finish(c);
	assert_int_equal(an_child_enqueue(c, "late\n", 5), -1);
	run_until(c, &now, &l, finished);
	assert_int_equal(l.n, 5);
	const char *want[] = { "# window a", "x 1", "# end", "# window b", "# end" };
	for (int i = 0; i < 5; i++)
		assert_string_equal(l.text[i], want[i]);
	const struct an_child_stats *st = an_child_stats(c);
	assert_int_equal(st->windows_delivered, 3);
	assert_int_equal(st->starts, 1);
	assert_int_equal(st->bytes_in, 38);
	assert_string_equal(st->last_error, "");
	an_child_free(c);
}

/* Read from /proc while the child sleeps: what a shell would report of
 * itself includes the shell's own descriptors. */
static void clean_process(void **state)
{
	setenv("RF_TEST_SECRET", "leak", 1);
	FILE *keep = tmpfile();  /* an open descriptor of ours, not close-on-exec */
	assert_non_null(keep);
	char *argv[] = { "sleep", "1000", NULL };
	struct an_child *c = child("/bin/sleep", argv, 4, 1000 * MS);
	struct lines l = { 0 };
	int64_t now = 1;
	run_until(c, &now, &l, running);
	int pid = an_child_stats(c)->pid;
	assert_true(pid > 0);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	assert_non_null(d);
	int fds = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		assert_true(fd >= 0 && fd <= 2);
		fds++;
	}
	closedir(d);
	assert_int_equal(fds, 3);
	/* Its environment: exactly env_ok (execve may still be in progress
	 * when the test looks: wait until the image is sleep's). */
	char env[4096] = "";
	for (int tries = 0; tries < 1000; tries++) {
		snprintf(path, sizeof path, "/proc/%d/environ", pid);
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		size_t n = fread(env, 1, sizeof env - 1, f);
		fclose(f);
		env[n] = '\0';
		if (n == strlen(env_ok[0]) + 1 + strlen(env_ok[1]) + 1)
			break;
		usleep(1000);
	}
	assert_string_equal(env, env_ok[0]);
	assert_string_equal(env + strlen(env_ok[0]) + 1, env_ok[1]);
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int spid = 0, pgid = 0;
	assert_int_equal(fscanf(f, "%d %*s %*c %*d %d", &spid, &pgid), 2);
	fclose(f);
	assert_int_equal(pgid, pid);
	fclose(keep);
	an_child_free(c);
	assert_int_equal(kill(pid, 0), -1);  /* freed: killed and reaped */
}

static void exec_failure(void **state)
{
	char *argv[] = { "nope", NULL };
	struct an_child *c = child("/nonexistent/analyzer", argv, 4, 1000 * MS);
	struct lines l = { 0 };
	an_child_service(c, 1, on_line, &l);
	assert_int_equal(an_child_state(c), AN_CHILD_WAITING);
	assert_int_equal(an_child_stats(c)->starts, 0);
	assert_non_null(strstr(an_child_stats(c)->last_error, "cannot execute /nonexistent/analyzer"));
	assert_int_equal(an_child_next_due(c, 1), 1 + 100 * MS);
	an_child_free(c);
}

static void restart_backoff(void **state)
{
	/* Lives 0.2 s, so the test sees it running before it exits: one that
	 * exits at once can be started, reaped and waiting again within one
	 * service call, and the test clock must move while it runs. */
	char *argv[] = { "sh", "-c", "sleep 0.2; exit 1", NULL };
	struct an_child *c = child("/bin/sh", argv, 4, 1000 * MS);
	struct lines l = { 0 };
	int64_t now = 1000 * MS, want = 100 * MS;
	for (int i = 0; i < 5; i++) {
		run_until(c, &now, &l, running);
		run_until(c, &now, &l, waiting);
		assert_int_equal(an_child_next_due(c, now) - now, want);
		assert_int_equal(an_child_stats(c)->crash_loop, i + 1 >= AN_CRASH_LOOP_EXITS);
		assert_non_null(strstr(an_child_stats(c)->last_error, "exited with status 1"));
		now = an_child_next_due(c, now);
		want *= 2;
	}
	assert_int_equal(an_child_stats(c)->exits, 5);
	/* A run of 30 s or more resets the backoff and the crash loop. */
	run_until(c, &now, &l, running);
	now += 31000 * MS;
	run_until(c, &now, &l, waiting);
	assert_int_equal(an_child_next_due(c, now) - now, 100 * MS);
	assert_int_equal(an_child_stats(c)->crash_loop, 0);
	an_child_free(c);
}

static int timed_out(struct an_child *c, struct lines *l)
{
	return an_child_stats(c)->timeouts == 1 && an_child_state(c) == AN_CHILD_WAITING;
}

static void stops_reading(void **state)
{
	char *argv[] = { "sleep", "1000", NULL };
	struct an_child *c = child("/bin/sleep", argv, 2, 500 * MS);
	struct lines l = { 0 };
	int64_t now = 1;
	size_t big = 4 << 20;  /* more than any pipe takes */
	char *text = malloc(big);
	assert_non_null(text);
	memset(text, 'x', big);
	assert_int_equal(an_child_enqueue(c, text, big), 0);
	assert_int_equal(an_child_enqueue(c, "b\n", 2), 0);
	assert_int_equal(an_child_enqueue(c, "c\n", 2), -1);  /* queue = 2 windows */
	run_until(c, &now, &l, running);
	an_child_service(c, now, on_line, &l);
	assert_true(an_child_stats(c)->bytes_in > 0 && an_child_stats(c)->bytes_in < big);
	/* Not yet at the timeout: still running. */
	now += 499 * MS;
	an_child_service(c, now, on_line, &l);
	assert_int_equal(an_child_state(c), AN_CHILD_RUNNING);
	assert_int_equal(an_child_next_due(c, now), 1 + 500 * MS);
	now += 1 * MS;
	run_until(c, &now, &l, timed_out);
	assert_non_null(strstr(an_child_stats(c)->last_error, "timeout"));
	assert_int_equal(an_child_stats(c)->windows_resent, 1);
	assert_int_equal(an_child_stats(c)->windows_delivered, 0);
	assert_int_equal(an_child_queue_len(c), 2);
	free(text);
	an_child_free(c);
}

static void over_long_line(void **state)
{
	/* stderr ends while the last stdout line is still partial: each
	 * stream keeps its own rest (a shared reset once lost "last"). */
	char *argv[] = { "sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x; echo; echo after; "
			 "echo oops >&2; printf 'last'; exec 2>&-; sleep 0.3", NULL };
	struct an_child *c = child("/bin/sh", argv, 2, 1000 * MS);
	struct lines l = { 0 };
	int64_t now = 1;
	an_child_finish(c);
	run_until(c, &now, &l, finished);
	assert_int_equal(l.too_long, 1);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.text[0], "after");
	assert_string_equal(l.text[1], "last");
	assert_int_equal(an_child_stats(c)->lines_too_long, 1);
	assert_int_equal(an_child_stats(c)->stderr_lines, 1);
	an_child_free(c);
}

static int closing(struct an_child *c, struct lines *l)
{
	return an_child_state(c) == AN_CHILD_CLOSING;
}

static void finish_deadline(void **state)
{
	/* Ignores the end of its input. */
	char *argv[] = { "sleep", "1000", NULL };
	struct an_child *c = child("/bin/sleep", argv, 2, 300 * MS);
	struct lines l = { 0 };
	int64_t now = 1;
	an_child_finish(c);
	run_until(c, &now, &l, closing);
	assert_int_equal(an_child_next_due(c, now), now + 300 * MS);
	now += 300 * MS;
	run_until(c, &now, &l, finished);
	assert_non_null(strstr(an_child_stats(c)->last_error, "did not exit"));
	an_child_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(windows_round_trip),
		cmocka_unit_test(clean_process),
		cmocka_unit_test(exec_failure),
		cmocka_unit_test(restart_backoff),
		cmocka_unit_test(stops_reading),
		cmocka_unit_test(over_long_line),
		cmocka_unit_test(finish_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
