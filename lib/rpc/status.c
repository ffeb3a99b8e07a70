/*
 * Status codes and message encoding for lib/rpc: errno to gRPC code mapping,
 * the google.rpc.Status trailer (grpc-status-details-bin) that carries typed
 * error details, and protobuf-c <-> gRPC byte buffer conversion.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "google/rpc/status.pb-c.h"
#include "rpc_internal.h"

/* Any.type_url prefix used by every protobuf runtime when packing. */
#define TYPE_URL_PREFIX "type.googleapis.com/"

enum ipdk_rpc_code ipdk_rpc_code_from_errno(int neg_errno)
{
	switch (-neg_errno) {
	case 0: return IPDK_RPC_OK;
	case EINVAL: case EBADMSG: case E2BIG: case ENAMETOOLONG:
		return IPDK_RPC_INVALID_ARGUMENT;
	case ENOENT: case ENODEV: case ENXIO: case ESRCH:
		return IPDK_RPC_NOT_FOUND;
	case EEXIST: return IPDK_RPC_ALREADY_EXISTS;
	case EPERM: case EACCES: return IPDK_RPC_PERMISSION_DENIED;
	case ENOMEM: case ENOSPC: case EMFILE: case ENFILE: case EDQUOT:
		return IPDK_RPC_RESOURCE_EXHAUSTED;
	case EBUSY: case ENOTEMPTY: case EALREADY: case ENOTCONN:
		return IPDK_RPC_FAILED_PRECONDITION;
	case ERANGE: case EOVERFLOW: return IPDK_RPC_OUT_OF_RANGE;
	case ENOTSUP: case ENOSYS: return IPDK_RPC_UNIMPLEMENTED;
	case EAGAIN: case ECONNREFUSED: case EHOSTUNREACH: case EHOSTDOWN: case ECONNRESET:
		return IPDK_RPC_UNAVAILABLE;
	case ETIMEDOUT: return IPDK_RPC_DEADLINE_EXCEEDED;
	case ECANCELED: return IPDK_RPC_CANCELLED;
	default: return IPDK_RPC_INTERNAL;
	}
}

const char *ipdk_rpc_code_name(enum ipdk_rpc_code code)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
		"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};

	if ((unsigned int)code >= sizeof(names) / sizeof(names[0]))
		return "UNKNOWN";
	return names[code];
}

static void free_anys(Google__Protobuf__Any *anys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(anys[i].type_url);
		free(anys[i].value.data);
	}
	free(anys);
}

static int pack_any(Google__Protobuf__Any *any, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);

	google__protobuf__any__init(any);
	if (asprintf(&any->type_url, TYPE_URL_PREFIX "%s", msg->descriptor->name) < 0) {
		any->type_url = NULL;
		return -ENOMEM;
	}
	/* malloc(0) may return NULL; one spare byte keeps empty messages valid. */
	any->value.data = malloc(len + 1);
	if (!any->value.data)
		return -ENOMEM;
	any->value.len = protobuf_c_message_pack(msg, any->value.data);
	return 0;
}

int rpc_status_pack(enum ipdk_rpc_code code, const char *message,
		    const ProtobufCMessage *const *details, size_t n_details,
		    grpc_slice *out)
{
	Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
	Google__Protobuf__Any *anys, **ptrs;
	int ret = -ENOMEM;

	anys = calloc(n_details + 1, sizeof(*anys));
	ptrs = calloc(n_details + 1, sizeof(*ptrs));
	if (!anys || !ptrs)
		goto out;
	for (size_t i = 0; i < n_details; i++) {
		ptrs[i] = &anys[i];
		if (pack_any(&anys[i], details[i]) < 0)
			goto out;
	}
	status.code = code;
	status.message = (char *)(message ? message : "");
	status.n_details = n_details;
	status.details = ptrs;
	*out = grpc_slice_malloc(protobuf_c_message_get_packed_size(&status.base));
	protobuf_c_message_pack(&status.base, GRPC_SLICE_START_PTR(*out));
	ret = 0;
out:
	if (anys)
		free_anys(anys, n_details);
	free(ptrs);
	return ret;
}

grpc_byte_buffer *rpc_encode(const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	grpc_slice slice = grpc_slice_malloc(len);
	grpc_byte_buffer *bb;

	protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
	bb = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	return bb;
}

ProtobufCMessage *rpc_decode(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader reader;
	ProtobufCMessage *msg;
	grpc_slice all;

	if (!grpc_byte_buffer_reader_init(&reader, bb))
		return NULL;
	all = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all),
					GRPC_SLICE_START_PTR(all));
	grpc_slice_unref(all);
	return msg;
}
