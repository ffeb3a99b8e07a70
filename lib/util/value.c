/*
 * The one reader of values as users type them (ipdk/value.h). Numbers are
 * built digit by digit in the caller's big-endian buffer, so a value of any
 * width the buffer holds is exact (no 64-bit intermediate), and its width is
 * checked against the field's afterwards. Forms are told apart by their
 * characters: a MAC (six groups), a '.' for IPv4, a ':' for IPv6, "0x" for
 * hex, digits for decimal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ipdk/value.h"

int ipdk_hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ipdk_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	for (int g = 0; g < 6; g++) {
		int hi = ipdk_hexdigit(s[0]), lo;

		if (hi < 0)
			return -EINVAL;
		lo = ipdk_hexdigit(s[1]);
		if (lo >= 0) {
			m[g] = (uint8_t)(hi << 4 | lo);
			s += 2;
		} else {
			m[g] = (uint8_t)hi;
			s++;
		}
		if (g < 5 && *s != ':' && *s != '-')
			return -EINVAL;
		if (g < 5)
			s++;
	}
	if (*s)
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

uint32_t ipdk_value_bits(const uint8_t *v, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if (v[i]) {
			uint32_t n = 8;

			while (!(v[i] & (1u << (n - 1))))
				n--;
			return (uint32_t)(size - 1 - i) * 8 + n;
		}
	}
	return 0;
}

/* v = v * mul + add over size bytes; false when the result does not fit. */
static bool mul_add(uint8_t *v, size_t size, unsigned int mul, unsigned int add)
{
	unsigned int carry = add;

	for (size_t i = size; i-- > 0;) {
		unsigned int x = v[i] * mul + carry;

		v[i] = (uint8_t)x;
		carry = x >> 8;
	}
	return carry == 0;
}

/* Digits of s in base 16 or 10 into v; -EINVAL for a stray character,
 * -ERANGE when the number does not fit in size bytes. */
static int digits(const char *s, unsigned int base, uint8_t *v, size_t size)
{
	for (; *s; s++) {
		int d = base == 16 ? ipdk_hexdigit(*s) : (*s >= '0' && *s <= '9' ? *s - '0' : -1);

		if (d < 0)
			return -EINVAL;
		if (!mul_add(v, size, base, (unsigned int)d))
			return -ERANGE;
	}
	return 0;
}

int ipdk_value_parse(const char *s, uint32_t n_bits, uint8_t *out, size_t size,
		     struct ipdk_err *err)
{
	uint8_t mac[6];
	struct in_addr a4;
	struct in6_addr a6;
	int rc = 0;

	memset(out, 0, size);
	if (!s || !*s)
		return ipdk_err_set(err, -EINVAL, "empty value");
	if (!ipdk_mac_parse(s, mac)) {
		if (size < 6)
			rc = -ERANGE;
		else
			memcpy(out + size - 6, mac, 6);
	} else if (strchr(s, '.') && inet_pton(AF_INET, s, &a4) == 1) {
		if (size < 4)
			rc = -ERANGE;
		else
			memcpy(out + size - 4, &a4, 4);
	} else if (strchr(s, ':') && inet_pton(AF_INET6, s, &a6) == 1) {
		if (size < 16)
			rc = -ERANGE;
		else
			memcpy(out + size - 16, &a6, 16);
	} else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (!s[2])
			return ipdk_err_set(err, -EINVAL, "'%s' has no hex digits", s);
		rc = digits(s + 2, 16, out, size);
	} else {
		rc = digits(s, 10, out, size);
	}
	if (rc == -EINVAL)
		return ipdk_err_set(err, rc, "'%s' is not a number, IPv4/IPv6 address or MAC "
				    "(decimal, 0x hex, a.b.c.d, aa:bb:cc:dd:ee:ff)", s);
	if (rc || ipdk_value_bits(out, size) > n_bits)
		return ipdk_err_set(err, -ERANGE, "%s does not fit in %u bits", s,
				    n_bits < size * 8 ? n_bits : (unsigned int)(size * 8));
	return 0;
}
