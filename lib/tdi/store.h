/*
 * The TDI entry store, private to lib/tdi: one per match table, it keeps the
 * committed entries as fixed-size records (canonical key bytes, then entry
 * data) and the writes of the open batch as an overlay, so that lookups see
 * the batch's own writes while the committed view stays untouched until the
 * target's commit succeeds.
 */
#ifndef IPDK_TDI_STORE_H
#define IPDK_TDI_STORE_H

#include <stdbool.h>
#include <stdint.h>

struct tdi_store;

/* Creates a store for keys of key_len bytes and data of data_len bytes. */
struct tdi_store *tdi_store_create(uint32_t key_len, uint32_t data_len);

void tdi_store_free(struct tdi_store *s);

/* Returns the data of key as the open batch sees it, or NULL. */
const uint8_t *tdi_store_get(const struct tdi_store *s, const uint8_t *key);

/* Reserves room for one more staged write, so the next put or del of a key
 * cannot fail; callers use it before asking the target to stage the write. */
int tdi_store_reserve(struct tdi_store *s);

/* Stages an insert or replacement of key; -ENOMEM on allocation failure. */
int tdi_store_put(struct tdi_store *s, const uint8_t *key, const uint8_t *data);

/* Stages the removal of key (which must be present in the batch's view). */
int tdi_store_del(struct tdi_store *s, const uint8_t *key);

/* Entries as the open batch sees them, and as committed. */
uint64_t tdi_store_count_view(const struct tdi_store *s);
uint64_t tdi_store_count(const struct tdi_store *s);

/* True when the batch has staged writes. */
bool tdi_store_dirty(const struct tdi_store *s);

/* Reserves what tdi_store_commit() needs so that it cannot fail. */
int tdi_store_prepare(struct tdi_store *s);

/* Applies the staged writes (after tdi_store_prepare() succeeded). */
void tdi_store_commit(struct tdi_store *s);

/* Drops the staged writes. */
void tdi_store_abort(struct tdi_store *s);

/* Calls cb for each record the open batch sees (committed ones it has not
 * touched, then its own puts); cb must not modify the store. */
int tdi_store_iterate_view(const struct tdi_store *s,
			   int (*cb)(const uint8_t *key, const uint8_t *data, void *arg),
			   void *arg);

/* Calls cb for each committed record; stops at the first non-zero return. */
int tdi_store_iterate(const struct tdi_store *s,
		      int (*cb)(const uint8_t *key, const uint8_t *data, void *arg),
		      void *arg);

#endif
