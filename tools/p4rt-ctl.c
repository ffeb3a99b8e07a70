/*
 * p4rt-ctl: a P4Runtime client with IPDK's command syntax, written on the
 * gRPC core C API and protobuf-c (docs/p4rt-ctl.md). Each command connects,
 * fetches the P4Info (GetForwardingPipelineConfig) to turn the names a user
 * types into ids and widths, becomes primary through StreamChannel
 * arbitration when it writes, sends one request and prints the result as text
 * or, with --json, as JSON.
 *
 *   p4rt-ctl set-pipe br0 prog.pb.bin p4info.txt
 *   p4rt-ctl add-entry br0 ipv4_host "hdr.ipv4.dst_addr=10.0.0.1,action=send(1)"
 *   p4rt-ctl dump-entries br0 ipv4_host
 *
 * SWITCH is a bridge name: any name means the default device id (1, as in
 * IPDK), a number is taken as the device id, --device-id overrides both.
 * Exit status: 0 done, 1 the server refused (its status on stderr), 2 bad
 * usage or input found before sending, 3 the server could not be reached.
 * gRPC goes through lib/rpc's client module (ipdk/rpc_client.h); the helpers
 * live in tools/p4rt-ctl/: p4info.c (name lookups), flow.c (FLOW syntax),
 * value.c (values); protobuf text format is lib/pbtext's (ipdk/pbtext.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <jansson.h>

#include "p4rt-ctl/flow.h"
#include "p4rt-ctl/p4info.h"
#include "p4rt-ctl/value.h"
#include "ipdk/bundle.pb-c.h"
#include "ipdk/rpc_client.h"
#include "ipdk/value.h"
#include "ipdk/pbtext.h"
#include "p4/v1/p4runtime.pb-c.h"

#define EX_REFUSED 1
#define EX_USAGE 2
#define EX_UNREACHABLE 3

#define DEFAULT_ADDR "localhost:9559"
#define DEFAULT_CERT_DIR "/etc/ipdk/certs"
#define DEFAULT_DEVICE_ID 1
#define SVC "/p4.v1.P4Runtime/"

struct ctl {
	struct ipdk_rpc_client_config co;
	struct ipdk_rpc_client *conn;
	const char *cmd, *sw;
	uint64_t device_id;
	bool device_id_set;
	uint64_t elect_high, elect_low;
	const char *role;
	bool json;
	P4Info *info;
	struct ipdk_rpc_stream *stream; /* open while we are primary */
	/* set-pipe */
	const char *context_file;
	int pipe_action;
	bool has_cookie;
	uint64_t cookie;
	/* packet I/O */
	int count;
	bool timeout_set;
	struct ipdk_err err;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"p4rt-ctl: P4Runtime switch management utility\n"
"usage: p4rt-ctl [OPTIONS] COMMAND [ARG...]\n"
"\n"
"for P4Runtime switches:\n"
"  show SWITCH                             shows P4Runtime switch information\n"
"  set-pipe SWITCH PROGRAM [P4INFO]        sets P4 pipeline for switch\n"
"  get-pipe SWITCH [DEVICE_CONFIG_OUT]     prints P4Info (text format) of the pipeline\n"
"  add-entry SWITCH TABLE FLOW             adds new table entry\n"
"  modify-entry SWITCH TABLE FLOW          modifies a table entry\n"
"  del-entry SWITCH TABLE KEY              deletes table entry with KEY from TABLE\n"
"  dump-entries SWITCH [TABLE]             prints table entries\n"
"  set-default-entry SWITCH TABLE ACTION   sets default table entry for TABLE\n"
"  get-default-entry SWITCH TABLE          prints default table entry for TABLE\n"
"\n"
"  add-action-profile-member SWITCH PROFILE \"action=A(ARGS),member_id=N\"\n"
"  delete-action-profile-member SWITCH PROFILE \"member_id=N\"\n"
"  get-action-profile-member SWITCH PROFILE [\"member_id=N\"]\n"
"  add-action-profile-group SWITCH PROFILE \"group_id=N,reference_members=(M1,M2),max_size=N\"\n"
"  delete-action-profile-group SWITCH PROFILE \"group_id=N\"\n"
"  get-action-profile-group SWITCH PROFILE [\"group_id=N\"]\n"
"\n"
"  get-counter SWITCH COUNTER [\"counter_id=N,index=N|UNSET\"]   reads indirect counter cells\n"
"  reset-counter SWITCH COUNTER \"counter_id=N,index=N|UNSET\"   resets counter cells\n"
"  get-direct-counter SWITCH TABLE [KEY]   reads the direct counter of entries\n"
"  reset-direct-counter SWITCH TABLE KEY   resets the direct counter of an entry\n"
"\n"
"  add-meter-config SWITCH METER \"meter_id=N,meter_index=N,cir=R,cburst=B,pir=R,pburst=B\"\n"
"  get-packet-mod-meter SWITCH METER \"meter_id=N,meter_index=N\"\n"
"  reset-meter-config SWITCH METER \"meter_id=N,meter_index=N\"\n"
"  get-direct-pkt-mod-meter SWITCH TABLE KEY\n"
"\n"
"  packet-out SWITCH PAYLOAD [METADATA]    sends a PacketOut (PAYLOAD: hex or @FILE,\n"
"                                          METADATA: \"name=value,...\")\n"
"  packet-in SWITCH [COUNT]                prints COUNT (default 1) PacketIn messages\n"
"  start-pktio SWITCH [TAP]                bridges PacketIn/PacketOut to a TAP device\n"
"                                          (default pktioTap0) until interrupted\n"
"\n"
"FLOW: FIELD=VALUE,...[,priority=N],action=ACTION(ARG,...)  or member_id=N / group_id=N\n"
"VALUE: 10 | 0x0a | 10.0.0.1 | 02:00:00:00:00:01 | 2001:db8::1, and by match type\n"
"       lpm V/LEN, ternary V&&&MASK or V/MASK or V/LEN, range LOW..HIGH, * (any)\n"
"\n"
"Options:\n"
"  -g, --grpc-addr HOST:PORT   P4Runtime server (default %s; also --grpc_addr)\n"
"      --grpc-security MODE    mtls (default), tls or insecure\n"
"      --insecure              the same as --grpc-security insecure (plaintext)\n"
"      --cert-dir DIR          ca.crt, client.crt, client.key (default %s)\n"
"      --ca FILE, --cert FILE, --key FILE   override one of them\n"
"      --tls-name NAME         server name expected in its certificate\n"
"  -d, --device-id N           P4Runtime device id (default: from SWITCH, else %d)\n"
"  -e, --election-id [HIGH:]LOW  election id for writes (default 1:0)\n"
"  -r, --role NAME             P4Runtime role (default: the default role)\n"
"  -j, --json                  print results as JSON\n"
"  -t, --timeout SECONDS       per call (default 30); packet-in: how long to wait\n"
"  -n, --count N               packet-in: stop after N packets\n"
"      --context FILE          set-pipe: PROGRAM is a spec; bundle it with this context JSON\n"
"      --pipe-action ACTION    set-pipe: verify, verify-and-save, verify-and-commit\n"
"                              (default), commit, reconcile-and-commit\n"
"      --cookie N              set-pipe: the pipeline cookie\n"
"  -h, --help                  show this help\n"
"Exit status: 0 done, 1 refused by the server, 2 bad usage or input, 3 server unreachable.\n",
		DEFAULT_ADDR, DEFAULT_CERT_DIR, DEFAULT_DEVICE_ID);
}

/* ---- errors and calls ------------------------------------------------------------ */

static int input_error(struct ctl *c)
{
	fprintf(stderr, "p4rt-ctl: %s: %s\n", c->cmd, c->err.msg);
	return EX_USAGE;
}

/* Prints a failed call's status and the p4.v1.Error of each failed update. */
static int rpc_error(struct ctl *c, const char *rpc, const struct ipdk_rpc_status *st)
{
	size_t shown = 0;

	fprintf(stderr, "p4rt-ctl: %s: %s failed: %s: %s\n", c->cmd, rpc,
		ipdk_rpc_code_name(st->code), st->message ? st->message : "");
	for (size_t i = 0; i < st->n_details; i++) {
		P4__V1__Error *e = (P4__V1__Error *)ipdk_rpc_status_detail(st, i,
									  &p4__v1__error__descriptor);

		if (e && e->canonical_code && shown++ < 20)
			fprintf(stderr, "  update %zu: %s: %s\n", i,
				ipdk_rpc_code_name(e->canonical_code), e->message ? e->message : "");
		if (e)
			p4__v1__error__free_unpacked(e, NULL);
	}
	if (shown > 20)
		fprintf(stderr, "  ... %zu failed updates in all\n", shown);
	if (st->code == 14 || st->code == 4) {  /* UNAVAILABLE, DEADLINE_EXCEEDED */
		fprintf(stderr, "p4rt-ctl: is a P4Runtime server listening on %s with %s? "
			"(--grpc-addr, --grpc-security, --cert-dir)\n", c->co.address,
			c->co.security == IPDK_RPC_SEC_MTLS ? "mutual TLS" :
			c->co.security == IPDK_RPC_SEC_TLS ? "TLS" : "plaintext");
		return EX_UNREACHABLE;
	}
	return EX_REFUSED;
}

static int connect_once(struct ctl *c)
{
	if (c->conn)
		return 0;
	if (ipdk_rpc_client_create(&c->co, &c->conn, &c->err)) {
		fprintf(stderr, "p4rt-ctl: %s (use --cert-dir, or --grpc-security tls|insecure)\n",
			c->err.msg);
		return EX_USAGE;
	}
	return 0;
}

static int get_pipeline(struct ctl *c, int type, P4__V1__ForwardingPipelineConfig **out)
{
	P4__V1__GetForwardingPipelineConfigRequest req =
		P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__INIT;
	P4__V1__GetForwardingPipelineConfigResponse *rep = NULL;
	struct ipdk_rpc_status st;
	int rc = connect_once(c);

	if (rc)
		return rc;
	req.device_id = c->device_id;
	req.response_type = type;
	if (ipdk_rpc_client_unary(c->conn, SVC "GetForwardingPipelineConfig", &req.base,
		       &p4__v1__get_forwarding_pipeline_config_response__descriptor,
		       (ProtobufCMessage **)&rep, &st)) {
		rc = rpc_error(c, "GetForwardingPipelineConfig", &st);
		ipdk_rpc_status_fini(&st);
		return rc;
	}
	ipdk_rpc_status_fini(&st);
	*out = rep->config;
	rep->config = NULL;
	p4__v1__get_forwarding_pipeline_config_response__free_unpacked(rep, NULL);
	if (!*out)
		*out = msg_new(&p4__v1__forwarding_pipeline_config__descriptor);
	return 0;
}

/* The P4Info of the running pipeline, fetched once. */
static int need_info(struct ctl *c)
{
	P4__V1__ForwardingPipelineConfig *cfg;
	int rc;

	if (c->info)
		return 0;
	rc = get_pipeline(c, P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__RESPONSE_TYPE__P4INFO_AND_COOKIE,
			  &cfg);
	if (rc)
		return rc;
	c->info = cfg->p4info;
	cfg->p4info = NULL;
	p4__v1__forwarding_pipeline_config__free_unpacked(cfg, NULL);
	if (!c->info) {
		fprintf(stderr, "p4rt-ctl: %s: device %" PRIu64 " has no pipeline (no P4Info); "
			"use set-pipe first\n", c->cmd, c->device_id);
		return EX_REFUSED;
	}
	return 0;
}

static P4__V1__Uint128 *election(struct ctl *c)
{
	P4__V1__Uint128 *e = msg_new(&p4__v1__uint128__descriptor);

	e->high = c->elect_high;
	e->low = c->elect_low;
	return e;
}

/* Opens a StreamChannel and becomes primary for (device, role) with our election id. */
static int arbitrate(struct ctl *c)
{
	P4__V1__StreamMessageRequest req = P4__V1__STREAM_MESSAGE_REQUEST__INIT;
	P4__V1__MasterArbitrationUpdate arb = P4__V1__MASTER_ARBITRATION_UPDATE__INIT;
	P4__V1__Role role = P4__V1__ROLE__INIT;
	P4__V1__Uint128 eid = P4__V1__UINT128__INIT;
	double wait = c->co.timeout > 0 ? c->co.timeout : 30;
	int rc = connect_once(c);

	if (rc || c->stream)
		return rc;
	if (ipdk_rpc_client_stream_open(c->conn, SVC "StreamChannel",
					&p4__v1__stream_message_response__descriptor, 0,
					&c->stream, &c->err)) {
		fprintf(stderr, "p4rt-ctl: %s: %s\n", c->cmd, c->err.msg);
		return EX_REFUSED;
	}
	eid.high = c->elect_high;
	eid.low = c->elect_low;
	arb.device_id = c->device_id;
	arb.election_id = &eid;
	if (c->role) {
		role.name = (char *)c->role;
		arb.role = &role;
	}
	req.update_case = P4__V1__STREAM_MESSAGE_REQUEST__UPDATE_ARBITRATION;
	req.arbitration = &arb;
	ipdk_rpc_stream_send(c->stream, &req.base);
	for (;;) {
		P4__V1__StreamMessageResponse *m;
		int got = ipdk_rpc_stream_recv(c->stream, wait, (ProtobufCMessage **)&m);

		if (got == 0) {
			fprintf(stderr, "p4rt-ctl: %s: no arbitration answer within %.0f s\n", c->cmd, wait);
			return EX_UNREACHABLE;
		}
		if (got < 0)
			return rpc_error(c, "StreamChannel arbitration", ipdk_rpc_stream_status(c->stream));
		if (m->update_case == P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_ARBITRATION) {
			const P4__V1__MasterArbitrationUpdate *a = m->arbitration;
			int code = a->status ? a->status->code : 0;

			if (code) {
				fprintf(stderr, "p4rt-ctl: %s: not primary for device %" PRIu64 " role \"%s\": "
					"the primary's election id is %" PRIu64 ":%" PRIu64 ", ours %" PRIu64
					":%" PRIu64 " (use a higher --election-id)\n", c->cmd, c->device_id,
					c->role ? c->role : "", a->election_id ? a->election_id->high : 0,
					a->election_id ? a->election_id->low : 0, c->elect_high, c->elect_low);
				p4__v1__stream_message_response__free_unpacked(m, NULL);
				return EX_REFUSED;
			}
			p4__v1__stream_message_response__free_unpacked(m, NULL);
			return 0;
		}
		p4__v1__stream_message_response__free_unpacked(m, NULL);
	}
}

/* Sends updates (taking ownership) as one WriteRequest; prints per-update errors. */
static int write_updates(struct ctl *c, P4__V1__Update **ups, size_t n)
{
	P4__V1__WriteRequest *req = msg_new(&p4__v1__write_request__descriptor);
	ProtobufCMessage *rep = NULL;
	struct ipdk_rpc_status st;
	int rc;

	req->device_id = c->device_id;
	req->election_id = election(c);
	if (c->role)
		req->role = strdup(c->role);
	req->updates = ups;
	req->n_updates = n;
	rc = arbitrate(c);
	if (!rc) {
		if (ipdk_rpc_client_unary(c->conn, SVC "Write", &req->base, &p4__v1__write_response__descriptor,
			       &rep, &st))
			rc = rpc_error(c, "Write", &st);
		ipdk_rpc_status_fini(&st);
	}
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	p4__v1__write_request__free_unpacked(req, NULL);
	return rc;
}

static P4__V1__Update *update_of(int type, P4__V1__Entity *e)
{
	P4__V1__Update *u = msg_new(&p4__v1__update__descriptor);

	u->type = type;
	u->entity = e;
	return u;
}

static int write_one(struct ctl *c, int type, P4__V1__Entity *e)
{
	P4__V1__Update **ups = malloc(sizeof(*ups));

	if (!ups)
		return EX_REFUSED;
	ups[0] = update_of(type, e);
	return write_updates(c, ups, 1);
}

/* Sends e, which a command has just built, as one update of type; when
 * building it failed (rc) drops it and reports c->err as bad input instead. */
static int write_built(struct ctl *c, int type, P4__V1__Entity *e, int rc)
{
	if (rc) {
		p4__v1__entity__free_unpacked(e, NULL);
		return input_error(c);
	}
	return write_one(c, type, e);
}

static P4__V1__Entity *entity_new(void)
{
	return msg_new(&p4__v1__entity__descriptor);
}

struct read_cb {
	struct ctl *c;
	void (*fn)(struct ctl *c, const P4__V1__Entity *e, void *arg);
	void *arg;
};

static int read_each(const ProtobufCMessage *m, void *p)
{
	const P4__V1__ReadResponse *r = (const P4__V1__ReadResponse *)m;
	struct read_cb *x = p;

	for (size_t i = 0; i < r->n_entities; i++)
		x->fn(x->c, r->entities[i], x->arg);
	return 0;
}

/* Reads entities matching e (taking ownership); fn runs per entity. */
static int read_entities(struct ctl *c, P4__V1__Entity *e,
			 void (*fn)(struct ctl *c, const P4__V1__Entity *e, void *arg), void *arg)
{
	P4__V1__ReadRequest *req = msg_new(&p4__v1__read_request__descriptor);
	struct read_cb cb = { c, fn, arg };
	struct ipdk_rpc_status st;
	int rc = connect_once(c);

	req->device_id = c->device_id;
	if (c->role)
		req->role = strdup(c->role);
	req->entities = malloc(sizeof(*req->entities));
	req->entities[0] = e;
	req->n_entities = 1;
	if (!rc) {
		if (ipdk_rpc_client_each(c->conn, SVC "Read", &req->base,
					 &p4__v1__read_response__descriptor, read_each, &cb, &st))
			rc = rpc_error(c, "Read", &st);
		ipdk_rpc_status_fini(&st);
	}
	p4__v1__read_request__free_unpacked(req, NULL);
	return rc;
}

/* ---- output helpers ------------------------------------------------------------ */

static json_t *out_json;        /* --json: results collect here, printed at the end */

static void json_emit(json_t *o)
{
	if (!out_json)
		out_json = json_array();
	json_array_append_new(out_json, o);
}

static void json_flush(bool as_object)
{
	json_t *all = out_json ? out_json : json_array();
	json_t *o = as_object && json_array_size(all) == 1 ? json_array_get(all, 0) : all;

	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(all);
	out_json = NULL;
}

static json_t *counter_json(const P4__V1__CounterData *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "bytes", json_integer(d ? d->byte_count : 0));
	json_object_set_new(o, "packets", json_integer(d ? d->packet_count : 0));
	return o;
}

/* ---- commands: pipeline ----------------------------------------------------------- */

static char *slurp(const char *path, size_t *len, struct ipdk_err *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		ipdk_err_set(err, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n + 65536 + 1 > cap) {
			char *nb = realloc(buf, cap = (cap ? cap * 2 : 65536) + 65536 + 1);

			if (!nb) {
				free(buf);
				fclose(f);
				ipdk_err_set(err, -ENOMEM, "%s: out of memory", path);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, 65536, f);

		n += r;
		if (r < 65536)
			break;
	}
	if (ferror(f)) {
		ipdk_err_set(err, -EIO, "%s: read error", path);
		free(buf);
		buf = NULL;
	} else {
		buf[n] = 0;
		*len = n;
	}
	fclose(f);
	return buf;
}

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

static int cmd_set_pipe(struct ctl *c, int argc, char **argv)
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

static int cmd_get_pipe(struct ctl *c, int argc, char **argv)
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

static int cmd_show(struct ctl *c, int argc, char **argv)
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

/* ---- commands: table entries ----------------------------------------------------- */

static int table_arg(struct ctl *c, const char *name, const P4Table **t)
{
	int rc = need_info(c);

	if (rc)
		return rc;
	*t = p4i_table(c->info, name, &c->err);
	return *t ? 0 : input_error(c);
}

static int entry_write(struct ctl *c, int type, const char *table, const char *flow,
		       enum flow_mode mode)
{
	const P4Table *t;
	P4__V1__Entity *e;
	int rc = table_arg(c, table, &t);

	if (rc)
		return rc;
	e = entity_new();
	e->entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
	rc = flow_table_entry(c->info, t, flow, mode, &e->table_entry, &c->err);
	return write_built(c, type, e, rc);
}

static int cmd_add_entry(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return entry_write(c, P4__V1__UPDATE__TYPE__INSERT, argv[1], argv[2], FLOW_ENTRY);
}

static int cmd_modify_entry(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return entry_write(c, P4__V1__UPDATE__TYPE__MODIFY, argv[1], argv[2], FLOW_ENTRY);
}

static int cmd_del_entry(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return entry_write(c, P4__V1__UPDATE__TYPE__DELETE, argv[1], argv[2], FLOW_KEY);
}

static void print_entry(struct ctl *c, const P4__V1__Entity *e, void *arg)
{
	int *n = arg;

	if (e->entity_case != P4__V1__ENTITY__ENTITY_TABLE_ENTRY)
		return;
	(*n)++;
	if (c->json) {
		json_emit(flow_entry_json(c->info, e->table_entry));
		return;
	}
	printf("  ");
	flow_print_entry(stdout, c->info, e->table_entry);
	printf("\n");
}

static int cmd_dump_entries(struct ctl *c, int argc, char **argv)
{
	const P4Table *t = NULL;
	P4__V1__Entity *e;
	int rc, n = 0;

	rc = argc > 1 ? table_arg(c, argv[1], &t) : need_info(c);
	if (rc)
		return rc;
	e = entity_new();
	e->entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
	e->table_entry = msg_new(&p4__v1__table_entry__descriptor);
	e->table_entry->table_id = t ? t->preamble->id : 0;
	if (!c->json)
		printf("Table entries for bridge %s:\n", c->sw);
	rc = read_entities(c, e, print_entry, &n);
	return rc;
}

static int cmd_set_default(struct ctl *c, int argc, char **argv)
{
	const P4Table *t;
	P4__V1__Entity *e;
	P4__V1__TableEntry *te;
	int rc = table_arg(c, argv[1], &t);

	(void)argc;
	if (rc)
		return rc;
	e = entity_new();
	e->entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
	e->table_entry = te = msg_new(&p4__v1__table_entry__descriptor);
	te->table_id = t->preamble->id;
	te->is_default_action = 1;
	/* IPDK: "send(10)"; also accept "action=send(10)"; "default" restores the program's */
	if (strcmp(argv[2], "default")) {
		const char *a = !strncmp(argv[2], "action=", 7) ? argv[2] + 7 : argv[2];

		te->action = msg_new(&p4__v1__table_action__descriptor);
		te->action->type_case = P4__V1__TABLE_ACTION__TYPE_ACTION;
		if (flow_action(c->info, t, a, &te->action->action, &c->err)) {
			p4__v1__entity__free_unpacked(e, NULL);
			return input_error(c);
		}
	}
	return write_one(c, P4__V1__UPDATE__TYPE__MODIFY, e);
}

static int cmd_get_default(struct ctl *c, int argc, char **argv)
{
	const P4Table *t;
	P4__V1__Entity *e;
	int rc = table_arg(c, argv[1], &t), n = 0;

	(void)argc;
	if (rc)
		return rc;
	e = entity_new();
	e->entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
	e->table_entry = msg_new(&p4__v1__table_entry__descriptor);
	e->table_entry->table_id = t->preamble->id;
	e->table_entry->is_default_action = 1;
	if (!c->json)
		printf("Default table entry for bridge %s:\n", c->sw);
	rc = read_entities(c, e, print_entry, &n);
	if (!rc && !n && !c->json)
		printf("  No default entry set!\n");
	return rc;
}

/* ---- commands: action profiles ------------------------------------------------------ */

static int profile_arg(struct ctl *c, const char *name, const P4__Config__V1__ActionProfile **p)
{
	int rc = need_info(c);

	if (rc)
		return rc;
	*p = p4i_profile(c->info, name, &c->err);
	return *p ? 0 : input_error(c);
}

/* A KEY=N pair of kv (0 when absent); -1 with err set when malformed. */
static int kv_u32(struct ctl *c, const struct kvlist *kv, const char *key, uint32_t *out,
		  bool required)
{
	*out = 0;
	for (size_t i = 0; i < kv->n; i++) {
		uint64_t v;

		if (strcmp(kv->v[i].key, key))
			continue;
		if (!kv->v[i].val || u64_parse(kv->v[i].val, key, &v, &c->err))
			return kv->v[i].val ? -1 : ipdk_err_set(&c->err, -EINVAL, "%s needs a value", key);
		if (v > UINT32_MAX)
			return ipdk_err_set(&c->err, -ERANGE, "%s=%s is out of range", key, kv->v[i].val);
		*out = (uint32_t)v;
		return 0;
	}
	if (required)
		return ipdk_err_set(&c->err, -EINVAL, "%s=N is missing", key);
	return 0;
}

static const char *kv_get(const struct kvlist *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++)
		if (!strcmp(kv->v[i].key, key))
			return kv->v[i].val ? kv->v[i].val : "";
	return NULL;
}

/* Rejects keys other than the allowed ones (NULL-terminated). */
static int kv_only(struct ctl *c, const struct kvlist *kv, const char *const *allowed)
{
	for (size_t i = 0; i < kv->n; i++) {
		bool ok = false;

		for (const char *const *a = allowed; *a; a++)
			ok |= !strcmp(kv->v[i].key, *a);
		if (!ok)
			return ipdk_err_set(&c->err, -EINVAL, "unexpected \"%s\" (expected %s%s%s%s%s)",
					    kv->v[i].key, allowed[0], allowed[1] ? ", " : "",
					    allowed[1] ? allowed[1] : "", allowed[1] && allowed[2] ? ", " : "",
					    allowed[1] && allowed[2] ? allowed[2] : "");
	}
	return 0;
}

/* An action profile member (or group) entity of profile p with the given id. */
static P4__V1__Entity *profile_entity(const P4__Config__V1__ActionProfile *p, bool group,
				      uint32_t id)
{
	P4__V1__Entity *e = entity_new();

	if (group) {
		e->entity_case = P4__V1__ENTITY__ENTITY_ACTION_PROFILE_GROUP;
		e->action_profile_group = msg_new(&p4__v1__action_profile_group__descriptor);
		e->action_profile_group->action_profile_id = p->preamble->id;
		e->action_profile_group->group_id = id;
	} else {
		e->entity_case = P4__V1__ENTITY__ENTITY_ACTION_PROFILE_MEMBER;
		e->action_profile_member = msg_new(&p4__v1__action_profile_member__descriptor);
		e->action_profile_member->action_profile_id = p->preamble->id;
		e->action_profile_member->member_id = id;
	}
	return e;
}

static int member_cmd(struct ctl *c, int type, char **argv)
{
	static const char *const keys[] = { "action", "member_id", NULL };
	const P4__Config__V1__ActionProfile *p;
	P4__V1__ActionProfileMember *m;
	P4__V1__Entity *e;
	struct kvlist kv;
	const char *act;
	int rc = profile_arg(c, argv[1], &p);

	if (rc)
		return rc;
	if (kv_split(argv[2], &kv, &c->err))
		return input_error(c);
	e = profile_entity(p, false, 0);
	m = e->action_profile_member;
	rc = kv_only(c, &kv, keys);
	if (!rc)
		rc = kv_u32(c, &kv, "member_id", &m->member_id, true);
	act = kv_get(&kv, "action");
	if (!rc && type == P4__V1__UPDATE__TYPE__INSERT) {
		if (!act)
			rc = ipdk_err_set(&c->err, -EINVAL, "action=NAME(ARGS) is missing");
		else
			rc = flow_action(c->info, NULL, act, &m->action, &c->err);
	}
	kv_free(&kv);
	return write_built(c, type, e, rc);
}

static int cmd_add_member(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return member_cmd(c, P4__V1__UPDATE__TYPE__INSERT, argv);
}

static int cmd_del_member(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return member_cmd(c, P4__V1__UPDATE__TYPE__DELETE, argv);
}

static void print_member(struct ctl *c, const P4__V1__Entity *e, void *arg)
{
	const P4__V1__ActionProfileMember *m = e->action_profile_member;
	const P4__Config__V1__ActionProfile *p;
	int *n = arg;

	if (e->entity_case != P4__V1__ENTITY__ENTITY_ACTION_PROFILE_MEMBER)
		return;
	(*n)++;
	p = p4i_profile_by_id(c->info, m->action_profile_id);
	if (c->json) {
		json_t *o = json_object();

		json_object_set_new(o, "action_profile", p ? json_string(p->preamble->name) : json_null());
		json_object_set_new(o, "member_id", json_integer(m->member_id));
		if (m->action)
			json_object_set_new(o, "action", flow_action_json(c->info, m->action));
		json_emit(o);
		return;
	}
	printf("  action_profiles=%s member_id=%u actions=", p ? p->preamble->name : "?", m->member_id);
	if (m->action)
		flow_print_action(stdout, c->info, m->action);
	printf("\n");
}

/* "(1,2,3)" or "1,2" with optional weights "1:5" into group members. */
static int group_members(struct ctl *c, const char *text, P4__V1__ActionProfileGroup *g)
{
	char buf[4096], *p, *save = NULL, *tok;

	if (strlen(text) >= sizeof(buf))
		return ipdk_err_set(&c->err, -EINVAL, "reference_members: too long");
	snprintf(buf, sizeof(buf), "%s", text);
	p = buf;
	if (*p == '(') {
		size_t l = strlen(p);

		if (p[l - 1] != ')')
			return ipdk_err_set(&c->err, -EINVAL, "reference_members=%s: expected (M1,M2,...)",
					    text);
		p[l - 1] = 0;
		p++;
	}
	for (tok = strtok_r(p, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *colon = strchr(tok, ':');
		P4__V1__ActionProfileGroup__Member *m;
		uint64_t id, w = 1;

		if (colon)
			*colon++ = 0;
		if (u64_parse(tok, "member id", &id, &c->err) ||
		    (colon && u64_parse(colon, "member weight", &w, &c->err)))
			return -1;
		if (!id || id > UINT32_MAX || !w || w > INT32_MAX)
			return ipdk_err_set(&c->err, -ERANGE, "reference_members: %s out of range", tok);
		m = msg_new(&p4__v1__action_profile_group__member__descriptor);
		m->member_id = (uint32_t)id;
		m->weight = (int32_t)w;
		g->members = realloc(g->members, (g->n_members + 1) * sizeof(*g->members));
		g->members[g->n_members++] = m;
	}
	return 0;
}

static int group_cmd(struct ctl *c, int type, char **argv)
{
	static const char *const keys[] = { "group_id", "reference_members", "max_size", NULL };
	const P4__Config__V1__ActionProfile *p;
	P4__V1__ActionProfileGroup *g;
	P4__V1__Entity *e;
	struct kvlist kv;
	const char *mem;
	uint32_t max = 0;
	int rc = profile_arg(c, argv[1], &p);

	if (rc)
		return rc;
	if (kv_split(argv[2], &kv, &c->err))
		return input_error(c);
	e = profile_entity(p, true, 0);
	g = e->action_profile_group;
	rc = kv_only(c, &kv, keys);
	if (!rc)
		rc = kv_u32(c, &kv, "group_id", &g->group_id, true);
	if (!rc && type != P4__V1__UPDATE__TYPE__DELETE) {
		mem = kv_get(&kv, "reference_members");
		rc = kv_u32(c, &kv, "max_size", &max, false);
		if (!rc && max > INT32_MAX)
			rc = ipdk_err_set(&c->err, -ERANGE, "max_size out of range");
		g->max_size = (int32_t)max;
		if (!rc && mem)
			rc = group_members(c, mem, g);
	}
	kv_free(&kv);
	return write_built(c, type, e, rc);
}

static int cmd_add_group(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return group_cmd(c, P4__V1__UPDATE__TYPE__INSERT, argv);
}

static int cmd_modify_group(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return group_cmd(c, P4__V1__UPDATE__TYPE__MODIFY, argv);
}

static int cmd_del_group(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return group_cmd(c, P4__V1__UPDATE__TYPE__DELETE, argv);
}

static void print_group(struct ctl *c, const P4__V1__Entity *e, void *arg)
{
	const P4__V1__ActionProfileGroup *g = e->action_profile_group;
	const P4__Config__V1__ActionProfile *p;
	int *n = arg;

	if (e->entity_case != P4__V1__ENTITY__ENTITY_ACTION_PROFILE_GROUP)
		return;
	(*n)++;
	p = p4i_profile_by_id(c->info, g->action_profile_id);
	if (c->json) {
		json_t *o = json_object(), *mem = json_array();

		json_object_set_new(o, "action_profile", p ? json_string(p->preamble->name) : json_null());
		json_object_set_new(o, "group_id", json_integer(g->group_id));
		for (size_t i = 0; i < g->n_members; i++) {
			json_t *m = json_object();

			json_object_set_new(m, "member_id", json_integer(g->members[i]->member_id));
			json_object_set_new(m, "weight", json_integer(g->members[i]->weight));
			json_array_append_new(mem, m);
		}
		json_object_set_new(o, "members", mem);
		json_object_set_new(o, "max_size", json_integer(g->max_size));
		json_emit(o);
		return;
	}
	printf("  action_profiles=%s group_id=%u reference_members=(", p ? p->preamble->name : "?",
	       g->group_id);
	for (size_t i = 0; i < g->n_members; i++) {
		printf("%s%u", i ? "," : "", g->members[i]->member_id);
		if (g->members[i]->weight > 1)
			printf(":%d", g->members[i]->weight);
	}
	printf(") max_size=%d\n", g->max_size);
}

/* get-action-profile-member / -group: one by id, or all of the profile. */
static int profile_read(struct ctl *c, int argc, char **argv, bool group)
{
	const char *key = group ? "group_id" : "member_id";
	const char *const keys[] = { key, NULL };
	const P4__Config__V1__ActionProfile *p;
	P4__V1__Entity *e;
	struct kvlist kv = { 0 };
	uint32_t id = 0;
	int rc = profile_arg(c, argv[1], &p), n = 0;

	if (rc)
		return rc;
	if (argc > 2 && (kv_split(argv[2], &kv, &c->err) || kv_only(c, &kv, keys) ||
			 kv_u32(c, &kv, key, &id, false))) {
		kv_free(&kv);
		return input_error(c);
	}
	kv_free(&kv);
	e = profile_entity(p, group, id);
	if (!c->json)
		printf("Action profile %s of bridge %s:\n", group ? "groups" : "members", c->sw);
	return read_entities(c, e, group ? print_group : print_member, &n);
}

static int cmd_get_member(struct ctl *c, int argc, char **argv)
{
	return profile_read(c, argc, argv, false);
}

static int cmd_get_group(struct ctl *c, int argc, char **argv)
{
	return profile_read(c, argc, argv, true);
}

/* ---- commands: counters and meters ------------------------------------------------- */

/* "counter_id=N,index=N|UNSET" (IPDK) for an object of the given id: *index -1 = all. */
static int cell_flow(struct ctl *c, const char *flow, const char *id_key, const char *idx_key,
		     uint32_t want_id, const char *name, int64_t size, int64_t *index)
{
	struct kvlist kv;
	const char *is;
	uint32_t id = 0;
	int rc = 0;

	*index = -1;
	if (!flow)
		return 0;
	if (kv_split(flow, &kv, &c->err))
		return -1;
	for (size_t i = 0; !rc && i < kv.n; i++) {
		const char *k = kv.v[i].key;

		if (strcmp(k, id_key) && strcmp(k, idx_key) && strcmp(k, "index") &&
		    strcmp(k, "meter_config") && strcmp(k, "cir") && strcmp(k, "cburst") &&
		    strcmp(k, "pir") && strcmp(k, "pburst"))
			rc = ipdk_err_set(&c->err, -EINVAL, "unexpected \"%s\" (expected %s=N,%s=N)", k,
					  id_key, idx_key);
	}
	if (!rc)
		rc = kv_u32(c, &kv, id_key, &id, false);
	if (!rc && id && id != want_id)
		rc = ipdk_err_set(&c->err, -EINVAL, "%s=%u is not the id of %s (%u)", id_key, id, name,
				  want_id);
	is = kv_get(&kv, idx_key);
	if (!is)
		is = kv_get(&kv, "index");
	if (!rc && is && strcmp(is, "UNSET")) {
		uint64_t v;

		rc = u64_parse(is, idx_key, &v, &c->err);
		if (!rc && (int64_t)v >= size)
			rc = ipdk_err_set(&c->err, -ERANGE, "%s=%s: %s has %" PRId64 " cells (0 to %" PRId64 ")",
					  idx_key, is, name, size, size - 1);
		if (!rc)
			*index = (int64_t)v;
	}
	kv_free(&kv);
	return rc;
}

static void print_counter(struct ctl *c, const P4__V1__Entity *e, void *arg)
{
	const P4__V1__CounterEntry *ce = e->counter_entry;
	int *n = arg;

	if (e->entity_case != P4__V1__ENTITY__ENTITY_COUNTER_ENTRY)
		return;
	(*n)++;
	if (c->json) {
		const P4__Config__V1__Counter *k = p4i_counter_by_id(c->info, ce->counter_id);
		json_t *o = json_object();

		json_object_set_new(o, "counter", k ? json_string(k->preamble->name) : json_null());
		json_object_set_new(o, "counter_id", json_integer(ce->counter_id));
		json_object_set_new(o, "index", json_integer(ce->index ? ce->index->index : 0));
		json_object_set_new(o, "data", counter_json(ce->data));
		json_emit(o);
		return;
	}
	printf("counter_id=%u, index=%" PRId64 ", counter_data=(bytes=%" PRId64 ",packets=%" PRId64 ")\n",
	       ce->counter_id, ce->index ? ce->index->index : 0, ce->data ? ce->data->byte_count : 0,
	       ce->data ? ce->data->packet_count : 0);
}

static int counter_arg(struct ctl *c, const char *name, const char *flow,
		       const P4__Config__V1__Counter **k, int64_t *index)
{
	int rc = need_info(c);

	if (rc)
		return rc;
	*k = p4i_counter(c->info, name, &c->err);
	if (!*k || cell_flow(c, flow, "counter_id", "index", (*k)->preamble->id,
			     (*k)->preamble->name, (*k)->size, index))
		return input_error(c);
	return 0;
}

static P4__V1__Entity *counter_entity(uint32_t id, int64_t index)
{
	P4__V1__Entity *e = entity_new();

	e->entity_case = P4__V1__ENTITY__ENTITY_COUNTER_ENTRY;
	e->counter_entry = msg_new(&p4__v1__counter_entry__descriptor);
	e->counter_entry->counter_id = id;
	if (index >= 0) {
		e->counter_entry->index = msg_new(&p4__v1__index__descriptor);
		e->counter_entry->index->index = index;
	}
	return e;
}

static int cmd_get_counter(struct ctl *c, int argc, char **argv)
{
	const P4__Config__V1__Counter *k;
	int64_t index;
	int rc = counter_arg(c, argv[1], argc > 2 ? argv[2] : NULL, &k, &index), n = 0;

	if (rc)
		return rc;
	return read_entities(c, counter_entity(k->preamble->id, index), print_counter, &n);
}

static int cmd_reset_counter(struct ctl *c, int argc, char **argv)
{
	const P4__Config__V1__Counter *k;
	P4__V1__Update **ups;
	int64_t index, first, n;
	int rc = counter_arg(c, argv[1], argc > 2 ? argv[2] : NULL, &k, &index);

	if (rc)
		return rc;
	first = index < 0 ? 0 : index;
	n = index < 0 ? k->size : 1;
	ups = calloc((size_t)(n ? n : 1), sizeof(*ups));
	for (int64_t i = 0; i < n; i++) {
		P4__V1__Entity *e = counter_entity(k->preamble->id, first + i);

		e->counter_entry->data = msg_new(&p4__v1__counter_data__descriptor);
		ups[i] = update_of(P4__V1__UPDATE__TYPE__MODIFY, e);
	}
	return write_updates(c, ups, (size_t)n);
}

static void print_direct_counter(struct ctl *c, const P4__V1__Entity *e, void *arg)
{
	const P4__V1__DirectCounterEntry *d = e->direct_counter_entry;
	int *n = arg;

	if (e->entity_case != P4__V1__ENTITY__ENTITY_DIRECT_COUNTER_ENTRY)
		return;
	(*n)++;
	if (c->json) {
		json_t *o = json_object();

		if (d->table_entry)
			json_object_set_new(o, "entry", flow_entry_json(c->info, d->table_entry));
		json_object_set_new(o, "data", counter_json(d->data));
		json_emit(o);
		return;
	}
	printf("table_id=%u, counter_data=(bytes=%" PRId64 ",packets=%" PRId64 ")",
	       d->table_entry ? d->table_entry->table_id : 0, d->data ? d->data->byte_count : 0,
	       d->data ? d->data->packet_count : 0);
	if (d->table_entry) {
		printf(" ");
		flow_print_entry(stdout, c->info, d->table_entry);
	}
	printf("\n");
}

/* A TableEntry key for the direct resources: "" or NULL means every entry. */
static int direct_key(struct ctl *c, const char *table, const char *key, P4__V1__TableEntry **te)
{
	const P4Table *t;
	int rc = table_arg(c, table, &t);

	if (rc)
		return rc;
	if (!key || !*key) {
		*te = msg_new(&p4__v1__table_entry__descriptor);
		(*te)->table_id = t->preamble->id;
		return 0;
	}
	if (flow_table_entry(c->info, t, key, FLOW_KEY, te, &c->err))
		return input_error(c);
	return 0;
}

static int cmd_get_direct_counter(struct ctl *c, int argc, char **argv)
{
	P4__V1__Entity *e;
	P4__V1__TableEntry *te;
	int rc = direct_key(c, argv[1], argc > 2 ? argv[2] : NULL, &te), n = 0;

	if (rc)
		return rc;
	e = entity_new();
	e->entity_case = P4__V1__ENTITY__ENTITY_DIRECT_COUNTER_ENTRY;
	e->direct_counter_entry = msg_new(&p4__v1__direct_counter_entry__descriptor);
	e->direct_counter_entry->table_entry = te;
	return read_entities(c, e, print_direct_counter, &n);
}

static int cmd_reset_direct_counter(struct ctl *c, int argc, char **argv)
{
	P4__V1__Entity *e;
	P4__V1__TableEntry *te;
	int rc = direct_key(c, argv[1], argc > 2 ? argv[2] : NULL, &te);

	if (rc)
		return rc;
	e = entity_new();
	e->entity_case = P4__V1__ENTITY__ENTITY_DIRECT_COUNTER_ENTRY;
	e->direct_counter_entry = msg_new(&p4__v1__direct_counter_entry__descriptor);
	e->direct_counter_entry->table_entry = te;
	e->direct_counter_entry->data = msg_new(&p4__v1__counter_data__descriptor);
	return write_one(c, P4__V1__UPDATE__TYPE__MODIFY, e);
}

static int meter_arg(struct ctl *c, const char *name, const char *flow,
		     const P4__Config__V1__Meter **m, int64_t *index)
{
	int rc = need_info(c);

	if (rc)
		return rc;
	*m = p4i_meter(c->info, name, &c->err);
	if (!*m || cell_flow(c, flow, "meter_id", "meter_index", (*m)->preamble->id,
			     (*m)->preamble->name, (*m)->size, index))
		return input_error(c);
	return 0;
}

static P4__V1__Entity *meter_entity(uint32_t id, int64_t index)
{
	P4__V1__Entity *e = entity_new();

	e->entity_case = P4__V1__ENTITY__ENTITY_METER_ENTRY;
	e->meter_entry = msg_new(&p4__v1__meter_entry__descriptor);
	e->meter_entry->meter_id = id;
	if (index >= 0) {
		e->meter_entry->index = msg_new(&p4__v1__index__descriptor);
		e->meter_entry->index->index = index;
	}
	return e;
}

/* cir, cburst, pir, pburst from a FLOW (IPDK's ES2K policer_* keys are refused plainly). */
static int meter_config(struct ctl *c, const char *flow, P4__V1__MeterConfig **out)
{
	static const char *const names[] = { "cir", "cburst", "pir", "pburst" };
	P4__V1__MeterConfig *mc = msg_new(&p4__v1__meter_config__descriptor);
	int64_t *dst[] = { &mc->cir, &mc->cburst, &mc->pir, &mc->pburst };
	struct kvlist kv;
	int rc = kv_split(flow, &kv, &c->err);

	for (size_t i = 0; !rc && i < kv.n; i++) {
		const char *k = kv.v[i].key, *v = kv.v[i].val;
		char inner[64];

		/* "meter_config=cir=1" splits as key meter_config, value "cir=1" */
		if (!strcmp(k, "meter_config") && v && strchr(v, '=')) {
			snprintf(inner, sizeof(inner), "%.*s", (int)(strchr(v, '=') - v), v);
			k = inner;
			v = strchr(v, '=') + 1;
		}
		if (!strncmp(k, "policer_", 8)) {
			rc = ipdk_err_set(&c->err, -ENOTSUP,
					  "%s: ES2K policer settings are not P4Runtime meter configs; "
					  "give cir, cburst, pir, pburst", k);
			break;
		}
		for (int f = 0; f < 4; f++) {
			uint64_t x;

			if (strcmp(k, names[f]))
				continue;
			rc = v ? u64_parse(v, k, &x, &c->err)
			       : ipdk_err_set(&c->err, -EINVAL, "%s needs a value", k);
			if (!rc && x > INT64_MAX)
				rc = ipdk_err_set(&c->err, -ERANGE, "%s=%s is out of range", k, v);
			if (!rc)
				*dst[f] = (int64_t)x;
		}
	}
	kv_free(&kv);
	if (!rc && !mc->cir && !mc->pir && !mc->cburst && !mc->pburst)
		rc = ipdk_err_set(&c->err, -EINVAL, "no meter config given (cir=R,cburst=B,pir=R,pburst=B)");
	if (rc) {
		p4__v1__meter_config__free_unpacked(mc, NULL);
		return -1;
	}
	*out = mc;
	return 0;
}

static int cmd_add_meter_config(struct ctl *c, int argc, char **argv)
{
	const P4__Config__V1__Meter *m;
	P4__V1__Entity *e;
	int64_t index;
	int rc = meter_arg(c, argv[1], argv[2], &m, &index);

	(void)argc;
	if (rc)
		return rc;
	if (index < 0) {
		ipdk_err_set(&c->err, -EINVAL, "meter_index=N is missing");
		return input_error(c);
	}
	e = meter_entity(m->preamble->id, index);
	if (meter_config(c, argv[2], &e->meter_entry->config)) {
		p4__v1__entity__free_unpacked(e, NULL);
		return input_error(c);
	}
	return write_one(c, P4__V1__UPDATE__TYPE__MODIFY, e);
}

static int cmd_reset_meter_config(struct ctl *c, int argc, char **argv)
{
	const P4__Config__V1__Meter *m;
	int64_t index;
	int rc = meter_arg(c, argv[1], argv[2], &m, &index);

	(void)argc;
	if (rc)
		return rc;
	if (index < 0) {
		ipdk_err_set(&c->err, -EINVAL, "meter_index=N is missing");
		return input_error(c);
	}
	return write_one(c, P4__V1__UPDATE__TYPE__MODIFY, meter_entity(m->preamble->id, index));
}

static json_t *meter_json(const P4__V1__MeterConfig *mc, const P4__V1__MeterCounterData *cd)
{
	json_t *o = json_object();

	if (mc) {
		json_t *cfg = json_object();

		json_object_set_new(cfg, "cir", json_integer(mc->cir));
		json_object_set_new(cfg, "cburst", json_integer(mc->cburst));
		json_object_set_new(cfg, "pir", json_integer(mc->pir));
		json_object_set_new(cfg, "pburst", json_integer(mc->pburst));
		json_object_set_new(o, "config", cfg);
	} else {
		json_object_set_new(o, "config", json_null());
	}
	if (cd) {
		json_object_set_new(o, "green", counter_json(cd->green));
		json_object_set_new(o, "yellow", counter_json(cd->yellow));
		json_object_set_new(o, "red", counter_json(cd->red));
	}
	return o;
}

static void meter_text(const P4__V1__MeterConfig *mc, const P4__V1__MeterCounterData *cd)
{
	if (mc)
		printf(", meter_config=(cir=%" PRId64 ",cburst=%" PRId64 ",pir=%" PRId64 ",pburst=%" PRId64 ")",
		       mc->cir, mc->cburst, mc->pir, mc->pburst);
	else
		printf(", meter_config=(default)");
	if (cd) {
		const P4__V1__CounterData *d[3] = { cd->green, cd->yellow, cd->red };
		const char *n[3] = { "green", "yellow", "red" };

		for (int i = 0; i < 3; i++)
			printf(", meter_counter_data_%s=(bytes=%" PRId64 ",packets=%" PRId64 ")", n[i],
			       d[i] ? d[i]->byte_count : 0, d[i] ? d[i]->packet_count : 0);
	}
}

static void print_meter(struct ctl *c, const P4__V1__Entity *e, void *arg)
{
	const P4__V1__MeterEntry *me = e->meter_entry;
	int *n = arg;

	if (e->entity_case != P4__V1__ENTITY__ENTITY_METER_ENTRY)
		return;
	(*n)++;
	if (c->json) {
		json_t *o = meter_json(me->config, me->counter_data);

		json_object_set_new(o, "meter_id", json_integer(me->meter_id));
		json_object_set_new(o, "index", json_integer(me->index ? me->index->index : 0));
		json_emit(o);
		return;
	}
	printf("meter_id=%u, index=%" PRId64, me->meter_id, me->index ? me->index->index : 0);
	meter_text(me->config, me->counter_data);
	printf("\n");
}

static int cmd_get_meter(struct ctl *c, int argc, char **argv)
{
	const P4__Config__V1__Meter *m;
	int64_t index;
	int rc = meter_arg(c, argv[1], argc > 2 ? argv[2] : NULL, &m, &index), n = 0;

	if (rc)
		return rc;
	return read_entities(c, meter_entity(m->preamble->id, index), print_meter, &n);
}

static void print_direct_meter(struct ctl *c, const P4__V1__Entity *e, void *arg)
{
	const P4__V1__DirectMeterEntry *d = e->direct_meter_entry;
	int *n = arg;

	if (e->entity_case != P4__V1__ENTITY__ENTITY_DIRECT_METER_ENTRY)
		return;
	(*n)++;
	if (c->json) {
		json_t *o = meter_json(d->config, d->counter_data);

		if (d->table_entry)
			json_object_set_new(o, "entry", flow_entry_json(c->info, d->table_entry));
		json_emit(o);
		return;
	}
	printf("table_id=%u", d->table_entry ? d->table_entry->table_id : 0);
	meter_text(d->config, d->counter_data);
	printf("\n");
}

static int cmd_get_direct_meter(struct ctl *c, int argc, char **argv)
{
	P4__V1__Entity *e;
	P4__V1__TableEntry *te;
	int rc = direct_key(c, argv[1], argc > 2 ? argv[2] : NULL, &te), n = 0;

	if (rc)
		return rc;
	e = entity_new();
	e->entity_case = P4__V1__ENTITY__ENTITY_DIRECT_METER_ENTRY;
	e->direct_meter_entry = msg_new(&p4__v1__direct_meter_entry__descriptor);
	e->direct_meter_entry->table_entry = te;
	return read_entities(c, e, print_direct_meter, &n);
}

/* ---- commands: packet I/O ------------------------------------------------------------ */

static int hex_payload(struct ctl *c, const char *s, ProtobufCBinaryData *out)
{
	size_t n = 0, len;

	if (s[0] == '@') {
		char *buf = slurp(s + 1, &len, &c->err);

		if (!buf)
			return -1;
		out->data = (uint8_t *)buf;
		out->len = len;
		return 0;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	out->data = malloc(strlen(s) / 2 + 1);
	while (*s) {
		int hi, lo;

		if (*s == ':' || *s == ' ') {
			s++;
			continue;
		}
		hi = ipdk_hexdigit(s[0]);
		lo = hi >= 0 ? ipdk_hexdigit(s[1]) : -1;
		if (hi < 0 || lo < 0)
			return ipdk_err_set(&c->err, -EINVAL, "PAYLOAD: expected hex bytes or @FILE");
		out->data[n++] = (uint8_t)(hi * 16 + lo);
		s += 2;
	}
	out->len = n;
	if (!n)
		return ipdk_err_set(&c->err, -EINVAL, "PAYLOAD is empty");
	return 0;
}

/* PacketOut metadata "name=value,..." by the P4Info's packet_out header. */
static int packet_meta(struct ctl *c, const char *text, P4__V1__PacketOut *po)
{
	const P4__Config__V1__ControllerPacketMetadata *h = p4i_ctrl_header(c->info, "packet_out");
	struct kvlist kv;
	int rc;

	if (!h)
		return ipdk_err_set(&c->err, -EINVAL,
				    "metadata given but the P4Info has no packet_out controller header");
	rc = kv_split(text, &kv, &c->err);
	for (size_t i = 0; !rc && i < kv.n; i++) {
		const P4__Config__V1__ControllerPacketMetadata__Metadata *md = NULL;
		P4__V1__PacketMetadata *pm;
		struct val v;

		for (size_t k = 0; k < h->n_metadata; k++)
			if (!strcmp(h->metadata[k]->name, kv.v[i].key))
				md = h->metadata[k];
		if (!md) {
			rc = ipdk_err_set(&c->err, -EINVAL, "packet_out has no metadata \"%s\"", kv.v[i].key);
			break;
		}
		rc = val_parse(kv.v[i].val ? kv.v[i].val : "", (uint32_t)md->bitwidth, md->name, &v,
			       &c->err);
		if (rc)
			break;
		pm = msg_new(&p4__v1__packet_metadata__descriptor);
		pm->metadata_id = md->id;
		val_to_bytes(&v, &pm->value);
		po->metadata = realloc(po->metadata, (po->n_metadata + 1) * sizeof(*po->metadata));
		po->metadata[po->n_metadata++] = pm;
	}
	kv_free(&kv);
	return rc;
}

static int send_packet_out(struct ctl *c, P4__V1__PacketOut *po)
{
	P4__V1__StreamMessageRequest req = P4__V1__STREAM_MESSAGE_REQUEST__INIT;

	req.update_case = P4__V1__STREAM_MESSAGE_REQUEST__UPDATE_PACKET;
	req.packet = po;
	if (ipdk_rpc_stream_send(c->stream, &req.base)) {
		fprintf(stderr, "p4rt-ctl: %s: the stream ended before the PacketOut was sent\n", c->cmd);
		return EX_REFUSED;
	}
	return 0;
}

static int cmd_packet_out(struct ctl *c, int argc, char **argv)
{
	P4__V1__PacketOut *po = msg_new(&p4__v1__packet_out__descriptor);
	P4__V1__StreamMessageResponse *m;
	int rc;

	rc = hex_payload(c, argv[1], &po->payload);
	if (!rc && argc > 2) {
		rc = need_info(c);
		if (rc) {
			p4__v1__packet_out__free_unpacked(po, NULL);
			return rc;
		}
		rc = packet_meta(c, argv[2], po);
	}
	if (rc) {
		p4__v1__packet_out__free_unpacked(po, NULL);
		return input_error(c);
	}
	rc = arbitrate(c);
	if (!rc)
		rc = send_packet_out(c, po);
	p4__v1__packet_out__free_unpacked(po, NULL);
	/* a refused PacketOut comes back as a StreamError; give it a moment to arrive */
	while (!rc && ipdk_rpc_stream_recv(c->stream, 0.3, (ProtobufCMessage **)&m) == 1) {
		if (m->update_case == P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_ERROR) {
			fprintf(stderr, "p4rt-ctl: packet-out: refused: %s: %s\n",
				ipdk_rpc_code_name(m->error->canonical_code), m->error->message);
			rc = EX_REFUSED;
		}
		p4__v1__stream_message_response__free_unpacked(m, NULL);
	}
	return rc;
}

static void print_packet_in(struct ctl *c, const P4__V1__PacketIn *p)
{
	const P4__Config__V1__ControllerPacketMetadata *h =
		c->info ? p4i_ctrl_header(c->info, "packet_in") : NULL;
	json_t *o = c->json ? json_object() : NULL, *md = c->json ? json_object() : NULL;
	char *hexs = malloc(p->payload.len * 2 + 8);

	for (size_t i = 0; i < p->payload.len; i++)
		sprintf(hexs + 2 * i, "%02x", p->payload.data[i]);
	hexs[2 * p->payload.len] = 0;
	if (!c->json)
		printf("packet-in len=%zu", p->payload.len);
	for (size_t i = 0; i < p->n_metadata; i++) {
		const char *name = NULL;
		char v[VAL_MAX_BYTES * 2 + 8], idn[32];

		for (size_t k = 0; h && k < h->n_metadata; k++)
			if (h->metadata[k]->id == p->metadata[i]->metadata_id)
				name = h->metadata[k]->name;
		snprintf(idn, sizeof(idn), "%u", p->metadata[i]->metadata_id);
		bytes_hex(&p->metadata[i]->value, v, sizeof(v));
		if (md)
			json_object_set_new(md, name ? name : idn, json_string(v));
		else
			printf(" %s=%s", name ? name : idn, v);
	}
	if (o) {
		json_object_set_new(o, "metadata", md);
		json_object_set_new(o, "payload", json_string(hexs));
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("\n");
		json_decref(o);
	} else {
		printf(" payload=%s\n", hexs);
	}
	fflush(stdout);
	free(hexs);
}

static int cmd_packet_in(struct ctl *c, int argc, char **argv)
{
	double wait = c->timeout_set ? c->co.timeout : -1;
	int want = c->count > 0 ? c->count : 1, got = 0, rc;

	if (argc > 1) {
		uint64_t n;

		if (u64_parse(argv[1], "COUNT", &n, &c->err) || !n || n > INT32_MAX)
			return input_error(c);
		want = (int)n;
	}
	rc = need_info(c);     /* names the packet_in metadata */
	if (!rc)
		rc = arbitrate(c);
	if (rc)
		return rc;
	fprintf(stderr, "p4rt-ctl: waiting for %d PacketIn on device %" PRIu64 "\n", want, c->device_id);
	while (got < want && !interrupted) {
		P4__V1__StreamMessageResponse *m;
		int r = ipdk_rpc_stream_recv(c->stream, 0.2, (ProtobufCMessage **)&m);

		if (r < 0)
			return rpc_error(c, "StreamChannel", ipdk_rpc_stream_status(c->stream));
		if (r == 0) {
			if (wait >= 0 && (wait -= 0.2) <= 0) {
				fprintf(stderr, "p4rt-ctl: packet-in: %d of %d packets before the timeout\n",
					got, want);
				return EX_REFUSED;
			}
			continue;
		}
		if (m->update_case == P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_PACKET) {
			print_packet_in(c, m->packet);
			got++;
		}
		p4__v1__stream_message_response__free_unpacked(m, NULL);
	}
	return got < want ? EX_REFUSED : 0;
}

static int tap_open(const char *name, struct ipdk_err *err)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);

	if (fd < 0)
		return ipdk_err_set(err, -errno, "/dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		return ipdk_err_set(err, -e, "TAP %s: %s", name, strerror(e));
	}
	return fd;
}

static int cmd_start_pktio(struct ctl *c, int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "pktioTap0";
	uint8_t buf[16384];
	int fd, rc;

	fd = tap_open(name, &c->err);
	if (fd < 0)
		return input_error(c);
	rc = arbitrate(c);
	if (rc) {
		close(fd);
		return rc;
	}
	fprintf(stderr, "p4rt-ctl: bridging PacketIn/PacketOut to TAP %s (Ctrl-C to stop)\n", name);
	while (!interrupted) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		P4__V1__StreamMessageResponse *m;
		int r;

		while (poll(&pfd, 1, 0) > 0) {
			ssize_t n = read(fd, buf, sizeof(buf));
			P4__V1__PacketOut po = P4__V1__PACKET_OUT__INIT;

			if (n <= 0)
				break;
			po.payload.data = buf;
			po.payload.len = (size_t)n;
			if (send_packet_out(c, &po)) {
				close(fd);
				return EX_REFUSED;
			}
		}
		r = ipdk_rpc_stream_recv(c->stream, 0.02, (ProtobufCMessage **)&m);
		if (r < 0) {
			close(fd);
			return rpc_error(c, "StreamChannel", ipdk_rpc_stream_status(c->stream));
		}
		if (r == 1) {
			if (m->update_case == P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_PACKET &&
			    write(fd, m->packet->payload.data, m->packet->payload.len) < 0)
				fprintf(stderr, "p4rt-ctl: TAP %s: %s\n", name, strerror(errno));
			p4__v1__stream_message_response__free_unpacked(m, NULL);
		}
	}
	close(fd);
	return 0;
}

/* ---- main -------------------------------------------------------------------------- */

enum out_kind { OUT_LIST, OUT_OBJECT, OUT_SELF };     /* SELF: fn prints, or nothing */

struct command {
	const char *name;
	int min, max;                   /* arguments after the command name, SWITCH included */
	const char *syntax;
	int (*fn)(struct ctl *c, int argc, char **argv);
	enum out_kind json;            /* --json: a list, one object, or printed by fn */
};

static const struct command commands[] = {
	{ "show", 1, 1, "SWITCH", cmd_show, OUT_OBJECT },
	{ "set-pipe", 1, 3, "SWITCH PROGRAM [P4INFO]", cmd_set_pipe, OUT_SELF },
	{ "get-pipe", 1, 2, "SWITCH [DEVICE_CONFIG_OUT]", cmd_get_pipe, OUT_OBJECT },
	{ "add-entry", 3, 3, "SWITCH TABLE FLOW", cmd_add_entry, OUT_SELF },
	{ "modify-entry", 3, 3, "SWITCH TABLE FLOW", cmd_modify_entry, OUT_SELF },
	{ "del-entry", 3, 3, "SWITCH TABLE KEY", cmd_del_entry, OUT_SELF },
	{ "dump-entries", 1, 2, "SWITCH [TABLE]", cmd_dump_entries, OUT_LIST },
	{ "set-default-entry", 3, 3, "SWITCH TABLE ACTION", cmd_set_default, OUT_SELF },
	{ "get-default-entry", 2, 2, "SWITCH TABLE", cmd_get_default, OUT_OBJECT },
	{ "add-action-profile-member", 3, 3, "SWITCH PROFILE \"action=A(ARGS),member_id=N\"",
	  cmd_add_member, OUT_SELF },
	{ "delete-action-profile-member", 3, 3, "SWITCH PROFILE \"member_id=N\"", cmd_del_member,
	  OUT_SELF },
	{ "get-action-profile-member", 2, 3, "SWITCH PROFILE [\"member_id=N\"]", cmd_get_member,
	  OUT_LIST },
	{ "add-action-profile-group", 3, 3,
	  "SWITCH PROFILE \"group_id=N,reference_members=(M1,M2),max_size=N\"", cmd_add_group,
	  OUT_SELF },
	{ "modify-action-profile-group", 3, 3,
	  "SWITCH PROFILE \"group_id=N,reference_members=(M1,M2),max_size=N\"", cmd_modify_group,
	  OUT_SELF },
	{ "delete-action-profile-group", 3, 3, "SWITCH PROFILE \"group_id=N\"", cmd_del_group,
	  OUT_SELF },
	{ "get-action-profile-group", 2, 3, "SWITCH PROFILE [\"group_id=N\"]", cmd_get_group,
	  OUT_LIST },
	{ "get-counter", 2, 3, "SWITCH COUNTER [\"counter_id=N,index=N|UNSET\"]", cmd_get_counter,
	  OUT_LIST },
	{ "reset-counter", 3, 3, "SWITCH COUNTER \"counter_id=N,index=N|UNSET\"", cmd_reset_counter,
	  OUT_SELF },
	{ "get-direct-counter", 2, 3, "SWITCH TABLE [KEY]", cmd_get_direct_counter, OUT_LIST },
	{ "reset-direct-counter", 3, 3, "SWITCH TABLE KEY", cmd_reset_direct_counter, OUT_SELF },
	{ "add-meter-config", 3, 3, "SWITCH METER \"meter_id=N,meter_index=N,cir=R,cburst=B,pir=R,pburst=B\"",
	  cmd_add_meter_config, OUT_SELF },
	{ "get-packet-mod-meter", 2, 3, "SWITCH METER [\"meter_id=N,meter_index=N\"]", cmd_get_meter,
	  OUT_LIST },
	{ "reset-meter-config", 3, 3, "SWITCH METER \"meter_id=N,meter_index=N\"",
	  cmd_reset_meter_config, OUT_SELF },
	{ "get-direct-pkt-mod-meter", 2, 3, "SWITCH TABLE [KEY]", cmd_get_direct_meter, OUT_LIST },
	{ "packet-out", 2, 3, "SWITCH PAYLOAD [METADATA]", cmd_packet_out, OUT_SELF },
	{ "packet-in", 1, 2, "SWITCH [COUNT]", cmd_packet_in, OUT_SELF },
	{ "start-pktio", 1, 2, "SWITCH [TAP]", cmd_start_pktio, OUT_SELF },
};

enum { OPT_SEC = 256, OPT_INSECURE, OPT_CERT_DIR, OPT_CA, OPT_CERT, OPT_KEY, OPT_TLS_NAME,
       OPT_CONTEXT, OPT_PIPE_ACTION, OPT_COOKIE };

static const struct option long_opts[] = {
	{ "grpc-addr", required_argument, NULL, 'g' },
	{ "grpc_addr", required_argument, NULL, 'g' },
	{ "grpc-security", required_argument, NULL, OPT_SEC },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "cert-dir", required_argument, NULL, OPT_CERT_DIR },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "tls-name", required_argument, NULL, OPT_TLS_NAME },
	{ "device-id", required_argument, NULL, 'd' },
	{ "election-id", required_argument, NULL, 'e' },
	{ "role", required_argument, NULL, 'r' },
	{ "json", no_argument, NULL, 'j' },
	{ "timeout", required_argument, NULL, 't' },
	{ "count", required_argument, NULL, 'n' },
	{ "context", required_argument, NULL, OPT_CONTEXT },
	{ "pipe-action", required_argument, NULL, OPT_PIPE_ACTION },
	{ "cookie", required_argument, NULL, OPT_COOKIE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int bad_option(const char *opt, const char *val, const char *expect)
{
	fprintf(stderr, "p4rt-ctl: %s %s: expected %s\n", opt, val, expect);
	return EX_USAGE;
}

static int parse_options(struct ctl *c, int argc, char **argv)
{
	static const char *const actions[] = { "verify", "verify-and-save", "verify-and-commit",
					       "commit", "reconcile-and-commit" };
	uint64_t v;
	int opt, sec;

	while ((opt = getopt_long(argc, argv, "g:d:e:r:jt:n:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'g':
			if (!strchr(optarg, ':'))
				return bad_option("--grpc-addr", optarg, "HOST:PORT");
			c->co.address = optarg;
			break;
		case OPT_SEC:
			sec = ipdk_rpc_security_parse(optarg);
			if (sec < 0)
				return bad_option("--grpc-security", optarg, "mtls, tls or insecure");
			c->co.security = (enum ipdk_rpc_security)sec;
			break;
		case OPT_INSECURE: c->co.security = IPDK_RPC_SEC_INSECURE; break;
		case OPT_CERT_DIR: c->co.cert_dir = optarg; break;
		case OPT_CA: c->co.ca_cert_file = optarg; break;
		case OPT_CERT: c->co.cert_file = optarg; break;
		case OPT_KEY: c->co.key_file = optarg; break;
		case OPT_TLS_NAME: c->co.tls_name = optarg; break;
		case 'd':
			if (u64_parse(optarg, "--device-id", &c->device_id, &c->err))
				return bad_option("--device-id", optarg, "a number");
			c->device_id_set = true;
			break;
		case 'e': {
			char *colon = strchr(optarg, ':');

			if (colon) {
				*colon = 0;
				if (u64_parse(optarg, "--election-id", &c->elect_high, &c->err) ||
				    u64_parse(colon + 1, "--election-id", &c->elect_low, &c->err))
					return bad_option("--election-id", optarg, "LOW or HIGH:LOW");
			} else {
				c->elect_high = 0;
				if (u64_parse(optarg, "--election-id", &c->elect_low, &c->err))
					return bad_option("--election-id", optarg, "LOW or HIGH:LOW");
			}
			if (!c->elect_high && !c->elect_low)
				return bad_option("--election-id", "0", "a non-zero id");
			break;
		}
		case 'r': c->role = optarg; break;
		case 'j': c->json = true; break;
		case 't': {
			char *end;

			c->co.timeout = strtod(optarg, &end);
			if (*end || c->co.timeout <= 0)
				return bad_option("--timeout", optarg, "a number of seconds");
			c->timeout_set = true;
			break;
		}
		case 'n':
			if (u64_parse(optarg, "--count", &v, &c->err) || !v || v > INT32_MAX)
				return bad_option("--count", optarg, "a positive number");
			c->count = (int)v;
			break;
		case OPT_CONTEXT: c->context_file = optarg; break;
		case OPT_PIPE_ACTION: {
			bool ok = false;

			for (int i = 0; i < 5; i++) {
				if (!strcmp(optarg, actions[i])) {
					c->pipe_action = i + 1;
					ok = true;
				}
			}
			if (!ok)
				return bad_option("--pipe-action", optarg,
						  "verify, verify-and-save, verify-and-commit, commit or reconcile-and-commit");
			break;
		}
		case OPT_COOKIE:
			if (u64_parse(optarg, "--cookie", &c->cookie, &c->err))
				return bad_option("--cookie", optarg, "a number");
			c->has_cookie = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl c = {
		.co = { .address = DEFAULT_ADDR, .security = IPDK_RPC_SEC_MTLS, .cert_dir = DEFAULT_CERT_DIR },
		.device_id = DEFAULT_DEVICE_ID, .elect_high = 1, .elect_low = 0,
		.pipe_action = P4__V1__SET_FORWARDING_PIPELINE_CONFIG_REQUEST__ACTION__VERIFY_AND_COMMIT,
	};
	const struct command *cmd = NULL;
	char **pos;
	int np, rc;

	/* GNU getopt moves options to the front, so they may follow the command too */
	rc = parse_options(&c, argc, argv);
	if (rc)
		return rc;
	if (optind >= argc) {
		fprintf(stderr, "p4rt-ctl: missing command name; use --help for help\n");
		return EX_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, argv[optind]))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "p4rt-ctl: unknown command \"%s\"; use --help for the list\n",
			argv[optind]);
		return EX_USAGE;
	}
	c.cmd = cmd->name;
	pos = argv + optind + 1;
	np = argc - optind - 1;
	if (np < cmd->min || np > cmd->max) {
		fprintf(stderr, "p4rt-ctl: usage: p4rt-ctl %s %s\n", cmd->name, cmd->syntax);
		return EX_USAGE;
	}
	c.sw = pos[0];
	if (!c.device_id_set) {
		struct ipdk_err e;
		uint64_t id;

		if (!u64_parse(c.sw, "SWITCH", &id, &e))
			c.device_id = id;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	rc = cmd->fn(&c, np, pos);
	if (c.json && !rc && cmd->json != OUT_SELF)
		json_flush(cmd->json == OUT_OBJECT);
	fflush(stdout);
	if (c.stream)
		ipdk_rpc_stream_close(c.stream, 2.0);
	if (c.info)
		p4__config__v1__p4_info__free_unpacked(c.info, NULL);
	ipdk_rpc_client_destroy(c.conn);
	return rc;
}
