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
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipdk/gnmi.h"
#include "ipdk/log.h"
#include "infrap4d.h"

static struct ipdk_gnmi_server *gnmi_srv;
static struct ipdk_gnmi_ports *gnmi_ports;
static struct ipdk_vdev_table *vdev_table;
static struct ipdk_gnmi_vdevs *gnmi_vdevs;

static int find_port(struct infrap4d_dp *dp, const char *name)
{
	for (unsigned int i = 0; i < dp->n_ports; i++)
		if (dp->ports[i] && !strcmp(ipdk_port_cfg(dp->ports[i])->name, name))
			return (int)i;
	return -1;
}

static int port_add(void *ctx, const struct ipdk_port_cfg *cfg, uint32_t *id,
		    struct ipdk_err *err)
{
	struct infrap4d_dp *dp = ctx;
	struct ipdk_port *port;
	unsigned int slot;
	int rc;

	infrap4d_dp_lock(dp);
	for (slot = 0; slot < dp->n_ports && dp->ports[slot]; slot++)
		;
	if (find_port(dp, cfg->name) >= 0) {
		rc = ipdk_err_set(err, -EEXIST, "port %s: a port of that name exists", cfg->name);
		goto out;
	}
	if (slot == dp->n_ports) {
		rc = ipdk_err_set(err, -ENOSPC, "port %s: all %u port slots are taken (infrap4d "
				  "--port-slots)", cfg->name, dp->n_ports);
		goto out;
	}
	rc = ipdk_port_create(cfg, &port, err);
	if (rc)
		goto out;
	rc = ipdk_dpdk_pipeline_port_set(dp->pl, slot, port, err);
	if (rc) {
		ipdk_port_destroy(port);
		goto out;
	}
	dp->ports[slot] = port;
	*id = slot;
out:
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
		rc = ipdk_gnmi_server_create(&rc_cfg, &gnmi_srv, &e);
	if (!rc)
		rc = ipdk_gnmi_server_add_model(gnmi_srv, &model, &e);
	if (!rc)
		rc = vdevs_start(cfg, &vmodel, &e);
	if (!rc)
		rc = ipdk_gnmi_server_add_model(gnmi_srv, &vmodel, &e);
	if (!rc) {
		ipdk_gnmi_vdevs_set_server(gnmi_vdevs, gnmi_srv);
		rc = ipdk_gnmi_server_start(gnmi_srv, &e);
	}
	if (rc) {
		infrap4d_gnmi_stop();
		if (cfg->gnmi_explicit) {
			*err = e;
			return rc;
		}
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
	/* Devices stay in their VMs; their ports go with the dataplane. */
	if (vdev_table && ipdk_vdev_count(vdev_table))
		IPDK_LOG_WARN("%u virtual devices stay plugged in their VMs without a backend",
			      ipdk_vdev_count(vdev_table));
	ipdk_gnmi_vdevs_free(gnmi_vdevs);
	gnmi_vdevs = NULL;
	ipdk_gnmi_ports_free(gnmi_ports);
	gnmi_ports = NULL;
	ipdk_vdev_table_destroy(vdev_table);
	vdev_table = NULL;
}
