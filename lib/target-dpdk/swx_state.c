/*
 * The table state of an SWX pipeline, owned by us (see swx_state.h for the
 * scheme). This file holds the two table-state arrays, the change list of the
 * open batch (one byte arena that grows geometrically: no allocation per
 * entry), the entries of the tables DPDK can only build from scratch (a record
 * array with an open-addressing index), the members of selector groups, and
 * the commit: apply to the shadow, swap, wait for the data path, replay.
 *
 * Object ownership, which DPDK leaves implicit:
 *   - incrementally updated tables (exact match) and selectors have one
 *     object per array;
 *   - tables rebuilt on change (wildcard, LPM) have one object shared by both
 *     arrays, replaced as a whole; the old one is freed at the next commit,
 *     well after the last packet that could read it has left;
 *   - learner objects belong to the pipeline and are shared by both arrays.
 * DPDK's control handle keeps its own copy of the state, whose rebuilt-table
 * objects are shared with the array the pipeline had before us; the handle
 * frees those, so we free everything of that array except them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <rte_swx_ctl.h>
#include <rte_swx_pipeline.h>
#include <rte_swx_table_selector.h>

#include "ipdk/log.h"
#include "ipdk/target_dpdk.h"
#include "pipeline_priv.h"
#include "swx_state.h"

#define NAME_SZ RTE_SWX_CTL_NAME_SIZE
#define CHG_MIN_CAP (64 * 1024)
#define RSET_MIN_SLOTS 128

enum obj_kind { OBJ_TABLE, OBJ_SELECTOR, OBJ_LEARNER };

enum chg_op { CHG_ADD = 1, CHG_DEL = 2 };

/* One staged write; followed by its key, mask (tables that are not all
 * exact), action data, and for rebuilt tables the data it replaced. */
struct chg {
	uint8_t op;
	uint8_t had_old;        /* rebuilt tables: the identity was present */
	uint16_t rsv;
	uint32_t idx;
	uint32_t prio;
	uint32_t action_id;
	uint32_t old_action_id;
	uint32_t size;          /* of the whole record */
	uint8_t bytes[];
};

/* Entries of a rebuilt table: records of identity (key, mask, priority),
 * action id and action data, indexed by identity. */
struct rset {
	uint32_t id_size, rec_size;
	uint8_t *recs;
	uint64_t n, cap;
	uint64_t *slots;        /* record index + 1; 0: empty */
	uint64_t mask;          /* number of slots - 1 */
	struct rte_swx_table_entry *ents;  /* the list handed to create() */
	uint64_t ents_cap;
};

struct member {
	uint32_t id, weight;
};

struct stable {
	char name[NAME_SZ];
	enum obj_kind kind;
	uint32_t key_size, data_size;
	bool stub;              /* match table without key: default entry only */
	bool incremental;       /* exact: add/del in place; else rebuilt */
	bool has_mask;
	struct rte_swx_table_ops ops;
	struct rte_swx_table_params params;
	char args[NAME_SZ];
	uint8_t *lkp_buf;       /* key at params.key_offset, for lookups */
	void *mailbox;
	struct rset rs;
	uint8_t *idbuf;
	void *new_obj;          /* rebuilt in the commit under way */
	void *retired;          /* replaced by the previous commit, freed by the next */
	uint64_t n_chg;
	bool dflt_chg;
	uint32_t dflt_action;
	uint8_t *dflt_data;
	/* selectors */
	struct rte_swx_table_selector_params sp;
	uint32_t n_groups, m_max;
	struct member *cur, *next;          /* n_groups * m_max */
	uint32_t *cur_n, *next_n;
	uint8_t *dirty;
	struct rte_swx_table_selector_member *nodes;
};

struct swx_state {
	struct ipdk_dpdk_pipeline *pl;
	struct rte_swx_pipeline *p;
	int numa;
	uint32_t n_tables, n_selectors, n_learners, n;
	uint32_t *action_size;  /* action data bytes per action id */
	struct stable *t;
	struct rte_swx_table_state *ts[2];
	unsigned int active;
	uint8_t *chg;
	uint64_t chg_len, chg_cap;
	uint64_t staged;        /* writes in the open batch */
	uint64_t *undo;         /* offsets of the rebuilt-table changes applied */
	uint64_t undo_n, undo_cap;
};

static uint32_t align8(uint32_t n)
{
	return (n + 7) & ~7u;
}

/* ---- Change records ----------------------------------------------------- */

static uint32_t chg_size(const struct stable *t)
{
	uint32_t n = t->key_size * (t->has_mask ? 2 : 1) + t->data_size;

	if (!t->incremental)
		n += t->data_size;
	return align8((uint32_t)sizeof(struct chg) + n);
}

static uint8_t *chg_key(struct chg *c)
{
	return c->bytes;
}

static uint8_t *chg_mask(struct chg *c, const struct stable *t)
{
	return t->has_mask ? c->bytes + t->key_size : NULL;
}

static uint8_t *chg_data(struct chg *c, const struct stable *t)
{
	return c->bytes + t->key_size * (t->has_mask ? 2 : 1);
}

static uint8_t *chg_old(struct chg *c, const struct stable *t)
{
	return chg_data(c, t) + t->data_size;
}

static struct chg *chg_at(const struct swx_state *s, uint64_t off)
{
	return (struct chg *)(s->chg + off);
}

static struct chg *chg_push(struct swx_state *s, const struct stable *t, struct ipdk_err *err)
{
	uint32_t size = chg_size(t);
	struct chg *c;

	if (s->chg_len + size > s->chg_cap) {
		uint64_t cap = s->chg_cap ? s->chg_cap * 2 : CHG_MIN_CAP;
		uint8_t *n;

		while (cap < s->chg_len + size)
			cap *= 2;
		n = realloc(s->chg, cap);
		if (!n) {
			ipdk_err_set(err, -ENOMEM, "table %s: out of memory for the batch", t->name);
			return NULL;
		}
		s->chg = n;
		s->chg_cap = cap;
	}
	c = chg_at(s, s->chg_len);
	memset(c, 0, size);
	c->size = size;
	s->chg_len += size;
	return c;
}

static void entry_of(struct chg *c, const struct stable *t, struct rte_swx_table_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->key = chg_key(c);
	e->key_mask = chg_mask(c, t);
	e->key_priority = c->prio;
	e->action_id = c->action_id;
	e->action_data = chg_data(c, t);
}

/* ---- Records of rebuilt tables ------------------------------------------ */

static uint64_t hash_bytes(const uint8_t *p, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static uint8_t *rec_at(const struct rset *r, uint64_t i)
{
	return r->recs + i * r->rec_size;
}

static int rset_init(struct rset *r, uint32_t key_size, uint32_t data_size)
{
	r->id_size = 2 * key_size + 4;
	r->rec_size = align8(r->id_size + 4 + data_size);
	r->slots = calloc(RSET_MIN_SLOTS, sizeof(*r->slots));
	r->mask = RSET_MIN_SLOTS - 1;
	return r->slots ? 0 : -ENOMEM;
}

static void rset_fini(struct rset *r)
{
	free(r->recs);
	free(r->slots);
	free(r->ents);
	memset(r, 0, sizeof(*r));
}

/* The slot holding identity id, or the empty slot where it would go. */
static uint64_t rset_slot(const struct rset *r, const uint8_t *id)
{
	uint64_t i = hash_bytes(id, r->id_size) & r->mask;

	while (r->slots[i] && memcmp(rec_at(r, r->slots[i] - 1), id, r->id_size))
		i = (i + 1) & r->mask;
	return i;
}

/* Makes room for one more record (array and index). */
static int rset_room(struct rset *r)
{
	if (r->n == r->cap) {
		uint64_t cap = r->cap ? r->cap * 2 : 64;
		uint8_t *n = realloc(r->recs, cap * r->rec_size);

		if (!n)
			return -ENOMEM;
		r->recs = n;
		r->cap = cap;
	}
	if ((r->n + 1) * 2 > r->mask + 1) {
		uint64_t size = (r->mask + 1) * 2, *old = r->slots;

		r->slots = calloc(size, sizeof(*r->slots));
		if (!r->slots) {
			r->slots = old;
			return -ENOMEM;
		}
		r->mask = size - 1;
		for (uint64_t i = 0; i < r->n; i++)
			r->slots[rset_slot(r, rec_at(r, i))] = i + 1;
		free(old);
	}
	return 0;
}

/* Empties slot i of the linear-probing index, moving later entries of the
 * same run back so lookups still find them. */
static void rset_slot_clear(struct rset *r, uint64_t i)
{
	uint64_t j = i;

	for (;;) {
		uint64_t home;

		j = (j + 1) & r->mask;
		if (!r->slots[j])
			break;
		home = hash_bytes(rec_at(r, r->slots[j] - 1), r->id_size) & r->mask;
		if (i < j ? (home <= i || home > j) : (home <= i && home > j)) {
			r->slots[i] = r->slots[j];
			i = j;
		}
	}
	r->slots[i] = 0;
}

/* Removes the record in slot i; the last record moves into its place. */
static void rset_remove(struct rset *r, uint64_t i)
{
	uint64_t idx = r->slots[i] - 1, last = r->n - 1;

	rset_slot_clear(r, i);
	if (idx != last) {
		r->slots[rset_slot(r, rec_at(r, last))] = idx + 1;
		memcpy(rec_at(r, idx), rec_at(r, last), r->rec_size);
	}
	r->n--;
}

/* The action id follows the id, which has any length: unaligned, so memcpy. */
static uint32_t rec_action(const struct rset *r, const uint8_t *rec)
{
	uint32_t a;

	memcpy(&a, rec + r->id_size, sizeof(a));
	return a;
}

static void rec_action_set(const struct rset *r, uint8_t *rec, uint32_t action_id)
{
	memcpy(rec + r->id_size, &action_id, sizeof(action_id));
}

static uint8_t *rec_data(const struct rset *r, uint8_t *rec)
{
	return rec + r->id_size + 4;
}

/* Inserts or replaces id; old (may be NULL) receives what it replaced. */
static int rset_put(struct rset *r, const uint8_t *id, uint32_t action_id, const uint8_t *data,
		    uint32_t data_size, struct chg *old, uint8_t *old_data)
{
	uint64_t i = rset_slot(r, id);
	uint8_t *rec;
	int rc;

	if (r->slots[i]) {
		rec = rec_at(r, r->slots[i] - 1);
		if (old) {
			old->had_old = 1;
			old->old_action_id = rec_action(r, rec);
			memcpy(old_data, rec_data(r, rec), data_size);
		}
	} else {
		rc = rset_room(r);
		if (rc)
			return rc;
		i = rset_slot(r, id);
		rec = rec_at(r, r->n);
		r->slots[i] = ++r->n;
		memcpy(rec, id, r->id_size);
		if (old)
			old->had_old = 0;
	}
	rec_action_set(r, rec, action_id);
	memcpy(rec_data(r, rec), data, data_size);
	return 0;
}

static void rset_del(struct rset *r, const uint8_t *id, uint32_t data_size, struct chg *old,
		     uint8_t *old_data)
{
	uint64_t i = rset_slot(r, id);

	if (old)
		old->had_old = r->slots[i] != 0;
	if (!r->slots[i])
		return;
	if (old) {
		uint8_t *rec = rec_at(r, r->slots[i] - 1);

		old->old_action_id = rec_action(r, rec);
		memcpy(old_data, rec_data(r, rec), data_size);
	}
	rset_remove(r, i);
}

static void chg_identity(struct chg *c, struct stable *t)
{
	uint8_t *id = t->idbuf;

	memcpy(id, chg_key(c), t->key_size);
	if (t->has_mask)
		memcpy(id + t->key_size, chg_mask(c, t), t->key_size);
	else
		memset(id + t->key_size, 0xff, t->key_size);
	memcpy(id + 2 * t->key_size, &c->prio, 4);
}

static int rset_apply(struct stable *t, struct chg *c)
{
	chg_identity(c, t);
	if (c->op == CHG_ADD)
		return rset_put(&t->rs, t->idbuf, c->action_id, chg_data(c, t), t->data_size, c,
				chg_old(c, t));
	rset_del(&t->rs, t->idbuf, t->data_size, c, chg_old(c, t));
	return 0;
}

/* Reverts rset_apply(c). Cannot fail: a record put back was removed by the
 * same batch, so its room is still there. */
static void rset_undo(struct stable *t, struct chg *c)
{
	chg_identity(c, t);
	if (c->had_old)
		rset_put(&t->rs, t->idbuf, c->old_action_id, chg_old(c, t), t->data_size, NULL, NULL);
	else if (c->op == CHG_ADD)
		rset_del(&t->rs, t->idbuf, t->data_size, NULL, NULL);
}

/* Builds a new table object holding the records. */
static void *rset_build(struct swx_state *s, struct stable *t)
{
	struct rset *r = &t->rs;
	struct rte_swx_table_entry_list list;

	if (r->n > r->ents_cap) {
		uint64_t cap = r->ents_cap ? r->ents_cap : 64;
		struct rte_swx_table_entry *n;

		while (cap < r->n)
			cap *= 2;
		n = realloc(r->ents, cap * sizeof(*n));
		if (!n)
			return NULL;
		r->ents = n;
		r->ents_cap = cap;
	}
	TAILQ_INIT(&list);
	for (uint64_t i = 0; i < r->n; i++) {
		struct rte_swx_table_entry *e = &r->ents[i];
		uint8_t *rec = rec_at(r, i);

		memset(e, 0, sizeof(*e));
		e->key = rec;
		e->key_mask = rec + t->key_size;
		memcpy(&e->key_priority, rec + 2 * t->key_size, 4);
		e->action_id = rec_action(r, rec);
		e->action_data = rec_data(r, rec);
		TAILQ_INSERT_TAIL(&list, e, node);
	}
	return t->ops.create(&t->params, &list, t->args, s->numa);
}

/* ---- Exact tables ------------------------------------------------------- */

static int em_apply(struct stable *t, void *obj, struct chg *c)
{
	struct rte_swx_table_entry e;

	entry_of(c, t, &e);
	return c->op == CHG_ADD ? t->ops.add(obj, &e) : t->ops.del(obj, &e);
}

/* Looks key up in table object obj; returns 1 on hit with its action. */
static int em_lookup(struct stable *t, void *obj, const uint8_t *key, uint64_t *action_id,
		     uint8_t **data)
{
	uint8_t *buf = t->lkp_buf;
	size_t entry_id;
	int hit = 0;

	memcpy(buf + t->params.key_offset, key, t->key_size);
	while (!t->ops.lkp(obj, t->mailbox, &buf, action_id, data, &entry_id, &hit))
		;
	return hit;
}

/* ---- Selectors ---------------------------------------------------------- */

static int group_push(struct stable *t, void *obj, uint32_t g, const struct member *m,
		      uint32_t n)
{
	struct rte_swx_table_selector_group grp;

	TAILQ_INIT(&grp.members);
	for (uint32_t j = 0; j < n; j++) {
		t->nodes[j].member_id = m[j].id;
		t->nodes[j].member_weight = m[j].weight;
		TAILQ_INSERT_TAIL(&grp.members, &t->nodes[j], node);
	}
	return rte_swx_table_selector_group_set(obj, g, &grp);
}

static void group_stage(struct stable *t, uint32_t g)
{
	if (t->dirty[g])
		return;
	memcpy(&t->next[(size_t)g * t->m_max], &t->cur[(size_t)g * t->m_max],
	       t->m_max * sizeof(struct member));
	t->next_n[g] = t->cur_n[g];
	t->dirty[g] = 1;
}

/* ---- Setup and teardown ------------------------------------------------- */

/* Frees what an array owns: per-array objects, default data; the objects of
 * rebuilt tables only when rebuilt_too; never learner objects. */
static void array_free(struct swx_state *s, struct rte_swx_table_state *ts, bool rebuilt_too)
{
	if (!ts)
		return;
	for (uint32_t i = 0; i < s->n; i++) {
		struct stable *t = &s->t[i];

		if (t->kind == OBJ_TABLE && ts[i].obj && !t->stub &&
		    (t->incremental || rebuilt_too))
			t->ops.free(ts[i].obj);
		if (t->kind == OBJ_SELECTOR)
			rte_swx_table_selector_free(ts[i].obj);
		if (t->kind != OBJ_SELECTOR)
			free(ts[i].default_action_data);
	}
	free(ts);
}

static int action_sizes(struct swx_state *s, uint32_t n_actions, struct ipdk_err *err)
{
	s->action_size = calloc(n_actions + 1, sizeof(uint32_t));
	if (!s->action_size)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (uint32_t a = 0; a < n_actions; a++) {
		struct rte_swx_ctl_action_info ai;
		uint32_t bits = 0;

		if (rte_swx_ctl_action_info_get(s->p, a, &ai))
			return ipdk_err_set(err, -EIO, "action %u: no info", a);
		for (uint32_t j = 0; j < ai.n_args; j++) {
			struct rte_swx_ctl_action_arg_info ar;

			if (rte_swx_ctl_action_arg_info_get(s->p, a, j, &ar))
				return ipdk_err_set(err, -EIO, "action %s: no info on argument %u",
						    ai.name, j);
			bits += ar.n_bits;
		}
		s->action_size[a] = (bits + 7) / 8;
	}
	return 0;
}

/* Default entry of idx in both arrays, copied from the pipeline's array. */
static int defaults_init(struct swx_state *s, uint32_t idx, const struct rte_swx_table_state *old,
			 struct ipdk_err *err)
{
	struct stable *t = &s->t[idx];

	t->dflt_data = calloc(1, t->data_size + 8);
	if (!t->dflt_data)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (int k = 0; k < 2; k++) {
		struct rte_swx_table_state *ts = &s->ts[k][idx];

		ts->default_action_id = old[idx].default_action_id;
		ts->default_action_data = calloc(1, t->data_size + 8);
		if (!ts->default_action_data)
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		if (old[idx].default_action_data && t->data_size)
			memcpy(ts->default_action_data, old[idx].default_action_data, t->data_size);
	}
	return 0;
}

/* Key size, offset and mask from the match fields (as DPDK lays keys out:
 * from the smallest field offset to the end of the last field). */
static int key_params(struct stable *t, const struct rte_swx_ctl_table_match_field_info *mf,
		      uint32_t n, struct ipdk_err *err)
{
	uint32_t first = UINT32_MAX, end = 0;

	t->has_mask = false;
	for (uint32_t j = 0; j < n; j++) {
		if (mf[j].offset < first)
			first = mf[j].offset;
		if (mf[j].offset + mf[j].n_bits > end)
			end = mf[j].offset + mf[j].n_bits;
		if (mf[j].match_type != RTE_SWX_TABLE_MATCH_EXACT)
			t->has_mask = true;
	}
	t->key_size = n ? (end - first) / 8 : 0;
	t->params.key_size = t->key_size;
	t->params.key_offset = n ? first / 8 : 0;
	t->params.match_type = t->has_mask ? RTE_SWX_TABLE_MATCH_WILDCARD
					   : RTE_SWX_TABLE_MATCH_EXACT;
	if (!n)
		return 0;
	t->params.key_mask0 = calloc(1, t->key_size + 8);
	t->idbuf = calloc(1, 2 * t->key_size + 8);
	if (!t->params.key_mask0 || !t->idbuf)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (uint32_t j = 0; j < n; j++)
		memset(t->params.key_mask0 + (mf[j].offset - first) / 8, 0xff, mf[j].n_bits / 8);
	return 0;
}

static int table_objs(struct swx_state *s, uint32_t i, struct ipdk_err *err)
{
	struct stable *t = &s->t[i];
	uint64_t mbox;

	if (t->stub)
		return 0;
	t->incremental = t->ops.add && t->ops.del && t->ops.lkp && !t->has_mask;
	if (t->incremental) {
		s->ts[0][i].obj = t->ops.create(&t->params, NULL, t->args, s->numa);
		s->ts[1][i].obj = t->ops.create(&t->params, NULL, t->args, s->numa);
		mbox = t->ops.mailbox_size_get ? t->ops.mailbox_size_get() : 0;
		t->mailbox = calloc(1, mbox + 8);
		t->lkp_buf = calloc(1, t->params.key_offset + t->key_size + 8);
		if (!t->mailbox || !t->lkp_buf)
			return ipdk_err_set(err, -ENOMEM, "out of memory");
	} else {
		if (rset_init(&t->rs, t->key_size, t->data_size))
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		s->ts[0][i].obj = s->ts[1][i].obj = t->ops.create(&t->params, NULL, t->args, s->numa);
	}
	if (!s->ts[0][i].obj || !s->ts[1][i].obj)
		return ipdk_err_set(err, -ENOMEM, "table %s: DPDK could not create the table (%u entries)",
				    t->name, t->params.n_keys_max);
	return 0;
}

static int table_init(struct swx_state *s, uint32_t i, const struct rte_swx_table_state *old,
		      struct ipdk_err *err)
{
	struct rte_swx_ctl_table_match_field_info *mf;
	struct rte_swx_ctl_table_info ti;
	struct stable *t = &s->t[i];
	int stub = 0, rc;

	if (rte_swx_ctl_table_info_get(s->p, i, &ti) ||
	    rte_swx_ctl_table_ops_get(s->p, i, &t->ops, &stub))
		return ipdk_err_set(err, -EIO, "table %u: no info", i);
	t->kind = OBJ_TABLE;
	t->stub = stub;
	snprintf(t->name, sizeof(t->name), "%s", ti.name);
	snprintf(t->args, sizeof(t->args), "%s", ti.args);
	mf = calloc(ti.n_match_fields + 1, sizeof(*mf));
	if (!mf)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (uint32_t j = 0; j < ti.n_match_fields; j++)
		if (rte_swx_ctl_table_match_field_info_get(s->p, i, j, &mf[j])) {
			free(mf);
			return ipdk_err_set(err, -EIO, "table %s: no info on field %u", t->name, j);
		}
	rc = key_params(t, mf, ti.n_match_fields, err);
	free(mf);
	if (rc)
		return rc;
	for (uint32_t j = 0; j < ti.n_actions; j++) {
		struct rte_swx_ctl_table_action_info ta;

		if (rte_swx_ctl_table_action_info_get(s->p, i, j, &ta))
			return ipdk_err_set(err, -EIO, "table %s: no info on action %u", t->name, j);
		if (s->action_size[ta.action_id] > t->data_size)
			t->data_size = s->action_size[ta.action_id];
	}
	t->params.action_data_size = t->data_size;
	t->params.hash_func = ti.hash_func;
	t->params.n_keys_max = ti.size;
	rc = table_objs(s, i, err);
	return rc ? rc : defaults_init(s, i, old, err);
}

static int selector_init(struct swx_state *s, uint32_t k, struct ipdk_err *err)
{
	struct rte_swx_ctl_table_match_field_info gf, mf, f;
	struct rte_swx_ctl_selector_info si;
	uint32_t idx = s->n_tables + k, first = UINT32_MAX, end = 0;
	struct stable *t = &s->t[idx];
	size_t cells;

	if (rte_swx_ctl_selector_info_get(s->p, k, &si) ||
	    rte_swx_ctl_selector_group_id_field_info_get(s->p, k, &gf) ||
	    rte_swx_ctl_selector_member_id_field_info_get(s->p, k, &mf))
		return ipdk_err_set(err, -EIO, "selector %u: no info", k);
	t->kind = OBJ_SELECTOR;
	snprintf(t->name, sizeof(t->name), "%s", si.name);
	for (uint32_t j = 0; j < si.n_selector_fields; j++) {
		if (rte_swx_ctl_selector_field_info_get(s->p, k, j, &f))
			return ipdk_err_set(err, -EIO, "selector %s: no info on field %u", t->name, j);
		if (f.offset < first)
			first = f.offset;
		if (f.offset + f.n_bits > end)
			end = f.offset + f.n_bits;
	}
	t->sp.group_id_offset = gf.offset / 8;
	t->sp.member_id_offset = mf.offset / 8;
	t->sp.selector_offset = first / 8;
	t->sp.selector_size = (end - first) / 8;
	t->sp.n_groups_max = t->n_groups = si.n_groups_max;
	t->sp.n_members_per_group_max = t->m_max = si.n_members_per_group_max;
	t->sp.selector_mask = calloc(1, t->sp.selector_size + 8);
	if (!t->sp.selector_mask)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (uint32_t j = 0; j < si.n_selector_fields; j++) {
		rte_swx_ctl_selector_field_info_get(s->p, k, j, &f);
		memset(t->sp.selector_mask + (f.offset - first) / 8, 0xff, f.n_bits / 8);
	}
	cells = (size_t)t->n_groups * t->m_max;
	t->cur = calloc(cells + 1, sizeof(*t->cur));
	t->next = calloc(cells + 1, sizeof(*t->next));
	t->cur_n = calloc(t->n_groups + 1, sizeof(uint32_t));
	t->next_n = calloc(t->n_groups + 1, sizeof(uint32_t));
	t->dirty = calloc(t->n_groups + 1, 1);
	t->nodes = calloc(t->m_max + 1, sizeof(*t->nodes));
	if (!t->cur || !t->next || !t->cur_n || !t->next_n || !t->dirty || !t->nodes)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (int a = 0; a < 2; a++) {
		s->ts[a][idx].obj = rte_swx_table_selector_create(&t->sp, NULL, s->numa);
		if (!s->ts[a][idx].obj)
			return ipdk_err_set(err, -ENOMEM, "selector %s: DPDK could not create it",
					    t->name);
	}
	return 0;
}

static int learner_init(struct swx_state *s, uint32_t k, const struct rte_swx_table_state *old,
			struct ipdk_err *err)
{
	struct rte_swx_ctl_table_match_field_info *mf;
	struct rte_swx_ctl_learner_info li;
	uint32_t idx = s->n_tables + s->n_selectors + k;
	struct stable *t = &s->t[idx];
	int rc;

	if (rte_swx_ctl_learner_info_get(s->p, k, &li))
		return ipdk_err_set(err, -EIO, "learner %u: no info", k);
	t->kind = OBJ_LEARNER;
	snprintf(t->name, sizeof(t->name), "%s", li.name);
	mf = calloc(li.n_match_fields + 1, sizeof(*mf));
	if (!mf)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (uint32_t j = 0; j < li.n_match_fields; j++)
		rte_swx_ctl_learner_match_field_info_get(s->p, k, j, &mf[j]);
	rc = key_params(t, mf, li.n_match_fields, err);
	free(mf);
	if (rc)
		return rc;
	for (uint32_t j = 0; j < li.n_actions; j++) {
		struct rte_swx_ctl_table_action_info ta;

		if (rte_swx_ctl_learner_action_info_get(s->p, k, j, &ta))
			return ipdk_err_set(err, -EIO, "learner %s: no info on action %u", t->name, j);
		if (s->action_size[ta.action_id] > t->data_size)
			t->data_size = s->action_size[ta.action_id];
	}
	/* The data path adds to the learner table: one object for both arrays. */
	s->ts[0][idx].obj = s->ts[1][idx].obj = old[idx].obj;
	return defaults_init(s, idx, old, err);
}

static void tables_fini(struct swx_state *s)
{
	for (uint32_t i = 0; s->t && i < s->n; i++) {
		struct stable *t = &s->t[i];

		free(t->params.key_mask0);
		free(t->lkp_buf);
		free(t->mailbox);
		free(t->idbuf);
		free(t->dflt_data);
		if (t->retired)
			t->ops.free(t->retired);
		rset_fini(&t->rs);
		free(t->sp.selector_mask);
		free(t->cur);
		free(t->next);
		free(t->cur_n);
		free(t->next_n);
		free(t->dirty);
		free(t->nodes);
	}
	free(s->t);
	free(s->action_size);
	free(s->chg);
	free(s->undo);
	free(s);
}

int swx_state_create(struct ipdk_dpdk_pipeline *pl, struct swx_state **out,
		     struct ipdk_err *err)
{
	struct rte_swx_ctl_pipeline_info info;
	struct rte_swx_table_state *old = NULL;
	struct swx_state *s;
	int rc = 0;

	s = calloc(1, sizeof(*s));
	if (!s)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	s->pl = pl;
	s->p = ipdk_dpdk_pipeline_swx(pl);
	if (rte_swx_ctl_pipeline_info_get(s->p, &info) ||
	    rte_swx_ctl_pipeline_numa_node_get(s->p, &s->numa) ||
	    rte_swx_pipeline_table_state_get(s->p, &old) || !old) {
		rc = ipdk_err_set(err, -EIO, "no table state");
		goto fail;
	}
	s->n_tables = info.n_tables;
	s->n_selectors = info.n_selectors;
	s->n_learners = info.n_learners;
	s->n = info.n_tables + info.n_selectors + info.n_learners;
	s->t = calloc(s->n + 1, sizeof(*s->t));
	s->ts[0] = calloc(s->n + 1, sizeof(struct rte_swx_table_state));
	s->ts[1] = calloc(s->n + 1, sizeof(struct rte_swx_table_state));
	if (!s->t || !s->ts[0] || !s->ts[1]) {
		rc = ipdk_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	rc = action_sizes(s, info.n_actions, err);
	for (uint32_t i = 0; !rc && i < s->n_tables; i++)
		rc = table_init(s, i, old, err);
	for (uint32_t k = 0; !rc && k < s->n_selectors; k++)
		rc = selector_init(s, k, err);
	for (uint32_t k = 0; !rc && k < s->n_learners; k++)
		rc = learner_init(s, k, old, err);
	if (rc)
		goto fail;
	rc = ipdk_dpdk_pipeline_hold(s->pl, err);
	if (rc)
		goto fail;
	rte_swx_pipeline_table_state_set(s->p, s->ts[0]);
	ipdk_dpdk_pipeline_state_adopted(s->pl);
	s->active = 0;
	ipdk_dpdk_pipeline_release(s->pl);
	/* The objects of rebuilt tables in the old array are also in the copy
	 * DPDK's control handle keeps, which frees them. */
	array_free(s, old, false);
	*out = s;
	return 0;
fail:
	if (s->t) {
		array_free(s, s->ts[1], false);
		array_free(s, s->ts[0], true);
	}
	tables_fini(s);
	return rc;
}

void swx_state_free(struct swx_state *s)
{
	if (!s)
		return;
	swx_state_abort(s);
	array_free(s, s->ts[!s->active], false);
	tables_fini(s);
}

/* ---- Staging ------------------------------------------------------------ */

uint32_t swx_state_key_size(const struct swx_state *s, uint32_t idx)
{
	return idx < s->n ? s->t[idx].key_size : 0;
}

uint32_t swx_state_data_size(const struct swx_state *s, uint32_t idx)
{
	return idx < s->n ? s->t[idx].data_size : 0;
}

static int entry_stage(struct swx_state *s, uint32_t idx, const struct rte_swx_table_entry *e,
		       enum chg_op op, struct ipdk_err *err)
{
	struct stable *t;
	struct chg *c;

	if (idx >= s->n_tables)
		return ipdk_err_set(err, -EINVAL, "table %u: not a match table", idx);
	t = &s->t[idx];
	if (t->stub)
		return ipdk_err_set(err, -ENOTSUP, "table %s: has no key, only a default entry",
				    t->name);
	c = chg_push(s, t, err);
	if (!c)
		return -ENOMEM;
	c->op = op;
	c->idx = idx;
	c->prio = e->key_priority;
	c->action_id = (uint32_t)e->action_id;
	memcpy(chg_key(c), e->key, t->key_size);
	if (t->has_mask) {
		if (e->key_mask)
			memcpy(chg_mask(c, t), e->key_mask, t->key_size);
		else
			memset(chg_mask(c, t), 0xff, t->key_size);
	}
	if (op == CHG_ADD && e->action_data && t->data_size)
		memcpy(chg_data(c, t), e->action_data, t->data_size);
	t->n_chg++;
	s->staged++;
	return 0;
}

int swx_state_entry_add(struct swx_state *s, uint32_t idx, const struct rte_swx_table_entry *e,
			struct ipdk_err *err)
{
	return entry_stage(s, idx, e, CHG_ADD, err);
}

int swx_state_entry_delete(struct swx_state *s, uint32_t idx,
			   const struct rte_swx_table_entry *e, struct ipdk_err *err)
{
	return entry_stage(s, idx, e, CHG_DEL, err);
}

int swx_state_default_set(struct swx_state *s, uint32_t idx, uint32_t action_id,
			  const uint8_t *data, struct ipdk_err *err)
{
	struct stable *t;

	if (idx >= s->n || s->t[idx].kind == OBJ_SELECTOR)
		return ipdk_err_set(err, -EINVAL, "table %u: has no default entry", idx);
	t = &s->t[idx];
	t->dflt_chg = true;
	t->dflt_action = action_id;
	memset(t->dflt_data, 0, t->data_size);
	if (data && t->data_size)
		memcpy(t->dflt_data, data, t->data_size);
	s->staged++;
	return 0;
}

void swx_state_default_get(const struct swx_state *s, uint32_t idx, uint32_t *action_id,
			   const uint8_t **data)
{
	const struct rte_swx_table_state *ts = &s->ts[s->active][idx];

	*action_id = (uint32_t)ts->default_action_id;
	*data = ts->default_action_data;
}

static int selector(struct swx_state *s, uint32_t idx, uint32_t group, struct stable **out,
		    struct ipdk_err *err)
{
	struct stable *t;

	if (idx >= s->n || s->t[idx].kind != OBJ_SELECTOR)
		return ipdk_err_set(err, -EINVAL, "table %u: not a selector", idx);
	t = &s->t[idx];
	if (group >= t->n_groups)
		return ipdk_err_set(err, -ERANGE, "selector %s: group %u out of range (%u groups)",
				    t->name, group, t->n_groups);
	*out = t;
	return 0;
}

int swx_state_group_clear(struct swx_state *s, uint32_t idx, uint32_t group,
			  struct ipdk_err *err)
{
	struct stable *t = NULL;
	int rc = selector(s, idx, group, &t, err);

	if (rc)
		return rc;
	group_stage(t, group);
	t->next_n[group] = 0;
	s->staged++;
	return 0;
}

int swx_state_member_set(struct swx_state *s, uint32_t idx, uint32_t group, uint32_t member,
			 uint32_t weight, struct ipdk_err *err)
{
	struct stable *t = NULL;
	struct member *m;
	uint32_t j;
	int rc = selector(s, idx, group, &t, err);

	if (rc)
		return rc;
	group_stage(t, group);
	m = &t->next[(size_t)group * t->m_max];
	for (j = 0; j < t->next_n[group] && m[j].id != member; j++)
		;
	if (!weight) {
		if (j < t->next_n[group])
			m[j] = m[--t->next_n[group]];
	} else if (j < t->next_n[group]) {
		m[j].weight = weight;
	} else if (j == t->m_max) {
		return ipdk_err_set(err, -ENOSPC, "selector %s: group %u has %u members, the most it takes",
				    t->name, group, t->m_max);
	} else {
		m[j].id = member;
		m[j].weight = weight;
		t->next_n[group]++;
	}
	s->staged++;
	return 0;
}

void swx_state_abort(struct swx_state *s)
{
	for (uint32_t i = 0; i < s->n; i++) {
		struct stable *t = &s->t[i];

		t->n_chg = 0;
		t->dflt_chg = false;
		if (t->kind == OBJ_SELECTOR)
			memset(t->dirty, 0, t->n_groups);
	}
	s->chg_len = 0;
	s->staged = 0;
}

struct rte_swx_table_state *swx_state_active(const struct swx_state *s)
{
	return s->ts[s->active];
}

/* ---- Commit ------------------------------------------------------------- */

static int undo_push(struct swx_state *s, uint64_t off)
{
	if (s->undo_n == s->undo_cap) {
		uint64_t cap = s->undo_cap ? s->undo_cap * 2 : 256;
		uint64_t *n = realloc(s->undo, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->undo = n;
		s->undo_cap = cap;
	}
	s->undo[s->undo_n++] = off;
	return 0;
}

static int entries_to_shadow(struct swx_state *s, struct rte_swx_table_state *sh,
			     uint64_t *done, struct ipdk_err *err)
{
	for (uint64_t off = 0; off < s->chg_len; off += chg_at(s, off)->size) {
		struct chg *c = chg_at(s, off);
		struct stable *t = &s->t[c->idx];
		int rc;

		*done = off + c->size;
		if (t->incremental) {
			rc = em_apply(t, sh[c->idx].obj, c);
		} else {
			rc = undo_push(s, off);
			if (!rc) {
				rc = rset_apply(t, c);
				if (rc)
					s->undo_n--;
			}
		}
		if (rc)
			return ipdk_err_set(err, rc < 0 ? rc : -EIO,
					    "table %s: DPDK refused to %s an entry (%s)", t->name,
					    c->op == CHG_ADD ? "add" : "delete",
					    strerror(rc < 0 ? -rc : EIO));
	}
	return 0;
}

/* Everything of the commit that can fail, on the shadow array. */
static int shadow_apply(struct swx_state *s, struct rte_swx_table_state *sh, uint64_t *done,
			struct ipdk_err *err)
{
	int rc;

	s->undo_n = 0;
	*done = 0;
	rc = entries_to_shadow(s, sh, done, err);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < s->n_tables; i++) {
		struct stable *t = &s->t[i];

		if (t->incremental || t->stub || !t->n_chg)
			continue;
		t->new_obj = rset_build(s, t);
		if (!t->new_obj)
			return ipdk_err_set(err, -ENOSPC, "table %s: DPDK could not build the table with %" PRIu64 " entries",
					    t->name, t->rs.n);
	}
	for (uint32_t i = s->n_tables; i < s->n_tables + s->n_selectors; i++) {
		struct stable *t = &s->t[i];

		for (uint32_t g = 0; g < t->n_groups; g++) {
			if (!t->dirty[g])
				continue;
			rc = group_push(t, sh[i].obj, g, &t->next[(size_t)g * t->m_max], t->next_n[g]);
			if (rc)
				return ipdk_err_set(err, rc, "selector %s: group %u: DPDK refused the members (%s)",
						    t->name, g, strerror(-rc));
		}
	}
	return 0;
}

/* Brings the shadow back to the active state after a failed shadow_apply().
 * Exact entries are restored from the active copy: deletes first, so the
 * re-adds find the room they had. */
static void shadow_repair(struct swx_state *s, struct rte_swx_table_state *sh,
			  struct rte_swx_table_state *ac, uint64_t done)
{
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t off = 0; off < done; off += chg_at(s, off)->size) {
			struct chg *c = chg_at(s, off);
			struct stable *t = &s->t[c->idx];
			struct rte_swx_table_entry e = { .key = chg_key(c) };
			uint8_t *data = NULL;
			uint64_t aid = 0;
			int hit;

			if (!t->incremental)
				continue;
			hit = em_lookup(t, ac[c->idx].obj, chg_key(c), &aid, &data);
			e.action_id = aid;
			e.action_data = data;
			if (pass == 0 && !hit)
				t->ops.del(sh[c->idx].obj, &e);
			if (pass == 1 && hit && t->ops.add(sh[c->idx].obj, &e))
				IPDK_LOG_ERR("table %s: could not restore an entry of the shadow copy",
					     t->name);
		}
	while (s->undo_n) {
		struct chg *c = chg_at(s, s->undo[--s->undo_n]);

		rset_undo(&s->t[c->idx], c);
	}
	for (uint32_t i = 0; i < s->n; i++) {
		struct stable *t = &s->t[i];

		if (t->new_obj)
			t->ops.free(t->new_obj);
		t->new_obj = NULL;
		for (uint32_t g = 0; t->kind == OBJ_SELECTOR && g < t->n_groups; g++)
			if (t->dirty[g])
				group_push(t, sh[i].obj, g, &t->cur[(size_t)g * t->m_max], t->cur_n[g]);
	}
}

/* Default entries and rebuilt objects: what cannot fail. */
static void defaults_to(struct swx_state *s, struct rte_swx_table_state *ts)
{
	for (uint32_t i = 0; i < s->n; i++) {
		struct stable *t = &s->t[i];

		if (!t->dflt_chg)
			continue;
		ts[i].default_action_id = t->dflt_action;
		if (t->data_size)
			memcpy(ts[i].default_action_data, t->dflt_data, t->data_size);
	}
}

/* Replays the batch on the array the data path left. */
static void replay(struct swx_state *s, struct rte_swx_table_state *in)
{
	uint64_t failed = 0;

	for (uint64_t off = 0; off < s->chg_len; off += chg_at(s, off)->size) {
		struct chg *c = chg_at(s, off);
		struct stable *t = &s->t[c->idx];

		if (t->incremental && em_apply(t, in[c->idx].obj, c))
			failed++;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		struct stable *t = &s->t[i];

		/* A replaced object is freed one commit later: a packet that
		 * lingers past the quiesce still finds it intact. */
		if (t->new_obj) {
			if (t->retired)
				t->ops.free(t->retired);
			t->retired = in[i].obj;
			in[i].obj = t->new_obj;
			t->new_obj = NULL;
		}
		for (uint32_t g = 0; t->kind == OBJ_SELECTOR && g < t->n_groups; g++) {
			struct member *next = &t->next[(size_t)g * t->m_max];

			if (!t->dirty[g])
				continue;
			if (group_push(t, in[i].obj, g, next, t->next_n[g]))
				failed++;
			memcpy(&t->cur[(size_t)g * t->m_max], next, t->m_max * sizeof(*next));
			t->cur_n[g] = t->next_n[g];
		}
	}
	defaults_to(s, in);
	if (failed)
		IPDK_LOG_ERR("pipeline %s: %" PRIu64 " changes failed on the second table copy; it differs from the active one",
			     ipdk_dpdk_pipeline_name(s->pl), failed);
}

int swx_state_commit(struct swx_state *s, struct ipdk_err *err)
{
	struct rte_swx_table_state *ac = s->ts[s->active], *sh = s->ts[!s->active];
	uint64_t done = 0;
	int rc;

	if (!s->staged)
		return 0;
	rc = shadow_apply(s, sh, &done, err);
	if (rc) {
		shadow_repair(s, sh, ac, done);
		swx_state_abort(s);
		return rc;
	}
	/* Swap only once no packet is in flight (and none admitted), so that ac
	 * is ours to bring up to date as soon as the data path reads sh; when
	 * packets do not leave, sh is put back and nothing has changed. */
	rc = ipdk_dpdk_pipeline_hold(s->pl, err);
	if (rc) {
		shadow_repair(s, sh, ac, done);
		swx_state_abort(s);
		return rc;
	}
	defaults_to(s, sh);
	for (uint32_t i = 0; i < s->n_tables; i++)
		if (s->t[i].new_obj)
			sh[i].obj = s->t[i].new_obj;
	rte_swx_pipeline_table_state_set(s->p, sh);
	s->active = !s->active;
	ipdk_dpdk_pipeline_release(s->pl);
	replay(s, ac);
	swx_state_abort(s);
	return 0;
}
