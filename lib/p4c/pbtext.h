/*
 * Protobuf text format of any protobuf-c message (pbtext.c), used for the
 * P4Info text the compiler writes from the same message as the binary.
 */
#ifndef IPDK_P4C_PBTEXT_H
#define IPDK_P4C_PBTEXT_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

/* Writes m in protobuf text format to f; returns 0 or -1 on a write error. */
int pbtext_write(const ProtobufCMessage *m, FILE *f);

#endif
