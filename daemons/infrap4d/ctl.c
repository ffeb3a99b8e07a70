/*
 * infrap4d's local control commands, served on its Unix control socket and
 * used by infrap4d-ctl: table entries, defaults, batches, selectors, learner
 * timeouts, counters, registers, meters, mirror sessions, statistics and
 * pipeline replacement.
 * Everything goes through TDI, so P4Runtime can later sit beside it unchanged.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/log.h"
#include "infrap4d.h"

#define MAX_ARGS 8
#define MIRROR_USAGE "mirror [SESSION [port PORT [truncate BYTES] | off]]"

struct ctl_ctx {
	struct infrap4d_dp *dp;
	unsigned int batch_owner;   /* connection holding the open batch, 0: none */
};

struct cmd {
	const char *name;
	const char *usage;
	int min_args;               /* words after the command */
	int (*fn)(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		  FILE *out, struct ipdk_err *err);
};

static struct ctl_ctx ctl_state;

static const char *match_kind_name(enum tdi_match_kind k)
{
	static const char *names[] = { "exact", "lpm", "ternary", "range", "optional" };

	return k <= TDI_MATCH_OPTIONAL ? names[k] : "?";
}

static const char *table_kind_name(enum tdi_table_kind k)
{
	return k == TDI_TABLE_SELECTOR ? "selector" : k == TDI_TABLE_LEARNER ? "learner" : "table";
}

static int need_table(struct ctl_ctx *c, const char *name, const struct tdi_table_info **t,
		      struct ipdk_err *err)
{
	*t = tdi_table_find(c->dp->tdi, name);
	if (!*t)
		return ipdk_err_set(err, -ENOENT, "no table named \"%s\"", name);
	return 0;
}

static int parse_u64(const char *s, const char *what, uint64_t *v, struct ipdk_err *err)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return ipdk_err_set(err, -EINVAL, "%s \"%s\" is not a number", what, s);
	return 0;
}

static int parse_u32(const char *s, const char *what, uint32_t *v, struct ipdk_err *err)
{
	uint64_t w;
	int rc = parse_u64(s, what, &w, err);

	if (rc)
		return rc;
	if (w > UINT32_MAX)
		return ipdk_err_set(err, -ERANGE, "%s %s does not fit 32 bits", what, s);
	*v = (uint32_t)w;
	return 0;
}

/* Writes from a connection other than the batch owner would land in its batch. */
static int check_batch(struct ctl_ctx *c, unsigned int conn, struct ipdk_err *err)
{
	if (c->batch_owner && c->batch_owner != conn)
		return ipdk_err_set(err, -EBUSY,
				    "another control connection has a batch open; retry after it commits");
	return 0;
}

static int cmd_help(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		    FILE *out, struct ipdk_err *err);

static int cmd_info(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		    FILE *out, struct ipdk_err *err)
{
	const struct tdi_schema *s = tdi_dev_schema(c->dp->tdi);
	unsigned int n = 0;

	(void)conn, (void)argc, (void)argv, (void)rest, (void)err;
	for (unsigned int i = 0; i < c->dp->n_ports; i++)
		n += c->dp->ports[i] != NULL;
	fprintf(out, "pipeline %s\nspec %s\nports %u\nport-slots %u\ntables %u\nactions %u\n"
		"counters %u\nregisters %u\nmeters %u\n", c->dp->pipeline_name, c->dp->spec_desc,
		n, c->dp->n_ports, s->n_tables, s->n_actions, s->n_counters, s->n_registers,
		s->n_meters);
	return 0;
}

static int cmd_ports(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		     FILE *out, struct ipdk_err *err)
{
	uint64_t rx_total = 0, tx_total = 0;

	(void)conn, (void)argc, (void)argv, (void)rest, (void)err;
	fprintf(out, "%-4s %-16s %-6s %-10s %-16s %12s %12s %12s\n", "id", "name", "type",
		"backend", "netdev/path", "rx_packets", "tx_packets", "tx_drops");
	for (unsigned int i = 0; i < c->dp->n_ports; i++) {
		const struct ipdk_port_cfg *pc;
		struct ipdk_port_stats st = { 0 };

		if (!c->dp->ports[i])
			continue;   /* a free port slot */
		pc = ipdk_port_cfg(c->dp->ports[i]);

		ipdk_dpdk_pipeline_port_stats(c->dp->pl, i, &st);
		rx_total += st.rx_packets;
		/* tx_packets counts what the pipeline handed the port, including
		 * what its writer then dropped (tx_drops): those left the pipeline. */
		tx_total += st.tx_packets;
		fprintf(out, "%-4u %-16s %-6s %-10s %-16s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 "\n",
			i, pc->name, ipdk_port_type_name(pc->type), ipdk_port_backend(c->dp->ports[i]),
			pc->netdev[0] ? pc->netdev : pc->path[0] ? pc->path : "-", st.rx_packets,
			st.tx_packets, st.tx_drops);
	}
	/* DPDK frees what `drop` discards without passing it to any port, so the
	 * pipeline's drops are what came in and did not go out (packets still
	 * inside the pipeline count here for a moment; mirror copies are not
	 * counted as received). */
	fprintf(out, "%-4u %-16s %-6s %-10s %-16s %12s %12" PRIu64 " %12s\n", c->dp->n_ports,
		"(drop)", "-", "-", "-", "-", rx_total > tx_total ? rx_total - tx_total : 0, "-");
	return 0;
}

static void print_table(struct ctl_ctx *c, const struct tdi_table_info *t, FILE *out)
{
	const struct tdi_schema *s = tdi_dev_schema(c->dp->tdi);

	fprintf(out, "%s %s size %" PRIu64 " entries %" PRIu64 "\n", table_kind_name(t->kind),
		t->name, t->size, tdi_entry_count(c->dp->tdi, t->id));
	for (uint32_t k = 0; k < t->n_keys; k++)
		fprintf(out, "  key %s %s bit<%u>\n", t->keys[k].name,
			match_kind_name(t->keys[k].match), t->keys[k].n_bits);
	for (uint32_t a = 0; a < t->n_actions; a++) {
		const struct tdi_action_info *ai = &s->actions[t->action_ids[a]];

		fprintf(out, "  action %s", ai->name);
		for (uint32_t p = 0; p < ai->n_params; p++)
			fprintf(out, " %s:bit<%u>", ai->params[p].name, ai->params[p].n_bits);
		if (t->action_default_only && t->action_default_only[a])
			fputs(" @defaultonly", out);
		if (t->action_table_only && t->action_table_only[a])
			fputs(" @tableonly", out);
		fputc('\n', out);
	}
	if (t->kind == TDI_TABLE_SELECTOR)
		fprintf(out, "  groups %u members_per_group %u\n", t->n_groups_max,
			t->n_members_per_group_max);
	for (uint32_t i = 0; i < t->n_timeouts; i++)
		fprintf(out, "  timeout %u %u s\n", i, t->timeouts[i]);
}

static int cmd_tables(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		      FILE *out, struct ipdk_err *err)
{
	const struct tdi_schema *s = tdi_dev_schema(c->dp->tdi);
	const struct tdi_table_info *t;
	int rc;

	(void)conn, (void)rest;
	if (argc >= 1) {
		rc = need_table(c, argv[0], &t, err);
		if (!rc)
			print_table(c, t, out);
		return rc;
	}
	for (uint32_t i = 0; i < s->n_tables; i++)
		print_table(c, &s->tables[i], out);
	for (uint32_t i = 0; i < s->n_counters; i++)
		fprintf(out, "counter %s size %" PRIu64 "%s\n", s->counters[i].name,
			s->counters[i].size, s->counters[i].direct ? " direct" : "");
	for (uint32_t i = 0; i < s->n_registers; i++)
		fprintf(out, "register %s size %" PRIu64 " bit<%u>\n", s->registers[i].name,
			s->registers[i].size, s->registers[i].n_bits);
	for (uint32_t i = 0; i < s->n_meters; i++)
		fprintf(out, "meter %s size %" PRIu64 "\n", s->meters[i].name, s->meters[i].size);
	return 0;
}

/* add / modify / del / get share the "TABLE match ... [action ...]" form. */
static int entry_cmd(struct ctl_ctx *c, unsigned int conn, const char *op, char *rest,
		     FILE *out, struct ipdk_err *err)
{
	const struct tdi_table_info *t;
	char table[TDI_NAME_MAX], buf[4096];
	struct tdi_entry *e;
	int n = 0, rc;

	if (op[0] != 'g') {
		rc = check_batch(c, conn, err);
		if (rc)
			return rc;
	}
	if (op[0] == 'a' || op[0] == 'm')
		return infrap4d_entry_line(c->dp->tdi, rest, op[0] == 'm', err);
	if (sscanf(rest, " %127s %n", table, &n) != 1)
		return ipdk_err_set(err, -EINVAL, "usage: %s TABLE match KEY...", op);
	rc = need_table(c, table, &t, err);
	if (rc)
		return rc;
	e = calloc(1, sizeof(*e));
	if (!e)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	/* An action after the key is allowed (and ignored), so an entry copied
	 * from "dump" can be deleted as it is. */
	rc = strstr(rest + n, " action ") ? tdi_entry_parse(c->dp->tdi, t, rest + n, e, err) :
					    tdi_key_parse(c->dp->tdi, t, rest + n, e, err);
	if (!rc && op[0] == 'd')
		rc = tdi_entry_delete(c->dp->tdi, e, err);
	if (!rc && op[0] == 'g') {
		rc = tdi_entry_get(c->dp->tdi, e, err);
		if (!rc) {
			tdi_entry_format(c->dp->tdi, e, buf, sizeof(buf));
			fprintf(out, "%s\n", buf);
		}
	}
	free(e);
	return rc;
}

static int cmd_add(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		   FILE *out, struct ipdk_err *err)
{
	(void)argc, (void)argv;
	return entry_cmd(c, conn, "add", rest, out, err);
}

static int cmd_modify(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		      FILE *out, struct ipdk_err *err)
{
	(void)argc, (void)argv;
	return entry_cmd(c, conn, "modify", rest, out, err);
}

static int cmd_del(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		   FILE *out, struct ipdk_err *err)
{
	(void)argc, (void)argv;
	return entry_cmd(c, conn, "del", rest, out, err);
}

static int cmd_get(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		   FILE *out, struct ipdk_err *err)
{
	(void)argc, (void)argv;
	return entry_cmd(c, conn, "get", rest, out, err);
}

struct dump_arg {
	struct tdi_dev *tdi;
	FILE *out;
	char buf[4096];
};

static int dump_one(const struct tdi_entry *e, void *arg)
{
	struct dump_arg *d = arg;

	tdi_entry_format(d->tdi, e, d->buf, sizeof(d->buf));
	fprintf(d->out, "%s\n", d->buf);
	return 0;
}

static int cmd_dump(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		    FILE *out, struct ipdk_err *err)
{
	const struct tdi_table_info *t;
	struct dump_arg *d;
	int rc;

	(void)conn, (void)argc, (void)rest;
	rc = need_table(c, argv[0], &t, err);
	if (rc)
		return rc;
	d = malloc(sizeof(*d));
	if (!d)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	d->tdi = c->dp->tdi;
	d->out = out;
	tdi_entry_iterate(c->dp->tdi, t->id, dump_one, d);
	free(d);
	return 0;
}

static int cmd_clear(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		     FILE *out, struct ipdk_err *err)
{
	const struct tdi_table_info *t;
	int rc;

	(void)argc, (void)rest, (void)out;
	rc = check_batch(c, conn, err);
	if (!rc)
		rc = need_table(c, argv[0], &t, err);
	return rc ? rc : tdi_table_clear(c->dp->tdi, t->id, err);
}

static int cmd_default_set(struct ctl_ctx *c, unsigned int conn, int argc, char **argv,
			   char *rest, FILE *out, struct ipdk_err *err)
{
	const struct tdi_table_info *t;
	struct tdi_entry *e;
	char *action;
	int rc;

	(void)argc, (void)out;
	rc = check_batch(c, conn, err);
	if (!rc)
		rc = need_table(c, argv[0], &t, err);
	if (rc)
		return rc;
	action = strstr(rest, argv[0]) + strlen(argv[0]);
	e = calloc(1, sizeof(*e));
	if (!e)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	rc = tdi_action_parse(c->dp->tdi, t, action, e, err);
	if (!rc)
		rc = tdi_default_set(c->dp->tdi, e, err);
	free(e);
	return rc;
}

static int cmd_default_get(struct ctl_ctx *c, unsigned int conn, int argc, char **argv,
			   char *rest, FILE *out, struct ipdk_err *err)
{
	const struct tdi_table_info *t;
	const struct tdi_action_info *a;
	struct tdi_entry *e;
	int rc;

	(void)conn, (void)argc, (void)rest;
	rc = need_table(c, argv[0], &t, err);
	if (rc)
		return rc;
	e = calloc(1, sizeof(*e));
	if (!e)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	rc = tdi_default_get(c->dp->tdi, t->id, e, err);
	if (!rc) {
		a = &tdi_dev_schema(c->dp->tdi)->actions[e->action_id];
		fprintf(out, "action %s", a->name);
		for (uint32_t p = 0; p < a->n_params; p++) {
			unsigned int nbytes = (a->params[p].n_bits + 7) / 8, first = 1;

			fprintf(out, " %s 0x", a->params[p].name);
			for (unsigned int b = TDI_VALUE_BYTES - nbytes; b < TDI_VALUE_BYTES; b++) {
				if (first && !e->params[p][b] && b + 1 < TDI_VALUE_BYTES)
					continue;
				first = 0;
				fprintf(out, "%02x", e->params[p][b]);
			}
			if (first)
				fputs("0", out);
		}
		fputc('\n', out);
	}
	free(e);
	return rc;
}

static int cmd_batch(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		     FILE *out, struct ipdk_err *err)
{
	int rc;

	(void)argc, (void)rest, (void)out;
	rc = check_batch(c, conn, err);
	if (rc)
		return rc;
	if (!strcmp(argv[0], "begin")) {
		rc = tdi_batch_begin(c->dp->tdi, err);
		if (!rc)
			c->batch_owner = conn;
		return rc;
	}
	if (!strcmp(argv[0], "commit") || !strcmp(argv[0], "abort")) {
		if (c->batch_owner != conn)
			return ipdk_err_set(err, -EINVAL, "no batch is open on this connection");
		c->batch_owner = 0;
		if (argv[0][0] == 'a') {
			tdi_batch_abort(c->dp->tdi);
			return 0;
		}
		return tdi_batch_commit(c->dp->tdi, err);
	}
	return ipdk_err_set(err, -EINVAL, "batch %s: expected begin, commit or abort", argv[0]);
}

static int cmd_stats(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		     FILE *out, struct ipdk_err *err)
{
	const struct tdi_schema *s = tdi_dev_schema(c->dp->tdi);
	const struct tdi_table_info *t;
	struct tdi_table_stats st;
	int rc;

	(void)conn, (void)argc, (void)rest;
	rc = need_table(c, argv[0], &t, err);
	if (!rc)
		rc = tdi_table_stats(c->dp->tdi, t->id, &st, err);
	if (rc)
		return rc;
	fprintf(out, "hit %" PRIu64 "\nmiss %" PRIu64 "\n", st.hit_packets, st.miss_packets);
	for (uint32_t a = 0; a < t->n_actions && a < TDI_MAX_PARAMS; a++)
		fprintf(out, "action %s %" PRIu64 "\n", s->actions[t->action_ids[a]].name,
			st.action_packets[a]);
	return 0;
}

static int cmd_counter(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		       FILE *out, struct ipdk_err *err)
{
	const struct tdi_counter_info *ci = tdi_counter_find(c->dp->tdi, argv[0]);
	uint64_t index = 0, pkts = 0, bytes = 0;
	int rc;

	(void)conn, (void)rest;
	if (!ci)
		return ipdk_err_set(err, -ENOENT, "no counter named \"%s\"", argv[0]);
	rc = parse_u64(argv[1], "counter index", &index, err);
	if (rc)
		return rc;
	if (argc >= 3 && !strcmp(argv[2], "reset"))
		return tdi_counter_reset(c->dp->tdi, ci->id, index, NULL, err);
	rc = tdi_counter_read(c->dp->tdi, ci->id, index, NULL, &pkts, &bytes, err);
	if (!rc)
		fprintf(out, "packets %" PRIu64 "\nbytes %" PRIu64 "\n", pkts, bytes);
	return rc;
}

static int cmd_register(struct ctl_ctx *c, unsigned int conn, int argc, char **argv,
			char *rest, FILE *out, struct ipdk_err *err)
{
	const struct tdi_register_info *ri = tdi_register_find(c->dp->tdi, argv[0]);
	uint64_t index = 0, value = 0;
	int rc;

	(void)conn, (void)rest;
	if (!ri)
		return ipdk_err_set(err, -ENOENT, "no register named \"%s\"", argv[0]);
	rc = parse_u64(argv[1], "register index", &index, err);
	if (rc)
		return rc;
	if (argc >= 3) {
		rc = parse_u64(argv[2], "register value", &value, err);
		return rc ? rc : tdi_register_write(c->dp->tdi, ri->id, index, value, err);
	}
	rc = tdi_register_read(c->dp->tdi, ri->id, index, &value, err);
	if (!rc)
		fprintf(out, "%" PRIu64 "\n", value);
	return rc;
}

static int cmd_group(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		     FILE *out, struct ipdk_err *err)
{
	const struct tdi_table_info *t;
	uint32_t gid = 0, mid = 0, weight = 1;
	int rc;

	(void)rest, (void)out;
	rc = check_batch(c, conn, err);
	if (!rc)
		rc = need_table(c, argv[1], &t, err);
	if (!rc)
		rc = parse_u32(argv[2], "group id", &gid, err);
	if (rc)
		return rc;
	if (!strcmp(argv[0], "add"))
		return tdi_selector_group_add(c->dp->tdi, t->id, gid, err);
	if (!strcmp(argv[0], "del"))
		return tdi_selector_group_delete(c->dp->tdi, t->id, gid, err);
	if (argc < 4)
		return ipdk_err_set(err, -EINVAL, "usage: group member-set|member-del SELECTOR GROUP MEMBER [WEIGHT]");
	rc = parse_u32(argv[3], "member id", &mid, err);
	if (!rc && argc >= 5)
		rc = parse_u32(argv[4], "weight", &weight, err);
	if (rc)
		return rc;
	if (!strcmp(argv[0], "member-set"))
		return tdi_selector_member_set(c->dp->tdi, t->id, gid, mid, weight, err);
	if (!strcmp(argv[0], "member-del"))
		return tdi_selector_member_delete(c->dp->tdi, t->id, gid, mid, err);
	return ipdk_err_set(err, -EINVAL, "group %s: expected add, del, member-set or member-del",
			    argv[0]);
}

static int cmd_timeout(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		       FILE *out, struct ipdk_err *err)
{
	const struct tdi_table_info *t;
	uint32_t idx = 0, sec = 0;
	int rc;

	(void)conn, (void)argc, (void)rest, (void)out;
	rc = need_table(c, argv[0], &t, err);
	if (!rc)
		rc = parse_u32(argv[1], "timeout index", &idx, err);
	if (!rc)
		rc = parse_u32(argv[2], "seconds", &sec, err);
	return rc ? rc : tdi_learner_timeout_set(c->dp->tdi, t->id, idx, sec, err);
}

static int cmd_meter(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		     FILE *out, struct ipdk_err *err)
{
	const struct tdi_meter_info *mi = tdi_meter_find(c->dp->tdi, argv[1]);
	uint64_t index = 0, v[4] = { 0 }, pkts[3] = { 0 };
	int rc;

	(void)conn, (void)rest;
	if (!mi)
		return ipdk_err_set(err, -ENOENT, "no meter named \"%s\"", argv[1]);
	rc = parse_u64(argv[2], "meter index", &index, err);
	if (rc)
		return rc;
	if (!strcmp(argv[0], "stats")) {
		rc = tdi_meter_stats(c->dp->tdi, mi->id, index, NULL, pkts, err);
		if (!rc)
			fprintf(out, "green %" PRIu64 "\nyellow %" PRIu64 "\nred %" PRIu64 "\n",
				pkts[0], pkts[1], pkts[2]);
		return rc;
	}
	if (!strcmp(argv[0], "reset"))
		return tdi_meter_reset(c->dp->tdi, mi->id, index, NULL, err);
	if (strcmp(argv[0], "set") || argc < 7)
		return ipdk_err_set(err, -EINVAL, "usage: meter set NAME INDEX CIR CBS PIR PBS | meter stats|reset NAME INDEX");
	for (int i = 0; i < 4; i++) {
		rc = parse_u64(argv[3 + i], "meter rate/burst", &v[i], err);
		if (rc)
			return rc;
	}
	return tdi_meter_set(c->dp->tdi, mi->id, index, NULL, v[0], v[1], v[2], v[3], err);
}

static void print_mirror(FILE *out, uint32_t id, const struct tdi_mirror_session *ms)
{
	fprintf(out, "mirror %u port %u", id, ms->port_id);
	if (ms->truncation_length)
		fprintf(out, " truncate %u", ms->truncation_length);
	fputc('\n', out);
}

/* A port by pipeline port id or by name. */
static int parse_port(struct ctl_ctx *c, const char *s, uint32_t *id, struct ipdk_err *err)
{
	for (unsigned int i = 0; i < c->dp->n_ports; i++)
		if (c->dp->ports[i] && !strcmp(ipdk_port_cfg(c->dp->ports[i])->name, s)) {
			*id = i;
			return 0;
		}
	if (s[0] < '0' || s[0] > '9')
		return ipdk_err_set(err, -ENOENT, "no port named \"%s\"", s);
	return parse_u32(s, "port", id, err);
}

static int cmd_mirror(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		      FILE *out, struct ipdk_err *err)
{
	const struct tdi_schema *s = tdi_dev_schema(c->dp->tdi);
	struct tdi_mirror_session ms;
	uint32_t id = 0, port = 0, trunc = 0;
	int rc;

	(void)rest;
	if (!argc) {   /* every session that is set */
		for (uint32_t i = 0; i < s->n_mirror_sessions; i++)
			if (!tdi_mirror_session_get(c->dp->tdi, i, &ms, err))
				print_mirror(out, i, &ms);
		ipdk_err_clear(err);
		return 0;
	}
	rc = parse_u32(argv[0], "mirror session", &id, err);
	if (rc)
		return rc;
	if (argc == 1) {
		rc = tdi_mirror_session_get(c->dp->tdi, id, &ms, err);
		if (!rc)
			print_mirror(out, id, &ms);
		return rc;
	}
	rc = check_batch(c, conn, err);
	if (rc)
		return rc;
	if (argc == 2 && !strcmp(argv[1], "off"))
		return tdi_mirror_session_delete(c->dp->tdi, id, err);
	if (strcmp(argv[1], "port") || argc < 3 || argc == 4 || argc > 5 ||
	    (argc == 5 && strcmp(argv[3], "truncate")))
		return ipdk_err_set(err, -EINVAL, "usage: %s", MIRROR_USAGE);
	rc = parse_port(c, argv[2], &port, err);
	if (!rc && argc == 5)
		rc = parse_u32(argv[4], "truncation length", &trunc, err);
	return rc ? rc : tdi_mirror_session_set(c->dp->tdi, id, port, false, trunc, err);
}

static int cmd_pipeline(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
			FILE *out, struct ipdk_err *err)
{
	int rc;

	(void)argc, (void)rest, (void)out;
	if (strcmp(argv[0], "load"))
		return ipdk_err_set(err, -EINVAL, "pipeline %s: expected \"pipeline load SPEC|BUNDLE [P4INFO]|default\"", argv[0]);
	if (argc < 2 || argc > 3 || (argc == 3 && !strcmp(argv[1], "default")))
		return ipdk_err_set(err, -EINVAL, "usage: pipeline load SPEC|BUNDLE [P4INFO]|default");
	if (c->batch_owner)
		return ipdk_err_set(err, -EBUSY, "a batch is open; commit or abort it first");
	rc = infrap4d_dp_reload(c->dp, strcmp(argv[1], "default") ? argv[1] : NULL,
				argc == 3 ? argv[2] : NULL, err);
	(void)conn;
	return rc;
}

static const struct cmd cmds[] = {
	{ "help", "help", 0, cmd_help },
	{ "info", "info", 0, cmd_info },
	{ "ports", "ports", 0, cmd_ports },
	{ "tables", "tables [TABLE]", 0, cmd_tables },
	{ "add", "add TABLE match KEY... [priority P] action NAME [PARAM VALUE]...", 3, cmd_add },
	{ "modify", "modify TABLE match KEY... [priority P] action NAME [PARAM VALUE]...", 3, cmd_modify },
	{ "del", "del TABLE match KEY... [priority P]", 2, cmd_del },
	{ "get", "get TABLE match KEY... [priority P]", 2, cmd_get },
	{ "dump", "dump TABLE", 1, cmd_dump },
	{ "clear", "clear TABLE", 1, cmd_clear },
	{ "default-set", "default-set TABLE ACTION [PARAM VALUE]...", 2, cmd_default_set },
	{ "default-get", "default-get TABLE", 1, cmd_default_get },
	{ "batch", "batch begin|commit|abort", 1, cmd_batch },
	{ "stats", "stats TABLE", 1, cmd_stats },
	{ "counter", "counter NAME INDEX [reset]", 2, cmd_counter },
	{ "register", "register NAME INDEX [VALUE]", 2, cmd_register },
	{ "group", "group add|del SELECTOR GROUP | group member-set|member-del SELECTOR GROUP MEMBER [WEIGHT]", 3, cmd_group },
	{ "timeout", "timeout LEARNER INDEX SECONDS", 3, cmd_timeout },
	{ "meter", "meter set NAME INDEX CIR CBS PIR PBS | meter stats|reset NAME INDEX", 3, cmd_meter },
	{ "mirror", MIRROR_USAGE, 0, cmd_mirror },
	{ "pipeline", "pipeline load SPEC|BUNDLE [P4INFO]|default", 2, cmd_pipeline },
};

static int cmd_help(struct ctl_ctx *c, unsigned int conn, int argc, char **argv, char *rest,
		    FILE *out, struct ipdk_err *err)
{
	(void)c, (void)conn, (void)argc, (void)argv, (void)rest, (void)err;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "%s\n", cmds[i].usage);
	return 0;
}

static int ctl_handle(void *arg, unsigned int conn_id, char *line,
		      struct ipdk_ctl_reply *reply, char *err_msg);

/* P4Runtime shares the dataplane: every command runs under its lock. */
int infrap4d_ctl_handle(void *arg, unsigned int conn_id, char *line,
			struct ipdk_ctl_reply *reply, char *err_msg)
{
	int rc;

	infrap4d_dp_lock(arg);
	rc = ctl_handle(arg, conn_id, line, reply, err_msg);
	infrap4d_dp_unlock(arg);
	return rc;
}

static int ctl_handle(void *arg, unsigned int conn_id, char *line,
		      struct ipdk_ctl_reply *reply, char *err_msg)
{
	struct ctl_ctx *c = &ctl_state;
	char *argv[MAX_ARGS], *copy, *tok, *save = NULL, *rest;
	struct ipdk_err err;
	int argc = 0, rc;

	c->dp = arg;
	ipdk_err_clear(&err);
	while (*line == ' ' || *line == '\t')
		line++;
	if (!*line || *line == '#')
		return 0;
	copy = strdup(line);
	if (!copy) {
		snprintf(err_msg, IPDK_ERR_MSG_MAX, "out of memory");
		return -ENOMEM;
	}
	tok = strtok_r(copy, " \t", &save);
	rest = line + strcspn(line, " \t");
	for (char *w = strtok_r(NULL, " \t", &save); w && argc < MAX_ARGS;
	     w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	rc = -EINVAL;
	snprintf(err.msg, sizeof(err.msg), "unknown command \"%s\" (try \"help\")", tok);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(tok, cmds[i].name))
			continue;
		if (argc < cmds[i].min_args) {
			snprintf(err.msg, sizeof(err.msg), "usage: %s", cmds[i].usage);
			break;
		}
		rc = cmds[i].fn(c, conn_id, argc, argv, rest, reply->out, &err);
		break;
	}
	if (rc) {
		snprintf(err_msg, IPDK_ERR_MSG_MAX, "%s", err.msg[0] ? err.msg : strerror(-rc));
		IPDK_LOG_DEBUG("control: \"%s\" failed: %s", line, err_msg);
	}
	free(copy);
	return rc;
}

void infrap4d_ctl_closed(void *arg, unsigned int conn_id)
{
	struct ctl_ctx *c = &ctl_state;

	/* A client that vanishes with a batch open must not leave it half-done. */
	if (c->batch_owner == conn_id) {
		tdi_batch_abort(infrap4d_dp_lock(arg));
		infrap4d_dp_unlock(arg);
		c->batch_owner = 0;
		IPDK_LOG_WARN("control connection %u closed with a batch open: aborted", conn_id);
	}
}
