/*
 * doorbell.c — futex-based sleep/wake shared by processes (see doorbell.h for
 * the protocol). Called by every data-plane process; only wait() blocks.
 */
#include "shm/doorbell.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* glibc has no wrapper. The word is shared between processes, hence the
 * plain FUTEX_WAIT/FUTEX_WAKE (no FUTEX_PRIVATE_FLAG). */
static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, 0);
}

void shm_doorbell_init(struct shm_doorbell *bell)
{
	atomic_init(&bell->seq, 0);
	atomic_init(&bell->armed, 0);
	for (unsigned i = 0; i < sizeof(bell->reserved) / sizeof(bell->reserved[0]); i++)
		bell->reserved[i] = 0;
}

uint32_t shm_doorbell_prepare(struct shm_doorbell *bell)
{
	/* Acquire pairs with the release increment in shm_doorbell_ring(): if we
	 * already see a bump, we also see what that notifier published. */
	uint32_t seq = atomic_load_explicit(&bell->seq, memory_order_acquire);
	/* Partner: the notifier's load/exchange of armed after F2. */
	atomic_store_explicit(&bell->armed, 1, memory_order_seq_cst);
	/* F1: orders the increment above before the caller's re-check loads. */
	atomic_thread_fence(memory_order_seq_cst);
	return seq;
}

int shm_doorbell_wait(struct shm_doorbell *bell, uint32_t seq, int64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;
	if (timeout_ns >= 0) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
		ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
		tsp = &ts;
	}
	int rc = 0;
	/* EAGAIN: seq already moved (a wake raced us) - that is a wake-up. */
	if (futex(&bell->seq, FUTEX_WAIT, seq, tsp) == -1) {
		if (errno == ETIMEDOUT)
			rc = -ETIMEDOUT;
		else if (errno == EINTR)
			rc = -EINTR;
	}
	/* armed stays as it is: a notifier cleared it to wake us, or (timeout,
	 * signal) the next notifier clears it with one spurious wake. */
	return rc;
}

void shm_doorbell_cancel(struct shm_doorbell *bell)
{
	/* Nothing to undo: clearing armed could cancel another waiter's
	 * arming (doorbell.h). */
	(void)bell;
}

void shm_doorbell_ring(struct shm_doorbell *bell)
{
	/* F2: orders the caller's release store of its ring index before the
	 * load of armed (partner: F1 in shm_doorbell_prepare). */
	atomic_thread_fence(memory_order_seq_cst);
	/* The plain load keeps the common case (nobody asleep) read-only, so
	 * the line stays shared. */
	if (atomic_load_explicit(&bell->armed, memory_order_relaxed) != 0)
		shm_doorbell_wake_armed(bell);
}

void shm_doorbell_wake_armed(struct shm_doorbell *bell)
{
	/* Only one notifier wins the exchange and pays the syscall for this
	 * sleep. */
	if (atomic_exchange_explicit(&bell->armed, 0, memory_order_relaxed) == 0)
		return;
	/* Release pairs with the acquire load of seq in prepare(). */
	atomic_fetch_add_explicit(&bell->seq, 1, memory_order_release);
	futex(&bell->seq, FUTEX_WAKE, INT_MAX, NULL);
}

uint32_t shm_doorbell_wakes(const struct shm_doorbell *bell)
{
	return atomic_load_explicit((_Atomic uint32_t *)&bell->seq, memory_order_relaxed);
}
