/*
 * Table entry metadata: TableEntry.metadata and controller_metadata are
 * opaque to the target, but P4Runtime must return them on Read. TDI keeps no
 * room for them, so the service keeps them here, per table, in a hash table
 * keyed by the entry's P4Runtime key (each match field in the form its match
 * kind gives it, then the priority; the default entry has a key of its own).
 * Only entries that carry metadata take room, so tables written without any
 * cost nothing but an empty lookup.
 *
 * The direct meter configs of entries (the target cannot read a meter's
 * config back) are kept the same way, in a second store per table.
 *
 * Changes during a Write are logged with what they replaced, so that an
 * aborted batch puts everything back (p4_meta_end()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_int.h"

/* key: a default flag, then per field value [mask | high | prefix], priority */
#define META_KEY_MAX (1 + TDI_MAX_KEY_FIELDS * 2 * TDI_VALUE_BYTES + 4 + 4)

struct meta_rec {
	struct meta_rec *next;
	uint32_t hash, key_len;
	uint64_t cookie;                /* controller_metadata */
	size_t md_len;
	uint8_t *md;                    /* points after the key */
	uint8_t key[];
};

struct p4_mstore {
	struct meta_rec **buckets;
	uint32_t n_buckets, n;
};

struct meta_undo {
	struct p4_mstore **s;           /* the store changed */
	struct meta_rec *old;           /* what was there (NULL: nothing) */
	uint32_t key_len;
	uint8_t *key;
};

struct p4_meta_log {
	struct meta_undo *u;
	uint32_t n, cap;
};

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static uint8_t *put_bytes(uint8_t *out, const uint8_t v[TDI_VALUE_BYTES], uint32_t bits)
{
	uint32_t nb = (bits + 7) / 8;

	memcpy(out, v + TDI_VALUE_BYTES - nb, nb);
	return out + nb;
}

/* The P4Runtime key of e in t (or of t's default entry). */
static uint32_t meta_key(const struct p4m_table *t, const struct tdi_entry *e, bool dflt,
			 uint8_t *out)
{
	uint8_t *p = out;

	*p++ = dflt;
	for (uint32_t f = 0; f < t->n_fields && !dflt; f++) {
		const struct p4m_field *fd = &t->fields[f];
		const struct tdi_field_value *v = &e->key[fd->tdi_idx];

		p = put_bytes(p, v->value, fd->bits);
		switch (fd->match) {
		case TDI_MATCH_EXACT:
			break;
		case TDI_MATCH_LPM:
			memcpy(p, &v->prefix_len, 4);
			p += 4;
			break;
		case TDI_MATCH_RANGE:
			p = put_bytes(p, v->high, fd->bits);
			break;
		default:
			p = put_bytes(p, v->mask, fd->bits);
			break;
		}
	}
	if (!dflt) {
		memcpy(p, &e->priority, 4);
		p += 4;
	}
	return (uint32_t)(p - out);
}

static struct meta_rec **slot(struct p4_mstore *s, const uint8_t *key, uint32_t len,
			      uint32_t hash)
{
	struct meta_rec **pp = &s->buckets[hash & (s->n_buckets - 1)];

	while (*pp && ((*pp)->hash != hash || (*pp)->key_len != len ||
		       memcmp((*pp)->key, key, len)))
		pp = &(*pp)->next;
	return pp;
}

static int grow(struct p4_mstore *s)
{
	uint32_t nb = s->n_buckets ? s->n_buckets * 2 : 64;
	struct meta_rec **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->n_buckets; i++) {
		struct meta_rec *r = s->buckets[i], *next;

		for (; r; r = next) {
			next = r->next;
			r->next = b[r->hash & (nb - 1)];
			b[r->hash & (nb - 1)] = r;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->n_buckets = nb;
	return 0;
}

static struct meta_rec *rec_new(const uint8_t *key, uint32_t len, uint32_t hash, uint64_t cookie,
				const uint8_t *md, size_t md_len)
{
	struct meta_rec *r = malloc(sizeof(*r) + len + md_len + 1);

	if (!r)
		return NULL;
	r->next = NULL;
	r->hash = hash;
	r->key_len = len;
	memcpy(r->key, key, len);
	r->cookie = cookie;
	r->md = r->key + len;
	r->md_len = md_len;
	if (md_len)
		memcpy(r->md, md, md_len);
	return r;
}

/* Puts rec (NULL: nothing) at key in *sp; returns what was there, for the
 * caller to free or keep. */
static int swap_rec(struct p4_mstore **sp, const uint8_t *key, uint32_t len, struct meta_rec *rec,
		    struct meta_rec **old)
{
	uint32_t hash = fnv1a(key, len);
	struct p4_mstore *s = *sp;
	struct meta_rec **pp;

	*old = NULL;
	if (!s) {
		if (!rec)
			return 0;
		s = *sp = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
	}
	if (rec && s->n >= s->n_buckets && grow(s))
		return -ENOMEM;
	if (!s->n_buckets)
		return 0;
	pp = slot(s, key, len, hash);
	*old = *pp;
	if (*old) {
		*pp = (*old)->next;
		(*old)->next = NULL;
		s->n--;
	}
	if (rec) {
		rec->next = *pp;
		*pp = rec;
		s->n++;
	}
	return 0;
}

static int log_change(struct p4_model *m, struct p4_mstore **sp, const uint8_t *key, uint32_t len,
		      struct meta_rec *old)
{
	struct p4_meta_log *l = m->meta_log;
	struct meta_undo *u;

	if (p4_grow((void **)&l->u, &l->cap, l->n, sizeof(*l->u)))
		return -ENOMEM;
	u = &l->u[l->n];
	u->key = malloc(len);
	if (!u->key)
		return -ENOMEM;
	memcpy(u->key, key, len);
	u->s = sp;
	u->old = old;
	u->key_len = len;
	l->n++;
	return 0;
}

/* Sets (or with set false, removes) the record of e's key in store *sp of t. */
static int store_put(struct p4_model *m, struct p4m_table *t, struct p4_mstore **sp,
		     const struct tdi_entry *e, bool dflt, bool set, uint64_t cookie,
		     const uint8_t *md, size_t md_len, struct ipdk_err *err)
{
	uint8_t key[META_KEY_MAX];
	uint32_t len = meta_key(t, e, dflt, key);
	struct meta_rec *rec = NULL, *old;
	int rc;

	if (!*sp && !set)
		return 0;
	if (set) {
		rec = rec_new(key, len, fnv1a(key, len), cookie, md, md_len);
		if (!rec)
			return ipdk_err_set(err, -ENOMEM, "table %s: out of memory for metadata", t->name);
	}
	rc = swap_rec(sp, key, len, rec, &old);
	if (rc) {
		free(rec);
		return ipdk_err_set(err, rc, "table %s: out of memory for metadata", t->name);
	}
	if (m->meta_log && log_change(m, sp, key, len, old)) {
		/* cannot be undone: put the old one back and refuse */
		swap_rec(sp, key, len, old, &rec);
		free(rec);
		return ipdk_err_set(err, -ENOMEM, "table %s: out of memory for metadata", t->name);
	}
	if (!m->meta_log)
		free(old);
	return 0;
}

static const struct meta_rec *store_get(const struct p4m_table *t, const struct p4_mstore *s,
					const struct tdi_entry *e, bool dflt)
{
	uint8_t key[META_KEY_MAX];
	uint32_t len;

	if (!s || !s->n)
		return NULL;
	len = meta_key(t, e, dflt, key);
	return *slot((struct p4_mstore *)s, key, len, fnv1a(key, len));
}

int p4_meta_put(struct p4_model *m, const struct p4m_table *ct, const struct tdi_entry *e,
		bool dflt, uint64_t cookie, const ProtobufCBinaryData *md, struct ipdk_err *err)
{
	struct p4m_table *t = (struct p4m_table *)ct;
	bool set = cookie || (md && md->len);

	return store_put(m, t, &t->meta, e, dflt, set, cookie, set && md ? md->data : NULL,
			 set && md ? md->len : 0, err);
}

bool p4_meta_get(const struct p4m_table *t, const struct tdi_entry *e, bool dflt,
		 uint64_t *cookie, ProtobufCBinaryData *md)
{
	const struct meta_rec *r = store_get(t, t->meta, e, dflt);

	if (!r)
		return false;
	*cookie = r->cookie;
	md->data = r->md;
	md->len = r->md_len;
	return true;
}

int p4_meter_cfg_put(struct p4_model *m, const struct p4m_table *ct, const struct tdi_entry *e,
		     const int64_t cfg[4], struct ipdk_err *err)
{
	struct p4m_table *t = (struct p4m_table *)ct;

	return store_put(m, t, &t->meter_cfgs, e, false, cfg != NULL, 0, (const uint8_t *)cfg,
			 cfg ? 4 * sizeof(*cfg) : 0, err);
}

bool p4_meter_cfg_get(const struct p4m_table *t, const struct tdi_entry *e, int64_t cfg[4])
{
	const struct meta_rec *r = store_get(t, t->meter_cfgs, e, false);

	if (!r)
		return false;
	memcpy(cfg, r->md, 4 * sizeof(*cfg));
	return true;
}

int p4_meta_begin(struct p4_model *m)
{
	m->meta_log = calloc(1, sizeof(*m->meta_log));
	return m->meta_log ? 0 : -ENOMEM;
}

void p4_meta_end(struct p4_model *m, bool undo)
{
	struct p4_meta_log *l = m->meta_log;

	if (!l)
		return;
	for (uint32_t i = l->n; i-- > 0;) {
		struct meta_undo *u = &l->u[i];
		struct meta_rec *now = NULL;

		if (undo) {
			swap_rec(u->s, u->key, u->key_len, u->old, &now);
			free(now);
		} else {
			free(u->old);
		}
		free(u->key);
	}
	free(l->u);
	free(l);
	m->meta_log = NULL;
}

static void store_free(struct p4_mstore *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->n_buckets; i++) {
		struct meta_rec *r = s->buckets[i], *next;

		for (; r; r = next) {
			next = r->next;
			free(r);
		}
	}
	free(s->buckets);
	free(s);
}

void p4_meta_free(struct p4m_table *t)
{
	store_free(t->meta);
	store_free(t->meter_cfgs);
	t->meta = t->meter_cfgs = NULL;
}
