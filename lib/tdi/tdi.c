/*
 * The TDI front end: opens a device over a target, answers name lookups from
 * the schema, and turns every write into "validate, stage in the store and in
 * the target, commit". Nothing reaches the target or the store until the
 * request has been checked against the schema (ids, widths, prefixes, masks,
 * priorities, which actions a table allows), so a rejected request changes
 * nothing. Entries are passed to the target in a normalised form: masks
 * derived for exact and LPM fields, values and parameters limited to their
 * widths. Outside a batch each write commits on its own.
 */
#include <alloca.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/log.h"
#include "ipdk/tdi.h"
#include "store.h"
#include "tdi_priv.h"

struct table_rt {
	struct tdi_store *store;       /* match tables only */
	uint32_t key_len, data_len;
	bool has_prio;
	struct tdi_entry *dflt;        /* committed default entry */
	struct tdi_entry *dflt_pend;   /* default entry as the batch sees it */
	bool dflt_dirty;
	uint8_t *groups, *groups_pend; /* selector tables: one byte per group */
	bool groups_dirty;
};

struct mirror_rt {
	bool set;
	struct tdi_mirror_session s;   /* all zero when not set */
};

struct tdi_dev {
	const struct tdi_target_ops *ops;
	void *ctx;
	struct tdi_schema schema;
	struct table_rt *rt;
	bool in_batch;
	struct mirror_rt *mirror;      /* committed sessions */
	struct mirror_rt *mirror_pend; /* sessions as the batch sees them */
	bool mirror_dirty;
};

/* ---- Schema and names --------------------------------------------------- */

static void schema_free(struct tdi_schema *s)
{
	for (uint32_t i = 0; s->tables && i < s->n_tables; i++) {
		free(s->tables[i].action_ids);
		free(s->tables[i].action_default_only);
		free(s->tables[i].action_table_only);
	}
	free(s->tables);
	free(s->actions);
	free(s->counters);
	free(s->registers);
	free(s->meters);
	memset(s, 0, sizeof(*s));
}

static const char *last_component(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot ? dot + 1 : name;
}

/* Finds name among n objects of size stride whose name is at name_off. */
static const void *find_named(const void *base, uint32_t n, size_t stride, size_t name_off,
			      const char *name)
{
	const void *found = NULL;
	uint32_t hits = 0, i;

	if (!name)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *obj = (const char *)base + i * stride;

		if (!strcmp(obj + name_off, name))
			return obj;
	}
	for (i = 0; i < n; i++) {
		const char *obj = (const char *)base + i * stride;

		if (!strcmp(last_component(obj + name_off), name)) {
			found = obj;
			hits++;
		}
	}
	return hits == 1 ? found : NULL;
}

const struct tdi_table_info *tdi_table_find(const struct tdi_dev *dev, const char *name)
{
	return find_named(dev->schema.tables, dev->schema.n_tables, sizeof(struct tdi_table_info),
			  offsetof(struct tdi_table_info, name), name);
}

const struct tdi_action_info *tdi_action_find(const struct tdi_dev *dev, const char *name)
{
	return find_named(dev->schema.actions, dev->schema.n_actions,
			  sizeof(struct tdi_action_info), offsetof(struct tdi_action_info, name),
			  name);
}

const struct tdi_counter_info *tdi_counter_find(const struct tdi_dev *dev, const char *name)
{
	return find_named(dev->schema.counters, dev->schema.n_counters,
			  sizeof(struct tdi_counter_info), offsetof(struct tdi_counter_info, name),
			  name);
}

const struct tdi_register_info *tdi_register_find(const struct tdi_dev *dev, const char *name)
{
	return find_named(dev->schema.registers, dev->schema.n_registers,
			  sizeof(struct tdi_register_info),
			  offsetof(struct tdi_register_info, name), name);
}

const struct tdi_meter_info *tdi_meter_find(const struct tdi_dev *dev, const char *name)
{
	return find_named(dev->schema.meters, dev->schema.n_meters, sizeof(struct tdi_meter_info),
			  offsetof(struct tdi_meter_info, name), name);
}

const struct tdi_schema *tdi_dev_schema(const struct tdi_dev *dev)
{
	return &dev->schema;
}

/* ---- Canonical key and data bytes --------------------------------------- */

static uint32_t field_key_bytes(const struct tdi_key_field_info *k)
{
	uint32_t nb = tdi_bytes(k->n_bits);

	switch (k->match) {
	case TDI_MATCH_EXACT:
		return nb;
	case TDI_MATCH_LPM:
		return nb + 1;
	default:
		return 2 * nb;
	}
}

static uint32_t action_data_bytes(const struct tdi_action_info *a)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < a->n_params; i++)
		n += tdi_bytes(a->params[i].n_bits);
	return n;
}

/* The store's key: each field's value and mask (or prefix, or bounds), then
 * the priority, so that the same match at two priorities is two entries. */
static void key_encode(const struct tdi_table_info *t, const struct table_rt *rt,
		       const struct tdi_entry *e, uint8_t *out)
{
	for (uint32_t i = 0; i < t->n_keys; i++) {
		const struct tdi_field_value *f = &e->key[i];
		uint32_t nb = tdi_bytes(t->keys[i].n_bits), off = TDI_VALUE_BYTES - nb;

		memcpy(out, f->value + off, nb);
		out += nb;
		switch (t->keys[i].match) {
		case TDI_MATCH_EXACT:
			break;
		case TDI_MATCH_LPM:
			*out++ = (uint8_t)f->prefix_len;
			break;
		case TDI_MATCH_RANGE:
			memcpy(out, f->high + off, nb);
			out += nb;
			break;
		default:
			memcpy(out, f->mask + off, nb);
			out += nb;
			break;
		}
	}
	if (rt->has_prio) {
		uint32_t p = e->priority;

		out[0] = p >> 24;
		out[1] = p >> 16;
		out[2] = p >> 8;
		out[3] = p;
	}
}

static void key_decode(const struct tdi_table_info *t, const struct table_rt *rt,
		       const uint8_t *in, struct tdi_entry *e)
{
	for (uint32_t i = 0; i < t->n_keys; i++) {
		struct tdi_field_value *f = &e->key[i];
		uint32_t w = t->keys[i].n_bits, nb = tdi_bytes(w), off = TDI_VALUE_BYTES - nb;

		memset(f, 0, sizeof(*f));
		memcpy(f->value + off, in, nb);
		in += nb;
		switch (t->keys[i].match) {
		case TDI_MATCH_EXACT:
			tdi_value_ones(f->mask, w);
			break;
		case TDI_MATCH_LPM:
			f->prefix_len = *in++;
			tdi_prefix_mask(f->mask, w, f->prefix_len);
			break;
		case TDI_MATCH_RANGE:
			memcpy(f->high + off, in, nb);
			in += nb;
			break;
		default:
			memcpy(f->mask + off, in, nb);
			in += nb;
			break;
		}
	}
	e->priority = 0;
	if (rt->has_prio)
		e->priority = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
			      (uint32_t)in[2] << 8 | in[3];
}

static void data_encode(const struct tdi_dev *dev, const struct tdi_entry *e, uint8_t *out)
{
	const struct tdi_action_info *a = &dev->schema.actions[e->action_id];

	memcpy(out, &e->action_id, 4);
	out += 4;
	for (uint32_t i = 0; i < a->n_params; i++) {
		uint32_t nb = tdi_bytes(a->params[i].n_bits);

		memcpy(out, e->params[i] + TDI_VALUE_BYTES - nb, nb);
		out += nb;
	}
}

static void data_decode(const struct tdi_dev *dev, const uint8_t *in, struct tdi_entry *e)
{
	const struct tdi_action_info *a;

	memcpy(&e->action_id, in, 4);
	in += 4;
	memset(e->params, 0, sizeof(e->params));
	a = &dev->schema.actions[e->action_id];
	for (uint32_t i = 0; i < a->n_params; i++) {
		uint32_t nb = tdi_bytes(a->params[i].n_bits);

		memcpy(e->params[i] + TDI_VALUE_BYTES - nb, in, nb);
		in += nb;
	}
}

/* ---- Validation --------------------------------------------------------- */

static int table_get(const struct tdi_dev *dev, uint32_t table_id,
		     const struct tdi_table_info **t, struct ipdk_err *err)
{
	if (table_id >= dev->schema.n_tables)
		return ipdk_err_set(err, -EINVAL, "unknown table id %u", table_id);
	*t = &dev->schema.tables[table_id];
	return 0;
}

/* Checks and normalises one key field into out. */
static int field_check(const struct tdi_table_info *t, uint32_t i,
		       const struct tdi_field_value *f, struct tdi_field_value *out,
		       struct ipdk_err *err)
{
	const struct tdi_key_field_info *k = &t->keys[i];
	uint32_t w = k->n_bits;
	uint8_t m[TDI_VALUE_BYTES];

	memset(out, 0, sizeof(*out));
	if (!tdi_value_fits(f->value, w))
		return ipdk_err_set(err, -ERANGE, "table %s: key field %u (%s): value does not fit in %u bits",
				    t->name, i + 1, k->name, w);
	memcpy(out->value, f->value, TDI_VALUE_BYTES);
	switch (k->match) {
	case TDI_MATCH_EXACT:
		tdi_value_ones(out->mask, w);
		return 0;
	case TDI_MATCH_LPM:
		if (f->prefix_len > w)
			return ipdk_err_set(err, -ERANGE,
					    "table %s: key field %u (%s): prefix length %u exceeds %u bits",
					    t->name, i + 1, k->name, f->prefix_len, w);
		tdi_prefix_mask(m, w, f->prefix_len);
		for (int b = 0; b < TDI_VALUE_BYTES; b++)
			if (f->value[b] & ~m[b])
				return ipdk_err_set(err, -EINVAL,
						    "table %s: key field %u (%s): value has bits set beyond the /%u prefix",
						    t->name, i + 1, k->name, f->prefix_len);
		out->prefix_len = f->prefix_len;
		memcpy(out->mask, m, TDI_VALUE_BYTES);
		return 0;
	case TDI_MATCH_RANGE:
		if (!tdi_value_fits(f->high, w))
			return ipdk_err_set(err, -ERANGE,
					    "table %s: key field %u (%s): range high bound does not fit in %u bits",
					    t->name, i + 1, k->name, w);
		if (memcmp(f->value, f->high, TDI_VALUE_BYTES) > 0)
			return ipdk_err_set(err, -EINVAL,
					    "table %s: key field %u (%s): range low bound exceeds high bound",
					    t->name, i + 1, k->name);
		memcpy(out->high, f->high, TDI_VALUE_BYTES);
		return 0;
	case TDI_MATCH_OPTIONAL:
	case TDI_MATCH_TERNARY:
		if (!tdi_value_fits(f->mask, w))
			return ipdk_err_set(err, -ERANGE, "table %s: key field %u (%s): mask does not fit in %u bits",
					    t->name, i + 1, k->name, w);
		for (int b = 0; b < TDI_VALUE_BYTES; b++)
			if (f->value[b] & ~f->mask[b])
				return ipdk_err_set(err, -EINVAL,
						    "table %s: key field %u (%s): value has bits set outside the mask",
						    t->name, i + 1, k->name);
		if (k->match == TDI_MATCH_OPTIONAL && !tdi_value_is_zero(f->mask)) {
			tdi_value_ones(m, w);
			if (memcmp(m, f->mask, TDI_VALUE_BYTES))
				return ipdk_err_set(err, -EINVAL,
						    "table %s: key field %u (%s): optional match takes a full mask or none",
						    t->name, i + 1, k->name);
		}
		memcpy(out->mask, f->mask, TDI_VALUE_BYTES);
		return 0;
	}
	return ipdk_err_set(err, -EINVAL, "table %s: key field %u (%s): unknown match kind",
			    t->name, i + 1, k->name);
}

static int key_check(const struct tdi_table_info *t, const struct table_rt *rt,
		     const struct tdi_entry *e, struct tdi_entry *out, struct ipdk_err *err)
{
	int rc;

	if (t->kind != TDI_TABLE_MATCH)
		return ipdk_err_set(err, -EINVAL, "table %s: %s tables hold no match entries",
				    t->name, t->kind == TDI_TABLE_SELECTOR ? "selector" : "learner");
	for (uint32_t i = 0; i < t->n_keys; i++) {
		rc = field_check(t, i, &e->key[i], &out->key[i], err);
		if (rc)
			return rc;
	}
	if (rt->has_prio && !e->priority)
		return ipdk_err_set(err, -EINVAL,
				    "table %s: a priority (non-zero) is required for ternary, range and optional matches",
				    t->name);
	if (!rt->has_prio && e->priority)
		return ipdk_err_set(err, -EINVAL,
				    "table %s: priority %u given but the table has no ternary, range or optional field",
				    t->name, e->priority);
	out->priority = e->priority;
	return 0;
}

static int action_check(const struct tdi_dev *dev, const struct tdi_table_info *t,
			const struct tdi_entry *e, bool is_default, struct tdi_entry *out,
			struct ipdk_err *err)
{
	const struct tdi_action_info *a;
	uint32_t i;

	if (e->action_id >= dev->schema.n_actions)
		return ipdk_err_set(err, -EINVAL, "table %s: unknown action id %u", t->name,
				    e->action_id);
	a = &dev->schema.actions[e->action_id];
	for (i = 0; i < t->n_actions; i++)
		if (t->action_ids[i] == e->action_id)
			break;
	if (i == t->n_actions)
		return ipdk_err_set(err, -EINVAL, "table %s: action %s is not one of the table's actions",
				    t->name, a->name);
	if (is_default && t->action_table_only && t->action_table_only[i])
		return ipdk_err_set(err, -EINVAL, "table %s: action %s cannot be the default action",
				    t->name, a->name);
	if (!is_default && t->action_default_only && t->action_default_only[i])
		return ipdk_err_set(err, -EINVAL, "table %s: action %s can only be the default action",
				    t->name, a->name);
	for (i = 0; i < a->n_params; i++) {
		if (!tdi_value_fits(e->params[i], a->params[i].n_bits))
			return ipdk_err_set(err, -ERANGE,
					    "table %s: action %s: parameter %s: value does not fit in %u bits",
					    t->name, a->name, a->params[i].name, a->params[i].n_bits);
		memcpy(out->params[i], e->params[i], TDI_VALUE_BYTES);
	}
	out->action_id = e->action_id;
	return 0;
}

/* ---- Open, close -------------------------------------------------------- */

static int table_rt_init(struct tdi_dev *dev, uint32_t id, struct ipdk_err *err)
{
	const struct tdi_table_info *t = &dev->schema.tables[id];
	struct table_rt *rt = &dev->rt[id];
	uint32_t data = 0;
	int rc;

	rt->dflt = calloc(1, sizeof(*rt->dflt));
	rt->dflt_pend = calloc(1, sizeof(*rt->dflt_pend));
	if (!rt->dflt || !rt->dflt_pend)
		return ipdk_err_set(err, -ENOMEM, "table %s: out of memory", t->name);
	rt->dflt->table_id = id;
	rt->dflt->action_id = t->default_action_id;
	if (dev->ops->default_get && t->kind != TDI_TABLE_SELECTOR) {
		rc = dev->ops->default_get(dev->ctx, rt->dflt, err);
		if (rc)
			return rc;
	}
	*rt->dflt_pend = *rt->dflt;

	if (t->kind == TDI_TABLE_SELECTOR) {
		rt->groups = calloc(t->n_groups_max + 1, 1);
		rt->groups_pend = calloc(t->n_groups_max + 1, 1);
		if (!rt->groups || !rt->groups_pend)
			return ipdk_err_set(err, -ENOMEM, "table %s: out of memory", t->name);
		return 0;
	}
	if (t->kind != TDI_TABLE_MATCH)
		return 0;
	rt->has_prio = tdi_table_needs_priority(t);
	for (uint32_t i = 0; i < t->n_keys; i++)
		rt->key_len += field_key_bytes(&t->keys[i]);
	if (rt->has_prio)
		rt->key_len += 4;
	for (uint32_t i = 0; i < t->n_actions; i++) {
		uint32_t n = action_data_bytes(&dev->schema.actions[t->action_ids[i]]);

		if (n > data)
			data = n;
	}
	rt->data_len = 4 + data;
	rt->store = tdi_store_create(rt->key_len, rt->data_len);
	if (!rt->store)
		return ipdk_err_set(err, -ENOMEM, "table %s: out of memory", t->name);
	return 0;
}

static int schema_check(const struct tdi_schema *s, struct ipdk_err *err)
{
	for (uint32_t i = 0; i < s->n_tables; i++) {
		const struct tdi_table_info *t = &s->tables[i];

		if (t->n_keys > TDI_MAX_KEY_FIELDS)
			return ipdk_err_set(err, -EINVAL, "table %s: too many key fields", t->name);
		for (uint32_t j = 0; j < t->n_actions; j++)
			if (t->action_ids[j] >= s->n_actions)
				return ipdk_err_set(err, -EINVAL, "table %s: bad action id %u",
						    t->name, t->action_ids[j]);
		for (uint32_t j = 0; j < t->n_keys; j++)
			if (!t->keys[j].n_bits || t->keys[j].n_bits > TDI_VALUE_BYTES * 8)
				return ipdk_err_set(err, -EINVAL, "table %s: key field %s has %u bits",
						    t->name, t->keys[j].name, t->keys[j].n_bits);
	}
	return 0;
}

int tdi_dev_open(const struct tdi_target_ops *ops, void *target_ctx, struct tdi_dev **out,
		 struct ipdk_err *err)
{
	struct tdi_dev *dev;
	int rc;

	ipdk_err_clear(err);
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return ipdk_err_set(err, -ENOMEM, "TDI device: out of memory");
	dev->ops = ops;
	dev->ctx = target_ctx;
	rc = ops->schema_get(target_ctx, &dev->schema, err);
	if (rc)
		goto fail;
	rc = schema_check(&dev->schema, err);
	if (rc)
		goto fail;
	dev->rt = calloc(dev->schema.n_tables + 1, sizeof(*dev->rt));
	if (!dev->rt) {
		rc = ipdk_err_set(err, -ENOMEM, "TDI device: out of memory");
		goto fail;
	}
	for (uint32_t i = 0; i < dev->schema.n_tables; i++) {
		rc = table_rt_init(dev, i, err);
		if (rc)
			goto fail;
	}
	if (dev->schema.n_mirror_sessions) {
		dev->mirror = calloc(dev->schema.n_mirror_sessions, sizeof(*dev->mirror));
		dev->mirror_pend = calloc(dev->schema.n_mirror_sessions, sizeof(*dev->mirror));
		if (!dev->mirror || !dev->mirror_pend) {
			rc = ipdk_err_set(err, -ENOMEM, "TDI device: out of memory");
			goto fail;
		}
	}
	IPDK_LOG_DEBUG("TDI device open on target %s: %u tables, %u actions", ops->name,
		       dev->schema.n_tables, dev->schema.n_actions);
	*out = dev;
	return 0;
fail:
	ipdk_err_prefix(err, "target %s", ops->name);
	dev->ops = NULL;          /* the caller still owns the target context */
	tdi_dev_close(dev);
	return rc;
}

void tdi_dev_close(struct tdi_dev *dev)
{
	if (!dev)
		return;
	if (dev->in_batch && dev->ops)
		dev->ops->abort(dev->ctx);
	for (uint32_t i = 0; dev->rt && i < dev->schema.n_tables; i++) {
		tdi_store_free(dev->rt[i].store);
		free(dev->rt[i].dflt);
		free(dev->rt[i].dflt_pend);
		free(dev->rt[i].groups);
		free(dev->rt[i].groups_pend);
	}
	free(dev->rt);
	free(dev->mirror);
	free(dev->mirror_pend);
	schema_free(&dev->schema);
	if (dev->ops && dev->ops->close)
		dev->ops->close(dev->ctx);
	free(dev);
}

/* ---- Batches ------------------------------------------------------------ */

static bool mirror_same(const struct mirror_rt *a, const struct mirror_rt *b)
{
	return a->set == b->set && a->s.port_id == b->s.port_id &&
	       a->s.fast_clone == b->s.fast_clone &&
	       a->s.truncation_length == b->s.truncation_length;
}

/* Hands the target the first n sessions of to that differ from from; on a
 * failure *done says how many sessions were gone through before it. */
static int mirror_push(struct tdi_dev *dev, const struct mirror_rt *from,
		       const struct mirror_rt *to, uint32_t n, uint32_t *done,
		       struct ipdk_err *err)
{
	int rc;

	for (*done = 0; *done < n; (*done)++) {
		const struct mirror_rt *m = &to[*done];

		if (mirror_same(&from[*done], m))
			continue;
		rc = dev->ops->mirror_session_set(dev->ctx, *done, m->set ? &m->s : NULL, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* The target sets sessions at once: a batch hands them over before its
 * tables commit and takes them back if that fails, so that either all of it
 * takes effect or none. */
static int mirror_commit(struct tdi_dev *dev, struct ipdk_err *err)
{
	struct ipdk_err ignore;
	uint32_t done, undone;
	int rc;

	if (!dev->mirror_dirty)
		return 0;
	rc = mirror_push(dev, dev->mirror, dev->mirror_pend, dev->schema.n_mirror_sessions,
			 &done, err);
	if (rc)
		mirror_push(dev, dev->mirror_pend, dev->mirror, done, &undone, &ignore);
	return rc;
}

static void mirror_uncommit(struct tdi_dev *dev)
{
	struct ipdk_err ignore;
	uint32_t done;

	if (dev->mirror_dirty && mirror_push(dev, dev->mirror_pend, dev->mirror,
					     dev->schema.n_mirror_sessions, &done, &ignore))
		IPDK_LOG_ERR("mirror sessions could not be put back after a failed commit: %s",
			     ignore.msg);
}

static void dev_abort(struct tdi_dev *dev)
{
	dev->ops->abort(dev->ctx);
	if (dev->mirror_dirty) {
		memcpy(dev->mirror_pend, dev->mirror,
		       dev->schema.n_mirror_sessions * sizeof(*dev->mirror));
		dev->mirror_dirty = false;
	}
	for (uint32_t i = 0; i < dev->schema.n_tables; i++) {
		struct table_rt *rt = &dev->rt[i];
		const struct tdi_table_info *t = &dev->schema.tables[i];

		if (rt->store)
			tdi_store_abort(rt->store);
		if (rt->dflt_dirty) {
			*rt->dflt_pend = *rt->dflt;
			rt->dflt_dirty = false;
		}
		if (rt->groups_dirty) {
			memcpy(rt->groups_pend, rt->groups, t->n_groups_max);
			rt->groups_dirty = false;
		}
	}
}

static int dev_commit(struct tdi_dev *dev, struct ipdk_err *err)
{
	int rc;

	for (uint32_t i = 0; i < dev->schema.n_tables; i++) {
		if (!dev->rt[i].store)
			continue;
		rc = tdi_store_prepare(dev->rt[i].store);
		if (rc) {
			dev_abort(dev);
			return ipdk_err_set(err, rc, "table %s: cannot reserve room for the batch",
					    dev->schema.tables[i].name);
		}
	}
	rc = mirror_commit(dev, err);
	if (rc) {
		dev_abort(dev);
		return rc;
	}
	rc = dev->ops->commit(dev->ctx, err);
	if (rc) {
		mirror_uncommit(dev);
		dev_abort(dev);
		return rc;
	}
	if (dev->mirror_dirty) {
		memcpy(dev->mirror, dev->mirror_pend,
		       dev->schema.n_mirror_sessions * sizeof(*dev->mirror));
		dev->mirror_dirty = false;
	}
	for (uint32_t i = 0; i < dev->schema.n_tables; i++) {
		struct table_rt *rt = &dev->rt[i];

		if (rt->store)
			tdi_store_commit(rt->store);
		if (rt->dflt_dirty) {
			*rt->dflt = *rt->dflt_pend;
			rt->dflt_dirty = false;
		}
		if (rt->groups_dirty) {
			memcpy(rt->groups, rt->groups_pend, dev->schema.tables[i].n_groups_max);
			rt->groups_dirty = false;
		}
	}
	return 0;
}

/* Ends a write: commits it unless a batch is open; a failed write outside a
 * batch drops whatever the target may have staged. */
static int write_done(struct tdi_dev *dev, int rc, struct ipdk_err *err)
{
	if (dev->in_batch)
		return rc;
	if (rc) {
		dev_abort(dev);
		return rc;
	}
	return dev_commit(dev, err);
}

int tdi_batch_begin(struct tdi_dev *dev, struct ipdk_err *err)
{
	ipdk_err_clear(err);
	if (dev->in_batch)
		return ipdk_err_set(err, -EBUSY, "a batch is already open");
	dev->in_batch = true;
	return 0;
}

int tdi_batch_commit(struct tdi_dev *dev, struct ipdk_err *err)
{
	ipdk_err_clear(err);
	if (!dev->in_batch)
		return ipdk_err_set(err, -EINVAL, "no batch is open");
	dev->in_batch = false;
	return dev_commit(dev, err);
}

void tdi_batch_abort(struct tdi_dev *dev)
{
	if (!dev->in_batch)
		return;
	dev->in_batch = false;
	dev_abort(dev);
}

/* ---- Entry writes ------------------------------------------------------- */

static int entry_prepare(const struct tdi_dev *dev, const struct tdi_entry *e, bool want_action,
			 const struct tdi_table_info **t, struct tdi_entry *norm,
			 struct ipdk_err *err)
{
	int rc;

	ipdk_err_clear(err);
	if (!e)
		return ipdk_err_set(err, -EINVAL, "no entry given");
	rc = table_get(dev, e->table_id, t, err);
	if (rc)
		return rc;
	memset(norm, 0, sizeof(*norm));
	norm->table_id = e->table_id;
	norm->timeout_id = e->timeout_id;
	rc = key_check(*t, &dev->rt[e->table_id], e, norm, err);
	if (rc)
		return rc;
	if (want_action) {
		rc = action_check(dev, *t, e, false, norm, err);
		if (rc)
			return rc;
	}
	return 0;
}

int tdi_entry_add(struct tdi_dev *dev, const struct tdi_entry *e, struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	struct tdi_entry norm;
	struct table_rt *rt;
	uint8_t *key, *data;
	int rc;

	rc = entry_prepare(dev, e, true, &t, &norm, err);
	if (rc)
		return rc;
	rt = &dev->rt[e->table_id];
	key = alloca(rt->key_len);
	data = alloca(rt->data_len);
	key_encode(t, rt, &norm, key);
	if (tdi_store_get(rt->store, key))
		return ipdk_err_set(err, -EEXIST, "table %s: an entry with this key exists", t->name);
	if (tdi_store_count_view(rt->store) >= t->size)
		return ipdk_err_set(err, -ENOSPC, "table %s: full (%" PRIu64 " entries)", t->name,
				    t->size);
	rc = tdi_store_reserve(rt->store);
	if (rc)
		return ipdk_err_set(err, rc, "table %s: out of memory", t->name);
	rc = dev->ops->entry_add(dev->ctx, &norm, err);
	if (!rc) {
		data_encode(dev, &norm, data);
		tdi_store_put(rt->store, key, data);
	}
	return write_done(dev, rc, err);
}

int tdi_entry_modify(struct tdi_dev *dev, const struct tdi_entry *e, struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	struct tdi_entry norm;
	struct table_rt *rt;
	uint8_t *key, *data;
	int rc;

	rc = entry_prepare(dev, e, true, &t, &norm, err);
	if (rc)
		return rc;
	rt = &dev->rt[e->table_id];
	key = alloca(rt->key_len);
	data = alloca(rt->data_len);
	key_encode(t, rt, &norm, key);
	if (!tdi_store_get(rt->store, key))
		return ipdk_err_set(err, -ENOENT, "table %s: no entry with this key", t->name);
	rc = tdi_store_reserve(rt->store);
	if (rc)
		return ipdk_err_set(err, rc, "table %s: out of memory", t->name);
	if (dev->ops->entry_modify) {
		rc = dev->ops->entry_modify(dev->ctx, &norm, err);
	} else {
		rc = dev->ops->entry_delete(dev->ctx, &norm, err);
		if (!rc)
			rc = dev->ops->entry_add(dev->ctx, &norm, err);
	}
	if (!rc) {
		data_encode(dev, &norm, data);
		tdi_store_put(rt->store, key, data);
	}
	return write_done(dev, rc, err);
}

int tdi_entry_delete(struct tdi_dev *dev, const struct tdi_entry *e, struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	struct tdi_entry norm;
	struct table_rt *rt;
	const uint8_t *data;
	uint8_t *key;
	int rc;

	rc = entry_prepare(dev, e, false, &t, &norm, err);
	if (rc)
		return rc;
	rt = &dev->rt[e->table_id];
	key = alloca(rt->key_len);
	key_encode(t, rt, &norm, key);
	data = tdi_store_get(rt->store, key);
	if (!data)
		return ipdk_err_set(err, -ENOENT, "table %s: no entry with this key", t->name);
	/* Targets may want the action too (e.g. to release what it used). */
	data_decode(dev, data, &norm);
	rc = tdi_store_reserve(rt->store);
	if (rc)
		return ipdk_err_set(err, rc, "table %s: out of memory", t->name);
	rc = dev->ops->entry_delete(dev->ctx, &norm, err);
	if (!rc)
		tdi_store_del(rt->store, key);
	return write_done(dev, rc, err);
}

int tdi_default_set(struct tdi_dev *dev, const struct tdi_entry *e, struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	struct tdi_entry norm;
	int rc;

	ipdk_err_clear(err);
	if (!e)
		return ipdk_err_set(err, -EINVAL, "no entry given");
	rc = table_get(dev, e->table_id, &t, err);
	if (rc)
		return rc;
	if (t->kind == TDI_TABLE_SELECTOR)
		return ipdk_err_set(err, -EINVAL, "table %s: selector tables have no default action",
				    t->name);
	if (t->default_const)
		return ipdk_err_set(err, -EPERM, "table %s: the default action is const", t->name);
	memset(&norm, 0, sizeof(norm));
	norm.table_id = e->table_id;
	rc = action_check(dev, t, e, true, &norm, err);
	if (rc)
		return rc;
	rc = dev->ops->default_set(dev->ctx, &norm, err);
	if (!rc) {
		*dev->rt[e->table_id].dflt_pend = norm;
		dev->rt[e->table_id].dflt_dirty = true;
	}
	return write_done(dev, rc, err);
}

struct key_list {
	uint8_t *keys;
	uint32_t key_len;
	uint64_t n, cap;
};

static int collect_key(const uint8_t *key, const uint8_t *data, void *arg)
{
	struct key_list *l = arg;

	(void)data;
	if (l->n == l->cap)
		return -ENOMEM;
	memcpy(l->keys + l->n++ * l->key_len, key, l->key_len);
	return 0;
}

static int table_clear_one(struct tdi_dev *dev, uint32_t id, struct ipdk_err *err)
{
	const struct tdi_table_info *t = &dev->schema.tables[id];
	struct table_rt *rt = &dev->rt[id];
	struct key_list l = { .key_len = rt->key_len };
	struct tdi_entry e;
	int rc = 0;

	if (!rt->store || !tdi_store_count_view(rt->store))
		return 0;
	l.cap = tdi_store_count_view(rt->store);
	l.keys = malloc(l.cap * rt->key_len);
	if (!l.keys)
		return ipdk_err_set(err, -ENOMEM, "table %s: out of memory", t->name);
	tdi_store_iterate_view(rt->store, collect_key, &l);
	for (uint64_t i = 0; i < l.n && !rc; i++) {
		const uint8_t *key = l.keys + i * rt->key_len;

		memset(&e, 0, sizeof(e));
		e.table_id = id;
		key_decode(t, rt, key, &e);
		data_decode(dev, tdi_store_get(rt->store, key), &e);
		rc = tdi_store_reserve(rt->store);
		if (!rc)
			rc = dev->ops->entry_delete(dev->ctx, &e, err);
		if (!rc)
			tdi_store_del(rt->store, key);
	}
	free(l.keys);
	return rc;
}

int tdi_table_clear(struct tdi_dev *dev, uint32_t table_id, struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	int rc = 0;

	ipdk_err_clear(err);
	if (table_id != UINT32_MAX) {
		rc = table_get(dev, table_id, &t, err);
		if (rc)
			return rc;
		rc = table_clear_one(dev, table_id, err);
	} else {
		for (uint32_t i = 0; i < dev->schema.n_tables && !rc; i++)
			rc = table_clear_one(dev, i, err);
	}
	return write_done(dev, rc, err);
}

/* ---- Reads -------------------------------------------------------------- */

int tdi_entry_get(const struct tdi_dev *dev, struct tdi_entry *e, struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	const struct table_rt *rt;
	struct tdi_entry norm;
	const uint8_t *data;
	uint8_t *key;
	int rc;

	rc = entry_prepare(dev, e, false, &t, &norm, err);
	if (rc)
		return rc;
	rt = &dev->rt[e->table_id];
	key = alloca(rt->key_len);
	key_encode(t, rt, &norm, key);
	data = tdi_store_get(rt->store, key);
	if (!data)
		return ipdk_err_set(err, -ENOENT, "table %s: no entry with this key", t->name);
	data_decode(dev, data, e);
	return 0;
}

int tdi_default_get(const struct tdi_dev *dev, uint32_t table_id, struct tdi_entry *e,
		    struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	int rc;

	ipdk_err_clear(err);
	rc = table_get(dev, table_id, &t, err);
	if (rc)
		return rc;
	*e = *dev->rt[table_id].dflt;
	return 0;
}

struct iter_ctx {
	const struct tdi_dev *dev;
	const struct tdi_table_info *t;
	const struct table_rt *rt;
	struct tdi_entry e;
	int (*cb)(const struct tdi_entry *e, void *arg);
	void *arg;
};

static int iter_one(const uint8_t *key, const uint8_t *data, void *arg)
{
	struct iter_ctx *c = arg;

	key_decode(c->t, c->rt, key, &c->e);
	data_decode(c->dev, data, &c->e);
	return c->cb(&c->e, c->arg);
}

int tdi_entry_iterate(const struct tdi_dev *dev, uint32_t table_id,
		      int (*cb)(const struct tdi_entry *e, void *arg), void *arg)
{
	struct iter_ctx *c;
	int rc;

	if (table_id >= dev->schema.n_tables || !dev->rt[table_id].store)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->dev = dev;
	c->t = &dev->schema.tables[table_id];
	c->rt = &dev->rt[table_id];
	c->e.table_id = table_id;
	c->cb = cb;
	c->arg = arg;
	rc = tdi_store_iterate(c->rt->store, iter_one, c);
	free(c);
	return rc;
}

uint64_t tdi_entry_count(const struct tdi_dev *dev, uint32_t table_id)
{
	if (table_id >= dev->schema.n_tables || !dev->rt[table_id].store)
		return 0;
	return tdi_store_count(dev->rt[table_id].store);
}

/* ---- Selectors and learners --------------------------------------------- */

static int selector_get(struct tdi_dev *dev, uint32_t table_id, uint32_t group_id,
			const struct tdi_table_info **t, struct ipdk_err *err)
{
	int rc;

	ipdk_err_clear(err);
	rc = table_get(dev, table_id, t, err);
	if (rc)
		return rc;
	if ((*t)->kind != TDI_TABLE_SELECTOR)
		return ipdk_err_set(err, -EINVAL, "table %s: not a selector table", (*t)->name);
	if (group_id >= (*t)->n_groups_max)
		return ipdk_err_set(err, -ERANGE, "selector %s: group %u out of range (max %u groups)",
				    (*t)->name, group_id, (*t)->n_groups_max);
	return 0;
}

int tdi_selector_group_add(struct tdi_dev *dev, uint32_t table_id, uint32_t group_id,
			   struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	int rc = selector_get(dev, table_id, group_id, &t, err);

	if (rc)
		return rc;
	if (dev->rt[table_id].groups_pend[group_id])
		return ipdk_err_set(err, -EEXIST, "selector %s: group %u exists", t->name, group_id);
	rc = dev->ops->selector_group_add(dev->ctx, table_id, group_id, err);
	if (!rc) {
		dev->rt[table_id].groups_pend[group_id] = 1;
		dev->rt[table_id].groups_dirty = true;
	}
	return write_done(dev, rc, err);
}

int tdi_selector_group_delete(struct tdi_dev *dev, uint32_t table_id, uint32_t group_id,
			      struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	int rc = selector_get(dev, table_id, group_id, &t, err);

	if (rc)
		return rc;
	if (!dev->rt[table_id].groups_pend[group_id])
		return ipdk_err_set(err, -ENOENT, "selector %s: no group %u", t->name, group_id);
	rc = dev->ops->selector_group_delete(dev->ctx, table_id, group_id, err);
	if (!rc) {
		dev->rt[table_id].groups_pend[group_id] = 0;
		dev->rt[table_id].groups_dirty = true;
	}
	return write_done(dev, rc, err);
}

int tdi_selector_member_set(struct tdi_dev *dev, uint32_t table_id, uint32_t group_id,
			    uint32_t member_id, uint32_t weight, struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	int rc = selector_get(dev, table_id, group_id, &t, err);

	if (rc)
		return rc;
	if (!dev->rt[table_id].groups_pend[group_id])
		return ipdk_err_set(err, -ENOENT, "selector %s: no group %u", t->name, group_id);
	if (!weight)
		return ipdk_err_set(err, -EINVAL, "selector %s: group %u: member %u: weight must be at least 1",
				    t->name, group_id, member_id);
	rc = dev->ops->selector_member_set(dev->ctx, table_id, group_id, member_id, weight, err);
	return write_done(dev, rc, err);
}

int tdi_selector_member_delete(struct tdi_dev *dev, uint32_t table_id, uint32_t group_id,
			       uint32_t member_id, struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	int rc = selector_get(dev, table_id, group_id, &t, err);

	if (rc)
		return rc;
	if (!dev->rt[table_id].groups_pend[group_id])
		return ipdk_err_set(err, -ENOENT, "selector %s: no group %u", t->name, group_id);
	rc = dev->ops->selector_member_delete(dev->ctx, table_id, group_id, member_id, err);
	return write_done(dev, rc, err);
}

int tdi_learner_timeout_set(struct tdi_dev *dev, uint32_t table_id, uint32_t timeout_idx,
			    uint32_t seconds, struct ipdk_err *err)
{
	struct tdi_table_info *t;
	int rc;

	ipdk_err_clear(err);
	if (table_id >= dev->schema.n_tables)
		return ipdk_err_set(err, -EINVAL, "unknown table id %u", table_id);
	t = &dev->schema.tables[table_id];
	if (t->kind != TDI_TABLE_LEARNER)
		return ipdk_err_set(err, -EINVAL, "table %s: not a learner table", t->name);
	if (timeout_idx >= t->n_timeouts)
		return ipdk_err_set(err, -ERANGE, "learner %s: timeout %u out of range (%u timeouts)",
				    t->name, timeout_idx, t->n_timeouts);
	if (!seconds)
		return ipdk_err_set(err, -EINVAL, "learner %s: timeout must be at least 1 second",
				    t->name);
	/* Timeouts take effect at once in the target: they are not batched. */
	rc = dev->ops->learner_timeout_set(dev->ctx, table_id, timeout_idx, seconds, err);
	if (!rc)
		t->timeouts[timeout_idx] = seconds;
	return rc;
}

int tdi_table_stats(struct tdi_dev *dev, uint32_t table_id, struct tdi_table_stats *st,
		    struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	int rc;

	ipdk_err_clear(err);
	rc = table_get(dev, table_id, &t, err);
	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	if (!dev->ops->table_stats)
		return ipdk_err_set(err, -ENOTSUP, "table %s: target %s has no table statistics",
				    t->name, dev->ops->name);
	return dev->ops->table_stats(dev->ctx, table_id, st, err);
}

/* ---- Counters, registers, meters ---------------------------------------- */

/* Checks the cell of a direct (entry given, must exist) or indirect (index
 * within size) extern; returns the normalised entry in norm. */
static int cell_check(struct tdi_dev *dev, const char *what, const char *name, bool direct,
		      uint32_t table_id, uint64_t size, uint64_t index,
		      const struct tdi_entry *entry, struct tdi_entry *norm, struct ipdk_err *err)
{
	const struct tdi_table_info *t = NULL;
	uint8_t *key;
	int rc;

	if (!direct) {
		if (index >= size)
			return ipdk_err_set(err, -ERANGE, "%s %s: index %" PRIu64 " out of range (size %" PRIu64 ")",
					    what, name, index, size);
		return 0;
	}
	if (!entry)
		return ipdk_err_set(err, -EINVAL, "%s %s: direct, an entry is needed", what, name);
	if (entry->table_id != table_id)
		return ipdk_err_set(err, -EINVAL, "%s %s: entry is not of table %s", what, name,
				    dev->schema.tables[table_id].name);
	rc = entry_prepare(dev, entry, false, &t, norm, err);
	if (rc)
		return rc;
	key = alloca(dev->rt[table_id].key_len);
	key_encode(t, &dev->rt[table_id], norm, key);
	if (!tdi_store_get(dev->rt[table_id].store, key))
		return ipdk_err_set(err, -ENOENT, "%s %s: table %s has no entry with this key", what,
				    name, t->name);
	return 0;
}

int tdi_counter_read(struct tdi_dev *dev, uint32_t counter_id, uint64_t index,
		     const struct tdi_entry *entry, uint64_t *packets, uint64_t *bytes,
		     struct ipdk_err *err)
{
	const struct tdi_counter_info *c;
	struct tdi_entry norm;
	uint64_t p = 0, b = 0;
	int rc;

	ipdk_err_clear(err);
	if (counter_id >= dev->schema.n_counters)
		return ipdk_err_set(err, -EINVAL, "unknown counter id %u", counter_id);
	c = &dev->schema.counters[counter_id];
	rc = cell_check(dev, "counter", c->name, c->direct, c->table_id, c->size, index, entry,
			&norm, err);
	if (rc)
		return rc;
	rc = dev->ops->counter_read(dev->ctx, counter_id, index, c->direct ? &norm : NULL, &p, &b,
				    err);
	if (packets)
		*packets = p;
	if (bytes)
		*bytes = b;
	return rc;
}

int tdi_counter_write(struct tdi_dev *dev, uint32_t counter_id, uint64_t index,
		      const struct tdi_entry *entry, uint64_t packets, uint64_t bytes,
		      struct ipdk_err *err)
{
	const struct tdi_counter_info *c;
	struct tdi_entry norm;
	int rc;

	ipdk_err_clear(err);
	if (counter_id >= dev->schema.n_counters)
		return ipdk_err_set(err, -EINVAL, "unknown counter id %u", counter_id);
	c = &dev->schema.counters[counter_id];
	rc = cell_check(dev, "counter", c->name, c->direct, c->table_id, c->size, index, entry,
			&norm, err);
	if (rc)
		return rc;
	/* the target has no cell for a unit the counter does not count: a
	 * value for it would be dropped silently */
	if (packets && !(c->unit & TDI_COUNTER_PACKETS))
		return ipdk_err_set(err, -EINVAL, "counter %s: counts bytes only, packets must be 0",
				    c->name);
	if (bytes && !(c->unit & TDI_COUNTER_BYTES))
		return ipdk_err_set(err, -EINVAL, "counter %s: counts packets only, bytes must be 0",
				    c->name);
	return dev->ops->counter_write(dev->ctx, counter_id, index, c->direct ? &norm : NULL,
				       packets, bytes, err);
}

int tdi_counter_reset(struct tdi_dev *dev, uint32_t counter_id, uint64_t index,
		      const struct tdi_entry *entry, struct ipdk_err *err)
{
	return tdi_counter_write(dev, counter_id, index, entry, 0, 0, err);
}

static int register_get(struct tdi_dev *dev, uint32_t reg_id, uint64_t index,
			struct ipdk_err *err)
{
	const struct tdi_register_info *r;

	ipdk_err_clear(err);
	if (reg_id >= dev->schema.n_registers)
		return ipdk_err_set(err, -EINVAL, "unknown register id %u", reg_id);
	r = &dev->schema.registers[reg_id];
	if (index >= r->size)
		return ipdk_err_set(err, -ERANGE, "register %s: index %" PRIu64 " out of range (size %" PRIu64 ")",
				    r->name, index, r->size);
	return 0;
}

int tdi_register_read(struct tdi_dev *dev, uint32_t reg_id, uint64_t index, uint64_t *value,
		      struct ipdk_err *err)
{
	int rc = register_get(dev, reg_id, index, err);

	if (rc)
		return rc;
	return dev->ops->register_read(dev->ctx, reg_id, index, value, err);
}

int tdi_register_write(struct tdi_dev *dev, uint32_t reg_id, uint64_t index, uint64_t value,
		       struct ipdk_err *err)
{
	const struct tdi_register_info *r;
	int rc = register_get(dev, reg_id, index, err);

	if (rc)
		return rc;
	r = &dev->schema.registers[reg_id];
	if (r->n_bits < 64 && value >> r->n_bits)
		return ipdk_err_set(err, -ERANGE, "register %s: value %" PRIu64 " does not fit in %u bits",
				    r->name, value, r->n_bits);
	return dev->ops->register_write(dev->ctx, reg_id, index, value, err);
}

static int meter_get(struct tdi_dev *dev, uint32_t meter_id, uint64_t index,
		     const struct tdi_entry *entry, struct tdi_entry *norm,
		     struct ipdk_err *err)
{
	const struct tdi_meter_info *m;

	ipdk_err_clear(err);
	if (meter_id >= dev->schema.n_meters)
		return ipdk_err_set(err, -EINVAL, "unknown meter id %u", meter_id);
	m = &dev->schema.meters[meter_id];
	return cell_check(dev, "meter", m->name, m->direct, m->table_id, m->size, index, entry,
			  norm, err);
}

int tdi_meter_set(struct tdi_dev *dev, uint32_t meter_id, uint64_t index,
		  const struct tdi_entry *entry, uint64_t cir, uint64_t cbs, uint64_t pir,
		  uint64_t pbs, struct ipdk_err *err)
{
	struct tdi_entry norm;
	int rc = meter_get(dev, meter_id, index, entry, &norm, err);

	if (rc)
		return rc;
	if (pir < cir)
		return ipdk_err_set(err, -EINVAL, "meter %s: peak rate %" PRIu64 " below committed rate %" PRIu64,
				    dev->schema.meters[meter_id].name, pir, cir);
	if (!cir || !cbs || !pbs)
		return ipdk_err_set(err, -EINVAL, "meter %s: rates and bursts must be non-zero",
				    dev->schema.meters[meter_id].name);
	return dev->ops->meter_set(dev->ctx, meter_id, index,
				   dev->schema.meters[meter_id].direct ? &norm : NULL, cir, cbs, pir,
				   pbs, err);
}

int tdi_meter_reset(struct tdi_dev *dev, uint32_t meter_id, uint64_t index,
		    const struct tdi_entry *entry, struct ipdk_err *err)
{
	struct tdi_entry norm;
	int rc = meter_get(dev, meter_id, index, entry, &norm, err);

	if (rc)
		return rc;
	return dev->ops->meter_reset(dev->ctx, meter_id, index,
				     dev->schema.meters[meter_id].direct ? &norm : NULL, err);
}

int tdi_meter_stats(struct tdi_dev *dev, uint32_t meter_id, uint64_t index,
		    const struct tdi_entry *entry, uint64_t pkts[3], struct ipdk_err *err)
{
	struct tdi_entry norm;
	int rc = meter_get(dev, meter_id, index, entry, &norm, err);

	if (rc)
		return rc;
	return dev->ops->meter_stats(dev->ctx, meter_id, index,
				     dev->schema.meters[meter_id].direct ? &norm : NULL, pkts, err);
}

/* ---- Mirror sessions ---------------------------------------------------- */

static int mirror_check(const struct tdi_dev *dev, uint32_t session_id, struct ipdk_err *err)
{
	ipdk_err_clear(err);
	if (!dev->schema.n_mirror_sessions || !dev->ops->mirror_session_set)
		return ipdk_err_set(err, -ENOTSUP, "target %s: the pipeline has no mirror sessions",
				    dev->ops->name);
	if (session_id >= dev->schema.n_mirror_sessions)
		return ipdk_err_set(err, -ERANGE, "mirror session %u out of range (sessions 0 to %u)",
				    session_id, dev->schema.n_mirror_sessions - 1);
	return 0;
}

int tdi_mirror_session_set(struct tdi_dev *dev, uint32_t session_id, uint32_t port_id,
			   bool fast_clone, uint32_t truncation_length, struct ipdk_err *err)
{
	struct mirror_rt *m;
	int rc = mirror_check(dev, session_id, err);

	if (rc)
		return rc;
	if (port_id >= dev->schema.n_ports)
		return ipdk_err_set(err, -ERANGE, "mirror session %u: port %u out of range (ports 0 to %u)",
				    session_id, port_id, dev->schema.n_ports - 1);
	if (fast_clone && truncation_length)
		return ipdk_err_set(err, -EINVAL, "mirror session %u: a fast clone shares the packet "
				    "and cannot be truncated", session_id);
	m = &dev->mirror_pend[session_id];
	memset(m, 0, sizeof(*m));
	m->set = true;
	m->s.port_id = port_id;
	m->s.fast_clone = fast_clone;
	m->s.truncation_length = truncation_length;
	dev->mirror_dirty = true;
	return write_done(dev, 0, err);
}

int tdi_mirror_session_delete(struct tdi_dev *dev, uint32_t session_id, struct ipdk_err *err)
{
	int rc = mirror_check(dev, session_id, err);

	if (rc)
		return rc;
	if (!dev->mirror_pend[session_id].set)
		return ipdk_err_set(err, -ENOENT, "mirror session %u is not set", session_id);
	memset(&dev->mirror_pend[session_id], 0, sizeof(dev->mirror_pend[session_id]));
	dev->mirror_dirty = true;
	return write_done(dev, 0, err);
}

int tdi_mirror_session_get(const struct tdi_dev *dev, uint32_t session_id,
			   struct tdi_mirror_session *s, struct ipdk_err *err)
{
	int rc = mirror_check(dev, session_id, err);

	if (rc)
		return rc;
	if (!dev->mirror_pend[session_id].set)
		return ipdk_err_set(err, -ENOENT, "mirror session %u is not set", session_id);
	*s = dev->mirror_pend[session_id].s;
	return 0;
}
