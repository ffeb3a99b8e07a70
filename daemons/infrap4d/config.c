/*
 * infrap4d configuration: a JSON file (documented in docs/infrap4d.md) and the
 * command-line --port form, both funnelled through the same per-key setter so
 * they accept the same keys and reject unknown ones with the same messages.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ipdk/log.h"
#include "ipdk/rpc.h"
#include "infrap4d.h"

void infrap4d_cfg_init(struct infrap4d_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->pipeline_name, sizeof(cfg->pipeline_name), "main");
	snprintf(cfg->ctl_socket, sizeof(cfg->ctl_socket), "%s", INFRAP4D_DEFAULT_SOCKET);
	cfg->threads.n_threads = 1;
	cfg->threads.cpus[0] = -1;
	cfg->log_level = -1;
	cfg->p4rt_enabled = true;
	snprintf(cfg->p4rt_listen, sizeof(cfg->p4rt_listen), "0.0.0.0:9559");
	snprintf(cfg->grpc_cert_dir, sizeof(cfg->grpc_cert_dir), "%s", INFRAP4D_DEFAULT_CERT_DIR);
	cfg->p4rt_device_id = 1;
	cfg->gnmi_enabled = true;
	snprintf(cfg->gnmi_listen, sizeof(cfg->gnmi_listen), "0.0.0.0:9339");
	cfg->port_slots = INFRAP4D_DEFAULT_PORT_SLOTS;
	snprintf(cfg->state_file, sizeof(cfg->state_file), "%s", INFRAP4D_DEFAULT_STATE_FILE);
}

/* The "gnmi" object: { "enabled": BOOL, "listen": "HOST:PORT" }. */
static int load_gnmi(struct infrap4d_cfg *cfg, json_t *o, const char *path, struct ipdk_err *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return ipdk_err_set(err, -EINVAL, "%s: \"gnmi\" must be an object", path);
	json_object_foreach(o, k, v) {
		if (!strcmp(k, "enabled")) {
			if (!json_is_boolean(v))
				return ipdk_err_set(err, -EINVAL, "%s: gnmi.enabled must be true or false", path);
			cfg->gnmi_enabled = json_is_true(v);
		} else if (!strcmp(k, "listen")) {
			if (!json_is_string(v) || json_string_length(v) >= sizeof(cfg->gnmi_listen))
				return ipdk_err_set(err, -EINVAL, "%s: gnmi.listen must be a string shorter than %zu",
						    path, sizeof(cfg->gnmi_listen));
			snprintf(cfg->gnmi_listen, sizeof(cfg->gnmi_listen), "%s", json_string_value(v));
		} else {
			return ipdk_err_set(err, -EINVAL, "%s: gnmi: unknown key \"%s\" (known: enabled, listen)",
					    path, k);
		}
		cfg->gnmi_explicit = true;
	}
	return 0;
}

/* "virtual_devices": { "hosts": [ { "name", "qmp_socket", "bus_prefix", "slots",
 * "timeout_ms" } ] }: the VMs gNMI's virtual device model hotplugs into. */
static int load_vdev_host(struct infrap4d_cfg *cfg, json_t *h, const char *path, size_t i,
			  struct ipdk_err *err)
{
	struct infrap4d_vdev_host *vh = &cfg->vdev_hosts[cfg->n_vdev_hosts];
	const char *k;
	json_t *v;

	if (!json_is_object(h))
		return ipdk_err_set(err, -EINVAL, "%s: virtual_devices.hosts[%zu] must be an object", path, i);
	memset(vh, 0, sizeof(*vh));
	json_object_foreach(h, k, v) {
		char *dst = !strcmp(k, "name") ? vh->name : !strcmp(k, "qmp_socket") ? vh->qmp_socket :
			    !strcmp(k, "bus_prefix") ? vh->bus_prefix : NULL;
		size_t size = dst == vh->name ? sizeof(vh->name) : dst == vh->qmp_socket ?
			      sizeof(vh->qmp_socket) : sizeof(vh->bus_prefix);
		unsigned int *num = !strcmp(k, "slots") ? &vh->slots :
				    !strcmp(k, "timeout_ms") ? &vh->timeout_ms : NULL;

		if (dst && (!json_is_string(v) || json_string_length(v) >= size || !json_string_length(v)))
			return ipdk_err_set(err, -EINVAL, "%s: virtual_devices.hosts[%zu].%s must be a "
					    "string of 1 to %zu characters", path, i, k, size - 1);
		if (dst)
			snprintf(dst, size, "%s", json_string_value(v));
		else if (num && json_is_integer(v) && json_integer_value(v) > 0 &&
			 json_integer_value(v) <= 600000)
			*num = (unsigned int)json_integer_value(v);
		else
			return ipdk_err_set(err, -EINVAL, "%s: virtual_devices.hosts[%zu].%s: unknown key "
					    "or bad value (known: name, qmp_socket, bus_prefix, slots, "
					    "timeout_ms)", path, i, k);
	}
	if (!vh->name[0] || !vh->qmp_socket[0])
		return ipdk_err_set(err, -EINVAL, "%s: virtual_devices.hosts[%zu] needs name and "
				    "qmp_socket", path, i);
	cfg->n_vdev_hosts++;
	return 0;
}

static int load_vdevs(struct infrap4d_cfg *cfg, json_t *o, const char *path, struct ipdk_err *err)
{
	json_t *hosts = json_object_get(o, "hosts"), *h;
	size_t i;
	int rc;

	if (!json_is_object(o) || json_object_size(o) != 1 || !json_is_array(hosts))
		return ipdk_err_set(err, -EINVAL, "%s: \"virtual_devices\" must be an object with "
				    "one key, \"hosts\": an array", path);
	json_array_foreach(hosts, i, h) {
		if (cfg->n_vdev_hosts == sizeof(cfg->vdev_hosts) / sizeof(cfg->vdev_hosts[0]))
			return ipdk_err_set(err, -ENOSPC, "%s: at most %zu virtual device hosts", path,
					    sizeof(cfg->vdev_hosts) / sizeof(cfg->vdev_hosts[0]));
		rc = load_vdev_host(cfg, h, path, i, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* The "p4runtime" object: the same settings as the --p4rt-* and --grpc-* options. */
static int load_p4rt(struct infrap4d_cfg *cfg, json_t *o, const char *path, struct ipdk_err *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return ipdk_err_set(err, -EINVAL, "%s: \"p4runtime\" must be an object", path);
	json_object_foreach(o, k, v) {
		const char *str = json_string_value(v);
		char *dst = NULL;
		size_t size = 0;

		if (!strcmp(k, "enabled")) {
			if (!json_is_boolean(v))
				return ipdk_err_set(err, -EINVAL, "%s: p4runtime.enabled must be true or false", path);
			cfg->p4rt_enabled = json_is_true(v);
			cfg->p4rt_explicit = true;
			continue;
		}
		if (!strcmp(k, "device_id")) {
			if (!json_is_integer(v) || json_integer_value(v) < 1)
				return ipdk_err_set(err, -EINVAL, "%s: p4runtime.device_id must be a positive integer", path);
			cfg->p4rt_device_id = (uint64_t)json_integer_value(v);
			continue;
		}
		if (!strcmp(k, "security")) {
			int sec = str ? ipdk_rpc_security_parse(str) : -EINVAL;

			if (sec < 0)
				return ipdk_err_set(err, -EINVAL, "%s: p4runtime.security must be mtls, tls or insecure", path);
			cfg->grpc_security = sec;
			cfg->p4rt_explicit = true;
			continue;
		}
		if (!strcmp(k, "listen"))
			dst = cfg->p4rt_listen, size = sizeof(cfg->p4rt_listen);
		else if (!strcmp(k, "cert_dir"))
			dst = cfg->grpc_cert_dir, size = sizeof(cfg->grpc_cert_dir);
		else if (!strcmp(k, "cpu_port"))
			dst = cfg->p4rt_cpu_port, size = sizeof(cfg->p4rt_cpu_port);
		else
			return ipdk_err_set(err, -EINVAL,
					    "%s: p4runtime: unknown key \"%s\" (known: enabled, listen, security, cert_dir, cpu_port, device_id)",
					    path, k);
		if (!str || strlen(str) >= size)
			return ipdk_err_set(err, -EINVAL, "%s: p4runtime.%s must be a string shorter than %zu",
					    path, k, size);
		snprintf(dst, size, "%s", str);
		cfg->p4rt_explicit = true;
	}
	return 0;
}

void infrap4d_cfg_fini(struct infrap4d_cfg *cfg)
{
	for (unsigned int i = 0; i < cfg->n_entries; i++)
		free(cfg->entries[i]);
	free(cfg->entries);
	cfg->entries = NULL;
	cfg->n_entries = 0;
}

static int copy_str(char *dst, size_t size, const char *val, const char *key,
		    const char *port, struct ipdk_err *err)
{
	if (strlen(val) >= size)
		return ipdk_err_set(err, -ENAMETOOLONG, "port %s: %s \"%s\" longer than %zu characters",
				    port, key, val, size - 1);
	snprintf(dst, size, "%s", val);
	return 0;
}

static int parse_uint(const char *val, unsigned long max, unsigned long *out, const char *key,
		      const char *port, struct ipdk_err *err)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 0);
	if (errno || end == val || *end || v > max || val[0] == '-')
		return ipdk_err_set(err, -EINVAL, "port %s: %s \"%s\" is not a number from 0 to %lu",
				    port, key, val, max);
	*out = v;
	return 0;
}

/* One key of a port definition; the same keys in JSON and on the command line. */
static int port_set(struct ipdk_port_cfg *p, const char *key, const char *val,
		    struct ipdk_err *err)
{
	const char *pn = p->name[0] ? p->name : "(unnamed)";
	unsigned long v;
	int rc;

	if (!strcmp(key, "name"))
		return copy_str(p->name, sizeof(p->name), val, key, pn, err);
	if (!strcmp(key, "type")) {
		rc = ipdk_port_type_parse(val);
		if (rc < 0)
			return ipdk_err_set(err, -EINVAL,
					    "port %s: unknown port type \"%s\" (expected tap, link, vhost, ring or pcap)",
					    pn, val);
		p->type = (enum ipdk_port_type)rc;
		return 0;
	}
	if (!strcmp(key, "netdev"))
		return copy_str(p->netdev, sizeof(p->netdev), val, key, pn, err);
	if (!strcmp(key, "socket") || !strcmp(key, "socket-path") || !strcmp(key, "pcap-in"))
		return copy_str(p->path, sizeof(p->path), val, key, pn, err);
	if (!strcmp(key, "pcap-out"))
		return copy_str(p->path_out, sizeof(p->path_out), val, key, pn, err);
	if (!strcmp(key, "mode")) {
		if (!strcmp(val, "auto"))
			p->link_mode = IPDK_LINK_AUTO;
		else if (!strcmp(val, "af_xdp"))
			p->link_mode = IPDK_LINK_AF_XDP;
		else if (!strcmp(val, "af_packet"))
			p->link_mode = IPDK_LINK_AF_PACKET;
		else
			return ipdk_err_set(err, -EINVAL,
					    "port %s: mode \"%s\" unknown (expected auto, af_xdp or af_packet)",
					    pn, val);
		return 0;
	}
	if (!strcmp(key, "client")) {
		if (strcmp(val, "true") && strcmp(val, "false") && strcmp(val, "1") && strcmp(val, "0"))
			return ipdk_err_set(err, -EINVAL, "port %s: client must be true or false", pn);
		p->vhost_client = !strcmp(val, "true") || !strcmp(val, "1");
		return 0;
	}
	if (!strcmp(key, "queues") || !strcmp(key, "mtu")) {
		rc = parse_uint(val, !strcmp(key, "mtu") ? 65535 : 64, &v, key, pn, err);
		if (rc)
			return rc;
		if (key[0] == 'q')
			p->queues = (uint16_t)v;
		else
			p->mtu = (uint16_t)v;
		return 0;
	}
	if (!strcmp(key, "burst") || !strcmp(key, "ring-size") || !strcmp(key, "loops")) {
		rc = parse_uint(val, 1UL << 24, &v, key, pn, err);
		if (rc)
			return rc;
		if (key[0] == 'b')
			p->burst = (uint32_t)v;
		else if (key[0] == 'r')
			p->ring_size = (uint32_t)v;
		else
			p->pcap_loops = (uint32_t)v;
		return 0;
	}
	return ipdk_err_set(err, -EINVAL,
			    "port %s: unknown key \"%s\" (known: name, type, netdev, socket, mode, client, queues, mtu, burst, ring-size, pcap-in, pcap-out, loops)",
			    pn, key);
}

static int port_check(struct infrap4d_cfg *cfg, struct ipdk_port_cfg *p, struct ipdk_err *err)
{
	if (!p->name[0])
		return ipdk_err_set(err, -EINVAL, "port %u: \"name\" is required", cfg->n_ports);
	for (unsigned int i = 0; i < cfg->n_ports; i++)
		if (&cfg->ports[i] != p && !strcmp(cfg->ports[i].name, p->name))
			return ipdk_err_set(err, -EEXIST, "port %s: defined twice", p->name);
	if (p->type == IPDK_PORT_LINK && !p->netdev[0])
		return ipdk_err_set(err, -EINVAL, "port %s: a link port needs \"netdev\"", p->name);
	if (p->type == IPDK_PORT_VHOST && !p->path[0])
		return ipdk_err_set(err, -EINVAL, "port %s: a vhost port needs \"socket\"", p->name);
	return 0;
}

static struct ipdk_port_cfg *port_new(struct infrap4d_cfg *cfg, struct ipdk_err *err)
{
	struct ipdk_port_cfg *p;

	if (cfg->n_ports == INFRAP4D_MAX_PORTS) {
		ipdk_err_set(err, -ENOSPC, "at most %d ports", INFRAP4D_MAX_PORTS);
		return NULL;
	}
	p = &cfg->ports[cfg->n_ports];
	memset(p, 0, sizeof(*p));
	p->type = IPDK_PORT_TYPE_MAX;
	return p;
}

static int port_finish(struct infrap4d_cfg *cfg, struct ipdk_port_cfg *p, struct ipdk_err *err)
{
	int rc;

	if (p->type == IPDK_PORT_TYPE_MAX)
		return ipdk_err_set(err, -EINVAL, "port %s: \"type\" is required",
				    p->name[0] ? p->name : "(unnamed)");
	rc = port_check(cfg, p, err);
	if (rc)
		return rc;
	cfg->n_ports++;
	return 0;
}

int infrap4d_cfg_add_port_str(struct infrap4d_cfg *cfg, const char *spec, struct ipdk_err *err)
{
	struct ipdk_port_cfg *p = port_new(cfg, err);
	char *copy, *tok, *save = NULL;
	int rc = 0;

	if (!p)
		return err->code;
	copy = strdup(spec);
	if (!copy)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			rc = ipdk_err_set(err, -EINVAL, "--port %s: \"%s\" is not key=value", spec, tok);
			break;
		}
		*eq = '\0';
		rc = port_set(p, tok, eq + 1, err);
	}
	free(copy);
	return rc ? rc : port_finish(cfg, p, err);
}

static int json_to_str(json_t *v, char *buf, size_t size)
{
	if (json_is_string(v))
		snprintf(buf, size, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, size, "%s", json_is_true(v) ? "true" : "false");
	else
		return -EINVAL;
	return 0;
}

static int load_ports(struct infrap4d_cfg *cfg, json_t *ports, const char *path,
		      struct ipdk_err *err)
{
	size_t i;
	json_t *jp;

	if (!json_is_array(ports))
		return ipdk_err_set(err, -EINVAL, "%s: \"ports\" must be an array", path);
	json_array_foreach(ports, i, jp) {
		struct ipdk_port_cfg *p;
		const char *key;
		json_t *v;
		char val[IPDK_PATH_MAX];
		int rc;

		if (!json_is_object(jp))
			return ipdk_err_set(err, -EINVAL, "%s: ports[%zu] must be an object", path, i);
		p = port_new(cfg, err);
		if (!p)
			return err->code;
		/* The name first, so later messages can use it. */
		v = json_object_get(jp, "name");
		if (v && !json_to_str(v, val, sizeof(val)))
			snprintf(p->name, sizeof(p->name), "%s", val);
		json_object_foreach(jp, key, v) {
			if (json_to_str(v, val, sizeof(val)))
				return ipdk_err_set(err, -EINVAL, "%s: ports[%zu].%s must be a string, number or boolean",
						    path, i, key);
			rc = port_set(p, key, val, err);
			if (rc)
				return ipdk_err_prefix(err, "%s: ports[%zu]", path, i);
		}
		rc = port_finish(cfg, p, err);
		if (rc)
			return ipdk_err_prefix(err, "%s: ports[%zu]", path, i);
	}
	return 0;
}

static int load_threads(struct infrap4d_cfg *cfg, json_t *t, const char *path,
			struct ipdk_err *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(t))
		return ipdk_err_set(err, -EINVAL, "%s: \"threads\" must be an object", path);
	json_object_foreach(t, key, v) {
		if (!strcmp(key, "count")) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 64)
				return ipdk_err_set(err, -EINVAL, "%s: threads.count must be 1 to 64", path);
			cfg->threads.n_threads = (unsigned int)json_integer_value(v);
		} else if (!strcmp(key, "cpus")) {
			size_t i;
			json_t *c;

			if (!json_is_array(v) || json_array_size(v) > 64)
				return ipdk_err_set(err, -EINVAL, "%s: threads.cpus must be an array of CPU numbers", path);
			json_array_foreach(v, i, c) {
				if (!json_is_integer(c) || json_integer_value(c) < -1 ||
				    json_integer_value(c) >= CPU_SETSIZE)
					return ipdk_err_set(err, -EINVAL, "%s: threads.cpus[%zu] is not a CPU number", path, i);
				cfg->threads.cpus[i] = (int)json_integer_value(c);
			}
		} else if (!strcmp(key, "busy_poll")) {
			if (!json_is_boolean(v))
				return ipdk_err_set(err, -EINVAL, "%s: threads.busy_poll must be true or false", path);
			cfg->threads.busy_poll = json_is_true(v);
		} else if (!strcmp(key, "idle_max_us")) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100000)
				return ipdk_err_set(err, -EINVAL, "%s: threads.idle_max_us must be 1 to 100000", path);
			cfg->threads.idle_max_us = (unsigned int)json_integer_value(v);
		} else {
			return ipdk_err_set(err, -EINVAL,
					    "%s: threads: unknown key \"%s\" (known: count, cpus, busy_poll, idle_max_us)",
					    path, key);
		}
	}
	return 0;
}

static int add_entry_line(struct infrap4d_cfg *cfg, const char *line, struct ipdk_err *err)
{
	char **n = realloc(cfg->entries, (cfg->n_entries + 1) * sizeof(*n));

	if (!n)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	cfg->entries = n;
	n[cfg->n_entries] = strdup(line);
	if (!n[cfg->n_entries])
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	cfg->n_entries++;
	return 0;
}

static int load_misc(struct infrap4d_cfg *cfg, const char *key, json_t *v, const char *path,
		     struct ipdk_err *err)
{
	if (!strcmp(key, "pipeline")) {
		const char *k;
		json_t *pv;

		if (!json_is_object(v))
			return ipdk_err_set(err, -EINVAL, "%s: \"pipeline\" must be an object", path);
		json_object_foreach(v, k, pv) {
			if (!strcmp(k, "port_slots")) {
				if (!json_is_integer(pv) || json_integer_value(pv) < 1 ||
				    json_integer_value(pv) > INFRAP4D_MAX_PORTS)
					return ipdk_err_set(err, -EINVAL, "%s: pipeline.port_slots must be 1 to %d",
							    path, INFRAP4D_MAX_PORTS);
				cfg->port_slots = (unsigned int)json_integer_value(pv);
				continue;
			}
			char *dst = !strcmp(k, "spec") ? cfg->spec_path :
				    !strcmp(k, "bundle") ? cfg->bundle_path :
				    !strcmp(k, "p4info") ? cfg->p4info_path :
				    !strcmp(k, "name") ? cfg->pipeline_name : NULL;
			size_t size = dst == cfg->pipeline_name ? sizeof(cfg->pipeline_name) :
				      IPDK_PATH_MAX;

			if (!dst)
				return ipdk_err_set(err, -EINVAL,
						    "%s: pipeline: unknown key \"%s\" (known: name, spec, bundle, p4info, port_slots)",
						    path, k);
			if (!json_is_string(pv) || strlen(json_string_value(pv)) >= size)
				return ipdk_err_set(err, -EINVAL, "%s: pipeline.%s must be a string shorter than %zu",
						    path, k, size);
			snprintf(dst, size, "%s", json_string_value(pv));
		}
		if (cfg->spec_path[0] && cfg->bundle_path[0])
			return ipdk_err_set(err, -EINVAL, "%s: pipeline: \"spec\" and \"bundle\" exclude each other",
					    path);
		return 0;
	}
	if (!strcmp(key, "control_socket")) {
		if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof(cfg->ctl_socket))
			return ipdk_err_set(err, -EINVAL, "%s: control_socket must be a path shorter than %zu",
					    path, sizeof(cfg->ctl_socket));
		snprintf(cfg->ctl_socket, sizeof(cfg->ctl_socket), "%s", json_string_value(v));
		return 0;
	}
	if (!strcmp(key, "dpdk")) {
		const char *k;
		json_t *dv;

		if (!json_is_object(v))
			return ipdk_err_set(err, -EINVAL, "%s: \"dpdk\" must be an object", path);
		json_object_foreach(v, k, dv) {
			if (!strcmp(k, "hugepages") && json_is_boolean(dv))
				cfg->hugepages = json_is_true(dv);
			else if (!strcmp(k, "memory_mb") && json_is_integer(dv) &&
				 json_integer_value(dv) >= 64 && json_integer_value(dv) <= 65536)
				cfg->mem_mb = (unsigned int)json_integer_value(dv);
			else
				return ipdk_err_set(err, -EINVAL,
						    "%s: dpdk.%s: unknown key or bad value (known: hugepages true|false, memory_mb 64..65536)",
						    path, k);
		}
		return 0;
	}
	if (!strcmp(key, "state_file")) {
		const char *sf = json_string_value(v);

		if (json_is_null(v) || (sf && !strcmp(sf, "none")))
			sf = "";
		else if (!sf || !sf[0] || strlen(sf) >= sizeof(cfg->state_file))
			return ipdk_err_set(err, -EINVAL, "%s: state_file must be a path shorter than %zu, \"none\" or null",
					    path, sizeof(cfg->state_file));
		snprintf(cfg->state_file, sizeof(cfg->state_file), "%s", sf);
		return 0;
	}
	if (!strcmp(key, "log_level")) {
		int lvl = json_is_string(v) ? ipdk_log_level_parse(json_string_value(v)) : -1;

		if (lvl < 0)
			return ipdk_err_set(err, -EINVAL, "%s: log_level must be err, warn, info or debug", path);
		cfg->log_level = lvl;
		return 0;
	}
	if (!strcmp(key, "entries")) {
		size_t i;
		json_t *e;

		if (!json_is_array(v))
			return ipdk_err_set(err, -EINVAL, "%s: \"entries\" must be an array of strings", path);
		json_array_foreach(v, i, e) {
			int rc;

			if (!json_is_string(e))
				return ipdk_err_set(err, -EINVAL, "%s: entries[%zu] must be a string \"TABLE match ... action ...\"",
						    path, i);
			rc = add_entry_line(cfg, json_string_value(e), err);
			if (rc)
				return rc;
		}
		return 0;
	}
	return ipdk_err_set(err, -EINVAL,
			    "%s: unknown key \"%s\" (known: pipeline, ports, threads, dpdk, control_socket, log_level, entries, p4runtime, gnmi, virtual_devices, state_file)",
			    path, key);
}

int infrap4d_cfg_load(struct infrap4d_cfg *cfg, const char *path, struct ipdk_err *err)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	int rc = 0;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return ipdk_err_set(err, -EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column,
				    jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return ipdk_err_set(err, -EINVAL, "%s: the configuration must be a JSON object", path);
	}
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "ports"))
			rc = load_ports(cfg, v, path, err);
		else if (!strcmp(key, "threads"))
			rc = load_threads(cfg, v, path, err);
		else if (!strcmp(key, "p4runtime"))
			rc = load_p4rt(cfg, v, path, err);
		else if (!strcmp(key, "gnmi"))
			rc = load_gnmi(cfg, v, path, err);
		else if (!strcmp(key, "virtual_devices"))
			rc = load_vdevs(cfg, v, path, err);
		else
			rc = load_misc(cfg, key, v, path, err);
		if (rc)
			break;
	}
	json_decref(root);
	return rc;
}
