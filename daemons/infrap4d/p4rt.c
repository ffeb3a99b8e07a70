/*
 * infrap4d's P4Runtime glue: lends the dataplane to lib/p4rt (its lock,
 * pipeline replacement from spec text, and pipelines saved by
 * VERIFY_AND_SAVE until COMMIT) and starts the service with the
 * daemon's options. Without certificates in TLS modes, a daemon whose
 * P4Runtime settings are all defaults runs without P4Runtime (with a
 * warning); one asked for P4Runtime explicitly refuses to start.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipdk/log.h"
#include "ipdk/p4rt.h"
#include "infrap4d.h"

static struct ipdk_p4rt *p4rt;

static struct tdi_dev *dp_lock(void *arg)
{
	return infrap4d_dp_lock(arg);
}

static void dp_unlock(void *arg)
{
	infrap4d_dp_unlock(arg);
}

static int dp_load(void *arg, const char *spec_text, const char *name, bool commit,
		   int (*check)(struct tdi_dev *tdi, void *check_arg, struct ipdk_err *err),
		   void *check_arg, struct ipdk_err *err)
{
	return infrap4d_dp_load_text(arg, spec_text, name, commit, check, check_arg, err);
}

static int dp_save(void *arg, const char *spec_text, const char *name,
		   int (*check)(struct tdi_dev *tdi, void *check_arg, struct ipdk_err *err),
		   void *check_arg, void **saved, struct tdi_dev **tdi, struct ipdk_err *err)
{
	struct infrap4d_pending *pd;
	int rc = infrap4d_dp_build_pending(arg, spec_text, name, check, check_arg, &pd, err);

	if (rc)
		return rc;
	*saved = pd;
	*tdi = infrap4d_pending_tdi(pd);
	return 0;
}

static int dp_commit_saved(void *arg, void *saved, struct ipdk_err *err)
{
	return infrap4d_dp_commit_pending(arg, saved, err);
}

static void dp_drop_saved(void *arg, void *saved)
{
	(void)arg;
	infrap4d_pending_free(saved);
}

static void on_replace(void *arg, struct tdi_dev *tdi, const char *spec_text, const char *name,
		       struct ipdk_p4rt_bundle *bundle)
{
	struct ipdk_err err;

	(void)arg;
	if (!p4rt)
		return;
	if (bundle)
		ipdk_p4rt_pipeline_replaced_bundle(p4rt, tdi, bundle, &err);
	else
		ipdk_p4rt_pipeline_replaced(p4rt, tdi, spec_text, name);
}

static const struct ipdk_p4rt_dp_ops dp_ops = {
	.lock = dp_lock, .unlock = dp_unlock, .load = dp_load,
	.save = dp_save, .commit_saved = dp_commit_saved, .drop_saved = dp_drop_saved,
};

/* The TLS files a mode needs, so a missing one is reported plainly. */
static int certs_check(const struct infrap4d_cfg *cfg, struct ipdk_err *err)
{
	const char *files[] = { "server.crt", "server.key", "ca.crt" };
	char path[IPDK_PATH_MAX + 32];

	if (cfg->grpc_security == IPDK_RPC_SEC_INSECURE)
		return 0;
	for (int i = 0; i < (cfg->grpc_security == IPDK_RPC_SEC_MTLS ? 3 : 2); i++) {
		snprintf(path, sizeof(path), "%s/%s", cfg->grpc_cert_dir, files[i]);
		if (access(path, R_OK))
			return ipdk_err_set(err, -ENOENT,
					    "P4Runtime: %s: %s (create certificates with scripts/gen-certs.sh %s HOST, or use --grpc-security insecure, or --no-p4rt)",
					    path, strerror(errno), cfg->grpc_cert_dir);
	}
	return 0;
}

int infrap4d_p4rt_start(struct infrap4d_dp *dp, const struct infrap4d_cfg *cfg,
			struct ipdk_err *err)
{
	struct ipdk_p4rt_config pc = { 0 };
	struct ipdk_err e;
	char *text = NULL;
	int rc;

	if (!cfg->p4rt_enabled)
		return 0;
	ipdk_err_clear(&e);
	rc = certs_check(cfg, &e);
	if (rc)
		goto fail;
	pc.rpc.address = cfg->p4rt_listen;
	pc.rpc.security = (enum ipdk_rpc_security)cfg->grpc_security;
	pc.rpc.cert_dir = cfg->grpc_cert_dir;
	pc.device_id = cfg->p4rt_device_id;
	if (cfg->p4rt_cpu_port[0]) {
		for (unsigned int i = 0; i < dp->n_ports; i++) {
			if (dp->ports[i] &&
			    !strcmp(ipdk_port_cfg(dp->ports[i])->name, cfg->p4rt_cpu_port)) {
				pc.cpu_port = dp->ports[i];
				pc.cpu_port_id = i;
			}
		}
		if (!pc.cpu_port) {
			rc = ipdk_err_set(&e, -EINVAL, "P4Runtime: cpu_port %s is not one of the ports",
					  cfg->p4rt_cpu_port);
			goto fail;
		}
	}
	/* the bundle the pipeline was built from, else its spec */
	pc.bundle = dp->bundle;
	if (cfg->spec_path[0] && !dp->bundle) {
		text = infrap4d_read_spec(cfg->spec_path, &e);
		if (!text) {
			rc = e.code;
			goto fail;
		}
	}
	pc.spec_text = text ? text : infrap4d_default_spec;
	pc.spec_name = cfg->spec_path[0] ? cfg->spec_path : "l2l3.spec";
	rc = ipdk_p4rt_create(&pc, &dp_ops, dp, &p4rt, &e);
	free(text);
	if (!rc)
		rc = ipdk_p4rt_start(p4rt, &e);
	if (rc) {
		ipdk_p4rt_destroy(p4rt);
		p4rt = NULL;
		goto fail;
	}
	infrap4d_dp_lock(dp);
	dp->on_replace = on_replace;
	dp->on_replace_arg = dp;
	infrap4d_dp_unlock(dp);
	return 0;
fail:
	if (cfg->p4rt_explicit) {
		*err = e;
		return rc;
	}
	IPDK_LOG_WARN("%s; running without P4Runtime", e.msg);
	return 0;
}

void infrap4d_p4rt_stop(struct infrap4d_dp *dp)
{
	if (!p4rt)
		return;
	infrap4d_dp_lock(dp);
	dp->on_replace = NULL;
	infrap4d_dp_unlock(dp);
	ipdk_p4rt_destroy(p4rt);
	p4rt = NULL;
}
