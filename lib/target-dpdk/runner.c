/*
 * Pipeline threads. Each thread runs the pipelines handed to it in turn. An
 * idle thread backs off (short sleeps growing up to idle_max_us) so an idle
 * daemon does not burn a core; busy_poll keeps it spinning for benchmarks.
 *
 * The control thread changes a thread's pipeline list by publishing a new
 * immutable list and waiting until the thread reports, at the top of its loop,
 * that it uses that list: only then is the old list (and a removed pipeline)
 * out of the thread's hands. No locks on the data path.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <rte_lcore.h>
#include <rte_swx_ctl.h>
#include <rte_swx_pipeline.h>

#include "ipdk/log.h"
#include "ipdk/target_dpdk.h"
#include "pipeline_priv.h"

#define RUNNER_MAX_PIPELINES 16
#define RUNNER_INSTR_QUANTUM 256
#define RUNNER_IDLE_SPINS 2000      /* empty rounds before the first sleep */
#define RUNNER_FLUSH_EVERY 16       /* rounds between flushes while busy */

struct plist {
	uint64_t gen;
	unsigned int n;
	struct ipdk_dpdk_pipeline *pl[RUNNER_MAX_PIPELINES];
};

struct rthread {
	struct ipdk_dpdk_runner *r;
	unsigned int idx;
	int cpu;
	pthread_t tid;
	bool started;
	_Atomic(struct plist *) list;
	_Atomic uint64_t seen_gen;
	_Atomic uint64_t rounds;        /* completed loop iterations */
};

struct ipdk_dpdk_runner {
	struct ipdk_dpdk_runner_cfg cfg;
	atomic_bool stop;
	pthread_mutex_t ctl_lock;      /* serialises control-side changes only */
	uint64_t next_gen;
	unsigned int n_threads;
	struct rthread *threads;
};

static uint32_t idle_quantum(struct ipdk_dpdk_pipeline *pl)
{
	uint32_t n = ipdk_dpdk_pipeline_n_ports(pl);

	return n < 2 ? 2 : n;
}

static void flush_all(const struct plist *l)
{
	for (unsigned int i = 0; i < l->n; i++)
		rte_swx_pipeline_flush(ipdk_dpdk_pipeline_swx(l->pl[i]));
}

static void idle_sleep(unsigned int us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000 };

	nanosleep(&ts, NULL);
}

static void *thread_main(void *arg)
{
	struct rthread *t = arg;
	struct ipdk_dpdk_runner *r = t->r;
	const bool busy = r->cfg.busy_poll;
	const unsigned int idle_max = r->cfg.idle_max_us ? r->cfg.idle_max_us : 500;
	unsigned int empty_rounds = 0, sleep_us = 1, round = 0;

	if (rte_thread_register() < 0)
		IPDK_LOG_WARN("pipeline thread %u: no DPDK lcore id; buffer caches unused", t->idx);
	/* Wake from short sleeps on time, not 50 us late. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

	while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
		struct plist *l = atomic_load_explicit(&t->list, memory_order_acquire);

		atomic_store_explicit(&t->seen_gen, l->gen, memory_order_release);
		atomic_fetch_add_explicit(&t->rounds, 1, memory_order_release);
		if (!l->n) {
			idle_sleep(idle_max);
			continue;
		}
		/* Once asleep, a wake-up polls each input about once: on TAP ports
		 * every poll is a read() system call. A run is idle when all it did
		 * was poll empty inputs, which also means no packet was left in
		 * flight (a long program may keep one for many runs). */
		bool quiescing = false, idle = true;

		for (unsigned int i = 0; i < l->n; i++) {
			enum ipdk_dpdk_run res;

			res = ipdk_dpdk_pipeline_run(l->pl[i], empty_rounds < RUNNER_IDLE_SPINS ?
						     RUNNER_INSTR_QUANTUM :
						     idle_quantum(l->pl[i]), !busy);
			quiescing |= res == IPDK_DPDK_RUN_QUIESCING;
			idle &= res == IPDK_DPDK_RUN_IDLE;
		}
		round++;
		if (quiescing) {
			/* Packets in flight must leave now: no back-off. */
			empty_rounds = 0;
			sleep_us = 1;
			continue;
		}
		if (busy) {
			if (round % RUNNER_FLUSH_EVERY == 0)
				flush_all(l);
			continue;
		}
		if (!idle) {
			empty_rounds = 0;
			sleep_us = 1;
			if (round % RUNNER_FLUSH_EVERY == 0)
				flush_all(l);
			continue;
		}
		/* Nothing arrived this round: push out what is buffered, then back off. */
		flush_all(l);
		if (++empty_rounds < RUNNER_IDLE_SPINS)
			continue;
		idle_sleep(sleep_us);
		if (sleep_us < idle_max)
			sleep_us = sleep_us * 2 > idle_max ? idle_max : sleep_us * 2;
	}
	atomic_store_explicit(&t->seen_gen, UINT64_MAX, memory_order_release);
	rte_thread_unregister();
	return NULL;
}

static struct plist *plist_new(struct ipdk_dpdk_runner *r, const struct plist *from)
{
	struct plist *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	if (from)
		*l = *from;
	l->gen = ++r->next_gen;
	return l;
}

/* Publishes list l to thread t and waits until the thread runs with it. */
static void publish(struct rthread *t, struct plist *l)
{
	struct plist *old = atomic_exchange_explicit(&t->list, l, memory_order_acq_rel);

	while (t->started) {
		uint64_t seen = atomic_load_explicit(&t->seen_gen, memory_order_acquire);

		if (seen == l->gen || seen == UINT64_MAX)
			break;
		idle_sleep(50);
	}
	free(old);
}

int ipdk_dpdk_runner_start(const struct ipdk_dpdk_runner_cfg *cfg,
			   struct ipdk_dpdk_runner **out, struct ipdk_err *err)
{
	struct ipdk_dpdk_runner *r;
	int rc;

	if (cfg && cfg->n_threads > 64)
		return ipdk_err_set(err, -EINVAL, "pipeline threads: %u requested, at most 64",
				    cfg->n_threads);
	r = calloc(1, sizeof(*r));
	if (!r)
		return ipdk_err_set(err, -ENOMEM, "pipeline threads: out of memory");
	if (cfg)
		r->cfg = *cfg;
	r->n_threads = r->cfg.n_threads ? r->cfg.n_threads : 1;
	pthread_mutex_init(&r->ctl_lock, NULL);
	r->threads = calloc(r->n_threads, sizeof(*r->threads));
	if (!r->threads) {
		free(r);
		return ipdk_err_set(err, -ENOMEM, "pipeline threads: out of memory");
	}
	for (unsigned int i = 0; i < r->n_threads; i++) {
		struct rthread *t = &r->threads[i];

		t->r = r;
		t->idx = i;
		t->cpu = cfg && cfg->n_threads ? cfg->cpus[i] : -1;
		atomic_store(&t->list, plist_new(r, NULL));
		if (!atomic_load(&t->list)) {
			rc = ipdk_err_set(err, -ENOMEM, "pipeline threads: out of memory");
			goto fail;
		}
	}
	for (unsigned int i = 0; i < r->n_threads; i++) {
		struct rthread *t = &r->threads[i];
		char name[16];

		rc = -pthread_create(&t->tid, NULL, thread_main, t);
		if (rc) {
			ipdk_err_set(err, rc, "pipeline thread %u: cannot start: %s", i,
				     strerror(-rc));
			goto fail;
		}
		t->started = true;
		snprintf(name, sizeof(name), "ipdk-pipe%u", i);
		pthread_setname_np(t->tid, name);
		if (t->cpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(t->cpu, &set);
			rc = -pthread_setaffinity_np(t->tid, sizeof(set), &set);
			if (rc) {
				ipdk_err_set(err, rc, "pipeline thread %u: cannot pin to CPU %d: %s",
					     i, t->cpu, strerror(-rc));
				goto fail;
			}
		}
		IPDK_LOG_INFO("pipeline thread %u started%s%s", i,
			      t->cpu >= 0 ? " (pinned)" : "",
			      r->cfg.busy_poll ? ", busy polling" : "");
	}
	*out = r;
	return 0;

fail:
	ipdk_dpdk_runner_stop(r);
	return rc;
}

static struct rthread *find_thread(struct ipdk_dpdk_runner *r,
				   struct ipdk_dpdk_pipeline *pl, unsigned int *slot)
{
	for (unsigned int i = 0; i < r->n_threads; i++) {
		struct plist *l = atomic_load(&r->threads[i].list);

		for (unsigned int j = 0; j < l->n; j++)
			if (l->pl[j] == pl) {
				*slot = j;
				return &r->threads[i];
			}
	}
	return NULL;
}

int ipdk_dpdk_runner_add(struct ipdk_dpdk_runner *r, unsigned int thread,
			 struct ipdk_dpdk_pipeline *pl, struct ipdk_err *err)
{
	struct rthread *t;
	struct plist *l;
	unsigned int slot;
	int rc = 0;

	if (thread >= r->n_threads)
		return ipdk_err_set(err, -EINVAL, "pipeline %s: thread %u does not exist (%u threads)",
				    ipdk_dpdk_pipeline_name(pl), thread, r->n_threads);
	pthread_mutex_lock(&r->ctl_lock);
	if (find_thread(r, pl, &slot)) {
		rc = ipdk_err_set(err, -EEXIST, "pipeline %s is already running",
				  ipdk_dpdk_pipeline_name(pl));
		goto out;
	}
	t = &r->threads[thread];
	l = plist_new(r, atomic_load(&t->list));
	if (!l) {
		rc = ipdk_err_set(err, -ENOMEM, "pipeline threads: out of memory");
		goto out;
	}
	if (l->n == RUNNER_MAX_PIPELINES) {
		free(l);
		rc = ipdk_err_set(err, -ENOSPC, "pipeline thread %u runs %d pipelines already",
				  thread, RUNNER_MAX_PIPELINES);
		goto out;
	}
	l->pl[l->n++] = pl;
	publish(t, l);
	ipdk_dpdk_pipeline_set_rounds(pl, &t->rounds);
out:
	pthread_mutex_unlock(&r->ctl_lock);
	return rc;
}

void ipdk_dpdk_runner_remove(struct ipdk_dpdk_runner *r, struct ipdk_dpdk_pipeline *pl)
{
	struct rthread *t;
	struct plist *l;
	unsigned int slot;

	pthread_mutex_lock(&r->ctl_lock);
	t = find_thread(r, pl, &slot);
	if (t) {
		l = plist_new(r, atomic_load(&t->list));
		if (l) {
			memmove(&l->pl[slot], &l->pl[slot + 1], (l->n - slot - 1) * sizeof(l->pl[0]));
			l->n--;
			publish(t, l);
			ipdk_dpdk_pipeline_set_rounds(pl, NULL);
		}
	}
	pthread_mutex_unlock(&r->ctl_lock);
}

void ipdk_dpdk_runner_stop(struct ipdk_dpdk_runner *r)
{
	if (!r)
		return;
	atomic_store_explicit(&r->stop, true, memory_order_release);
	for (unsigned int i = 0; i < r->n_threads; i++) {
		struct rthread *t = &r->threads[i];

		struct plist *l = atomic_load(&t->list);

		if (t->started)
			pthread_join(t->tid, NULL);
		for (unsigned int j = 0; l && j < l->n; j++)
			ipdk_dpdk_pipeline_set_rounds(l->pl[j], NULL);
		free(l);
	}
	pthread_mutex_destroy(&r->ctl_lock);
	free(r->threads);
	free(r);
}
