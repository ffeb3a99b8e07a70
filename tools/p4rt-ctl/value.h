/*
 * Values as users type them, turned into P4Runtime byte strings and back:
 * decimal, 0x hex, dotted IPv4, IPv6, MAC (ipdk/value.h reads them); the match forms VALUE/LEN
 * (prefix), VALUE/MASK and VALUE&&&MASK (ternary), LOW..HIGH (range) and *
 * (don't care). Byte strings are canonical (no leading zero bytes, at least
 * one byte) and checked against the field's bit width from the P4Info.
 */
#ifndef P4RT_CTL_VALUE_H
#define P4RT_CTL_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "ipdk/err.h"

#define VAL_MAX_BYTES 64                /* widest value: 512 bits */

/* A big-endian number of VAL_MAX_BYTES bytes. */
struct val {
	uint8_t b[VAL_MAX_BYTES];
};

/* Parses one value (no match syntax); checks it fits in bits (0: any width).
 * what names the field in error messages. 0 or -EINVAL/-ERANGE. */
int val_parse(const char *s, uint32_t bits, const char *what, struct val *out,
	      struct ipdk_err *err);

/* A value of bits ones, or the first plen of bits ones (a prefix mask). */
void val_prefix_mask(uint32_t bits, uint32_t plen, struct val *out);

/* True when v is zero. */
bool val_is_zero(const struct val *v);

/* True when v equals the mask of all bits ones. */
bool val_is_all_ones(const struct val *v, uint32_t bits);

/* If v is a prefix mask of a bits-wide field, its length; else -1. */
int val_prefix_len(const struct val *v, uint32_t bits);

/* Canonical byte string of v (malloc'd data). 0 or -ENOMEM. */
int val_to_bytes(const struct val *v, ProtobufCBinaryData *out);

/* The number a byte string holds; -ERANGE when it is wider than VAL_MAX_BYTES. */
int val_from_bytes(const ProtobufCBinaryData *b, struct val *out);

/* Writes "0x..." (at least one hex digit pair) for b into buf. */
void bytes_hex(const ProtobufCBinaryData *b, char *buf, size_t size);

/* Parses a decimal or 0x unsigned 64-bit number; 0 or -EINVAL with err naming what. */
int u64_parse(const char *s, const char *what, uint64_t *out, struct ipdk_err *err);

#endif
