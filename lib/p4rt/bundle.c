/*
 * Pipeline bundles as SetForwardingPipelineConfig carries them
 * (docs/bundle.md): p4_device_config holds a BfPipelineConfig (spec text and
 * context JSON in profiles[0], the *.pb.bin of IPDK's builder), a whole
 * ForwardingPipelineConfig (a single-file bundle, bringing its own P4Info),
 * or plain spec text. Also the reverse: a BfPipelineConfig around a bare spec
 * for GetForwardingPipelineConfig.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/bundle.pb-c.h"
#include "p4rt_int.h"

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
