/*
 * The StorageManagementAgent gRPC service on a lib/rpc server of its own.
 * Each call is queued for the agent's thread (the callbacks run on gRPC
 * workers, which must not wait for a hotplug or a target) and answered from
 * there, so requests run one at a time in arrival order. Errors carry the
 * gRPC code lib/rpc maps the errno to, with a message naming the device or
 * volume and the reason (docs/sma.md has the table).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ipdk/log.h"
#include "sma_internal.h"

#define SMA_JOBS_MAX 256   /* requests waiting for the agent's thread */

struct sma_job {
	struct ipdk_rpc_call *call;
	void (*run)(struct ipdk_sma *sma, struct ipdk_rpc_call *call);
	struct sma_job *next;
};

static void finish_err(struct ipdk_rpc_call *call, const char *what, struct ipdk_err *err)
{
	IPDK_LOG_INFO("sma: %s refused (%s): %s", what,
		      ipdk_rpc_code_name(ipdk_rpc_code_from_errno(err->code)), err->msg);
	ipdk_rpc_finish_err(call, err);
}

/* ---- the methods (on the agent's thread) ------------------------------------- */

static bool is_nvmf(const char *handle)
{
	return handle && !strncmp(handle, SMA_NVMF_TCP_PREFIX, strlen(SMA_NVMF_TCP_PREFIX));
}

static void run_create(struct ipdk_sma *sma, struct ipdk_rpc_call *call)
{
	const Sma__CreateDeviceRequest *req = (const void *)ipdk_rpc_call_request(call);
	Sma__CreateDeviceResponse resp = SMA__CREATE_DEVICE_RESPONSE__INIT;
	char handle[240];
	struct ipdk_err err;
	int rc;

	if (req->params_case == SMA__CREATE_DEVICE_REQUEST__PARAMS_NVMF_TCP)
		rc = sma_nvmf_create(sma, req, handle, &err);
	else
		rc = sma_device_create(sma, req, handle, &err);
	if (rc)
		return finish_err(call, "CreateDevice", &err);
	resp.handle = handle;
	ipdk_rpc_reply(call, &resp.base);
}

static void run_delete(struct ipdk_sma *sma, struct ipdk_rpc_call *call)
{
	const Sma__DeleteDeviceRequest *req = (const void *)ipdk_rpc_call_request(call);
	Sma__DeleteDeviceResponse resp = SMA__DELETE_DEVICE_RESPONSE__INIT;
	struct ipdk_err err;

	if (is_nvmf(req->handle) ? sma_nvmf_delete(sma, req->handle, &err) :
	    sma_device_delete(sma, req->handle, &err))
		return finish_err(call, "DeleteDevice", &err);
	ipdk_rpc_reply(call, &resp.base);
}

static void run_attach(struct ipdk_sma *sma, struct ipdk_rpc_call *call)
{
	const Sma__AttachVolumeRequest *req = (const void *)ipdk_rpc_call_request(call);
	Sma__AttachVolumeResponse resp = SMA__ATTACH_VOLUME_RESPONSE__INIT;
	struct sma_nvmf_dev *nd;
	struct sma_volume vol;
	struct sma_device *d;
	struct ipdk_err err;

	if (!req->volume) {
		ipdk_err_set(&err, -EINVAL, "AttachVolume: no volume given");
		return finish_err(call, "AttachVolume", &err);
	}
	if (is_nvmf(req->device_handle)) {
		if (sma_nvmf_find(sma, req->device_handle, &nd, &err) ||
		    sma_nvmf_attach(sma, nd, req->volume, &err))
			return finish_err(call, "AttachVolume", &err);
		return (void)ipdk_rpc_reply(call, &resp.base);
	}
	if (sma_device_find(sma, req->device_handle, &d, &err))
		return finish_err(call, "AttachVolume", &err);
	if (sma_volume_parse(sma, req->volume, &vol, &err))
		return finish_err(call, "AttachVolume", &err);
	if (memcmp(vol.id, d->vol.id, 16)) {
		ipdk_err_set(&err, -EBUSY, "device %s holds volume %s: a virtio-blk device keeps "
			     "the volume it was created with (delete the device and create one "
			     "for volume %s)", d->handle, d->vol.id_text, vol.id_text);
		return finish_err(call, "AttachVolume", &err);
	}
	ipdk_rpc_reply(call, &resp.base);   /* attached already */
}

static void run_detach(struct ipdk_sma *sma, struct ipdk_rpc_call *call)
{
	const Sma__DetachVolumeRequest *req = (const void *)ipdk_rpc_call_request(call);
	Sma__DetachVolumeResponse resp = SMA__DETACH_VOLUME_RESPONSE__INIT;
	struct sma_nvmf_dev *nd;
	struct sma_device *d;
	struct ipdk_err err;
	uint8_t id[16];
	char text[37];

	if (sma_volume_id(&req->volume_id, id, &err))
		return finish_err(call, "DetachVolume", &err);
	if (is_nvmf(req->device_handle)) {
		if (sma_nvmf_find(sma, req->device_handle, &nd, &err) ||
		    sma_nvmf_detach(sma, nd, id, &err))
			return finish_err(call, "DetachVolume", &err);
		return (void)ipdk_rpc_reply(call, &resp.base);
	}
	if (sma_device_find(sma, req->device_handle, &d, &err))
		return finish_err(call, "DetachVolume", &err);
	if (!memcmp(id, d->vol.id, 16)) {
		ipdk_err_set(&err, -EBUSY, "device %s: a virtio-blk device cannot be left without "
			     "its volume %s (delete the device instead)", d->handle, d->vol.id_text);
		return finish_err(call, "DetachVolume", &err);
	}
	ipdk_sma_uuid_format(id, text);
	IPDK_LOG_DEBUG("sma: volume %s is not on %s: detached already", text, d->handle);
	ipdk_rpc_reply(call, &resp.base);
}

static void run_set_qos(struct ipdk_sma *sma, struct ipdk_rpc_call *call)
{
	const Sma__SetQosRequest *req = (const void *)ipdk_rpc_call_request(call);
	Sma__SetQosResponse resp = SMA__SET_QOS_RESPONSE__INIT;
	struct ipdk_err err;

	if (sma_qos_set(sma, req, &err))
		return finish_err(call, "SetQos", &err);
	ipdk_rpc_reply(call, &resp.base);
}

static void run_qos_caps(struct ipdk_sma *sma, struct ipdk_rpc_call *call)
{
	const Sma__GetQosCapabilitiesRequest *req = (const void *)ipdk_rpc_call_request(call);
	Sma__GetQosCapabilitiesResponse resp = SMA__GET_QOS_CAPABILITIES_RESPONSE__INIT;
	Sma__GetQosCapabilitiesResponse__QosCapabilities dev =
		SMA__GET_QOS_CAPABILITIES_RESPONSE__QOS_CAPABILITIES__INIT;
	Sma__GetQosCapabilitiesResponse__QosCapabilities vol =
		SMA__GET_QOS_CAPABILITIES_RESPONSE__QOS_CAPABILITIES__INIT;
	struct ipdk_err err;

	(void)sma;
	if (sma_qos_caps(req->device_type, &dev, &vol, &err))
		return finish_err(call, "GetQosCapabilities", &err);
	resp.max_device_caps = &dev;
	resp.max_volume_caps = &vol;
	ipdk_rpc_reply(call, &resp.base);
}

/* ---- queueing ---------------------------------------------------------------- */

static void *agent_thread(void *arg)
{
	struct ipdk_sma *sma = arg;

	pthread_mutex_lock(&sma->lock);
	for (;;) {
		struct sma_job *j;

		while (!sma->jobs && !sma->stopping)
			pthread_cond_wait(&sma->cond, &sma->lock);
		j = sma->jobs;
		if (!j)
			break;
		sma->jobs = j->next;
		sma->n_jobs--;
		if (!sma->jobs)
			sma->jobs_tail = &sma->jobs;
		pthread_mutex_unlock(&sma->lock);
		if (sma->stopping)
			ipdk_rpc_finish(j->call, IPDK_RPC_UNAVAILABLE, "storaged is stopping");
		else if (!ipdk_rpc_call_cancelled(j->call))
			j->run(sma, j->call);
		ipdk_rpc_call_unref(j->call);
		free(j);
		pthread_mutex_lock(&sma->lock);
	}
	pthread_mutex_unlock(&sma->lock);
	return NULL;
}

static void enqueue(struct ipdk_rpc_call *call,
		    void (*run)(struct ipdk_sma *sma, struct ipdk_rpc_call *call))
{
	struct ipdk_sma *sma = ipdk_rpc_call_ctx(call);
	struct sma_job *j = calloc(1, sizeof(*j));

	if (!j) {
		ipdk_rpc_finish(call, IPDK_RPC_RESOURCE_EXHAUSTED, "storaged: out of memory");
		return;
	}
	ipdk_rpc_call_ref(call);
	j->call = call;
	j->run = run;
	pthread_mutex_lock(&sma->lock);
	if (sma->stopping || sma->n_jobs >= SMA_JOBS_MAX) {
		bool stopping = sma->stopping;

		pthread_mutex_unlock(&sma->lock);
		if (stopping)
			ipdk_rpc_finish(call, IPDK_RPC_UNAVAILABLE, "storaged is stopping");
		else
			ipdk_rpc_finish(call, IPDK_RPC_RESOURCE_EXHAUSTED, "%d requests are waiting "
					"already; try again later", SMA_JOBS_MAX);
		ipdk_rpc_call_unref(call);
		free(j);
		return;
	}
	sma->n_jobs++;
	*sma->jobs_tail = j;
	sma->jobs_tail = &j->next;
	pthread_cond_signal(&sma->cond);
	pthread_mutex_unlock(&sma->lock);
}

#define SMA_HANDLER(fn, run)                                                      \
	static void fn(struct ipdk_rpc_call *call, const ProtobufCMessage *req)   \
	{                                                                         \
		(void)req;                                                        \
		enqueue(call, run);                                               \
	}

SMA_HANDLER(on_create, run_create)
SMA_HANDLER(on_delete, run_delete)
SMA_HANDLER(on_attach, run_attach)
SMA_HANDLER(on_detach, run_detach)
SMA_HANDLER(on_set_qos, run_set_qos)
SMA_HANDLER(on_qos_caps, run_qos_caps)

#define SMA_METHOD(mname, lower, handler)                                          \
	{ .name = "/sma.StorageManagementAgent/" mname, .kind = IPDK_RPC_UNARY,    \
	  .request = &sma__##lower##_request__descriptor,                         \
	  .response = &sma__##lower##_response__descriptor, .on_request = handler }

int sma_service_register(struct ipdk_sma *sma, struct ipdk_err *err)
{
	struct ipdk_rpc_method m[] = {
		SMA_METHOD("CreateDevice", create_device, on_create),
		SMA_METHOD("DeleteDevice", delete_device, on_delete),
		SMA_METHOD("AttachVolume", attach_volume, on_attach),
		SMA_METHOD("DetachVolume", detach_volume, on_detach),
		SMA_METHOD("SetQos", set_qos, on_set_qos),
		SMA_METHOD("GetQosCapabilities", get_qos_capabilities, on_qos_caps),
	};
	int rc;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		m[i].ctx = sma;
	rc = ipdk_rpc_server_add_methods(sma->rpc, m, sizeof(m) / sizeof(m[0]), err);
	if (rc)
		return rc;
	rc = -pthread_create(&sma->thread, NULL, agent_thread, sma);
	if (rc)
		return ipdk_err_set(err, rc, "sma: cannot start the agent's thread");
	sma->thread_started = true;
	return 0;
}

void sma_service_stop(struct ipdk_sma *sma)
{
	if (!sma->thread_started)
		return;
	pthread_mutex_lock(&sma->lock);
	sma->stopping = true;
	pthread_cond_broadcast(&sma->cond);
	pthread_mutex_unlock(&sma->lock);
	pthread_join(sma->thread, NULL);
	sma->thread_started = false;
}

/* ---- the agent ----------------------------------------------------------------- */

static int copy_cfg(struct ipdk_sma *sma, const struct ipdk_sma_config *cfg,
		    struct ipdk_err *err)
{
	sma->cfg = *cfg;
	if (!cfg->vhost_dir || cfg->vhost_dir[0] != '/' ||
	    strlen(cfg->vhost_dir) >= sizeof(sma->vhost_dir))
		return ipdk_err_set(err, -EINVAL, "sma: the vhost-user socket directory must be "
				    "an absolute path of at most %zu characters",
				    sizeof(sma->vhost_dir) - 1);
	if (cfg->qmp_path && strlen(cfg->qmp_path) >= sizeof(sma->qmp_path))
		return ipdk_err_set(err, -EINVAL, "sma: QMP socket path is too long");
	snprintf(sma->vhost_dir, sizeof(sma->vhost_dir), "%s", cfg->vhost_dir);
	snprintf(sma->vm_name, sizeof(sma->vm_name), "%s", cfg->vm_name ? cfg->vm_name : "vm");
	snprintf(sma->bus_prefix, sizeof(sma->bus_prefix), "%s",
		 cfg->bus_prefix ? cfg->bus_prefix : "rp");
	snprintf(sma->state_path, sizeof(sma->state_path), "%s",
		 cfg->state_path ? cfg->state_path : "");
	snprintf(sma->qmp_path, sizeof(sma->qmp_path), "%s", cfg->qmp_path ? cfg->qmp_path : "");
	snprintf(sma->hostnqn, sizeof(sma->hostnqn), "%s", cfg->hostnqn ? cfg->hostnqn : "");
	if (!sma->cfg.max_devices)
		sma->cfg.max_devices = IPDK_SMA_DEFAULT_MAX_DEVICES;
	if (!sma->cfg.n_slots)
		sma->cfg.n_slots = sma->cfg.max_devices;
	if (!sma->cfg.queues)
		sma->cfg.queues = 1;
	if (!sma->cfg.ctrl_loss_tmo_ms)
		sma->cfg.ctrl_loss_tmo_ms = 60000;   /* the initiator's default, for retries too */
	if (sma->cfg.queues > IPDK_VBLK_QUEUES_MAX)
		return ipdk_err_set(err, -EINVAL, "sma: %u queues per device (at most %d)",
				    sma->cfg.queues, IPDK_VBLK_QUEUES_MAX);
	if (!sma->cfg.rpc.address)
		sma->cfg.rpc.address = "0.0.0.0:8080";
	return 0;
}

static int open_table(struct ipdk_sma *sma, struct ipdk_err *err)
{
	struct ipdk_vdev_host_cfg h = {
		.address = sma->qmp_path, .bus_prefix = sma->bus_prefix,
		.n_slots = sma->cfg.n_slots, .timeout_ms = sma->cfg.hotplug_timeout_ms,
	};
	int rc;

	if (!sma->qmp_path[0])
		return 0;
	rc = ipdk_vdev_table_create(&sma->table, err);
	if (rc)
		return rc;
	return ipdk_vdev_host_add(sma->table, sma->vm_name, &h, err);
}

int ipdk_sma_create(const struct ipdk_sma_config *cfg, struct ipdk_sma **out,
		    struct ipdk_err *err)
{
	struct ipdk_sma *sma = calloc(1, sizeof(*sma));
	pthread_condattr_t ca;
	int rc;

	if (!sma)
		return ipdk_err_set(err, -ENOMEM, "sma: out of memory");

	pthread_mutex_init(&sma->lock, NULL);
	pthread_cond_init(&sma->cond, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sma->retry_cond, &ca);
	pthread_condattr_destroy(&ca);
	sma->jobs_tail = &sma->jobs;
	rc = copy_cfg(sma, cfg, err);
	if (rc)
		goto fail;
	if (mkdir(sma->vhost_dir, 0700) < 0 && errno != EEXIST) {
		rc = ipdk_err_set(err, -errno, "sma: cannot make %s: %s", sma->vhost_dir,
				  strerror(errno));
		goto fail;
	}
	rc = open_table(sma, err);
	if (rc)
		goto fail;
	rc = ipdk_rpc_server_create(&sma->cfg.rpc, &sma->rpc, err);
	if (rc)
		goto fail;
	rc = sma_state_load(sma, err);
	if (rc)
		goto fail;
	rc = sma_service_register(sma, err);
	if (rc)
		goto fail;
	*out = sma;
	return 0;
fail:
	ipdk_sma_destroy(sma);
	return rc;
}

int ipdk_sma_start(struct ipdk_sma *sma, struct ipdk_err *err)
{
	int rc = ipdk_rpc_server_start(sma->rpc, err);

	if (rc == 0)
		IPDK_LOG_INFO("sma: StorageManagementAgent on port %d, %u devices, limit %u%s",
			      ipdk_rpc_server_port(sma->rpc), sma->n_devices,
			      sma->cfg.max_devices, sma->table ? "" : " (no VM: nothing is plugged)");
	return rc;
}

int ipdk_sma_port(const struct ipdk_sma *sma)
{
	return ipdk_rpc_server_port(sma->rpc);
}

void ipdk_sma_destroy(struct ipdk_sma *sma)
{
	if (!sma)
		return;
	if (sma->rpc)
		ipdk_rpc_server_stop(sma->rpc);
	sma_service_stop(sma);
	ipdk_rpc_server_destroy(sma->rpc);
	sma_devices_release(sma);
	sma_retry_stop(sma);
	if (sma->table)
		ipdk_vdev_table_destroy(sma->table);
	pthread_mutex_destroy(&sma->lock);
	pthread_cond_destroy(&sma->cond);
	pthread_cond_destroy(&sma->retry_cond);
	free(sma);
}

/* Adds what a volume's QoS device held back to the device's counters. */
static void add_qos_stats(const struct sma_volume *v, struct ipdk_sma_device_info *in)
{
	struct ipdk_blk_qos_stats st;

	if (v->qos_dev && ipdk_blk_qos_get(v->qos_dev, NULL, &st) == 0) {
		in->qos_waited += st.waited;
		in->qos_waiting += st.waiting;
	}
}

int ipdk_sma_foreach_device(struct ipdk_sma *sma,
			    int (*fn)(const struct ipdk_sma_device_info *info, void *arg), void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&sma->lock);
	for (struct sma_device *d = sma->devices; d && !rc; d = d->next) {
		struct ipdk_sma_device_info in = { .physical_id = d->physical_id,
						   .remote = d->vol.remote, .n_volumes = 1 };
		struct ipdk_vblk_stats st;

		snprintf(in.handle, sizeof(in.handle), "%s", d->handle);
		snprintf(in.type, sizeof(in.type), "virtio_blk");
		snprintf(in.volume, sizeof(in.volume), "%s", d->vol.id_text);
		snprintf(in.bdev, sizeof(in.bdev), "%s",
			 d->vol.bdev[0] ? d->vol.bdev : d->vol.standin_name);
		snprintf(in.socket_path, sizeof(in.socket_path), "%s", d->socket_path);
		snprintf(in.failed, sizeof(in.failed), "%s", d->failed[0] ? d->failed :
			 d->vol.failed);
		in.reconnecting = d->vol.retry;
		if (d->vblk) {
			ipdk_vblk_get_stats(d->vblk, &st);
			in.connected = st.connected;
			in.reads = st.reads;
			in.writes = st.writes;
			in.errors = st.errors;
			in.in_flight = st.in_flight;
		}
		add_qos_stats(&d->vol, &in);
		rc = fn(&in, arg);
	}
	for (struct sma_nvmf_dev *n = sma->nvmf_devs; n && !rc; n = n->next) {
		struct ipdk_sma_device_info in = { .n_volumes = n->n_vols };

		snprintf(in.handle, sizeof(in.handle), "%s", n->handle);
		snprintf(in.type, sizeof(in.type), "nvmf_tcp");
		if (n->n_vols) {
			snprintf(in.volume, sizeof(in.volume), "%s", n->vols[0].id_text);
			snprintf(in.bdev, sizeof(in.bdev), "%s", n->vols[0].bdev);
			in.remote = n->vols[0].remote;
		}
		snprintf(in.socket_path, sizeof(in.socket_path), "%s:%s", n->traddr, n->trsvcid);
		snprintf(in.failed, sizeof(in.failed), "%s", n->failed);
		for (unsigned int i = 0; i < n->n_vols; i++) {
			const struct sma_volume *v = &n->vols[i];

			add_qos_stats(v, &in);
			in.reconnecting |= v->retry;
			if (!in.failed[0] && v->failed[0])
				snprintf(in.failed, sizeof(in.failed), "volume %s: %.100s", v->id_text,
					 v->failed);
		}
		rc = fn(&in, arg);
	}
	pthread_mutex_unlock(&sma->lock);
	return rc;
}
