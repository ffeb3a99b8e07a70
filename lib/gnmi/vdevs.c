/*
 * The virtual device model: /virtual-devices over lib/vdev's table.
 *
 *   host[name=H]/config/   qmp-socket, bus-prefix, slots, timeout-ms
 *   host[name=H]/state/    driver, devices
 *   virtual-device[name=N]/config/  device-type, host-name, socket-path, queues,
 *                                   physical-id, pci-bus, mac, pf-name, vf-index
 *   virtual-device[name=N]/state/   state, note, physical-id, pci-bus, port-name,
 *                                   tdi-portin-id, tdi-portout-id
 *
 * A host binds a VM name to its QMP socket. A virtio-net device is a VHOST port
 * of the port model (ports.c) with the same name, hotplugged into its host: this
 * model asks the port model to make or remove that port, and the port model
 * plugs and unplugs it, so a device made here and a VHOST port made through
 * /interfaces for a known host are the same thing, made the same way.
 * virtio-blk and nvme devices belong to storaged, which owns their backends;
 * here they are validated and refused (docs/gnmi.md).
 *
 * Like the port model, a Set is planned in full (deletes, replaces, updates),
 * checked, and then applied in the order device removals, host removals, host
 * additions, device additions; a step that fails undoes the earlier ones.
 *
 * For the state file (state.c), the hosts made through gNMI and every entry of
 * the table are given out, and restored at start (entries as plugged, without
 * QEMU); what cannot be restored is kept (pending) until a Set names it.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ipdk/log.h"
#include "ipdk/gnmi.h"
#include "gnmi_priv.h"

enum { D_TYPE, D_HOST, D_SOCKET, D_QUEUES, D_PHYS, D_BUS, D_MAC, D_PF, D_VF, D_MAX };
enum { H_QMP, H_PREFIX, H_SLOTS, H_TIMEOUT, H_MAX };
#define KEYS_MAX D_MAX

struct key_def {
	const char *name;
	bool number;
};

static const struct key_def dkeys[D_MAX] = {
	[D_TYPE] = { "device-type", false }, [D_HOST] = { "host-name", false },
	[D_SOCKET] = { "socket-path", false }, [D_QUEUES] = { "queues", true },
	[D_PHYS] = { "physical-id", true }, [D_BUS] = { "pci-bus", false },
	[D_MAC] = { "mac", false }, [D_PF] = { "pf-name", false },
	[D_VF] = { "vf-index", true },
};

static const struct key_def hkeys[H_MAX] = {
	[H_QMP] = { "qmp-socket", false }, [H_PREFIX] = { "bus-prefix", false },
	[H_SLOTS] = { "slots", true }, [H_TIMEOUT] = { "timeout-ms", true },
};

#define DKEYS "device-type, host-name, socket-path, queues, physical-id, pci-bus, mac, " \
	      "pf-name, vf-index"
#define HKEYS "qmp-socket, bus-prefix, slots, timeout-ms"

struct kv {
	bool set[KEYS_MAX];
	char val[KEYS_MAX][IPDK_GNMI_VALUE_MAX];
};

/* The keys a device was given through this model. */
struct drec {
	char name[IPDK_VDEV_NAME_MAX];
	struct kv keys;
	struct drec *next;
};

struct ipdk_gnmi_vdevs {
	struct ipdk_vdev_table *t;
	struct ipdk_gnmi_ports *pm;
	struct ipdk_gnmi_server *srv;
	pthread_mutex_t lock;
	struct drec *recs;
	struct drec *hosts_made;               /* hosts made here, not configured (no keys) */
	json_t *pending_hosts, *pending_devs;  /* state file entries not restored */
};

enum action { A_KEEP, A_CREATE, A_DELETE, A_RECREATE };

struct item {
	bool host;                          /* a host, else a device */
	char name[IPDK_GNMI_VALUE_MAX];
	bool exists, replace;
	enum action action;
	struct kv old, new;
	struct ipdk_vdev_info info;         /* device: as it is */
	struct ipdk_vdev_cfg cfg;           /* device: as it will be */
	bool done_delete, done_create;
};

struct items {
	struct item *v;
	size_t n;
};

static const struct key_def *defs(bool host, int *n)
{
	*n = host ? H_MAX : D_MAX;
	return host ? hkeys : dkeys;
}

static struct drec *rec_find(struct drec *list, const char *name)
{
	for (struct drec *r = list; r; r = r->next)
		if (!strcmp(r->name, name))
			return r;
	return NULL;
}

static void kv_put(struct kv *kv, int k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void kv_put(struct kv *kv, int k, const char *fmt, ...)
{
	va_list ap;

	kv->set[k] = true;
	va_start(ap, fmt);
	vsnprintf(kv->val[k], sizeof(kv->val[k]), fmt, ap);
	va_end(ap);
}

/* Keys of a device that was not made here (a VHOST port for a known host). */
static void kv_derive(struct kv *kv, const struct ipdk_vdev_cfg *c)
{
	memset(kv, 0, sizeof(*kv));
	kv_put(kv, D_TYPE, "%s", ipdk_vdev_type_name(c->type));
	kv_put(kv, D_HOST, "%s", c->host_name);
	if (c->socket_path[0])
		kv_put(kv, D_SOCKET, "%s", c->socket_path);
	kv_put(kv, D_QUEUES, "%u", c->queues ? c->queues : 1);
	if (c->has_mac)
		kv_put(kv, D_MAC, "%02x:%02x:%02x:%02x:%02x:%02x", c->mac[0], c->mac[1],
		       c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
	if (c->pf_name[0])
		kv_put(kv, D_PF, "%s", c->pf_name);
	if (c->vf_index >= 0)
		kv_put(kv, D_VF, "%d", c->vf_index);
}

static void host_kv(struct kv *kv, const struct ipdk_vdev_host_info *h)
{
	memset(kv, 0, sizeof(*kv));
	kv_put(kv, H_QMP, "%s", h->address);
	kv_put(kv, H_PREFIX, "%s", h->bus_prefix);
	kv_put(kv, H_SLOTS, "%u", h->n_slots);
	kv_put(kv, H_TIMEOUT, "%u", h->timeout_ms);
}

/* ---- reading the table ---------------------------------------------------- */

struct snap {
	struct ipdk_vdev_info *dev;
	size_t n_dev;
	struct ipdk_vdev_host_info *host;
	size_t n_host;
	int rc;
};

static int snap_dev(const struct ipdk_vdev_info *info, void *arg)
{
	struct snap *s = arg;
	struct ipdk_vdev_info *v = realloc(s->dev, (s->n_dev + 1) * sizeof(*v));

	if (!v)
		return s->rc = -ENOMEM;
	s->dev = v;
	v[s->n_dev++] = *info;
	return 0;
}

static int snap_host(const struct ipdk_vdev_host_info *info, void *arg)
{
	struct snap *s = arg;
	struct ipdk_vdev_host_info *v = realloc(s->host, (s->n_host + 1) * sizeof(*v));

	if (!v)
		return s->rc = -ENOMEM;
	s->host = v;
	v[s->n_host++] = *info;
	return 0;
}

/* Copies the table out, so nothing else runs under its lock. */
static int snap_take(struct ipdk_gnmi_vdevs *vm, struct snap *s, struct ipdk_err *err)
{
	memset(s, 0, sizeof(*s));
	ipdk_vdev_foreach(vm->t, snap_dev, s);
	if (!s->rc)
		ipdk_vdev_host_foreach(vm->t, snap_host, s);
	if (s->rc)
		return ipdk_err_set(err, s->rc, "virtual devices: out of memory");
	return 0;
}

static void snap_free(struct snap *s)
{
	free(s->dev);
	free(s->host);
}

/* ---- Get -------------------------------------------------------------------- */

struct emitter {
	ipdk_gnmi_emit_fn emit;
	void *arg;
};

static int emit(struct emitter *e, bool host, const char *name, const char *dir,
		const char *leaf, const struct ipdk_gnmi_val *v)
{
	struct ipdk_gnmi_path p;

	memset(&p, 0, sizeof(p));
	ipdk_gnmi_path_add(&p, "virtual-devices");
	ipdk_gnmi_path_add(&p, host ? "host" : "virtual-device");
	ipdk_gnmi_path_add_key(&p, "name", name);
	ipdk_gnmi_path_add(&p, dir);
	ipdk_gnmi_path_add(&p, leaf);
	return e->emit(e->arg, &p, v);
}

static int emit_str(struct emitter *e, bool host, const char *name, const char *leaf,
		    const char *s)
{
	struct ipdk_gnmi_val v;

	ipdk_gnmi_val_str(&v, s);
	return emit(e, host, name, "state", leaf, &v);
}

static int emit_uint(struct emitter *e, bool host, const char *name, const char *leaf,
		     uint64_t u)
{
	struct ipdk_gnmi_val v;

	ipdk_gnmi_val_uint(&v, u);
	return emit(e, host, name, "state", leaf, &v);
}

static int emit_config(struct emitter *e, bool host, const char *name, const struct kv *kv)
{
	struct ipdk_gnmi_val v;
	int n;
	const struct key_def *d = defs(host, &n);

	for (int k = 0; k < n; k++) {
		if (!kv->set[k])
			continue;
		if (d[k].number)
			ipdk_gnmi_val_uint(&v, strtoull(kv->val[k], NULL, 10));
		else
			ipdk_gnmi_val_str(&v, kv->val[k]);
		if (emit(e, host, name, "config", d[k].name, &v))
			return 1;
	}
	return 0;
}

static int emit_device(struct ipdk_gnmi_vdevs *vm, struct emitter *e,
		       const struct ipdk_vdev_info *info)
{
	const struct ipdk_vdev_cfg *c = &info->cfg;
	struct drec *r = rec_find(vm->recs, c->name);
	struct kv derived;
	uint32_t id;

	if (!r)
		kv_derive(&derived, c);
	if (emit_config(e, false, c->name, r ? &r->keys : &derived) ||
	    emit_str(e, false, c->name, "state", ipdk_vdev_state_name(info->state)) ||
	    (info->note[0] && emit_str(e, false, c->name, "note", info->note)) ||
	    emit_uint(e, false, c->name, "physical-id", (uint64_t)c->physical_id) ||
	    emit_str(e, false, c->name, "pci-bus", c->pci_bus))
		return 1;
	if (c->type != IPDK_VDEV_VIRTIO_NET || ipdk_gnmi_ports_id(vm->pm, c->name, &id))
		return 0;
	return emit_str(e, false, c->name, "port-name", c->name) ||
	       emit_uint(e, false, c->name, "tdi-portin-id", id) ||
	       emit_uint(e, false, c->name, "tdi-portout-id", id);
}

static int vdevs_get(void *ctx, ipdk_gnmi_emit_fn fn, void *arg, struct ipdk_err *err)
{
	struct ipdk_gnmi_vdevs *vm = ctx;
	struct emitter e = { .emit = fn, .arg = arg };
	struct snap s;
	struct kv kv;
	int rc;

	rc = snap_take(vm, &s, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&vm->lock);
	for (size_t i = 0; i < s.n_host; i++) {
		host_kv(&kv, &s.host[i]);
		if (emit_config(&e, true, s.host[i].name, &kv) ||
		    emit_str(&e, true, s.host[i].name, "driver", s.host[i].driver) ||
		    emit_uint(&e, true, s.host[i].name, "devices", s.host[i].n_devices))
			goto out;
	}
	for (size_t i = 0; i < s.n_dev; i++)
		if (emit_device(vm, &e, &s.dev[i]))
			break;
out:
	pthread_mutex_unlock(&vm->lock);
	snap_free(&s);
	return 0;
}

/* ---- Set: planning ------------------------------------------------------------ */

static struct item *item_get(struct items *it, bool host, const char *name,
			     struct ipdk_err *err)
{
	struct item *p;

	for (size_t i = 0; i < it->n; i++)
		if (it->v[i].host == host && !strcmp(it->v[i].name, name))
			return &it->v[i];
	p = realloc(it->v, (it->n + 1) * sizeof(*p));
	if (!p) {
		ipdk_err_set(err, -ENOMEM, "virtual devices: out of memory");
		return NULL;
	}
	it->v = p;
	p = &p[it->n++];
	memset(p, 0, sizeof(*p));
	p->host = host;
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

static int items_load(struct ipdk_gnmi_vdevs *vm, struct items *it, struct ipdk_err *err)
{
	struct snap s;
	struct item *p;
	int rc = snap_take(vm, &s, err);

	for (size_t i = 0; !rc && i < s.n_host; i++) {
		p = item_get(it, true, s.host[i].name, err);
		if (!p) {
			rc = -ENOMEM;
			break;
		}
		p->exists = true;
		host_kv(&p->old, &s.host[i]);
		p->new = p->old;
	}
	for (size_t i = 0; !rc && i < s.n_dev; i++) {
		struct drec *r = rec_find(vm->recs, s.dev[i].cfg.name);

		p = item_get(it, false, s.dev[i].cfg.name, err);
		if (!p) {
			rc = -ENOMEM;
			break;
		}
		p->exists = true;
		p->info = s.dev[i];
		if (r)
			p->old = r->keys;
		else
			kv_derive(&p->old, &s.dev[i].cfg);
		p->new = p->old;
	}
	snap_free(&s);
	return rc;
}

/* What a path names: *kind 1 hosts, 0 devices, -1 both (the whole model);
 * *name NULL for every entry of the kind. */
static int path_target(const struct ipdk_gnmi_path *path, int *kind, const char **name,
		       struct ipdk_err *err)
{
	*kind = -1;
	*name = NULL;
	if (path->n < 2)
		return 0;
	if (!strcmp(path->elem[1].name, "host"))
		*kind = 1;
	else if (!strcmp(path->elem[1].name, "virtual-device"))
		*kind = 0;
	else
		return ipdk_gnmi_path_error(path, err, -ENOENT, "unknown container (expected "
					    "/virtual-devices/virtual-device[name=N] or "
					    "/virtual-devices/host[name=H])");
	return ipdk_gnmi_path_list_name(path, name, err);
}

static bool kind_is(int kind, bool host)
{
	return kind < 0 || kind == (int)host;
}

static int plan_delete(struct items *it, const struct ipdk_gnmi_set_op *op,
		       struct ipdk_err *err)
{
	const char *name;
	int kind, rc = path_target(&op->path, &kind, &name, err);

	if (rc)
		return rc;
	if (op->path.n > 3 || (op->path.n == 3 && strcmp(op->path.elem[2].name, "config")))
		return ipdk_gnmi_path_error(&op->path, err, -EINVAL, "a single key or state "
					    "cannot be deleted; delete the entry "
					    "(/virtual-devices/virtual-device[name=N] or "
					    "/virtual-devices/host[name=H])");
	for (size_t i = 0; i < it->n; i++) {
		struct item *p = &it->v[i];

		if (!kind_is(kind, p->host) || (name && strcmp(p->name, name)))
			continue;
		p->action = p->exists ? A_DELETE : A_KEEP;
		p->replace = false;
		memset(p->new.set, 0, sizeof(p->new.set));
	}
	return 0;
}

static int key_find(bool host, const char *leaf)
{
	int n;
	const struct key_def *d = defs(host, &n);

	for (int k = 0; k < n; k++)
		if (!strcmp(d[k].name, leaf))
			return k;
	return -1;
}

static int leaf_text(const struct ipdk_gnmi_leaf *l, bool host, const char *name,
		     const struct key_def *d, char *out, size_t size, struct ipdk_err *err)
{
	const struct ipdk_gnmi_val *v = &l->val;
	const char *what = host ? "host" : "device";

	if (v->type == IPDK_GNMI_BOOL || v->type == IPDK_GNMI_INT)
		return ipdk_err_set(err, -EINVAL, "%s %s: %s: %s is not a valid value", what,
				    name, d->name, v->type == IPDK_GNMI_BOOL ? "a boolean" :
				    "a negative number");
	ipdk_gnmi_val_print(v, out, size);
	if (d->number) {
		char *end;

		errno = 0;
		unsigned long long u = strtoull(out, &end, 10);

		if (errno || end == out || *end || out[0] == '-')
			return ipdk_err_set(err, -EINVAL, "%s %s: %s \"%s\" is not a number", what,
					    name, d->name, out);
		snprintf(out, size, "%llu", u);
	}
	return 0;
}

static int plan_leaf(struct items *it, const struct ipdk_gnmi_set_op *op,
		     const struct ipdk_gnmi_leaf *l, struct ipdk_err *err)
{
	const struct ipdk_gnmi_path *path = &l->path;
	char val[IPDK_GNMI_VALUE_MAX];
	const char *name, *leaf, *what;
	int kind, k, n, rc;
	struct item *p;

	rc = path_target(path, &kind, &name, err);
	if (rc)
		return rc;
	if (kind < 0 || !name)
		return ipdk_gnmi_path_error(path, err, -EINVAL, "an entry to change must be named "
					    "(virtual-device[name=N] or host[name=H])");
	what = kind ? "host" : "device";
	leaf = path->elem[path->n - 1].name;
	if (path->n >= 4 && !strcmp(path->elem[2].name, "state"))
		return ipdk_err_set(err, -EPERM, "%s %s: %s is read-only", what, name, leaf);
	if (path->n == 3 && !strcmp(leaf, "name")) {
		ipdk_gnmi_val_print(&l->val, val, sizeof(val));
		if (strcmp(val, name))
			return ipdk_err_set(err, -EINVAL, "%s %s: name \"%s\" differs from the "
					    "key in the path", what, name, val);
		return 0;
	}
	if (path->n != 4 || strcmp(path->elem[2].name, "config"))
		return ipdk_gnmi_path_error(path, err, -EINVAL, "not a writable leaf (expected "
					    ".../config/KEY)");
	k = key_find(kind, leaf);
	if (k < 0)
		return ipdk_err_set(err, -EINVAL, "%s %s: unknown key \"%s\" (known: %s)", what,
				    name, leaf, kind ? HKEYS : DKEYS);
	rc = leaf_text(l, kind, name, &defs(kind, &n)[k], val, sizeof(val), err);
	if (rc)
		return rc;
	if (!kind && k == D_TYPE && ipdk_vdev_type_parse(val) >= 0)
		snprintf(val, sizeof(val), "%s", ipdk_vdev_type_name(ipdk_vdev_type_parse(val)));
	if (!kind && k == D_MAC)
		for (char *c = val; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	p = item_get(it, kind, name, err);
	if (!p)
		return -ENOMEM;
	if (op->op == IPDK_GNMI_REPLACE && !p->replace) {
		memset(p->new.set, 0, sizeof(p->new.set));
		p->replace = true;
	}
	if (p->action == A_DELETE || p->action == A_KEEP)
		p->action = p->exists ? A_RECREATE : A_CREATE;
	kv_put(&p->new, k, "%s", val);
	return 0;
}

static int plan_op(struct items *it, const struct ipdk_gnmi_set_op *op, struct ipdk_err *err)
{
	const char *name;
	int kind, rc;

	if (op->op == IPDK_GNMI_DELETE)
		return plan_delete(it, op, err);
	rc = path_target(&op->path, &kind, &name, err);
	if (rc)
		return rc;
	/* A replace of a whole list: entries it does not name go away. */
	if (op->op == IPDK_GNMI_REPLACE && op->path.n <= 2) {
		for (size_t i = 0; i < it->n; i++) {
			struct item *p = &it->v[i];
			bool named = false;

			for (size_t j = 0; j < op->n_leaves && !named; j++) {
				const struct ipdk_gnmi_path *lp = &op->leaves[j].path;
				const char *n = ipdk_gnmi_path_key(lp, 1, "name");

				named = n && lp->n >= 2 && !strcmp(n, p->name) &&
					!strcmp(lp->elem[1].name,
						p->host ? "host" : "virtual-device");
			}
			if (!named && p->exists && kind_is(kind, p->host))
				p->action = A_DELETE;
		}
	}
	for (size_t i = 0; i < op->n_leaves; i++) {
		rc = plan_leaf(it, op, &op->leaves[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

static bool will_exist(const struct item *p)
{
	return p->action == A_CREATE || p->action == A_RECREATE ||
	       (p->action == A_KEEP && p->exists);
}

static bool kv_equal(const struct kv *a, const struct kv *b, int n)
{
	for (int k = 0; k < n; k++)
		if (a->set[k] != b->set[k] || (a->set[k] && strcmp(a->val[k], b->val[k])))
			return false;
	return true;
}

/* Builds the device configuration from its keys; errors name device and key. */
static int device_cfg(const struct item *p, struct ipdk_vdev_cfg *c, struct ipdk_err *err)
{
	int rc;

	ipdk_vdev_cfg_init(c);
	if (strlen(p->name) >= sizeof(c->name))
		return ipdk_err_set(err, -ENAMETOOLONG, "device %.20s...: names have at most %zu "
				    "characters", p->name, sizeof(c->name) - 1);
	rc = ipdk_vdev_cfg_set(c, "name", p->name, err);
	for (int k = 0; k < D_MAX && !rc; k++)
		if (p->new.set[k])
			rc = ipdk_vdev_cfg_set(c, dkeys[k].name, p->new.val[k], err);
	if (rc)
		return ipdk_err_prefix(err, "device %s", p->name);
	if (!p->new.set[D_TYPE])
		return ipdk_err_set(err, -EINVAL, "device %s: device-type is required "
				    "(virtio-net, virtio-blk or nvme)", p->name);
	if (!p->new.set[D_HOST])
		return ipdk_err_set(err, -EINVAL, "device %s: host-name is required", p->name);
	if (c->type != IPDK_VDEV_VIRTIO_NET)
		return ipdk_err_set(err, -ENOTSUP, "device %s: %s devices are plugged by "
				    "storaged, which owns their backends; infrap4d plugs "
				    "virtio-net devices only", p->name,
				    ipdk_vdev_type_name(c->type));
	if (!c->socket_path[0])
		return ipdk_err_set(err, -EINVAL, "device %s: socket-path is required for "
				    "virtio-net (infrap4d's vhost-user socket for it)", p->name);
	if (!c->queues)
		c->queues = 1;
	return 0;
}

static int check_host(const struct items *it, const struct item *p, struct ipdk_err *err)
{
	const char *qmp = p->new.val[H_QMP];

	if (!p->new.set[H_QMP] || !qmp[0])
		return ipdk_err_set(err, -EINVAL, "host %s: qmp-socket is required (the VM's "
				    "QMP socket)", p->name);
	if (qmp[0] != '/')
		return ipdk_err_set(err, -EINVAL, "host %s: qmp-socket %s is not an absolute "
				    "path", p->name, qmp);
	if (p->new.set[H_SLOTS] && (strtoul(p->new.val[H_SLOTS], NULL, 10) < 1 ||
				    strtoul(p->new.val[H_SLOTS], NULL, 10) > 256))
		return ipdk_err_set(err, -EINVAL, "host %s: slots %s is out of range (1 to 256)",
				    p->name, p->new.val[H_SLOTS]);
	if (p->new.set[H_TIMEOUT] && (strtoul(p->new.val[H_TIMEOUT], NULL, 10) < 100 ||
				      strtoul(p->new.val[H_TIMEOUT], NULL, 10) > 600000))
		return ipdk_err_set(err, -EINVAL, "host %s: timeout-ms %s is out of range (100 "
				    "to 600000)", p->name, p->new.val[H_TIMEOUT]);
	/* A host's settings hold for the devices on it: they cannot change under them. */
	for (size_t i = 0; p->exists && i < it->n; i++) {
		const struct item *d = &it->v[i];

		if (!d->host && d->exists && d->action != A_DELETE &&
		    d->action != A_RECREATE && !strcmp(d->info.cfg.host_name, p->name))
			return ipdk_err_set(err, -EBUSY, "host %s: device %s is on it, so its "
					    "settings cannot change; remove the device first",
					    p->name, d->name);
	}
	return 0;
}

static int check_device(struct ipdk_gnmi_vdevs *vm, struct items *it, struct item *p,
			struct ipdk_err *err)
{
	char hosts[256] = "";
	size_t len = 0;
	uint32_t id;
	int rc;

	rc = device_cfg(p, &p->cfg, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < it->n; i++) {
		const struct item *h = &it->v[i];

		if (!h->host || !will_exist(h))
			continue;
		if (!strcmp(h->name, p->cfg.host_name))
			goto host_ok;
		if (len < sizeof(hosts))
			len += (size_t)snprintf(hosts + len, sizeof(hosts) - len, "%s%s",
						len ? ", " : "", h->name);
	}
	return ipdk_err_set(err, -ENOENT, "device %s: unknown host-name %s (configured: %s)",
			    p->name, p->cfg.host_name, len ? hosts : "none");
host_ok:
	if (!p->exists && !ipdk_gnmi_ports_id(vm->pm, p->name, &id))
		return ipdk_err_set(err, -EEXIST, "device %s: port %s (id %u) exists and is not a "
				    "virtual device; remove it from /interfaces or pick another "
				    "name", p->name, p->name, id);
	return 0;
}

static int finish(struct ipdk_gnmi_vdevs *vm, struct items *it, bool *any,
		  struct ipdk_err *err)
{
	int rc, n;

	*any = false;
	for (size_t i = 0; i < it->n; i++) {
		struct item *p = &it->v[i];
		const struct key_def *d = defs(p->host, &n);

		if (p->action == A_RECREATE && kv_equal(&p->old, &p->new, n))
			p->action = A_KEEP;
		if (p->action == A_RECREATE && !p->replace) {
			for (int k = 0; k < n; k++)
				if (p->new.set[k] && (!p->old.set[k] ||
						      strcmp(p->new.val[k], p->old.val[k])))
					return ipdk_err_set(err, -EBUSY, "%s %s exists: %s cannot "
							    "be changed (it is %s); delete the "
							    "entry or replace it",
							    p->host ? "host" : "device", p->name,
							    d[k].name, p->old.set[k] ?
							    p->old.val[k] : "not set");
		}
		if (p->action != A_KEEP)
			*any = true;
	}
	/* Hosts first: devices look at which hosts will exist. */
	for (size_t i = 0; i < it->n; i++) {
		struct item *p = &it->v[i];

		if (!p->host)
			continue;
		if (p->action == A_CREATE || p->action == A_RECREATE) {
			rc = check_host(it, p, err);
			if (rc)
				return rc;
		}
	}
	for (size_t i = 0; i < it->n; i++) {
		struct item *p = &it->v[i];

		if (!p->host && (p->action == A_CREATE || p->action == A_RECREATE)) {
			rc = check_device(vm, it, p, err);
			if (rc)
				return rc;
		}
	}
	/* A host that goes away must have no device left on it. */
	for (size_t i = 0; i < it->n; i++) {
		const struct item *h = &it->v[i];

		if (!h->host || (h->action != A_DELETE && h->action != A_RECREATE))
			continue;
		for (size_t j = 0; j < it->n; j++) {
			const struct item *d = &it->v[j];
			const char *on = d->action == A_KEEP ? d->info.cfg.host_name :
					 d->cfg.host_name;

			if (!d->host && will_exist(d) && !strcmp(on, h->name) &&
			    h->action == A_DELETE)
				return ipdk_err_set(err, -EBUSY, "host %s: device %s still uses "
						    "it", h->name, d->name);
		}
	}
	return 0;
}

/* ---- Set: applying -------------------------------------------------------------- */

static void port_path(struct ipdk_gnmi_path *p, const char *name, const char *key)
{
	memset(p, 0, sizeof(*p));
	ipdk_gnmi_path_add(p, "interfaces");
	ipdk_gnmi_path_add(p, "virtual-interface");
	ipdk_gnmi_path_add_key(p, "name", name);
	if (key) {
		ipdk_gnmi_path_add(p, "config");
		ipdk_gnmi_path_add(p, key);
	}
}

/* Makes the VHOST port of a virtio-net device through the port model, which
 * plugs it into the device's host with cfg. */
static int device_add(struct ipdk_gnmi_vdevs *vm, const struct ipdk_vdev_cfg *cfg,
		      struct ipdk_err *err)
{
	static const char *keys[] = { "port-type", "device-type", "host-name", "socket-path",
				      "queues" };
	struct ipdk_gnmi_leaf leaves[5];
	struct ipdk_gnmi_set_op op = { .op = IPDK_GNMI_UPDATE, .leaves = leaves, .n_leaves = 5 };

	port_path(&op.path, cfg->name, NULL);
	for (int i = 0; i < 5; i++)
		port_path(&leaves[i].path, cfg->name, keys[i]);
	ipdk_gnmi_val_str(&leaves[0].val, "VHOST");
	ipdk_gnmi_val_str(&leaves[1].val, "VIRTIO_NET");
	ipdk_gnmi_val_str(&leaves[2].val, cfg->host_name);
	ipdk_gnmi_val_str(&leaves[3].val, cfg->socket_path);
	ipdk_gnmi_val_uint(&leaves[4].val, cfg->queues ? cfg->queues : 1);
	return ipdk_gnmi_ports_apply(vm->pm, &op, 1, cfg, 1, err);
}

/* Unplugs a device and removes its port (through the port model when it has one). */
static int device_remove(struct ipdk_gnmi_vdevs *vm, const char *name, struct ipdk_err *err)
{
	struct ipdk_gnmi_set_op op = { .op = IPDK_GNMI_DELETE };
	uint32_t id;

	port_path(&op.path, name, NULL);
	if (ipdk_gnmi_ports_id(vm->pm, name, &id)) {
		/* No port (one the state file could not restore): the delete
		 * below only drops what the file kept of it. */
		int rc = ipdk_vdev_remove(vm->t, name, 0, err);

		return rc ? rc : ipdk_gnmi_ports_apply(vm->pm, &op, 1, NULL, 0, err);
	}
	return ipdk_gnmi_ports_apply(vm->pm, &op, 1, NULL, 0, err);
}

static int host_add(struct ipdk_gnmi_vdevs *vm, const char *name, const struct kv *kv,
		    struct ipdk_err *err)
{
	struct ipdk_vdev_host_cfg hc = {
		.address = kv->val[H_QMP],
		.bus_prefix = kv->set[H_PREFIX] ? kv->val[H_PREFIX] : NULL,
		.n_slots = kv->set[H_SLOTS] ? (unsigned int)strtoul(kv->val[H_SLOTS], NULL, 10) : 0,
		.timeout_ms = kv->set[H_TIMEOUT] ?
			      (unsigned int)strtoul(kv->val[H_TIMEOUT], NULL, 10) : 0,
	};

	return ipdk_vdev_host_add(vm->t, name, &hc, err);
}

static int rec_set(struct drec **list, const char *name, const struct kv *kv)
{
	struct drec *r = rec_find(*list, name);

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->next = *list;
		*list = r;
	}
	r->keys = *kv;
	return 0;
}

static void rec_drop(struct drec **list, const char *name)
{
	for (struct drec **rp = list; *rp; rp = &(*rp)->next)
		if (!strcmp((*rp)->name, name)) {
			struct drec *r = *rp;

			*rp = r->next;
			free(r);
			return;
		}
}

static bool removes(const struct item *p)
{
	return p->action == A_DELETE || p->action == A_RECREATE;
}

static bool adds(const struct item *p)
{
	return p->action == A_CREATE || p->action == A_RECREATE;
}

/* Undoes what apply() did, newest first. */
static void rollback(struct ipdk_gnmi_vdevs *vm, struct items *it)
{
	struct ipdk_err e;

	for (size_t i = it->n; i-- > 0;) {
		struct item *p = &it->v[i];

		if (!p->host && p->done_create && device_remove(vm, p->name, &e))
			IPDK_LOG_ERR("gNMI rollback: %s", e.msg);
		if (!p->host && p->done_create)
			rec_drop(&vm->recs, p->name);
	}
	for (size_t i = it->n; i-- > 0;) {
		struct item *p = &it->v[i];

		if (p->host && p->done_create && ipdk_vdev_host_remove(vm->t, p->name, &e))
			IPDK_LOG_ERR("gNMI rollback: %s", e.msg);
	}
	for (size_t i = 0; i < it->n; i++) {
		struct item *p = &it->v[i];

		if (p->host && p->done_delete && host_add(vm, p->name, &p->old, &e))
			IPDK_LOG_ERR("gNMI rollback: %s", e.msg);
	}
	for (size_t i = 0; i < it->n; i++) {
		struct item *p = &it->v[i];

		if (!p->host && p->done_delete && device_add(vm, &p->info.cfg, &e))
			IPDK_LOG_ERR("gNMI rollback: cannot plug device %s again: %s", p->name,
				     e.msg);
	}
}

static int apply(struct ipdk_gnmi_vdevs *vm, struct items *it, struct ipdk_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < it->n && !rc; i++) {
		struct item *p = &it->v[i];

		if (p->host || !removes(p))
			continue;
		rc = device_remove(vm, p->name, err);
		if (!rc) {
			p->done_delete = true;
			rec_drop(&vm->recs, p->name);
		}
	}
	for (size_t i = 0; i < it->n && !rc; i++) {
		struct item *p = &it->v[i];

		if (!p->host || !removes(p))
			continue;
		rc = ipdk_vdev_host_remove(vm->t, p->name, err);
		p->done_delete = !rc;
	}
	for (size_t i = 0; i < it->n && !rc; i++) {
		struct item *p = &it->v[i];

		if (!p->host || !adds(p))
			continue;
		rc = host_add(vm, p->name, &p->new, err);
		p->done_create = !rc;
		if (!rc)
			IPDK_LOG_INFO("gNMI: host %s added (QMP socket %s)", p->name,
				      p->new.val[H_QMP]);
	}
	for (size_t i = 0; i < it->n && !rc; i++) {
		struct item *p = &it->v[i];

		if (p->host || !adds(p))
			continue;
		rc = device_add(vm, &p->cfg, err);
		p->done_create = !rc;
		if (!rc && rec_set(&vm->recs, p->name, &p->new))
			rc = ipdk_err_set(err, -ENOMEM, "device %s: out of memory", p->name);
	}
	if (rc)
		rollback(vm, it);
	for (size_t i = 0; i < it->n && !rc; i++) {
		struct item *p = &it->v[i];

		if (p->host && p->action == A_DELETE)
			rec_drop(&vm->hosts_made, p->name);
		else if (p->host && adds(p) && rec_set(&vm->hosts_made, p->name, &p->old))
			rc = ipdk_err_set(err, -ENOMEM, "host %s: out of memory", p->name);
	}
	return rc;
}

static int vdevs_set(void *ctx, const struct ipdk_gnmi_set_op *ops, size_t n,
		     struct ipdk_err *err)
{
	struct ipdk_gnmi_vdevs *vm = ctx;
	struct items it = { 0 };
	bool any = false;
	int rc;

	pthread_mutex_lock(&vm->lock);
	rc = items_load(vm, &it, err);
	for (size_t i = 0; i < n && !rc; i++)
		rc = plan_op(&it, &ops[i], err);
	if (!rc)
		rc = finish(vm, &it, &any, err);
	if (!rc && any)
		rc = apply(vm, &it, err);
	/* What the Set named supersedes what the state file kept of it. */
	if (!rc) {
		gnmi_state_drop(vm->pending_hosts, "host", "host", ops, n);
		gnmi_state_drop(vm->pending_devs, "device", "virtual-device", ops, n);
	}
	pthread_mutex_unlock(&vm->lock);
	/* A failed unplug changed an entry's state although the Set failed. */
	if (rc && any && vm->srv)
		ipdk_gnmi_server_changed(vm->srv);
	free(it.v);
	return rc;
}

/* ---- life cycle --------------------------------------------------------------- */

int ipdk_gnmi_vdevs_create(struct ipdk_vdev_table *t, struct ipdk_gnmi_ports *pm,
			   struct ipdk_gnmi_vdevs **out, struct ipdk_gnmi_model *model,
			   struct ipdk_err *err)
{
	struct ipdk_gnmi_vdevs *vm;

	if (!t || !pm)
		return ipdk_err_set(err, -EINVAL, "gNMI virtual devices: a table and a port "
				    "model are needed");
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return ipdk_err_set(err, -ENOMEM, "gNMI virtual devices: out of memory");
	vm->t = t;
	vm->pm = pm;
	pthread_mutex_init(&vm->lock, NULL);
	ipdk_gnmi_ports_set_vdevs(pm, t);
	memset(model, 0, sizeof(*model));
	model->root = "virtual-devices";
	model->name = "ipdk-virtual-devices";
	model->organization = "IPDK";
	model->version = "0.1.0";
	model->get = vdevs_get;
	model->set = vdevs_set;
	model->ctx = vm;
	*out = vm;
	return 0;
}

void ipdk_gnmi_vdevs_set_server(struct ipdk_gnmi_vdevs *vm, struct ipdk_gnmi_server *srv)
{
	vm->srv = srv;
}

void ipdk_gnmi_vdevs_free(struct ipdk_gnmi_vdevs *vm)
{
	if (!vm)
		return;
	ipdk_gnmi_ports_set_vdevs(vm->pm, NULL);
	while (vm->recs) {
		struct drec *r = vm->recs;

		vm->recs = r->next;
		free(r);
	}
	while (vm->hosts_made)
		rec_drop(&vm->hosts_made, vm->hosts_made->name);
	json_decref(vm->pending_hosts);
	json_decref(vm->pending_devs);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

/* ---- the state file -------------------------------------------------------------- */

static json_t *kv_json(const struct kv *kv, bool host)
{
	int n;
	const struct key_def *d = defs(host, &n);
	json_t *o = json_object();

	for (int k = 0; k < n; k++) {
		if (!kv->set[k])
			continue;
		gnmi_state_put(o, d[k].name, d[k].number, kv->val[k]);
	}
	return o;
}

/* A table entry: its configuration as chosen (slot, bus), state and note, and
 * the keys it was given here when it was made through /virtual-devices. */
static json_t *device_json(struct ipdk_gnmi_vdevs *vm, const struct ipdk_vdev_info *info)
{
	const struct ipdk_vdev_cfg *c = &info->cfg;
	struct drec *r = rec_find(vm->recs, c->name);
	struct kv kv;
	json_t *o;

	kv_derive(&kv, c);
	o = kv_json(&kv, false);
	json_object_set_new(o, "name", json_string(c->name));
	json_object_set_new(o, "physical-id", json_integer(c->physical_id));
	json_object_set_new(o, "pci-bus", json_string(c->pci_bus));
	json_object_set_new(o, "state", json_string(ipdk_vdev_state_name(info->state)));
	if (info->note[0])
		json_object_set_new(o, "note", json_string(info->note));
	if (r)
		json_object_set_new(o, "config", kv_json(&r->keys, false));
	return o;
}

static bool name_in(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; name && i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* Appends the entries of pending whose names are not live (a device made
 * through /interfaces since supersedes the one kept). */
static void add_pending(json_t *out, json_t *pending, const char *const *live, size_t n)
{
	size_t i;
	json_t *e;

	json_array_foreach(pending, i, e)
		if (!name_in(json_string_value(json_object_get(e, "name")), live, n))
			json_array_append(out, e);
}

int gnmi_vdevs_state(struct ipdk_gnmi_vdevs *vm, json_t *root)
{
	json_t *hosts, *devs;
	const char **names;
	struct snap s;
	struct kv kv;

	if (snap_take(vm, &s, NULL))
		return -ENOMEM;
	names = calloc(s.n_dev + 1, sizeof(*names));
	hosts = json_array();
	devs = json_array();
	if (!names || !hosts || !devs) {
		free(names);
		json_decref(hosts);
		json_decref(devs);
		snap_free(&s);
		return -ENOMEM;
	}
	pthread_mutex_lock(&vm->lock);
	for (size_t i = 0; i < s.n_host; i++) {
		json_t *o;

		if (!rec_find(vm->hosts_made, s.host[i].name))
			continue;
		host_kv(&kv, &s.host[i]);
		o = kv_json(&kv, true);
		json_object_set_new(o, "name", json_string(s.host[i].name));
		json_array_append_new(hosts, o);
	}
	add_pending(hosts, vm->pending_hosts, NULL, 0);
	for (size_t i = 0; i < s.n_dev; i++) {
		names[i] = s.dev[i].cfg.name;
		json_array_append_new(devs, device_json(vm, &s.dev[i]));
	}
	add_pending(devs, vm->pending_devs, names, s.n_dev);
	pthread_mutex_unlock(&vm->lock);
	json_object_set_new(root, "hosts", hosts);
	json_object_set_new(root, "devices", devs);
	free(names);
	snap_free(&s);
	return 0;
}

/* A device entry's own members: state, note, and the keys it was given here. */
static int device_member(const char *key, json_t *v, struct ipdk_vdev_info *info,
			 struct ipdk_err *err)
{
	const char *s = json_string_value(v), *ck;
	json_t *cv;

	if (!strcmp(key, "state")) {
		if (s && !strcmp(s, "unplug-failed"))
			info->state = IPDK_VDEV_UNPLUG_FAILED;
		else if (!s || strcmp(s, "plugged"))
			return ipdk_err_set(err, -EINVAL, "state must be plugged or unplug-failed");
		return 0;
	}
	if (!strcmp(key, "note")) {
		if (!s)
			return ipdk_err_set(err, -EINVAL, "note must be a string");
		snprintf(info->note, sizeof(info->note), "%s", s);
		return 0;
	}
	if (!json_is_object(v))
		return ipdk_err_set(err, -EINVAL, "config must be an object");
	json_object_foreach(v, ck, cv)
		if (key_find(false, ck) < 0 || (!json_is_string(cv) && !json_is_integer(cv)))
			return ipdk_err_set(err, -EINVAL, "config: bad key \"%s\"", ck);
	return 0;
}

/* Checks one entry (a host, or a device whose configuration it builds with
 * what ipdk_vdev_cfg_set accepts); errors name the file and the entry. */
static int entry_check(const char *file, json_t *e, bool host, struct ipdk_vdev_info *info,
		       struct ipdk_err *err)
{
	const char *what = host ? "host" : "device", *name, *key;
	char text[IPDK_GNMI_VALUE_MAX];
	json_t *v;
	int rc;

	name = json_string_value(json_object_get(e, "name"));
	if (!json_is_object(e) || !name || !name[0] || strlen(name) >= IPDK_VDEV_NAME_MAX)
		return ipdk_err_set(err, -EINVAL, "state file %s: a %s entry without a valid "
				    "\"name\"", file, what);
	ipdk_vdev_cfg_init(&info->cfg);
	info->state = IPDK_VDEV_PLUGGED;
	info->note[0] = '\0';
	rc = host ? 0 : ipdk_vdev_cfg_set(&info->cfg, "name", name, err);
	json_object_foreach(e, key, v) {
		if (rc)
			break;
		if (!strcmp(key, "name") || !strcmp(key, "not-restored"))
			continue;
		if (!host && (!strcmp(key, "state") || !strcmp(key, "note") ||
			      !strcmp(key, "config"))) {
			rc = device_member(key, v, info, err);
			continue;
		}
		if (key_find(host, key) < 0)
			rc = ipdk_err_set(err, -EINVAL, "unknown key \"%s\"", key);
		else if (json_is_integer(v) && json_integer_value(v) >= 0)
			snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
		else if (json_is_string(v) && json_string_length(v) < sizeof(text))
			snprintf(text, sizeof(text), "%s", json_string_value(v));
		else
			rc = ipdk_err_set(err, -EINVAL, "%s must be a string or a number", key);
		if (!rc && !host)
			rc = ipdk_vdev_cfg_set(&info->cfg, key, text, err);
	}
	if (!rc && !json_is_string(json_object_get(e, host ? "qmp-socket" : "host-name")))
		rc = ipdk_err_set(err, -EINVAL, "%s is required", host ? "qmp-socket" :
				  "host-name");
	if (rc)
		return ipdk_err_prefix(err, "state file %s: %s %s", file, what, name);
	return 0;
}

int gnmi_vdevs_check(const char *file, json_t *root, struct ipdk_err *err)
{
	struct ipdk_vdev_info info;
	size_t i;
	json_t *e;
	int rc;

	for (int host = 0; host < 2; host++) {
		json_t *list = json_object_get(root, host ? "hosts" : "devices");

		if (list && !json_is_array(list))
			return ipdk_err_set(err, -EINVAL, "state file %s: \"%s\" must be an array",
					    file, host ? "hosts" : "devices");
		json_array_foreach(list, i, e) {
			rc = entry_check(file, e, host, &info, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static void kv_from_json(struct kv *kv, json_t *o, bool host)
{
	const char *key;
	json_t *v;

	memset(kv, 0, sizeof(*kv));
	json_object_foreach(o, key, v) {
		int k = key_find(host, key);

		if (k < 0)
			continue;
		if (json_is_integer(v))
			kv_put(kv, k, "%lld", (long long)json_integer_value(v));
		else if (json_is_string(v))
			kv_put(kv, k, "%s", json_string_value(v));
	}
}

void gnmi_vdevs_restore_hosts(struct ipdk_gnmi_vdevs *vm, json_t *hosts)
{
	struct ipdk_vdev_host_info hi;
	struct ipdk_err err;
	size_t i;
	json_t *e;
	struct kv kv;

	pthread_mutex_lock(&vm->lock);
	json_array_foreach(hosts, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));

		kv_from_json(&kv, e, true);
		if (!ipdk_vdev_host_get(vm->t, name, &hi, NULL)) {
			gnmi_state_keep(&vm->pending_hosts, "host", name, e, "a host of that name "
					"exists (from the daemon's configuration, which comes "
					"first)");
			continue;
		}
		ipdk_err_clear(&err);
		if (host_add(vm, name, &kv, &err) ||
		    (rec_set(&vm->hosts_made, name, &kv) &&
		     ipdk_err_set(&err, -ENOMEM, "out of memory"))) {
			gnmi_state_keep(&vm->pending_hosts, "host", name, e, err.msg);
			continue;
		}
		IPDK_LOG_INFO("state file: host %s restored (QMP socket %s)", name, kv.val[H_QMP]);
	}
	pthread_mutex_unlock(&vm->lock);
}

void gnmi_vdevs_restore_devices(struct ipdk_gnmi_vdevs *vm, json_t *devices)
{
	struct ipdk_vdev_info info;
	struct ipdk_err err;
	uint32_t id;
	size_t i;
	json_t *e, *config;

	pthread_mutex_lock(&vm->lock);
	json_array_foreach(devices, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		struct kv kv;

		ipdk_err_clear(&err);
		if (entry_check("", e, false, &info, &err)) {
			gnmi_state_keep(&vm->pending_devs, "device", name, e, err.msg);
			continue;
		}
		/* A note is kept for a failed unplug; a plugged entry's is remade. */
		if (info.state != IPDK_VDEV_UNPLUG_FAILED)
			info.note[0] = '\0';
		if (info.cfg.type == IPDK_VDEV_VIRTIO_NET && ipdk_gnmi_ports_id(vm->pm, name, &id))
			snprintf(info.note, sizeof(info.note), "its VHOST port %s was not restored "
				 "(see the log and the state file): the VM's NIC has no backend",
				 name);
		if (ipdk_vdev_restore(vm->t, &info, &err)) {
			gnmi_state_keep(&vm->pending_devs, "device", name, e, err.msg);
			continue;
		}
		config = json_object_get(e, "config");
		if (config) {
			kv_from_json(&kv, config, false);
			if (rec_set(&vm->recs, name, &kv))
				IPDK_LOG_WARN("state file: device %s restored without its keys", name);
		}
		IPDK_LOG_INFO("state file: device %s restored (%s on %s, %s)", name,
			      ipdk_vdev_type_name(info.cfg.type), info.cfg.host_name,
			      ipdk_vdev_state_name(info.state));
	}
	pthread_mutex_unlock(&vm->lock);
}
