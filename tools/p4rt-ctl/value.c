/*
 * p4rt-ctl values (see value.h): what a user may type for a key field or an
 * action parameter, read by lib/util's ipdk_value_parse into a fixed-size
 * big-endian number so that width checks are exact for any field up to 512
 * bits, and the mask and byte-string arithmetic FLOW syntax needs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/value.h"
#include "value.h"

int val_parse(const char *s, uint32_t bits, const char *what, struct val *out,
	      struct ipdk_err *err)
{
	if (ipdk_value_parse(s, bits ? bits : VAL_MAX_BYTES * 8, out->b, VAL_MAX_BYTES, err))
		return ipdk_err_prefix(err, "%s", what);
	return 0;
}

void val_prefix_mask(uint32_t bits, uint32_t plen, struct val *out)
{
	memset(out, 0, sizeof(*out));
	if (plen > bits)
		plen = bits;
	/* bit i (0 = least significant) is set for bits - plen <= i < bits */
	for (uint32_t i = bits - plen; i < bits; i++)
		out->b[VAL_MAX_BYTES - 1 - i / 8] |= (uint8_t)(1u << (i % 8));
}

bool val_is_zero(const struct val *v)
{
	return ipdk_value_bits(v->b, VAL_MAX_BYTES) == 0;
}

bool val_is_all_ones(const struct val *v, uint32_t bits)
{
	struct val m;

	val_prefix_mask(bits, bits, &m);
	return !memcmp(&m, v, sizeof(m));
}

int val_prefix_len(const struct val *v, uint32_t bits)
{
	for (uint32_t plen = 0; plen <= bits; plen++) {
		struct val m;

		val_prefix_mask(bits, plen, &m);
		if (!memcmp(&m, v, sizeof(m)))
			return (int)plen;
	}
	return -1;
}

int val_to_bytes(const struct val *v, ProtobufCBinaryData *out)
{
	int i = 0;

	while (i < VAL_MAX_BYTES - 1 && !v->b[i])
		i++;
	out->len = (size_t)(VAL_MAX_BYTES - i);
	out->data = malloc(out->len);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, v->b + i, out->len);
	return 0;
}

int val_from_bytes(const ProtobufCBinaryData *b, struct val *out)
{
	size_t skip = 0;

	memset(out, 0, sizeof(*out));
	while (skip < b->len && !b->data[skip])
		skip++;
	if (b->len - skip > VAL_MAX_BYTES)
		return -ERANGE;
	memcpy(out->b + VAL_MAX_BYTES - (b->len - skip), b->data + skip, b->len - skip);
	return 0;
}

void bytes_hex(const ProtobufCBinaryData *b, char *buf, size_t size)
{
	size_t n = 0;

	n += (size_t)snprintf(buf, size, "0x");
	if (!b->len && n < size)
		n += (size_t)snprintf(buf + n, size - n, "00");
	for (size_t i = 0; i < b->len && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%02x", b->data[i]);
}

int u64_parse(const char *s, const char *what, uint64_t *out, struct ipdk_err *err)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		return ipdk_err_set(err, -EINVAL, "%s: \"%s\" is not a non-negative number", what, s);
	*out = strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
	if (*end || errno)
		return ipdk_err_set(err, -EINVAL, "%s: \"%s\" is not a number (decimal or 0x hex)",
				    what, s);
	return 0;
}
