/*
 * Values as users type them: decimal, 0x hex, dotted IPv4, IPv6 and MAC
 * addresses, read into a big-endian number right-aligned in the caller's
 * buffer and checked exactly against a field's bit width. One reader for
 * every place a person types a key, a mask or a parameter (p4rt-ctl, TDI's
 * text form, infrap4d-ctl, the virtual device table), so a value means the
 * same wherever it is typed. The match syntax around values (prefixes,
 * masks, ranges) stays with each caller: it depends on the field's kind.
 */
#ifndef IPDK_VALUE_H
#define IPDK_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "ipdk/err.h"

/* Parses s into out, a size-byte big-endian number (right-aligned), and checks
 * that it fits in n_bits; 0, -EINVAL (not a value) or -ERANGE, err naming s. */
int ipdk_value_parse(const char *s, uint32_t n_bits, uint8_t *out, size_t size,
		     struct ipdk_err *err);

/* Parses a MAC address "aa:bb:cc:dd:ee:ff" (':' or '-' between one or two hex
 * digits a group) into mac; 0 or -EINVAL. */
int ipdk_mac_parse(const char *s, uint8_t mac[6]);

/* The number of bits the size-byte big-endian number v needs (0 for zero). */
uint32_t ipdk_value_bits(const uint8_t *v, size_t size);

/* The value of the hex digit c, or -1. */
int ipdk_hexdigit(int c);

#endif
