/*
 * Helpers shared by the benchmarks (see bench.h). The code-generation path is
 * driven the way DPDK's own pipeline example and the P4-DPDK stacks built on
 * it drive it: generate C from the spec, compile it into a shared object with
 * the system compiler, and let DPDK build the pipeline from that object and
 * an I/O spec. It needs DPDK's internal pipeline headers, which distributions
 * do not install; scripts/bench.sh extracts them from DPDK's source package.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_ring.h>
#include <rte_swx_ctl.h>
#include <rte_swx_pipeline.h>

#include "bench.h"

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double bench_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int bench_env_init(unsigned int mem_mb, struct ipdk_err *err)
{
	struct ipdk_dpdk_env_cfg cfg = {
		.mem_mb = mem_mb,
		.log_level = "error",
		.n_mbufs = 8192,
	};

	return ipdk_dpdk_env_init(&cfg, err);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void bench_env_fini(void)
{
	ipdk_dpdk_env_fini();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, unsigned int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

const char *bench_examples_dir(void)
{
	const char *d = getenv("IPDK_DPDK_EXAMPLES");

	return d && d[0] ? d : "/usr/share/dpdk/examples/pipeline/examples";
}

static void put_be(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = v >> (8 * (n - 1 - i));
}

static uint16_t ipv4_checksum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (unsigned int i = 0; i < 20; i += 2)
		sum += (h[i] << 8) | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

void bench_udp_frame(uint8_t f[BENCH_PKT_LEN], uint64_t eth_dst, uint32_t ip_src,
		     uint32_t ip_dst)
{
	uint8_t *ip = f + 14, *udp = ip + 20;

	memset(f, 0, BENCH_PKT_LEN);
	put_be(f, eth_dst, 6);
	put_be(f + 6, 0x020000000001ull, 6);
	put_be(f + 12, 0x0800, 2);
	ip[0] = 0x45;
	put_be(ip + 2, BENCH_PKT_LEN - 14, 2);
	ip[8] = 64;
	ip[9] = 17;
	put_be(ip + 12, ip_src, 4);
	put_be(ip + 16, ip_dst, 4);
	put_be(ip + 10, ipv4_checksum(ip), 2);
	put_be(udp, 10000, 2);
	put_be(udp + 2, 20000, 2);
	put_be(udp + 4, BENCH_PKT_LEN - 14 - 20, 2);
}

/* ---- Table files -------------------------------------------------------- */

/* What rte_swx_ctl_pipeline_table_entry_read() hands out is plain malloc()
 * memory with no public free function. */
static void entry_free(struct rte_swx_table_entry *e)
{
	free(e->key);
	free(e->key_mask);
	free(e->action_data);
	free(e);
}

static bool line_blank(const char *s)
{
	s += strspn(s, " \t\r\n");
	return !*s || *s == ';' || *s == '#' || (s[0] == '/' && s[1] == '/');
}

int bench_table_file(struct rte_swx_ctl_pipeline *ctl, const char *table,
		     const char *path, struct ipdk_err *err)
{
	struct rte_swx_table_entry *e;
	unsigned int lineno = 0;
	char line[4096];
	int blank, rc = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return ipdk_err_set(err, -errno, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line_blank(line))
			continue;
		e = rte_swx_ctl_pipeline_table_entry_read(ctl, table, line, &blank);
		if (!e) {
			rc = ipdk_err_set(err, -EINVAL, "%s:%u: not an entry of table %s",
					  path, lineno, table);
			break;
		}
		rc = rte_swx_ctl_pipeline_table_entry_add(ctl, table, e);
		entry_free(e);
		if (rc) {
			ipdk_err_set(err, rc, "%s:%u: table %s refused the entry: %s", path,
				     lineno, table, strerror(-rc));
			break;
		}
	}
	fclose(f);
	return rc;
}

int bench_selector_file(struct rte_swx_ctl_pipeline *ctl, const char *selector,
			uint32_t n_groups, const char *path, struct ipdk_err *err)
{
	uint32_t group, member, weight, id;
	unsigned int lineno = 0;
	char line[1024];
	int rc = 0;
	FILE *f;

	for (uint32_t i = 0; i < n_groups; i++) {
		rc = rte_swx_ctl_pipeline_selector_group_add(ctl, selector, &id);
		if (rc)
			return ipdk_err_set(err, rc, "selector %s: cannot add group %u: %s",
					    selector, i, strerror(-rc));
	}
	f = fopen(path, "r");
	if (!f)
		return ipdk_err_set(err, -errno, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line_blank(line))
			continue;
		if (sscanf(line, " group %u member %u weight %u", &group, &member, &weight) != 3) {
			rc = ipdk_err_set(err, -EINVAL, "%s:%u: expected "
					  "\"group G member M weight W\"", path, lineno);
			break;
		}
		rc = rte_swx_ctl_pipeline_selector_group_member_add(ctl, selector, group,
								    member, weight);
		if (rc) {
			ipdk_err_set(err, rc, "%s:%u: selector %s refused the member: %s",
				     path, lineno, selector, strerror(-rc));
			break;
		}
	}
	fclose(f);
	return rc;
}

/* ---- Code generation ---------------------------------------------------- */

static int read_cflags(struct bench_codegen *cg, struct ipdk_err *err)
{
	FILE *p = popen("pkg-config --cflags libdpdk", "r");
	size_t n;

	if (!p)
		return ipdk_err_set(err, -errno, "pkg-config: %s", strerror(errno));
	n = fread(cg->cflags, 1, sizeof(cg->cflags) - 1, p);
	cg->cflags[n] = 0;
	cg->cflags[strcspn(cg->cflags, "\n")] = 0;
	if (pclose(p) != 0 || !n)
		return ipdk_err_set(err, -ENOENT, "pkg-config --cflags libdpdk failed");
	return 0;
}

int bench_codegen_init(struct bench_codegen *cg, const char *internal_inc,
		       struct ipdk_err *err)
{
	char probe[PATH_MAX + 64];

	memset(cg, 0, sizeof(*cg));
	if (!internal_inc)
		internal_inc = getenv("IPDK_BENCH_DPDK_INTERNAL");
	if (!internal_inc || !internal_inc[0])
		return ipdk_err_set(err, -ENOENT, "DPDK internal pipeline headers not given "
				    "(set IPDK_BENCH_DPDK_INTERNAL; scripts/bench.sh does)");
	snprintf(probe, sizeof(probe), "%s/rte_swx_pipeline_internal.h", internal_inc);
	if (access(probe, R_OK))
		return ipdk_err_set(err, -ENOENT, "%s: %s", probe, strerror(errno));
	snprintf(cg->internal_inc, sizeof(cg->internal_inc), "%s", internal_inc);
	snprintf(cg->workdir, sizeof(cg->workdir), "/tmp/ipdk-bench-XXXXXX");
	if (!mkdtemp(cg->workdir)) {
		cg->workdir[0] = 0;
		return ipdk_err_set(err, -errno, "cannot make a work directory: %s",
				    strerror(errno));
	}
	return read_cflags(cg, err);
}

void bench_codegen_fini(struct bench_codegen *cg)
{
	if (cg->workdir[0])
		nftw(cg->workdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	cg->workdir[0] = 0;
}

int bench_iospec_rings(struct ipdk_port **ports, uint32_t n_ports, char *buf, size_t size,
		       struct ipdk_err *err)
{
	size_t off = 0;

	if (!n_ports || (n_ports & (n_ports - 1)))
		return ipdk_err_set(err, -EINVAL, "iospec: %u ports, need a power of two",
				    n_ports);
	for (uint32_t i = 0; i < n_ports; i++) {
		const struct ipdk_port_cfg *c = ipdk_port_cfg(ports[i]);
		struct rte_ring *in = ipdk_port_ring_to_pipeline(ports[i]);
		struct rte_ring *out = ipdk_port_ring_from_pipeline(ports[i]);
		unsigned int bsz = c->burst ? c->burst : 32;

		if (!in || !out)
			return ipdk_err_set(err, -EINVAL, "iospec: port %s is not a ring port",
					    c->name);
		off += snprintf(buf + off, off < size ? size - off : 0,
				"port in %u ring %s bsz %u\nport out %u ring %s bsz %u\n",
				i, in->name, bsz, i, out->name, bsz);
	}
	off += snprintf(buf + off, off < size ? size - off : 0, "port out %u sink file none\n",
			n_ports);
	if (off >= size)
		return ipdk_err_set(err, -ENOSPC, "iospec: buffer too small");
	return 0;
}

static int codegen_c(const char *spec_path, const char *c_path, struct ipdk_err *err)
{
	const char *msg = NULL;
	uint32_t line = 0;
	FILE *spec, *code;
	int rc;

	spec = fopen(spec_path, "r");
	if (!spec)
		return ipdk_err_set(err, -errno, "%s: %s", spec_path, strerror(errno));
	code = fopen(c_path, "w");
	if (!code) {
		rc = ipdk_err_set(err, -errno, "%s: %s", c_path, strerror(errno));
		fclose(spec);
		return rc;
	}
	rc = rte_swx_pipeline_codegen(spec, code, &line, &msg);
	fclose(spec);
	if (fclose(code) && !rc)
		rc = -EIO;
	if (rc)
		return ipdk_err_set(err, rc, "%s:%u: code generation failed: %s", spec_path,
				    line, msg ? msg : strerror(-rc));
	return 0;
}

static int compile_lib(const struct bench_codegen *cg, const char *c_path,
		       const char *so_path, struct ipdk_err *err)
{
	char cmd[PATH_MAX * 4 + 2048];
	int status;

	snprintf(cmd, sizeof(cmd), "gcc -O3 -fPIC -shared -Wno-deprecated-declarations %s "
		 "-I%s -o %s %s >%s.log 2>&1", cg->cflags, cg->internal_inc, so_path, c_path,
		 so_path);
	status = system(cmd);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status))
		return ipdk_err_set(err, -EIO, "gcc failed on %s (see %s.log)", c_path, so_path);
	return 0;
}

int bench_codegen_build(struct bench_codegen *cg, const char *name, const char *spec_path,
			const char *iospec, struct rte_swx_pipeline **out,
			struct bench_codegen_times *t, struct ipdk_err *err)
{
	char c_path[PATH_MAX + 64], so_path[PATH_MAX + 64];
	struct bench_codegen_times local;
	FILE *io;
	double t0;
	int rc;

	if (!t)
		t = &local;
	/* dlopen() returns an already loaded object for a known path: every
	 * build gets fresh file names so each one really loads its own code. */
	snprintf(c_path, sizeof(c_path), "%s/%s_%u.c", cg->workdir, name, cg->seq);
	snprintf(so_path, sizeof(so_path), "%s/%s_%u.so", cg->workdir, name, cg->seq++);

	t0 = bench_now();
	rc = codegen_c(spec_path, c_path, err);
	if (rc)
		return rc;
	t->codegen_s = bench_now() - t0;

	t0 = bench_now();
	rc = compile_lib(cg, c_path, so_path, err);
	if (rc)
		return rc;
	t->cc_s = bench_now() - t0;

	io = fmemopen((void *)iospec, strlen(iospec), "r");
	if (!io)
		return ipdk_err_set(err, -errno, "iospec: %s", strerror(errno));
	t0 = bench_now();
	rc = rte_swx_pipeline_build_from_lib(out, name, so_path, io, 0);
	t->build_s = bench_now() - t0;
	fclose(io);
	if (rc)
		return ipdk_err_set(err, rc, "pipeline %s: build from %s failed: %s", name,
				    so_path, strerror(-rc));
	return 0;
}
