/*
 * What the parts of the gNMI service share: the server object, leaf sets
 * (sorted lists of path text and value that Get and subscriptions build from
 * the models), and the subscription entry points server.c calls.
 */
#ifndef IPDK_GNMI_PRIV_H
#define IPDK_GNMI_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "gnmi_pb.h"
#include "ipdk/gnmi.h"

#define GNMI_MAX_MODELS 8
#define GNMI_VERSION "0.7.0"

struct gnmi_sub;

struct ipdk_gnmi_server {
	struct ipdk_rpc_server *rpc;
	struct ipdk_gnmi_model models[GNMI_MAX_MODELS];
	unsigned int n_models;
	pthread_mutex_t set_lock;      /* one Set at a time */
	void (*on_set)(void *arg);     /* after each Set (ipdk_gnmi_server_on_set) */
	void *on_set_arg;

	/* subscriptions (subscribe.c) */
	pthread_mutex_t sub_lock;
	pthread_cond_t sub_cond;
	struct gnmi_sub *subs;         /* STREAM subscriptions the thread serves */
	bool changed;                  /* data changed since the thread last looked */
	bool stop;
	bool thread_started;
	pthread_t thread;
};

struct gnmi_leaf {
	char *path;                    /* printed path */
	struct ipdk_gnmi_val val;
};

struct gnmi_leafset {
	struct gnmi_leaf *v;
	size_t n, cap;
};

/* Data types a Get asks for (GetRequest.DataType numbers). */
enum gnmi_data_type { GNMI_ALL = 0, GNMI_CONFIG = 1, GNMI_STATE = 2, GNMI_OPERATIONAL = 3 };

/* Fills set (sorted, without duplicates) with the leaves of every model that
 * match one of the n patterns and the data type. */
int gnmi_collect(struct ipdk_gnmi_server *srv, const struct ipdk_gnmi_path *patterns,
		 size_t n, enum gnmi_data_type type, struct gnmi_leafset *set,
		 struct ipdk_err *err);

/* Frees what a leaf set holds (the set itself may be reused). */
void gnmi_leafset_clear(struct gnmi_leafset *set);

/* Builds a Notification holding updates for leaves (all of them, or those
 * whose value differs from or is missing in old when old is given) and
 * deletes for paths of old missing from leaves. *empty says whether it
 * carries anything. NULL when out of memory. */
Gnmi__Notification *gnmi_notification(const struct gnmi_leafset *leaves,
				      const struct gnmi_leafset *old, Gnmi__Encoding enc,
				      bool *empty);

/* Nanoseconds since the epoch, and a monotonic clock in nanoseconds. */
int64_t gnmi_now_ns(void);
uint64_t gnmi_mono_ns(void);

/* Subscribe's callbacks (subscribe.c) and the thread's start and stop. */
void gnmi_subscribe_message(struct ipdk_rpc_call *call, const ProtobufCMessage *msg);
void gnmi_subscribe_half_close(struct ipdk_rpc_call *call);
void gnmi_subscribe_done(struct ipdk_rpc_call *call, bool cancelled);
int gnmi_subs_start(struct ipdk_gnmi_server *srv, struct ipdk_err *err);
void gnmi_subs_stop(struct ipdk_gnmi_server *srv);

/* The state file (state.c) and what each model gives and takes for it:
 * JSON entries of what was made through gNMI, and their restoration. */
struct json_t;
/* Keeps entry e of the state file in *list (made when NULL) with the reason
 * it could not be made again, and logs it. */
void gnmi_state_keep(struct json_t **list, const char *what, const char *name,
		     struct json_t *e, const char *why);
/* Removes the entries of list that one of the n operations names: a path to
 * the list element elem with their name or "*", the whole list or model
 * (delete, replace), or a leaf of an update below it. */
void gnmi_state_drop(struct json_t *list, const char *what, const char *elem,
		     const struct ipdk_gnmi_set_op *ops, size_t n);
/* Sets member name of object o to val, as a JSON number when number. */
void gnmi_state_put(struct json_t *o, const char *name, bool number, const char *val);
struct json_t *gnmi_ports_state(struct ipdk_gnmi_ports *pm);
int gnmi_ports_check(const char *file, struct json_t *ports, struct ipdk_err *err);
void gnmi_ports_restore(struct ipdk_gnmi_ports *pm, struct json_t *ports);
int gnmi_vdevs_state(struct ipdk_gnmi_vdevs *vm, struct json_t *root);
int gnmi_vdevs_check(const char *file, struct json_t *root, struct ipdk_err *err);
void gnmi_vdevs_restore_hosts(struct ipdk_gnmi_vdevs *vm, struct json_t *hosts);
void gnmi_vdevs_restore_devices(struct ipdk_gnmi_vdevs *vm, struct json_t *devices);

#endif
