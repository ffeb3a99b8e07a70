/*
 * The protobuf text format printer (ipdk/pbtext.h) for any protobuf-c
 * message, driven by its descriptor: the compiler builds P4Info once as a
 * message and prints it from here, so the text and binary P4Info it writes
 * cannot disagree, and p4rt-ctl shows a pipeline's P4Info. Proto3 semantics:
 * scalars at their default value are left out, messages are printed when
 * present, oneof members when they are the chosen case, repeated fields one
 * entry per element. Strings and bytes are escaped as the text format
 * expects (\" \\ \n and octal for anything not printable).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ipdk/pbtext.h"
#include "pbtext_priv.h"

static void indent(FILE *f, int depth)
{
	for (int i = 0; i < depth; i++)
		fputs("  ", f);
}

static void quoted(FILE *f, const uint8_t *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\%03o", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void message(FILE *f, const ProtobufCMessage *m, int depth);

/* Prints one value of field fd stored at p; returns false for a proto3
 * scalar at its default (left out) when skip_default is set. */
static bool value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *p, int depth,
		  bool skip_default)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		if (skip_default && !*(const int32_t *)p)
			return false;
		indent(f, depth);
		fprintf(f, "%s: %" PRId32 "\n", fd->name, *(const int32_t *)p);
		return true;
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		if (skip_default && !*(const uint32_t *)p)
			return false;
		indent(f, depth);
		fprintf(f, "%s: %" PRIu32 "\n", fd->name, *(const uint32_t *)p);
		return true;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
		if (skip_default && !*(const int64_t *)p)
			return false;
		indent(f, depth);
		fprintf(f, "%s: %" PRId64 "\n", fd->name, *(const int64_t *)p);
		return true;
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		if (skip_default && !*(const uint64_t *)p)
			return false;
		indent(f, depth);
		fprintf(f, "%s: %" PRIu64 "\n", fd->name, *(const uint64_t *)p);
		return true;
	case PROTOBUF_C_TYPE_FLOAT:
		if (skip_default && *(const float *)p == 0)
			return false;
		indent(f, depth);
		fprintf(f, "%s: %g\n", fd->name, *(const float *)p);
		return true;
	case PROTOBUF_C_TYPE_DOUBLE:
		if (skip_default && *(const double *)p == 0)
			return false;
		indent(f, depth);
		fprintf(f, "%s: %g\n", fd->name, *(const double *)p);
		return true;
	case PROTOBUF_C_TYPE_BOOL:
		if (skip_default && !*(const protobuf_c_boolean *)p)
			return false;
		indent(f, depth);
		fprintf(f, "%s: %s\n", fd->name, *(const protobuf_c_boolean *)p ? "true" : "false");
		return true;
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, v);
		if (skip_default && !v)
			return false;
		indent(f, depth);
		if (ev)
			fprintf(f, "%s: %s\n", fd->name, ev->name);
		else
			fprintf(f, "%s: %d\n", fd->name, v);
		return true;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		if (skip_default && (!s || !*s))
			return false;
		indent(f, depth);
		fprintf(f, "%s: ", fd->name);
		quoted(f, (const uint8_t *)(s ? s : ""), s ? strlen(s) : 0);
		fputc('\n', f);
		return true;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		if (skip_default && !b->len)
			return false;
		indent(f, depth);
		fprintf(f, "%s: ", fd->name);
		quoted(f, b->data, b->len);
		fputc('\n', f);
		return true;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
		if (!sub)
			return false;
		indent(f, depth);
		fprintf(f, "%s {\n", fd->name);
		message(f, sub, depth + 1);
		indent(f, depth);
		fputs("}\n", f);
		return true;
	}
	}
	return false;
}

static void message(FILE *f, const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const void *p = base + fd->offset;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			const char *arr = *(char *const *)p;
			for (size_t k = 0; k < n; k++)
				value(f, fd, arr + k * pbtext_type_size(fd->type), depth, false);
			continue;
		}
		if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)(base + fd->quantifier_offset) == fd->id)
				value(f, fd, p, depth, false);
			continue;
		}
		if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
		    fd->type != PROTOBUF_C_TYPE_MESSAGE && fd->type != PROTOBUF_C_TYPE_STRING) {
			if (*(const protobuf_c_boolean *)(base + fd->quantifier_offset))
				value(f, fd, p, depth, false);
			continue;
		}
		value(f, fd, p, depth, fd->label == PROTOBUF_C_LABEL_NONE);
	}
}

int pbtext_write(const ProtobufCMessage *m, FILE *f)
{
	message(f, m, 0);
	return ferror(f) ? -1 : 0;
}
