/*
 * The ipdk.test.Echo service for lib/rpc tests (rpc_echo_service.c): Say
 * (unary, optional delay and failure with details), Count (server stream),
 * Sum (client stream), Chat (bidi) and Stats (the server's call counts).
 */
#ifndef IPDK_RPC_ECHO_SERVICE_H
#define IPDK_RPC_ECHO_SERVICE_H

#include "ipdk/rpc.h"

extern const struct ipdk_rpc_method echo_methods[];
extern const size_t n_echo_methods;

/* Registers the Echo methods on srv (which Stats then reports on); 0 or -errno. */
int echo_service_add(struct ipdk_rpc_server *srv, struct ipdk_err *err);

#endif
