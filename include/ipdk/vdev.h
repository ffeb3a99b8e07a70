/*
 * Virtual devices: the table of every active virtual device (virtio-net,
 * virtio-blk, nvme) by unique name, the hotplug drivers that put a device into
 * the VM or host it belongs to, and the QEMU QMP client the first driver uses.
 *
 * Adding an entry hotplugs the device; removing it unplugs it. Which VM: each
 * host name is bound to a hotplug driver and its address (for QEMU, a QMP
 * socket). Every request is validated before anything changes, and a plug that
 * fails half-way is undone by the driver, so the table and the VM never hold
 * half a device.
 *
 * Thread safety: a table has one lock; every ipdk_vdev_* function taking a
 * table holds it for the whole call, including the driver's plug or unplug
 * (which may wait up to the host's timeout for the VM), so calls from several
 * threads are serialised. A QMP connection (ipdk_qmp_*) is not thread-safe:
 * one user at a time.
 */
#ifndef IPDK_VDEV_H
#define IPDK_VDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "ipdk/err.h"

#define IPDK_VDEV_NAME_MAX 48   /* device and host names, with the NUL */
#define IPDK_VDEV_PATH_MAX 108  /* a Unix socket path, with the NUL */
#define IPDK_VDEV_BUS_MAX 32    /* a PCI bus (root port) id, with the NUL */
#define IPDK_VDEV_QUEUES_MAX 64

enum ipdk_vdev_type {
	IPDK_VDEV_VIRTIO_NET,   /* virtio-net-pci over vhost-user */
	IPDK_VDEV_VIRTIO_BLK,   /* vhost-user-blk-pci */
	IPDK_VDEV_NVME,         /* NVMe controller (no QEMU 7.2 transport yet) */
	IPDK_VDEV_TYPE_MAX,
};

enum ipdk_vdev_state {
	IPDK_VDEV_PLUGGED,        /* in the VM */
	IPDK_VDEV_UNPLUG_FAILED,  /* an unplug failed; still listed, remove retries */
};

/* A device's configuration. Zeroed fields take their defaults. */
struct ipdk_vdev_cfg {
	char name[IPDK_VDEV_NAME_MAX];       /* unique; letters, digits, '-', '_', '.' */
	enum ipdk_vdev_type type;
	char host_name[IPDK_VDEV_NAME_MAX];  /* the VM or host (see ipdk_vdev_host_add) */
	char socket_path[IPDK_VDEV_PATH_MAX];/* vhost-user socket the VM connects to */
	uint16_t queues;                     /* 0: 1 */
	int physical_id;                     /* slot on the host; -1: first free */
	char pci_bus[IPDK_VDEV_BUS_MAX];     /* explicit root port id ("" = from physical_id) */
	bool has_mac;
	uint8_t mac[6];                      /* virtio-net: the guest's MAC */
	char pf_name[IPDK_VDEV_NAME_MAX];    /* VF/PF association ("" = none): recorded only */
	int vf_index;                        /* -1: none */
};

/* A table entry as reported. */
struct ipdk_vdev_info {
	struct ipdk_vdev_cfg cfg;            /* physical_id and pci_bus as chosen */
	enum ipdk_vdev_state state;
	char note[IPDK_ERR_MSG_MAX];         /* why UNPLUG_FAILED; VF/PF remark */
};

struct ipdk_vdev_host;

/* A hotplug driver, in the manner of DPDK drivers. open() binds a host name to
 * the driver's address for it (e.g. a QMP socket path) and stores its private
 * context in *ctx; plug() puts a device into the host and either succeeds or
 * leaves nothing behind; unplug() takes it out again, treating a device the
 * host no longer has as unplugged. */
struct ipdk_vdev_hotplug_ops {
	const char *name;
	int (*open)(const char *host_name, const char *address, unsigned int timeout_ms,
		    void **ctx, struct ipdk_err *err);
	void (*close)(void *ctx);
	int (*plug)(void *ctx, const struct ipdk_vdev_cfg *cfg, struct ipdk_err *err);
	int (*unplug)(void *ctx, const struct ipdk_vdev_cfg *cfg, struct ipdk_err *err);
};

/* The QEMU driver: address is the VM's QMP socket path. */
extern const struct ipdk_vdev_hotplug_ops ipdk_vdev_qmp_ops;

/* ---- The table ------------------------------------------------------------ */

struct ipdk_vdev_table;

/* Host settings. */
struct ipdk_vdev_host_cfg {
	const struct ipdk_vdev_hotplug_ops *ops;  /* NULL: the QMP driver */
	const char *address;                      /* driver address (QMP socket path) */
	const char *bus_prefix;                   /* root port ids: prefix + physical id (NULL: "rp") */
	unsigned int n_slots;                     /* physical ids 0..n_slots-1 (0: 32) */
	unsigned int timeout_ms;                  /* per driver step (0: 10000) */
};

/* A host as reported. */
struct ipdk_vdev_host_info {
	char name[IPDK_VDEV_NAME_MAX];
	char driver[16];                          /* the ops' name, e.g. "qmp" */
	char address[IPDK_VDEV_PATH_MAX];
	char bus_prefix[IPDK_VDEV_BUS_MAX];
	unsigned int n_slots, timeout_ms;
	unsigned int n_devices;                   /* entries on this host */
};

/* Creates an empty table. */
int ipdk_vdev_table_create(struct ipdk_vdev_table **out, struct ipdk_err *err);

/* Destroys the table; devices stay plugged (the table is only forgotten). */
void ipdk_vdev_table_destroy(struct ipdk_vdev_table *t);

/* Binds host name to a hotplug driver and address; names are unique. */
int ipdk_vdev_host_add(struct ipdk_vdev_table *t, const char *host_name,
		       const struct ipdk_vdev_host_cfg *cfg, struct ipdk_err *err);

/* Unbinds a host that no device uses any more. */
int ipdk_vdev_host_remove(struct ipdk_vdev_table *t, const char *host_name,
			  struct ipdk_err *err);

/* Copies the host called host_name into *info; -ENOENT when there is none. */
int ipdk_vdev_host_get(struct ipdk_vdev_table *t, const char *host_name,
		       struct ipdk_vdev_host_info *info, struct ipdk_err *err);

/* Calls fn for each host, in no particular order (under the table's lock:
 * fn must not call back into the table); stops at fn's first non-zero value. */
int ipdk_vdev_host_foreach(struct ipdk_vdev_table *t,
			   int (*fn)(const struct ipdk_vdev_host_info *info, void *arg),
			   void *arg);

/* Validates cfg against the table without changing anything. */
int ipdk_vdev_check(struct ipdk_vdev_table *t, const struct ipdk_vdev_cfg *cfg,
		    struct ipdk_err *err);

/* Validates cfg, hotplugs the device and lists it; on failure nothing changed. */
int ipdk_vdev_add(struct ipdk_vdev_table *t, const struct ipdk_vdev_cfg *cfg,
		  struct ipdk_err *err);

/* Records an entry that is already plugged (state restored from a file),
 * without calling the driver; validates like ipdk_vdev_add(). */
int ipdk_vdev_restore(struct ipdk_vdev_table *t, const struct ipdk_vdev_info *info,
		      struct ipdk_err *err);

#define IPDK_VDEV_FORCE 0x1  /* remove the entry even when the unplug fails */

/* Unplugs the device and removes its entry. When the unplug fails the entry
 * stays (state UNPLUG_FAILED, note says why) unless flags has IPDK_VDEV_FORCE. */
int ipdk_vdev_remove(struct ipdk_vdev_table *t, const char *name, unsigned int flags,
		     struct ipdk_err *err);

/* Copies the entry called name into *info; -ENOENT when there is none. */
int ipdk_vdev_get(struct ipdk_vdev_table *t, const char *name, struct ipdk_vdev_info *info,
		  struct ipdk_err *err);

/* Calls fn for each entry in name order (under the table's lock: fn must not
 * call back into the table); stops and returns fn's value when it is non-zero. */
int ipdk_vdev_foreach(struct ipdk_vdev_table *t,
		      int (*fn)(const struct ipdk_vdev_info *info, void *arg), void *arg);

/* Returns the number of entries. */
unsigned int ipdk_vdev_count(struct ipdk_vdev_table *t);

/* ---- Names and text ------------------------------------------------------- */

/* Returns "virtio-net", "virtio-blk" or "nvme". */
const char *ipdk_vdev_type_name(enum ipdk_vdev_type type);

/* Parses a type name (also IPDK's VIRTIO_NET, VIRTIO_BLK, NVME); returns it or -EINVAL. */
int ipdk_vdev_type_parse(const char *s);

/* Returns "plugged" or "unplug-failed". */
const char *ipdk_vdev_state_name(enum ipdk_vdev_state state);

/* Sets cfg to the defaults: everything empty, physical_id and vf_index -1. */
void ipdk_vdev_cfg_init(struct ipdk_vdev_cfg *cfg);

/* Sets one configuration key from text: name, type (device-type), host-name,
 * socket-path, queues, physical-id, pci-bus, mac, pf-name, vf-index. Errors
 * name the key and the reason. */
int ipdk_vdev_cfg_set(struct ipdk_vdev_cfg *cfg, const char *key, const char *value,
		      struct ipdk_err *err);

/* ---- QMP client ----------------------------------------------------------- */

struct ipdk_qmp;
struct json_t;

/* Connects to the QMP socket at path and completes the capabilities handshake
 * within timeout_ms. A missing socket or one nobody listens on is reported as
 * "no VM is running". */
int ipdk_qmp_connect(const char *path, unsigned int timeout_ms, struct ipdk_qmp **out,
		     struct ipdk_err *err);

/* Closes the connection and frees q (NULL is fine). */
void ipdk_qmp_close(struct ipdk_qmp *q);

/* Runs command with args (a JSON object or NULL; not stolen); on success stores
 * the "return" value in *ret when ret is not NULL (the caller json_decref()s it).
 * A QMP error becomes -EIO (-ENOENT for DeviceNotFound) with QEMU's description. */
int ipdk_qmp_execute(struct ipdk_qmp *q, const char *command, struct json_t *args,
		     struct json_t **ret, unsigned int timeout_ms, struct ipdk_err *err);

/* Waits for event name whose data member key equals value (key NULL: any);
 * events that arrived earlier count. Stores the event in *ev when not NULL. */
int ipdk_qmp_wait_event(struct ipdk_qmp *q, const char *name, const char *key,
			const char *value, unsigned int timeout_ms, struct json_t **ev,
			struct ipdk_err *err);

#endif
