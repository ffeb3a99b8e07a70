/*
 * Volumes that could not be reopened when storaged restarted. Their devices
 * are served by a stand-in block device with the geometry the guest or host
 * saw (volume.c), and this file's thread keeps trying to open the remote
 * ones in the background: every SMA_RETRY_DELAY_MS, until the initiator's
 * controller-loss timeout has passed since the restore. When the volume
 * opens with the same size its stand-in passes the held I/O on to it and the
 * device is served normally again; when the time is up, or the target
 * answers twice that it has no such namespace, or the size changed, the
 * stand-in fails its I/O with -EIO and the device stays listed as failed.
 *
 * An attempt (discovery, connect) blocks for up to the connect timeout, so
 * it runs here without the agent's lock, on a copy of the volume; the
 * outcome is applied under the lock to the volume found again by its id, so
 * a device deleted or a volume detached meanwhile is simply not found (and
 * whoever removes one waits for an attempt on it to end: sma_retry_forget).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ipdk/log.h"
#include "sma_internal.h"

uint64_t sma_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Calls fn on every volume of every device until it returns non-NULL (under the lock). */
static struct sma_volume *each_volume(struct ipdk_sma *sma,
				      struct sma_volume *(*fn)(struct sma_volume *v, void *arg),
				      void *arg)
{
	struct sma_volume *r;

	for (struct sma_device *d = sma->devices; d; d = d->next)
		if (d->vblk && (r = fn(&d->vol, arg)))
			return r;
	for (struct sma_nvmf_dev *n = sma->nvmf_devs; n; n = n->next)
		for (unsigned int i = 0; i < n->n_vols; i++)
			if ((r = fn(&n->vols[i], arg)))
				return r;
	return NULL;
}

static struct sma_volume *earliest(struct sma_volume *v, void *arg)
{
	struct sma_volume **best = arg;

	if (v->retry && (!*best || v->retry_next_ns < (*best)->retry_next_ns))
		*best = v;
	return NULL;
}

static struct sma_volume *by_id(struct sma_volume *v, void *arg)
{
	return v->retry && !memcmp(v->id, arg, 16) ? v : NULL;
}

/* Ends the volume's retrying with its I/O failing (under the lock). */
static void give_up(struct sma_volume *v, const char *why)
{
	char msg[160];

	v->retry = false;
	ipdk_blk_standin_fail(v->standin, NULL);
	snprintf(msg, sizeof(msg), "%s", why);
	sma_reason_set(v->failed, sizeof(v->failed), msg);
	IPDK_LOG_ERR("sma: volume %s: given up, its I/O fails: %s", v->id_text, v->failed);
}

/* Applies an attempt's outcome to v (under the lock); try holds the opened
 * base. Returns true when the caller must close try (not taken). */
static bool outcome(struct ipdk_sma *sma, struct sma_volume *v, struct sma_volume *try,
		    int rc, struct ipdk_err *e)
{
	char why[200];

	if (rc == 0 && ipdk_blk_standin_attach(v->standin, try->dev, e) == 0) {
		v->dev = try->dev;
		snprintf(v->bdev, sizeof(v->bdev), "%s", try->bdev);
		v->retry = false;
		v->failed[0] = 0;
		IPDK_LOG_INFO("sma: volume %s is back (%s); held I/O goes on", v->id_text, v->bdev);
		return false;
	}
	if (rc == 0) {
		/* opened, but not the volume the guest knew */
		give_up(v, e->msg);
		return true;
	}
	if (rc == -ENOENT && v->retry_enoent) {
		give_up(v, e->msg);
		return false;
	}
	v->retry_enoent = rc == -ENOENT;
	if (sma_now_ns() >= v->retry_until_ns) {
		snprintf(why, sizeof(why), "not back within %u ms: %s", sma->cfg.ctrl_loss_tmo_ms,
			 e->msg);
		give_up(v, why);
		return false;
	}
	sma_reason_set(v->failed, sizeof(v->failed), e->msg);
	v->retry_next_ns = sma_now_ns() + SMA_RETRY_DELAY_MS * 1000000ull;
	return false;
}

static void wait_until(struct ipdk_sma *sma, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	pthread_cond_timedwait(&sma->retry_cond, &sma->lock, &ts);
}

static void *retry_thread(void *arg)
{
	struct ipdk_sma *sma = arg;

	pthread_mutex_lock(&sma->lock);
	while (!sma->retry_stopping) {
		struct sma_volume *v = NULL, try;
		struct ipdk_err e = { 0 };
		bool drop;
		int rc;

		each_volume(sma, earliest, &v);
		if (!v) {
			pthread_cond_wait(&sma->retry_cond, &sma->lock);
			continue;
		}
		if (v->retry_next_ns > sma_now_ns()) {
			wait_until(sma, v->retry_next_ns);
			continue;
		}
		/* a copy with the parameters only: the attempt makes its own base device */
		memset(&try, 0, sizeof(try));
		memcpy(try.id, v->id, 16);
		memcpy(try.id_text, v->id_text, sizeof(try.id_text));
		try.remote = v->remote;
		memcpy(try.subnqn, v->subnqn, sizeof(try.subnqn));
		memcpy(try.hostnqn, v->hostnqn, sizeof(try.hostnqn));
		try.n_endpoints = v->n_endpoints;
		memcpy(try.ep, v->ep, sizeof(try.ep));
		memcpy(try.name, v->name, sizeof(try.name));
		try.queues = v->queues;
		memcpy(sma->retry_busy_id, v->id, 16);
		sma->retry_busy = true;
		pthread_mutex_unlock(&sma->lock);

		rc = sma_volume_open_base(sma, &try, try.name, try.queues, &e);
		IPDK_LOG_DEBUG("sma: volume %s: retry: %s", try.id_text, rc ? e.msg : "opened");

		pthread_mutex_lock(&sma->lock);
		v = each_volume(sma, by_id, try.id);
		/* not found: deleted or detached meanwhile */
		drop = v ? outcome(sma, v, &try, rc, &e) : rc == 0;
		if (drop) {
			/* closing a controller takes a while: not under the lock */
			pthread_mutex_unlock(&sma->lock);
			sma_volume_close(&try);
			pthread_mutex_lock(&sma->lock);
		}
		sma->retry_busy = false;
		pthread_cond_broadcast(&sma->retry_cond);
	}
	pthread_mutex_unlock(&sma->lock);
	return NULL;
}

int sma_retry_start(struct ipdk_sma *sma, struct ipdk_err *err)
{
	int rc;

	if (sma->retry_started)
		return 0;
	rc = -pthread_create(&sma->retry_thread, NULL, retry_thread, sma);
	if (rc)
		return ipdk_err_set(err, rc, "sma: cannot start the volume retry thread");
	sma->retry_started = true;
	return 0;
}

void sma_retry_kick(struct ipdk_sma *sma)
{
	pthread_mutex_lock(&sma->lock);
	pthread_cond_broadcast(&sma->retry_cond);
	pthread_mutex_unlock(&sma->lock);
}

void sma_retry_stop(struct ipdk_sma *sma)
{
	if (!sma->retry_started)
		return;
	pthread_mutex_lock(&sma->lock);
	sma->retry_stopping = true;
	pthread_cond_broadcast(&sma->retry_cond);
	pthread_mutex_unlock(&sma->lock);
	pthread_join(sma->retry_thread, NULL);
	sma->retry_started = false;
}

void sma_retry_forget(struct ipdk_sma *sma, struct sma_volume *vol)
{
	pthread_mutex_lock(&sma->lock);
	vol->retry = false;
	while (sma->retry_busy && !memcmp(sma->retry_busy_id, vol->id, 16))
		pthread_cond_wait(&sma->retry_cond, &sma->lock);
	pthread_mutex_unlock(&sma->lock);
}
