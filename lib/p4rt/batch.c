/*
 * What one P4Runtime Write does besides TDI's own batch.
 *
 * Range fields: SWX tables have no range match, so ipdk-p4c declares a P4
 * range key as a wildcard (ternary) key and the control plane installs a
 * range as value/mask entries. Here a P4Runtime entry with range fields
 * becomes the smallest set of aligned blocks per range field (their cross
 * product when there are several), all with the entry's priority and
 * action. The P4Runtime keys are kept in a store per table (reads return
 * them, not the blocks); changes to a store during a Write are journalled so
 * an aborted batch undoes them.
 *
 * Entry metadata (meta.c) is logged during the batch as well: the commit
 * keeps it, an abort puts it back.
 *
 * Cell writes: counters, meters and registers are written by the target at
 * once, not at commit. So a Write queues them (after checking them) and runs
 * the queue only when the batch has committed: an aborted batch leaves them
 * as they were, and a committed one applies them in order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_int.h"

struct p4_rstore {
	uint32_t n, cap;
	struct tdi_entry *keys;         /* key[] and priority only */
};

struct journal_rec {
	struct p4_rstore *rs;
	bool added;                     /* undo: delete it (else: add it back) */
	struct tdi_entry key;
};

/* A queued cell write; a direct one keeps only its entry's key. */
struct queued_op {
	struct p4_cell_op op;           /* op.entry NULL */
	uint32_t table_id, priority;
	struct tdi_field_value *keys;   /* direct: op.n_keys fields, else NULL */
};

struct p4_batch {
	struct journal_rec *j;
	uint32_t n_j, cap_j;
	struct queued_op *ops;
	uint32_t n_ops, cap_ops;
	size_t update;
};

int p4_grow(void **arr, uint32_t *cap, uint32_t n, size_t elem)
{
	uint32_t c;
	void *p;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = realloc(*arr, c * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/* ---- the store ---------------------------------------------------------- */

int p4_ranges_init(struct p4m_table *t, struct ipdk_err *err)
{
	bool any = false;

	for (uint32_t f = 0; f < t->n_fields; f++) {
		if (!t->fields[f].expand)
			continue;
		if (t->fields[f].bits > 64)
			return ipdk_err_set(err, -EINVAL,
					    "P4Info table %s: range field %s is wider than 64 bits (the target has no range match)",
					    t->name, t->fields[f].name);
		any = true;
	}
	if (!any)
		return 0;
	t->ranges = calloc(1, sizeof(*t->ranges));
	return t->ranges ? 0 : ipdk_err_set(err, -ENOMEM, "out of memory");
}

void p4_ranges_free(struct p4m_table *t)
{
	if (!t->ranges)
		return;
	free(t->ranges->keys);
	free(t->ranges);
	t->ranges = NULL;
}

static bool key_equal(const struct p4m_table *t, const struct tdi_entry *a, const struct tdi_entry *b)
{
	if (a->priority != b->priority)
		return false;
	for (uint32_t f = 0; f < t->n_fields; f++) {
		uint32_t i = t->fields[f].tdi_idx;

		if (memcmp(&a->key[i], &b->key[i], sizeof(a->key[i])))
			return false;
	}
	return true;
}

static int64_t store_find(const struct p4_rstore *rs, const struct p4m_table *t,
			  const struct tdi_entry *key)
{
	for (uint32_t i = 0; i < rs->n; i++)
		if (key_equal(t, &rs->keys[i], key))
			return (int64_t)i;
	return -1;
}

static int store_put(struct p4_rstore *rs, const struct tdi_entry *key)
{
	if (p4_grow((void **)&rs->keys, &rs->cap, rs->n, sizeof(*rs->keys)))
		return -ENOMEM;
	rs->keys[rs->n++] = *key;
	return 0;
}

static void store_drop(struct p4_rstore *rs, const struct p4m_table *t, const struct tdi_entry *key)
{
	int64_t i = store_find(rs, t, key);

	if (i >= 0)
		rs->keys[i] = rs->keys[--rs->n];
}

bool p4_range_present(const struct p4m_table *t, const struct tdi_entry *key)
{
	return store_find(t->ranges, t, key) >= 0;
}

static int journal(struct p4_model *m, struct p4_rstore *rs, bool added, const struct tdi_entry *key)
{
	struct p4_batch *b = m->batch;

	if (!b)
		return 0;
	if (p4_grow((void **)&b->j, &b->cap_j, b->n_j, sizeof(*b->j)))
		return -ENOMEM;
	b->j[b->n_j].rs = rs;
	b->j[b->n_j].added = added;
	b->j[b->n_j].key = *key;
	b->n_j++;
	return 0;
}

int p4_range_add(struct p4_model *m, const struct p4m_table *t, const struct tdi_entry *key)
{
	int rc = journal(m, t->ranges, true, key);

	if (!rc)
		rc = store_put(t->ranges, key);
	if (rc && m->batch)
		m->batch->n_j--;
	return rc;
}

void p4_range_del(struct p4_model *m, const struct p4m_table *t, const struct tdi_entry *key)
{
	/* without room in the journal the entry could not come back on abort:
	 * keep it in the store rather than lose it (reads then show a deleted
	 * entry until the next change, which is better than the reverse) */
	if (journal(m, t->ranges, false, key))
		return;
	store_drop(t->ranges, t, key);
}

int p4_range_iterate(const struct p4m_table *t, int (*cb)(const struct tdi_entry *key, void *arg),
		     void *arg)
{
	for (uint32_t i = 0; i < t->ranges->n; i++) {
		int rc = cb(&t->ranges->keys[i], arg);

		if (rc)
			return rc;
	}
	return 0;
}

/* ---- expansion ---------------------------------------------------------- */

static uint64_t be_u64(const uint8_t v[TDI_VALUE_BYTES])
{
	uint64_t x = 0;

	for (int i = TDI_VALUE_BYTES - 8; i < TDI_VALUE_BYTES; i++)
		x = x << 8 | v[i];
	return x;
}

static void be_put(uint8_t v[TDI_VALUE_BYTES], uint64_t x)
{
	memset(v, 0, TDI_VALUE_BYTES);
	for (int i = TDI_VALUE_BYTES - 1; i >= TDI_VALUE_BYTES - 8; i--, x >>= 8)
		v[i] = (uint8_t)x;
}

static uint64_t low_ones(uint32_t k)
{
	return k >= 64 ? UINT64_MAX : (UINT64_C(1) << k) - 1;
}

/* The aligned blocks covering [lo, hi] of a bits-wide field: base and mask
 * pairs into out (at most max); returns how many, or -1 when more are needed. */
static int blocks(uint64_t lo, uint64_t hi, uint32_t bits, uint64_t (*out)[2], int max)
{
	int n = 0;

	for (;;) {
		uint32_t k = 0;

		/* grow the block at lo while lo stays aligned to it and it ends by hi */
		while (k < bits && !(lo & (UINT64_C(1) << k)) && low_ones(k + 1) <= hi - lo)
			k++;
		if (n == max)
			return -1;
		out[n][0] = lo;
		out[n][1] = low_ones(bits) & ~low_ones(k);
		n++;
		if (low_ones(k) >= hi - lo)
			return n;
		lo += low_ones(k) + 1;
	}
}

int p4_range_expand(const struct p4m_table *t, const struct tdi_entry *key,
		    struct tdi_entry **subs, uint32_t *n_out, struct ipdk_err *err)
{
	uint64_t (*bl[TDI_MAX_KEY_FIELDS])[2] = { NULL };
	int nb[TDI_MAX_KEY_FIELDS] = { 0 }, pos[TDI_MAX_KEY_FIELDS] = { 0 };
	uint32_t total = 1, n = 0;
	struct tdi_entry *out = NULL;
	int rc = 0;

	for (uint32_t f = 0; f < t->n_fields; f++) {
		const struct p4m_field *fd = &t->fields[f];
		const struct tdi_field_value *v = &key->key[fd->tdi_idx];

		if (!fd->expand)
			continue;
		bl[f] = calloc(P4_RANGE_MAX_SUBS, sizeof(*bl[f]));
		if (!bl[f]) {
			rc = ipdk_err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		nb[f] = blocks(be_u64(v->value), be_u64(v->high), fd->bits, bl[f], P4_RANGE_MAX_SUBS);
		if (nb[f] < 0 || total * (uint32_t)nb[f] > P4_RANGE_MAX_SUBS) {
			rc = ipdk_err_set(err, -ENOSPC,
					  "table %s: the ranges need more than %u value/mask entries on this target",
					  t->name, P4_RANGE_MAX_SUBS);
			goto out;
		}
		total *= (uint32_t)nb[f];
	}
	out = calloc(total, sizeof(*out));
	if (!out) {
		rc = ipdk_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* every combination of one block per range field, like an odometer */
	for (;;) {
		struct tdi_entry *e = &out[n++];
		uint32_t f;

		memset(e, 0, sizeof(*e));
		e->table_id = key->table_id;
		e->priority = key->priority;
		memcpy(e->key, key->key, sizeof(e->key));
		for (f = 0; f < t->n_fields; f++) {
			struct tdi_field_value *v = &e->key[t->fields[f].tdi_idx];

			if (!t->fields[f].expand)
				continue;
			be_put(v->value, bl[f][pos[f]][0]);
			be_put(v->mask, bl[f][pos[f]][1]);
			memset(v->high, 0, sizeof(v->high));
		}
		for (f = 0; f < t->n_fields; f++) {
			if (!t->fields[f].expand)
				continue;
			if (++pos[f] < nb[f])
				break;
			pos[f] = 0;
		}
		if (f == t->n_fields)
			break;
	}
	*subs = out;
	*n_out = n;
out:
	for (uint32_t f = 0; f < TDI_MAX_KEY_FIELDS; f++)
		free(bl[f]);
	return rc;
}

/* ---- the batch ---------------------------------------------------------- */

int p4_batch_begin(struct p4_model *m, struct ipdk_err *err)
{
	m->batch = calloc(1, sizeof(*m->batch));
	if (m->batch && !p4_meta_begin(m))
		return 0;
	free(m->batch);
	m->batch = NULL;
	return ipdk_err_set(err, -ENOMEM, "out of memory");
}

void p4_batch_update(struct p4_model *m, size_t update)
{
	if (m->batch)
		m->batch->update = update;
}

int p4_batch_defer(struct p4_model *m, const struct p4_cell_op *op, struct ipdk_err *err)
{
	struct p4_batch *b = m->batch;

	if (!b)
		return ipdk_err_set(err, -EINVAL, "cell write outside a batch");
	struct queued_op *q;

	if (p4_grow((void **)&b->ops, &b->cap_ops, b->n_ops, sizeof(*b->ops)))
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	q = &b->ops[b->n_ops];
	memset(q, 0, sizeof(*q));
	if (op->entry) {
		q->keys = malloc((op->n_keys + 1) * sizeof(*q->keys));
		if (!q->keys)
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		memcpy(q->keys, op->entry->key, op->n_keys * sizeof(*q->keys));
		q->table_id = op->entry->table_id;
		q->priority = op->entry->priority;
	}
	q->op = *op;
	q->op.entry = NULL;
	q->op.update = b->update;
	b->n_ops++;
	return 0;
}

static void batch_free(struct p4_model *m)
{
	if (!m->batch)
		return;
	free(m->batch->j);
	for (uint32_t i = 0; i < m->batch->n_ops; i++)
		free(m->batch->ops[i].keys);
	free(m->batch->ops);
	free(m->batch);
	m->batch = NULL;
}

static int op_run(struct tdi_dev *tdi, const struct queued_op *q, struct tdi_entry *e,
		  struct ipdk_err *err)
{
	const struct p4_cell_op *op = &q->op;
	struct p4m_cell_obj *c = op->c;
	bool direct = q->keys != NULL;
	int rc;

	if (direct) {
		memset(e, 0, sizeof(*e));
		e->table_id = q->table_id;
		e->priority = q->priority;
		memcpy(e->key, q->keys, op->n_keys * sizeof(*q->keys));
	} else {
		e = NULL;
	}

	switch (op->kind) {
	case P4_OP_COUNTER_WRITE:
		return tdi_counter_write(tdi, c->tdi_id, op->index, e, op->v[0], op->v[1], err);
	case P4_OP_METER_RESET:
		rc = tdi_meter_reset(tdi, c->tdi_id, op->index, e, err);
		if (!rc && c->meter_cfg && !direct)
			memset(c->meter_cfg[op->index], 0, sizeof(c->meter_cfg[op->index]));
		return rc;
	case P4_OP_METER_SET:
		rc = tdi_meter_set(tdi, c->tdi_id, op->index, e, op->v[0], op->v[1], op->v[2], op->v[3],
				   err);
		if (rc || direct)
			return rc;
		if (!c->meter_cfg)
			c->meter_cfg = calloc(c->size + 1, sizeof(*c->meter_cfg));
		if (c->meter_cfg)
			for (int i = 0; i < 4; i++)
				c->meter_cfg[op->index][i] = (int64_t)op->v[i];
		return 0;
	case P4_OP_REGISTER:
		return tdi_register_write(tdi, c->tdi_id, op->index, op->v[0], err);
	}
	return ipdk_err_set(err, -EINVAL, "unknown cell operation %d", op->kind);
}

void p4_batch_commit(struct p4_model *m, struct tdi_dev *tdi,
		     void (*fail)(size_t update, int rc, const struct ipdk_err *err, void *arg),
		     void *arg)
{
	struct p4_batch *b = m->batch;
	struct tdi_entry *e = b && b->n_ops ? malloc(sizeof(*e)) : NULL;

	for (uint32_t i = 0; b && i < b->n_ops; i++) {
		struct ipdk_err err;
		int rc;

		ipdk_err_clear(&err);
		rc = e ? op_run(tdi, &b->ops[i], e, &err)
		     : ipdk_err_set(&err, -ENOMEM, "out of memory");
		if (rc)
			fail(b->ops[i].op.update, rc, &err, arg);
	}
	free(e);
	p4_meta_end(m, false);
	batch_free(m);
}

void p4_batch_abort(struct p4_model *m)
{
	struct p4_batch *b = m->batch;

	for (uint32_t i = b ? b->n_j : 0; i-- > 0;) {
		struct journal_rec *r = &b->j[i];
		const struct p4m_table *t = NULL;

		for (uint32_t k = 0; k < m->n_tables && !t; k++)
			if (m->tables[k].ranges == r->rs)
				t = &m->tables[k];
		if (!t)
			continue;
		if (r->added)
			store_drop(r->rs, t, &r->key);
		else
			store_put(r->rs, &r->key);
	}
	p4_meta_end(m, true);
	batch_free(m);
}
