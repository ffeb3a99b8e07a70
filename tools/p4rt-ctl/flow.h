/*
 * p4rt-ctl's FLOW syntax (IPDK's): comma-separated KEY=VALUE pairs where a
 * KEY is a match field or one of action, priority, member_id, group_id, and
 * an action is NAME or NAME(ARG,...) with positional or NAME=VALUE arguments:
 *
 *   hdr.ipv4.dst_addr=10.0.0.0/24,action=ingress.route(1,02:00:00:00:00:aa)
 *   dst_addr=10.1.0.0&&&255.255.0.0,priority=10,action=drop
 *
 * This file turns such text into P4Runtime messages (checked against the
 * P4Info: names, widths, required fields) and entries back into text or JSON.
 * Messages built here are malloc'd throughout (free with free_unpacked(m, NULL)).
 */
#ifndef P4RT_CTL_FLOW_H
#define P4RT_CTL_FLOW_H

#include <stdio.h>

#include <jansson.h>

#include "ipdk/err.h"
#include "p4/v1/p4runtime.pb-c.h"
#include "p4info.h"

struct kv {
	char *key, *val;                /* val NULL for a bare word */
};

struct kvlist {
	char *buf;
	struct kv *v;
	size_t n;
};

/* Splits text at commas outside parentheses into trimmed pairs; 0 or -errno. */
int kv_split(const char *text, struct kvlist *out, struct ipdk_err *err);
void kv_free(struct kvlist *l);

/* A new message of type d, initialised (calloc). */
void *msg_new(const ProtobufCMessageDescriptor *d);

enum flow_mode {
	FLOW_ENTRY,     /* match fields and an action (add-entry, modify-entry) */
	FLOW_KEY,       /* match fields only, an action is ignored (del-entry, reads) */
};

/* A TableEntry of t from FLOW text. */
int flow_table_entry(const P4Info *info, const P4Table *t, const char *flow, enum flow_mode mode,
		     P4__V1__TableEntry **out, struct ipdk_err *err);

/* An Action from "NAME" or "NAME(ARGS)"; if t is given the action must be one of t's. */
int flow_action(const P4Info *info, const P4Table *t, const char *text, P4__V1__Action **out,
		struct ipdk_err *err);

/* One entry as text ("table=T priority=P f=V,... actions=A(p=V,...)"), no newline. */
void flow_print_entry(FILE *f, const P4Info *info, const P4__V1__TableEntry *te);

/* One entry as a JSON object (new reference). */
json_t *flow_entry_json(const P4Info *info, const P4__V1__TableEntry *te);

/* An Action as text / JSON. */
void flow_print_action(FILE *f, const P4Info *info, const P4__V1__Action *a);
json_t *flow_action_json(const P4Info *info, const P4__V1__Action *a);

#endif
