/*
 * Protobuf text format over protobuf-c descriptors: one printer and one reader
 * for any generated message, so every user (ipdk-p4c writing P4Info text,
 * p4rt-ctl and infrap4d reading it) speaks the same dialect. Nothing here is
 * specific to one schema; the descriptor says what each field is.
 *
 * Printing follows proto3: scalars at their default are left out, messages
 * are printed when present, oneof members when they are the chosen case,
 * repeated fields one line (or block) per element. Reading accepts what the
 * usual writers emit: "name: value", "name { ... }" or "name < ... >", lists
 * in [ ], '#' comments, adjacent string literals, C escapes, enum values by
 * name or number. Extensions and expanded Any ("[type.googleapis.com/...]")
 * are refused with a message saying so. Messages built by the reader use
 * malloc for every part, so protobuf_c_message_free_unpacked(m, NULL) frees
 * them.
 */
#ifndef IPDK_PBTEXT_H
#define IPDK_PBTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "ipdk/err.h"

/* Writes m in protobuf text format to f; returns 0 or -1 on a write error. */
int pbtext_write(const ProtobufCMessage *m, FILE *f);

/* Parses text (len bytes, need not be NUL-terminated) as a message of type d;
 * name labels error messages ("p4info.txt:12:7: ..."). NULL with err set on failure. */
ProtobufCMessage *pbtext_parse(const ProtobufCMessageDescriptor *d, const char *text,
			       size_t len, const char *name, struct ipdk_err *err);

/* True when the n bytes at p look like text (no NUL, at most 1% control characters). */
bool pbtext_is_text(const void *p, size_t n);

/* A message of type d from n bytes in text format or binary, told apart by
 * pbtext_is_text(); name labels errors. NULL with err set on failure. */
ProtobufCMessage *pbtext_load(const ProtobufCMessageDescriptor *d, const void *p, size_t n,
			      const char *name, struct ipdk_err *err);

#endif
