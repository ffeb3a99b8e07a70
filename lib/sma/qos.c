/*
 * QoS of the Storage Management Agent: SetQos and GetQosCapabilities as the
 * SMA definition has them. A QosLimit value is in kIOPS (rd/wr/rw_iops) or
 * MB/s (rd/wr/rw_bandwidth, counted as MiB/s: 2^20 bytes); 0 is unlimited and
 * UINT64_MAX leaves a limit as it is. Limits live on the QoS device every
 * volume has in front of it (volume.c), so they change while the device runs.
 *
 * What each device type takes (GetQosCapabilities):
 *  - virtio_blk: every limit, on the device (volume_id empty) or on its volume;
 *    both name the same limits, since the device has exactly one volume.
 *  - nvmf_tcp: every limit per volume (a namespace); none on the device as a
 *    whole, so a device-level request may only carry 0 or UINT64_MAX.
 * A limit a level does not take, or a value above the largest lib/blk holds,
 * is INVALID_ARGUMENT naming the field; the request is checked whole before
 * anything changes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipdk/log.h"
#include "sma_internal.h"

const char *const sma_qos_names[SMA_QOS_N] = {
	"rd_iops", "wr_iops", "rw_iops", "rd_bandwidth", "wr_bandwidth", "rw_bandwidth",
};

/* What a level of a device type takes. */
struct qos_caps {
	bool k[SMA_QOS_N];
};

static const struct qos_caps all = { { true, true, true, true, true, true } };
static const struct qos_caps none = { { false } };

void sma_qos_to_blk(const uint64_t q[SMA_QOS_N], struct ipdk_blk_qos_limits *l)
{
	l->rd_iops = q[SMA_QOS_RD_IOPS] * 1000;
	l->wr_iops = q[SMA_QOS_WR_IOPS] * 1000;
	l->rw_iops = q[SMA_QOS_RW_IOPS] * 1000;
	l->rd_bps = q[SMA_QOS_RD_BW] << 20;
	l->wr_bps = q[SMA_QOS_WR_BW] << 20;
	l->rw_bps = q[SMA_QOS_RW_BW] << 20;
}

static void fill_caps(const struct qos_caps *c,
		      Sma__GetQosCapabilitiesResponse__QosCapabilities *out)
{
	out->rd_iops = c->k[SMA_QOS_RD_IOPS];
	out->wr_iops = c->k[SMA_QOS_WR_IOPS];
	out->rw_iops = c->k[SMA_QOS_RW_IOPS];
	out->rd_bandwidth = c->k[SMA_QOS_RD_BW];
	out->wr_bandwidth = c->k[SMA_QOS_WR_BW];
	out->rw_bandwidth = c->k[SMA_QOS_RW_BW];
}

int sma_qos_caps(int type, Sma__GetQosCapabilitiesResponse__QosCapabilities *dev,
		 Sma__GetQosCapabilitiesResponse__QosCapabilities *vol, struct ipdk_err *err)
{
	switch (type) {
	case SMA__DEVICE_TYPE__DEVICE_TYPE_VIRTIO_BLK:
		fill_caps(&all, dev);
		fill_caps(&all, vol);
		return 0;
	case SMA__DEVICE_TYPE__DEVICE_TYPE_NVMF_TCP:
		fill_caps(&none, dev);
		fill_caps(&all, vol);
		return 0;
	default:
		return ipdk_err_set(err, type == SMA__DEVICE_TYPE__DEVICE_TYPE_INVALID ? -EINVAL :
				    -ENOTSUP, "GetQosCapabilities: device type %d is not offered "
				    "by this agent (virtio_blk and nvmf_tcp are)", type);
	}
}

/* Checks every value against what the level takes; 0 or -EINVAL naming the field. */
static int check_values(const uint64_t v[SMA_QOS_N], const struct qos_caps *c,
			const char *what, struct ipdk_err *err)
{
	for (int k = 0; k < SMA_QOS_N; k++) {
		uint64_t max = k <= SMA_QOS_RW_IOPS ? SMA_QOS_KIOPS_MAX : SMA_QOS_MIBS_MAX;

		if (v[k] == 0 || v[k] == UINT64_MAX)
			continue;
		if (!c->k[k])
			return ipdk_err_set(err, -EINVAL, "%s: QoS limit maximum.%s is not supported "
					    "(see GetQosCapabilities); set it to 0", what,
					    sma_qos_names[k]);
		if (v[k] > max)
			return ipdk_err_set(err, -EINVAL, "%s: QoS limit maximum.%s = %llu is above "
					    "%llu %s (0 is unlimited)", what, sma_qos_names[k],
					    (unsigned long long)v[k], (unsigned long long)max,
					    k <= SMA_QOS_RW_IOPS ? "kIOPS" : "MiB/s");
	}
	return 0;
}

/* Finds the volume whose limits a request sets and what its level takes;
 * *vol is NULL for a device-level request on an nvmf_tcp device. */
static int find_target(struct ipdk_sma *sma, const Sma__SetQosRequest *req,
		       struct sma_volume **vol, const struct qos_caps **caps, char *what,
		       size_t what_len, struct ipdk_err *err)
{
	const char *h = req->device_handle;
	struct sma_nvmf_dev *nd = NULL;
	struct sma_device *d = NULL;
	uint8_t id[16];
	int rc;

	if (h && !strncmp(h, SMA_NVMF_TCP_PREFIX, strlen(SMA_NVMF_TCP_PREFIX)))
		rc = sma_nvmf_find(sma, h, &nd, err);
	else
		rc = sma_device_find(sma, h, &d, err);
	if (rc)
		return rc;
	*vol = NULL;
	if (d && d->failed[0])
		return ipdk_err_set(err, -EIO, "device %s failed at restore (%s); delete it",
				    d->handle, d->failed);
	if (!req->volume_id.len) {
		/* the whole device: a virtio-blk device's one volume; nvmf_tcp takes none */
		*caps = d ? &all : &none;
		*vol = d ? &d->vol : NULL;
		snprintf(what, what_len, "device %s", h);
		return 0;
	}
	rc = sma_volume_id(&req->volume_id, id, err);
	if (rc)
		return rc;
	*caps = &all;
	if (d && !memcmp(d->vol.id, id, 16))
		*vol = &d->vol;
	for (unsigned int i = 0; nd && i < nd->n_vols; i++)
		if (!memcmp(nd->vols[i].id, id, 16))
			*vol = &nd->vols[i];
	if (!*vol) {
		char text[37];

		ipdk_sma_uuid_format(id, text);
		return ipdk_err_set(err, -ENOENT, "device %s has no volume %s", h, text);
	}
	snprintf(what, what_len, "device %s volume %s", h, (*vol)->id_text);
	return 0;
}

int sma_qos_set(struct ipdk_sma *sma, const Sma__SetQosRequest *req, struct ipdk_err *err)
{
	const Sma__QosLimit *m = req->maximum;
	const struct qos_caps *caps;
	struct ipdk_blk_qos_limits l;
	struct sma_volume *vol;
	uint64_t v[SMA_QOS_N] = { 0 }, q[SMA_QOS_N];
	char what[320];
	int rc;

	rc = find_target(sma, req, &vol, &caps, what, sizeof(what), err);
	if (rc)
		return rc;
	/* an absent maximum reads as all zeroes (proto3): every limit lifted */
	if (m) {
		v[SMA_QOS_RD_IOPS] = m->rd_iops;
		v[SMA_QOS_WR_IOPS] = m->wr_iops;
		v[SMA_QOS_RW_IOPS] = m->rw_iops;
		v[SMA_QOS_RD_BW] = m->rd_bandwidth;
		v[SMA_QOS_WR_BW] = m->wr_bandwidth;
		v[SMA_QOS_RW_BW] = m->rw_bandwidth;
	}
	rc = check_values(v, caps, what, err);
	if (rc || !vol)
		return rc;   /* nvmf_tcp device level: only zeroes and "unchanged", nothing to do */
	for (int k = 0; k < SMA_QOS_N; k++)
		q[k] = v[k] == UINT64_MAX ? vol->qos[k] : v[k];
	if (!memcmp(q, vol->qos, sizeof(q)))
		return 0;
	sma_qos_to_blk(q, &l);
	rc = ipdk_blk_qos_set_limits(vol->qos_dev, &l, err);
	if (rc)
		return ipdk_err_prefix(err, "%s", what);
	pthread_mutex_lock(&sma->lock);
	memcpy(vol->qos, q, sizeof(q));
	pthread_mutex_unlock(&sma->lock);
	IPDK_LOG_INFO("sma: %s: QoS rd_iops %llu wr_iops %llu rw_iops %llu kIOPS, rd_bandwidth "
		      "%llu wr_bandwidth %llu rw_bandwidth %llu MiB/s (0: unlimited)", what,
		      (unsigned long long)q[0], (unsigned long long)q[1], (unsigned long long)q[2],
		      (unsigned long long)q[3], (unsigned long long)q[4], (unsigned long long)q[5]);
	sma_state_save(sma, NULL);
	return 0;
}
