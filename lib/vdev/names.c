/*
 * The text side of virtual devices: type and state names, and setting a
 * device's configuration key by key from text (the form CLIs and the gNMI
 * service receive). Errors name the key and the reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipdk/value.h"
#include "ipdk/vdev.h"

static const char *const type_names[IPDK_VDEV_TYPE_MAX] = {
	[IPDK_VDEV_VIRTIO_NET] = "virtio-net",
	[IPDK_VDEV_VIRTIO_BLK] = "virtio-blk",
	[IPDK_VDEV_NVME] = "nvme",
};

/* IPDK's gNMI spelling of the same types. */
static const char *const type_alt[IPDK_VDEV_TYPE_MAX] = {
	[IPDK_VDEV_VIRTIO_NET] = "VIRTIO_NET",
	[IPDK_VDEV_VIRTIO_BLK] = "VIRTIO_BLK",
	[IPDK_VDEV_NVME] = "NVME",
};

const char *ipdk_vdev_type_name(enum ipdk_vdev_type type)
{
	return (unsigned int)type < IPDK_VDEV_TYPE_MAX ? type_names[type] : "unknown";
}

int ipdk_vdev_type_parse(const char *s)
{
	for (int i = 0; i < IPDK_VDEV_TYPE_MAX; i++)
		if (!strcasecmp(s, type_names[i]) || !strcasecmp(s, type_alt[i]))
			return i;
	return -EINVAL;
}

const char *ipdk_vdev_state_name(enum ipdk_vdev_state state)
{
	switch (state) {
	case IPDK_VDEV_PLUGGED:
		return "plugged";
	case IPDK_VDEV_UNPLUG_FAILED:
		return "unplug-failed";
	}
	return "unknown";
}

void ipdk_vdev_cfg_init(struct ipdk_vdev_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->physical_id = -1;
	cfg->vf_index = -1;
}

static int parse_uint(const char *key, const char *v, long max, long *out, struct ipdk_err *err)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 0);
	if (!v[0] || *end || errno || n < 0 || n > max)
		return ipdk_err_set(err, -EINVAL, "%s: \"%s\" is not a number from 0 to %ld", key,
				    v, max);
	*out = n;
	return 0;
}

static int set_string(char *dst, size_t size, const char *key, const char *v,
		      struct ipdk_err *err)
{
	if (strlen(v) >= size)
		return ipdk_err_set(err, -ENAMETOOLONG, "%s: \"%s\" is longer than %zu characters",
				    key, v, size - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int parse_mac(const char *v, uint8_t mac[6], struct ipdk_err *err)
{
	if (ipdk_mac_parse(v, mac))
		return ipdk_err_set(err, -EINVAL, "mac: \"%s\" is not of the form "
				    "02:00:00:00:00:01", v);
	return 0;
}

int ipdk_vdev_cfg_set(struct ipdk_vdev_cfg *cfg, const char *key, const char *value,
		      struct ipdk_err *err)
{
	long n;
	int rc;

	if (!strcmp(key, "name"))
		return set_string(cfg->name, sizeof(cfg->name), key, value, err);
	if (!strcmp(key, "type") || !strcmp(key, "device-type")) {
		rc = ipdk_vdev_type_parse(value);
		if (rc < 0)
			return ipdk_err_set(err, rc, "%s: \"%s\" is not virtio-net, virtio-blk or "
					    "nvme", key, value);
		cfg->type = rc;
		return 0;
	}
	if (!strcmp(key, "host-name"))
		return set_string(cfg->host_name, sizeof(cfg->host_name), key, value, err);
	if (!strcmp(key, "socket-path"))
		return set_string(cfg->socket_path, sizeof(cfg->socket_path), key, value, err);
	if (!strcmp(key, "pci-bus"))
		return set_string(cfg->pci_bus, sizeof(cfg->pci_bus), key, value, err);
	if (!strcmp(key, "pf-name"))
		return set_string(cfg->pf_name, sizeof(cfg->pf_name), key, value, err);
	if (!strcmp(key, "mac")) {
		rc = parse_mac(value, cfg->mac, err);
		cfg->has_mac = rc == 0;
		return rc;
	}
	if (!strcmp(key, "queues")) {
		rc = parse_uint(key, value, IPDK_VDEV_QUEUES_MAX, &n, err);
		if (!rc && n == 0)
			rc = ipdk_err_set(err, -EINVAL, "queues: at least 1");
		if (!rc)
			cfg->queues = (uint16_t)n;
		return rc;
	}
	if (!strcmp(key, "physical-id") || !strcmp(key, "vf-index")) {
		rc = parse_uint(key, value, 1 << 16, &n, err);
		if (!rc && key[0] == 'p')
			cfg->physical_id = (int)n;
		else if (!rc)
			cfg->vf_index = (int)n;
		return rc;
	}
	return ipdk_err_set(err, -EINVAL, "unknown key \"%s\" (known: name, device-type, "
			    "host-name, socket-path, queues, physical-id, pci-bus, mac, pf-name, "
			    "vf-index)", key);
}
