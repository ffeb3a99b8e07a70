/*
 * Helpers shared by the files of lib/tdi: arithmetic on TDI's big-endian,
 * right-aligned value buffers and the priority rule of a table.
 */
#ifndef IPDK_TDI_PRIV_H
#define IPDK_TDI_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ipdk/tdi.h"

/* Bytes a value of n_bits occupies. */
static inline uint32_t tdi_bytes(uint32_t n_bits)
{
	return (n_bits + 7) / 8;
}

/* True when no bit at or above n_bits is set in v. */
static inline bool tdi_value_fits(const uint8_t v[TDI_VALUE_BYTES], uint32_t n_bits)
{
	uint32_t nb = tdi_bytes(n_bits), i;

	if (n_bits >= TDI_VALUE_BYTES * 8)
		return true;
	for (i = 0; i < TDI_VALUE_BYTES - nb; i++)
		if (v[i])
			return false;
	if (n_bits % 8 && (v[TDI_VALUE_BYTES - nb] >> (n_bits % 8)))
		return false;
	return true;
}

/* Sets out to a mask of the low n_bits bits. */
static inline void tdi_value_ones(uint8_t out[TDI_VALUE_BYTES], uint32_t n_bits)
{
	memset(out, 0, TDI_VALUE_BYTES);
	for (uint32_t i = 0; i < n_bits && i < TDI_VALUE_BYTES * 8; i++)
		out[TDI_VALUE_BYTES - 1 - i / 8] |= (uint8_t)(1u << (i % 8));
}

/* Sets out to the mask of the top plen bits of a width-bit field. */
static inline void tdi_prefix_mask(uint8_t out[TDI_VALUE_BYTES], uint32_t width, uint32_t plen)
{
	uint8_t low[TDI_VALUE_BYTES];

	tdi_value_ones(out, width);
	tdi_value_ones(low, width - plen);
	for (int i = 0; i < TDI_VALUE_BYTES; i++)
		out[i] &= (uint8_t)~low[i];
}

static inline bool tdi_value_is_zero(const uint8_t v[TDI_VALUE_BYTES])
{
	for (int i = 0; i < TDI_VALUE_BYTES; i++)
		if (v[i])
			return false;
	return true;
}

/* True when the table's entries carry a priority (ternary, range, optional). */
static inline bool tdi_table_needs_priority(const struct tdi_table_info *t)
{
	for (uint32_t i = 0; i < t->n_keys; i++)
		if (t->keys[i].match == TDI_MATCH_TERNARY || t->keys[i].match == TDI_MATCH_RANGE ||
		    t->keys[i].match == TDI_MATCH_OPTIONAL)
			return true;
	return false;
}

#endif
