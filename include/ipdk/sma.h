/*
 * The Storage Management Agent: the gRPC service (package sma, service
 * StorageManagementAgent) storaged serves in IPU mode. A virtio-blk device is
 * made for a volume given by UUID: the volume is a local block device of that
 * name, or a namespace found through NVMe/TCP discovery endpoints and reached
 * with the NVMe/TCP initiator; the device is a vhost-user-blk server (lib/vblk)
 * hotplugged into the VM through the virtual device table (lib/vdev), the
 * request's physical_id choosing the root port. An nvmf_tcp device exports
 * volumes from the IPU instead: a subsystem of the agent's own NVMe/TCP target
 * whose namespaces are the volumes AttachVolume adds.
 *
 * Requests run one at a time on the agent's own thread (hotplug and target
 * connections take seconds), so each sees the outcome of the one before;
 * every one is validated before anything changes and undone when a later step
 * fails. The device list is kept in a state file, so a restarted storaged
 * serves the same devices again and QEMU (chardev reconnect=1) reconnects.
 */
#ifndef IPDK_SMA_H
#define IPDK_SMA_H

#include <stdbool.h>
#include <stdint.h>

#include "ipdk/err.h"
#include "ipdk/rpc.h"

#define IPDK_SMA_DEFAULT_PORT 8080
#define IPDK_SMA_DEFAULT_MAX_DEVICES 64

struct ipdk_sma;

/* Agent settings; zeroed fields take their defaults. */
struct ipdk_sma_config {
	struct ipdk_rpc_config rpc;     /* address (default 0.0.0.0:8080), TLS */
	const char *qmp_path;           /* the VM's QMP socket; NULL: devices are served, not plugged */
	const char *vm_name;            /* host name in the device table (NULL: "vm") */
	const char *bus_prefix;         /* root port ids: prefix + physical_id (NULL: "rp") */
	unsigned int n_slots;           /* physical ids 0..n_slots-1 (0: max_devices) */
	unsigned int max_devices;       /* beyond it CreateDevice is refused (0: 64) */
	const char *vhost_dir;          /* vhost-user sockets go here (required) */
	const char *state_path;         /* JSON state file (NULL: nothing is kept) */
	const char *hostnqn;            /* for volumes that name none (NULL: the initiator's default) */
	unsigned int queues;            /* per virtio-blk device (0: 1) */
	unsigned int hotplug_timeout_ms;/* per QMP step (0: 10000) */
	unsigned int connect_timeout_ms;/* to discovery services and targets (0: 5000) */
	unsigned int ctrl_loss_tmo_ms;  /* I/O to a lost target is held this long (0: 60000) */
};

/* A device as reported. */
struct ipdk_sma_device_info {
	char handle[240];
	char type[16];                  /* "virtio_blk" or "nvmf_tcp" */
	unsigned int physical_id;       /* virtio_blk */
	unsigned int n_volumes;
	char volume[37];                /* (the first) volume's UUID text, "" when none */
	char bdev[64];                  /* the block device behind it */
	bool remote;                    /* an NVMe/TCP namespace */
	char socket_path[108];          /* virtio_blk: vhost-user socket; nvmf_tcp: ADDR:PORT */
	bool connected;                 /* the front-end (QEMU) is connected */
	uint64_t reads, writes, errors;
	unsigned int in_flight;         /* requests the back-end holds now */
	uint64_t qos_waited;            /* I/Os its QoS limits held back so far (all volumes) */
	unsigned int qos_waiting;       /* I/Os held back now */
	char failed[160];               /* why a restored device (or one of its volumes) is not
					   served by its volume; "" when it is */
	bool reconnecting;              /* its remote volume is being retried (I/O waits) */
};

/* Creates the agent, restores the devices in the state file and registers
 * the service with a new gRPC server (not yet listening). */
int ipdk_sma_create(const struct ipdk_sma_config *cfg, struct ipdk_sma **out,
		    struct ipdk_err *err);

/* Starts listening; returns 0 or -errno. */
int ipdk_sma_start(struct ipdk_sma *sma, struct ipdk_err *err);

/* Returns the port the service listens on. */
int ipdk_sma_port(const struct ipdk_sma *sma);

/* Stops the service and frees the agent; devices stay in the VM and in the
 * state file (their vhost-user servers stop, QEMU waits to reconnect). */
void ipdk_sma_destroy(struct ipdk_sma *sma);

/* Calls fn for each device (under the agent's lock) until it returns non-zero. */
int ipdk_sma_foreach_device(struct ipdk_sma *sma,
			    int (*fn)(const struct ipdk_sma_device_info *info, void *arg), void *arg);

/* Formats 16 bytes as a UUID ("xxxxxxxx-xxxx-...") into out (37 bytes). */
void ipdk_sma_uuid_format(const uint8_t uuid[16], char out[37]);

#endif
