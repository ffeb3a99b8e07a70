/*
 * VHOST ports: a vhost-user socket through which a VM's virtio-net device
 * reaches the pipeline, realised by DPDK's net_vhost driver and seen by the
 * pipeline as SWX "ethdev" ports. By default the port is the server: the
 * socket file exists once the port is created and QEMU connects to it; with
 * vhost_client the port connects (and reconnects) to QEMU's socket instead.
 *
 * A guest comes and goes on its own schedule: with no guest connected the
 * driver receives nothing and drops what it is given, so the pipeline thread
 * neither fails nor waits on the port.
 *
 * A new server socket is served at once: the vhost library's event thread is
 * woken after the socket is registered (vhost_events_wake), which DPDK 22.11
 * does not do by itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <rte_dev.h>
#include <rte_vhost.h>

#include "ipdk/log.h"
#include "port_priv.h"

struct vhost_priv {
	char vdev[RTE_DEV_NAME_MAX_LEN];
};

static int vhost_path_check(struct ipdk_port *port, struct ipdk_err *err)
{
	const char *path = port->cfg.path;
	struct sockaddr_un sa;

	if (path[0] == '\0')
		return ipdk_err_set(err, -EINVAL, "port %s: no vhost socket path given",
				    port->cfg.name);
	if (strlen(path) >= sizeof(sa.sun_path))
		return ipdk_err_set(err, -ENAMETOOLONG, "port %s: vhost socket path %s is too "
				    "long (at most %zu characters)", port->cfg.name, path,
				    sizeof(sa.sun_path) - 1);
	if (strchr(path, ','))
		return ipdk_err_set(err, -EINVAL, "port %s: vhost socket path %s holds a ',', "
				    "which DPDK driver arguments cannot carry",
				    port->cfg.name, path);
	return 0;
}

/* Returns 0 when something listens on the socket at path, -ECONNREFUSED when
 * nothing does (a file left behind by a process that died), or another error. */
static int vhost_socket_probe(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc = 0;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* A server socket path must be free. A stale socket file is removed (a
 * daemon restarting after a crash finds its old ones); anything live, or a
 * file that is not a socket, is reported instead of being clobbered. */
static int vhost_path_claim(struct ipdk_port *port, struct ipdk_err *err)
{
	const char *path = port->cfg.path;
	struct stat st;
	int rc;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return ipdk_err_set(err, -errno, "port %s: vhost socket %s: %s",
				    port->cfg.name, path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return ipdk_err_set(err, -EEXIST, "port %s: vhost socket %s: a file that is not "
				    "a socket is in the way", port->cfg.name, path);
	rc = vhost_socket_probe(path);
	if (rc == 0)
		return ipdk_err_set(err, -EADDRINUSE, "port %s: vhost socket %s is in use by "
				    "another process", port->cfg.name, path);
	if (rc != -ECONNREFUSED)
		return ipdk_err_set(err, rc, "port %s: vhost socket %s: %s", port->cfg.name,
				    path, strerror(-rc));
	if (unlink(path) < 0)
		return ipdk_err_set(err, -errno, "port %s: cannot remove stale vhost socket %s: "
				    "%s", port->cfg.name, path, strerror(errno));
	IPDK_LOG_INFO("port %s: removed stale vhost socket %s", port->cfg.name, path);
	return 0;
}

/* No callbacks: the throwaway socket of vhost_events_wake() never negotiates. */
static const struct rte_vhost_device_ops vhost_wake_ops;

/*
 * DPDK 22.11's vhost library adds a new server socket to the set its event
 * thread poll()s without waking that thread, which then sees the socket only
 * when its poll() times out, up to a second later; a QEMU that connects right
 * after the port is made waits that long for the vhost-user handshake. The
 * library does wake the thread (through its pipe, so no wake-up is lost) when
 * it adds a connection, and a client-mode socket connects and adds its
 * connection inside rte_vhost_driver_start(). So a throwaway client socket,
 * connected to a listener of ours and unregistered at once, makes the thread
 * take the new server socket into its next poll() now. Failing to wake only
 * costs the delay, so errors are logged and ignored.
 */
static void vhost_events_wake(const char *port_name)
{
	char dir[64], path[sizeof(dir) + 2];
	struct sockaddr_un sa;
	int fd = -1;

	snprintf(dir, sizeof(dir), "/tmp/ipdk-vhost-wake-%d-XXXXXX", (int)getpid());
	if (!mkdtemp(dir)) {
		IPDK_LOG_DEBUG("port %s: cannot wake the vhost thread: %s: %s", port_name, dir,
			       strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/w", dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		IPDK_LOG_DEBUG("port %s: cannot wake the vhost thread: %s: %s", port_name, path,
			       strerror(errno));
		goto out;
	}
	if (rte_vhost_driver_register(path, RTE_VHOST_USER_CLIENT |
				      RTE_VHOST_USER_NO_RECONNECT) == 0) {
		if (rte_vhost_driver_callback_register(path, &vhost_wake_ops) < 0 ||
		    rte_vhost_driver_start(path) < 0)
			IPDK_LOG_DEBUG("port %s: the vhost thread was not woken", port_name);
		rte_vhost_driver_unregister(path);
	}
out:
	if (fd >= 0)
		close(fd);
	unlink(path);
	rmdir(dir);
}

static int vhost_create(struct ipdk_port *port, struct ipdk_err *err)
{
	struct vhost_priv *vp = port->priv;
	const struct ipdk_port_cfg *c = &port->cfg;
	char args[IPDK_PATH_MAX + 64];
	struct stat st;
	int rc;

	rc = vhost_path_check(port, err);
	if (rc)
		return rc;
	if (!c->vhost_client) {
		rc = vhost_path_claim(port, err);
		if (rc)
			return rc;
	}
	ipdk_port_vdev_name(vp->vdev, sizeof(vp->vdev), "net_vhost");
	snprintf(args, sizeof(args), "iface=%s,queues=%u,client=%d", c->path, c->queues,
		 c->vhost_client ? 1 : 0);
	/* net_vhost has no promiscuous mode to turn on: it passes everything. */
	rc = ipdk_port_ethdev_start(port, vp->vdev, args, NULL, false, err);
	if (rc)
		return rc;
	if (!c->vhost_client && stat(c->path, &st) < 0) {
		rc = -errno;
		ipdk_port_ethdev_stop(vp->vdev);
		return ipdk_err_set(err, rc, "port %s: vhost socket %s was not created",
				    c->name, c->path);
	}
	if (!c->vhost_client)
		vhost_events_wake(c->name);
	port->backend = "vhost-user";
	IPDK_LOG_INFO("port %s: vhost-user %s %s (%s)", c->name,
		      c->vhost_client ? "client of" : "server on", c->path, vp->vdev);
	return 0;
}

static int vhost_attach(struct ipdk_port *port, struct rte_swx_pipeline *p, uint32_t id,
			struct ipdk_err *err)
{
	struct vhost_priv *vp = port->priv;

	return ipdk_port_ethdev_attach(port, p, id, vp->vdev, err);
}

/* net_vhost counts frames the guest's receive ring had no room for as
 * oerrors; the ethdev writer drops the same frames and counts them, so they
 * are in tx_drops (out-discards) already and oerrors is left out here. */
static void vhost_counters(const struct ipdk_port *port, struct ipdk_port_counters *c)
{
	const struct vhost_priv *vp = port->priv;

	ipdk_port_ethdev_counters(vp->vdev, false, c);
}

static void vhost_destroy(struct ipdk_port *port)
{
	struct vhost_priv *vp = port->priv;
	struct stat st;

	ipdk_port_ethdev_stop(vp->vdev);
	/* The vhost library removes its server socket on unregister; make sure,
	 * since a file left behind would block the next port on this path. */
	if (!port->cfg.vhost_client && lstat(port->cfg.path, &st) == 0 &&
	    S_ISSOCK(st.st_mode))
		unlink(port->cfg.path);
}

const struct ipdk_port_ops ipdk_port_vhost_ops = {
	.name = "vhost",
	.priv_size = sizeof(struct vhost_priv),
	.create = vhost_create,
	.attach = vhost_attach,
	.destroy = vhost_destroy,
	.counters = vhost_counters,
};
