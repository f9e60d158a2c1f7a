/*
 * supervisor.c — the master process.
 *
 * NOTES
 * The supervisor owns the process table (struct sup); shared memory only
 * mirrors it (pids in the stats slots). Its loop is the nginx/PostgreSQL
 * shape: signals arrive through a signalfd and are handled in the loop, never
 * in a handler; the loop polls the signalfd and the control socket.
 *
 * Crash policy (PostgreSQL postmaster): any pipeline process that dies
 * abnormally may have left a ring half-written, so the whole data plane is
 * killed, the rings are reset, and everything is started again from the
 * last complete checkpoint after a backoff (100 ms doubling to 30 s).
 * When the crashed process is behind the ingests (transform, aggregate,
 * writer) and it is not a crash loop, the ingests are parked instead of
 * killed and rewind to the checkpoint themselves (checkpoint.h): the same
 * result, without leaving and rejoining the Kafka consumer group, which
 * takes seconds. A process that exits with 78 (EX_CONFIG)
 * hit a fatal configuration problem: restarting cannot help, so ringflow
 * stops with that status. Five crashes in a row, each within 10 s of a
 * start and before any checkpoint completed, means the pipeline cannot run
 * at all: ringflow gives up with a message.
 *
 * Signals to the children: see "Signals between the supervisor and its
 * children" below; in short, children obey only the supervisor's own
 * realtime control signals, so a stop by process group (systemd) is the
 * same as a stop of the supervisor alone.
 *
 * Exit 0 from a pipeline process means "my input ended and I passed EOS
 * on"; when every process has exited 0 the run is over.
 */
#include "supervisor/supervisor.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pipeline/checkpoint.h"
#include "supervisor/layout.h"
#include "aggregate/aggregate.h"
#include "analyze/analyze.h"
#include "ingest/ingest.h"
#include "transform/transform.h"
#include "writer/writer.h"
#include "supervisor/ctl_server.h"
#include "supervisor/proctitle.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define BACKOFF_MIN_NS (100 * RF_NS_PER_MS)
#define BACKOFF_MAX_NS (30 * RF_NS_PER_SEC)
#define QUICK_CRASH_NS (10 * RF_NS_PER_SEC)
#define QUICK_CRASH_LIMIT 5
#define STOP_TIMEOUT_NS (120 * RF_NS_PER_SEC)
#define ABORT_GRACE_NS (2 * RF_NS_PER_SEC)

const char *const sup_state_names[SUP_STATE_COUNT] = { "running", "restarting", "backoff", "stopping",
							 "rewinding" };

/*
 * Signals between the supervisor and its children.
 *
 * systemd (KillMode=control-group), `kill -- -PGID` and Ctrl-C signal
 * every process of the group at once. The supervisor gets the same signal
 * and runs the graceful stop in its order: final checkpoint requested,
 * then "stop" to the ingests, which end their input with the final barrier
 * and EOS, which drains the other stages. A stage acting on its own copy
 * would break that order (an ingest stopping before the final checkpoint
 * was requested, a transform exiting before it drained), so children act
 * only on the supervisor's own control signals, realtime ones: those are
 * queued one by one with their sender, while a standard signal already
 * pending (the group's SIGTERM) would swallow the supervisor's SIGTERM
 * and its sender with it. SIGTERM, SIGUSR1 and SIGUSR2 from anyone are
 * noted in the log and ignored; SIGINT and SIGHUP are ignored.
 */
#define SIG_STOP (SIGRTMIN + 1)   /* ingest: stop consuming, drain; others: stop */
#define SIG_ABORT (SIGRTMIN + 2)  /* ingest: crash restart, leave the group now */
#define SIG_PARK (SIGRTMIN + 3)   /* ingest: park, rewind later (checkpoint.h) */

/* The supervisor, as the child saw it at fork. */
static pid_t child_sup_pid;
static volatile sig_atomic_t child_foreign_logged;
static char child_log_prefix[96];

/* async-signal-safe: the decimal digits of v into buf; returns the count. */
static size_t fmt_uint(char *buf, size_t len, unsigned long v)
{
	char tmp[24];
	size_t n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof tmp);
	size_t k = 0;
	while (n && k < len)
		buf[k++] = tmp[--n];
	return k;
}

static size_t put(char *line, size_t n, size_t cap, const char *s)
{
	while (*s && n < cap)
		line[n++] = *s++;
	return n;
}

/* The first ignored signal, once per process, straight to stderr with
 * write(2) (rf_log is not async-signal-safe), in rf_log's line format. */
static void child_note_foreign(int sig, pid_t from)
{
	if (child_foreign_logged)
		return;
	child_foreign_logged = 1;
	char line[256];
	size_t n = put(line, 0, sizeof line, child_log_prefix);
	const char *name = sig == SIGTERM   ? "SIGTERM"
			   : sig == SIGUSR1 ? "SIGUSR1"
			   : sig == SIGUSR2 ? "SIGUSR2"
					    : "a control signal";
	n = put(line, n, sizeof line, name);
	n = put(line, n, sizeof line, " from pid ");
	n += fmt_uint(line + n, sizeof line - n, (unsigned long)from);
	n = put(line, n, sizeof line, " ignored: only the supervisor stops the pipeline "
				      "(it got the signal too if it went to the process group)\n");
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

static void child_on_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	if ((sig != SIG_STOP && sig != SIG_ABORT && sig != SIG_PARK) || si->si_pid != child_sup_pid) {
		child_note_foreign(sig, si->si_pid);
		return;
	}
	if (sig == SIG_PARK) {
		rf_park_flag = 1;
		rf_interrupt_flag = 1;
		return;
	}
	if (sig == SIG_ABORT) {
		rf_abort_flag = 1;
		rf_interrupt_flag = 1;
	}
	rf_stop_requested = 1;
	rf_stop_flag = 1;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status %#x", status);
}

/* In the child, right after fork. Never returns. */
static void child_main(struct sup *s, struct sup_child *c, pid_t parent)
{
	char role[48];
	snprintf(role, sizeof role, "%s %d", rf_role_names[c->role], c->index);
	snprintf(child_log_prefix, sizeof child_log_prefix, "ringflow[%d] %s: info: ", (int)getpid(), role);
	child_sup_pid = parent;
	/* Handlers first, then unblock: the supervisor's mask (inherited)
	 * holds back whatever arrives in between, where the default action
	 * would kill us and look like a crash. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = child_on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	const int handled[] = { SIG_STOP, SIG_ABORT, SIG_PARK, SIGTERM, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++)
		sigaction(handled[i], &sa, NULL);
	/* Ctrl-C reaches the whole process group; only the supervisor decides. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	/* Die with the supervisor; and if it died before prctl, go now. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->ctl)
		sup_ctl_server_close_fds(s->ctl);
	rf_log_set_role(role);
	rf_proctitle_set("ringflow: %s", role);
	/* Before the role allocates anything: first-touch memory then comes
	 * from the pinned cpu's node. */
	sup_affinity_apply(s, (int)(c - s->children));

	struct rf_proc p = {
		.pl = s->pl,
		.seg = s->seg,
		.lay = &s->lay,
		.role = c->role,
		.index = c->index,
		.stats = rf_layout_stats(s->seg, &s->lay, c->role, c->index),
	};
	atomic_store(&p.stats->pid, (int32_t)getpid());
	rf_stat_note(p.stats, "");   /* a predecessor's note is not ours */
	atomic_store(&p.stats->state, RF_PS_RUNNING);
	int rc;
	switch (c->role) {
	case RF_ROLE_INGEST: rc = ing_run(&p); break;
	case RF_ROLE_TRANSFORM: rc = xf_run(&p); break;
	case RF_ROLE_AGGREGATE: rc = agg_run(&p); break;
	case RF_ROLE_ANALYZE: rc = an_run(&p); break;
	default: rc = wr_run(&p); break;
	}
	exit(rc);
}

static int start_child(struct sup *s, struct sup_child *c)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		rf_error("fork() for %s %d failed: %s", rf_role_names[c->role], c->index, strerror(errno));
		return -1;
	}
	if (pid == 0)
		child_main(s, c, parent);
	c->pid = pid;
	c->state = RF_PS_RUNNING;
	return 0;
}

/* Full waits children[i]'s output rings counted since their last reset. */
static uint64_t ring_waits_now(const struct sup *s, int i)
{
	const struct sup_child *c = &s->children[i];
	uint64_t n = 0;
	for (int k = 0; k < s->lay.nrings; k++)
		if (s->lay.rings[k].from_role == c->role && s->lay.rings[k].from == c->index)
			n += shm_ring_full_waits(shm_at(s->seg, s->lay.rings[k].off));
	return n;
}

uint64_t sup_ring_full_waits(const struct sup *s, int i)
{
	return s->ring_waits_base[i] + ring_waits_now(s, i);
}

/* Resetting the rings zeroes their counters: keep what they counted. */
static void reset_rings(struct sup *s)
{
	for (int i = 0; i < s->nchildren; i++)
		s->ring_waits_base[i] += ring_waits_now(s, i);
	rf_layout_reset_rings(s->seg, &s->lay);
}

static void start_plane(struct sup *s)
{
	char err[512];
	reset_rings(s);
	if (sup_ckpt_plane_start(s, err, sizeof err)) {
		rf_error("%s", err);
		s->exit_code = RF_EXIT_STATE;
		s->done = 1;
		return;
	}
	s->plane_started_ns = rf_mono_ns();
	s->plane_ckpts = s->ckpt.completed;
	s->state = SUP_RUNNING;
	/* Consumers first, so the rings have readers before ingest fills them. */
	for (int i = s->nchildren - 1; i >= 0; i--)
		if (start_child(s, &s->children[i])) {
			s->state = SUP_RESTARTING;
			return;
		}
	rf_info("data plane started: %d ingest, %d transform, %d aggregate, %d writer, %d analyzer host(s)",
		s->lay.n[RF_ROLE_INGEST], s->lay.n[RF_ROLE_TRANSFORM], s->lay.n[RF_ROLE_AGGREGATE],
		s->lay.n[RF_ROLE_WRITER], s->lay.n[RF_ROLE_ANALYZE]);
}

static void signal_all(struct sup *s, int sig)
{
	for (int i = 0; i < s->nchildren; i++)
		if (s->children[i].pid > 0)
			kill(s->children[i].pid, sig);
}

/* How a crash restart ends a stage that is not an ingest: at once, but an
 * analyzer host gets the stop signal and ABORT_GRACE_NS to hand on the
 * alerts it holds (analyze/analyze_proc.c): they are outside the
 * checkpoint, so a replay would not bring them back. */
static int crash_signal(enum rf_role role)
{
	return role == RF_ROLE_ANALYZE ? SIG_STOP : SIGKILL;
}

/* Crash restart: every stage dies now; ingests get ABORT_GRACE_NS to leave
 * the consumer group (SIG_ABORT), so their successors are assigned at once
 * instead of after the group's session timeout. */
static void abort_plane(struct sup *s)
{
	for (int i = 0; i < s->nchildren; i++) {
		struct sup_child *c = &s->children[i];
		if (c->pid > 0)
			kill(c->pid, c->role == RF_ROLE_INGEST ? SIG_ABORT : crash_signal(c->role));
	}
	s->abort_deadline_ns = rf_mono_ns() + ABORT_GRACE_NS;
}

static int ingests_running(const struct sup *s)
{
	for (int i = 0; i < s->nchildren; i++)
		if (s->children[i].role == RF_ROLE_INGEST && s->children[i].pid <= 0)
			return 0;
	return 1;
}

/* A stage behind the ingests crashed: park the ingests, kill the rest. */
static void rewind_plane(struct sup *s)
{
	struct rf_ckpt_ctl *c = shm_at(s->seg, s->lay.ckpt);
	atomic_store(&c->park_gen, ++s->rewind_gen);
	for (int i = 0; i < s->nchildren; i++) {
		struct sup_child *ch = &s->children[i];
		if (ch->pid > 0)
			kill(ch->pid, ch->role == RF_ROLE_INGEST ? SIG_PARK : crash_signal(ch->role));
	}
	s->state = SUP_REWINDING;
	s->abort_deadline_ns = rf_mono_ns() + ABORT_GRACE_NS;
}

/* Every other stage is gone and every ingest parked: restart the stages on
 * reset rings from the checkpoint and let the ingests rewind. */
static void finish_rewind(struct sup *s)
{
	char err[512];
	struct rf_ckpt_ctl *c = shm_at(s->seg, s->lay.ckpt);
	reset_rings(s);
	if (sup_ckpt_plane_start(s, err, sizeof err)) {
		rf_error("%s", err);
		abort_plane(s);
		s->exit_code = RF_EXIT_STATE;
		s->state = SUP_RESTARTING;
		s->done = -1;
		return;
	}
	s->plane_started_ns = rf_mono_ns();
	s->plane_ckpts = s->ckpt.completed;
	s->restarts++;
	s->state = SUP_RUNNING;
	for (int i = s->nchildren - 1; i >= 0; i--)
		if (s->children[i].role != RF_ROLE_INGEST && start_child(s, &s->children[i])) {
			abort_plane(s);
			s->state = SUP_RESTARTING;
			return;
		}
	atomic_store(&c->resume_gen, s->rewind_gen);
	rf_info("stages restarted from checkpoint %llu; the ingests kept their partitions and rewind",
		(unsigned long long)s->ckpt.last.id);
}

static int running_children(const struct sup *s)
{
	int n = 0;
	for (int i = 0; i < s->nchildren; i++)
		n += s->children[i].pid > 0;
	return n;
}

void sup_request_stop(struct sup *s, const char *why)
{
	if (s->state == SUP_STOPPING) {
		rf_warn("%s again: stopping now without draining", why);
		signal_all(s, SIGKILL);
		s->exit_code = 1;
		s->done = 1;
		return;
	}
	if (s->state != SUP_RUNNING) {
		rf_info("%s: data plane is down, exiting", why);
		signal_all(s, SIGKILL);
		s->done = 1;
		return;
	}
	rf_info("%s: stopping (draining the pipeline)", why);
	sup_ckpt_final(s);
	s->state = SUP_STOPPING;
	s->stop_deadline_ns = rf_mono_ns() + STOP_TIMEOUT_NS;
	for (int i = 0; i < s->nchildren; i++)
		if (s->children[i].role == RF_ROLE_INGEST && s->children[i].pid > 0)
			kill(s->children[i].pid, SIG_STOP);
}

static void on_child_exit(struct sup *s, struct sup_child *c, int status)
{
	char how[96];
	describe_status(status, how, sizeof how);
	c->pid = 0;
	c->last_status = status;
	struct rf_stats_slot *st = rf_layout_stats(s->seg, &s->lay, c->role, c->index);
	atomic_store(&st->pid, 0);
	int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	c->state = clean ? RF_PS_EXITED : RF_PS_CRASHED;
	atomic_store(&st->state, (int32_t)c->state);
	if (clean) {
		rf_debug("%s %d finished", rf_role_names[c->role], c->index);
		return;
	}
	if (s->state == SUP_RESTARTING || (s->state == SUP_REWINDING && c->role != RF_ROLE_INGEST))
		return; /* we killed it */
	if (WIFEXITED(status) && (WEXITSTATUS(status) == CONF_EXIT_CONFIG || WEXITSTATUS(status) == RF_EXIT_STATE)) {
		rf_error("%s %d: fatal %s error (%s); restarting cannot help, stopping ringflow",
			 rf_role_names[c->role], c->index,
			 WEXITSTATUS(status) == CONF_EXIT_CONFIG ? "configuration" : "checkpoint store", how);
		signal_all(s, SIGKILL);
		s->exit_code = WEXITSTATUS(status);
		s->state = SUP_RESTARTING;
		s->done = -1; /* exit once everything is reaped */
		return;
	}
	if (s->state == SUP_STOPPING && s->ending) {
		/* Nobody asked to stop: the input ended. Restarted from the last
		 * checkpoint, the data plane reads to the same ends and ends
		 * again, so the run still finishes with every window. */
		rf_error("%s %d crashed while the bounded input was ending (%s); restarting the data plane "
			 "from the last checkpoint to end again", rf_role_names[c->role], c->index, how);
		c->restarts++;
		s->ending = 0;
		abort_plane(s);
		s->state = SUP_RESTARTING;
		return;
	}
	if (s->state == SUP_STOPPING) {
		rf_error("%s %d died during shutdown (%s)", rf_role_names[c->role], c->index, how);
		signal_all(s, SIGKILL);
		s->exit_code = 1;
		s->state = SUP_RESTARTING;
		s->done = -1;
		return;
	}
	c->restarts++;
	rf_error("%s %d crashed: %s; restarting the data plane from the last checkpoint",
		 rf_role_names[c->role], c->index, how);
	if (s->state == SUP_RUNNING && rf_mono_ns() - s->plane_started_ns < QUICK_CRASH_NS &&
	    s->ckpt.completed == s->plane_ckpts)
		s->quick_crashes++;
	else if (s->state == SUP_RUNNING) {
		s->quick_crashes = 1;
		s->backoff_ns = BACKOFF_MIN_NS;
	}
	if (c->role != RF_ROLE_INGEST && s->state == SUP_RUNNING && s->ckpt.store && s->quick_crashes <= 1 &&
	    ingests_running(s)) {
		rewind_plane(s);
		return;
	}
	abort_plane(s);
	s->state = SUP_RESTARTING;
}

static void reap(struct sup *s)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < s->nchildren; i++)
			if (s->children[i].pid == pid) {
				on_child_exit(s, &s->children[i], status);
				break;
			}
	}
}

static void tick(struct sup *s)
{
	/* Acks first: a stopping pipeline's last acks come just before exit. */
	sup_ckpt_tick(s);
	int64_t now = rf_mono_ns();
	int alive = running_children(s);
	switch (s->state) {
	case SUP_RUNNING:
		if (alive == 0) {
			rf_info("input ended and the pipeline drained; exiting");
			s->done = 1;
		} else if (sup_input_ended(s)) {
			sup_request_stop(s, "stop_at = end: every partition was read to its end");
			s->ending = 1;
		}
		break;
	case SUP_STOPPING:
		if (alive == 0) {
			if (sup_ckpt_final_pending(s) || sup_ckpt_final_failed(s)) {
				rf_error("stopped, but the final checkpoint did not complete; the next start "
					 "resumes from checkpoint %llu", (unsigned long long)s->ckpt.last.id);
				s->exit_code = 1;
			} else {
				rf_info("stopped cleanly");
			}
			s->done = 1;
		} else if (now > s->stop_deadline_ns) {
			rf_error("pipeline did not drain within %llds (output down?); killing it",
				 (long long)(STOP_TIMEOUT_NS / RF_NS_PER_SEC));
			signal_all(s, SIGKILL);
			s->exit_code = 1;
			s->done = -1;
			s->state = SUP_RESTARTING;
		}
		break;
	case SUP_RESTARTING:
		if (alive && now > s->abort_deadline_ns) {
			signal_all(s, SIGKILL);
			s->abort_deadline_ns = INT64_MAX;
		}
		if (alive)
			break;
		if (s->done == -1) {
			s->done = 1;
			break;
		}
		if (s->quick_crashes >= QUICK_CRASH_LIMIT) {
			rf_error("the data plane crashed %u times in a row within %llds of starting; giving up "
				 "(see the errors above)", s->quick_crashes, (long long)(QUICK_CRASH_NS / RF_NS_PER_SEC));
			s->exit_code = 1;
			s->done = 1;
			break;
		}
		s->state = SUP_BACKOFF;
		s->backoff_until_ns = now + s->backoff_ns;
		rf_info("restarting the data plane in %lld ms", (long long)(s->backoff_ns / RF_NS_PER_MS));
		s->backoff_ns = s->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : s->backoff_ns * 2;
		break;
	case SUP_REWINDING: {
		struct rf_ckpt_ctl *c = shm_at(s->seg, s->lay.ckpt);
		int waiting = 0;
		for (int i = 0; i < s->nchildren; i++) {
			const struct sup_child *ch = &s->children[i];
			if (ch->role != RF_ROLE_INGEST)
				waiting += ch->pid > 0;
			else
				waiting += atomic_load(&c->parked[ch->index]) < s->rewind_gen;
		}
		if (!waiting) {
			finish_rewind(s);
		} else if (now > s->abort_deadline_ns) {
			rf_warn("the ingests did not park within %lld ms; restarting the whole data plane",
				(long long)(ABORT_GRACE_NS / RF_NS_PER_MS));
			abort_plane(s);
			s->state = SUP_RESTARTING;
		}
		break;
	}
	case SUP_BACKOFF:
		if (now >= s->backoff_until_ns) {
			s->restarts++;
			start_plane(s);
		}
		break;
	default:
		break;
	}
	if (now - s->last_rate_ns >= RF_NS_PER_SEC) {
		double dt = s->last_rate_ns ? (double)(now - s->last_rate_ns) / 1e9 : 1.0;
		for (int i = 0; i < s->nchildren; i++) {
			struct sup_child *c = &s->children[i];
			struct rf_stats_slot *st = rf_layout_stats(s->seg, &s->lay, c->role, c->index);
			static const enum rf_stat main_stat[RF_ROLE_COUNT] = {
				RF_ST_LINES_IN, RF_ST_RECORDS, RF_ST_ROWS_IN, RF_ST_POINTS_WRITTEN, RF_ST_AN_WINDOWS
			};
			uint64_t v = rf_stat_get(st, main_stat[c->role]);
			s->rate[i].per_sec = s->last_rate_ns ? (double)(v - s->rate[i].prev) / dt : 0;
			s->rate[i].prev = v;
		}
		s->last_rate_ns = now;
	}
}

int sup_run(struct rf_pipeline *pl, int reset_state)
{
	static struct sup s;
	char err[512];
	memset(&s, 0, sizeof s);
	s.pl = pl;
	s.listen_fd = -1;
	s.backoff_ns = BACKOFF_MIN_NS;
	s.started_ns = rf_mono_ns();
	rf_proctitle_set("ringflow: supervisor");

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	/* The default action of these would end the supervisor (kill -USR1
	 * -- -PGID); blocked here, they also reach a new child only once its
	 * handler is in (the mask is inherited, see child_main). */
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIG_STOP);
	sigaddset(&mask, SIG_ABORT);
	sigaddset(&mask, SIG_PARK);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* signalfd only sees a signal whose action is not "ignore": a shell
	 * starts background commands with SIGINT ignored, nohup SIGHUP. We
	 * handle each of them in the loop, as a daemon does whoever started
	 * it (they are blocked, so the default action never runs). */
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&mask, sig) == 1 && sig != SIGCHLD)
			signal(sig, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		rf_error("signalfd() failed: %s", strerror(errno));
		return 1;
	}
	s.seg = rf_layout_create(&pl->conf, &s.lay, err, sizeof err);
	if (!s.seg) {
		rf_error("shared memory: %s", err);
		return 1;
	}
	for (int r = 0; r < RF_ROLE_COUNT; r++)
		for (int i = 0; i < s.lay.n[r]; i++) {
			struct sup_child *c = &s.children[s.nchildren++];
			c->role = (enum rf_role)r;
			c->index = i;
		}
	sup_affinity_plan(&s);
	if (sup_control_open(&s, err, sizeof err)) {
		rf_error("control socket: %s", err);
		shm_segment_destroy(s.seg);
		return 1;
	}
	if (sup_ckpt_open(&s, reset_state, err, sizeof err)) {
		rf_error("%s", err);
		sup_control_close(&s);
		shm_segment_destroy(s.seg);
		return RF_EXIT_STATE;
	}
	rf_info("ringflow %s starting (config %s, control socket %s)", pl->conf.ringflow.name, pl->conf.path,
		s.sock_path);
	start_plane(&s);

	while (!s.done) {
		struct pollfd pfd[2 + SUP_CTL_MAX_CLIENTS] = { { .fd = sfd, .events = POLLIN } };
		int nctl = sup_control_pollfds(&s, pfd + 1, SUP_CTL_MAX_CLIENTS + 1);
		/* Poll faster while a checkpoint waits for its last acks or the
		 * ingests for the restarted stages, and while a bounded input
		 * may end (the stop follows at once); and no later than the next
		 * control connection deadline. */
		int ms = s.ckpt.inflight || s.ckpt.final || s.state == SUP_REWINDING ? 5
			 : pl->conf.input.stop_at == CONF_STOP_END ? 20 : 200;
		int n = poll(pfd, (nfds_t)(1 + nctl), sup_control_timeout_ms(&s, ms));
		if (n < 0 && errno != EINTR) {
			rf_error("poll() failed: %s", strerror(errno));
			break;
		}
		if (n > 0 && (pfd[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGCHLD)
					reap(&s);
				else if (si.ssi_signo == SIGHUP)
					rf_warn("SIGHUP: reload is not supported in this version; restart ringflow to apply a new config");
				else if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
					sup_request_stop(&s, si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
				else
					RF_LOG_RL(RF_LOG_WARN, "signal %u (%s) from pid %u ignored", si.ssi_signo,
						  strsignal((int)si.ssi_signo), si.ssi_pid);
			}
		}
		/* Also on n == 0: the connection deadlines. */
		sup_control_serve(&s, n > 0 ? pfd + 1 : NULL, n > 0 ? nctl : 0);
		reap(&s);
		tick(&s);
	}
	signal_all(&s, SIGKILL);
	while (running_children(&s)) {
		pid_t pid = waitpid(-1, NULL, 0);
		if (pid <= 0)
			break;
		for (int i = 0; i < s.nchildren; i++)
			if (s.children[i].pid == pid)
				s.children[i].pid = 0;
	}
	sup_control_close(&s);
	sup_ckpt_close(&s);
	shm_segment_destroy(s.seg);
	close(sfd);
	rf_info("exit %d", s.exit_code);
	return s.exit_code;
}
