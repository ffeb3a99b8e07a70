/*
 * The P4Runtime v1 service (package p4.v1, docs/p4runtime.md): Capabilities,
 * Get/SetForwardingPipelineConfig, Write, Read and StreamChannel served on its
 * own ipdk_rpc_server. It translates P4Runtime entities (P4Info ids and
 * names) into TDI calls through a model built from the bundle's P4Info and
 * context, or derived from the TDI schema when the pipeline is a bare spec.
 *
 * The service does not own the dataplane: the daemon lends it through struct
 * ipdk_p4rt_dp_ops (lock the TDI device, replace the pipeline), so the local
 * control socket and P4Runtime can share one pipeline safely.
 */
#ifndef IPDK_P4RT_H
#define IPDK_P4RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipdk/err.h"
#include "ipdk/rpc.h"
#include "ipdk/tdi.h"

#define IPDK_P4RT_DEFAULT_ADDRESS "0.0.0.0:9559"
#define IPDK_P4RT_DEFAULT_DEVICE_ID 1
#define IPDK_P4RT_API_VERSION "1.4.0"

struct ipdk_port;

/* What the daemon lends the service. Every call but lock() runs with the lock held. */
struct ipdk_p4rt_dp_ops {
	/* Locks the dataplane and returns its TDI device. */
	struct tdi_dev *(*lock)(void *arg);
	void (*unlock)(void *arg);
	/* Builds a pipeline from spec_text on the daemon's ports and calls
	 * check(new device); with commit it then replaces the running pipeline
	 * (forwarding state starts empty), otherwise it frees the new one. */
	int (*load)(void *arg, const char *spec_text, const char *name, bool commit,
		    int (*check)(struct tdi_dev *tdi, void *check_arg, struct ipdk_err *err),
		    void *check_arg, struct ipdk_err *err);
	/* Optional (VERIFY_AND_SAVE): builds and checks like load, then keeps
	 * the new pipeline, not running, as *saved with its TDI device in *tdi,
	 * which takes writes until commit_saved() runs the pipeline in place of
	 * the running one (forwarding state as written) or drop_saved() frees it.
	 * commit_saved() consumes saved, also when it fails. Without these,
	 * Writes between VERIFY_AND_SAVE and COMMIT are refused. */
	int (*save)(void *arg, const char *spec_text, const char *name,
		    int (*check)(struct tdi_dev *tdi, void *check_arg, struct ipdk_err *err),
		    void *check_arg, void **saved, struct tdi_dev **tdi, struct ipdk_err *err);
	int (*commit_saved)(void *arg, void *saved, struct ipdk_err *err);
	void (*drop_saved)(void *arg, void *saved);
};

/* A pipeline bundle read from files (docs/bundle.md): the spec text, the
 * context and the P4Info, decoded by the same code as the p4_device_config
 * of SetForwardingPipelineConfig. */
struct ipdk_p4rt_bundle;

/* Reads path (a single-file bundle, a BfPipelineConfig or spec text) and,
 * when p4info_path is not NULL, its P4Info (text or binary; it wins over one
 * the bundle carries). Returns 0 or -errno with err naming the file. */
int ipdk_p4rt_bundle_read(const char *path, const char *p4info_path,
			  struct ipdk_p4rt_bundle **out, struct ipdk_err *err);

/* The bundle's spec text and pipeline name. */
const char *ipdk_p4rt_bundle_spec(const struct ipdk_p4rt_bundle *b);
const char *ipdk_p4rt_bundle_name(const struct ipdk_p4rt_bundle *b);

/* Checks the bundle against tdi, a pipeline built from its spec, and
 * installs the entries its context declares; the model made for it waits in
 * b for the service (ipdk_p4rt_pipeline_replaced_bundle()). 0 or -errno. */
int ipdk_p4rt_bundle_install(struct ipdk_p4rt_bundle *b, struct tdi_dev *tdi,
			     struct ipdk_err *err);

/* Frees a bundle; b may be NULL. */
void ipdk_p4rt_bundle_free(struct ipdk_p4rt_bundle *b);

struct ipdk_p4rt_config {
	struct ipdk_rpc_config rpc;     /* address (default 0.0.0.0:9559), security, certificates */
	uint64_t device_id;             /* 0: 1 */
	/* The controller port: a RING port of the pipeline (pipeline port id
	 * cpu_port_id). PacketOut enters the pipeline there; what the pipeline
	 * sends to it becomes PacketIn. NULL: no packet I/O. */
	struct ipdk_port *cpu_port;
	uint32_t cpu_port_id;
	/* The running pipeline's spec text and a name for it (for the P4Info
	 * derived at start and for GetForwardingPipelineConfig). */
	const char *spec_text;
	const char *spec_name;
	/* Or the bundle the running pipeline was built from (installed with
	 * ipdk_p4rt_bundle_install()): its P4Info, context and device config. */
	struct ipdk_p4rt_bundle *bundle;
};

struct ipdk_p4rt;

/* Creates the service and its server (not yet listening); returns 0 or -errno. */
int ipdk_p4rt_create(const struct ipdk_p4rt_config *cfg, const struct ipdk_p4rt_dp_ops *ops,
		     void *ops_arg, struct ipdk_p4rt **out, struct ipdk_err *err);

/* Starts listening and the packet-in thread; returns 0 or -errno. */
int ipdk_p4rt_start(struct ipdk_p4rt *p, struct ipdk_err *err);

/* Returns the TCP port the service listens on. */
int ipdk_p4rt_port(const struct ipdk_p4rt *p);

/* Tells the service the pipeline was replaced behind its back (e.g. from the
 * control socket): the model is derived again from the new spec text. Called
 * with the dataplane lock held. */
void ipdk_p4rt_pipeline_replaced(struct ipdk_p4rt *p, struct tdi_dev *tdi,
				 const char *spec_text, const char *spec_name);

/* Like ipdk_p4rt_pipeline_replaced(), for a pipeline built from bundle b and
 * installed with ipdk_p4rt_bundle_install(): the service takes the model
 * made then. Dataplane lock held; 0 or -errno (the service then has no
 * pipeline config). */
int ipdk_p4rt_pipeline_replaced_bundle(struct ipdk_p4rt *p, struct tdi_dev *tdi,
				       struct ipdk_p4rt_bundle *b, struct ipdk_err *err);

/* Stops the server (ends open streams) and frees the service; p may be NULL. */
void ipdk_p4rt_destroy(struct ipdk_p4rt *p);

#endif
