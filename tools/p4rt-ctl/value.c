/*
 * p4rt-ctl values (see value.h): what a user may type for a key field or an
 * action parameter, read into a fixed-size big-endian number so that width
 * checks are exact for any field up to 512 bits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

int val_hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "aa:bb:cc:dd:ee:ff" (or with '-'), exactly six pairs of hex digits. */
static bool parse_mac(const char *s, struct val *v)
{
	uint8_t mac[6];

	for (int i = 0; i < 6; i++) {
		int h = val_hexdigit(s[0]), l = h >= 0 ? val_hexdigit(s[1]) : -1;

		if (h < 0 || l < 0)
			return false;
		mac[i] = (uint8_t)(h * 16 + l);
		s += 2;
		if (i < 5 && *s != ':' && *s != '-')
			return false;
		if (i < 5)
			s++;
	}
	if (*s)
		return false;
	memset(v, 0, sizeof(*v));
	memcpy(v->b + VAL_MAX_BYTES - 6, mac, 6);
	return true;
}

/* Bits a number needs (0 for zero). */
static uint32_t val_bits(const struct val *v)
{
	for (int i = 0; i < VAL_MAX_BYTES; i++) {
		if (v->b[i]) {
			uint32_t n = 8;

			while (!(v->b[i] & (1u << (n - 1))))
				n--;
			return (uint32_t)(VAL_MAX_BYTES - 1 - i) * 8 + n;
		}
	}
	return 0;
}

/* v = v * mul + add; false on overflow. */
static bool mul_add(struct val *v, unsigned int mul, unsigned int add)
{
	unsigned int carry = add;

	for (int i = VAL_MAX_BYTES - 1; i >= 0; i--) {
		unsigned int x = v->b[i] * mul + carry;

		v->b[i] = (uint8_t)x;
		carry = x >> 8;
	}
	return carry == 0;
}

int val_parse(const char *s, uint32_t bits, const char *what, struct val *out,
	      struct ipdk_err *err)
{
	struct in_addr a4;
	struct in6_addr a6;

	memset(out, 0, sizeof(*out));
	if (!*s)
		return ipdk_err_set(err, -EINVAL, "%s: empty value", what);
	if (parse_mac(s, out)) {
		/* done */
	} else if (strchr(s, '.') && inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(out->b + VAL_MAX_BYTES - 4, &a4, 4);
	} else if (strchr(s, ':') && inet_pton(AF_INET6, s, &a6) == 1) {
		memcpy(out->b + VAL_MAX_BYTES - 16, &a6, 16);
	} else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		const char *p = s + 2;

		if (!*p)
			return ipdk_err_set(err, -EINVAL, "%s: \"%s\" has no hex digits", what, s);
		for (; *p; p++) {
			int d = val_hexdigit(*p);

			if (d < 0)
				return ipdk_err_set(err, -EINVAL, "%s: \"%s\" is not a hex number", what, s);
			if (!mul_add(out, 16, (unsigned int)d))
				return ipdk_err_set(err, -ERANGE, "%s: %s is wider than %d bits", what, s,
						    VAL_MAX_BYTES * 8);
		}
	} else {
		for (const char *p = s; *p; p++) {
			if (*p < '0' || *p > '9')
				return ipdk_err_set(err, -EINVAL,
						    "%s: \"%s\" is not a number, IPv4/IPv6 address or MAC "
						    "(decimal, 0x hex, a.b.c.d, aa:bb:cc:dd:ee:ff)", what, s);
			if (!mul_add(out, 10, (unsigned int)(*p - '0')))
				return ipdk_err_set(err, -ERANGE, "%s: %s is wider than %d bits", what, s,
						    VAL_MAX_BYTES * 8);
		}
	}
	if (bits && val_bits(out) > bits)
		return ipdk_err_set(err, -ERANGE, "%s: %s does not fit in %" PRIu32 " bits", what, s,
				    bits);
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
	return val_bits(v) == 0;
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
