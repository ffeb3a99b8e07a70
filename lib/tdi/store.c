/*
 * The TDI entry store: what a table holds, kept by the front end so that get,
 * iterate, count and duplicate checks never ask the target.
 *
 * A table can hold millions of entries, so records are fixed-size slots cut
 * from 4096-record chunks (no allocation per entry once a chunk exists) and
 * found through an open-addressing index of 32-bit record numbers keyed by a
 * hash of the canonical key bytes. A second, identical structure holds the
 * open batch's writes (puts and deletes); lookups consult it first. Commit
 * first reserves every chunk and index slot it will need, so that once the
 * target has committed, applying the batch here cannot fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define CHUNK_SHIFT 12
#define CHUNK_RECS (1u << CHUNK_SHIFT)
#define SLOT_EMPTY 0u
#define SLOT_TOMB UINT32_MAX
#define REC_HDR 8          /* u32 hash, u8 state, padding */

enum rec_state { REC_FREE, REC_PUT, REC_DEL };

struct rec_set {
	uint32_t key_len, data_len, rec_size;
	uint8_t **chunks;
	uint32_t n_chunks, cap_chunks;
	uint32_t n_recs;         /* records ever handed out (high-water mark) */
	uint32_t free_head;      /* record number + 1 of the first freed record */
	uint32_t n_free;
	uint32_t *slots;         /* record number + 1, SLOT_EMPTY or SLOT_TOMB */
	uint32_t n_slots;        /* power of two or 0 */
	uint32_t n_live, n_tomb;
};

struct tdi_store {
	struct rec_set main;     /* committed entries */
	struct rec_set pend;     /* the open batch's writes */
	uint64_t view_count;
};

static uint32_t hash_key(const uint8_t *p, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, v;

	while (n >= 8) {
		memcpy(&v, p, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		p += 8;
		n -= 8;
	}
	v = 0;
	memcpy(&v, p, n);
	h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return (uint32_t)h;
}

static void rs_init(struct rec_set *rs, uint32_t key_len, uint32_t data_len)
{
	memset(rs, 0, sizeof(*rs));
	rs->key_len = key_len;
	rs->data_len = data_len;
	/* Records hold a free-list link in their key area: at least 4 bytes. */
	rs->rec_size = (REC_HDR + (key_len < 4 ? 4 : key_len) + data_len + 7) & ~7u;
}

static void rs_fini(struct rec_set *rs)
{
	for (uint32_t i = 0; i < rs->n_chunks; i++)
		free(rs->chunks[i]);
	free(rs->chunks);
	free(rs->slots);
	rs_init(rs, rs->key_len, rs->data_len);
}

static inline uint8_t *rs_rec(const struct rec_set *rs, uint32_t idx)
{
	return rs->chunks[idx >> CHUNK_SHIFT] + (size_t)(idx & (CHUNK_RECS - 1)) * rs->rec_size;
}

static inline uint32_t rec_hash(const uint8_t *r)
{
	uint32_t h;

	memcpy(&h, r, 4);
	return h;
}

#define REC_STATE(r) ((r)[4])
#define REC_KEY(r) ((r) + REC_HDR)
#define REC_DATA(rs, r) ((r) + REC_HDR + (rs)->key_len)

static int rs_rehash(struct rec_set *rs, uint32_t n_slots)
{
	uint32_t *slots = calloc(n_slots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < rs->n_slots; i++) {
		uint32_t v = rs->slots[i], pos;

		if (v == SLOT_EMPTY || v == SLOT_TOMB)
			continue;
		pos = rec_hash(rs_rec(rs, v - 1)) & (n_slots - 1);
		while (slots[pos] != SLOT_EMPTY)
			pos = (pos + 1) & (n_slots - 1);
		slots[pos] = v;
	}
	free(rs->slots);
	rs->slots = slots;
	rs->n_slots = n_slots;
	rs->n_tomb = 0;
	return 0;
}

/* Makes room for extra more live records: chunks and index slots. */
static int rs_reserve(struct rec_set *rs, uint64_t extra)
{
	uint64_t spare = rs->n_free + (uint64_t)rs->n_chunks * CHUNK_RECS - rs->n_recs;
	uint64_t want;

	if (rs->n_live + extra >= UINT32_MAX / 2)
		return -ENOSPC;
	while (spare < extra) {
		if (rs->n_chunks == rs->cap_chunks) {
			uint32_t cap = rs->cap_chunks ? rs->cap_chunks * 2 : 8;
			uint8_t **c = realloc(rs->chunks, cap * sizeof(*c));

			if (!c)
				return -ENOMEM;
			rs->chunks = c;
			rs->cap_chunks = cap;
		}
		rs->chunks[rs->n_chunks] = malloc((size_t)CHUNK_RECS * rs->rec_size);
		if (!rs->chunks[rs->n_chunks])
			return -ENOMEM;
		rs->n_chunks++;
		spare += CHUNK_RECS;
	}
	/* Keep the index at most 70% full, tombstones included. */
	want = rs->n_live + rs->n_tomb + extra;
	if (rs->n_slots && want * 10 < (uint64_t)rs->n_slots * 7)
		return 0;
	uint64_t n = 64;
	while (n * 7 <= (rs->n_live + extra) * 20)
		n <<= 1;
	return rs_rehash(rs, (uint32_t)n);
}

/* Returns the slot position holding key, or -1. */
static int64_t rs_find(const struct rec_set *rs, const uint8_t *key, uint32_t h)
{
	uint32_t pos, v;

	if (!rs->n_slots)
		return -1;
	for (pos = h & (rs->n_slots - 1);; pos = (pos + 1) & (rs->n_slots - 1)) {
		v = rs->slots[pos];
		if (v == SLOT_EMPTY)
			return -1;
		if (v == SLOT_TOMB)
			continue;
		const uint8_t *r = rs_rec(rs, v - 1);

		if (rec_hash(r) == h && !memcmp(REC_KEY(r), key, rs->key_len))
			return pos;
	}
}

/* Inserts key (known absent, room reserved) and returns its record. */
static uint8_t *rs_insert(struct rec_set *rs, const uint8_t *key, uint32_t h)
{
	uint32_t idx, pos;
	uint8_t *r;

	if (rs->free_head) {
		idx = rs->free_head - 1;
		r = rs_rec(rs, idx);
		memcpy(&rs->free_head, REC_KEY(r), 4);
		rs->n_free--;
	} else {
		idx = rs->n_recs++;
		r = rs_rec(rs, idx);
	}
	memcpy(r, &h, 4);
	memcpy(REC_KEY(r), key, rs->key_len);
	for (pos = h & (rs->n_slots - 1);; pos = (pos + 1) & (rs->n_slots - 1)) {
		if (rs->slots[pos] == SLOT_EMPTY || rs->slots[pos] == SLOT_TOMB)
			break;
	}
	if (rs->slots[pos] == SLOT_TOMB)
		rs->n_tomb--;
	rs->slots[pos] = idx + 1;
	rs->n_live++;
	return r;
}

static void rs_remove(struct rec_set *rs, uint32_t pos)
{
	uint32_t idx = rs->slots[pos] - 1;
	uint8_t *r = rs_rec(rs, idx);

	REC_STATE(r) = REC_FREE;
	memcpy(REC_KEY(r), &rs->free_head, 4);
	rs->free_head = idx + 1;
	rs->n_free++;
	rs->slots[pos] = SLOT_TOMB;
	rs->n_tomb++;
	rs->n_live--;
}

struct tdi_store *tdi_store_create(uint32_t key_len, uint32_t data_len)
{
	struct tdi_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	rs_init(&s->main, key_len, data_len);
	rs_init(&s->pend, key_len, data_len);
	return s;
}

void tdi_store_free(struct tdi_store *s)
{
	if (!s)
		return;
	rs_fini(&s->main);
	rs_fini(&s->pend);
	free(s);
}

const uint8_t *tdi_store_get(const struct tdi_store *s, const uint8_t *key)
{
	uint32_t h = hash_key(key, s->main.key_len);
	int64_t pos = rs_find(&s->pend, key, h);
	const uint8_t *r;

	if (pos >= 0) {
		r = rs_rec(&s->pend, s->pend.slots[pos] - 1);
		return REC_STATE(r) == REC_PUT ? REC_DATA(&s->pend, r) : NULL;
	}
	pos = rs_find(&s->main, key, h);
	if (pos < 0)
		return NULL;
	r = rs_rec(&s->main, s->main.slots[pos] - 1);
	return REC_DATA(&s->main, r);
}

/* Finds or creates key's record in the batch overlay. */
static uint8_t *pend_rec(struct tdi_store *s, const uint8_t *key, int *rc)
{
	uint32_t h = hash_key(key, s->pend.key_len);
	int64_t pos = rs_find(&s->pend, key, h);

	*rc = 0;
	if (pos >= 0)
		return rs_rec(&s->pend, s->pend.slots[pos] - 1);
	*rc = rs_reserve(&s->pend, 1);
	if (*rc)
		return NULL;
	return rs_insert(&s->pend, key, h);
}

int tdi_store_reserve(struct tdi_store *s)
{
	return rs_reserve(&s->pend, 1);
}

int tdi_store_put(struct tdi_store *s, const uint8_t *key, const uint8_t *data)
{
	bool present = tdi_store_get(s, key) != NULL;
	uint8_t *r;
	int rc;

	r = pend_rec(s, key, &rc);
	if (!r)
		return rc;
	REC_STATE(r) = REC_PUT;
	memcpy(REC_DATA(&s->pend, r), data, s->pend.data_len);
	if (!present)
		s->view_count++;
	return 0;
}

int tdi_store_del(struct tdi_store *s, const uint8_t *key)
{
	bool present = tdi_store_get(s, key) != NULL;
	uint8_t *r;
	int rc;

	if (!present)
		return -ENOENT;
	r = pend_rec(s, key, &rc);
	if (!r)
		return rc;
	REC_STATE(r) = REC_DEL;
	s->view_count--;
	return 0;
}

uint64_t tdi_store_count_view(const struct tdi_store *s)
{
	return s->view_count;
}

uint64_t tdi_store_count(const struct tdi_store *s)
{
	return s->main.n_live;
}

bool tdi_store_dirty(const struct tdi_store *s)
{
	return s->pend.n_live != 0;
}

int tdi_store_prepare(struct tdi_store *s)
{
	return rs_reserve(&s->main, s->pend.n_live);
}

void tdi_store_commit(struct tdi_store *s)
{
	struct rec_set *p = &s->pend, *m = &s->main;

	for (uint32_t i = 0; i < p->n_recs; i++) {
		const uint8_t *r = rs_rec(p, i);
		uint32_t h = rec_hash(r);
		int64_t pos;

		if (REC_STATE(r) == REC_FREE)
			continue;
		pos = rs_find(m, REC_KEY(r), h);
		if (REC_STATE(r) == REC_DEL) {
			if (pos >= 0)
				rs_remove(m, (uint32_t)pos);
			continue;
		}
		uint8_t *dst = pos >= 0 ? rs_rec(m, m->slots[pos] - 1) : rs_insert(m, REC_KEY(r), h);

		REC_STATE(dst) = REC_PUT;
		memcpy(REC_DATA(m, dst), REC_DATA(p, r), m->data_len);
	}
	rs_fini(p);
	s->view_count = m->n_live;
}

void tdi_store_abort(struct tdi_store *s)
{
	rs_fini(&s->pend);
	s->view_count = s->main.n_live;
}

int tdi_store_iterate(const struct tdi_store *s,
		      int (*cb)(const uint8_t *key, const uint8_t *data, void *arg),
		      void *arg)
{
	const struct rec_set *m = &s->main;

	for (uint32_t i = 0; i < m->n_recs; i++) {
		const uint8_t *r = rs_rec(m, i);
		int rc;

		if (REC_STATE(r) != REC_PUT)
			continue;
		rc = cb(REC_KEY(r), REC_DATA(m, r), arg);
		if (rc)
			return rc;
	}
	return 0;
}

int tdi_store_iterate_view(const struct tdi_store *s,
			   int (*cb)(const uint8_t *key, const uint8_t *data, void *arg),
			   void *arg)
{
	const struct rec_set *m = &s->main, *p = &s->pend;
	int rc;

	for (uint32_t i = 0; i < m->n_recs; i++) {
		const uint8_t *r = rs_rec(m, i);

		if (REC_STATE(r) != REC_PUT || rs_find(p, REC_KEY(r), rec_hash(r)) >= 0)
			continue;
		rc = cb(REC_KEY(r), REC_DATA(m, r), arg);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < p->n_recs; i++) {
		const uint8_t *r = rs_rec(p, i);

		if (REC_STATE(r) != REC_PUT)
			continue;
		rc = cb(REC_KEY(r), REC_DATA(p, r), arg);
		if (rc)
			return rc;
	}
	return 0;
}
