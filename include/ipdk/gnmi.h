/*
 * The gNMI service (gnmi.gNMI: Capabilities, Get, Set, Subscribe) on its own
 * lib/rpc server, and the data models behind it. A model owns the subtree
 * under one top-level path element ("interfaces", "virtual-devices"): it lists
 * its leaves on request and applies the changes of a Set. The service does the
 * rest: path prefixes and wildcards, JSON values in and out, Get filtering,
 * and subscriptions (ONCE, POLL, STREAM with ON_CHANGE and SAMPLE), which
 * compare what the models list over time.
 *
 * The port model (ipdk_gnmi_ports_create) serves /interfaces/virtual-interface
 * with IPDK's keys over ports the daemon creates and removes through
 * struct ipdk_gnmi_port_ops. The virtual device model (ipdk_gnmi_vdevs_create)
 * serves /virtual-devices over lib/vdev's table; its virtio-net devices are
 * VHOST ports of the port model hotplugged into a VM. See docs/gnmi.md.
 */
#ifndef IPDK_GNMI_H
#define IPDK_GNMI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipdk/err.h"
#include "ipdk/rpc.h"
#include "ipdk/target_dpdk.h"
#include "ipdk/vdev.h"

#define IPDK_GNMI_DEFAULT_ADDRESS "0.0.0.0:9339"
#define IPDK_GNMI_MAX_ELEMS 12
#define IPDK_GNMI_MAX_KEYS 2
#define IPDK_GNMI_NAME_MAX 64
#define IPDK_GNMI_VALUE_MAX 256

/* ---- Paths and values ---------------------------------------------------- */

struct ipdk_gnmi_key {
	char name[IPDK_GNMI_NAME_MAX];
	char value[IPDK_GNMI_VALUE_MAX];
};

struct ipdk_gnmi_elem {
	char name[IPDK_GNMI_NAME_MAX];
	unsigned int n_keys;
	struct ipdk_gnmi_key keys[IPDK_GNMI_MAX_KEYS];
};

/* A data tree path: /interfaces/virtual-interface[name=vh0]/config/mtu. In a
 * pattern, an element named "*" or a key value "*" matches anything, and a key
 * left out matches any value. */
struct ipdk_gnmi_path {
	unsigned int n;
	struct ipdk_gnmi_elem elem[IPDK_GNMI_MAX_ELEMS];
};

enum ipdk_gnmi_vtype {
	IPDK_GNMI_STRING,
	IPDK_GNMI_UINT,
	IPDK_GNMI_INT,
	IPDK_GNMI_BOOL,
};

/* A scalar leaf value. */
struct ipdk_gnmi_val {
	enum ipdk_gnmi_vtype type;
	uint64_t u;
	int64_t i;
	bool b;
	char s[IPDK_GNMI_VALUE_MAX];
};

/* Parses "/a/b[k=v]/c" (the leading '/' is optional, "\]" and "\\" escape in
 * key values); errors name the text and the position. */
int ipdk_gnmi_path_parse(const char *text, struct ipdk_gnmi_path *path,
			 struct ipdk_err *err);

/* Prints path in the form ipdk_gnmi_path_parse() reads ("/" for the root). */
void ipdk_gnmi_path_print(const struct ipdk_gnmi_path *path, char *buf, size_t size);

/* Returns true when pattern matches path or a prefix of it (wildcards allowed). */
bool ipdk_gnmi_path_match(const struct ipdk_gnmi_path *pattern,
			  const struct ipdk_gnmi_path *path);

/* Appends an element (keys added with ipdk_gnmi_path_add_key); -ENOSPC when full. */
int ipdk_gnmi_path_add(struct ipdk_gnmi_path *path, const char *name);

/* Adds a key to the last element; -ENOSPC or -ENAMETOOLONG when it does not fit. */
int ipdk_gnmi_path_add_key(struct ipdk_gnmi_path *path, const char *name,
			   const char *value);

/* Returns the value of key name in element i, or NULL. */
const char *ipdk_gnmi_path_key(const struct ipdk_gnmi_path *path, unsigned int i,
			       const char *name);

/* Sets err to "PATH: why" with code and returns code. */
int ipdk_gnmi_path_error(const struct ipdk_gnmi_path *path, struct ipdk_err *err, int code,
			 const char *why);

/* The name key of the list element path->elem[1] (a model's list), NULL for
 * "*", no key or a shorter path; other keys or an empty name are errors. */
int ipdk_gnmi_path_list_name(const struct ipdk_gnmi_path *path, const char **name,
			     struct ipdk_err *err);

/* Value constructors. */
void ipdk_gnmi_val_str(struct ipdk_gnmi_val *v, const char *s);
void ipdk_gnmi_val_uint(struct ipdk_gnmi_val *v, uint64_t u);

/* Prints a value as text (numbers in decimal, booleans as true/false). */
void ipdk_gnmi_val_print(const struct ipdk_gnmi_val *v, char *buf, size_t size);

/* ---- Models ------------------------------------------------------------- */

/* Receives one leaf; returning non-zero stops the listing. */
typedef int (*ipdk_gnmi_emit_fn)(void *arg, const struct ipdk_gnmi_path *path,
				 const struct ipdk_gnmi_val *val);

enum ipdk_gnmi_op {
	IPDK_GNMI_DELETE,
	IPDK_GNMI_REPLACE,
	IPDK_GNMI_UPDATE,
};

struct ipdk_gnmi_leaf {
	struct ipdk_gnmi_path path;
	struct ipdk_gnmi_val val;
};

/* One operation of a Set: the path it names (prefix applied) and, for replace
 * and update, the leaves its value expands to (a JSON object gives several). */
struct ipdk_gnmi_set_op {
	enum ipdk_gnmi_op op;
	struct ipdk_gnmi_path path;
	struct ipdk_gnmi_leaf *leaves;
	size_t n_leaves;
};

struct ipdk_gnmi_model {
	const char *root;          /* first path element it serves, e.g. "interfaces" */
	const char *name;          /* ModelData reported by Capabilities */
	const char *organization;
	const char *version;
	/* Lists every leaf of the subtree with its full path. */
	int (*get)(void *ctx, ipdk_gnmi_emit_fn emit, void *arg, struct ipdk_err *err);
	/* Applies a Set's operations on this subtree, all or none; errors name
	 * the path or key and the reason. */
	int (*set)(void *ctx, const struct ipdk_gnmi_set_op *ops, size_t n,
		   struct ipdk_err *err);
	void *ctx;
};

/* ---- The service -------------------------------------------------------- */

struct ipdk_gnmi_server;

/* Creates the service on a new gRPC server (cfg->address NULL: 0.0.0.0:9339). */
int ipdk_gnmi_server_create(const struct ipdk_rpc_config *cfg,
			    struct ipdk_gnmi_server **out, struct ipdk_err *err);

/* Adds a model (copied) before the server starts; roots must be unique. */
int ipdk_gnmi_server_add_model(struct ipdk_gnmi_server *srv,
			       const struct ipdk_gnmi_model *model, struct ipdk_err *err);

/* Starts listening and the subscription thread. */
int ipdk_gnmi_server_start(struct ipdk_gnmi_server *srv, struct ipdk_err *err);

/* Returns the TCP port the server listens on, or 0. */
int ipdk_gnmi_server_port(const struct ipdk_gnmi_server *srv);

/* Tells ON_CHANGE subscribers to look again (models call it after changes
 * that did not come through Set, e.g. a hotplug completing). */
void ipdk_gnmi_server_changed(struct ipdk_gnmi_server *srv);

/* Calls fn(arg) after every Set that was handed to the models (applied or not:
 * a failed unplug changes an entry's state), with other Sets held off until it
 * returns; the daemon saves its state file there. */
void ipdk_gnmi_server_on_set(struct ipdk_gnmi_server *srv, void (*fn)(void *arg), void *arg);

/* Stops the server (open subscriptions are cancelled) and frees it; srv may be NULL. */
void ipdk_gnmi_server_destroy(struct ipdk_gnmi_server *srv);

/* ---- The port model (/interfaces) ---------------------------------------- */

/* One live port as the daemon reports it. */
struct ipdk_gnmi_port_info {
	uint32_t id;                     /* pipeline port id (slot) */
	struct ipdk_port_cfg cfg;
	char backend[16];                /* ipdk_port_backend() */
	struct ipdk_port_stats stats;
};

/* What the port model needs from the daemon that owns ports and pipeline. */
struct ipdk_gnmi_port_ops {
	/* Creates a port and gives it a free pipeline port id. */
	int (*add)(void *ctx, const struct ipdk_port_cfg *cfg, uint32_t *id,
		   struct ipdk_err *err);
	/* Takes the port off the pipeline and destroys it. */
	int (*remove)(void *ctx, const char *name, struct ipdk_err *err);
	/* Calls fn for every port (fn returning non-zero stops the walk). */
	int (*list)(void *ctx, int (*fn)(void *arg, const struct ipdk_gnmi_port_info *info),
		    void *arg);
	/* Copies the running pipeline's name into buf. */
	void (*pipeline_name)(void *ctx, char *buf, size_t size);
	/* Creates a port at pipeline port id (slot) id; optional, used to restore
	 * ports from the state file with the ids they had. */
	int (*add_at)(void *ctx, const struct ipdk_port_cfg *cfg, uint32_t id,
		      struct ipdk_err *err);
};

struct ipdk_gnmi_ports;

/* Creates the port model over ops/ctx and fills *model to register with a server. */
int ipdk_gnmi_ports_create(const struct ipdk_gnmi_port_ops *ops, void *ctx,
			   struct ipdk_gnmi_ports **out, struct ipdk_gnmi_model *model,
			   struct ipdk_err *err);

/* Frees the port model (after the server that used it). */
void ipdk_gnmi_ports_free(struct ipdk_gnmi_ports *pm);

/* Attaches a virtual device table (NULL detaches): VHOST ports whose host-name
 * is one of its hosts are hotplugged into that host when made and unplugged
 * before they are removed. */
void ipdk_gnmi_ports_set_vdevs(struct ipdk_gnmi_ports *pm, struct ipdk_vdev_table *t);

/* Applies Set operations on /interfaces like a Set does (all or none); a VHOST
 * port it plugs whose name matches one of extra[0..n_extra) is plugged with
 * that device configuration (mac, physical-id, VF/PF...). */
int ipdk_gnmi_ports_apply(struct ipdk_gnmi_ports *pm, const struct ipdk_gnmi_set_op *ops,
			  size_t n, const struct ipdk_vdev_cfg *extra, size_t n_extra,
			  struct ipdk_err *err);

/* Stores the pipeline port id of port name in *id; -ENOENT when there is none. */
int ipdk_gnmi_ports_id(struct ipdk_gnmi_ports *pm, const char *name, uint32_t *id);

/* ---- The virtual device model (/virtual-devices) ---------------------------- */

struct ipdk_gnmi_vdevs;

/* Creates the virtual device model over table t, making its virtio-net devices
 * through the port model pm (which it attaches to t), and fills *model. */
int ipdk_gnmi_vdevs_create(struct ipdk_vdev_table *t, struct ipdk_gnmi_ports *pm,
			   struct ipdk_gnmi_vdevs **out, struct ipdk_gnmi_model *model,
			   struct ipdk_err *err);

/* Names the server to tell when an entry changes without a successful Set
 * (an unplug that failed leaves the entry in state unplug-failed). */
void ipdk_gnmi_vdevs_set_server(struct ipdk_gnmi_vdevs *vm, struct ipdk_gnmi_server *srv);

/* Frees the virtual device model (after the server that used it). */
void ipdk_gnmi_vdevs_free(struct ipdk_gnmi_vdevs *vm);

/* ---- The state file ------------------------------------------------------------ */

/* Restores what a state file written by ipdk_gnmi_state_save() holds, into
 * models that have nothing made through gNMI yet (vm may be NULL): hosts, then
 * ports with their pipeline port ids, then the virtual device entries as they
 * were (plugged, without calling the hotplug driver). A missing file is no
 * error. A file that cannot be read or parsed, or whose entries are malformed,
 * fails with the file and the reason and changes nothing. Entries that cannot
 * be made again (a netdev gone, a port id taken, an unknown host) are logged
 * and kept for the next save, with the reason. */
int ipdk_gnmi_state_load(const char *path, struct ipdk_gnmi_ports *pm,
			 struct ipdk_gnmi_vdevs *vm, struct ipdk_err *err);

/* Writes what was made through gNMI (hosts, ports with their keys and ids,
 * virtual devices with their state) to path: a temporary file renamed over it. */
int ipdk_gnmi_state_save(const char *path, struct ipdk_gnmi_ports *pm,
			 struct ipdk_gnmi_vdevs *vm, struct ipdk_err *err);

#endif
