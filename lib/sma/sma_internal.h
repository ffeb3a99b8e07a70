/*
 * What the Storage Management Agent's parts share: the agent, its devices
 * and the volumes behind them. service.c turns gRPC calls into work for the
 * agent's thread, device.c makes and removes virtio-blk devices, volume.c
 * finds volumes (local block devices or NVMe/TCP namespaces) and puts each
 * behind a QoS device, qos.c answers SetQos and GetQosCapabilities,
 * state.c keeps the device list in a file, and restore.c keeps trying the
 * volumes that could not be reopened at restart.
 */
#ifndef IPDK_SMA_INTERNAL_H
#define IPDK_SMA_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ipdk/blk.h"
#include "ipdk/sma.h"
#include "ipdk/vblk.h"
#include "ipdk/vdev.h"
#include "sma/sma.pb-c.h"

#define SMA_ENDPOINTS_MAX 8
#define SMA_VIRTIO_BLK_PREFIX "virtio_blk:"
#define SMA_NVMF_TCP_PREFIX "nvmf_tcp:"
#define SMA_NVMF_HOSTS_MAX 16
#define SMA_NVMF_VOLUMES_MAX 32
#define SMA_RETRY_DELAY_MS 500   /* between tries of a volume (the initiator's reconnect delay) */

/* The limits of sma.QosLimit, in its field order and units. */
enum { SMA_QOS_RD_IOPS, SMA_QOS_WR_IOPS, SMA_QOS_RW_IOPS,
       SMA_QOS_RD_BW, SMA_QOS_WR_BW, SMA_QOS_RW_BW, SMA_QOS_N };
#define SMA_QOS_KIOPS_MAX 1000000ull    /* 1e9 IOPS, lib/blk's largest */
#define SMA_QOS_MIBS_MAX (1ull << 24)   /* 16 TiB/s, lib/blk's largest */

/* A volume: its UUID and where it lives (kept for restarts). */
struct sma_volume {
	uint8_t id[16];
	char id_text[37];
	bool remote;
	char subnqn[224];
	char hostnqn[224];
	unsigned int n_endpoints;
	struct {
		char trtype[8];
		char traddr[64];
		char trsvcid[8];
	} ep[SMA_ENDPOINTS_MAX];
	uint64_t qos[SMA_QOS_N];       /* kIOPS and MiB/s; 0: unlimited */
	/* what its users saw (kept for restarts; has_geometry false in old state files) */
	bool has_geometry;
	uint32_t block_size;
	uint64_t num_blocks;
	unsigned int features;         /* IPDK_BLK_F_* */
	bool read_only;
	/* while open */
	char bdev[64];                 /* "" while only a stand-in serves it */
	struct ipdk_blk_dev *dev;      /* our reference (remote volumes: we made it) */
	char front[64];                /* the QoS device in front of it, what devices use */
	struct ipdk_blk_dev *qos_dev;
	/* a volume that could not be reopened at restore, served by a stand-in */
	char standin_name[64];
	struct ipdk_blk_dev *standin;
	char name[64];                 /* the block device name a remote volume opens as */
	unsigned int queues;
	char failed[160];              /* why it is not served by its volume; "" when it is */
	bool retry;                    /* restore.c keeps trying (guarded by the agent's lock) */
	bool retry_enoent;             /* the last try found no such namespace */
	uint64_t retry_next_ns, retry_until_ns;
};

struct sma_device {
	char name[32];                 /* "vblk<physical_id>": table entry, vblk and bdev names */
	char handle[64];
	unsigned int physical_id;
	unsigned int queues;
	char socket_path[108];
	struct sma_volume vol;
	struct ipdk_vblk *vblk;
	char failed[160];              /* restore failed: why (no volume, no vblk); "" when served */
	struct sma_device *next;
};

/* An NVMe/TCP device: a subsystem of the agent's own target, one namespace per
 * attached volume (handle "nvmf_tcp:<subnqn>"). */
struct sma_nvmf_dev {
	char subnqn[224];
	char handle[240];
	char adrfam[8], traddr[64], trsvcid[8];
	bool allow_any_host;
	unsigned int n_hosts;
	char hosts[SMA_NVMF_HOSTS_MAX][224];
	unsigned int n_vols;
	struct sma_volume vols[SMA_NVMF_VOLUMES_MAX];
	uint32_t nsids[SMA_NVMF_VOLUMES_MAX];   /* 0: not a namespace (failed at restore) */
	char failed[160];              /* the subsystem could not be made at restore: why */
	struct sma_nvmf_dev *next;
};

struct sma_job;
struct ipdk_nvmf_tgt;

struct ipdk_sma {
	struct ipdk_sma_config cfg;
	char vm_name[48], bus_prefix[32], vhost_dir[96], state_path[256], qmp_path[108];
	char hostnqn[224];
	struct ipdk_rpc_server *rpc;
	struct ipdk_vdev_table *table; /* NULL without a VM */
	pthread_mutex_t lock;          /* devices list and the job queue */
	pthread_cond_t cond;
	struct sma_device *devices;
	struct sma_nvmf_dev *nvmf_devs;
	unsigned int n_devices;         /* both kinds */
	struct ipdk_nvmf_tgt *tgt;      /* made with the first nvmf_tcp device */
	unsigned int n_listens;
	char listens[8][80];            /* "addr:port" the target listens on */
	struct sma_job *jobs, **jobs_tail;
	unsigned int n_jobs;
	bool stopping;
	bool thread_started;
	pthread_t thread;
	/* restore.c: the retry thread (under lock) */
	pthread_cond_t retry_cond;      /* CLOCK_MONOTONIC */
	bool retry_started, retry_stopping, retry_busy;
	uint8_t retry_busy_id[16];      /* the volume an attempt is running for */
	pthread_t retry_thread;
};

/* Reads a request's volume parameters into vol (validated); 0 or -errno. */
int sma_volume_parse(struct ipdk_sma *sma, const Sma__VolumeParameters *vp,
		     struct sma_volume *vol, struct ipdk_err *err);

/* Opens the volume as block device name (remote) or finds it (local) and puts
 * a QoS device with vol->qos in front of it (vol->front); 0 or -errno. */
int sma_volume_open(struct ipdk_sma *sma, struct sma_volume *vol, const char *name,
		    unsigned int queues, struct ipdk_err *err);

/* Opens only the volume's block device (vol->dev, vol->bdev); 0 or -errno. */
int sma_volume_open_base(struct ipdk_sma *sma, struct sma_volume *vol, const char *name,
			 unsigned int queues, struct ipdk_err *err);

/* Reopens a volume read from the state file. When it cannot be opened (or
 * its size changed) and its geometry is known, a stand-in with that geometry
 * takes its place behind the QoS device and vol->failed says why: a remote
 * volume that may come back is retried (vol->retry), others fail their I/O.
 * Without a known geometry the error is returned as it is. */
int sma_volume_restore(struct ipdk_sma *sma, struct sma_volume *vol, const char *name,
		       unsigned int queues, struct ipdk_err *err);

/* Stops retrying the volume and fails the I/O held for it, by its stand-in or by
 * the controller of a remote volume whose target is away (DeleteDevice,
 * DetachVolume: the guest or the target's queues let go at once). */
void sma_volume_give_up(struct ipdk_sma *sma, struct sma_volume *vol, const char *why);
/* When storaged stops: I/O held for the volume (stand-in, or a remote target away)
 * is dropped unanswered (-ECANCELED), so the frontend leaves it to the next storaged. */
void sma_volume_drop_held(struct sma_volume *vol);

/* Drops the volume's QoS device, stand-in and block device (deleting the one a
 * remote volume made). */
void sma_volume_close(struct sma_volume *vol);

/* Copies msg into a reason field, quotes and control characters replaced (the
 * reason is printed inside JSON strings). */
void sma_reason_set(char *dst, size_t size, const char *msg);

/* Starts the thread that retries remote volumes (when any wants it). */
int sma_retry_start(struct ipdk_sma *sma, struct ipdk_err *err);

/* CLOCK_MONOTONIC in nanoseconds: the retry deadlines' clock. */
uint64_t sma_now_ns(void);

/* Wakes the retry thread (a volume to try). */
void sma_retry_kick(struct ipdk_sma *sma);

/* Stops the retry thread. */
void sma_retry_stop(struct ipdk_sma *sma);

/* Stops retrying vol and waits until an attempt on it in progress ended. */
void sma_retry_forget(struct ipdk_sma *sma, struct sma_volume *vol);

/* Parses UUID text into 16 bytes; 0 or -EINVAL. */
int sma_uuid_parse(const char *s, uint8_t out[16]);

/* Parses a 16-byte volume id; 0 or -EINVAL with a message. */
int sma_volume_id(const ProtobufCBinaryData *id, uint8_t out[16], struct ipdk_err *err);

/* Makes a virtio-blk device for the request; *handle is set on success (also
 * when the same device exists already). */
int sma_device_create(struct ipdk_sma *sma, const Sma__CreateDeviceRequest *req,
		      char handle[64], struct ipdk_err *err);

/* Unplugs and removes a device; an unknown but well-formed handle is success. */
int sma_device_delete(struct ipdk_sma *sma, const char *handle, struct ipdk_err *err);

/* Finds a device by handle (-EINVAL malformed, -ENOENT unknown). */
int sma_device_find(struct ipdk_sma *sma, const char *handle, struct sma_device **out,
		    struct ipdk_err *err);

/* Brings back a device read from the state file (served and recorded as plugged);
 * when its volume cannot be served the device is kept as failed (d->failed says
 * why; the VM still has it, DeleteDevice unplugs it); -EEXIST if listed twice. */
int sma_device_restore(struct ipdk_sma *sma, struct sma_device *d, struct ipdk_err *err);

/* Returns the handle of the device (either kind) that holds volume id, or NULL. */
const char *sma_volume_user(struct ipdk_sma *sma, const uint8_t id[16]);

/* NVMe/TCP devices (nvmf_dev.c): create, delete, attach, detach, find, restore. */
int sma_nvmf_create(struct ipdk_sma *sma, const Sma__CreateDeviceRequest *req,
		    char handle[240], struct ipdk_err *err);
int sma_nvmf_delete(struct ipdk_sma *sma, const char *handle, struct ipdk_err *err);
int sma_nvmf_find(struct ipdk_sma *sma, const char *handle, struct sma_nvmf_dev **out,
		  struct ipdk_err *err);
int sma_nvmf_attach(struct ipdk_sma *sma, struct sma_nvmf_dev *d,
		    const Sma__VolumeParameters *vp, struct ipdk_err *err);
int sma_nvmf_detach(struct ipdk_sma *sma, struct sma_nvmf_dev *d, const uint8_t id[16],
		    struct ipdk_err *err);
int sma_nvmf_restore(struct ipdk_sma *sma, struct sma_nvmf_dev *d, struct ipdk_err *err);
void sma_nvmf_release(struct ipdk_sma *sma);

/* The field names of sma.QosLimit ("rd_iops" ... "rw_bandwidth"). */
extern const char *const sma_qos_names[SMA_QOS_N];

/* Converts limits in SMA units (kIOPS, MiB/s) to lib/blk's (per second). */
void sma_qos_to_blk(const uint64_t q[SMA_QOS_N], struct ipdk_blk_qos_limits *l);

/* Answers SetQos: checks the request against the device type's capabilities,
 * then changes the volume's limits and saves the state; 0 or -errno. */
int sma_qos_set(struct ipdk_sma *sma, const Sma__SetQosRequest *req, struct ipdk_err *err);

/* Fills the capabilities of a device type; -EINVAL/-ENOTSUP for types not offered. */
int sma_qos_caps(int device_type, Sma__GetQosCapabilitiesResponse__QosCapabilities *dev,
		 Sma__GetQosCapabilitiesResponse__QosCapabilities *vol, struct ipdk_err *err);

/* Stops every device's vhost-user server and frees the list (the VM keeps them). */
void sma_devices_release(struct ipdk_sma *sma);

/* Writes the device list to the state file (atomically); 0 or -errno. */
int sma_state_save(struct ipdk_sma *sma, struct ipdk_err *err);

/* Reads the state file and restores its devices; a missing file is no error. */
int sma_state_load(struct ipdk_sma *sma, struct ipdk_err *err);

/* Registers the service's methods with the agent's server. */
int sma_service_register(struct ipdk_sma *sma, struct ipdk_err *err);

/* Stops the agent's thread (queued calls are answered UNAVAILABLE). */
void sma_service_stop(struct ipdk_sma *sma);

#endif
