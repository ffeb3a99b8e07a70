/*
 * lib/p4rt service state shared by service.c (RPC handlers, arbitration,
 * pipeline configs) and packetio.c (the controller port).
 */
#ifndef IPDK_P4RT_SERVICE_H
#define IPDK_P4RT_SERVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "p4rt_int.h"

struct p4rt_u128 {
	uint64_t high, low;
};

/* One StreamChannel call. */
struct p4rt_stream {
	struct p4rt_stream *next;
	struct ipdk_rpc_call *call;
	bool arbitrated, has_election;
	char role[128];
	struct p4rt_u128 election;
};

/* A config kept by VERIFY_AND_SAVE until COMMIT. With the daemon's save
 * ops its pipeline is built and held (handle, tdi) with its model, and
 * Writes and Reads go to it until COMMIT runs it. */
struct p4rt_saved {
	bool pending;
	void *handle;
	struct tdi_dev *tdi;
	struct p4_model *model;
	uint8_t *device_config;
	size_t device_config_len;
	P4__Config__V1__P4Info *p4info;
	bool has_cookie;
	uint64_t cookie;
};

struct ipdk_p4rt {
	struct ipdk_rpc_server *srv;
	struct ipdk_p4rt_dp_ops ops;
	void *ops_arg;
	uint64_t device_id;
	/* under the dataplane lock */
	struct p4_model *model;
	uint8_t *device_config;
	size_t device_config_len;
	bool has_cookie;
	uint64_t cookie;
	struct p4rt_saved saved;
	/* under lock */
	pthread_mutex_t lock;
	struct p4rt_stream *streams;
	uint64_t packet_in_sent, packet_in_dropped;
	/* packet I/O (packetio.c) */
	struct ipdk_port *cpu_port;
	uint32_t cpu_port_id;
	pthread_mutex_t pio_lock;       /* packet-out ring producer, header layouts */
	struct p4m_ctrl_hdr hdr_in, hdr_out;
	pthread_t pio_thread;
	bool pio_running;
	volatile bool pio_stop;
};

/* packetio.c */
int p4rt_packetio_init(struct ipdk_p4rt *p, struct ipdk_err *err);
int p4rt_packetio_start(struct ipdk_p4rt *p, struct ipdk_err *err);
void p4rt_packetio_stop(struct ipdk_p4rt *p);
/* Copies the controller header layouts of model m (NULL: none). */
void p4rt_packet_headers_set(struct ipdk_p4rt *p, const struct p4_model *m);
int p4rt_packet_out(struct ipdk_p4rt *p, const P4__V1__PacketOut *po, struct ipdk_err *err);

/* service.c: hands a PacketIn to every primary client */
void p4rt_packet_in_deliver(struct ipdk_p4rt *p, const P4__V1__PacketIn *pin);

#endif
