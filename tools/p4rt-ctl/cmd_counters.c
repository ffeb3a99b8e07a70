/*
 * p4rt-ctl's counter and meter commands: indirect counter cells
 * ("counter_id=N,index=N|UNSET") read and reset, the direct counter of table
 * entries, meter configs ("meter_id=N,meter_index=N,cir=R,cburst=B,pir=R,
 * pburst=B") set, read and reset, and the direct meter of table entries.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_ctl.h"
#include "value.h"

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

int cmd_get_counter(struct ctl *c, int argc, char **argv)
{
	const P4__Config__V1__Counter *k;
	int64_t index;
	int rc = counter_arg(c, argv[1], argc > 2 ? argv[2] : NULL, &k, &index), n = 0;

	if (rc)
		return rc;
	return read_entities(c, counter_entity(k->preamble->id, index), print_counter, &n);
}

int cmd_reset_counter(struct ctl *c, int argc, char **argv)
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

int cmd_get_direct_counter(struct ctl *c, int argc, char **argv)
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

int cmd_reset_direct_counter(struct ctl *c, int argc, char **argv)
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

int cmd_add_meter_config(struct ctl *c, int argc, char **argv)
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

int cmd_reset_meter_config(struct ctl *c, int argc, char **argv)
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

int cmd_get_meter(struct ctl *c, int argc, char **argv)
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

int cmd_get_direct_meter(struct ctl *c, int argc, char **argv)
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
