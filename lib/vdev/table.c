/*
 * The virtual device table: every active virtual device by unique name, the
 * hosts (VMs) they live in, and the rules a new device must pass before its
 * driver is asked to plug it: a known host, a free name, a socket path and a
 * slot no other device holds, sane queue counts and keys that fit the type.
 *
 * Entries are kept in an array sorted by name; tables hold tens to a few
 * hundred devices and change at the pace of a control plane. One mutex guards
 * everything, held across driver calls so that a device being plugged cannot
 * be added twice or removed before it exists (see vdev.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/log.h"
#include "ipdk/vdev.h"

#define HOSTS_MAX 64

struct vdev_host {
	char name[IPDK_VDEV_NAME_MAX];
	const struct ipdk_vdev_hotplug_ops *ops;
	void *ctx;
	char bus_prefix[IPDK_VDEV_BUS_MAX - 8];
	char address[IPDK_VDEV_PATH_MAX];
	unsigned int n_slots;
	unsigned int timeout_ms;
};

struct vdev_entry {
	struct ipdk_vdev_info info;
	struct vdev_host *host;
};

struct ipdk_vdev_table {
	pthread_mutex_t lock;
	struct vdev_host *hosts[HOSTS_MAX];
	unsigned int n_hosts;
	struct vdev_entry *entries;
	unsigned int n, cap;
};

int ipdk_vdev_table_create(struct ipdk_vdev_table **out, struct ipdk_err *err)
{
	struct ipdk_vdev_table *t = calloc(1, sizeof(*t));

	if (!t)
		return ipdk_err_set(err, -ENOMEM, "virtual device table: out of memory");
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

void ipdk_vdev_table_destroy(struct ipdk_vdev_table *t)
{
	if (!t)
		return;
	for (unsigned int i = 0; i < t->n_hosts; i++) {
		t->hosts[i]->ops->close(t->hosts[i]->ctx);
		free(t->hosts[i]);
	}
	free(t->entries);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static bool name_ok(const char *s)
{
	if (!s[0])
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* True when s fits in a buffer of max bytes, NUL included. */
static bool bounded(const char *s, size_t max)
{
	return strnlen(s, max) < max;
}

static struct vdev_host *host_find(struct ipdk_vdev_table *t, const char *name)
{
	for (unsigned int i = 0; i < t->n_hosts; i++)
		if (!strcmp(t->hosts[i]->name, name))
			return t->hosts[i];
	return NULL;
}

/* Index of the entry called name, or -(insertion point) - 1. */
static int entry_find(struct ipdk_vdev_table *t, const char *name)
{
	int lo = 0, hi = (int)t->n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(t->entries[mid].info.cfg.name, name);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

int ipdk_vdev_host_add(struct ipdk_vdev_table *t, const char *host_name,
		       const struct ipdk_vdev_host_cfg *cfg, struct ipdk_err *err)
{
	const struct ipdk_vdev_hotplug_ops *ops = cfg->ops ? cfg->ops : &ipdk_vdev_qmp_ops;
	const char *prefix = cfg->bus_prefix ? cfg->bus_prefix : "rp";
	struct vdev_host *h;
	int rc;

	if (!bounded(host_name, IPDK_VDEV_NAME_MAX) || !name_ok(host_name))
		return ipdk_err_set(err, -EINVAL, "host %.*s: names are 1 to %d letters, digits, "
				    "'-', '_' or '.'", IPDK_VDEV_NAME_MAX, host_name,
				    IPDK_VDEV_NAME_MAX - 1);
	if (!bounded(prefix, sizeof(h->bus_prefix)) || !name_ok(prefix))
		return ipdk_err_set(err, -EINVAL, "host %s: bus prefix %s: at most %zu letters, "
				    "digits, '-', '_' or '.'", host_name, prefix,
				    sizeof(h->bus_prefix) - 1);
	pthread_mutex_lock(&t->lock);
	if (host_find(t, host_name)) {
		rc = ipdk_err_set(err, -EEXIST, "host %s: already configured", host_name);
		goto out;
	}
	if (t->n_hosts == HOSTS_MAX) {
		rc = ipdk_err_set(err, -ENOSPC, "host %s: at most %d hosts", host_name, HOSTS_MAX);
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		rc = ipdk_err_set(err, -ENOMEM, "host %s: out of memory", host_name);
		goto out;
	}
	snprintf(h->name, sizeof(h->name), "%s", host_name);
	snprintf(h->bus_prefix, sizeof(h->bus_prefix), "%s", prefix);
	snprintf(h->address, sizeof(h->address), "%s", cfg->address ? cfg->address : "");
	h->ops = ops;
	h->n_slots = cfg->n_slots ? cfg->n_slots : 32;
	h->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000;
	rc = ops->open(host_name, cfg->address, h->timeout_ms, &h->ctx, err);
	if (rc) {
		free(h);
		goto out;
	}
	t->hosts[t->n_hosts++] = h;
	rc = 0;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int ipdk_vdev_host_remove(struct ipdk_vdev_table *t, const char *host_name,
			  struct ipdk_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	for (unsigned int i = 0; i < t->n_hosts; i++) {
		struct vdev_host *h = t->hosts[i];

		if (strcmp(h->name, host_name))
			continue;
		for (unsigned int j = 0; j < t->n; j++) {
			if (t->entries[j].host == h) {
				rc = ipdk_err_set(err, -EBUSY, "host %s: device %s still uses it",
						  host_name, t->entries[j].info.cfg.name);
				goto out;
			}
		}
		h->ops->close(h->ctx);
		free(h);
		t->hosts[i] = t->hosts[--t->n_hosts];
		goto out;
	}
	rc = ipdk_err_set(err, -ENOENT, "host %s: not configured", host_name);
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static void host_info(struct ipdk_vdev_table *t, const struct vdev_host *h,
		      struct ipdk_vdev_host_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", h->name);
	snprintf(info->driver, sizeof(info->driver), "%s", h->ops->name);
	snprintf(info->address, sizeof(info->address), "%s", h->address);
	snprintf(info->bus_prefix, sizeof(info->bus_prefix), "%s", h->bus_prefix);
	info->n_slots = h->n_slots;
	info->timeout_ms = h->timeout_ms;
	for (unsigned int i = 0; i < t->n; i++)
		info->n_devices += t->entries[i].host == h;
}

int ipdk_vdev_host_get(struct ipdk_vdev_table *t, const char *host_name,
		       struct ipdk_vdev_host_info *info, struct ipdk_err *err)
{
	struct vdev_host *h;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	h = host_find(t, host_name);
	if (h)
		host_info(t, h, info);
	else
		rc = ipdk_err_set(err, -ENOENT, "host %s: not configured", host_name);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int ipdk_vdev_host_foreach(struct ipdk_vdev_table *t,
			   int (*fn)(const struct ipdk_vdev_host_info *info, void *arg),
			   void *arg)
{
	struct ipdk_vdev_host_info info;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	for (unsigned int i = 0; i < t->n_hosts && !rc; i++) {
		host_info(t, t->hosts[i], &info);
		rc = fn(&info, arg);
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* Checks cfg's own fields, independent of the table. */
static int cfg_check(const struct ipdk_vdev_cfg *c, struct ipdk_err *err)
{
	const char *n = c->name;

	if (!bounded(c->name, sizeof(c->name)) || !name_ok(c->name))
		return ipdk_err_set(err, -EINVAL, "device %.*s: name: 1 to %zu letters, digits, "
				    "'-', '_' or '.'", (int)sizeof(c->name), c->name,
				    sizeof(c->name) - 1);
	if ((unsigned int)c->type >= IPDK_VDEV_TYPE_MAX)
		return ipdk_err_set(err, -EINVAL, "device %s: unknown device type %d", n, c->type);
	if (!bounded(c->host_name, sizeof(c->host_name)) || !c->host_name[0])
		return ipdk_err_set(err, -EINVAL, "device %s: host-name is required", n);
	if (!bounded(c->socket_path, sizeof(c->socket_path)))
		return ipdk_err_set(err, -ENAMETOOLONG, "device %s: socket-path longer than %zu "
				    "characters", n, sizeof(c->socket_path) - 1);
	if (c->type != IPDK_VDEV_NVME && !c->socket_path[0])
		return ipdk_err_set(err, -EINVAL, "device %s: socket-path is required for %s", n,
				    ipdk_vdev_type_name(c->type));
	if (c->socket_path[0] && c->socket_path[0] != '/')
		return ipdk_err_set(err, -EINVAL, "device %s: socket-path %s is not absolute", n,
				    c->socket_path);
	if (c->queues > IPDK_VDEV_QUEUES_MAX)
		return ipdk_err_set(err, -EINVAL, "device %s: queues %u: at most %d", n, c->queues,
				    IPDK_VDEV_QUEUES_MAX);
	if (c->has_mac && c->type != IPDK_VDEV_VIRTIO_NET)
		return ipdk_err_set(err, -EINVAL, "device %s: mac applies to virtio-net only", n);
	if (c->has_mac && (c->mac[0] & 1))
		return ipdk_err_set(err, -EINVAL, "device %s: mac is a multicast address", n);
	if (c->physical_id < -1)
		return ipdk_err_set(err, -EINVAL, "device %s: physical-id %d is negative", n,
				    c->physical_id);
	if (!bounded(c->pci_bus, sizeof(c->pci_bus)) || (c->pci_bus[0] && !name_ok(c->pci_bus)))
		return ipdk_err_set(err, -EINVAL, "device %s: pci-bus: a QEMU bus id of at most "
				    "%zu characters", n, sizeof(c->pci_bus) - 1);
	if (!bounded(c->pf_name, sizeof(c->pf_name)))
		return ipdk_err_set(err, -EINVAL, "device %s: pf-name too long", n);
	if (c->vf_index < -1)
		return ipdk_err_set(err, -EINVAL, "device %s: vf-index %d is negative", n,
				    c->vf_index);
	if (c->vf_index >= 0 && !c->pf_name[0])
		return ipdk_err_set(err, -EINVAL, "device %s: vf-index needs pf-name", n);
	return 0;
}

static void bus_of(const struct vdev_host *h, int physical_id, char *bus, size_t size)
{
	snprintf(bus, size, "%s%d", h->bus_prefix, physical_id);
}

/* Checks cfg against the table; fills *host and the chosen physical id / bus. */
static int table_check(struct ipdk_vdev_table *t, const struct ipdk_vdev_cfg *c,
		       struct vdev_host **host, int *phys, char *bus, struct ipdk_err *err)
{
	struct vdev_host *h;
	int rc, idx;

	rc = cfg_check(c, err);
	if (rc)
		return rc;
	idx = entry_find(t, c->name);
	if (idx >= 0)
		return ipdk_err_set(err, -EEXIST, "device %s: a device with this name exists "
				    "already (on host %s)", c->name,
				    t->entries[idx].info.cfg.host_name);
	h = host_find(t, c->host_name);
	if (!h)
		return ipdk_err_set(err, -ENOENT, "device %s: unknown host-name %s (%u hosts "
				    "configured)", c->name, c->host_name, t->n_hosts);
	if (c->physical_id >= (int)h->n_slots)
		return ipdk_err_set(err, -ERANGE, "device %s: physical-id %d: host %s has slots "
				    "0 to %u", c->name, c->physical_id, h->name, h->n_slots - 1);
	*phys = c->physical_id;
	if (c->pci_bus[0])
		snprintf(bus, IPDK_VDEV_BUS_MAX, "%s", c->pci_bus);
	else if (*phys >= 0)
		bus_of(h, *phys, bus, IPDK_VDEV_BUS_MAX);
	else
		bus[0] = '\0';
	for (unsigned int i = 0; i < t->n; i++) {
		const struct ipdk_vdev_cfg *o = &t->entries[i].info.cfg;

		if (c->socket_path[0] && !strcmp(o->socket_path, c->socket_path))
			return ipdk_err_set(err, -EADDRINUSE, "device %s: socket-path %s is in use "
					    "by device %s", c->name, c->socket_path, o->name);
		if (t->entries[i].host != h)
			continue;
		if (*phys >= 0 && o->physical_id == *phys)
			return ipdk_err_set(err, -EBUSY, "device %s: physical-id %d on host %s is "
					    "taken by device %s", c->name, *phys, h->name, o->name);
		if (bus[0] && !strcmp(o->pci_bus, bus))
			return ipdk_err_set(err, -EBUSY, "device %s: pci-bus %s on host %s is taken "
					    "by device %s", c->name, bus, h->name, o->name);
	}
	if (bus[0])
		goto done;
	/* First free slot whose bus no other device holds. */
	for (unsigned int id = 0; id < h->n_slots; id++) {
		bool used = false;

		bus_of(h, (int)id, bus, IPDK_VDEV_BUS_MAX);
		for (unsigned int i = 0; i < t->n && !used; i++)
			used = t->entries[i].host == h &&
			       (t->entries[i].info.cfg.physical_id == (int)id ||
				!strcmp(t->entries[i].info.cfg.pci_bus, bus));
		if (!used) {
			*phys = (int)id;
			goto done;
		}
	}
	return ipdk_err_set(err, -ENOSPC, "device %s: host %s has no free slot (all %u used)",
			    c->name, h->name, h->n_slots);
done:
	*host = h;
	return 0;
}

int ipdk_vdev_check(struct ipdk_vdev_table *t, const struct ipdk_vdev_cfg *cfg,
		    struct ipdk_err *err)
{
	char bus[IPDK_VDEV_BUS_MAX];
	struct vdev_host *h;
	int phys, rc;

	pthread_mutex_lock(&t->lock);
	rc = table_check(t, cfg, &h, &phys, bus, err);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* Makes room for one more entry. */
static int entries_reserve(struct ipdk_vdev_table *t, const char *name, struct ipdk_err *err)
{
	unsigned int cap = t->cap ? t->cap * 2 : 16;
	struct vdev_entry *e;

	if (t->n < t->cap)
		return 0;
	e = realloc(t->entries, cap * sizeof(*e));
	if (!e)
		return ipdk_err_set(err, -ENOMEM, "device %s: out of memory", name);
	t->entries = e;
	t->cap = cap;
	return 0;
}

/* Inserts a checked entry at its sorted place; entries_reserve() made room. */
static void entry_insert(struct ipdk_vdev_table *t, const struct ipdk_vdev_info *info,
			 struct vdev_host *h)
{
	int pos = -entry_find(t, info->cfg.name) - 1;

	memmove(t->entries + pos + 1, t->entries + pos, (t->n - pos) * sizeof(t->entries[0]));
	t->entries[pos].info = *info;
	t->entries[pos].host = h;
	t->n++;
}

static void note_vf(struct ipdk_vdev_info *info)
{
	const struct ipdk_vdev_cfg *c = &info->cfg;

	if (!c->pf_name[0])
		return;
	snprintf(info->note, sizeof(info->note), "VF/PF association (pf %s, vf %d) recorded; "
		 "not actionable on this host (no SR-IOV device to bind)", c->pf_name,
		 c->vf_index);
}

/* Builds the entry to insert: cfg with the chosen slot, defaults filled in. */
static void info_from(struct ipdk_vdev_info *info, const struct ipdk_vdev_cfg *cfg, int phys,
		      const char *bus)
{
	memset(info, 0, sizeof(*info));
	info->cfg = *cfg;
	info->cfg.physical_id = phys;
	snprintf(info->cfg.pci_bus, sizeof(info->cfg.pci_bus), "%s", bus);
	if (!info->cfg.queues)
		info->cfg.queues = 1;
	info->state = IPDK_VDEV_PLUGGED;
	note_vf(info);
}

int ipdk_vdev_add(struct ipdk_vdev_table *t, const struct ipdk_vdev_cfg *cfg,
		  struct ipdk_err *err)
{
	struct ipdk_err own;
	struct ipdk_vdev_info info;
	char bus[IPDK_VDEV_BUS_MAX];
	struct vdev_host *h;
	int phys, rc;

	/* Drivers may read the message back: give them a record to write in. */
	if (!err)
		err = &own;
	pthread_mutex_lock(&t->lock);
	rc = table_check(t, cfg, &h, &phys, bus, err);
	if (rc)
		goto out;
	info_from(&info, cfg, phys, bus);
	/* Room first, so a plugged device always finds its entry. */
	rc = entries_reserve(t, cfg->name, err);
	if (rc)
		goto out;
	rc = h->ops->plug(h->ctx, &info.cfg, err);
	if (rc)
		goto out;
	entry_insert(t, &info, h);
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int ipdk_vdev_restore(struct ipdk_vdev_table *t, const struct ipdk_vdev_info *in,
		      struct ipdk_err *err)
{
	struct ipdk_vdev_info info;
	char bus[IPDK_VDEV_BUS_MAX];
	struct vdev_host *h;
	int phys, rc;

	pthread_mutex_lock(&t->lock);
	rc = table_check(t, &in->cfg, &h, &phys, bus, err);
	if (!rc) {
		info_from(&info, &in->cfg, phys, bus);
		info.state = in->state;
		if (in->note[0])
			memcpy(info.note, in->note, sizeof(info.note));
		rc = entries_reserve(t, in->cfg.name, err);
		if (!rc)
			entry_insert(t, &info, h);
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int ipdk_vdev_remove(struct ipdk_vdev_table *t, const char *name, unsigned int flags,
		     struct ipdk_err *err)
{
	struct ipdk_err own;
	struct vdev_entry *e;
	int idx, rc;

	if (!err)
		err = &own;
	pthread_mutex_lock(&t->lock);
	idx = entry_find(t, name);
	if (idx < 0) {
		rc = ipdk_err_set(err, -ENOENT, "device %s: no such device", name);
		goto out;
	}
	e = &t->entries[idx];
	rc = e->host->ops->unplug(e->host->ctx, &e->info.cfg, err);
	if (rc && !(flags & IPDK_VDEV_FORCE)) {
		e->info.state = IPDK_VDEV_UNPLUG_FAILED;
		snprintf(e->info.note, sizeof(e->info.note), "%s", err->msg);
		goto out;
	}
	if (rc) {
		IPDK_LOG_WARN("device %s: removed by force after a failed unplug: %s", name,
			      err->msg);
		ipdk_err_clear(err);
		rc = 0;
	}
	memmove(t->entries + idx, t->entries + idx + 1, (t->n - idx - 1) * sizeof(*e));
	t->n--;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int ipdk_vdev_get(struct ipdk_vdev_table *t, const char *name, struct ipdk_vdev_info *info,
		  struct ipdk_err *err)
{
	int idx, rc = 0;

	pthread_mutex_lock(&t->lock);
	idx = entry_find(t, name);
	if (idx < 0)
		rc = ipdk_err_set(err, -ENOENT, "device %s: no such device", name);
	else
		*info = t->entries[idx].info;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int ipdk_vdev_foreach(struct ipdk_vdev_table *t,
		      int (*fn)(const struct ipdk_vdev_info *info, void *arg), void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	for (unsigned int i = 0; i < t->n && !rc; i++)
		rc = fn(&t->entries[i].info, arg);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

unsigned int ipdk_vdev_count(struct ipdk_vdev_table *t)
{
	unsigned int n;

	pthread_mutex_lock(&t->lock);
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}
