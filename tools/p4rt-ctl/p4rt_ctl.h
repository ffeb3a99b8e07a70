/*
 * What p4rt-ctl's files share (internal to the tool): the state of one
 * command run (struct ctl), the exit statuses, the calls and output helpers
 * of call.c, and the commands main.c's table points at.
 */
#ifndef P4RT_CTL_P4RT_CTL_H
#define P4RT_CTL_P4RT_CTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "flow.h"
#include "p4info.h"
#include "ipdk/err.h"
#include "ipdk/rpc_client.h"
#include "p4/v1/p4runtime.pb-c.h"

#define EX_REFUSED 1
#define EX_USAGE 2
#define EX_UNREACHABLE 3

#define SVC "/p4.v1.P4Runtime/"

struct ctl {
	struct ipdk_rpc_client_config co;
	struct ipdk_rpc_client *conn;
	const char *cmd, *sw;
	uint64_t device_id;
	bool device_id_set;
	uint64_t elect_high, elect_low;
	const char *role;
	bool json;
	P4Info *info;
	struct ipdk_rpc_stream *stream; /* open while we are primary */
	/* set-pipe */
	const char *context_file;
	int pipe_action;
	bool has_cookie;
	uint64_t cookie;
	/* packet I/O */
	int count;
	bool timeout_set;
	struct ipdk_err err;
};

/* Set by SIGINT and SIGTERM: packet-in and start-pktio stop. */
extern volatile sig_atomic_t interrupted;

/* call.c */
/* Prints c->err as bad input of the command; returns EX_USAGE. */
int input_error(struct ctl *c);
/* Prints a failed call's status and per-update errors; returns the exit status. */
int rpc_error(struct ctl *c, const char *rpc, const struct ipdk_rpc_status *st);
/* Fetches the pipeline config with the given response type into *out. */
int get_pipeline(struct ctl *c, int type, P4__V1__ForwardingPipelineConfig **out);
/* Fetches the running pipeline's P4Info into c->info, once. */
int need_info(struct ctl *c);
/* Our election id as a new message. */
P4__V1__Uint128 *election(struct ctl *c);
/* Opens a StreamChannel and becomes primary for (device, role). */
int arbitrate(struct ctl *c);
/* Sends updates (taking ownership) as one WriteRequest. */
int write_updates(struct ctl *c, P4__V1__Update **ups, size_t n);
/* A new Update of type carrying e (taking ownership). */
P4__V1__Update *update_of(int type, P4__V1__Entity *e);
/* Sends e (taking ownership) as one update of type. */
int write_one(struct ctl *c, int type, P4__V1__Entity *e);
/* Sends e as one update of type, or drops it and reports c->err when rc is set. */
int write_built(struct ctl *c, int type, P4__V1__Entity *e, int rc);
/* A new empty Entity. */
P4__V1__Entity *entity_new(void);
/* Reads entities matching e (taking ownership); fn runs per entity. */
int read_entities(struct ctl *c, P4__V1__Entity *e,
		  void (*fn)(struct ctl *c, const P4__V1__Entity *e, void *arg), void *arg);
/* Adds o to the --json output (taking ownership). */
void json_emit(json_t *o);
/* Prints the --json output: a list, or its single element when as_object. */
void json_flush(bool as_object);
/* A counter cell's bytes and packets as JSON. */
json_t *counter_json(const P4__V1__CounterData *d);
/* The contents of a file (malloc'd, NUL-terminated), its size in *len; NULL with err set. */
char *slurp(const char *path, size_t *len, struct ipdk_err *err);
/* A KEY=N pair of kv (0 when absent); -1 with c->err set when malformed. */
int kv_u32(struct ctl *c, const struct kvlist *kv, const char *key, uint32_t *out,
	   bool required);
/* The value of KEY in kv ("" for a bare word), NULL when absent. */
const char *kv_get(const struct kvlist *kv, const char *key);

/* cmd_entries.c */
/* The table named name of the P4Info (fetched if needed) into *t; exit status. */
int table_arg(struct ctl *c, const char *name, const P4Table **t);

/* The commands: argv[0] is SWITCH; each returns the exit status. */
int cmd_set_pipe(struct ctl *c, int argc, char **argv);
int cmd_get_pipe(struct ctl *c, int argc, char **argv);
int cmd_show(struct ctl *c, int argc, char **argv);
int cmd_add_entry(struct ctl *c, int argc, char **argv);
int cmd_modify_entry(struct ctl *c, int argc, char **argv);
int cmd_del_entry(struct ctl *c, int argc, char **argv);
int cmd_dump_entries(struct ctl *c, int argc, char **argv);
int cmd_set_default(struct ctl *c, int argc, char **argv);
int cmd_get_default(struct ctl *c, int argc, char **argv);
int cmd_add_member(struct ctl *c, int argc, char **argv);
int cmd_del_member(struct ctl *c, int argc, char **argv);
int cmd_get_member(struct ctl *c, int argc, char **argv);
int cmd_add_group(struct ctl *c, int argc, char **argv);
int cmd_modify_group(struct ctl *c, int argc, char **argv);
int cmd_del_group(struct ctl *c, int argc, char **argv);
int cmd_get_group(struct ctl *c, int argc, char **argv);
int cmd_get_counter(struct ctl *c, int argc, char **argv);
int cmd_reset_counter(struct ctl *c, int argc, char **argv);
int cmd_get_direct_counter(struct ctl *c, int argc, char **argv);
int cmd_reset_direct_counter(struct ctl *c, int argc, char **argv);
int cmd_add_meter_config(struct ctl *c, int argc, char **argv);
int cmd_reset_meter_config(struct ctl *c, int argc, char **argv);
int cmd_get_meter(struct ctl *c, int argc, char **argv);
int cmd_get_direct_meter(struct ctl *c, int argc, char **argv);
int cmd_packet_out(struct ctl *c, int argc, char **argv);
int cmd_packet_in(struct ctl *c, int argc, char **argv);
int cmd_start_pktio(struct ctl *c, int argc, char **argv);

#endif
