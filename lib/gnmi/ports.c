/*
 * The port model: /interfaces/virtual-interface[name=N] with IPDK's keys under
 * config/ (port-type, device-type, queues, socket-path, host-name, pci-bdf,
 * netdev, mtu, pipeline-name, packet-dir, control-port, mempool-name) and the
 * read-only state/ (tdi-portin-id, tdi-portout-id, backend, counters). The
 * daemon creates and removes the ports (struct ipdk_gnmi_port_ops); this file
 * checks what a Set asks for and turns it into port configurations.
 *
 * A Set is planned in full before anything changes: every port it touches
 * gets its new key set, which must pass the per-type rules (required and
 * forbidden keys, value ranges, unique socket paths, control ports that are
 * TAP ports). Only then are ports removed and created; if a creation still
 * fails (the kernel or DPDK says no), the ports this Set created are removed
 * and the ones it removed are created again, so no half-done Set remains.
 *
 * Keys of a live port cannot change (DPDK cannot change them on a running
 * port): an update that changes one is refused, a replace re-creates the port.
 * Ports the daemon made from its configuration show keys derived from their
 * configuration.
 *
 * With a virtual device table attached (ipdk_gnmi_ports_set_vdevs), a VHOST
 * port whose host-name is one of the table's hosts is also hotplugged into
 * that VM as a virtio-net entry of the same name, right after the port is
 * made, and unplugged before the port goes. The virtual device model
 * (vdevs.c) makes and removes its virtio-net ports through this same path
 * (ipdk_gnmi_ports_apply), adding the settings only it has (mac, slot, VF/PF).
 * A plug that fails is a failed creation: the Set is rolled back.
 *
 * For the state file (state.c), the ports made through gNMI are given out
 * with their keys and ids and made again at start at the same ids; entries
 * that cannot be made again are kept (pending) until a Set names the port.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "ipdk/log.h"
#include "ipdk/gnmi.h"
#include "ipdk/vdev.h"
#include "gnmi_priv.h"

enum key_id {
	K_PORT_TYPE, K_DEVICE_TYPE, K_QUEUES, K_SOCKET_PATH, K_HOST_NAME, K_PCI_BDF,
	K_NETDEV, K_MTU, K_PIPELINE_NAME, K_PACKET_DIR, K_CONTROL_PORT, K_MEMPOOL_NAME,
	K_MAX
};

static const struct {
	const char *name;
	bool number;
} keys[K_MAX] = {
	[K_PORT_TYPE] = { "port-type", false },
	[K_DEVICE_TYPE] = { "device-type", false },
	[K_QUEUES] = { "queues", true },
	[K_SOCKET_PATH] = { "socket-path", false },
	[K_HOST_NAME] = { "host-name", false },
	[K_PCI_BDF] = { "pci-bdf", false },
	[K_NETDEV] = { "netdev", false },
	[K_MTU] = { "mtu", true },
	[K_PIPELINE_NAME] = { "pipeline-name", false },
	[K_PACKET_DIR] = { "packet-dir", false },
	[K_CONTROL_PORT] = { "control-port", false },
	[K_MEMPOOL_NAME] = { "mempool-name", false },
};

#define KNOWN_KEYS "port-type, device-type, queues, socket-path, host-name, pci-bdf, " \
		   "netdev, mtu, pipeline-name, packet-dir, control-port, mempool-name"

/* A port's keys as text (numbers in decimal). */
struct keyset {
	char name[IPDK_NAME_MAX];
	bool set[K_MAX];
	char val[K_MAX][IPDK_GNMI_VALUE_MAX];
};

struct rec {
	struct keyset ks;
	struct rec *next;
};

struct ipdk_gnmi_ports {
	struct ipdk_gnmi_port_ops ops;
	void *ctx;
	pthread_mutex_t lock;
	struct rec *recs;                  /* keys of the ports made through gNMI */
	struct ipdk_vdev_table *vdevs;     /* hosts to hotplug VHOST ports into, or NULL */
	const struct ipdk_vdev_cfg *extra; /* during ipdk_gnmi_ports_apply(): device settings */
	size_t n_extra;
	json_t *pending;                   /* state file entries not restored, kept */
};

enum action { A_KEEP, A_CREATE, A_DELETE, A_RECREATE };

struct plan {
	struct keyset old, new;
	bool exists, replace;
	enum action action;
	struct ipdk_port_cfg cfg;          /* as it will be (validated for creations) */
	struct ipdk_port_cfg old_cfg;      /* as it is, to restore on rollback */
	bool done_delete, done_create;
	bool plug;                         /* hotplug the new port (vcfg) into its host */
	struct ipdk_vdev_cfg vcfg;
	bool had_vdev;                     /* the old port is plugged (saved) */
	struct ipdk_vdev_info saved;
	bool done_plug, done_unplug;
};

struct plans {
	struct plan *v;
	size_t n;
};

static int key_find(const char *name)
{
	for (int k = 0; k < K_MAX; k++)
		if (!strcmp(keys[k].name, name))
			return k;
	return -1;
}

static struct rec *rec_find(struct ipdk_gnmi_ports *pm, const char *name)
{
	for (struct rec *r = pm->recs; r; r = r->next)
		if (!strcmp(r->ks.name, name))
			return r;
	return NULL;
}

static void ks_put(struct keyset *ks, enum key_id k, const char *v)
{
	ks->set[k] = true;
	snprintf(ks->val[k], sizeof(ks->val[k]), "%s", v);
}

/* Keys of a port the daemon made from its configuration. */
static void ks_derive(struct keyset *ks, const struct ipdk_port_cfg *c)
{
	char buf[16];

	memset(ks, 0, sizeof(*ks));
	snprintf(ks->name, sizeof(ks->name), "%s", c->name);
	snprintf(buf, sizeof(buf), "%s", ipdk_port_type_name(c->type));
	for (char *p = buf; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	ks_put(ks, K_PORT_TYPE, buf);
	if (c->type == IPDK_PORT_VHOST) {
		ks_put(ks, K_DEVICE_TYPE, "VIRTIO_NET");
		ks_put(ks, K_SOCKET_PATH, c->path);
	}
	if (c->type == IPDK_PORT_LINK)
		ks_put(ks, K_NETDEV, c->netdev);
	if (c->type == IPDK_PORT_VHOST || c->type == IPDK_PORT_LINK) {
		snprintf(buf, sizeof(buf), "%u", c->queues ? c->queues : 1);
		ks_put(ks, K_QUEUES, buf);
	}
	if (c->mtu) {
		snprintf(buf, sizeof(buf), "%u", c->mtu);
		ks_put(ks, K_MTU, buf);
	}
}

/* ---- Get ------------------------------------------------------------------- */

struct list_arg {
	struct ipdk_gnmi_ports *pm;
	ipdk_gnmi_emit_fn emit;
	void *arg;
	int rc;
};

static int emit_leaf(struct list_arg *a, const char *port, const char *c1, const char *c2,
		     const char *leaf, const struct ipdk_gnmi_val *v)
{
	struct ipdk_gnmi_path p;

	memset(&p, 0, sizeof(p));
	ipdk_gnmi_path_add(&p, "interfaces");
	ipdk_gnmi_path_add(&p, "virtual-interface");
	ipdk_gnmi_path_add_key(&p, "name", port);
	ipdk_gnmi_path_add(&p, c1);
	if (c2)
		ipdk_gnmi_path_add(&p, c2);
	ipdk_gnmi_path_add(&p, leaf);
	return a->rc = a->emit(a->arg, &p, v);
}

static int emit_u64(struct list_arg *a, const char *port, const char *c2, const char *leaf,
		    uint64_t u)
{
	struct ipdk_gnmi_val v;

	ipdk_gnmi_val_uint(&v, u);
	return emit_leaf(a, port, "state", c2, leaf, &v);
}

static int list_one(void *arg, const struct ipdk_gnmi_port_info *info)
{
	struct list_arg *a = arg;
	const struct ipdk_port_stats *st = &info->stats;
	const char *name = info->cfg.name;
	struct rec *r = rec_find(a->pm, name);
	struct keyset derived;
	const struct keyset *ks = r ? &r->ks : &derived;
	struct ipdk_gnmi_val v;

	if (!r)
		ks_derive(&derived, &info->cfg);
	for (int k = 0; k < K_MAX; k++) {
		if (!ks->set[k])
			continue;
		if (keys[k].number)
			ipdk_gnmi_val_uint(&v, strtoull(ks->val[k], NULL, 10));
		else
			ipdk_gnmi_val_str(&v, ks->val[k]);
		if (emit_leaf(a, name, "config", NULL, keys[k].name, &v))
			return a->rc;
	}
	ipdk_gnmi_val_str(&v, info->backend);
	if (emit_leaf(a, name, "state", NULL, "backend", &v))
		return a->rc;
	if (info->cfg.netdev[0]) {
		ipdk_gnmi_val_str(&v, info->cfg.netdev);
		if (emit_leaf(a, name, "state", NULL, "netdev", &v))
			return a->rc;
	}
	if (emit_u64(a, name, NULL, "tdi-portin-id", info->id) ||
	    emit_u64(a, name, NULL, "tdi-portout-id", info->id) ||
	    emit_u64(a, name, "counters", "in-octets", st->rx_bytes) ||
	    emit_u64(a, name, "counters", "in-unicast-pkts",
		     st->rx_packets - st->rx_broadcast - st->rx_multicast) ||
	    emit_u64(a, name, "counters", "in-broadcast-pkts", st->rx_broadcast) ||
	    emit_u64(a, name, "counters", "in-multicast-pkts", st->rx_multicast) ||
	    emit_u64(a, name, "counters", "in-discards", st->rx_drops) ||
	    emit_u64(a, name, "counters", "in-errors", st->rx_errors) ||
	    emit_u64(a, name, "counters", "out-octets", st->tx_bytes) ||
	    emit_u64(a, name, "counters", "out-unicast-pkts",
		     st->tx_packets - st->tx_broadcast - st->tx_multicast) ||
	    emit_u64(a, name, "counters", "out-broadcast-pkts", st->tx_broadcast) ||
	    emit_u64(a, name, "counters", "out-multicast-pkts", st->tx_multicast) ||
	    emit_u64(a, name, "counters", "out-discards", st->tx_drops) ||
	    emit_u64(a, name, "counters", "out-errors", st->tx_errors))
		return a->rc;
	return 0;
}

static int ports_get(void *ctx, ipdk_gnmi_emit_fn emit, void *arg, struct ipdk_err *err)
{
	struct ipdk_gnmi_ports *pm = ctx;
	struct list_arg a = { .pm = pm, .emit = emit, .arg = arg };

	(void)err;
	pthread_mutex_lock(&pm->lock);
	pm->ops.list(pm->ctx, list_one, &a);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

/* ---- Set: planning ----------------------------------------------------------- */

struct exist_arg {
	struct ipdk_gnmi_ports *pm;
	struct plans *plans;
	int rc;
};

/* Every live port gets a plan (A_KEEP) so later checks see all of them. */
static int plan_existing(void *arg, const struct ipdk_gnmi_port_info *info)
{
	struct exist_arg *a = arg;
	struct plan *p = realloc(a->plans->v, (a->plans->n + 1) * sizeof(*p));
	struct rec *r;

	if (!p)
		return a->rc = -ENOMEM;
	a->plans->v = p;
	p = &p[a->plans->n++];
	memset(p, 0, sizeof(*p));
	r = rec_find(a->pm, info->cfg.name);
	if (r)
		p->old = r->ks;
	else
		ks_derive(&p->old, &info->cfg);
	p->new = p->old;
	p->exists = true;
	p->cfg = info->cfg;
	p->old_cfg = info->cfg;
	return 0;
}

static struct plan *plan_get(struct plans *plans, const char *name, struct ipdk_err *err)
{
	struct plan *p;

	for (size_t i = 0; i < plans->n; i++)
		if (!strcmp(plans->v[i].new.name, name) || !strcmp(plans->v[i].old.name, name))
			return &plans->v[i];
	p = realloc(plans->v, (plans->n + 1) * sizeof(*p));
	if (!p) {
		ipdk_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	plans->v = p;
	p = &p[plans->n++];
	memset(p, 0, sizeof(*p));
	snprintf(p->new.name, sizeof(p->new.name), "%s", name);
	snprintf(p->old.name, sizeof(p->old.name), "%s", name);
	return p;
}

/* The port a path names ("*" or no key: every port), or an error for paths
 * outside /interfaces/virtual-interface. */
static int path_port(const struct ipdk_gnmi_path *path, const char **name,
		     struct ipdk_err *err)
{
	*name = NULL;
	if (path->n >= 2 && strcmp(path->elem[1].name, "virtual-interface"))
		return ipdk_gnmi_path_error(path, err, -ENOENT, "unknown container (expected "
					    "/interfaces/virtual-interface[name=N])");
	return ipdk_gnmi_path_list_name(path, name, err);
}

static int plan_delete(struct plans *plans, const struct ipdk_gnmi_set_op *op,
		       struct ipdk_err *err)
{
	const char *name;
	int rc = path_port(&op->path, &name, err);

	if (rc)
		return rc;
	if (op->path.n > 3 || (op->path.n == 3 && strcmp(op->path.elem[2].name, "config")))
		return ipdk_gnmi_path_error(&op->path, err, -EINVAL, "a single key or state "
					    "cannot be deleted; delete the port "
					    "(/interfaces/virtual-interface[name=N])");
	/* Deleting what does not exist is not an error in gNMI. */
	for (size_t i = 0; i < plans->n; i++) {
		struct plan *p = &plans->v[i];

		if (name && strcmp(p->new.name, name))
			continue;
		p->action = p->exists ? A_DELETE : A_KEEP;
		p->replace = false;
		memset(p->new.set, 0, sizeof(p->new.set));
	}
	return 0;
}

static int leaf_value(const struct ipdk_gnmi_leaf *l, int k, char *out, size_t size,
		      struct ipdk_err *err)
{
	const struct ipdk_gnmi_val *v = &l->val;

	if (v->type == IPDK_GNMI_BOOL)
		return ipdk_gnmi_path_error(&l->path, err, -EINVAL, "a boolean is not a valid "
					    "value here");
	if (v->type == IPDK_GNMI_INT)
		return ipdk_gnmi_path_error(&l->path, err, -EINVAL, "a negative number is not "
					    "a valid value here");
	if (k >= 0 && keys[k].number && v->type == IPDK_GNMI_STRING) {
		char *end;
		unsigned long long u;

		errno = 0;
		u = strtoull(v->s, &end, 10);
		if (errno || end == v->s || *end || v->s[0] == '-')
			return ipdk_err_set(err, -EINVAL, "port %s: %s \"%s\" is not a number",
					    ipdk_gnmi_path_key(&l->path, 1, "name"),
					    keys[k].name, v->s);
		snprintf(out, size, "%llu", u);
		return 0;
	}
	ipdk_gnmi_val_print(v, out, size);
	return 0;
}

/* One leaf of an update or replace: .../virtual-interface[name=N]/config/KEY
 * (or the name itself, which must agree with the key). */
static int plan_leaf(struct plans *plans, const struct ipdk_gnmi_set_op *op,
		     const struct ipdk_gnmi_leaf *l, struct ipdk_err *err)
{
	const struct ipdk_gnmi_path *path = &l->path;
	char val[IPDK_GNMI_VALUE_MAX];
	const char *name, *leaf;
	struct plan *p;
	int rc, k;

	rc = path_port(path, &name, err);
	if (rc)
		return rc;
	if (!name)
		return ipdk_gnmi_path_error(path, err, -EINVAL, "a port to change must be named "
					    "(virtual-interface[name=N])");
	leaf = path->elem[path->n - 1].name;
	if (path->n == 5 && !strcmp(path->elem[3].name, "state"))
		return ipdk_err_set(err, -EPERM, "port %s: %s is read-only", name, leaf);
	if (path->n == 4 && !strcmp(path->elem[2].name, "state"))
		return ipdk_err_set(err, -EPERM, "port %s: %s is read-only", name, leaf);
	if (path->n == 3 && !strcmp(leaf, "name"))
		k = -1;
	else if (path->n == 4 && !strcmp(path->elem[2].name, "config"))
		k = strcmp(leaf, "name") ? key_find(leaf) : -1;
	else
		return ipdk_gnmi_path_error(path, err, -EINVAL, "not a writable leaf (expected "
					    "/interfaces/virtual-interface[name=N]/config/KEY)");
	if (k < 0 && strcmp(leaf, "name"))
		return ipdk_err_set(err, -EINVAL, "port %s: unknown key \"%s\" (known: "
				    KNOWN_KEYS ")", name, leaf);
	rc = leaf_value(l, k, val, sizeof(val), err);
	if (rc)
		return rc;
	if (k < 0) {
		if (strcmp(val, name))
			return ipdk_err_set(err, -EINVAL, "port %s: name \"%s\" differs from the "
					    "key in the path", name, val);
		return 0;
	}
	p = plan_get(plans, name, err);
	if (!p)
		return -ENOMEM;
	if (op->op == IPDK_GNMI_REPLACE && !p->replace) {
		/* Replace starts from nothing; update builds on what is there. */
		memset(p->new.set, 0, sizeof(p->new.set));
		p->replace = true;
	}
	if (p->action == A_DELETE || p->action == A_KEEP)
		p->action = p->exists ? A_RECREATE : A_CREATE;
	ks_put(&p->new, (enum key_id)k, val);
	return 0;
}

static int plan_op(struct plans *plans, const struct ipdk_gnmi_set_op *op,
		   struct ipdk_err *err)
{
	const char *name;
	int rc;

	if (op->op == IPDK_GNMI_DELETE)
		return plan_delete(plans, op, err);
	rc = path_port(&op->path, &name, err);
	if (rc)
		return rc;
	/* A replace of the whole list: ports it does not mention go away. */
	if (op->op == IPDK_GNMI_REPLACE && op->path.n <= 2) {
		for (size_t i = 0; i < plans->n; i++) {
			bool named = false;

			for (size_t j = 0; j < op->n_leaves && !named; j++) {
				const char *n = ipdk_gnmi_path_key(&op->leaves[j].path, 1, "name");

				named = n && !strcmp(n, plans->v[i].new.name);
			}
			if (!named && plans->v[i].exists)
				plans->v[i].action = A_DELETE;
		}
	}
	for (size_t i = 0; i < op->n_leaves; i++) {
		rc = plan_leaf(plans, op, &op->leaves[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

static bool ks_equal(const struct keyset *a, const struct keyset *b)
{
	for (int k = 0; k < K_MAX; k++)
		if (a->set[k] != b->set[k] || (a->set[k] && strcmp(a->val[k], b->val[k])))
			return false;
	return true;
}

static int number(const struct keyset *ks, enum key_id k, unsigned long lo, unsigned long hi,
		  unsigned long *out, struct ipdk_err *err)
{
	unsigned long v = strtoul(ks->val[k], NULL, 10);

	if (v < lo || v > hi)
		return ipdk_err_set(err, -EINVAL, "port %s: %s %s is out of range (%lu to %lu)",
				    ks->name, keys[k].name, ks->val[k], lo, hi);
	*out = v;
	return 0;
}

/* A PCI address (DDDD:BB:DD.F) whose device has a kernel netdev. */
static int pci_netdev(const struct keyset *ks, char *netdev, size_t size, struct ipdk_err *err)
{
	const char *bdf = ks->val[K_PCI_BDF];
	unsigned int d, b, s, f;
	char dir[128], end;
	struct dirent *de;
	DIR *dp;

	if (sscanf(bdf, "%4x:%2x:%2x.%1x%c", &d, &b, &s, &f, &end) != 4 || strlen(bdf) != 12)
		return ipdk_err_set(err, -EINVAL, "port %s: pci-bdf \"%s\" is not a PCI "
				    "address (DDDD:BB:DD.F)", ks->name, bdf);
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/net", bdf);
	dp = opendir(dir);
	if (!dp)
		return ipdk_err_set(err, -ENODEV, "port %s: pci-bdf %s: no PCI device with a "
				    "kernel netdev at that address (DPDK-bound devices are not "
				    "supported)", ks->name, bdf);
	netdev[0] = '\0';
	while ((de = readdir(dp)))
		if (de->d_name[0] != '.') {
			snprintf(netdev, size, "%s", de->d_name);
			break;
		}
	closedir(dp);
	if (!netdev[0])
		return ipdk_err_set(err, -ENODEV, "port %s: pci-bdf %s has no kernel netdev",
				    ks->name, bdf);
	return 0;
}

static int forbid(const struct keyset *ks, const enum key_id *list, size_t n,
		  const char *kind, struct ipdk_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (ks->set[list[i]])
			return ipdk_err_set(err, -EINVAL, "port %s: %s is not allowed for a %s "
					    "port", ks->name, keys[list[i]].name, kind);
	return 0;
}

static int require(const struct keyset *ks, const enum key_id *list, size_t n,
		   const char *kind, struct ipdk_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (!ks->set[list[i]])
			return ipdk_err_set(err, -EINVAL, "port %s: %s is required for a %s "
					    "port", ks->name, keys[list[i]].name, kind);
	return 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The per-type rules; fills cfg for the port library. */
static int validate(struct ipdk_gnmi_ports *pm, const struct keyset *ks,
		    struct ipdk_port_cfg *cfg, struct ipdk_err *err)
{
	static const enum key_id tap_forbidden[] = { K_DEVICE_TYPE, K_SOCKET_PATH, K_HOST_NAME,
						     K_PCI_BDF, K_NETDEV, K_QUEUES };
	static const enum key_id link_forbidden[] = { K_SOCKET_PATH, K_HOST_NAME };
	static const enum key_id vhost_forbidden[] = { K_PCI_BDF, K_NETDEV };
	static const enum key_id vhost_required[] = { K_SOCKET_PATH, K_HOST_NAME, K_QUEUES };
	const char *pt = ks->val[K_PORT_TYPE];
	unsigned long v = 0;
	char pipeline[IPDK_NAME_MAX];
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "%s", ks->name);
	if (strlen(ks->name) >= IPDK_NAME_MAX)
		return ipdk_err_set(err, -ENAMETOOLONG, "port %.16s...: the name is too long "
				    "(at most %d characters)", ks->name, IPDK_NAME_MAX - 1);
	if (!ks->set[K_PORT_TYPE])
		return ipdk_err_set(err, -EINVAL, "port %s: port-type is required (TAP, LINK "
				    "or VHOST)", ks->name);
	if (ks->set[K_DEVICE_TYPE] && strcasecmp(ks->val[K_DEVICE_TYPE], "VIRTIO_NET"))
		return ipdk_err_set(err, -EINVAL, "port %s: device-type \"%s\" is not supported "
				    "(VIRTIO_NET)", ks->name, ks->val[K_DEVICE_TYPE]);
	if (!strcasecmp(pt, "TAP")) {
		cfg->type = IPDK_PORT_TAP;
		rc = forbid(ks, tap_forbidden, N(tap_forbidden), "TAP", err);
	} else if (!strcasecmp(pt, "VHOST") ||
		   (!strcasecmp(pt, "LINK") && ks->set[K_DEVICE_TYPE])) {
		/* IPDK's form: port-type LINK with device-type VIRTIO_NET. */
		cfg->type = IPDK_PORT_VHOST;
		rc = forbid(ks, vhost_forbidden, N(vhost_forbidden), "VHOST", err);
		if (!rc)
			rc = require(ks, vhost_required, N(vhost_required), "VHOST", err);
		if (!rc && !ks->val[K_HOST_NAME][0])
			rc = ipdk_err_set(err, -EINVAL, "port %s: host-name is empty", ks->name);
		snprintf(cfg->path, sizeof(cfg->path), "%s", ks->val[K_SOCKET_PATH]);
	} else if (!strcasecmp(pt, "LINK")) {
		cfg->type = IPDK_PORT_LINK;
		rc = forbid(ks, link_forbidden, N(link_forbidden), "LINK", err);
		if (!rc && ks->set[K_PCI_BDF] == ks->set[K_NETDEV])
			rc = ipdk_err_set(err, -EINVAL, "port %s: a LINK port needs %s", ks->name,
					  ks->set[K_NETDEV] ? "pci-bdf or netdev, not both" :
					  "pci-bdf (a PCI NIC) or netdev (a Linux netdev)");
		if (!rc && ks->set[K_PCI_BDF])
			rc = pci_netdev(ks, cfg->netdev, sizeof(cfg->netdev), err);
		else if (!rc && strlen(ks->val[K_NETDEV]) >= sizeof(cfg->netdev))
			rc = ipdk_err_set(err, -ENAMETOOLONG, "port %s: netdev %s is too long",
					  ks->name, ks->val[K_NETDEV]);
		else if (!rc)
			snprintf(cfg->netdev, sizeof(cfg->netdev), "%s", ks->val[K_NETDEV]);
	} else {
		return ipdk_err_set(err, -EINVAL, "port %s: port-type \"%s\" is unknown (TAP, "
				    "LINK or VHOST)", ks->name, pt);
	}
	if (rc)
		return rc;
	if (ks->set[K_QUEUES]) {
		rc = number(ks, K_QUEUES, 1, 64, &v, err);
		if (rc)
			return rc;
		cfg->queues = (uint16_t)v;
	}
	if (ks->set[K_MTU]) {
		rc = number(ks, K_MTU, 68, 9000, &v, err);
		if (rc)
			return rc;
		cfg->mtu = (uint16_t)v;
	}
	if (ks->set[K_PACKET_DIR] && strcasecmp(ks->val[K_PACKET_DIR], "host") &&
	    strcasecmp(ks->val[K_PACKET_DIR], "network"))
		return ipdk_err_set(err, -EINVAL, "port %s: packet-dir \"%s\" is unknown (host "
				    "or network)", ks->name, ks->val[K_PACKET_DIR]);
	if (ks->set[K_PIPELINE_NAME]) {
		pm->ops.pipeline_name(pm->ctx, pipeline, sizeof(pipeline));
		if (strcmp(ks->val[K_PIPELINE_NAME], pipeline))
			return ipdk_err_set(err, -ENOENT, "port %s: pipeline-name \"%s\": no such "
					    "pipeline (running: %s)", ks->name,
					    ks->val[K_PIPELINE_NAME], pipeline);
	}
	if (ks->set[K_MEMPOOL_NAME] && !ks->val[K_MEMPOOL_NAME][0])
		return ipdk_err_set(err, -EINVAL, "port %s: mempool-name is empty", ks->name);
	return 0;
}

static bool will_exist(const struct plan *p)
{
	return p->action == A_CREATE || p->action == A_RECREATE ||
	       (p->action == A_KEEP && p->exists);
}

/* Checks across ports: socket paths and control ports. */
static int check_all(struct plans *plans, struct ipdk_err *err)
{
	for (size_t i = 0; i < plans->n; i++) {
		const struct plan *p = &plans->v[i];
		const char *cp = p->new.val[K_CONTROL_PORT];

		if (!will_exist(p) || p->action == A_KEEP)
			continue;
		for (size_t j = 0; j < plans->n && p->cfg.type == IPDK_PORT_VHOST; j++) {
			const struct plan *q = &plans->v[j];

			if (j != i && will_exist(q) && q->cfg.type == IPDK_PORT_VHOST &&
			    !strcmp(q->cfg.path, p->cfg.path))
				return ipdk_err_set(err, -EEXIST, "port %s: socket-path %s is "
						    "already used by port %s", p->new.name,
						    p->cfg.path, q->new.name);
		}
		if (!p->new.set[K_CONTROL_PORT])
			continue;
		size_t j;

		for (j = 0; j < plans->n; j++)
			if (!strcmp(plans->v[j].new.name, cp) && will_exist(&plans->v[j]))
				break;
		if (j == plans->n)
			return ipdk_err_set(err, -ENOENT, "port %s: control-port %s: no such port",
					    p->new.name, cp);
		if (plans->v[j].cfg.type != IPDK_PORT_TAP)
			return ipdk_err_set(err, -EINVAL, "port %s: control-port %s is not a TAP "
					    "port", p->new.name, cp);
	}
	return 0;
}

/* A VHOST port for a host of the virtual device table is plugged into it:
 * the device's settings are the port's, plus what ipdk_gnmi_ports_apply()
 * passed for it. A new entry is checked against the table now; one that
 * replaces the old port's entry is checked when it is added. */
static int plan_plug(struct ipdk_gnmi_ports *pm, struct plan *p, struct ipdk_err *err)
{
	struct ipdk_vdev_host_info host;
	struct ipdk_vdev_cfg *v = &p->vcfg;
	size_t i;
	int rc;

	p->plug = false;
	if (!pm->vdevs || p->cfg.type != IPDK_PORT_VHOST ||
	    ipdk_vdev_host_get(pm->vdevs, p->new.val[K_HOST_NAME], &host, NULL))
		return 0;
	for (i = 0; i < pm->n_extra && strcmp(pm->extra[i].name, p->new.name); i++)
		;
	if (i < pm->n_extra) {
		*v = pm->extra[i];
	} else {
		ipdk_vdev_cfg_init(v);
		if (strlen(p->new.name) >= sizeof(v->name))
			return ipdk_err_set(err, -ENAMETOOLONG, "port %s: a port plugged into host "
					    "%s has a name of at most %zu characters", p->new.name,
					    host.name, sizeof(v->name) - 1);
		snprintf(v->name, sizeof(v->name), "%s", p->new.name);
		snprintf(v->host_name, sizeof(v->host_name), "%s", host.name);
	}
	v->type = IPDK_VDEV_VIRTIO_NET;
	if (strlen(p->cfg.path) >= sizeof(v->socket_path))
		return ipdk_err_set(err, -ENAMETOOLONG, "port %s: socket-path longer than %zu "
				    "characters cannot be plugged into a VM", p->new.name,
				    sizeof(v->socket_path) - 1);
	snprintf(v->socket_path, sizeof(v->socket_path), "%s", p->cfg.path);
	v->queues = p->cfg.queues;
	p->plug = true;
	if (p->action == A_RECREATE)
		return 0;
	rc = ipdk_vdev_check(pm->vdevs, v, err);
	if (rc == -EADDRINUSE)
		rc = err->code = -EEXIST;   /* a socket path in use: ALREADY_EXISTS */
	return rc;
}

/* A port that goes away is unplugged first when the table has it. */
static void plan_unplug(struct ipdk_gnmi_ports *pm, struct plan *p)
{
	p->had_vdev = pm->vdevs && !ipdk_vdev_get(pm->vdevs, p->old.name, &p->saved, NULL);
}

static int finish_plans(struct ipdk_gnmi_ports *pm, struct plans *plans, bool *any,
			struct ipdk_err *err)
{
	int rc;

	*any = false;
	for (size_t i = 0; i < plans->n; i++) {
		struct plan *p = &plans->v[i];

		if (p->action == A_RECREATE && ks_equal(&p->old, &p->new))
			p->action = A_KEEP;
		if (p->action == A_RECREATE && !p->replace) {
			for (int k = 0; k < K_MAX; k++)
				if (p->new.set[k] && (!p->old.set[k] ||
						      strcmp(p->new.val[k], p->old.val[k])))
					return ipdk_err_set(err, -EBUSY, "port %s: %s cannot be "
							    "changed while the port exists "
							    "(it is %s); delete the port or "
							    "replace it", p->new.name,
							    keys[k].name,
							    p->old.set[k] ? p->old.val[k] :
							    "not set");
		}
		if (p->action == A_CREATE || p->action == A_RECREATE) {
			rc = validate(pm, &p->new, &p->cfg, err);
			if (!rc)
				rc = plan_plug(pm, p, err);
			if (rc)
				return rc;
		}
		if (p->action == A_DELETE || p->action == A_RECREATE)
			plan_unplug(pm, p);
		if (p->action != A_KEEP)
			*any = true;
	}
	return check_all(plans, err);
}

/* ---- Set: applying ------------------------------------------------------------ */

static int rec_set(struct ipdk_gnmi_ports *pm, const struct keyset *ks)
{
	struct rec *r = rec_find(pm, ks->name);

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->next = pm->recs;
		pm->recs = r;
	}
	r->ks = *ks;
	return 0;
}

static void rec_drop(struct ipdk_gnmi_ports *pm, const char *name)
{
	for (struct rec **rp = &pm->recs; *rp; rp = &(*rp)->next)
		if (!strcmp((*rp)->ks.name, name)) {
			struct rec *r = *rp;

			*rp = r->next;
			free(r);
			return;
		}
}

/* The id a port the state file could not restore keeps for it, or -1. */
static long kept_id(struct ipdk_gnmi_ports *pm, const char *name, uint32_t id)
{
	size_t i;
	json_t *e;

	json_array_foreach(pm->pending, i, e) {
		json_int_t v = json_integer_value(json_object_get(e, "id"));

		if (name && !strcmp(json_string_value(json_object_get(e, "name")), name))
			return (long)v;
		if (!name && v == (json_int_t)id)
			return (long)v;
	}
	return -1;
}

static bool id_live(struct ipdk_gnmi_ports *pm, uint32_t id);

/* Creates a port at the lowest free id. Ids of ports the state file kept but
 * could not restore stay theirs (the P4 entries that name them would reach
 * another port): a port of such a name gets its kept id back, others skip
 * them. */
static int port_create(struct ipdk_gnmi_ports *pm, const struct ipdk_port_cfg *cfg,
		       uint32_t *id, struct ipdk_err *err)
{
	long mine = kept_id(pm, cfg->name, 0);
	int rc;

	if (!json_array_size(pm->pending) || !pm->ops.add_at)
		return pm->ops.add(pm->ctx, cfg, id, err);
	if (mine >= 0 && !id_live(pm, (uint32_t)mine)) {
		*id = (uint32_t)mine;
		return pm->ops.add_at(pm->ctx, cfg, *id, err);
	}
	for (*id = 0;; (*id)++) {
		if (id_live(pm, *id) || kept_id(pm, NULL, *id) >= 0)
			continue;
		rc = pm->ops.add_at(pm->ctx, cfg, *id, err);
		if (rc == -ERANGE)
			return ipdk_err_set(err, -ENOSPC, "port %s: all port slots are taken or "
					    "kept for ports of the state file that could not be "
					    "restored (delete those to free their ids)", cfg->name);
		return rc;
	}
}

/* Puts back what apply() did before it failed. */
static void rollback(struct ipdk_gnmi_ports *pm, struct plans *plans)
{
	struct ipdk_err err;
	uint32_t id;

	for (size_t i = 0; i < plans->n; i++) {
		struct plan *p = &plans->v[i];

		if (p->done_plug &&
		    ipdk_vdev_remove(pm->vdevs, p->vcfg.name, IPDK_VDEV_FORCE, &err))
			IPDK_LOG_ERR("gNMI rollback: %s", err.msg);
		if (p->done_create && pm->ops.remove(pm->ctx, p->new.name, &err))
			IPDK_LOG_ERR("gNMI rollback: %s", err.msg);
		if (p->done_create)
			rec_drop(pm, p->new.name);
	}
	for (size_t i = 0; i < plans->n; i++) {
		struct plan *p = &plans->v[i];

		if (p->done_delete && pm->ops.add(pm->ctx, &p->old_cfg, &id, &err)) {
			IPDK_LOG_ERR("gNMI rollback: cannot restore port %s: %s", p->old.name,
				     err.msg);
			continue;
		}
		if (p->done_delete && rec_set(pm, &p->old))
			IPDK_LOG_WARN("gNMI rollback: port %s restored without its keys",
				      p->old.name);
		if (p->done_unplug && ipdk_vdev_add(pm->vdevs, &p->saved.cfg, &err))
			IPDK_LOG_ERR("gNMI rollback: cannot plug device %s again: %s",
				     p->saved.cfg.name, err.msg);
	}
}

static int apply(struct ipdk_gnmi_ports *pm, struct plans *plans, struct ipdk_err *err)
{
	uint32_t id;
	int rc;

	for (size_t i = 0; i < plans->n; i++) {
		struct plan *p = &plans->v[i];

		if (p->action != A_DELETE && p->action != A_RECREATE)
			continue;
		if (p->had_vdev) {
			rc = ipdk_vdev_remove(pm->vdevs, p->old.name, 0, err);
			if (rc)
				goto fail;
			p->done_unplug = true;
			IPDK_LOG_INFO("gNMI: device %s unplugged from %s", p->old.name,
				      p->saved.cfg.host_name);
		}
		rc = pm->ops.remove(pm->ctx, p->old.name, err);
		if (rc)
			goto fail;
		p->done_delete = true;
		IPDK_LOG_INFO("gNMI: port %s removed", p->old.name);
	}
	for (size_t i = 0; i < plans->n; i++) {
		struct plan *p = &plans->v[i];

		if (p->action != A_CREATE && p->action != A_RECREATE)
			continue;
		rc = port_create(pm, &p->cfg, &id, err);
		if (rc == -EADDRINUSE)
			rc = err->code = -EEXIST;   /* a socket path in use: ALREADY_EXISTS */
		if (rc)
			goto fail;
		p->done_create = true;
		if (rec_set(pm, &p->new)) {
			rc = ipdk_err_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		IPDK_LOG_INFO("gNMI: port %s created (%s) with port id %u", p->cfg.name,
			      ipdk_port_type_name(p->cfg.type), id);
		if (!p->plug)
			continue;
		rc = ipdk_vdev_add(pm->vdevs, &p->vcfg, err);
		if (rc)
			goto fail;
		p->done_plug = true;
		IPDK_LOG_INFO("gNMI: device %s plugged into %s", p->vcfg.name, p->vcfg.host_name);
	}
	for (size_t i = 0; i < plans->n; i++)
		if (plans->v[i].action == A_DELETE)
			rec_drop(pm, plans->v[i].old.name);
	return 0;
fail:
	rollback(pm, plans);
	return rc;
}

/* A Set's operations on /interfaces; pm->lock held. */
static int ports_set_locked(struct ipdk_gnmi_ports *pm, const struct ipdk_gnmi_set_op *ops,
			    size_t n, struct ipdk_err *err)
{
	struct plans plans = { 0 };
	struct exist_arg ea = { .pm = pm, .plans = &plans };
	bool any;
	int rc = 0;

	pm->ops.list(pm->ctx, plan_existing, &ea);
	if (ea.rc)
		rc = ipdk_err_set(err, ea.rc, "out of memory");
	for (size_t i = 0; i < n && !rc; i++)
		rc = plan_op(&plans, &ops[i], err);
	if (!rc)
		rc = finish_plans(pm, &plans, &any, err);
	if (!rc && any)
		rc = apply(pm, &plans, err);
	/* What the Set named supersedes what the state file kept of it. */
	if (!rc)
		gnmi_state_drop(pm->pending, "port", "virtual-interface", ops, n);
	free(plans.v);
	return rc;
}

static int ports_set(void *ctx, const struct ipdk_gnmi_set_op *ops, size_t n,
		     struct ipdk_err *err)
{
	return ipdk_gnmi_ports_apply(ctx, ops, n, NULL, 0, err);
}

int ipdk_gnmi_ports_apply(struct ipdk_gnmi_ports *pm, const struct ipdk_gnmi_set_op *ops,
			  size_t n, const struct ipdk_vdev_cfg *extra, size_t n_extra,
			  struct ipdk_err *err)
{
	int rc;

	pthread_mutex_lock(&pm->lock);
	pm->extra = extra;
	pm->n_extra = n_extra;
	rc = ports_set_locked(pm, ops, n, err);
	pm->extra = NULL;
	pm->n_extra = 0;
	pthread_mutex_unlock(&pm->lock);
	return rc;
}

void ipdk_gnmi_ports_set_vdevs(struct ipdk_gnmi_ports *pm, struct ipdk_vdev_table *t)
{
	pthread_mutex_lock(&pm->lock);
	pm->vdevs = t;
	pthread_mutex_unlock(&pm->lock);
}

struct id_arg {
	const char *name;
	uint32_t id;
	bool found;
};

static int id_one(void *arg, const struct ipdk_gnmi_port_info *info)
{
	struct id_arg *a = arg;

	if (strcmp(info->cfg.name, a->name))
		return 0;
	a->id = info->id;
	a->found = true;
	return 1;
}

int ipdk_gnmi_ports_id(struct ipdk_gnmi_ports *pm, const char *name, uint32_t *id)
{
	struct id_arg a = { .name = name };

	pm->ops.list(pm->ctx, id_one, &a);
	*id = a.id;
	return a.found ? 0 : -ENOENT;
}

/* ---- life cycle ------------------------------------------------------------- */

int ipdk_gnmi_ports_create(const struct ipdk_gnmi_port_ops *ops, void *ctx,
			   struct ipdk_gnmi_ports **out, struct ipdk_gnmi_model *model,
			   struct ipdk_err *err)
{
	struct ipdk_gnmi_ports *pm;

	if (!ops || !ops->add || !ops->remove || !ops->list || !ops->pipeline_name)
		return ipdk_err_set(err, -EINVAL, "gNMI ports: incomplete port ops");
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return ipdk_err_set(err, -ENOMEM, "gNMI ports: out of memory");
	pm->ops = *ops;
	pm->ctx = ctx;
	pthread_mutex_init(&pm->lock, NULL);
	memset(model, 0, sizeof(*model));
	model->root = "interfaces";
	model->name = "ipdk-virtual-interfaces";
	model->organization = "IPDK";
	model->version = "0.1.0";
	model->get = ports_get;
	model->set = ports_set;
	model->ctx = pm;
	*out = pm;
	return 0;
}

void ipdk_gnmi_ports_free(struct ipdk_gnmi_ports *pm)
{
	if (!pm)
		return;
	while (pm->recs) {
		struct rec *r = pm->recs;

		pm->recs = r->next;
		free(r);
	}
	json_decref(pm->pending);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

/* ---- the state file -------------------------------------------------------------- */

struct state_arg {
	struct ipdk_gnmi_ports *pm;
	json_t *ports;
};

static json_t *ks_json(const struct keyset *ks)
{
	json_t *o = json_object();

	for (int k = 0; k < K_MAX; k++) {
		if (!ks->set[k])
			continue;
		gnmi_state_put(o, keys[k].name, keys[k].number, ks->val[k]);
	}
	return o;
}

static int state_one(void *arg, const struct ipdk_gnmi_port_info *info)
{
	struct state_arg *a = arg;
	struct rec *r = rec_find(a->pm, info->cfg.name);

	if (r)
		json_array_append_new(a->ports, json_pack("{s:s, s:I, s:o}", "name", r->ks.name,
							  "id", (json_int_t)info->id,
							  "config", ks_json(&r->ks)));
	return 0;
}

static bool port_live(struct ipdk_gnmi_ports *pm, const char *name)
{
	uint32_t id;

	return !ipdk_gnmi_ports_id(pm, name, &id);
}

struct live_arg {
	uint32_t id;
	bool found;
};

static int live_one(void *arg, const struct ipdk_gnmi_port_info *info)
{
	struct live_arg *a = arg;

	a->found = info->id == a->id;
	return a->found;
}

static bool id_live(struct ipdk_gnmi_ports *pm, uint32_t id)
{
	struct live_arg a = { .id = id };

	pm->ops.list(pm->ctx, live_one, &a);
	return a.found;
}

json_t *gnmi_ports_state(struct ipdk_gnmi_ports *pm)
{
	struct state_arg a = { .pm = pm, .ports = json_array() };
	size_t i;
	json_t *e;

	pthread_mutex_lock(&pm->lock);
	pm->ops.list(pm->ctx, state_one, &a);
	/* kept also when a configured port has the name: it may go again */
	json_array_foreach(pm->pending, i, e)
		json_array_append(a.ports, e);
	pthread_mutex_unlock(&pm->lock);
	return a.ports;
}

/* Turns an entry's "config" object into keys (checked by gnmi_ports_check). */
static void ks_from_json(struct keyset *ks, const char *name, json_t *config)
{
	const char *key;
	json_t *v;

	memset(ks, 0, sizeof(*ks));
	snprintf(ks->name, sizeof(ks->name), "%s", name);
	json_object_foreach(config, key, v) {
		char text[32];
		int k = key_find(key);

		if (json_is_integer(v)) {
			snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
			ks_put(ks, (enum key_id)k, text);
		} else {
			ks_put(ks, (enum key_id)k, json_string_value(v));
		}
	}
}

int gnmi_ports_check(const char *file, json_t *ports, struct ipdk_err *err)
{
	const char *name, *key;
	json_t *e, *config, *v;
	json_int_t id;
	size_t i;

	if (ports && !json_is_array(ports))
		return ipdk_err_set(err, -EINVAL, "state file %s: \"ports\" must be an array", file);
	json_array_foreach(ports, i, e) {
		if (json_unpack(e, "{s:s, s:I, s:o}", "name", &name, "id", &id, "config", &config) ||
		    !json_is_object(config))
			return ipdk_err_set(err, -EINVAL, "state file %s: ports[%zu]: expected "
					    "{\"name\": STRING, \"id\": NUMBER, \"config\": "
					    "OBJECT}", file, i);
		if (!name[0] || strlen(name) >= IPDK_NAME_MAX || id < 0 || id >= UINT32_MAX)
			return ipdk_err_set(err, -EINVAL, "state file %s: ports[%zu]: bad name or "
					    "id", file, i);
		json_object_foreach(config, key, v) {
			if (key_find(key) < 0)
				return ipdk_err_set(err, -EINVAL, "state file %s: port %s: unknown "
						    "key \"%s\"", file, name, key);
			if (!(json_is_string(v) && json_string_length(v) < IPDK_GNMI_VALUE_MAX) &&
			    !(json_is_integer(v) && json_integer_value(v) >= 0))
				return ipdk_err_set(err, -EINVAL, "state file %s: port %s: %s must "
						    "be a string or a number", file, name, key);
		}
	}
	return 0;
}

static void restore_port(struct ipdk_gnmi_ports *pm, json_t *e)
{
	const char *name = json_string_value(json_object_get(e, "name"));
	uint32_t id = (uint32_t)json_integer_value(json_object_get(e, "id"));
	struct ipdk_port_cfg cfg;
	struct keyset ks;
	struct ipdk_err err;
	uint32_t got;
	int rc;

	ipdk_err_clear(&err);
	ks_from_json(&ks, name, json_object_get(e, "config"));
	if (port_live(pm, name)) {
		gnmi_state_keep(&pm->pending, "port", name, e, "a port of that name exists "
				"(from the daemon's configuration, which comes first)");
		return;
	}
	rc = validate(pm, &ks, &cfg, &err);
	if (!rc && pm->ops.add_at)
		rc = pm->ops.add_at(pm->ctx, &cfg, id, &err);
	else if (!rc)
		rc = pm->ops.add(pm->ctx, &cfg, &got, &err);
	if (!rc)
		rc = rec_set(pm, &ks) ? ipdk_err_set(&err, -ENOMEM, "out of memory") : 0;
	if (rc) {
		gnmi_state_keep(&pm->pending, "port", name, e, err.msg);
		return;
	}
	IPDK_LOG_INFO("state file: port %s restored (%s) with port id %u", name,
		      ipdk_port_type_name(cfg.type), id);
}

void gnmi_ports_restore(struct ipdk_gnmi_ports *pm, json_t *ports)
{
	size_t i;
	json_t *e;

	pthread_mutex_lock(&pm->lock);
	json_array_foreach(ports, i, e)
		restore_port(pm, e);
	pthread_mutex_unlock(&pm->lock);
}
