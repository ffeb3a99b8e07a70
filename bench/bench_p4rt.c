/*
 * P4Runtime write and read rates of infrap4d, measured from a C client (lib/rpc's
 * client module on the gRPC core C API + protobuf-c, as p4rt-ctl) the way a
 * controller sees them. The bench starts its own infrap4d (plaintext
 * P4Runtime on a free local port, one RING port, no gNMI), becomes primary,
 * pushes a one-table pipeline (48-bit exact key, one 32-bit parameter) and
 * writes N exact entries with Writes of B updates each, for B = 10000, 100
 * and 1; the batch of 1 is the one-commit-per-entry path and the baseline of
 * the ratios. Each phase starts on an empty table (the pipeline is pushed
 * again) and stops at N entries or at its time budget, whichever comes first;
 * it prints the N it reached and its rate. The batched phases also print
 * their rate over the first N the one-commit phase reached (equal table
 * occupancy). With the table full after the first phase, a Read of the whole
 * table measures the dump rate and the time to its first response (the
 * snapshot is encoded with the dataplane locked before anything is sent, so
 * that is how long a dump holds up writers).
 *
 * Usage: bench_p4rt -d INFRAP4D [-n entries] [-T budget s per batched phase]
 *                   [-t budget s for batch 1]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipdk/rpc_client.h"
#include "p4/v1/p4runtime.pb-c.h"
#include "bench.h"
#include "p4/config/v1/p4info.pb-c.h"

static struct {
	const char *daemon;
	uint64_t n;
	double budget, budget_single;
} opt = { NULL, 1000000, 90.0, 20.0 };

#define DEVICE_ID 1
#define ELECTION 1

static const char spec_fmt[] =
	"struct ethernet_h {\n\tbit<48> dst_addr\n\tbit<48> src_addr\n\tbit<16> ether_type\n}\n"
	"header ethernet instanceof ethernet_h\n"
	"struct metadata_t {\n\tbit<32> port_in\n\tbit<32> port_out\n}\n"
	"metadata instanceof metadata_t\n"
	"struct fwd_args_t {\n\tbit<32> port\n}\n"
	"action fwd args instanceof fwd_args_t {\n\tmov m.port_out t.port\n\treturn\n}\n"
	"action drop args none {\n\tdrop\n}\n"
	"table bench {\n\tkey {\n\t\th.ethernet.dst_addr exact\n\t}\n"
	"\tactions {\n\t\tfwd\n\t\tdrop\n\t}\n\tdefault_action drop args none\n\tsize %" PRIu64 "\n}\n"
	"apply {\n\trx m.port_in\n\textract h.ethernet\n\ttable bench\n\temit h.ethernet\n"
	"\ttx m.port_out\n}\n";

struct bench {
	struct ipdk_rpc_client *c;
	struct ipdk_rpc_stream *s;
	pid_t pid;
	char dir[64];
	char spec[2048];
	uint32_t table_id, action_id, field_id, param_id;
};

struct phase {
	uint64_t n;
	double secs;
	uint64_t n_at;          /* entries written when the comparison point was passed */
	double secs_at;
};

/* ---- the daemon ---------------------------------------------------------- */

static int daemon_start(struct bench *b, int *port)
{
	char log[128], sock[128], line[512];
	double end;

	snprintf(b->dir, sizeof(b->dir), "/tmp/ipdk-bench-p4rt.XXXXXX");
	if (!mkdtemp(b->dir))
		return -errno;
	snprintf(log, sizeof(log), "%s/infrap4d.log", b->dir);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", b->dir);
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (!b->pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(opt.daemon, opt.daemon, "-S", sock, "--port", "name=r0,type=ring", "--memory", "2048",
		      "--grpc-security", "insecure", "--p4rt-listen", "127.0.0.1:0", "--no-gnmi",
		      (char *)NULL);
		_exit(127);
	}
	for (end = bench_now() + 20; bench_now() < end; usleep(50000)) {
		FILE *f = fopen(log, "r");

		while (f && fgets(line, sizeof(line), f)) {
			const char *p = strstr(line, "P4Runtime listening on port ");

			if (p) {
				*port = atoi(p + strlen("P4Runtime listening on port "));
				fclose(f);
				return 0;
			}
		}
		if (f)
			fclose(f);
		if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
			b->pid = 0;
			break;
		}
	}
	fprintf(stderr, "bench_p4rt: infrap4d did not start P4Runtime (log in %s)\n", log);
	return -EIO;
}

static void daemon_stop(struct bench *b)
{
	char cmd[128];

	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		waitpid(b->pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
	if (b->dir[0] && system(cmd))
		fprintf(stderr, "bench_p4rt: could not remove %s\n", b->dir);
}

/* ---- P4Runtime ----------------------------------------------------------- */

static int check(const char *what, int code, struct ipdk_rpc_status *st)
{
	if (!code)
		return 0;
	fprintf(stderr, "bench_p4rt: %s: %s: %s\n", what, ipdk_rpc_code_name(code),
		st->message ? st->message : "");
	for (size_t i = 0; i < st->n_details && i < 3; i++) {
		P4__V1__Error *e = (P4__V1__Error *)ipdk_rpc_status_detail(st, i,
									  &p4__v1__error__descriptor);

		fprintf(stderr, "  update %zu: %s\n", i, e && e->message ? e->message : "?");
		if (e)
			p4__v1__error__free_unpacked(e, NULL);
	}
	return -EIO;
}

static int arbitrate(struct bench *b)
{
	P4__V1__StreamMessageRequest m = P4__V1__STREAM_MESSAGE_REQUEST__INIT;
	P4__V1__MasterArbitrationUpdate a = P4__V1__MASTER_ARBITRATION_UPDATE__INIT;
	P4__V1__Uint128 eid = P4__V1__UINT128__INIT;
	P4__V1__StreamMessageResponse *r = NULL;
	struct ipdk_err err;
	int rc;

	if (ipdk_rpc_client_stream_open(b->c, "/p4.v1.P4Runtime/StreamChannel",
					&p4__v1__stream_message_response__descriptor, 0, &b->s,
					&err)) {
		fprintf(stderr, "bench_p4rt: %s\n", err.msg);
		return -EIO;
	}
	eid.low = ELECTION;
	a.device_id = DEVICE_ID;
	a.election_id = &eid;
	m.update_case = P4__V1__STREAM_MESSAGE_REQUEST__UPDATE_ARBITRATION;
	m.arbitration = &a;
	if (ipdk_rpc_stream_send(b->s, &m.base) ||
	    ipdk_rpc_stream_recv(b->s, 10, (ProtobufCMessage **)&r) != 1)
		return -EIO;
	rc = r->update_case == P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_ARBITRATION &&
	     r->arbitration->status && r->arbitration->status->code == 0 ? 0 : -EPERM;
	p4__v1__stream_message_response__free_unpacked(r, NULL);
	return rc;
}

static void election(P4__V1__Uint128 *eid)
{
	p4__v1__uint128__init(eid);
	eid->low = ELECTION;
}

/* Pushes the bench pipeline (emptying the table) and learns its ids. */
static int push(struct bench *b)
{
	P4__V1__SetForwardingPipelineConfigRequest req = P4__V1__SET_FORWARDING_PIPELINE_CONFIG_REQUEST__INIT;
	P4__V1__ForwardingPipelineConfig cfg = P4__V1__FORWARDING_PIPELINE_CONFIG__INIT;
	P4__V1__GetForwardingPipelineConfigRequest greq = P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__INIT;
	P4__V1__GetForwardingPipelineConfigResponse *g = NULL;
	P4__V1__Uint128 eid;
	ProtobufCMessage *reply = NULL;
	struct ipdk_rpc_status st = { 0 };
	const P4__Config__V1__P4Info *info;
	int rc;

	election(&eid);
	req.device_id = DEVICE_ID;
	req.election_id = &eid;
	req.action = P4__V1__SET_FORWARDING_PIPELINE_CONFIG_REQUEST__ACTION__VERIFY_AND_COMMIT;
	cfg.p4_device_config.data = (uint8_t *)b->spec;
	cfg.p4_device_config.len = strlen(b->spec);
	req.config = &cfg;
	rc = check("SetForwardingPipelineConfig",
		   ipdk_rpc_client_unary(b->c, "/p4.v1.P4Runtime/SetForwardingPipelineConfig", &req.base,
			      &p4__v1__set_forwarding_pipeline_config_response__descriptor, &reply, &st),
		   &st);
	ipdk_rpc_status_fini(&st);
	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	if (rc)
		return rc;
	greq.device_id = DEVICE_ID;
	greq.response_type = P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__RESPONSE_TYPE__P4INFO_AND_COOKIE;
	rc = check("GetForwardingPipelineConfig",
		   ipdk_rpc_client_unary(b->c, "/p4.v1.P4Runtime/GetForwardingPipelineConfig", &greq.base,
			      &p4__v1__get_forwarding_pipeline_config_response__descriptor,
			      (ProtobufCMessage **)&g, &st), &st);
	ipdk_rpc_status_fini(&st);
	if (rc)
		return rc;
	info = g->config ? g->config->p4info : NULL;
	for (size_t i = 0; info && i < info->n_tables; i++)
		if (!strcmp(info->tables[i]->preamble->name, "bench")) {
			b->table_id = info->tables[i]->preamble->id;
			b->field_id = info->tables[i]->match_fields[0]->id;
		}
	for (size_t i = 0; info && i < info->n_actions; i++)
		if (!strcmp(info->actions[i]->preamble->name, "fwd")) {
			b->action_id = info->actions[i]->preamble->id;
			b->param_id = info->actions[i]->params[0]->id;
		}
	p4__v1__get_forwarding_pipeline_config_response__free_unpacked(g, NULL);
	if (!b->table_id || !b->action_id) {
		fprintf(stderr, "bench_p4rt: the P4Info lacks table bench or action fwd\n");
		return -EINVAL;
	}
	return 0;
}

/* One Write request of up to cap updates, built once and refilled per batch. */
struct batch_msg {
	P4__V1__WriteRequest req;
	P4__V1__Uint128 eid;
	P4__V1__Update *u, **pu;
	P4__V1__Entity *en;
	P4__V1__TableEntry *te;
	P4__V1__FieldMatch *fm, **pfm;
	P4__V1__FieldMatch__Exact *ex;
	P4__V1__TableAction *ta;
	P4__V1__Action *act;
	P4__V1__Action__Param *par, **ppar;
	uint8_t (*key)[6], (*val)[4];
};

static void batch_free(struct batch_msg *m)
{
	free(m->u);
	free(m->pu);
	free(m->en);
	free(m->te);
	free(m->fm);
	free(m->pfm);
	free(m->ex);
	free(m->ta);
	free(m->act);
	free(m->par);
	free(m->ppar);
	free(m->key);
	free(m->val);
}

static int batch_init(struct batch_msg *m, const struct bench *b, uint64_t cap)
{
	memset(m, 0, sizeof(*m));
	m->u = calloc(cap, sizeof(*m->u));
	m->pu = calloc(cap, sizeof(*m->pu));
	m->en = calloc(cap, sizeof(*m->en));
	m->te = calloc(cap, sizeof(*m->te));
	m->fm = calloc(cap, sizeof(*m->fm));
	m->pfm = calloc(cap, sizeof(*m->pfm));
	m->ex = calloc(cap, sizeof(*m->ex));
	m->ta = calloc(cap, sizeof(*m->ta));
	m->act = calloc(cap, sizeof(*m->act));
	m->par = calloc(cap, sizeof(*m->par));
	m->ppar = calloc(cap, sizeof(*m->ppar));
	m->key = calloc(cap, sizeof(*m->key));
	m->val = calloc(cap, sizeof(*m->val));
	if (!m->u || !m->pu || !m->en || !m->te || !m->fm || !m->pfm || !m->ex || !m->ta ||
	    !m->act || !m->par || !m->ppar || !m->key || !m->val) {
		batch_free(m);
		return -ENOMEM;
	}
	p4__v1__write_request__init(&m->req);
	election(&m->eid);
	m->req.device_id = DEVICE_ID;
	m->req.election_id = &m->eid;
	m->req.updates = m->pu;
	for (uint64_t i = 0; i < cap; i++) {
		p4__v1__update__init(&m->u[i]);
		p4__v1__entity__init(&m->en[i]);
		p4__v1__table_entry__init(&m->te[i]);
		p4__v1__field_match__init(&m->fm[i]);
		p4__v1__field_match__exact__init(&m->ex[i]);
		p4__v1__table_action__init(&m->ta[i]);
		p4__v1__action__init(&m->act[i]);
		p4__v1__action__param__init(&m->par[i]);
		m->u[i].type = P4__V1__UPDATE__TYPE__INSERT;
		m->u[i].entity = &m->en[i];
		m->en[i].entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
		m->en[i].table_entry = &m->te[i];
		m->te[i].table_id = b->table_id;
		m->te[i].n_match = 1;
		m->te[i].match = &m->pfm[i];
		m->pfm[i] = &m->fm[i];
		m->fm[i].field_id = b->field_id;
		m->fm[i].field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_EXACT;
		m->fm[i].exact = &m->ex[i];
		m->ex[i].value.data = m->key[i];
		m->ex[i].value.len = 6;
		m->te[i].action = &m->ta[i];
		m->ta[i].type_case = P4__V1__TABLE_ACTION__TYPE_ACTION;
		m->ta[i].action = &m->act[i];
		m->act[i].action_id = b->action_id;
		m->act[i].n_params = 1;
		m->act[i].params = &m->ppar[i];
		m->ppar[i] = &m->par[i];
		m->par[i].param_id = b->param_id;
		m->par[i].value.data = m->val[i];
		m->par[i].value.len = 4;
	}
	return 0;
}

/* Entry i: key 0xaa0000000000 + i (padded to 6 bytes), port i % 4. */
static void batch_fill(struct batch_msg *m, uint64_t first, uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		uint64_t key = 0xaa0000000000ull + first + k;

		for (int i = 0; i < 6; i++)
			m->key[k][i] = (uint8_t)(key >> (8 * (5 - i)));
		memset(m->val[k], 0, 4);
		m->val[k][3] = (uint8_t)((first + k) % 4);
		m->pu[k] = &m->u[k];
	}
	m->req.n_updates = n;
}

static int write_phase(struct bench *b, uint64_t bs, double budget, uint64_t compare_at,
		       struct phase *ph)
{
	struct batch_msg m;
	double t0, end;
	int rc;

	memset(ph, 0, sizeof(*ph));
	rc = push(b);
	if (!rc)
		rc = batch_init(&m, b, bs);
	if (rc)
		return rc;
	t0 = bench_now();
	end = t0 + budget;
	while (ph->n < opt.n && bench_now() < end) {
		uint64_t n = opt.n - ph->n < bs ? opt.n - ph->n : bs;
		ProtobufCMessage *reply = NULL;
		struct ipdk_rpc_status st = { 0 };

		batch_fill(&m, ph->n, n);
		rc = check("Write", ipdk_rpc_client_unary(b->c, "/p4.v1.P4Runtime/Write", &m.req.base,
					       &p4__v1__write_response__descriptor, &reply, &st), &st);
		ipdk_rpc_status_fini(&st);
		if (reply)
			protobuf_c_message_free_unpacked(reply, NULL);
		if (rc)
			break;
		ph->n += n;
		if (compare_at && !ph->n_at && ph->n >= compare_at) {
			ph->n_at = ph->n;
			ph->secs_at = bench_now() - t0;
		}
	}
	ph->secs = bench_now() - t0;
	batch_free(&m);
	return rc;
}

struct dump {
	uint64_t entities, responses;
	double t0, first;
};

static int on_response(const ProtobufCMessage *m, void *arg)
{
	const P4__V1__ReadResponse *r = (const P4__V1__ReadResponse *)m;
	struct dump *d = arg;

	if (!d->responses++)
		d->first = bench_now() - d->t0;
	d->entities += r->n_entities;
	return 0;
}

static int read_all(struct bench *b, struct dump *d, double *secs)
{
	P4__V1__ReadRequest req = P4__V1__READ_REQUEST__INIT;
	P4__V1__Entity en = P4__V1__ENTITY__INIT, *pen = &en;
	P4__V1__TableEntry te = P4__V1__TABLE_ENTRY__INIT;
	struct ipdk_rpc_status st = { 0 };
	int rc;

	te.table_id = b->table_id;
	en.entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
	en.table_entry = &te;
	req.device_id = DEVICE_ID;
	req.n_entities = 1;
	req.entities = &pen;
	memset(d, 0, sizeof(*d));
	d->t0 = bench_now();
	rc = check("Read", ipdk_rpc_client_each(b->c, "/p4.v1.P4Runtime/Read", &req.base,
						       &p4__v1__read_response__descriptor,
						       on_response, d, &st), &st);
	*secs = bench_now() - d->t0;
	ipdk_rpc_status_fini(&st);
	return rc;
}

static double rate(uint64_t n, double s)
{
	return s > 0 ? n / s : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_p4rt -d INFRAP4D [-n entries] [-T budget s] [-t batch-1 budget s]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const uint64_t sizes[] = { 10000, 100, 1 };
	struct ipdk_rpc_client_config co = { .security = IPDK_RPC_SEC_INSECURE, .timeout = 600 };
	struct bench b = { 0 };
	struct phase ph[3];
	struct dump d;
	struct ipdk_err err;
	char addr[64];
	double dump_s;
	uint64_t size;
	int c, port = 0, rc;

	while ((c = getopt(argc, argv, "d:n:T:t:")) != -1) {
		switch (c) {
		case 'd': opt.daemon = optarg; break;
		case 'n': opt.n = strtoull(optarg, NULL, 0); break;
		case 'T': opt.budget = atof(optarg); break;
		case 't': opt.budget_single = atof(optarg); break;
		default: usage();
		}
	}
	if (!opt.daemon || !opt.n)
		usage();
	/* the table size: the next power of two that holds n */
	for (size = 1024; size < opt.n; size <<= 1)
		;
	snprintf(b.spec, sizeof(b.spec), spec_fmt, size);
	rc = daemon_start(&b, &port);
	if (rc)
		goto out;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	co.address = addr;
	if (ipdk_rpc_client_create(&co, &b.c, &err)) {
		fprintf(stderr, "bench_p4rt: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	rc = arbitrate(&b);
	if (rc) {
		fprintf(stderr, "bench_p4rt: arbitration failed\n");
		goto out;
	}
	/* batch 1 first: its N is where the batched phases are compared */
	rc = write_phase(&b, 1, opt.budget_single, 0, &ph[2]);
	for (int i = 1; i >= 0 && !rc; i--)
		rc = write_phase(&b, sizes[i], opt.budget, ph[2].n, &ph[i]);
	/* the table holds what the batch-10000 phase wrote */
	if (!rc)
		rc = read_all(&b, &d, &dump_s);
	if (rc)
		goto out;
	printf("P4Runtime Write, %" PRIu64 " exact entries (48-bit key, one 32-bit parameter), C client, plaintext on loopback:\n",
	       opt.n);
	for (int i = 0; i < 3; i++)
		printf("  batch %-6" PRIu64 " reached %8" PRIu64 " entries in %7.2f s: %9.0f entries/s\n",
		       sizes[i], ph[i].n, ph[i].secs, rate(ph[i].n, ph[i].secs));
	for (int i = 0; i < 2; i++)
		if (ph[i].n_at)
			printf("  batch %-6" PRIu64 " over the first %" PRIu64 " entries: %9.0f entries/s, %.1fx one commit per entry\n",
			       sizes[i], ph[i].n_at, rate(ph[i].n_at, ph[i].secs_at),
			       rate(ph[i].n_at, ph[i].secs_at) / rate(ph[2].n, ph[2].secs));
	printf("  batched/one-commit (batch 10000 over all its entries): %.1fx\n",
	       rate(ph[0].n, ph[0].secs) / rate(ph[2].n, ph[2].secs));
	printf("P4Runtime Read of the full table: %" PRIu64 " entries in %" PRIu64 " responses, %.2f s: %.0f entries/s; first response after %.2f s (the snapshot, taken with writers held)\n",
	       d.entities, d.responses, dump_s, rate(d.entities, dump_s), d.first);
	if (d.entities != ph[0].n) {
		fprintf(stderr, "bench_p4rt: the dump returned %" PRIu64 " entries, %" PRIu64 " were written\n",
			d.entities, ph[0].n);
		rc = 1;
	}
out:
	if (b.s)
		ipdk_rpc_stream_close(b.s, 2.0);
	ipdk_rpc_client_destroy(b.c);
	daemon_stop(&b);
	return rc ? 1 : 0;
}
