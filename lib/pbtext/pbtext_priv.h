/*
 * What the pbtext printer and reader share: how wide one element of a
 * repeated field is in protobuf-c's generated structs.
 */
#ifndef IPDK_PBTEXT_PRIV_H
#define IPDK_PBTEXT_PRIV_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* Bytes one value of type t takes in a message struct (a repeated field's stride). */
static inline size_t pbtext_type_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 4;
	}
}

#endif
