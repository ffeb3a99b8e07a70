/*
 * P4Runtime byte strings and TDI values: a P4Runtime value (big-endian, any
 * length, canonical form without leading zero bytes) into the fixed-size
 * big-endian TDI value of a field of a given width and back, and the masks
 * the match kinds need (all ones, a prefix, zero).
 */
#include <errno.h>
#include <string.h>

#include "p4rt_int.h"

static bool value_fits(const uint8_t v[TDI_VALUE_BYTES], uint32_t bits)
{
	uint32_t full = bits / 8, rem = bits % 8;
	uint32_t lead = TDI_VALUE_BYTES - full - (rem ? 1 : 0);

	for (uint32_t i = 0; i < lead; i++)
		if (v[i])
			return false;
	return !rem || !(v[lead] & (uint8_t)(0xff << rem));
}

void p4_value_ones(uint8_t out[TDI_VALUE_BYTES], uint32_t bits)
{
	memset(out, 0, TDI_VALUE_BYTES);
	for (uint32_t b = 0; b < bits; b++)
		out[TDI_VALUE_BYTES - 1 - b / 8] |= (uint8_t)(1u << (b % 8));
}

void p4_prefix_mask(uint8_t out[TDI_VALUE_BYTES], uint32_t bits, uint32_t plen)
{
	uint8_t low[TDI_VALUE_BYTES];

	p4_value_ones(out, bits);
	p4_value_ones(low, bits - plen);
	for (int i = 0; i < TDI_VALUE_BYTES; i++)
		out[i] &= (uint8_t)~low[i];
}

bool p4_value_zero(const uint8_t v[TDI_VALUE_BYTES])
{
	for (int i = 0; i < TDI_VALUE_BYTES; i++)
		if (v[i])
			return false;
	return true;
}

int p4_bytes_to_value(const ProtobufCBinaryData *b, uint32_t bits, uint8_t out[TDI_VALUE_BYTES],
		      const char *what, struct ipdk_err *err)
{
	size_t skip = 0;

	memset(out, 0, TDI_VALUE_BYTES);
	if (!b->len)
		return ipdk_err_set(err, -EINVAL, "%s: empty byte string", what);
	/* padded forms are accepted: leading zero bytes carry no value */
	while (skip < b->len && !b->data[skip])
		skip++;
	if (b->len - skip > TDI_VALUE_BYTES)
		return ipdk_err_set(err, -ERANGE, "%s: %zu bytes do not fit in %u bits", what,
				    b->len - skip, bits);
	memcpy(out + TDI_VALUE_BYTES - (b->len - skip), b->data + skip, b->len - skip);
	if (!value_fits(out, bits))
		return ipdk_err_set(err, -ERANGE, "%s: value does not fit in %u bits", what, bits);
	return 0;
}

ProtobufCBinaryData p4_value_to_bytes(const uint8_t v[TDI_VALUE_BYTES], uint8_t *buf)
{
	ProtobufCBinaryData d;
	int i = 0;

	while (i < TDI_VALUE_BYTES - 1 && !v[i])
		i++;
	memcpy(buf, v + i, (size_t)(TDI_VALUE_BYTES - i));
	d.data = buf;
	d.len = (size_t)(TDI_VALUE_BYTES - i);
	return d;
}
