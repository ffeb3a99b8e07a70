/*
 * Conversions between the gNMI protobuf-c messages and lib/gnmi's own paths
 * and values, used by the service and by gnmi-ctl. Messages built here are
 * allocated piece by piece with malloc, so protobuf_c_message_free_unpacked()
 * (allocator NULL) frees them.
 */
#ifndef IPDK_GNMI_PB_H
#define IPDK_GNMI_PB_H

#include "gnmi/gnmi.pb-c.h"
#include "ipdk/gnmi.h"

/* Joins prefix (may be NULL) and path (may be NULL) into out; the deprecated
 * string elements are read as path text. */
int gnmi_pb_path_get(const Gnmi__Path *prefix, const Gnmi__Path *path,
		     struct ipdk_gnmi_path *out, struct ipdk_err *err);

/* Builds a Path message; NULL when out of memory. */
Gnmi__Path *gnmi_pb_path_new(const struct ipdk_gnmi_path *path);

/* Reads a scalar TypedValue (string, ascii, uint, int, bool); JSON values are
 * the caller's business. */
int gnmi_pb_val_get(const Gnmi__TypedValue *tv, struct ipdk_gnmi_val *out,
		    struct ipdk_err *err);

/* Builds a TypedValue for v in encoding (JSON and JSON_IETF: a JSON scalar,
 * ASCII: text, otherwise typed); NULL when out of memory. */
Gnmi__TypedValue *gnmi_pb_val_new(const struct ipdk_gnmi_val *v, Gnmi__Encoding enc);

/* Prints a TypedValue as text (JSON values as their text). */
void gnmi_pb_val_print(const Gnmi__TypedValue *tv, char *buf, size_t size);

#endif
