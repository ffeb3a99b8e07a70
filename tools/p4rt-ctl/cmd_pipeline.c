/*
 * p4rt-ctl's pipeline commands: set-pipe (a ForwardingPipelineConfig from a
 * bundle, or from a DPDK spec plus --context, with a P4Info file in text or
 * binary), get-pipe (the P4Info as text, the device config to a file) and
 * show (the server's capabilities and the pipeline's tables).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/bundle.pb-c.h"
#include "ipdk/pbtext.h"
#include "p4rt_ctl.h"

/* P4Info from a file: protobuf text format, or binary. */
static P4Info *load_p4info(const char *path, struct ipdk_err *err)
{
	size_t n = 0;
	char *buf = slurp(path, &n, err);
	P4Info *info;

	if (!buf)
		return NULL;
	info = (P4Info *)pbtext_load(&p4__config__v1__p4_info__descriptor, buf, n, path, err);
	free(buf);
	return info;
}

/* The ForwardingPipelineConfig set-pipe sends, from PROGRAM (and P4INFO). */
static int build_config(struct ctl *c, const char *program, const char *p4info_path,
			P4__V1__ForwardingPipelineConfig **out)
{
	P4__V1__ForwardingPipelineConfig *cfg = NULL, *bundle = NULL;
	size_t n = 0;
	char *buf = slurp(program, &n, &c->err);

	if (!buf)
		return -1;
	if (c->context_file) {
		/* a spec plus its context: wrap both in a BfPipelineConfig (docs/bundle.md) */
		Ipdk__Bundle__BfPipelineConfig bf = IPDK__BUNDLE__BF_PIPELINE_CONFIG__INIT;
		Ipdk__Bundle__BfPipelineConfig__Profile prof =
			IPDK__BUNDLE__BF_PIPELINE_CONFIG__PROFILE__INIT;
		Ipdk__Bundle__BfPipelineConfig__Profile *profs[1] = { &prof };
		size_t cn = 0;
		char *ctx = slurp(c->context_file, &cn, &c->err);
		const char *base = strrchr(program, '/');
		char name[256];

		if (!ctx) {
			free(buf);
			return -1;
		}
		snprintf(name, sizeof(name), "%s", base ? base + 1 : program);
		if (strchr(name, '.'))
			*strchr(name, '.') = 0;
		bf.p4_name = name;
		prof.profile_name = (char *)"pipe";
		prof.context.data = (uint8_t *)ctx;
		prof.context.len = cn;
		prof.binary.data = (uint8_t *)buf;
		prof.binary.len = n;
		bf.profiles = profs;
		bf.n_profiles = 1;
		cfg = msg_new(&p4__v1__forwarding_pipeline_config__descriptor);
		cfg->p4_device_config.len = ipdk__bundle__bf_pipeline_config__get_packed_size(&bf);
		cfg->p4_device_config.data = malloc(cfg->p4_device_config.len + 1);
		ipdk__bundle__bf_pipeline_config__pack(&bf, cfg->p4_device_config.data);
		free(ctx);
		free(buf);
	} else {
		/* a single-file bundle (ForwardingPipelineConfig around a BfPipelineConfig)? */
		if (!pbtext_is_text(buf, n))
			bundle = p4__v1__forwarding_pipeline_config__unpack(NULL, n, (uint8_t *)buf);
		if (bundle) {
			Ipdk__Bundle__BfPipelineConfig *bf = ipdk__bundle__bf_pipeline_config__unpack(
				NULL, bundle->p4_device_config.len, bundle->p4_device_config.data);

			if (!bf || !bf->n_profiles) {
				p4__v1__forwarding_pipeline_config__free_unpacked(bundle, NULL);
				bundle = NULL;
			}
			if (bf)
				ipdk__bundle__bf_pipeline_config__free_unpacked(bf, NULL);
		}
		if (bundle) {
			cfg = bundle;
			free(buf);
		} else {        /* .pb.bin (BfPipelineConfig) or spec text: sent as they are */
			cfg = msg_new(&p4__v1__forwarding_pipeline_config__descriptor);
			cfg->p4_device_config.data = (uint8_t *)buf;
			cfg->p4_device_config.len = n;
		}
	}
	if (p4info_path && strcmp(p4info_path, "-")) {
		P4Info *info = load_p4info(p4info_path, &c->err);

		if (!info) {
			p4__v1__forwarding_pipeline_config__free_unpacked(cfg, NULL);
			return -1;
		}
		if (cfg->p4info)
			p4__config__v1__p4_info__free_unpacked(cfg->p4info, NULL);
		cfg->p4info = info;
	}
	if (c->has_cookie) {
		if (!cfg->cookie)
			cfg->cookie = msg_new(&p4__v1__forwarding_pipeline_config__cookie__descriptor);
		cfg->cookie->cookie = c->cookie;
	}
	*out = cfg;
	return 0;
}

int cmd_set_pipe(struct ctl *c, int argc, char **argv)
{
	P4__V1__SetForwardingPipelineConfigRequest *req =
		msg_new(&p4__v1__set_forwarding_pipeline_config_request__descriptor);
	ProtobufCMessage *rep = NULL;
	struct ipdk_rpc_status st;
	int rc = 0;

	req->device_id = c->device_id;
	req->election_id = election(c);
	req->action = c->pipe_action;
	if (c->role)
		req->role = strdup(c->role);
	if (c->pipe_action != P4__V1__SET_FORWARDING_PIPELINE_CONFIG_REQUEST__ACTION__COMMIT) {
		if (argc < 2) {
			p4__v1__set_forwarding_pipeline_config_request__free_unpacked(req, NULL);
			ipdk_err_set(&c->err, -EINVAL, "PROGRAM is missing");
			return input_error(c);
		}
		if (build_config(c, argv[1], argc > 2 ? argv[2] : NULL, &req->config)) {
			p4__v1__set_forwarding_pipeline_config_request__free_unpacked(req, NULL);
			return input_error(c);
		}
	}
	rc = arbitrate(c);
	if (!rc) {
		if (ipdk_rpc_client_unary(c->conn, SVC "SetForwardingPipelineConfig", &req->base,
			       &p4__v1__set_forwarding_pipeline_config_response__descriptor, &rep, &st))
			rc = rpc_error(c, "SetForwardingPipelineConfig", &st);
		ipdk_rpc_status_fini(&st);
	}
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	p4__v1__set_forwarding_pipeline_config_request__free_unpacked(req, NULL);
	return rc;
}

int cmd_get_pipe(struct ctl *c, int argc, char **argv)
{
	P4__V1__ForwardingPipelineConfig *cfg;
	int rc = get_pipeline(c, argc > 1 ? P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__RESPONSE_TYPE__ALL
					  : P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__RESPONSE_TYPE__P4INFO_AND_COOKIE,
			      &cfg);

	if (rc)
		return rc;
	if (argc > 1) {
		FILE *f = fopen(argv[1], "wb");

		if (!f || fwrite(cfg->p4_device_config.data, 1, cfg->p4_device_config.len, f) !=
				  cfg->p4_device_config.len || fclose(f)) {
			fprintf(stderr, "p4rt-ctl: get-pipe: cannot write %s: %s\n", argv[1],
				strerror(errno));
			p4__v1__forwarding_pipeline_config__free_unpacked(cfg, NULL);
			return EX_USAGE;
		}
	}
	if (c->json) {
		json_t *o = json_object();

		json_object_set_new(o, "device_id", json_integer((json_int_t)c->device_id));
		json_object_set_new(o, "cookie", cfg->cookie ? json_integer((json_int_t)cfg->cookie->cookie)
							      : json_null());
		json_object_set_new(o, "has_p4info", json_boolean(cfg->p4info != NULL));
		json_emit(o);
	} else {
		printf("# P4Info of bridge %s (device_id %" PRIu64 ")", c->sw, c->device_id);
		if (cfg->cookie)
			printf(", cookie %" PRIu64, cfg->cookie->cookie);
		printf("\n");
		if (cfg->p4info)
			pbtext_write(&cfg->p4info->base, stdout);
		else
			printf("# no P4Info\n");
	}
	p4__v1__forwarding_pipeline_config__free_unpacked(cfg, NULL);
	return 0;
}

static void show_table(struct ctl *c, const P4Table *t, json_t *arr)
{
	const P4Info *info = c->info;
	json_t *o = NULL, *fields = NULL, *acts = NULL;
	const P4Action *dflt = t->const_default_action_id ?
		p4i_action_by_id(info, t->const_default_action_id) : NULL;

	if (arr) {
		o = json_object();
		fields = json_array();
		acts = json_array();
		json_object_set_new(o, "name", json_string(t->preamble->name));
		json_object_set_new(o, "id", json_integer(t->preamble->id));
		json_object_set_new(o, "size", json_integer(t->size));
	} else {
		printf("  %s (id 0x%08x, size %" PRId64 "%s)\n    match:", t->preamble->name,
		       t->preamble->id, t->size, t->is_const_table ? ", const" : "");
	}
	for (size_t i = 0; i < t->n_match_fields; i++) {
		const P4MatchField *f = t->match_fields[i];

		if (arr) {
			json_t *fj = json_object();

			json_object_set_new(fj, "name", json_string(f->name));
			json_object_set_new(fj, "id", json_integer(f->id));
			json_object_set_new(fj, "bitwidth", json_integer(f->bitwidth));
			json_object_set_new(fj, "match_type", json_string(p4i_match_name(p4i_match_type(f))));
			json_array_append_new(fields, fj);
		} else {
			printf(" %s(%s,%d)", f->name, p4i_match_name(p4i_match_type(f)), f->bitwidth);
		}
	}
	if (!arr)
		printf("\n    actions:");
	for (size_t i = 0; i < t->n_action_refs; i++) {
		const P4Action *a = p4i_action_by_id(info, t->action_refs[i]->id);
		char buf[512];
		size_t used = 0;

		buf[0] = 0;
		for (size_t k = 0; a && k < a->n_params && used + 1 < sizeof(buf); k++)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s:%d", k ? "," : "",
						 a->params[k]->name, a->params[k]->bitwidth);
		if (arr)
			json_array_append_new(acts, json_string(a ? a->preamble->name : "?"));
		else
			printf(" %s(%s)", a ? a->preamble->name : "?", buf);
	}
	if (arr) {
		json_object_set_new(o, "match_fields", fields);
		json_object_set_new(o, "actions", acts);
		if (dflt)
			json_object_set_new(o, "const_default_action", json_string(dflt->preamble->name));
		if (t->implementation_id)
			json_object_set_new(o, "implementation_id", json_integer(t->implementation_id));
		json_array_append_new(arr, o);
	} else {
		printf("\n");
		if (dflt)
			printf("    const default action: %s\n", dflt->preamble->name);
		if (t->implementation_id) {
			const P4__Config__V1__ActionProfile *p = p4i_profile_by_id(info, t->implementation_id);

			printf("    implementation: %s\n", p ? p->preamble->name : "?");
		}
	}
}

int cmd_show(struct ctl *c, int argc, char **argv)
{
	P4__V1__CapabilitiesRequest creq = P4__V1__CAPABILITIES_REQUEST__INIT;
	P4__V1__CapabilitiesResponse *cap = NULL;
	struct ipdk_rpc_status st;
	const P4Info *info;
	json_t *o = NULL, *tabs = NULL;
	int rc;

	(void)argc;
	(void)argv;
	rc = need_info(c);
	if (rc)
		return rc;
	info = c->info;
	ipdk_rpc_client_unary(c->conn, SVC "Capabilities", &creq.base, &p4__v1__capabilities_response__descriptor,
		   (ProtobufCMessage **)&cap, &st);
	ipdk_rpc_status_fini(&st);
	if (c->json) {
		o = json_object();
		tabs = json_array();
		json_object_set_new(o, "switch", json_string(c->sw));
		json_object_set_new(o, "device_id", json_integer((json_int_t)c->device_id));
		json_object_set_new(o, "p4runtime_api_version",
				    cap ? json_string(cap->p4runtime_api_version) : json_null());
		json_object_set_new(o, "n_tables", json_integer((json_int_t)info->n_tables));
	} else {
		printf("P4Runtime switch %s information:\n", c->sw);
		printf("device_id: %" PRIu64 "\n", c->device_id);
		printf("server: %s (P4Runtime %s)\n", c->co.address,
		       cap && cap->p4runtime_api_version ? cap->p4runtime_api_version : "?");
		if (info->pkg_info && info->pkg_info->name && *info->pkg_info->name)
			printf("program: %s\n", info->pkg_info->name);
		printf("n_tables: %zu\ntables:\n", info->n_tables);
	}
	for (size_t i = 0; i < info->n_tables; i++)
		show_table(c, info->tables[i], tabs);
	if (o) {
		json_t *list = json_array();

		json_object_set_new(o, "tables", tabs);
		for (size_t i = 0; i < info->n_action_profiles; i++)
			json_array_append_new(list, json_string(info->action_profiles[i]->preamble->name));
		json_object_set_new(o, "action_profiles", list);
		list = json_array();
		for (size_t i = 0; i < info->n_counters; i++)
			json_array_append_new(list, json_string(info->counters[i]->preamble->name));
		json_object_set_new(o, "counters", list);
		list = json_array();
		for (size_t i = 0; i < info->n_meters; i++)
			json_array_append_new(list, json_string(info->meters[i]->preamble->name));
		json_object_set_new(o, "meters", list);
		list = json_array();
		for (size_t i = 0; i < info->n_registers; i++)
			json_array_append_new(list, json_string(info->registers[i]->preamble->name));
		json_object_set_new(o, "registers", list);
		json_emit(o);
	} else {
		for (size_t i = 0; i < info->n_action_profiles; i++) {
			const P4__Config__V1__ActionProfile *p = info->action_profiles[i];

			printf("action profile %s (id 0x%08x, size %" PRId64 "%s)\n", p->preamble->name,
			       p->preamble->id, p->size, p->with_selector ? ", selector" : "");
		}
		for (size_t i = 0; i < info->n_counters; i++)
			printf("counter %s (id %u, size %" PRId64 ")\n", info->counters[i]->preamble->name,
			       info->counters[i]->preamble->id, info->counters[i]->size);
		for (size_t i = 0; i < info->n_direct_counters; i++)
			printf("direct counter %s (id %u)\n", info->direct_counters[i]->preamble->name,
			       info->direct_counters[i]->preamble->id);
		for (size_t i = 0; i < info->n_meters; i++)
			printf("meter %s (id %u, size %" PRId64 ")\n", info->meters[i]->preamble->name,
			       info->meters[i]->preamble->id, info->meters[i]->size);
		for (size_t i = 0; i < info->n_direct_meters; i++)
			printf("direct meter %s (id %u)\n", info->direct_meters[i]->preamble->name,
			       info->direct_meters[i]->preamble->id);
		for (size_t i = 0; i < info->n_registers; i++)
			printf("register %s (id %u, size %d)\n", info->registers[i]->preamble->name,
			       info->registers[i]->preamble->id, info->registers[i]->size);
		for (size_t i = 0; i < info->n_controller_packet_metadata; i++) {
			const P4__Config__V1__ControllerPacketMetadata *h =
				info->controller_packet_metadata[i];

			printf("controller header %s:", h->preamble->name);
			for (size_t k = 0; k < h->n_metadata; k++)
				printf(" %s(id %u, %d bits)", h->metadata[k]->name, h->metadata[k]->id,
				       h->metadata[k]->bitwidth);
			printf("\n");
		}
	}
	if (cap)
		p4__v1__capabilities_response__free_unpacked(cap, NULL);
	return 0;
}
