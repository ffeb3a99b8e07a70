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
 * This file holds the usage text, option parsing, the command table and
 * main. gRPC goes through lib/rpc's client module (ipdk/rpc_client.h); the
 * rest of the tool lives beside this file: call.c (connection, calls,
 * errors, output), cmd_*.c (the command groups), p4info.c (name lookups),
 * flow.c (FLOW syntax), value.c (values); protobuf text format is lib/pbtext's
 * (ipdk/pbtext.h).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_ctl.h"
#include "value.h"

#define DEFAULT_ADDR "localhost:9559"
#define DEFAULT_CERT_DIR "/etc/ipdk/certs"
#define DEFAULT_DEVICE_ID 1

volatile sig_atomic_t interrupted;

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
