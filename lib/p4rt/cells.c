/*
 * P4Runtime counters, meters and registers on TDI: writes of indirect cells
 * by index and of the direct counter and meter of a table entry, each value
 * checked against the object (index range, the counter's unit, meter rates).
 * Errors as in entity.c; runs with the dataplane locked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_int.h"

static int index_check(const struct p4m_cell_obj *c, const P4__V1__Index *ix, const char *what,
		       uint64_t *out, struct ipdk_err *err)
{
	if (!ix)
		return ipdk_err_set(err, -EINVAL, "%s %s: writes need an index", what, c->name);
	if (ix->index < 0 || (uint64_t)ix->index >= c->size)
		return ipdk_err_set(err, -ERANGE, "%s %s: index %" PRId64 " out of range (size %" PRIu64 ")",
				    what, c->name, ix->index, c->size);
	*out = (uint64_t)ix->index;
	return 0;
}

/* Checks d (counts for counter c) against the target's counter. */
int p4_counter_data_check(struct tdi_dev *tdi, const struct p4m_cell_obj *c,
			  const P4__V1__CounterData *d, struct ipdk_err *err)
{
	enum tdi_counter_unit unit = tdi_dev_schema(tdi)->counters[c->tdi_id].unit;

	if (!d)
		return 0;
	if (d->packet_count < 0 || d->byte_count < 0)
		return ipdk_err_set(err, -EINVAL, "counter %s: negative count", c->name);
	/* checked here (TDI checks again when it runs) so the update fails, not
	 * the commit */
	if (d->packet_count && !(unit & TDI_COUNTER_PACKETS))
		return ipdk_err_set(err, -EINVAL, "counter %s: counts bytes only, packet_count must be 0",
				    c->name);
	if (d->byte_count && !(unit & TDI_COUNTER_BYTES))
		return ipdk_err_set(err, -EINVAL, "counter %s: counts packets only, byte_count must be 0",
				    c->name);
	return 0;
}

/* Queues a counter write: d's counts, or 0 without d. */
int p4_counter_data_write(struct p4_model *m, struct tdi_dev *tdi, const struct p4m_cell_obj *c,
			  uint64_t index, const struct tdi_entry *e, const P4__V1__CounterData *d,
			  struct ipdk_err *err)
{
	struct p4_cell_op op = { .kind = P4_OP_COUNTER_WRITE, .c = (struct p4m_cell_obj *)c,
				 .index = index };
	int rc = p4_counter_data_check(tdi, c, d, err);

	if (rc)
		return rc;
	if (d) {
		op.v[0] = (uint64_t)d->packet_count;
		op.v[1] = (uint64_t)d->byte_count;
	}
	if (e) {
		op.entry = e;
		op.n_keys = tdi_dev_schema(tdi)->tables[e->table_id].n_keys;
	}
	return p4_batch_defer(m, &op, err);
}

/* Queues a meter config (or a reset when mc is NULL). */
int p4_meter_cfg_write(struct p4_model *m, struct tdi_dev *tdi, struct p4m_cell_obj *c,
		       uint64_t index, const struct tdi_entry *e, const P4__V1__MeterConfig *mc,
		       struct ipdk_err *err)
{
	struct p4_cell_op op = { .kind = mc ? P4_OP_METER_SET : P4_OP_METER_RESET, .c = c,
				 .index = index };

	if (mc && (mc->cir < 0 || mc->cburst < 0 || mc->pir < 0 || mc->pburst < 0))
		return ipdk_err_set(err, -EINVAL, "meter %s: negative rate or burst", c->name);
	if (mc) {
		op.v[0] = (uint64_t)mc->cir;
		op.v[1] = (uint64_t)mc->cburst;
		op.v[2] = (uint64_t)mc->pir;
		op.v[3] = (uint64_t)mc->pburst;
	}
	if (e) {
		op.entry = e;
		op.n_keys = tdi_dev_schema(tdi)->tables[e->table_id].n_keys;
	}
	return p4_batch_defer(m, &op, err);
}

/* The TDI entry (key only) a direct resource's table entry names. */
static int direct_key(const struct p4_model *m, struct tdi_dev *tdi, const P4__V1__TableEntry *te,
		      uint32_t want_id,
		      const char *what, const struct p4m_table **tp, struct tdi_entry *e,
		      struct ipdk_err *err)
{
	int rc;

	if (!te)
		return ipdk_err_set(err, -EINVAL, "%s: no table entry given", what);
	rc = p4_table_entry_check(m, te, tp, err);
	if (rc)
		return rc;
	if (!want_id)
		return ipdk_err_set(err, -EINVAL, "table %s: has no %s", (*tp)->name, what);
	if ((*tp)->ranges)
		return ipdk_err_set(err, -ENOTSUP, "table %s: %s of a table with expanded ranges",
				    (*tp)->name, what);
	memset(e, 0, sizeof(*e));
	e->table_id = (*tp)->tdi_id;
	rc = p4_key_in(*tp, te, e, err);
	if (!rc) {
		/* the entry must exist now (or be inserted earlier in this batch) */
		struct tdi_entry *probe = malloc(sizeof(*probe));

		if (!probe)
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		*probe = *e;
		rc = tdi_entry_get(tdi, probe, err);
		free(probe);
		if (rc == -ENOENT)
			ipdk_err_set(err, -ENOENT, "table %s: no entry with this key", (*tp)->name);
	}
	return rc;
}

int p4_cell_write(struct p4_model *m, struct tdi_dev *tdi, int type, const P4__V1__Entity *en,
		  struct ipdk_err *err)
{
	const struct p4m_table *t;
	struct tdi_entry e;
	uint64_t index;
	int rc;

	if (type != P4__V1__UPDATE__TYPE__MODIFY)
		return ipdk_err_set(err, -EINVAL, "counters, meters and registers only take MODIFY");
	switch (en->entity_case) {
	case P4__V1__ENTITY__ENTITY_COUNTER_ENTRY: {
		const P4__V1__CounterEntry *ce = en->counter_entry;
		const struct p4m_cell_obj *c = p4m_cell(m->counters, m->n_counters, ce->counter_id);

		if (!c || c->direct)
			return ipdk_err_set(err, -EINVAL, "unknown counter id 0x%08x", ce->counter_id);
		rc = index_check(c, ce->index, "counter", &index, err);
		return rc ? rc : p4_counter_data_write(m, tdi, c, index, NULL, ce->data, err);
	}
	case P4__V1__ENTITY__ENTITY_DIRECT_COUNTER_ENTRY: {
		const P4__V1__DirectCounterEntry *de = en->direct_counter_entry;
		const struct p4m_cell_obj *c;

		rc = direct_key(m, tdi, de->table_entry, 1, "direct counter", &t, &e, err);
		if (rc)
			return rc;
		c = p4m_cell(m->counters, m->n_counters, t->direct_counter_id);
		if (!c)
			return ipdk_err_set(err, -EINVAL, "table %s: has no direct counter", t->name);
		return p4_counter_data_write(m, tdi, c, 0, &e, de->data, err);
	}
	case P4__V1__ENTITY__ENTITY_METER_ENTRY: {
		const P4__V1__MeterEntry *me = en->meter_entry;
		struct p4m_cell_obj *c = (struct p4m_cell_obj *)p4m_cell(m->meters, m->n_meters,
									   me->meter_id);

		if (!c || c->direct)
			return ipdk_err_set(err, -EINVAL, "unknown meter id 0x%08x", me->meter_id);
		rc = index_check(c, me->index, "meter", &index, err);
		return rc ? rc : p4_meter_cfg_write(m, tdi, c, index, NULL, me->config, err);
	}
	case P4__V1__ENTITY__ENTITY_DIRECT_METER_ENTRY: {
		const P4__V1__DirectMeterEntry *de = en->direct_meter_entry;
		struct p4m_cell_obj *c;

		rc = direct_key(m, tdi, de->table_entry, 1, "direct meter", &t, &e, err);
		if (rc)
			return rc;
		c = (struct p4m_cell_obj *)p4m_cell(m->meters, m->n_meters, t->direct_meter_id);
		if (!c)
			return ipdk_err_set(err, -EINVAL, "table %s: has no direct meter", t->name);
		return p4_entry_meter_write(m, tdi, t, c, &e, de->config, err);
	}
	case P4__V1__ENTITY__ENTITY_REGISTER_ENTRY: {
		const P4__V1__RegisterEntry *re = en->register_entry;
		const struct p4m_cell_obj *c = p4m_cell(m->registers, m->n_registers, re->register_id);
		uint8_t v[TDI_VALUE_BYTES];
		uint64_t x = 0;

		if (!c)
			return ipdk_err_set(err, -EINVAL, "unknown register id 0x%08x", re->register_id);
		rc = index_check(c, re->index, "register", &index, err);
		if (rc)
			return rc;
		if (!re->data || re->data->data_case != P4__V1__P4_DATA__DATA_BITSTRING)
			return ipdk_err_set(err, -EINVAL, "register %s: data must be a bitstring", c->name);
		rc = p4_bytes_to_value(&re->data->bitstring, c->bits > 64 ? 64 : c->bits, v,
				       c->name, err);
		if (rc)
			return rc;
		for (int i = 8; i < TDI_VALUE_BYTES; i++)
			x = x << 8 | v[i];
		{
			struct p4_cell_op op = { .kind = P4_OP_REGISTER, .c = (struct p4m_cell_obj *)c,
						 .index = index, .v = { x } };

			return p4_batch_defer(m, &op, err);
		}
	}
	default:
		return ipdk_err_set(err, -EINVAL, "not a counter, meter or register");
	}
}
