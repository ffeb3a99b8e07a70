/*
 * infrap4d's gNMI service: lib/gnmi's server with the port model, over the
 * dataplane's port slots. Ports made through gNMI take the lowest free slot
 * (pipeline port id) and keep it until they are removed; the pipeline runs on
 * while they come and go (see lib/target-dpdk/pipeline.c). Every change and
 * every listing takes the dataplane lock, like the control socket and
 * P4Runtime do. The service uses the same TLS settings as P4Runtime
 * (--grpc-security, --grpc-cert-dir).
 *
 * A second model serves the virtual device table (/virtual-devices): hosts
 * (VMs by QMP socket) from the configuration file or set over gNMI, and
 * virtio-net devices, which are VHOST ports hotplugged into their VM.
 *
 * What gNMI made is written to the state file (--state-file) after every Set
 * and restored at start, before the service listens: ports at their ids
 * (after the configured ports, which come first), VHOST sockets served again
 * and device entries recorded as plugged, so the VMs' NICs come back.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipdk/gnmi.h"
#include "ipdk/log.h"
#include "infrap4d.h"

static struct ipdk_gnmi_server *gnmi_srv;
static struct ipdk_gnmi_ports *gnmi_ports;
static struct ipdk_vdev_table *vdev_table;
static struct ipdk_gnmi_vdevs *gnmi_vdevs;
static char state_path[IPDK_PATH_MAX];   /* "" = no state file */

static int find_port(struct infrap4d_dp *dp, const char *name)
{
	for (unsigned int i = 0; i < dp->n_ports; i++)
		if (dp->ports[i] && !strcmp(ipdk_port_cfg(dp->ports[i])->name, name))
			return (int)i;
	return -1;
}

/* Creates the port and puts it into slot (dataplane lock held). */
static int port_put(struct infrap4d_dp *dp, const struct ipdk_port_cfg *cfg, unsigned int slot,
		    struct ipdk_err *err)
{
	struct ipdk_port *port;
	int rc;

	if (find_port(dp, cfg->name) >= 0)
		return ipdk_err_set(err, -EEXIST, "port %s: a port of that name exists", cfg->name);
	rc = ipdk_port_create(cfg, &port, err);
	if (rc)
		return rc;
	rc = ipdk_dpdk_pipeline_port_set(dp->pl, slot, port, err);
	if (rc) {
		ipdk_port_destroy(port);
		return rc;
	}
	dp->ports[slot] = port;
	return 0;
}

static int port_add(void *ctx, const struct ipdk_port_cfg *cfg, uint32_t *id,
		    struct ipdk_err *err)
{
	struct infrap4d_dp *dp = ctx;
	unsigned int slot;
	int rc;

	infrap4d_dp_lock(dp);
	for (slot = 0; slot < dp->n_ports && dp->ports[slot]; slot++)
		;
	if (slot == dp->n_ports)
		rc = ipdk_err_set(err, -ENOSPC, "port %s: all %u port slots are taken (infrap4d "
				  "--port-slots)", cfg->name, dp->n_ports);
	else
		rc = port_put(dp, cfg, slot, err);
	if (!rc)
		*id = slot;
	infrap4d_dp_unlock(dp);
	return rc;
}

/* A port from the state file goes back to the id it had. */
static int port_add_at(void *ctx, const struct ipdk_port_cfg *cfg, uint32_t id,
		       struct ipdk_err *err)
{
	struct infrap4d_dp *dp = ctx;
	int rc;

	infrap4d_dp_lock(dp);
	if (id >= dp->n_ports)
		rc = ipdk_err_set(err, -ERANGE, "port %s: port id %u is beyond the %u port slots "
				  "(infrap4d --port-slots)", cfg->name, id, dp->n_ports);
	else if (dp->ports[id])
		rc = ipdk_err_set(err, -EBUSY, "port %s: port id %u is taken by port %s (from the "
				  "configuration, which comes first)", cfg->name, id,
				  ipdk_port_cfg(dp->ports[id])->name);
	else
		rc = port_put(dp, cfg, id, err);
	infrap4d_dp_unlock(dp);
	return rc;
}

static int port_remove(void *ctx, const char *name, struct ipdk_err *err)
{
	struct infrap4d_dp *dp = ctx;
	struct ipdk_port *port;
	int slot, rc;

	infrap4d_dp_lock(dp);
	slot = find_port(dp, name);
	if (slot < 0) {
		rc = ipdk_err_set(err, -ENOENT, "port %s: no such port", name);
		goto out;
	}
	port = dp->ports[slot];
	/* The pipeline lets go of the port before it is destroyed. */
	rc = ipdk_dpdk_pipeline_port_set(dp->pl, (uint32_t)slot, NULL, err);
	if (rc)
		goto out;
	dp->ports[slot] = NULL;
	ipdk_port_destroy(port);
out:
	infrap4d_dp_unlock(dp);
	return rc;
}

static int port_list(void *ctx, int (*fn)(void *arg, const struct ipdk_gnmi_port_info *info),
		     void *arg)
{
	struct infrap4d_dp *dp = ctx;
	struct ipdk_gnmi_port_info info;

	infrap4d_dp_lock(dp);
	for (unsigned int i = 0; i < dp->n_ports; i++) {
		if (!dp->ports[i])
			continue;
		memset(&info, 0, sizeof(info));
		info.id = i;
		info.cfg = *ipdk_port_cfg(dp->ports[i]);
		snprintf(info.backend, sizeof(info.backend), "%s", ipdk_port_backend(dp->ports[i]));
		ipdk_dpdk_pipeline_port_stats(dp->pl, i, &info.stats);
		if (fn(arg, &info))
			break;
	}
	infrap4d_dp_unlock(dp);
	return 0;
}

static void pipeline_name(void *ctx, char *buf, size_t size)
{
	struct infrap4d_dp *dp = ctx;

	snprintf(buf, size, "%s", dp->pipeline_name);
}

static const struct ipdk_gnmi_port_ops port_ops = {
	.add = port_add,
	.remove = port_remove,
	.list = port_list,
	.pipeline_name = pipeline_name,
	.add_at = port_add_at,
};

/* The virtual device table with the configured hosts, and its model. */
static int vdevs_start(const struct infrap4d_cfg *cfg, struct ipdk_gnmi_model *model,
		       struct ipdk_err *err)
{
	int rc = ipdk_vdev_table_create(&vdev_table, err);

	for (unsigned int i = 0; !rc && i < cfg->n_vdev_hosts; i++) {
		const struct infrap4d_vdev_host *h = &cfg->vdev_hosts[i];
		struct ipdk_vdev_host_cfg hc = {
			.address = h->qmp_socket,
			.bus_prefix = h->bus_prefix[0] ? h->bus_prefix : NULL,
			.n_slots = h->slots,
			.timeout_ms = h->timeout_ms,
		};

		rc = ipdk_vdev_host_add(vdev_table, h->name, &hc, err);
	}
	if (!rc)
		rc = ipdk_gnmi_vdevs_create(vdev_table, gnmi_ports, &gnmi_vdevs, model, err);
	return rc;
}

/* After every Set: what gNMI made goes to the state file. */
static void save_state(void *arg)
{
	struct ipdk_err e;

	ipdk_err_clear(&e);
	if (ipdk_gnmi_state_save(state_path, gnmi_ports, gnmi_vdevs, &e))
		IPDK_LOG_ERR("%s: the change is made but will not survive a restart", e.msg);
	(void)arg;
}

/* What the state file holds goes back into the models; a file that cannot be
 * read stops the start (the configuration in it is not thrown away). */
static int state_restore(const struct infrap4d_cfg *cfg, struct ipdk_err *err)
{
	struct ipdk_err e;
	int rc;

	if (!cfg->state_file[0])
		return 0;
	snprintf(state_path, sizeof(state_path), "%s", cfg->state_file);
	ipdk_err_clear(&e);
	rc = ipdk_gnmi_state_load(state_path, gnmi_ports, gnmi_vdevs, &e);
	if (rc)
		return ipdk_err_set(err, rc, "%s; not starting, so that nothing of it is lost "
				    "(fix the file or move it away, or use --state-file none)",
				    e.msg);
	/* The file gets the reasons of what could not be restored. */
	if (!access(state_path, F_OK))
		save_state(NULL);
	return 0;
}

int infrap4d_gnmi_start(struct infrap4d_dp *dp, const struct infrap4d_cfg *cfg,
			struct ipdk_err *err)
{
	struct ipdk_rpc_config rc_cfg = {
		.address = cfg->gnmi_listen,
		.security = (enum ipdk_rpc_security)cfg->grpc_security,
		.cert_dir = cfg->grpc_cert_dir,
	};
	struct ipdk_gnmi_model model, vmodel;
	struct ipdk_err e;
	int rc;

	if (!cfg->gnmi_enabled)
		return 0;
	ipdk_err_clear(&e);
	rc = ipdk_gnmi_ports_create(&port_ops, dp, &gnmi_ports, &model, &e);
	if (!rc)
		rc = vdevs_start(cfg, &vmodel, &e);
	if (!rc) {
		rc = state_restore(cfg, err);
		if (rc) {
			infrap4d_gnmi_stop();
			return rc;
		}
	}
	if (!rc)
		rc = ipdk_gnmi_server_create(&rc_cfg, &gnmi_srv, &e);
	if (!rc)
		rc = ipdk_gnmi_server_add_model(gnmi_srv, &model, &e);
	if (!rc)
		rc = ipdk_gnmi_server_add_model(gnmi_srv, &vmodel, &e);
	if (!rc) {
		ipdk_gnmi_vdevs_set_server(gnmi_vdevs, gnmi_srv);
		if (state_path[0])
			ipdk_gnmi_server_on_set(gnmi_srv, save_state, NULL);
		rc = ipdk_gnmi_server_start(gnmi_srv, &e);
	}
	if (rc) {
		ipdk_gnmi_server_destroy(gnmi_srv);
		gnmi_srv = NULL;
		if (cfg->gnmi_explicit || !gnmi_vdevs)
			infrap4d_gnmi_stop();
		if (cfg->gnmi_explicit) {
			*err = e;
			return rc;
		}
		/* What the state file restored keeps running. */
		IPDK_LOG_WARN("%s; running without gNMI (create certificates with "
			      "scripts/gen-certs.sh, or use --grpc-security insecure, or "
			      "--no-gnmi)", e.msg);
		return 0;
	}
	IPDK_LOG_INFO("gNMI listening on port %d (%s)", ipdk_gnmi_server_port(gnmi_srv),
		      cfg->grpc_security == IPDK_RPC_SEC_INSECURE ? "insecure" :
		      cfg->grpc_security == IPDK_RPC_SEC_TLS ? "TLS" : "mutual TLS");
	return 0;
}

void infrap4d_gnmi_stop(void)
{
	ipdk_gnmi_server_destroy(gnmi_srv);
	gnmi_srv = NULL;
	/* Devices stay in their VMs; their ports go with the dataplane. QEMU
	 * reconnects to the sockets when the next infrap4d serves them. */
	if (vdev_table && ipdk_vdev_count(vdev_table))
		IPDK_LOG_WARN("%u virtual devices stay plugged in their VMs without a backend%s",
			      ipdk_vdev_count(vdev_table), state_path[0] ?
			      " until infrap4d runs again with the same state file" :
			      " (no state file: a new infrap4d does not know them)");
	ipdk_gnmi_vdevs_free(gnmi_vdevs);
	gnmi_vdevs = NULL;
	ipdk_gnmi_ports_free(gnmi_ports);
	gnmi_ports = NULL;
	ipdk_vdev_table_destroy(vdev_table);
	vdev_table = NULL;
	state_path[0] = '\0';
}
