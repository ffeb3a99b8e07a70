/*
 * nvmf-host: exercises ipdk's NVMe/TCP initiator (lib/nvmf) and its nvme-tcp
 * block backend (lib/blk) from the command line: discovery, Identify,
 * reading and writing ranges, a data-integrity run over several I/O queues
 * (random sizes, offsets and operations, every block checked; it rides out a
 * target restart when --ctrl-loss-tmo allows) and a throughput run. The
 * tests and bench/ drive it; see docs/storage.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipdk/blk.h"
#include "ipdk/log.h"
#include "ipdk/nvmf.h"

#define VER_NONE 0          /* never written by us: not checked */
#define VER_ZERO 0xfffe     /* zeroed or discarded: reads back as zeroes */
#define VER_UNKNOWN 0xffff  /* a write failed: content unknown */
#define HDR_MAGIC 0x6970646b6e766d66ull

struct run_opts {
	unsigned int queues, depth;
	uint32_t bs_min, bs_max;            /* bytes */
	double seconds;
	uint64_t ios;                       /* total, 0: until seconds */
	const char *rw;                     /* perf: read, write, randread, randwrite */
	bool json;
};

static struct ipdk_blk_dev *dev;
static struct run_opts ro = { .queues = 1, .depth = 32, .bs_min = 4096, .bs_max = 131072,
			      .seconds = 5, .rw = "randread" };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* ---- per-thread workers ------------------------------------------------------------- */

struct slot {
	struct ipdk_blk_io io;
	struct iovec iov[2];
	uint8_t *buf;
	struct worker *w;
	uint16_t ver;
	bool busy;
};

struct worker {
	pthread_t th;
	unsigned int idx;
	struct ipdk_blk_channel *ch;
	struct slot *slots;
	uint64_t first, nblocks;            /* this worker's region */
	uint16_t *ver;                      /* per block of the region */
	uint8_t *lock;                      /* per block: an I/O in flight */
	uint16_t next_ver;
	uint64_t rng;
	/* results */
	uint64_t ios, reads, writes, other, bytes, errors, mismatches;
	int first_err;
	double cpu_s;
	bool verify;
	char msg[256];
};

static void fill_block(uint8_t *p, uint32_t bs, uint64_t lba, uint16_t ver)
{
	uint64_t s = lba * 0x9e3779b97f4a7c15ull + ver + 1;

	for (uint32_t i = 0; i < bs; i += 8) {
		uint64_t v = xorshift(&s);

		memcpy(p + i, &v, 8);
	}
	memcpy(p, &(uint64_t){ HDR_MAGIC }, 8);
	memcpy(p + 8, &lba, 8);
	memcpy(p + 16, &ver, 2);
}

static bool check_block(struct worker *w, const uint8_t *p, uint32_t bs, uint64_t lba,
			uint16_t ver)
{
	static const uint8_t zero[4096];
	uint8_t *want;
	bool ok = true;

	if (ver == VER_NONE || ver == VER_UNKNOWN)
		return true;
	if (ver == VER_ZERO) {
		for (uint32_t i = 0; i < bs && ok; i += sizeof(zero))
			ok = !memcmp(p + i, zero, bs - i < sizeof(zero) ? bs - i : sizeof(zero));
	} else {
		want = malloc(bs);
		fill_block(want, bs, lba, ver);
		ok = !memcmp(p, want, bs);
		free(want);
	}
	if (!ok && w->mismatches++ < 3) {
		uint64_t got_lba, magic;
		uint16_t got_ver;

		memcpy(&magic, p, 8);
		memcpy(&got_lba, p + 8, 8);
		memcpy(&got_ver, p + 16, 2);
		fprintf(stderr, "mismatch: block %" PRIu64 " expected version %u, found %s block %"
			PRIu64 " version %u\n", lba, ver, magic == HDR_MAGIC ? "our" : "foreign",
			got_lba, got_ver);
	}
	return ok;
}

static void unlock_range(struct worker *w, const struct ipdk_blk_io *io)
{
	if (io->op == IPDK_BLK_FLUSH)
		return;
	memset(w->lock + (io->offset_blocks - w->first), 0, io->num_blocks);
}

static void verify_done(struct ipdk_blk_io *io, int status)
{
	struct slot *s = io->cb_arg;
	struct worker *w = s->w;
	uint32_t bs = dev->block_size;
	uint64_t rel = io->offset_blocks - w->first;

	s->busy = false;
	w->ios++;
	if (status) {
		if (!w->errors++)
			w->first_err = status;
		if (io->op != IPDK_BLK_READ && io->op != IPDK_BLK_FLUSH)
			for (uint32_t i = 0; i < io->num_blocks; i++)
				w->ver[rel + i] = VER_UNKNOWN;
		unlock_range(w, io);
		return;
	}
	switch (io->op) {
	case IPDK_BLK_READ:
		w->reads++;
		w->bytes += (uint64_t)io->num_blocks * bs;
		for (uint32_t i = 0; i < io->num_blocks; i++)
			check_block(w, s->buf + (size_t)i * bs, bs, io->offset_blocks + i,
				    w->ver[rel + i]);
		break;
	case IPDK_BLK_WRITE:
		w->writes++;
		w->bytes += (uint64_t)io->num_blocks * bs;
		for (uint32_t i = 0; i < io->num_blocks; i++)
			w->ver[rel + i] = s->ver;
		break;
	case IPDK_BLK_WRITE_ZEROES:
	case IPDK_BLK_DISCARD:
		w->other++;
		for (uint32_t i = 0; i < io->num_blocks; i++)
			w->ver[rel + i] = VER_ZERO;
		break;
	default:
		w->other++;
	}
	unlock_range(w, io);
}

/* Picks an operation and a free range for slot s; false when none was free. */
static bool verify_pick(struct worker *w, struct slot *s)
{
	uint32_t bs = dev->block_size;
	uint32_t min = ro.bs_min / bs, max = ro.bs_max / bs;
	uint64_t r = xorshift(&w->rng);
	unsigned int pct = (unsigned int)(r % 100);
	struct ipdk_blk_io *io = &s->io;

	if (pct < 1) {
		io->op = IPDK_BLK_FLUSH;
		io->offset_blocks = io->num_blocks = 0;
		return true;
	}
	io->op = pct < 48 ? IPDK_BLK_WRITE : IPDK_BLK_READ;
	if (pct >= 96 && ipdk_blk_supports(dev, IPDK_BLK_WRITE_ZEROES))
		io->op = IPDK_BLK_WRITE_ZEROES;
	else if (pct >= 93 && pct < 96 && ipdk_blk_supports(dev, IPDK_BLK_DISCARD))
		io->op = IPDK_BLK_DISCARD;
	for (int tries = 0; tries < 8; tries++) {
		uint32_t n = min + (uint32_t)(xorshift(&w->rng) % (max - min + 1));
		uint64_t rel;
		bool free = true;

		if (n > w->nblocks)
			n = (uint32_t)w->nblocks;
		rel = xorshift(&w->rng) % (w->nblocks - n + 1);
		for (uint32_t i = 0; i < n && free; i++)
			free = !w->lock[rel + i];
		if (!free)
			continue;
		memset(w->lock + rel, 1, n);
		io->offset_blocks = w->first + rel;
		io->num_blocks = n;
		return true;
	}
	return false;
}

static int verify_submit(struct worker *w, struct slot *s)
{
	struct ipdk_blk_io *io = &s->io;
	uint32_t bs = dev->block_size;
	size_t len = (size_t)io->num_blocks * bs;
	size_t half = (io->num_blocks / 2) * bs;
	int rc;

	if (io->op == IPDK_BLK_WRITE) {
		if (++w->next_ver >= VER_ZERO)
			w->next_ver = 1;
		s->ver = w->next_ver;
		for (uint32_t i = 0; i < io->num_blocks; i++)
			fill_block(s->buf + (size_t)i * bs, bs, io->offset_blocks + i, s->ver);
	}
	/* two iovecs when the I/O has two blocks or more: scattered buffers */
	s->iov[0] = (struct iovec){ s->buf, half ? half : len };
	s->iov[1] = (struct iovec){ s->buf + half, len - half };
	io->iov = s->iov;
	io->iovcnt = half ? 2 : 1;
	io->cb = verify_done;
	io->cb_arg = s;
	s->busy = true;
	rc = ipdk_blk_submit(w->ch, io);
	if (rc < 0) {
		s->busy = false;
		unlock_range(w, io);
		if (!w->errors++)
			w->first_err = rc;
		w->ios++;
	}
	return rc;
}

static void wait_channel(struct worker *w)
{
	if (ipdk_blk_poll(w->ch, 0) == 0) {
		struct pollfd p = { .fd = ipdk_blk_channel_fd(w->ch), .events = POLLIN };

		poll(&p, 1, 100);
	}
}

static unsigned int busy_slots(struct worker *w)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < ro.depth; i++)
		n += w->slots[i].busy;
	return n;
}

/* After the random phase: every block we know reads back as it should. */
static void verify_final(struct worker *w)
{
	uint32_t bs = dev->block_size, per = ro.bs_max / bs;

	for (uint64_t rel = 0; rel < w->nblocks; rel += per) {
		struct slot *s = &w->slots[0];
		struct ipdk_blk_io *io = &s->io;
		bool any = false;

		io->num_blocks = (uint32_t)(w->nblocks - rel < per ? w->nblocks - rel : per);
		for (uint32_t i = 0; i < io->num_blocks && !any; i++)
			any = w->ver[rel + i] != VER_NONE && w->ver[rel + i] != VER_UNKNOWN;
		if (!any)
			continue;
		io->op = IPDK_BLK_READ;
		io->offset_blocks = w->first + rel;
		s->iov[0] = (struct iovec){ s->buf, (size_t)io->num_blocks * bs };
		io->iov = s->iov;
		io->iovcnt = 1;
		int rc = ipdk_blk_io_sync(w->ch, io);

		if (rc) {
			if (!w->errors++)
				w->first_err = rc;
			continue;
		}
		for (uint32_t i = 0; i < io->num_blocks; i++)
			check_block(w, s->buf + (size_t)i * bs, bs, io->offset_blocks + i,
				    w->ver[rel + i]);
	}
}

static void *verify_main(void *arg)
{
	struct worker *w = arg;
	double end = now_s() + ro.seconds;
	uint64_t quota = ro.ios ? (ro.ios + ro.queues - 1) / ro.queues : 0;
	uint64_t started = 0;

	for (;;) {
		bool more = quota ? started < quota : now_s() < end;

		for (unsigned int i = 0; more && i < ro.depth; i++) {
			struct slot *s = &w->slots[i];

			if (s->busy || !verify_pick(w, s))
				continue;
			verify_submit(w, s);
			started++;
			more = quota ? started < quota : true;
		}
		if (!more && busy_slots(w) == 0)
			break;
		wait_channel(w);
	}
	verify_final(w);
	w->cpu_s = thread_cpu_s();
	return NULL;
}

/* ---- perf ------------------------------------------------------------------------- */

static void perf_done(struct ipdk_blk_io *io, int status)
{
	struct slot *s = io->cb_arg;
	struct worker *w = s->w;

	s->busy = false;
	w->ios++;
	if (status && !w->errors++)
		w->first_err = status;
	else
		w->bytes += (uint64_t)io->num_blocks * dev->block_size;
}

static void *perf_main(void *arg)
{
	struct worker *w = arg;
	bool rnd = !strncmp(ro.rw, "rand", 4);
	bool wr = strstr(ro.rw, "write") != NULL;
	uint32_t n = ro.bs_min / dev->block_size;
	uint64_t next = 0;
	double end = now_s() + ro.seconds, cpu0 = thread_cpu_s();

	while (now_s() < end) {
		for (unsigned int i = 0; i < ro.depth; i++) {
			struct slot *s = &w->slots[i];
			struct ipdk_blk_io *io = &s->io;

			if (s->busy)
				continue;
			io->op = wr ? IPDK_BLK_WRITE : IPDK_BLK_READ;
			io->num_blocks = n;
			io->offset_blocks = w->first + (rnd ? xorshift(&w->rng) % (w->nblocks / n) * n
							    : next);
			next = (next + n) % (w->nblocks / n * n);
			s->iov[0] = (struct iovec){ s->buf, ro.bs_min };
			io->iov = s->iov;
			io->iovcnt = 1;
			io->cb = perf_done;
			io->cb_arg = s;
			s->busy = true;
			if (ipdk_blk_submit(w->ch, io) < 0) {
				s->busy = false;
				w->errors++;
			}
		}
		wait_channel(w);
	}
	while (busy_slots(w))
		wait_channel(w);
	w->cpu_s = thread_cpu_s() - cpu0;
	return NULL;
}

/* ---- running workers -------------------------------------------------------------- */

static int run_workers(bool verify, struct ipdk_err *err)
{
	struct worker *ws = calloc(ro.queues, sizeof(*ws));
	uint64_t per = dev->num_blocks / ro.queues;
	struct worker tot = { 0 };
	double t0, secs;
	int rc = 0;

	if (!ws)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	if (per > (1u << 22))
		per = 1u << 22;   /* 4 Mi blocks per worker bounds the tracking arrays */
	if (per < ro.bs_max / dev->block_size)
		return ipdk_err_set(err, -EINVAL, "namespace too small for %u queues of %u-byte I/Os",
				    ro.queues, ro.bs_max);
	for (unsigned int i = 0; i < ro.queues && rc == 0; i++) {
		struct worker *w = &ws[i];

		w->idx = i;
		w->first = i * per;
		w->nblocks = per;
		w->rng = 0x1234567ull * (i + 1) ^ (uint64_t)time(NULL);
		w->verify = verify;
		w->ver = calloc(per, sizeof(*w->ver));
		w->lock = calloc(per, 1);
		w->slots = calloc(ro.depth, sizeof(*w->slots));
		if (!w->ver || !w->lock || !w->slots)
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		for (unsigned int k = 0; k < ro.depth; k++) {
			w->slots[k].w = w;
			w->slots[k].buf = aligned_alloc(4096, ro.bs_max);
			if (!w->slots[k].buf)
				return ipdk_err_set(err, -ENOMEM, "out of memory");
			memset(w->slots[k].buf, 0xa5, ro.bs_max);
		}
		rc = ipdk_blk_channel_open(dev, ro.depth, &w->ch, err);
	}
	if (rc)
		return rc;
	t0 = now_s();
	for (unsigned int i = 0; i < ro.queues; i++)
		pthread_create(&ws[i].th, NULL, verify ? verify_main : perf_main, &ws[i]);
	for (unsigned int i = 0; i < ro.queues; i++) {
		struct worker *w = &ws[i];

		pthread_join(w->th, NULL);
		tot.ios += w->ios;
		tot.reads += w->reads;
		tot.writes += w->writes;
		tot.other += w->other;
		tot.bytes += w->bytes;
		tot.errors += w->errors;
		tot.mismatches += w->mismatches;
		tot.cpu_s += w->cpu_s;
		if (!tot.first_err)
			tot.first_err = w->first_err;
		ipdk_blk_channel_close(w->ch);
	}
	secs = now_s() - t0;
	const struct ipdk_nvmf_host_info *info = ipdk_nvmf_host_info(ipdk_blk_nvme_host(dev));
	struct ipdk_err last;

	ipdk_nvmf_host_last_error(ipdk_blk_nvme_host(dev), &last);
	printf("{\"ios\": %" PRIu64 ", \"reads\": %" PRIu64 ", \"writes\": %" PRIu64
	       ", \"other\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"errors\": %" PRIu64
	       ", \"mismatches\": %" PRIu64 ", \"first_error\": %d, \"seconds\": %.3f"
	       ", \"cpu_seconds\": %.3f, \"iops\": %.0f, \"mb_per_s\": %.1f, \"queues\": %u"
	       ", \"depth\": %u, \"reconnects\": %u}\n",
	       tot.ios, tot.reads, tot.writes, tot.other, tot.bytes, tot.errors, tot.mismatches,
	       tot.first_err, secs, tot.cpu_s, tot.ios / secs, tot.bytes / secs / 1e6, ro.queues,
	       ro.depth, info->reconnects);
	if (tot.errors || tot.mismatches)
		rc = ipdk_err_set(err, tot.errors ? tot.first_err : -EILSEQ,
				  "%" PRIu64 " I/O errors (first: %s), %" PRIu64 " mismatching blocks%s%s",
				  tot.errors, strerror(-tot.first_err), tot.mismatches,
				  last.code ? "; last connection error: " : "", last.code ? last.msg : "");
	return rc;
}

/* ---- commands ------------------------------------------------------------------------- */

static void json_str(const char *k, const char *v, const char *sep)
{
	printf("\"%s\": \"", k);
	for (; *v; v++)
		printf(*v == '"' || *v == '\\' ? "\\%c" : (unsigned char)*v < ' ' ? "?" : "%c", *v);
	printf("\"%s", sep);
}

static int c_discover(const struct ipdk_nvmf_host_opts *o, struct ipdk_err *err)
{
	struct ipdk_nvmf_disc_entry *e;
	unsigned int n;
	int rc = ipdk_nvmf_discover(o, &e, &n, err);

	if (rc)
		return rc;
	for (unsigned int i = 0; i < n; i++) {
		printf("{\"trtype\": %u, \"adrfam\": %u, \"subtype\": %u, \"portid\": %u, ",
		       e[i].trtype, e[i].adrfam, e[i].subtype, e[i].portid);
		json_str("traddr", e[i].traddr, ", ");
		json_str("trsvcid", e[i].trsvcid, ", ");
		json_str("subnqn", e[i].subnqn, "}\n");
	}
	free(e);
	return 0;
}

static int c_identify(const struct ipdk_nvmf_host_opts *o, struct ipdk_err *err)
{
	struct ipdk_nvmf_host *h;
	const struct ipdk_nvmf_host_info *in;
	uint32_t ids[64];
	uint64_t cap = 0, cc = 0, csts = 0;
	int n, rc = ipdk_nvmf_host_connect(o, &h, err);

	if (rc)
		return rc;
	in = ipdk_nvmf_host_info(h);
	rc = ipdk_nvmf_host_prop_get(h, 0x0, true, &cap, err);
	if (!rc)
		rc = ipdk_nvmf_host_prop_get(h, 0x14, false, &cc, err);
	if (!rc)
		rc = ipdk_nvmf_host_prop_get(h, 0x1c, false, &csts, err);
	n = rc ? rc : in->discovery ? 0 : ipdk_nvmf_host_active_ns(h, ids, 64, err);
	if (n < 0) {
		ipdk_nvmf_host_close(h);
		return n;
	}
	printf("{");
	json_str("subnqn", in->subnqn, ", ");
	json_str("serial", in->serial, ", ");
	json_str("model", in->model, ", ");
	json_str("firmware", in->firmware, ", ");
	printf("\"cntlid\": %u, \"version\": \"%u.%u\", \"cap\": %" PRIu64 ", \"cc\": %" PRIu64
	       ", \"csts\": %" PRIu64 ", \"nn\": %u, \"max_xfer\": %u, \"in_capsule\": %u"
	       ", \"oncs\": %u, \"vwc\": %s, \"discovery\": %s, \"hdgst\": %s, \"ddgst\": %s"
	       ", \"io_queues\": %u, \"queue_depth\": %u, \"namespaces\": [",
	       in->cntlid, in->version >> 16, (in->version >> 8) & 0xff, cap, cc, csts, in->nn,
	       in->max_xfer, in->in_capsule, in->oncs, in->vwc ? "true" : "false",
	       in->discovery ? "true" : "false", in->hdgst ? "true" : "false",
	       in->ddgst ? "true" : "false", in->io_queues, in->queue_depth);
	for (int i = 0; i < n; i++) {
		struct ipdk_nvmf_host_ns ns;

		if (ipdk_nvmf_host_ns_info(h, ids[i], &ns, err) < 0)
			continue;
		printf("%s{\"nsid\": %u, \"num_blocks\": %" PRIu64 ", \"block_size\": %u, \"uuid\": \"",
		       i ? ", " : "", ns.nsid, ns.num_blocks, ns.block_size);
		for (int k = 0; k < 16 && ns.has_uuid; k++)
			printf("%s%02x", k == 4 || k == 6 || k == 8 || k == 10 ? "-" : "", ns.uuid[k]);
		printf("\"}");
	}
	printf("]}\n");
	ipdk_nvmf_host_close(h);
	return 0;
}

/* read/write OFFSET LEN (bytes, block multiples): data from stdin or to stdout. */
static int c_rw(bool write, int argc, char **argv, struct ipdk_err *err)
{
	struct ipdk_blk_channel *ch;
	struct ipdk_blk_io io = { 0 };
	struct iovec iov;
	uint64_t off, len;
	uint8_t *buf;
	int rc;

	if (argc < 2)
		return ipdk_err_set(err, -EINVAL, "usage: %s OFFSET LENGTH (bytes)",
				    write ? "write" : "read");
	off = strtoull(argv[0], NULL, 0);
	len = strtoull(argv[1], NULL, 0);
	if (!len || off % dev->block_size || len % dev->block_size || len > (1u << 30))
		return ipdk_err_set(err, -EINVAL, "offset %" PRIu64 " and length %" PRIu64
				    " must be multiples of the block size %u (length at most 1 GiB)",
				    off, len, dev->block_size);
	buf = aligned_alloc(4096, (len + 4095) & ~4095ull);
	if (!buf)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	if (write && fread(buf, 1, len, stdin) != len) {
		free(buf);
		return ipdk_err_set(err, -EINVAL, "stdin had fewer than %" PRIu64 " bytes", len);
	}
	rc = ipdk_blk_channel_open(dev, 0, &ch, err);
	if (rc) {
		free(buf);
		return rc;
	}
	iov = (struct iovec){ buf, len };
	io.op = write ? IPDK_BLK_WRITE : IPDK_BLK_READ;
	io.offset_blocks = off / dev->block_size;
	io.num_blocks = (uint32_t)(len / dev->block_size);
	io.iov = &iov;
	io.iovcnt = 1;
	rc = ipdk_blk_io_sync(ch, &io);
	ipdk_blk_channel_close(ch);
	if (rc) {
		struct ipdk_err last;

		ipdk_nvmf_host_last_error(ipdk_blk_nvme_host(dev), &last);
		ipdk_err_set(err, rc, "%s of %" PRIu64 " bytes at %" PRIu64 ": %s%s%s",
			     write ? "write" : "read", len, off, strerror(-rc),
			     last.code ? "; last connection error: " : "", last.code ? last.msg : "");
	}
	else if (!write)
		fwrite(buf, 1, len, stdout);
	free(buf);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: nvmf-host -a ADDR [-p PORT] [-n NQN] [OPTIONS] COMMAND [ARGS]\n"
"Exercises ipdk's NVMe/TCP initiator and its nvme-tcp block device.\n"
"\n"
"Commands:\n"
"  discover               the discovery log (JSON lines)\n"
"  identify               controller, properties and namespaces (JSON)\n"
"  read OFFSET LENGTH     bytes of the namespace to stdout\n"
"  write OFFSET LENGTH    bytes from stdin to the namespace\n"
"  verify                 random reads, writes, flushes, write-zeroes and discards on\n"
"                         every queue, each block checked, then all read back (JSON;\n"
"                         exit 1 on any error or mismatch)\n"
"  perf                   throughput of --rw with --bs-min bytes per I/O (JSON)\n"
"\n"
"Connection:\n"
"  -a, --addr ADDR        target address\n"
"  -p, --port PORT        target port (default 4420)\n"
"  -n, --nqn NQN          subsystem (default: the discovery subsystem)\n"
"  -H, --hostnqn NQN      our host NQN\n"
"      --nsid N           namespace (default: the first active one)\n"
"      --uuid UUID        namespace by UUID\n"
"      --hdgst, --ddgst   header / data digests\n"
"  -Q, --queues N         I/O queues (and worker threads) (default 1)\n"
"  -d, --depth N          I/Os in flight per queue (default 32)\n"
"      --queue-size N     entries per I/O queue asked for (default 128)\n"
"      --kato MS          keep-alive timeout (default 10000)\n"
"      --connect-timeout MS   per connection step (default 5000)\n"
"      --reconnect-delay MS   between attempts (default 500)\n"
"      --ctrl-loss-tmo MS     hold I/O this long while reconnecting (default 60000)\n"
"Runs:\n"
"  -t, --seconds S        verify/perf duration (default 5)\n"
"      --ios N            verify: this many I/Os instead\n"
"      --bs-min B, --bs-max B   I/O sizes in bytes (default 4096, 131072)\n"
"      --rw MODE          perf: read, write, randread, randwrite (default randread)\n"
"  -L, --log-level L      err, warn (default), info, debug\n"
"  -h, --help\n");
}

int main(int argc, char **argv)
{
	enum { O_NSID = 256, O_UUID, O_HDGST, O_DDGST, O_QSIZE, O_KATO, O_CTO, O_RDELAY, O_LOSS,
	       O_IOS, O_BSMIN, O_BSMAX, O_RW };
	static const struct option lopts[] = {
		{ "addr", required_argument, NULL, 'a' }, { "port", required_argument, NULL, 'p' },
		{ "nqn", required_argument, NULL, 'n' }, { "hostnqn", required_argument, NULL, 'H' },
		{ "nsid", required_argument, NULL, O_NSID }, { "uuid", required_argument, NULL, O_UUID },
		{ "hdgst", no_argument, NULL, O_HDGST }, { "ddgst", no_argument, NULL, O_DDGST },
		{ "queues", required_argument, NULL, 'Q' }, { "depth", required_argument, NULL, 'd' },
		{ "queue-size", required_argument, NULL, O_QSIZE },
		{ "kato", required_argument, NULL, O_KATO },
		{ "connect-timeout", required_argument, NULL, O_CTO },
		{ "reconnect-delay", required_argument, NULL, O_RDELAY },
		{ "ctrl-loss-tmo", required_argument, NULL, O_LOSS },
		{ "seconds", required_argument, NULL, 't' }, { "ios", required_argument, NULL, O_IOS },
		{ "bs-min", required_argument, NULL, O_BSMIN },
		{ "bs-max", required_argument, NULL, O_BSMAX }, { "rw", required_argument, NULL, O_RW },
		{ "log-level", required_argument, NULL, 'L' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ipdk_nvmf_host_opts ho = { 0 };
	struct ipdk_blk_nvme_opts bo = { .host = &ho };
	uint8_t uuid[16];
	struct ipdk_err err = { 0 };
	const char *cmd;
	int c, rc, level = IPDK_LOG_WARN;

	while ((c = getopt_long(argc, argv, "+a:p:n:H:Q:d:t:L:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'a': ho.addr = optarg; break;
		case 'p': ho.port = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'n': ho.subnqn = optarg; break;
		case 'H': ho.hostnqn = optarg; break;
		case O_NSID: bo.nsid = (uint32_t)strtoul(optarg, NULL, 0); break;
		case O_UUID:
			if (ipdk_nvmf_uuid_parse(optarg, uuid) < 0) {
				fprintf(stderr, "error: --uuid %s: not a UUID\n", optarg);
				return 2;
			}
			bo.uuid = uuid;
			break;
		case O_HDGST: ho.hdgst = true; break;
		case O_DDGST: ho.ddgst = true; break;
		case 'Q': ro.queues = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'd': ro.depth = (unsigned int)strtoul(optarg, NULL, 0); break;
		case O_QSIZE: ho.queue_depth = (unsigned int)strtoul(optarg, NULL, 0); break;
		case O_KATO: ho.kato_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case O_CTO: ho.connect_timeout_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case O_RDELAY: ho.reconnect_delay_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case O_LOSS: ho.ctrl_loss_tmo_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 't': ro.seconds = strtod(optarg, NULL); break;
		case O_IOS: ro.ios = strtoull(optarg, NULL, 0); break;
		case O_BSMIN: ro.bs_min = (uint32_t)strtoul(optarg, NULL, 0); break;
		case O_BSMAX: ro.bs_max = (uint32_t)strtoul(optarg, NULL, 0); break;
		case O_RW: ro.rw = optarg; break;
		case 'L':
			level = ipdk_log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "error: unknown log level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc || !ho.addr) {
		usage(stderr);
		return 2;
	}
	ipdk_log_init("nvmf-host", level, false);
	cmd = argv[optind++];
	if (ro.queues == 0 || ro.queues > 64 || ro.depth == 0 || ro.depth > 4096 ||
	    ro.bs_min == 0 || ro.bs_max < ro.bs_min || ro.bs_max > (16u << 20)) {
		fprintf(stderr, "error: --queues 1-64, --depth 1-4096, 0 < --bs-min <= --bs-max <= 16 MiB\n");
		return 2;
	}
	ho.io_queues = ro.queues;
	if (!strcmp(cmd, "discover")) {
		rc = c_discover(&ho, &err);
	} else if (!strcmp(cmd, "identify")) {
		rc = c_identify(&ho, &err);
	} else if (!strcmp(cmd, "read") || !strcmp(cmd, "write") || !strcmp(cmd, "verify") ||
		   !strcmp(cmd, "perf")) {
		rc = ipdk_blk_nvme_create("nvme0", &bo, &dev, &err);
		if (rc == 0 && (ro.bs_min % dev->block_size || ro.bs_max % dev->block_size))
			rc = ipdk_err_set(&err, -EINVAL, "I/O sizes must be multiples of the block size %u",
					  dev->block_size);
		if (rc == 0 && !strcmp(cmd, "verify"))
			rc = run_workers(true, &err);
		else if (rc == 0 && !strcmp(cmd, "perf"))
			rc = run_workers(false, &err);
		else if (rc == 0)
			rc = c_rw(!strcmp(cmd, "write"), argc - optind, argv + optind, &err);
		if (dev) {
			ipdk_blk_delete("nvme0", NULL);
			ipdk_blk_put(dev);
		}
	} else {
		fprintf(stderr, "error: unknown command '%s'\n", cmd);
		return 2;
	}
	if (rc) {
		fprintf(stderr, "error: %s\n", err.msg);
		return 1;
	}
	return 0;
}
