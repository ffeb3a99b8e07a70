/*
 * The NVMe/TCP target's configuration and shared objects: subsystems (the
 * discovery subsystem is always there), namespaces on lib/blk devices, host
 * allow lists, controllers and the listeners that accept connections. Every
 * change is validated before anything is modified, under tgt->lock; the
 * connection threads (tcp_target.c) call in here to connect, to look up
 * namespaces and to build Identify and discovery data.
 *
 * Lifetimes are reference counts taken under the lock: a subsystem removed
 * while controllers use it is unlinked at once (no new connections) and freed
 * by the last controller; a namespace likewise by the last queue caching it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipdk/log.h"
#include "nvmf_internal.h"

uint64_t nvmf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* FNV-1a, for serial numbers and namespace UUIDs that stay the same across restarts. */
static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static struct nvmf_subsys *find_subsys_locked(struct ipdk_nvmf_tgt *tgt, const char *nqn)
{
	for (struct nvmf_subsys *s = tgt->subsystems; s; s = s->next)
		if (!strcmp(s->nqn, nqn))
			return s;
	return NULL;
}

static struct nvmf_subsys *subsys_new(const char *nqn, const struct ipdk_nvmf_subsys_opts *o)
{
	struct nvmf_subsys *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	strcpy(s->nqn, nqn);
	if (o && o->serial)
		snprintf(s->serial, sizeof(s->serial), "%s", o->serial);
	else
		snprintf(s->serial, sizeof(s->serial), "IPDK%016llx",
			 (unsigned long long)fnv1a(0xcbf29ce484222325ull, nqn));
	snprintf(s->model, sizeof(s->model), "%s", o && o->model ? o->model : "ipdk");
	s->allow_any = o ? o->allow_any_host : false;
	s->refs = 1;
	atomic_init(&s->gen, 0);
	return s;
}

int ipdk_nvmf_tgt_create(const struct ipdk_nvmf_tgt_opts *opts, struct ipdk_nvmf_tgt **out,
			 struct ipdk_err *err)
{
	struct ipdk_nvmf_tgt_opts o = opts ? *opts : (struct ipdk_nvmf_tgt_opts){ 0 };
	struct ipdk_nvmf_tgt *tgt;
	struct ipdk_nvmf_subsys_opts dopts = { .allow_any_host = true, .serial = "IPDK-DISCOVERY" };

	if (!o.max_queue_depth)
		o.max_queue_depth = 128;
	if (!o.max_io_queues)
		o.max_io_queues = 16;
	if (!o.in_capsule_data)
		o.in_capsule_data = 8192;
	if (!o.max_io_size)
		o.max_io_size = 131072;
	if (!o.max_connections)
		o.max_connections = 1024;
	if (o.max_queue_depth < 2 || o.max_queue_depth > 1024)
		return ipdk_err_set(err, -EINVAL, "NVMe/TCP target: queue depth %u not in 2..1024",
				    o.max_queue_depth);
	if (o.max_io_queues > 256)
		return ipdk_err_set(err, -EINVAL, "NVMe/TCP target: %u I/O queues above 256",
				    o.max_io_queues);
	if (o.max_io_size < 4096 || o.max_io_size > (1u << 20) ||
	    (o.max_io_size & (o.max_io_size - 1)))
		return ipdk_err_set(err, -EINVAL,
				    "NVMe/TCP target: I/O size %u is not a power of two in 4 KiB..1 MiB",
				    o.max_io_size);
	if (o.in_capsule_data < 4096 || o.in_capsule_data > o.max_io_size ||
	    o.in_capsule_data % 16)
		return ipdk_err_set(err, -EINVAL,
				    "NVMe/TCP target: in-capsule data %u not a multiple of 16 in 4096..%u",
				    o.in_capsule_data, o.max_io_size);
	tgt = calloc(1, sizeof(*tgt));
	if (!tgt)
		return ipdk_err_set(err, -ENOMEM, "NVMe/TCP target: out of memory");
	tgt->opts = o;
	pthread_mutex_init(&tgt->lock, NULL);
	pthread_cond_init(&tgt->conns_gone, NULL);
	tgt->next_cntlid = 1;
	tgt->genctr = 1;
	tgt->subsystems = subsys_new(IPDK_NVMF_DISCOVERY_NQN, &dopts);
	if (!tgt->subsystems) {
		free(tgt);
		return ipdk_err_set(err, -ENOMEM, "NVMe/TCP target: out of memory");
	}
	tgt->subsystems->discovery = true;
	*out = tgt;
	return 0;
}

static void *accept_main(void *arg)
{
	struct ipdk_nvmf_tgt *tgt = ((void **)arg)[0];
	int lfd = (int)(intptr_t)((void **)arg)[1];

	free(arg);
	while (!atomic_load(&tgt->stopping)) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (nvmf_conn_start(tgt, fd) < 0)
			close(fd);
	}
	return NULL;
}

int ipdk_nvmf_tgt_listen(struct ipdk_nvmf_tgt *tgt, const char *addr, uint16_t port,
			 struct ipdk_err *err)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, rc;
	void **arg;

	if (tgt->n_listeners == LISTENERS_MAX)
		return ipdk_err_set(err, -ENOSPC, "NVMe/TCP target: at most %d listeners",
				    LISTENERS_MAX);
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else {
		return ipdk_err_set(err, -EINVAL, "NVMe/TCP listener %s: not an IP address", addr);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ipdk_err_set(err, -errno, "NVMe/TCP listener: socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
		rc = -errno;
		close(fd);
		return ipdk_err_set(err, rc, "NVMe/TCP listener %s:%u: %s", addr, port,
				    strerror(-rc));
	}
	getsockname(fd, (struct sockaddr *)&ss, &len);
	arg = malloc(2 * sizeof(void *));
	if (!arg) {
		close(fd);
		return ipdk_err_set(err, -ENOMEM, "NVMe/TCP listener: out of memory");
	}
	arg[0] = tgt;
	arg[1] = (void *)(intptr_t)fd;
	tgt->listeners[tgt->n_listeners].fd = fd;
	tgt->listeners[tgt->n_listeners].port =
		ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
	rc = pthread_create(&tgt->listeners[tgt->n_listeners].thread, NULL, accept_main, arg);
	if (rc) {
		free(arg);
		close(fd);
		return ipdk_err_set(err, -rc, "NVMe/TCP listener: thread: %s", strerror(rc));
	}
	IPDK_LOG_INFO("nvmf: listening on %s port %u", addr,
		      tgt->listeners[tgt->n_listeners].port);
	tgt->n_listeners++;
	return 0;
}

uint16_t ipdk_nvmf_tgt_port(const struct ipdk_nvmf_tgt *tgt)
{
	return tgt->n_listeners ? tgt->listeners[0].port : 0;
}

static void ns_free(struct nvmf_ns *ns)
{
	ipdk_blk_put(ns->dev);
	free(ns);
}

void nvmf_ns_put(struct ipdk_nvmf_tgt *tgt, struct nvmf_ns *ns)
{
	int left;

	pthread_mutex_lock(&tgt->lock);
	left = --ns->refs;
	pthread_mutex_unlock(&tgt->lock);
	if (!left)
		ns_free(ns);
}

static void subsys_free(struct nvmf_subsys *s)
{
	for (int i = 0; i < IPDK_NVMF_NS_MAX; i++)
		if (s->ns[i] && --s->ns[i]->refs == 0)
			ns_free(s->ns[i]);
	free(s);
}

void nvmf_subsys_put(struct ipdk_nvmf_tgt *tgt, struct nvmf_subsys *s)
{
	bool last;

	pthread_mutex_lock(&tgt->lock);
	last = --s->refs == 0;
	if (last)
		subsys_free(s);   /* namespace refs are counted under the lock too */
	pthread_mutex_unlock(&tgt->lock);
}

void ipdk_nvmf_tgt_destroy(struct ipdk_nvmf_tgt *tgt)
{
	struct nvmf_subsys *s, *next;

	if (!tgt)
		return;
	atomic_store(&tgt->stopping, true);
	for (unsigned int i = 0; i < tgt->n_listeners; i++) {
		pthread_join(tgt->listeners[i].thread, NULL);
		close(tgt->listeners[i].fd);
	}
	pthread_mutex_lock(&tgt->lock);
	nvmf_conns_kick_locked(tgt, NULL);
	while (tgt->n_conns)
		pthread_cond_wait(&tgt->conns_gone, &tgt->lock);
	for (s = tgt->subsystems; s; s = next) {
		next = s->next;
		if (--s->refs == 0)
			subsys_free(s);
	}
	pthread_mutex_unlock(&tgt->lock);
	pthread_cond_destroy(&tgt->conns_gone);
	pthread_mutex_destroy(&tgt->lock);
	free(tgt);
}

/* ---- subsystems, namespaces, hosts ---------------------------------------- */

static int get_nvm_subsys_locked(struct ipdk_nvmf_tgt *tgt, const char *nqn,
				 struct nvmf_subsys **out, struct ipdk_err *err)
{
	struct nvmf_subsys *s = find_subsys_locked(tgt, nqn);

	if (!s)
		return ipdk_err_set(err, -ENOENT, "subsystem %s: no such subsystem", nqn);
	if (s->discovery)
		return ipdk_err_set(err, -EPERM, "subsystem %s: the discovery subsystem has no namespaces or hosts",
				    nqn);
	*out = s;
	return 0;
}

int ipdk_nvmf_subsys_add(struct ipdk_nvmf_tgt *tgt, const char *nqn,
			 const struct ipdk_nvmf_subsys_opts *opts, struct ipdk_err *err)
{
	struct nvmf_subsys *s, **pp;

	if (!ipdk_nvmf_nqn_valid(nqn) || !strcmp(nqn, IPDK_NVMF_DISCOVERY_NQN))
		return ipdk_err_set(err, -EINVAL,
				    "subsystem %.*s: not a valid NQN (nqn.yyyy-mm.domain:name, at most %d bytes)",
				    NQN_MAX, nqn, NQN_MAX);
	if (opts && opts->serial && strlen(opts->serial) > 20)
		return ipdk_err_set(err, -EINVAL, "subsystem %s: serial '%s' longer than 20",
				    nqn, opts->serial);
	if (opts && opts->model && strlen(opts->model) > 40)
		return ipdk_err_set(err, -EINVAL, "subsystem %s: model longer than 40", nqn);
	pthread_mutex_lock(&tgt->lock);
	if (find_subsys_locked(tgt, nqn)) {
		pthread_mutex_unlock(&tgt->lock);
		return ipdk_err_set(err, -EEXIST, "subsystem %s: already exists", nqn);
	}
	s = subsys_new(nqn, opts);
	if (!s) {
		pthread_mutex_unlock(&tgt->lock);
		return ipdk_err_set(err, -ENOMEM, "subsystem %s: out of memory", nqn);
	}
	for (pp = &tgt->subsystems; *pp; pp = &(*pp)->next)
		;
	*pp = s;
	tgt->genctr++;
	pthread_mutex_unlock(&tgt->lock);
	IPDK_LOG_INFO("nvmf: subsystem %s added", nqn);
	return 0;
}

int ipdk_nvmf_subsys_remove(struct ipdk_nvmf_tgt *tgt, const char *nqn, struct ipdk_err *err)
{
	struct nvmf_subsys *s, **pp;
	int rc;

	pthread_mutex_lock(&tgt->lock);
	rc = get_nvm_subsys_locked(tgt, nqn, &s, err);
	if (rc < 0) {
		pthread_mutex_unlock(&tgt->lock);
		return rc;
	}
	for (pp = &tgt->subsystems; *pp != s; pp = &(*pp)->next)
		;
	*pp = s->next;
	s->removed = true;
	tgt->genctr++;
	for (struct nvmf_ctrl *c = tgt->ctrls; c; c = c->next)
		if (c->subsys == s)
			atomic_store(&c->dead, true);
	nvmf_conns_kick_locked(tgt, s);
	if (--s->refs == 0)
		subsys_free(s);
	pthread_mutex_unlock(&tgt->lock);
	IPDK_LOG_INFO("nvmf: subsystem %s removed", nqn);
	return 0;
}

int ipdk_nvmf_ns_add(struct ipdk_nvmf_tgt *tgt, const char *nqn, uint32_t nsid,
		     const char *bdev, struct ipdk_err *err)
{
	struct nvmf_subsys *s;
	struct nvmf_ns *ns;
	struct ipdk_blk_dev *dev;
	uint64_t h;
	int rc;

	if (nsid > IPDK_NVMF_NS_MAX)
		return ipdk_err_set(err, -ERANGE, "subsystem %s: nsid %u above %d", nqn, nsid,
				    IPDK_NVMF_NS_MAX);
	rc = ipdk_blk_open(bdev, &dev, err);
	if (rc < 0)
		return ipdk_err_prefix(err, "subsystem %s namespace", nqn);
	ns = calloc(1, sizeof(*ns));
	if (!ns) {
		ipdk_blk_put(dev);
		return ipdk_err_set(err, -ENOMEM, "subsystem %s: out of memory", nqn);
	}
	pthread_mutex_lock(&tgt->lock);
	rc = get_nvm_subsys_locked(tgt, nqn, &s, err);
	if (rc < 0)
		goto fail;
	if (nsid == 0) {
		for (nsid = 1; nsid <= IPDK_NVMF_NS_MAX && s->ns[nsid - 1]; nsid++)
			;
		if (nsid > IPDK_NVMF_NS_MAX) {
			rc = ipdk_err_set(err, -ENOSPC, "subsystem %s: all %d namespaces in use", nqn,
					  IPDK_NVMF_NS_MAX);
			goto fail;
		}
	} else if (s->ns[nsid - 1]) {
		rc = ipdk_err_set(err, -EEXIST, "subsystem %s: namespace %u exists (on %s)", nqn,
				  nsid, s->ns[nsid - 1]->dev->name);
		goto fail;
	}
	ns->nsid = nsid;
	ns->dev = dev;
	ns->refs = 1;
	/* A UUID from the NQN, nsid and device name: a restarted target gives the
	 * same namespace the same identity, which hosts check on reconnect. */
	h = fnv1a(fnv1a(0xcbf29ce484222325ull, nqn), bdev) ^ nsid;
	memcpy(ns->uuid, &h, 8);
	h = fnv1a(h * 31 + nsid, nqn);
	memcpy(ns->uuid + 8, &h, 8);
	ns->uuid[6] = (ns->uuid[6] & 0x0f) | 0x80;   /* version 8: custom */
	ns->uuid[8] = (ns->uuid[8] & 0x3f) | 0x80;   /* RFC 4122 variant */
	s->ns[nsid - 1] = ns;
	atomic_fetch_add(&s->gen, 1);
	pthread_mutex_unlock(&tgt->lock);
	IPDK_LOG_INFO("nvmf: %s namespace %u on %s", nqn, nsid, bdev);
	return (int)nsid;
fail:
	pthread_mutex_unlock(&tgt->lock);
	free(ns);
	ipdk_blk_put(dev);
	return rc;
}

int ipdk_nvmf_ns_remove(struct ipdk_nvmf_tgt *tgt, const char *nqn, uint32_t nsid,
			struct ipdk_err *err)
{
	struct nvmf_subsys *s;
	struct nvmf_ns *ns = NULL;
	int rc;

	pthread_mutex_lock(&tgt->lock);
	rc = get_nvm_subsys_locked(tgt, nqn, &s, err);
	if (rc == 0 && (nsid == 0 || nsid > IPDK_NVMF_NS_MAX || !s->ns[nsid - 1]))
		rc = ipdk_err_set(err, -ENOENT, "subsystem %s: no namespace %u", nqn, nsid);
	if (rc == 0) {
		ns = s->ns[nsid - 1];
		s->ns[nsid - 1] = NULL;
		atomic_fetch_add(&s->gen, 1);
		if (--ns->refs)
			ns = NULL;
	}
	pthread_mutex_unlock(&tgt->lock);
	if (ns)
		ns_free(ns);
	return rc;
}

struct nvmf_ns *nvmf_ns_get(struct ipdk_nvmf_tgt *tgt, struct nvmf_subsys *s, uint32_t nsid)
{
	struct nvmf_ns *ns = NULL;

	if (nsid == 0 || nsid > IPDK_NVMF_NS_MAX)
		return NULL;
	pthread_mutex_lock(&tgt->lock);
	ns = s->ns[nsid - 1];
	if (ns)
		ns->refs++;
	pthread_mutex_unlock(&tgt->lock);
	return ns;
}

static int host_index(const struct nvmf_subsys *s, const char *hostnqn)
{
	for (unsigned int i = 0; i < s->n_hosts; i++)
		if (!strcmp(s->hosts[i], hostnqn))
			return (int)i;
	return -1;
}

int ipdk_nvmf_host_add(struct ipdk_nvmf_tgt *tgt, const char *nqn, const char *hostnqn,
		       struct ipdk_err *err)
{
	struct nvmf_subsys *s;
	int rc;

	if (!ipdk_nvmf_nqn_valid(hostnqn))
		return ipdk_err_set(err, -EINVAL, "subsystem %s: host '%.*s' is not a valid NQN", nqn,
				    NQN_MAX, hostnqn);
	pthread_mutex_lock(&tgt->lock);
	rc = get_nvm_subsys_locked(tgt, nqn, &s, err);
	if (rc == 0 && host_index(s, hostnqn) >= 0)
		rc = ipdk_err_set(err, -EEXIST, "subsystem %s: host %s already allowed", nqn, hostnqn);
	if (rc == 0 && s->n_hosts == IPDK_NVMF_HOSTS_MAX)
		rc = ipdk_err_set(err, -ENOSPC, "subsystem %s: %d hosts allowed already", nqn,
				  IPDK_NVMF_HOSTS_MAX);
	if (rc == 0) {
		strcpy(s->hosts[s->n_hosts++], hostnqn);
		tgt->genctr++;
	}
	pthread_mutex_unlock(&tgt->lock);
	return rc;
}

int ipdk_nvmf_host_remove(struct ipdk_nvmf_tgt *tgt, const char *nqn, const char *hostnqn,
			  struct ipdk_err *err)
{
	struct nvmf_subsys *s;
	int rc, i = -1;

	pthread_mutex_lock(&tgt->lock);
	rc = get_nvm_subsys_locked(tgt, nqn, &s, err);
	if (rc == 0 && (i = host_index(s, hostnqn)) < 0)
		rc = ipdk_err_set(err, -ENOENT, "subsystem %s: host %s is not on the allow list", nqn,
				  hostnqn);
	if (rc == 0) {
		memmove(s->hosts[i], s->hosts[i + 1],
			(s->n_hosts - (unsigned int)i - 1) * sizeof(s->hosts[0]));
		s->n_hosts--;
		tgt->genctr++;
	}
	pthread_mutex_unlock(&tgt->lock);
	return rc;
}

int ipdk_nvmf_allow_any_host(struct ipdk_nvmf_tgt *tgt, const char *nqn, bool allow,
			     struct ipdk_err *err)
{
	struct nvmf_subsys *s;
	int rc;

	pthread_mutex_lock(&tgt->lock);
	rc = get_nvm_subsys_locked(tgt, nqn, &s, err);
	if (rc == 0) {
		s->allow_any = allow;
		tgt->genctr++;
	}
	pthread_mutex_unlock(&tgt->lock);
	return rc;
}

int ipdk_nvmf_subsys_foreach(struct ipdk_nvmf_tgt *tgt,
			     int (*fn)(const struct ipdk_nvmf_subsys_info *info, void *arg),
			     void *arg)
{
	struct ipdk_nvmf_subsys_info *info = malloc(sizeof(*info));
	int rc = 0;

	if (!info)
		return -ENOMEM;
	pthread_mutex_lock(&tgt->lock);
	for (struct nvmf_subsys *s = tgt->subsystems; s && !rc; s = s->next) {
		if (s->discovery)
			continue;
		memset(info, 0, sizeof(*info));
		strcpy(info->nqn, s->nqn);
		strcpy(info->serial, s->serial);
		info->allow_any_host = s->allow_any;
		info->n_hosts = s->n_hosts;
		memcpy(info->hosts, s->hosts, sizeof(s->hosts));
		for (int i = 0; i < IPDK_NVMF_NS_MAX; i++) {
			struct nvmf_ns *ns = s->ns[i];
			struct ipdk_nvmf_ns_info *ni;

			if (!ns)
				continue;
			ni = &info->ns[info->n_ns++];
			ni->nsid = ns->nsid;
			snprintf(ni->bdev, sizeof(ni->bdev), "%s", ns->dev->name);
			ni->num_blocks = ns->dev->num_blocks;
			ni->block_size = ns->dev->block_size;
			memcpy(ni->uuid, ns->uuid, 16);
		}
		for (struct nvmf_ctrl *c = tgt->ctrls; c; c = c->next)
			if (c->subsys == s && !atomic_load(&c->dead))
				info->n_controllers++;
		rc = fn(info, arg);
	}
	pthread_mutex_unlock(&tgt->lock);
	free(info);
	return rc;
}

/* ---- connect and controllers ----------------------------------------------- */

uint16_t nvmf_subsys_connect(struct ipdk_nvmf_tgt *tgt, const char *subnqn,
			     const char *hostnqn, struct nvmf_subsys **out, uint32_t *iattr)
{
	struct nvmf_subsys *s;

	pthread_mutex_lock(&tgt->lock);
	s = find_subsys_locked(tgt, subnqn);
	if (!s) {
		pthread_mutex_unlock(&tgt->lock);
		*iattr = 1u << 16 | CONNECT_SUBNQN;   /* IATTR 1: in the data; IPO */
		return NVME_STATUS(1, SC_CONNECT_INVALID_PARAM);
	}
	if (!s->allow_any && host_index(s, hostnqn) < 0) {
		pthread_mutex_unlock(&tgt->lock);
		return NVME_STATUS(1, SC_CONNECT_INVALID_HOST);
	}
	s->refs++;
	pthread_mutex_unlock(&tgt->lock);
	*out = s;
	return 0;
}

struct nvmf_ctrl *nvmf_ctrl_create(struct ipdk_nvmf_tgt *tgt, struct nvmf_subsys *subsys,
				   const char *hostnqn, const uint8_t *hostid, uint32_t kato_ms)
{
	struct nvmf_ctrl *c = calloc(1, sizeof(*c));
	bool taken;

	if (!c)
		return NULL;
	c->subsys = subsys;
	snprintf(c->hostnqn, sizeof(c->hostnqn), "%s", hostnqn);
	memcpy(c->hostid, hostid, 16);
	c->kato_ms = kato_ms;
	c->io_queues = (uint16_t)tgt->opts.max_io_queues;
	c->refs = 1;
	pthread_mutex_lock(&tgt->lock);
	subsys->refs++;
	do {   /* controller ids 1..0xffef, skipping ones in use */
		c->cntlid = tgt->next_cntlid++;
		if (tgt->next_cntlid > 0xffef)
			tgt->next_cntlid = 1;
		taken = false;
		for (struct nvmf_ctrl *o = tgt->ctrls; o; o = o->next)
			taken |= o->cntlid == c->cntlid;
	} while (taken);
	c->next = tgt->ctrls;
	tgt->ctrls = c;
	pthread_mutex_unlock(&tgt->lock);
	return c;
}

struct nvmf_ctrl *nvmf_ctrl_get(struct ipdk_nvmf_tgt *tgt, struct nvmf_subsys *subsys,
				uint16_t cntlid, const char *hostnqn)
{
	struct nvmf_ctrl *found = NULL;

	pthread_mutex_lock(&tgt->lock);
	for (struct nvmf_ctrl *c = tgt->ctrls; c; c = c->next)
		if (c->cntlid == cntlid && c->subsys == subsys && !atomic_load(&c->dead) &&
		    !strcmp(c->hostnqn, hostnqn)) {
			found = c;
			c->refs++;
			break;
		}
	pthread_mutex_unlock(&tgt->lock);
	return found;
}

void nvmf_ctrl_put(struct ipdk_nvmf_tgt *tgt, struct nvmf_ctrl *ctrl)
{
	struct nvmf_ctrl **pp;
	bool last;

	pthread_mutex_lock(&tgt->lock);
	last = --ctrl->refs == 0;
	if (last)
		for (pp = &tgt->ctrls; *pp; pp = &(*pp)->next)
			if (*pp == ctrl) {
				*pp = ctrl->next;
				break;
			}
	pthread_mutex_unlock(&tgt->lock);
	if (last) {
		nvmf_subsys_put(tgt, ctrl->subsys);
		free(ctrl);
	}
}

/* ---- Identify and discovery data ------------------------------------------- */

static unsigned int log2u(uint32_t v)
{
	unsigned int n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

uint16_t nvmf_identify_ns(struct ipdk_nvmf_tgt *tgt, struct nvmf_subsys *s, uint8_t cns,
			  uint32_t nsid, uint8_t *data)
{
	uint16_t status = 0;
	struct nvmf_ns *ns;
	unsigned int n = 0;

	memset(data, 0, IDENTIFY_LEN);
	pthread_mutex_lock(&tgt->lock);
	switch (cns) {
	case CNS_ACTIVE_NS:
		if (nsid >= 0xfffffffe) {
			status = NVME_STATUS(0, SC_INVALID_NS);
			break;
		}
		for (uint32_t i = nsid; i < IPDK_NVMF_NS_MAX; i++)
			if (s->ns[i])    /* nsid i + 1 > nsid */
				put32(data + 4 * n++, i + 1);
		break;
	case CNS_NS:
	case CNS_NS_DESC:
		if (nsid == 0 || nsid > IPDK_NVMF_NS_MAX) {
			status = NVME_STATUS(0, SC_INVALID_NS);
			break;
		}
		ns = s->ns[nsid - 1];
		if (!ns) {
			/* an allocated but inactive nsid reads as zeroes; no descriptors */
			if (cns == CNS_NS_DESC)
				status = NVME_STATUS(0, SC_INVALID_NS);
			break;
		}
		if (cns == CNS_NS_DESC) {
			data[0] = NIDT_UUID;
			data[1] = 16;
			memcpy(data + 4, ns->uuid, 16);
			break;
		}
		put64(data + IDN_NSZE, ns->dev->num_blocks);
		put64(data + IDN_NCAP, ns->dev->num_blocks);
		put64(data + IDN_NUSE, ns->dev->num_blocks);
		data[IDN_NLBAF] = 0;
		data[IDN_FLBAS] = 0;
		data[IDN_NMIC] = 1;   /* shared: every controller of the subsystem reaches it */
		data[IDN_DLFEAT] = ipdk_blk_supports(ns->dev, IPDK_BLK_DISCARD) ? 0x09 : 0;
		memcpy(data + IDN_NGUID, ns->uuid, 16);
		data[IDN_LBAF0 + 2] = (uint8_t)log2u(ns->dev->block_size);
		break;
	default:
		status = NVME_STATUS(0, SC_INVALID_FIELD);
	}
	pthread_mutex_unlock(&tgt->lock);
	return status;
}

static void disc_entry(uint8_t *e, const struct nvmf_subsys *s,
		       const struct sockaddr_storage *local)
{
	char addr[INET6_ADDRSTRLEN] = "", port[8];
	uint16_t p = 0;

	memset(e, 0, DISC_ENTRY_LEN);
	if (local->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)local;

		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		p = ntohs(in->sin_port);
		e[DE_ADRFAM] = ADRFAM_IPV4;
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)local;

		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		p = ntohs(in6->sin6_port);
		e[DE_ADRFAM] = ADRFAM_IPV6;
	}
	snprintf(port, sizeof(port), "%u", p);
	e[DE_TRTYPE] = TRTYPE_TCP;
	e[DE_SUBTYPE] = s->discovery ? SUBTYPE_DISCOVERY : SUBTYPE_NVME;
	e[DE_TREQ] = 0;             /* secure channel not specified */
	put16(e + DE_PORTID, 1);
	put16(e + DE_CNTLID, 0xffff);
	put16(e + DE_ASQSZ, 32);
	put_str(e + DE_TRSVCID, 32, port, ' ');
	put_str(e + DE_SUBNQN, 256, s->nqn, '\0');
	put_str(e + DE_TRADDR, 256, addr, ' ');
}

void nvmf_discovery_log(struct ipdk_nvmf_tgt *tgt, const char *hostnqn,
			const struct sockaddr_storage *local, uint8_t *buf, uint64_t offset,
			uint32_t len)
{
	uint8_t entry[DISC_ENTRY_LEN], hdr[DISC_HDR_LEN] = { 0 };
	uint64_t n = 0, pos;

	memset(buf, 0, len);
	pthread_mutex_lock(&tgt->lock);
	/* entries first (to count them), then the header */
	pos = DISC_HDR_LEN;
	for (struct nvmf_subsys *s = tgt->subsystems; s; s = s->next) {
		if (s->discovery || (!s->allow_any && host_index(s, hostnqn) < 0))
			continue;
		disc_entry(entry, s, local);
		for (uint64_t i = 0; i < DISC_ENTRY_LEN; i++)
			if (pos + i >= offset && pos + i - offset < len)
				buf[pos + i - offset] = entry[i];
		pos += DISC_ENTRY_LEN;
		n++;
	}
	put64(hdr + DISC_GENCTR, tgt->genctr);
	put64(hdr + DISC_NUMREC, n);
	put16(hdr + DISC_RECFMT, 0);
	pthread_mutex_unlock(&tgt->lock);
	for (uint64_t i = offset; i < DISC_HDR_LEN && i - offset < len; i++)
		buf[i - offset] = hdr[i];
}
