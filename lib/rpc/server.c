/*
 * The gRPC server of lib/rpc: configuration and credentials (mutual TLS by
 * default, server-only TLS, explicit insecure), the method registry, the
 * worker threads that drive the completion queue, accepting calls (unknown
 * methods are answered UNIMPLEMENTED) and a shutdown that cancels open streams
 * instead of waiting for their peers. gRPC's own log lines go to ipdk_log.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "ipdk/log.h"
#include "rpc_internal.h"

#define PEM_MAX (1 << 20)
#define ACCEPT_SLOTS_PER_WORKER 4

/* ---- gRPC logging ---- */

/* gRPC's errors are mostly about peers (failed handshakes, resets), so they are
 * warnings for us; its info lines are internals. */
static void rpc_gpr_log(gpr_log_func_args *args)
{
	enum ipdk_log_level level = IPDK_LOG_DEBUG;

	if (args->severity == GPR_LOG_SEVERITY_ERROR)
		level = IPDK_LOG_WARN;
	ipdk_log(level, "grpc: %s (%s:%d)", args->message, args->file, args->line);
}

static void rpc_grpc_init(void)
{
	gpr_set_log_function(rpc_gpr_log);
	grpc_init();
	gpr_set_log_verbosity(ipdk_log_level_get() >= IPDK_LOG_DEBUG ?
			      GPR_LOG_SEVERITY_DEBUG : GPR_LOG_SEVERITY_ERROR);
}

/* ---- configuration ---- */

char *rpc_path_or_default(const char *path, const char *dir, const char *name)
{
	char *s;

	if (path)
		return strdup(path);
	if (!dir)
		return NULL;
	if (asprintf(&s, "%s/%s", dir, name) < 0)
		return NULL;
	return s;
}

static int config_check(const struct ipdk_rpc_config *cfg, struct ipdk_err *err)
{
	if (!cfg || !cfg->address || !*cfg->address)
		return ipdk_err_set(err, -EINVAL, "rpc server: no listen address");
	if (cfg->security > IPDK_RPC_SEC_INSECURE)
		return ipdk_err_set(err, -EINVAL, "rpc server %s: unknown security mode %d",
				    cfg->address, (int)cfg->security);
	if (cfg->max_message_size > INT_MAX)
		return ipdk_err_set(err, -ERANGE,
				    "rpc server %s: max message size %zu exceeds %d",
				    cfg->address, cfg->max_message_size, INT_MAX);
	if (cfg->security == IPDK_RPC_SEC_INSECURE)
		return 0;
	if (!cfg->cert_dir && (!cfg->cert_file || !cfg->key_file))
		return ipdk_err_set(err, -EINVAL,
				    "rpc server %s: TLS needs a certificate and key (or cert_dir)",
				    cfg->address);
	if (cfg->security == IPDK_RPC_SEC_MTLS && !cfg->cert_dir && !cfg->ca_cert_file)
		return ipdk_err_set(err, -EINVAL,
				    "rpc server %s: mutual TLS needs a CA certificate (or cert_dir)",
				    cfg->address);
	return 0;
}

static void server_free(struct ipdk_rpc_server *srv)
{
	for (size_t i = 0; i < srv->n_methods; i++)
		free((char *)srv->methods[i].name);
	free(srv->methods);
	free(srv->address);
	free(srv->ca_file);
	free(srv->cert_file);
	free(srv->key_file);
	free(srv->workers);
	free(srv->slots);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

int ipdk_rpc_security_parse(const char *s)
{
	if (!strcmp(s, "mtls"))
		return IPDK_RPC_SEC_MTLS;
	if (!strcmp(s, "tls"))
		return IPDK_RPC_SEC_TLS;
	if (!strcmp(s, "insecure"))
		return IPDK_RPC_SEC_INSECURE;
	return -EINVAL;
}

int ipdk_rpc_server_create(const struct ipdk_rpc_config *cfg,
			   struct ipdk_rpc_server **out, struct ipdk_err *err)
{
	struct ipdk_rpc_server *srv;
	bool tls;
	int ret;

	ret = config_check(cfg, err);
	if (ret < 0)
		return ret;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return ipdk_err_set(err, -ENOMEM, "rpc server %s: out of memory", cfg->address);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	tls = cfg->security != IPDK_RPC_SEC_INSECURE;
	srv->security = cfg->security;
	srv->address = strdup(cfg->address);
	srv->max_message = cfg->max_message_size ? cfg->max_message_size :
			   IPDK_RPC_DEFAULT_MAX_MESSAGE;
	srv->n_workers = cfg->workers ? cfg->workers : IPDK_RPC_DEFAULT_WORKERS;
	srv->send_queue_len = cfg->send_queue_len ? cfg->send_queue_len :
			      IPDK_RPC_DEFAULT_SEND_QUEUE;
	if (tls) {
		srv->cert_file = rpc_path_or_default(cfg->cert_file, cfg->cert_dir, "server.crt");
		srv->key_file = rpc_path_or_default(cfg->key_file, cfg->cert_dir, "server.key");
	}
	if (cfg->security == IPDK_RPC_SEC_MTLS)
		srv->ca_file = rpc_path_or_default(cfg->ca_cert_file, cfg->cert_dir, "ca.crt");
	if (!srv->address || (tls && (!srv->cert_file || !srv->key_file)) ||
	    (cfg->security == IPDK_RPC_SEC_MTLS && !srv->ca_file)) {
		server_free(srv);
		return ipdk_err_set(err, -ENOMEM, "rpc server %s: out of memory", cfg->address);
	}
	rpc_grpc_init();
	*out = srv;
	return 0;
}

/* ---- methods ---- */

static const struct ipdk_rpc_method *method_find(const struct ipdk_rpc_server *srv,
						 grpc_slice name)
{
	for (size_t i = 0; i < srv->n_methods; i++)
		if (!grpc_slice_str_cmp(name, srv->methods[i].name))
			return &srv->methods[i];
	return NULL;
}

static int method_check(const struct ipdk_rpc_server *srv,
			const struct ipdk_rpc_method *m, struct ipdk_err *err)
{
	const char *name = m->name ? m->name : "(null)";
	bool stream_in = m->kind == IPDK_RPC_CLIENT_STREAM || m->kind == IPDK_RPC_BIDI_STREAM;

	if (srv->started)
		return ipdk_err_set(err, -EBUSY, "rpc method %s: server already started", name);
	if (!m->name || m->name[0] != '/' || !strchr(m->name + 1, '/'))
		return ipdk_err_set(err, -EINVAL,
				    "rpc method %s: name must be /package.Service/Method", name);
	if (m->kind > IPDK_RPC_BIDI_STREAM)
		return ipdk_err_set(err, -EINVAL, "rpc method %s: unknown kind %d", name,
				    (int)m->kind);
	if (!m->request || !m->response)
		return ipdk_err_set(err, -EINVAL,
				    "rpc method %s: request and response descriptors are required",
				    name);
	if (stream_in ? !m->on_message : !m->on_request)
		return ipdk_err_set(err, -EINVAL, "rpc method %s: no %s callback", name,
				    stream_in ? "on_message" : "on_request");
	for (size_t i = 0; i < srv->n_methods; i++)
		if (!strcmp(srv->methods[i].name, m->name))
			return ipdk_err_set(err, -EEXIST,
					    "rpc method %s: already registered", name);
	return 0;
}

int ipdk_rpc_server_add_method(struct ipdk_rpc_server *srv,
			       const struct ipdk_rpc_method *m, struct ipdk_err *err)
{
	struct ipdk_rpc_method *methods;
	char *name;
	int ret;

	ret = method_check(srv, m, err);
	if (ret < 0)
		return ret;
	name = strdup(m->name);
	methods = realloc(srv->methods, (srv->n_methods + 1) * sizeof(*methods));
	if (!name || !methods) {
		free(name);
		if (methods)
			srv->methods = methods;
		return ipdk_err_set(err, -ENOMEM, "rpc method %s: out of memory", m->name);
	}
	srv->methods = methods;
	methods[srv->n_methods] = *m;
	methods[srv->n_methods].name = name;
	srv->n_methods++;
	return 0;
}

int ipdk_rpc_server_add_methods(struct ipdk_rpc_server *srv,
				const struct ipdk_rpc_method *m, size_t n,
				struct ipdk_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int ret = ipdk_rpc_server_add_method(srv, &m[i], err);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- credentials ---- */

int rpc_pem_read(const char *path, char **out, struct ipdk_err *err)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return ipdk_err_set(err, -errno, "rpc: cannot open %s: %s", path,
				    strerror(errno));
	buf = malloc(PEM_MAX + 2);
	if (!buf) {
		fclose(f);
		return ipdk_err_set(err, -ENOMEM, "rpc: %s: out of memory", path);
	}
	n = fread(buf, 1, PEM_MAX + 1, f);
	fclose(f);
	buf[n] = '\0';
	if (n == 0 || n > PEM_MAX || !strstr(buf, "-----BEGIN")) {
		free(buf);
		return ipdk_err_set(err, -EINVAL, "rpc: %s: not a PEM file (or over %d bytes)",
				    path, PEM_MAX);
	}
	*out = buf;
	return 0;
}

static int server_credentials(struct ipdk_rpc_server *srv, grpc_server_credentials **out,
			      struct ipdk_err *err)
{
	grpc_ssl_pem_key_cert_pair pair;
	char *ca = NULL, *cert = NULL, *key = NULL;
	int ret;

	if (srv->security == IPDK_RPC_SEC_INSECURE) {
		IPDK_LOG_WARN("rpc server %s: insecure mode, no TLS and no client authentication",
			      srv->address);
		*out = grpc_insecure_server_credentials_create();
		return 0;
	}
	ret = rpc_pem_read(srv->cert_file, &cert, err);
	if (!ret)
		ret = rpc_pem_read(srv->key_file, &key, err);
	if (!ret && srv->security == IPDK_RPC_SEC_MTLS)
		ret = rpc_pem_read(srv->ca_file, &ca, err);
	if (ret < 0)
		goto out;
	pair.private_key = key;
	pair.cert_chain = cert;
	*out = grpc_ssl_server_credentials_create_ex(ca, &pair, 1,
		srv->security == IPDK_RPC_SEC_MTLS ?
			GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY :
			GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, NULL);
	if (!*out)
		ret = ipdk_err_set(err, -EINVAL, "rpc server %s: gRPC rejected the TLS credentials",
				   srv->address);
out:
	if (key)
		explicit_bzero(key, strlen(key));
	free(key);
	free(cert);
	free(ca);
	return ret;
}

/* ---- accepting calls ---- */

static void accept_done(struct rpc_tag *tag, bool ok);

static void slot_arm(struct rpc_accept_slot *slot)
{
	struct ipdk_rpc_server *srv = slot->srv;
	grpc_call_error rc;

	grpc_call_details_init(&slot->details);
	grpc_metadata_array_init(&slot->metadata);
	slot->gcall = NULL;
	rc = grpc_server_request_call(srv->server, &slot->gcall, &slot->details,
				      &slot->metadata, srv->cq, srv->cq, &slot->tag);
	if (rc != GRPC_CALL_OK) {
		IPDK_LOG_ERR("rpc server %s: cannot wait for calls (grpc_call_error %d)",
			     srv->address, rc);
		grpc_call_details_destroy(&slot->details);
		grpc_metadata_array_destroy(&slot->metadata);
	}
}

static void accept_done(struct rpc_tag *tag, bool ok)
{
	struct rpc_accept_slot *slot = rpc_container_of(tag, struct rpc_accept_slot, tag);
	struct ipdk_rpc_server *srv = slot->srv;
	char *name;

	if (ok) {
		pthread_mutex_lock(&srv->lock);
		srv->active++;
		srv->total++;
		pthread_mutex_unlock(&srv->lock);
		name = grpc_slice_to_c_string(slot->details.method);
		rpc_call_accept(srv, method_find(srv, slot->details.method), slot->gcall,
				name);
		gpr_free(name);
	}
	grpc_call_details_destroy(&slot->details);
	grpc_metadata_array_destroy(&slot->metadata);
	/* Re-arming under the lock orders it before a concurrent stop's
	 * shutdown: a request on a destroyed server would be fatal. */
	pthread_mutex_lock(&srv->lock);
	if (ok && !srv->stopping)
		slot_arm(slot);
	pthread_mutex_unlock(&srv->lock);
}

void rpc_server_call_ended(struct ipdk_rpc_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->active--;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

static void shutdown_done(struct rpc_tag *tag, bool ok)
{
	struct ipdk_rpc_server *srv = rpc_container_of(tag, struct ipdk_rpc_server,
						       shutdown_tag);

	(void)ok;
	pthread_mutex_lock(&srv->lock);
	srv->shutdown_done = true;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

/* ---- workers ---- */

static void *worker_main(void *arg)
{
	struct ipdk_rpc_server *srv = arg;
	grpc_event ev;

	rpc_on_worker = true;
	for (;;) {
		ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
						NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE) {
			struct rpc_tag *tag = ev.tag;

			tag->done(tag, ev.success);
		}
	}
	return NULL;
}

static grpc_arg int_arg(const char *key, int value)
{
	grpc_arg a;

	memset(&a, 0, sizeof(a));
	a.type = GRPC_ARG_INTEGER;
	a.key = (char *)key;
	a.value.integer = value;
	return a;
}

static int server_bind(struct ipdk_rpc_server *srv, struct ipdk_err *err)
{
	grpc_server_credentials *creds = NULL;
	grpc_arg args[3];
	grpc_channel_args chargs = { .num_args = 3, .args = args };
	int ret;

	ret = server_credentials(srv, &creds, err);
	if (ret < 0)
		return ret;
	args[0] = int_arg(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int)srv->max_message);
	args[1] = int_arg(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, (int)srv->max_message);
	/* gRPC sets SO_REUSEPORT by default: a second daemon on our port would
	 * silently share its calls instead of failing to start. */
	args[2] = int_arg(GRPC_ARG_ALLOW_REUSEPORT, 0);
	srv->server = grpc_server_create(&chargs, NULL);
	srv->cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
	srv->port = grpc_server_add_http2_port(srv->server, srv->address, creds);
	grpc_server_credentials_release(creds);
	if (srv->port <= 0)
		return ipdk_err_set(err, -EADDRNOTAVAIL,
				    "rpc server %s: cannot listen (address in use or invalid)",
				    srv->address);
	return 0;
}

/* Without workers (a failed start) the queue is drained here: gRPC requires
 * every event, the shutdown one included, to be taken before destruction. */
static void drain_inline(struct ipdk_rpc_server *srv)
{
	grpc_event ev;

	do {
		ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
						NULL);
		if (ev.type == GRPC_OP_COMPLETE)
			((struct rpc_tag *)ev.tag)->done(ev.tag, ev.success);
	} while (ev.type != GRPC_QUEUE_SHUTDOWN);
}

static void server_teardown(struct ipdk_rpc_server *srv)
{
	if (srv->server)
		grpc_server_destroy(srv->server);
	srv->server = NULL;
	if (srv->cq) {
		grpc_completion_queue_shutdown(srv->cq);
		if (!srv->n_started)
			drain_inline(srv);
		for (unsigned int i = 0; i < srv->n_started; i++)
			pthread_join(srv->workers[i], NULL);
		srv->n_started = 0;
		grpc_completion_queue_destroy(srv->cq);
	}
	srv->cq = NULL;
}

int ipdk_rpc_server_start(struct ipdk_rpc_server *srv, struct ipdk_err *err)
{
	int ret;

	if (srv->started)
		return ipdk_err_set(err, -EALREADY, "rpc server %s: already started",
				    srv->address);
	srv->workers = calloc(srv->n_workers, sizeof(*srv->workers));
	srv->n_slots = srv->n_workers * ACCEPT_SLOTS_PER_WORKER;
	srv->slots = calloc(srv->n_slots, sizeof(*srv->slots));
	if (!srv->workers || !srv->slots)
		return ipdk_err_set(err, -ENOMEM, "rpc server %s: out of memory", srv->address);
	ret = server_bind(srv, err);
	if (ret < 0)
		goto fail;
	grpc_server_start(srv->server);
	srv->started = true;
	srv->shutdown_tag.done = shutdown_done;
	for (unsigned int i = 0; i < srv->n_slots; i++) {
		srv->slots[i].tag.done = accept_done;
		srv->slots[i].srv = srv;
		slot_arm(&srv->slots[i]);
	}
	for (; srv->n_started < srv->n_workers; srv->n_started++) {
		ret = -pthread_create(&srv->workers[srv->n_started], NULL, worker_main, srv);
		if (ret < 0)
			break;
	}
	if (!srv->n_started) {
		/* Nothing can serve the queue: shut down before any call is accepted. */
		srv->stopping = true;
		grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);
		grpc_server_cancel_all_calls(srv->server);
		while (!srv->shutdown_done) {
			grpc_event ev = grpc_completion_queue_next(srv->cq,
					gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);

			if (ev.type == GRPC_OP_COMPLETE)
				((struct rpc_tag *)ev.tag)->done(ev.tag, ev.success);
		}
		server_teardown(srv);
		srv->stopped = true;
		return ipdk_err_set(err, ret, "rpc server %s: cannot start a worker: %s",
				    srv->address, strerror(-ret));
	}
	if (srv->n_started < srv->n_workers)
		IPDK_LOG_WARN("rpc server %s: running with %u of %u workers", srv->address,
			      srv->n_started, srv->n_workers);
	IPDK_LOG_INFO("rpc server listening on %s (port %d, %s, %u workers)", srv->address,
		      srv->port, srv->security == IPDK_RPC_SEC_MTLS ? "mutual TLS" :
		      srv->security == IPDK_RPC_SEC_TLS ? "TLS" : "insecure", srv->n_workers);
	return 0;
fail:
	server_teardown(srv);
	return ret;
}

int ipdk_rpc_server_port(const struct ipdk_rpc_server *srv)
{
	return srv->started ? srv->port : 0;
}

void ipdk_rpc_server_stats(struct ipdk_rpc_server *srv, uint64_t *active, uint64_t *total)
{
	pthread_mutex_lock(&srv->lock);
	if (active)
		*active = srv->active;
	if (total)
		*total = srv->total;
	pthread_mutex_unlock(&srv->lock);
}

/* Waits for the shutdown notification and for every call to be handed back;
 * calls end quickly once cancelled, the log line only names a slow shutdown. */
static void stop_wait(struct ipdk_rpc_server *srv)
{
	struct timespec deadline;
	bool warned = false;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&srv->lock);
	while (!srv->shutdown_done || srv->active) {
		if (pthread_cond_timedwait(&srv->cond, &srv->lock, &deadline) != ETIMEDOUT)
			continue;
		if (!warned)
			IPDK_LOG_WARN("rpc server %s: still waiting for %" PRIu64 " calls to end",
				      srv->address, srv->active);
		warned = true;
		deadline.tv_sec += 5;
	}
	pthread_mutex_unlock(&srv->lock);
}

void ipdk_rpc_server_stop(struct ipdk_rpc_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	if (!srv->started || srv->stopping) {
		pthread_mutex_unlock(&srv->lock);
		return;
	}
	srv->stopping = true;
	pthread_mutex_unlock(&srv->lock);
	grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);
	/* Open streams would otherwise hold the shutdown until their peers leave. */
	grpc_server_cancel_all_calls(srv->server);
	stop_wait(srv);
	server_teardown(srv);
	srv->stopped = true;
	IPDK_LOG_INFO("rpc server %s stopped", srv->address);
}

void ipdk_rpc_server_destroy(struct ipdk_rpc_server *srv)
{
	if (!srv)
		return;
	ipdk_rpc_server_stop(srv);
	if (srv->started && !srv->stopped)
		server_teardown(srv);
	server_free(srv);
	grpc_shutdown();
}
