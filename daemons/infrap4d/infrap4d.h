/*
 * infrap4d's internal interfaces: its configuration (from a JSON file and the
 * command line), the dataplane it assembles from the libraries (ports, one
 * pipeline, pipeline threads, a TDI device) and the local control commands.
 */
#ifndef INFRAP4D_H
#define INFRAP4D_H

#include <stdbool.h>
#include <stdio.h>

#include "ipdk/ctlsock.h"
#include "ipdk/err.h"
#include "ipdk/target_dpdk.h"
#include "ipdk/tdi.h"

#define INFRAP4D_MAX_PORTS 256
#define INFRAP4D_DEFAULT_SOCKET "/run/infrap4d.sock"

struct infrap4d_cfg {
	char spec_path[IPDK_PATH_MAX];      /* "" = embedded default pipeline */
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
};

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

struct infrap4d_dp {
	struct ipdk_port *ports[INFRAP4D_MAX_PORTS];
	unsigned int n_ports;
	struct ipdk_dpdk_pipeline *pl;
	struct tdi_dev *tdi;
	struct ipdk_dpdk_runner *runner;
	char pipeline_name[IPDK_NAME_MAX];
	char spec_desc[IPDK_PATH_MAX];
	unsigned int generation;
};

/* Creates ports, builds the pipeline, starts threads and installs cfg's entries. */
int infrap4d_dp_start(struct infrap4d_dp *dp, const struct infrap4d_cfg *cfg,
		      struct ipdk_err *err);

/* Replaces the running pipeline with one built from spec_path on the same ports.
 * On failure the old pipeline keeps running untouched. */
int infrap4d_dp_reload(struct infrap4d_dp *dp, const char *spec_path, struct ipdk_err *err);

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
