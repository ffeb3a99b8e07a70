/*
 * bench_nvmf: ipdk's NVMe/TCP initiator against ipdk's target on loopback,
 * both in this process (the target's threads serve a RAM namespace, the
 * initiator's nvme-tcp block device drives one I/O queue from one thread).
 * Figures: 4 KiB random read and write IOPS, per CPU second of the
 * initiator thread and per CPU second of the whole process (initiator plus
 * target); 128 KiB sequential read and write bandwidth as a fraction of raw
 * loopback TCP bandwidth (one sender thread, one receiver thread, 128 KiB
 * writes) measured right before each of them, so both see the same load.
 * Not a test: it asserts nothing.
 *
 *   bench_nvmf [SECONDS] [QUEUE_DEPTH]     (default 3 s, depth 64)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipdk/blk.h"
#include "ipdk/log.h"
#include "ipdk/nvmf.h"

#define NQN "nqn.2024-01.io.ipdk:bench"
#define DEV_MB 256

static double seconds = 3;
static unsigned int depth = 64;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- raw loopback TCP ------------------------------------------------------------ */

struct tcp_args {
	int fd;
	double secs;
	unsigned long long bytes;
};

static void *tcp_sender(void *arg)
{
	struct tcp_args *a = arg;
	char *buf = calloc(1, 131072);
	double end = now_s() + a->secs;

	while (now_s() < end) {
		ssize_t w = send(a->fd, buf, 131072, MSG_NOSIGNAL);

		if (w <= 0)
			break;
	}
	shutdown(a->fd, SHUT_WR);
	free(buf);
	return NULL;
}

/* Bytes per second one TCP connection over 127.0.0.1 carries. */
static double tcp_bandwidth(double secs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0), c, s;
	struct tcp_args a = { .secs = secs };
	char *buf = malloc(131072);
	pthread_t th;
	double t0;
	ssize_t r;

	bind(l, (struct sockaddr *)&sa, sizeof(sa));
	listen(l, 1);
	getsockname(l, (struct sockaddr *)&sa, &len);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 0;
	s = accept(l, NULL, NULL);
	a.fd = c;
	t0 = now_s();
	pthread_create(&th, NULL, tcp_sender, &a);
	while ((r = recv(s, buf, 131072, 0)) > 0)
		a.bytes += (unsigned long long)r;
	t0 = now_s() - t0;
	pthread_join(th, NULL);
	close(c);
	close(s);
	close(l);
	free(buf);
	return a.bytes / t0;
}

/* ---- initiator workloads ------------------------------------------------------------ */

struct slot {
	struct ipdk_blk_io io;
	struct iovec iov;
	bool busy;
	unsigned long long *done;
};

static void io_done(struct ipdk_blk_io *io, int status)
{
	struct slot *s = io->cb_arg;

	s->busy = false;
	if (status == 0)
		(*s->done)++;
}

struct result {
	double ops, bytes_s, ops_per_init_cpu, ops_per_cpu;
};

static int run(struct ipdk_blk_dev *dev, enum ipdk_blk_op op, bool rnd, uint32_t bs,
	       struct result *res)
{
	struct ipdk_blk_channel *ch;
	struct slot *slots = calloc(depth, sizeof(*slots));
	uint32_t n = bs / dev->block_size;
	uint64_t span = dev->num_blocks / n, next = 0, rng = 88172645463325252ull;
	unsigned long long done = 0;
	struct ipdk_err err;
	struct rusage ru0, ru1;
	double t0, c0, p0;

	if (ipdk_blk_channel_open(dev, depth, &ch, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	for (unsigned int i = 0; i < depth; i++) {
		slots[i].iov.iov_base = aligned_alloc(4096, bs);
		memset(slots[i].iov.iov_base, (int)i, bs);
		slots[i].iov.iov_len = bs;
		slots[i].done = &done;
	}
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_s();
	c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
	p0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
	while (now_s() - t0 < seconds) {
		for (unsigned int i = 0; i < depth; i++) {
			struct slot *s = &slots[i];

			if (s->busy)
				continue;
			if (rnd) {
				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
			}
			s->io.op = op;
			s->io.offset_blocks = (rnd ? rng % span : next++ % span) * n;
			s->io.num_blocks = n;
			s->io.iov = &s->iov;
			s->io.iovcnt = 1;
			s->io.cb = io_done;
			s->io.cb_arg = s;
			s->busy = ipdk_blk_submit(ch, &s->io) == 0;
		}
		if (ipdk_blk_poll(ch, 0) == 0) {
			struct pollfd p = { .fd = ipdk_blk_channel_fd(ch), .events = POLLIN };

			poll(&p, 1, 100);
		}
	}
	ipdk_blk_channel_close(ch);
	{
		double t = now_s() - t0, c = cpu_s(CLOCK_THREAD_CPUTIME_ID) - c0;
		double p = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - p0;

		getrusage(RUSAGE_SELF, &ru1);
		res->ops = done / t;
		res->bytes_s = res->ops * bs;
		res->ops_per_init_cpu = done / c;
		res->ops_per_cpu = done / p;
	}
	for (unsigned int i = 0; i < depth; i++)
		free(slots[i].iov.iov_base);
	free(slots);
	return 0;
}

int main(int argc, char **argv)
{
	struct ipdk_nvmf_tgt *tgt;
	struct ipdk_blk_dev *ram, *dev;
	struct ipdk_nvmf_host_opts ho = { .addr = "127.0.0.1", .subnqn = NQN, .io_queues = 1 };
	struct ipdk_blk_nvme_opts bo = { .host = &ho };
	struct ipdk_nvmf_subsys_opts so = { .allow_any_host = true };
	struct result r4r, r4w, r128r, r128w;
	struct ipdk_err err;
	double tcp_r, tcp_w;

	if (argc > 1)
		seconds = atof(argv[1]);
	if (argc > 2)
		depth = (unsigned int)atoi(argv[2]);
	ipdk_log_init("bench_nvmf", IPDK_LOG_WARN, false);
	if (ipdk_nvmf_tgt_create(NULL, &tgt, &err) < 0 ||
	    ipdk_nvmf_tgt_listen(tgt, "127.0.0.1", 0, &err) < 0 ||
	    ipdk_blk_ram_create("bench_ram", 4096, (DEV_MB << 20) / 4096, &ram, &err) < 0 ||
	    ipdk_nvmf_subsys_add(tgt, NQN, &so, &err) < 0 ||
	    ipdk_nvmf_ns_add(tgt, NQN, 1, "bench_ram", &err) < 0) {
		fprintf(stderr, "target: %s\n", err.msg);
		return 1;
	}
	ho.port = ipdk_nvmf_tgt_port(tgt);
	ho.queue_depth = depth > 127 ? 128 : depth + 1;
	if (ipdk_blk_nvme_create("bench_nvme", &bo, &dev, &err) < 0) {
		fprintf(stderr, "initiator: %s\n", err.msg);
		return 1;
	}
	/* touch the whole RAM device once so reads do not hit unmapped pages */
	run(dev, IPDK_BLK_WRITE, false, 131072, &r128w);
	if (run(dev, IPDK_BLK_READ, true, 4096, &r4r) || run(dev, IPDK_BLK_WRITE, true, 4096, &r4w))
		return 1;
	tcp_r = tcp_bandwidth(seconds);
	if (run(dev, IPDK_BLK_READ, false, 131072, &r128r))
		return 1;
	tcp_w = tcp_bandwidth(seconds);
	if (run(dev, IPDK_BLK_WRITE, false, 131072, &r128w))
		return 1;
	printf("NVMe/TCP initiator -> target, loopback, one I/O queue, depth %u, %.0f s each\n",
	       depth, seconds);
	printf("%-22s %12s %18s %18s\n", "workload", "IOPS", "IOPS/initiator-core",
	       "IOPS/core (both)");
	printf("%-22s %12.0f %18.0f %18.0f\n", "4k random read", r4r.ops, r4r.ops_per_init_cpu,
	       r4r.ops_per_cpu);
	printf("%-22s %12.0f %18.0f %18.0f\n", "4k random write", r4w.ops, r4w.ops_per_init_cpu,
	       r4w.ops_per_cpu);
	printf("%-22s %12s %18s %18s\n", "workload", "MB/s", "raw TCP MB/s", "of raw TCP");
	printf("%-22s %12.0f %18.0f %18.2f\n", "128k sequential read", r128r.bytes_s / 1e6,
	       tcp_r / 1e6, r128r.bytes_s / tcp_r);
	printf("%-22s %12.0f %18.0f %18.2f\n", "128k sequential write", r128w.bytes_s / 1e6,
	       tcp_w / 1e6, r128w.bytes_s / tcp_w);
	ipdk_blk_delete("bench_nvme", NULL);
	ipdk_blk_put(dev);
	ipdk_nvmf_tgt_destroy(tgt);
	ipdk_blk_put(ram);
	return 0;
}
