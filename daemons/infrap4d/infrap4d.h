/*
 * infrap4d's internal interfaces: its configuration (from a JSON file and the
 * command line), the dataplane it assembles from the libraries (ports, one
 * pipeline, pipeline threads, a TDI device) and the local control commands.
 */
#ifndef INFRAP4D_H
#define INFRAP4D_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ipdk/ctlsock.h"
#include "ipdk/err.h"
#include "ipdk/target_dpdk.h"
#include "ipdk/tdi.h"

#define INFRAP4D_MAX_PORTS 256
#define INFRAP4D_DEFAULT_SOCKET "/run/infrap4d.sock"

struct infrap4d_cfg {
	char spec_path[IPDK_PATH_MAX];      /* "" = embedded default pipeline */
	/* or a pipeline bundle (docs/bundle.md) and, for a BfPipelineConfig,
	 * its P4Info (text or binary); needs the P4Runtime library */
	char bundle_path[IPDK_PATH_MAX];
	char p4info_path[IPDK_PATH_MAX];
	char pipeline_name[IPDK_NAME_MAX];
	struct ipdk_port_cfg ports[INFRAP4D_MAX_PORTS];
	unsigned int n_ports;
	struct ipdk_dpdk_runner_cfg threads;
	bool hugepages;
	unsigned int mem_mb;
	char ctl_socket[108];
	char **entries;                     /* "TABLE match ... action ..." lines */
	unsigned int n_entries;
	int log_level;                      /* -1: not set */
	bool log_syslog;
	/* P4Runtime (lib/p4rt; docs/infrap4d.md) */
	bool p4rt_enabled;                  /* default true */
	bool p4rt_explicit;                 /* asked for by an option: failing to start is fatal */
	char p4rt_listen[128];              /* default 0.0.0.0:9559 */
	int grpc_security;                  /* enum ipdk_rpc_security: 0 mtls, 1 tls, 2 insecure */
	char grpc_cert_dir[IPDK_PATH_MAX];  /* default /etc/ipdk/certs */
	char p4rt_cpu_port[IPDK_NAME_MAX];  /* RING port for packet I/O, "" = none */
	uint64_t p4rt_device_id;            /* default 1 */
	/* gNMI (gnmi.c; docs/gnmi.md), same TLS settings as P4Runtime */
	bool gnmi_enabled;                  /* default true */
	bool gnmi_explicit;                 /* asked for: failing to start is fatal */
	char gnmi_listen[128];              /* default 0.0.0.0:9339 */
	unsigned int port_slots;            /* pipeline port ids (default 16) */
	char state_file[IPDK_PATH_MAX];     /* what gNMI made, kept across restarts ("" = none) */
	/* virtual device hosts ("virtual_devices": {"hosts": [...]}), served over gNMI */
	struct infrap4d_vdev_host {
		char name[48];
		char qmp_socket[108];
		char bus_prefix[24];
		unsigned int slots, timeout_ms;   /* 0: lib/vdev's defaults */
	} vdev_hosts[16];
	unsigned int n_vdev_hosts;
};

#define INFRAP4D_DEFAULT_PORT_SLOTS 16
#define INFRAP4D_DEFAULT_STATE_FILE "/var/lib/ipdk/infrap4d-state.json"

#define INFRAP4D_DEFAULT_CERT_DIR "/etc/ipdk/certs"

/* Sets defaults (embedded pipeline, no ports, one thread, default socket). */
void infrap4d_cfg_init(struct infrap4d_cfg *cfg);

/* Reads a JSON configuration file into cfg; errors name the file and key. */
int infrap4d_cfg_load(struct infrap4d_cfg *cfg, const char *path, struct ipdk_err *err);

/* Adds a port from "name=N,type=T,netdev=D,..." (the --port option's form). */
int infrap4d_cfg_add_port_str(struct infrap4d_cfg *cfg, const char *spec, struct ipdk_err *err);

/* Frees what the configuration allocated. */
void infrap4d_cfg_fini(struct infrap4d_cfg *cfg);

/* The embedded default pipeline spec (p4src/specs/l2l3.spec). */
extern const char infrap4d_default_spec[];

struct ipdk_p4rt_bundle;

struct infrap4d_dp {
	/* Port slots: ports[i] has pipeline port id i; NULL is a free slot
	 * (gNMI adds and removes ports at runtime, see gnmi.c). */
	struct ipdk_port *ports[INFRAP4D_MAX_PORTS];
	unsigned int n_ports;               /* slots */
	struct ipdk_dpdk_pipeline *pl;
	struct tdi_dev *tdi;
	struct ipdk_dpdk_runner *runner;
	char pipeline_name[IPDK_NAME_MAX];
	char spec_desc[IPDK_PATH_MAX];
	unsigned int generation;
	pthread_mutex_t lock;               /* TDI and the pipeline: control socket vs P4Runtime */
	/* the bundle the running pipeline was built from (its entries
	 * installed), or NULL for a spec or a pipeline pushed over P4Runtime */
	struct ipdk_p4rt_bundle *bundle;
	/* called (lock held) after the control socket replaced the pipeline:
	 * with the bundle it came from, else with its spec text */
	void (*on_replace)(void *arg, struct tdi_dev *tdi, const char *spec_text,
			   const char *spec_name, struct ipdk_p4rt_bundle *bundle);
	void *on_replace_arg;
};

/* Creates ports, builds the pipeline, starts threads and installs cfg's entries. */
int infrap4d_dp_start(struct infrap4d_dp *dp, const struct infrap4d_cfg *cfg,
		      struct ipdk_err *err);

/* Replaces the running pipeline with one built from path (a spec, or a
 * bundle with p4info_path, which may be NULL, as its P4Info) on the same
 * ports; NULL path: the embedded default. On failure the old pipeline keeps
 * running untouched. */
int infrap4d_dp_reload(struct infrap4d_dp *dp, const char *path, const char *p4info_path,
		       struct ipdk_err *err);

/* Builds a pipeline from spec text, runs check on its TDI device and, with
 * commit, replaces the running pipeline with it (else frees it). */
int infrap4d_dp_load_text(struct infrap4d_dp *dp, const char *spec_text, const char *name,
			  bool commit,
			  int (*check)(struct tdi_dev *tdi, void *arg, struct ipdk_err *err),
			  void *check_arg, struct ipdk_err *err);

/* A pipeline built and checked but not running (P4Runtime's VERIFY_AND_SAVE):
 * its TDI device takes writes; it gets the ports when it is committed. */
struct infrap4d_pending;
int infrap4d_dp_build_pending(struct infrap4d_dp *dp, const char *spec_text, const char *name,
			      int (*check)(struct tdi_dev *tdi, void *arg, struct ipdk_err *err),
			      void *check_arg, struct infrap4d_pending **out, struct ipdk_err *err);
struct tdi_dev *infrap4d_pending_tdi(const struct infrap4d_pending *pd);
/* Replaces the running pipeline with pd (consumed, also on failure). */
int infrap4d_dp_commit_pending(struct infrap4d_dp *dp, struct infrap4d_pending *pd,
			       struct ipdk_err *err);
void infrap4d_pending_free(struct infrap4d_pending *pd);

/* Locks the dataplane (TDI, pipeline replacement) and returns the TDI device. */
struct tdi_dev *infrap4d_dp_lock(struct infrap4d_dp *dp);
void infrap4d_dp_unlock(struct infrap4d_dp *dp);

/* Reads a spec file into a malloc'd string, or NULL with err set. */
char *infrap4d_read_spec(const char *path, struct ipdk_err *err);

/* P4Runtime (p4rt.c): starts the service if configured; 0 also when it is
 * disabled or (without an explicit option) cannot start; stop may be called always. */
int infrap4d_p4rt_start(struct infrap4d_dp *dp, const struct infrap4d_cfg *cfg,
			struct ipdk_err *err);
void infrap4d_p4rt_stop(struct infrap4d_dp *dp);

/* gNMI (gnmi.c): starts the service if enabled; 0 also when it cannot start
 * and was not asked for explicitly. stop may always be called. */
int infrap4d_gnmi_start(struct infrap4d_dp *dp, const struct infrap4d_cfg *cfg,
			struct ipdk_err *err);
void infrap4d_gnmi_stop(void);

/* Stops threads, frees the pipeline and destroys the ports. */
void infrap4d_dp_stop(struct infrap4d_dp *dp);

/* Applies one "TABLE match ... action ..." line through TDI. */
int infrap4d_entry_line(struct tdi_dev *tdi, const char *line, bool modify,
			struct ipdk_err *err);

/* The control socket's request handler and connection-close hook. */
int infrap4d_ctl_handle(void *arg, unsigned int conn_id, char *line,
			struct ipdk_ctl_reply *reply, char *err_msg);
void infrap4d_ctl_closed(void *arg, unsigned int conn_id);

#endif
