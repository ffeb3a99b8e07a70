/*
 * A protobuf text format reader for protobuf-c messages, driven only by
 * descriptors: p4rt-ctl reads P4Info files written as text (what p4c and
 * ipdk-p4c emit). Messages built here use malloc for every part, so
 * protobuf_c_message_free_unpacked(m, NULL) frees them. lib/p4c/pbtext.c
 * writes the format.
 */
#ifndef P4RT_CTL_TEXTPB_H
#define P4RT_CTL_TEXTPB_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "ipdk/err.h"

/* Parses text (len bytes, need not be NUL-terminated) as a message of type d;
 * name labels error messages ("p4info.txt:12:7: ..."). NULL with err set on failure. */
ProtobufCMessage *textpb_parse(const ProtobufCMessageDescriptor *d, const char *text,
			       size_t len, const char *name, struct ipdk_err *err);

#endif
