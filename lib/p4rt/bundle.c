/*
 * Pipeline bundles as SetForwardingPipelineConfig carries them
 * (docs/bundle.md): p4_device_config holds a BfPipelineConfig (spec text and
 * context JSON in profiles[0], the *.pb.bin of IPDK's builder), a whole
 * ForwardingPipelineConfig (a single-file bundle, bringing its own P4Info),
 * or plain spec text. Also the reverse: a BfPipelineConfig around a bare spec
 * for GetForwardingPipelineConfig. Bundles read from files (infrap4d's
 * --bundle, --p4info, `pipeline load`) go through the same decoder.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/bundle.pb-c.h"
#include "p4rt_int.h"
#include "ipdk/pbtext.h"

static char *dup_bytes(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

static Ipdk__Bundle__BfPipelineConfig *bf_unpack(const ProtobufCBinaryData *d)
{
	Ipdk__Bundle__BfPipelineConfig *bf;

	if (!d->len)
		return NULL;
	bf = ipdk__bundle__bf_pipeline_config__unpack(NULL, d->len, d->data);
	if (bf && (!bf->n_profiles || !bf->profiles[0]->binary.len)) {
		ipdk__bundle__bf_pipeline_config__free_unpacked(bf, NULL);
		return NULL;
	}
	return bf;
}

static int from_bf(const Ipdk__Bundle__BfPipelineConfig *bf, struct p4_bundle *b)
{
	const Ipdk__Bundle__BfPipelineConfig__Profile *pr = bf->profiles[0];

	b->spec = dup_bytes(pr->binary.data, pr->binary.len);
	if (pr->context.len)
		b->context = dup_bytes(pr->context.data, pr->context.len);
	b->name = strdup(bf->p4_name && bf->p4_name[0] ? bf->p4_name : "p4runtime-pipeline");
	return b->spec && b->name && (!pr->context.len || b->context) ? 0 : -ENOMEM;
}

static bool is_text(const ProtobufCBinaryData *d)
{
	return d->len && !memchr(d->data, 0, d->len);
}

int p4_bundle_decode(const P4__V1__ForwardingPipelineConfig *cfg, struct p4_bundle *b,
		     struct ipdk_err *err)
{
	const ProtobufCBinaryData *d = &cfg->p4_device_config;
	Ipdk__Bundle__BfPipelineConfig *bf;
	P4__V1__ForwardingPipelineConfig *inner;
	int rc;

	memset(b, 0, sizeof(*b));
	inner = d->len ? p4__v1__forwarding_pipeline_config__unpack(NULL, d->len, d->data) : NULL;
	if (inner && (bf = bf_unpack(&inner->p4_device_config))) {
		rc = from_bf(bf, b);
		ipdk__bundle__bf_pipeline_config__free_unpacked(bf, NULL);
		if (!rc && !cfg->p4info && inner->p4info) {
			/* keep the bundle's own P4Info */
			b->p4info = inner->p4info;
			inner->p4info = NULL;
		}
		p4__v1__forwarding_pipeline_config__free_unpacked(inner, NULL);
		if (rc)
			goto nomem;
		return 0;
	}
	if (inner)
		p4__v1__forwarding_pipeline_config__free_unpacked(inner, NULL);
	bf = bf_unpack(d);
	if (bf) {
		rc = from_bf(bf, b);
		ipdk__bundle__bf_pipeline_config__free_unpacked(bf, NULL);
		if (rc)
			goto nomem;
		return 0;
	}
	if (!is_text(d))
		return ipdk_err_set(err, -EINVAL,
				    "p4_device_config (%zu bytes) is neither a BfPipelineConfig with a profile, a pipeline bundle nor spec text",
				    d->len);
	b->spec = dup_bytes(d->data, d->len);
	b->name = strdup("p4runtime-pipeline(spec)");
	b->bare = true;
	if (!b->spec || !b->name)
		goto nomem;
	return 0;
nomem:
	p4_bundle_fini(b);
	return ipdk_err_set(err, -ENOMEM, "out of memory");
}

void p4_bundle_fini(struct p4_bundle *b)
{
	free(b->spec);
	free(b->context);
	free(b->name);
	if (b->p4info)
		p4__config__v1__p4_info__free_unpacked(b->p4info, NULL);
	memset(b, 0, sizeof(*b));
}

int p4_bundle_device_config(const char *name, const char *spec_text, uint8_t **out, size_t *len)
{
	Ipdk__Bundle__BfPipelineConfig bf = IPDK__BUNDLE__BF_PIPELINE_CONFIG__INIT;
	Ipdk__Bundle__BfPipelineConfig__Profile pr = IPDK__BUNDLE__BF_PIPELINE_CONFIG__PROFILE__INIT;
	Ipdk__Bundle__BfPipelineConfig__Profile *prs[1] = { &pr };

	pr.profile_name = "pipe";
	pr.binary.data = (uint8_t *)spec_text;
	pr.binary.len = strlen(spec_text);
	bf.p4_name = (char *)name;
	bf.profiles = prs;
	bf.n_profiles = 1;
	*len = ipdk__bundle__bf_pipeline_config__get_packed_size(&bf);
	*out = malloc(*len + 1);
	if (!*out)
		return -ENOMEM;
	ipdk__bundle__bf_pipeline_config__pack(&bf, *out);
	return 0;
}

/* ---- bundles read from files ------------------------------------------- */

struct ipdk_p4rt_bundle {
	struct p4_bundle b;
	uint8_t *devcfg;                /* the file as read: GetForwardingPipelineConfig's */
	size_t devcfg_len;
	/* built by ipdk_p4rt_bundle_install() for tdi, until the service takes it */
	struct p4_model *model;
	const struct tdi_dev *model_tdi;
};

static uint8_t *slurp(const char *path, size_t *len, struct ipdk_err *err)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;

	if (!f) {
		ipdk_err_set(err, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)size + 1)))
		*len = fread(buf, 1, (size_t)size, f);
	fclose(f);
	if (!buf)
		ipdk_err_set(err, -ENOMEM, "%s: cannot read", path);
	return buf;
}

static P4__Config__V1__P4Info *p4info_read(const char *path, struct ipdk_err *err)
{
	P4__Config__V1__P4Info *info;
	size_t n = 0;
	uint8_t *buf = slurp(path, &n, err);

	if (!buf)
		return NULL;
	info = (P4__Config__V1__P4Info *)pbtext_load(&p4__config__v1__p4_info__descriptor, buf, n,
						     path, err);
	free(buf);
	return info;
}

int ipdk_p4rt_bundle_read(const char *path, const char *p4info_path, struct ipdk_p4rt_bundle **out,
			  struct ipdk_err *err)
{
	P4__V1__ForwardingPipelineConfig cfg = P4__V1__FORWARDING_PIPELINE_CONFIG__INIT;
	P4__Config__V1__P4Info *info = NULL;
	struct ipdk_p4rt_bundle *bd = calloc(1, sizeof(*bd));
	int rc;

	if (!bd)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	bd->devcfg = slurp(path, &bd->devcfg_len, err);
	if (!bd->devcfg)
		goto fail;
	if (p4info_path && !(info = p4info_read(p4info_path, err)))
		goto fail;
	cfg.p4_device_config.data = bd->devcfg;
	cfg.p4_device_config.len = bd->devcfg_len;
	rc = p4_bundle_decode(&cfg, &bd->b, err);
	if (rc) {
		ipdk_err_prefix(err, "%s", path);
		goto fail;
	}
	if (info) {
		/* given separately, it wins over one the bundle carries */
		if (bd->b.p4info)
			p4__config__v1__p4_info__free_unpacked(bd->b.p4info, NULL);
		bd->b.p4info = info;
		info = NULL;
	}
	if (bd->b.bare) {
		char *name = strdup(path);

		if (!name) {
			ipdk_err_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		free(bd->b.name);
		bd->b.name = name;
	}
	*out = bd;
	return 0;
fail:
	if (info)
		p4__config__v1__p4_info__free_unpacked(info, NULL);
	ipdk_p4rt_bundle_free(bd);
	return err->code ? err->code : -EINVAL;
}

const char *ipdk_p4rt_bundle_spec(const struct ipdk_p4rt_bundle *bd)
{
	return bd->b.spec;
}

const char *ipdk_p4rt_bundle_name(const struct ipdk_p4rt_bundle *bd)
{
	return bd->b.name;
}

int ipdk_p4rt_bundle_install(struct ipdk_p4rt_bundle *bd, struct tdi_dev *tdi,
			     struct ipdk_err *err)
{
	struct p4_model *m;
	int rc = p4_pipeline_model(bd->b.p4info, &bd->b, tdi, true, &m, err);

	if (rc)
		return ipdk_err_prefix(err, "%s", bd->b.name);
	p4_model_free(bd->model);
	bd->model = m;
	bd->model_tdi = tdi;
	return 0;
}

int p4_bundle_take(struct ipdk_p4rt_bundle *bd, struct tdi_dev *tdi, struct p4_model **m,
		   uint8_t **devcfg, size_t *len, struct ipdk_err *err)
{
	int rc = 0;

	if (bd->model && bd->model_tdi == tdi) {
		*m = bd->model;
		bd->model = NULL;
	} else {
		/* not installed through this bundle: a model only */
		rc = p4_pipeline_model(bd->b.p4info, &bd->b, tdi, false, m, err);
		if (rc)
			return rc;
	}
	if (bd->b.bare)
		rc = p4_bundle_device_config(bd->b.name, bd->b.spec, devcfg, len);
	else if ((*devcfg = malloc(bd->devcfg_len + 1)))
		memcpy(*devcfg, bd->devcfg, *len = bd->devcfg_len);
	else
		rc = -ENOMEM;
	if (rc) {
		p4_model_free(*m);
		return ipdk_err_set(err, rc, "out of memory");
	}
	return 0;
}

void ipdk_p4rt_bundle_free(struct ipdk_p4rt_bundle *bd)
{
	if (!bd)
		return;
	p4_bundle_fini(&bd->b);
	p4_model_free(bd->model);
	free(bd->devcfg);
	free(bd);
}
