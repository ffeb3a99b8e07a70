/*
 * infrap4d's dataplane: creates the configured ports, builds the pipeline on
 * them, opens TDI over it, starts the pipeline threads and installs the
 * configuration's initial entries. A pipeline comes from a spec or from a
 * bundle (docs/bundle.md), whose P4Info is checked and whose declared
 * entries are installed (lib/p4rt) before it runs. A reload builds the new
 * pipeline beside the running one and swaps only when it is complete, so a
 * bad spec never takes traffic down.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/log.h"
#ifdef INFRAP4D_P4RT
#include "ipdk/p4rt.h"
#endif
#include "infrap4d.h"

/* Reads a whole spec file (for the P4Runtime service, which keeps the text). */
char *infrap4d_read_spec(const char *path, struct ipdk_err *err)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	long size;

	if (!f) {
		ipdk_err_set(err, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = malloc((size_t)size + 1)))
		len = fread(text, 1, (size_t)size, f);
	fclose(f);
	if (!text) {
		ipdk_err_set(err, -ENOMEM, "%s: cannot read", path);
		return NULL;
	}
	text[len] = 0;
	return text;
}

static size_t spec_file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n = -1;

	if (f && fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	if (f)
		fclose(f);
	return n < 0 ? 0 : (size_t)n;
}

/* Builds a pipeline from a spec file, or from spec_text when spec_path is
 * empty (the embedded default when both are). */
static int build_on(struct infrap4d_dp *dp, const char *spec_path, const char *spec_text,
		    const char *spec_name, struct ipdk_port **ports, struct ipdk_dpdk_pipeline **pl,
		    struct tdi_dev **tdi, struct ipdk_err *err)
{
	struct ipdk_dpdk_pipeline_cfg pcfg = {
		.spec_path = spec_path && spec_path[0] ? spec_path : NULL,
		.spec_text = spec_text ? spec_text : infrap4d_default_spec,
		.spec_name = spec_text ? spec_name : "default-pipeline(l2l3.spec)",
		.ports = ports,
		.n_ports = dp->n_ports,
		.numa_node = -1,
	};
	char name[IPDK_NAME_MAX];
	void *ctx;
	int rc;

	/* DPDK wants unique pipeline names; a reload builds beside the old one. */
	snprintf(name, sizeof(name), "%s.%u", dp->pipeline_name, dp->generation + 1);
	pcfg.name = name;
	rc = ipdk_dpdk_pipeline_build(&pcfg, pl, err);
	if (rc)
		return rc;
	ctx = pcfg.spec_path ? ipdk_dpdk_tdi_ctx(*pl) : ipdk_dpdk_tdi_ctx_spec(*pl, pcfg.spec_text);
	if (!ctx) {
		ipdk_dpdk_pipeline_free(*pl);
		return ipdk_err_set(err, -ENOMEM, "pipeline %s: out of memory", name);
	}
	rc = tdi_dev_open(&ipdk_dpdk_tdi_ops, ctx, tdi, err);
	if (rc) {
		ipdk_dpdk_pipeline_free(*pl);
		return rc;
	}
	dp->generation++;
	return 0;
}

static int build(struct infrap4d_dp *dp, const char *spec_path, const char *spec_text,
		 const char *spec_name, struct ipdk_dpdk_pipeline **pl, struct tdi_dev **tdi,
		 struct ipdk_err *err)
{
	return build_on(dp, spec_path, spec_text, spec_name, dp->ports, pl, tdi, err);
}

static void bundle_free(struct ipdk_p4rt_bundle *b)
{
#ifdef INFRAP4D_P4RT
	ipdk_p4rt_bundle_free(b);
#else
	(void)b;
#endif
}

/* Builds a pipeline from a bundle file and installs the entries it declares. */
static int build_bundle(struct infrap4d_dp *dp, const char *path, const char *p4info_path,
			struct ipdk_dpdk_pipeline **pl, struct tdi_dev **tdi,
			struct ipdk_p4rt_bundle **out, struct ipdk_err *err)
{
#ifdef INFRAP4D_P4RT
	struct ipdk_p4rt_bundle *b;
	int rc = ipdk_p4rt_bundle_read(path, p4info_path, &b, err);

	if (rc)
		return rc;
	rc = build(dp, NULL, ipdk_p4rt_bundle_spec(b), ipdk_p4rt_bundle_name(b), pl, tdi, err);
	if (!rc) {
		rc = ipdk_p4rt_bundle_install(b, *tdi, err);
		if (rc) {
			tdi_dev_close(*tdi);
			ipdk_dpdk_pipeline_free(*pl);
			*tdi = NULL;
			*pl = NULL;
		}
	}
	if (rc) {
		ipdk_p4rt_bundle_free(b);
		return rc;
	}
	*out = b;
	return 0;
#else
	(void)dp, (void)p4info_path, (void)pl, (void)tdi, (void)out;
	return ipdk_err_set(err, -ENOTSUP, "%s: pipeline bundles need infrap4d built with P4Runtime (protobuf-c)",
			    path);
#endif
}

int infrap4d_entry_line(struct tdi_dev *tdi, const char *line, bool modify, struct ipdk_err *err)
{
	const struct tdi_table_info *t;
	char table[TDI_NAME_MAX];
	struct tdi_entry *e;
	int n = 0, rc;

	if (sscanf(line, " %127s %n", table, &n) != 1)
		return ipdk_err_set(err, -EINVAL, "expected \"TABLE match ... action ...\"");
	t = tdi_table_find(tdi, table);
	if (!t)
		return ipdk_err_set(err, -ENOENT, "no table named \"%s\"", table);
	e = calloc(1, sizeof(*e));
	if (!e)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	rc = tdi_entry_parse(tdi, t, line + n, e, err);
	if (!rc)
		rc = modify ? tdi_entry_modify(tdi, e, err) : tdi_entry_add(tdi, e, err);
	free(e);
	return rc;
}

static int install_entries(struct infrap4d_dp *dp, const struct infrap4d_cfg *cfg,
			   struct ipdk_err *err)
{
	int rc;

	if (!cfg->n_entries)
		return 0;
	rc = tdi_batch_begin(dp->tdi, err);
	if (rc)
		return rc;
	for (unsigned int i = 0; i < cfg->n_entries; i++) {
		rc = infrap4d_entry_line(dp->tdi, cfg->entries[i], false, err);
		if (rc) {
			tdi_batch_abort(dp->tdi);
			return ipdk_err_prefix(err, "entries[%u]", i);
		}
	}
	rc = tdi_batch_commit(dp->tdi, err);
	if (!rc)
		IPDK_LOG_INFO("installed %u initial entries", cfg->n_entries);
	return rc;
}

int infrap4d_dp_start(struct infrap4d_dp *dp, const struct infrap4d_cfg *cfg,
		      struct ipdk_err *err)
{
	int rc;

	memset(dp, 0, sizeof(*dp));
	snprintf(dp->pipeline_name, sizeof(dp->pipeline_name), "%s", cfg->pipeline_name);
	snprintf(dp->spec_desc, sizeof(dp->spec_desc), "%s",
		 cfg->spec_path[0] ? cfg->spec_path : "embedded default (l2l3.spec)");
	for (unsigned int i = 0; i < cfg->n_ports; i++) {
		rc = ipdk_port_create(&cfg->ports[i], &dp->ports[i], err);
		if (rc)
			goto fail;
		dp->n_ports++;
		IPDK_LOG_INFO("port %u: %s (%s via %s)", i, cfg->ports[i].name,
			      ipdk_port_type_name(cfg->ports[i].type), ipdk_port_backend(dp->ports[i]));
	}
	/* Free slots after the configured ports take ports added at runtime. */
	if (cfg->port_slots > dp->n_ports)
		dp->n_ports = cfg->port_slots > INFRAP4D_MAX_PORTS ? INFRAP4D_MAX_PORTS :
			      cfg->port_slots;
	pthread_mutex_init(&dp->lock, NULL);
	if (cfg->bundle_path[0]) {
		snprintf(dp->spec_desc, sizeof(dp->spec_desc), "bundle %s", cfg->bundle_path);
		rc = build_bundle(dp, cfg->bundle_path, cfg->p4info_path[0] ? cfg->p4info_path : NULL,
				  &dp->pl, &dp->tdi, &dp->bundle, err);
	} else {
		rc = build(dp, cfg->spec_path, NULL, NULL, &dp->pl, &dp->tdi, err);
	}
	if (rc)
		goto fail;
	rc = install_entries(dp, cfg, err);
	if (rc)
		goto fail;
	rc = ipdk_dpdk_runner_start(&cfg->threads, &dp->runner, err);
	if (rc)
		goto fail;
	rc = ipdk_dpdk_runner_add(dp->runner, 0, dp->pl, err);
	if (rc)
		goto fail;
	IPDK_LOG_INFO("pipeline %s running %s on %u ports", dp->pipeline_name, dp->spec_desc,
		      dp->n_ports);
	/* a DPDK SWX pipeline is run by one thread at a time */
	if (cfg->threads.n_threads > 1)
		IPDK_LOG_WARN("pipeline %s runs on thread 0; threads 1 to %u have no pipeline to "
			      "run and stay idle", dp->pipeline_name, cfg->threads.n_threads - 1);
	return 0;

fail:
	infrap4d_dp_stop(dp);
	return rc;
}

/* Runs new_pl in place of the running pipeline; on failure the old one
 * keeps running and the new one is freed. */
static int swap(struct infrap4d_dp *dp, struct ipdk_dpdk_pipeline *pl, struct tdi_dev *tdi,
		struct ipdk_p4rt_bundle *bundle, const char *desc, struct ipdk_err *err)
{
	struct ipdk_dpdk_pipeline *old_pl = dp->pl;
	struct tdi_dev *old_tdi = dp->tdi;
	int rc;

	/* Ports are shared: the old pipeline must stop reading them first. */
	ipdk_dpdk_runner_remove(dp->runner, old_pl);
	rc = ipdk_dpdk_runner_add(dp->runner, 0, pl, err);
	if (rc) {
		struct ipdk_err ignore;

		ipdk_dpdk_runner_add(dp->runner, 0, old_pl, &ignore);
		tdi_dev_close(tdi);
		ipdk_dpdk_pipeline_free(pl);
		bundle_free(bundle);
		return rc;
	}
	dp->pl = pl;
	dp->tdi = tdi;
	bundle_free(dp->bundle);
	dp->bundle = bundle;
	tdi_dev_close(old_tdi);
	ipdk_dpdk_pipeline_free(old_pl);
	snprintf(dp->spec_desc, sizeof(dp->spec_desc), "%s", desc);
	IPDK_LOG_INFO("pipeline %s replaced: now running %s", dp->pipeline_name, dp->spec_desc);
	return 0;
}

int infrap4d_dp_reload(struct infrap4d_dp *dp, const char *path, const char *p4info_path,
		       struct ipdk_err *err)
{
	bool dflt = !path || !path[0];
	struct ipdk_p4rt_bundle *bundle = NULL;
	struct ipdk_dpdk_pipeline *pl;
	char desc[IPDK_PATH_MAX + 8];
	struct tdi_dev *tdi;
	char *text = NULL;
	int rc;

	if (!dflt && !(text = infrap4d_read_spec(path, err)))
		return err->code;
	/* spec text has no NUL byte; anything else is a bundle */
	if (!dflt && (p4info_path || strlen(text) != spec_file_size(path))) {
		snprintf(desc, sizeof(desc), "bundle %s", path);
		rc = build_bundle(dp, path, p4info_path, &pl, &tdi, &bundle, err);
	} else {
		snprintf(desc, sizeof(desc), "%s", dflt ? "embedded default (l2l3.spec)" : path);
		rc = build(dp, path, NULL, NULL, &pl, &tdi, err);
	}
	if (!rc)
		rc = swap(dp, pl, tdi, bundle, desc, err);
	if (!rc && dp->on_replace)
		dp->on_replace(dp->on_replace_arg, dp->tdi, dflt ? infrap4d_default_spec : text,
			       dflt ? "l2l3.spec" : path, dp->bundle);
	free(text);
	return rc;
}

int infrap4d_dp_load_text(struct infrap4d_dp *dp, const char *spec_text, const char *name,
			  bool commit,
			  int (*check)(struct tdi_dev *tdi, void *arg, struct ipdk_err *err),
			  void *check_arg, struct ipdk_err *err)
{
	struct ipdk_dpdk_pipeline *pl;
	struct tdi_dev *tdi;
	char desc[IPDK_PATH_MAX];
	int rc;

	rc = build(dp, NULL, spec_text, name, &pl, &tdi, err);
	if (rc)
		return rc;
	rc = check ? check(tdi, check_arg, err) : 0;
	if (rc || !commit) {
		tdi_dev_close(tdi);
		ipdk_dpdk_pipeline_free(pl);
		return rc;
	}
	snprintf(desc, sizeof(desc), "%s (from P4Runtime)", name);
	return swap(dp, pl, tdi, NULL, desc, err);
}

struct infrap4d_pending {
	struct ipdk_dpdk_pipeline *pl;
	struct tdi_dev *tdi;
	char desc[IPDK_PATH_MAX];
};

int infrap4d_dp_build_pending(struct infrap4d_dp *dp, const char *spec_text, const char *name,
			      int (*check)(struct tdi_dev *tdi, void *arg, struct ipdk_err *err),
			      void *check_arg, struct infrap4d_pending **out, struct ipdk_err *err)
{
	/* no ports until it runs: gNMI may add or remove ports meanwhile */
	struct ipdk_port *none[INFRAP4D_MAX_PORTS] = { NULL };
	struct infrap4d_pending *pd = calloc(1, sizeof(*pd));
	int rc;

	if (!pd)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	rc = build_on(dp, NULL, spec_text, name, none, &pd->pl, &pd->tdi, err);
	if (rc) {
		free(pd);
		return rc;
	}
	rc = check ? check(pd->tdi, check_arg, err) : 0;
	if (rc) {
		infrap4d_pending_free(pd);
		return rc;
	}
	snprintf(pd->desc, sizeof(pd->desc), "%s (from P4Runtime)", name);
	*out = pd;
	return 0;
}

struct tdi_dev *infrap4d_pending_tdi(const struct infrap4d_pending *pd)
{
	return pd->tdi;
}

void infrap4d_pending_free(struct infrap4d_pending *pd)
{
	if (!pd)
		return;
	tdi_dev_close(pd->tdi);
	ipdk_dpdk_pipeline_free(pd->pl);
	free(pd);
}

int infrap4d_dp_commit_pending(struct infrap4d_dp *dp, struct infrap4d_pending *pd,
			       struct ipdk_err *err)
{
	int rc = 0;

	for (unsigned int i = 0; i < dp->n_ports && !rc; i++)
		if (dp->ports[i])
			rc = ipdk_dpdk_pipeline_port_set(pd->pl, i, dp->ports[i], err);
	if (rc) {
		infrap4d_pending_free(pd);
		return rc;
	}
	rc = swap(dp, pd->pl, pd->tdi, NULL, pd->desc, err);  /* takes both, also on failure */
	free(pd);
	return rc;
}

void infrap4d_dp_stop(struct infrap4d_dp *dp)
{
	if (dp->runner) {
		ipdk_dpdk_runner_stop(dp->runner);
		dp->runner = NULL;
	}
	if (dp->tdi) {
		tdi_dev_close(dp->tdi);
		dp->tdi = NULL;
	}
	if (dp->pl) {
		ipdk_dpdk_pipeline_free(dp->pl);
		dp->pl = NULL;
	}
	bundle_free(dp->bundle);
	dp->bundle = NULL;
	for (unsigned int i = 0; i < dp->n_ports; i++)
		ipdk_port_destroy(dp->ports[i]);
	dp->n_ports = 0;
}

struct tdi_dev *infrap4d_dp_lock(struct infrap4d_dp *dp)
{
	pthread_mutex_lock(&dp->lock);
	return dp->tdi;
}

void infrap4d_dp_unlock(struct infrap4d_dp *dp)
{
	pthread_mutex_unlock(&dp->lock);
}
