/*
 * bench_vblk: vhost-user-blk IOPS per core, measured with a userspace
 * vhost-user-blk front-end (this program: guest memory in a memfd, split
 * rings, no guest) against two back-ends in the same run:
 *
 *   ipdk   lib/vblk on a lib/blk RAM device, in a child process of ours
 *   qsd    qemu-storage-daemon's vhost-user-blk export of a file in /dev/shm
 *          through io_uring (QEMU has no RAM block driver; a tmpfs file is RAM
 *          through the page cache)
 *
 * and, unless --no-qos, lib/vblk on a lib/blk QoS device in front of the RAM
 * device twice: without limits (what the layer costs: "qos0", ratio to "ipdk")
 * and with rw_iops at --qos-iops ("qosN", whose IOPS should come out at about
 * the limit, with the back-end idle while requests wait).
 *
 * Each back-end is filled once (sequential writes; not the limited one), then
 * runs 4 KiB random reads and writes at queue depth 1 and 128 on one queue. The front-end busy-polls the used ring on its own core and
 * asks for no interrupts; the back-end's CPU time (all its threads, from
 * /proc/PID/stat) over the run gives the IOPS per back-end core. Prints one
 * line per run and the ratio ipdk/qsd. Never a test: timing lives here.
 *
 *   bench_vblk [--seconds S] [--size MIB] [--no-qsd] [--queue-size N] [--no-qos]
 *              [--qos-iops N]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipdk/blk.h"
#include "ipdk/log.h"
#include "ipdk/vblk.h"
#include "vhost_user.h"

#define MEM_SIZE (32u << 20)
#define MAX_QD 128
#define IO_SIZE 4096u

struct frontend {
	int sock, kickfd, callfd, memfd;
	uint8_t *mem;                  /* guest physical 0 = mem */
	unsigned int qsize;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx, used_seen;
	uint64_t capacity;             /* sectors */
	uint64_t rng;
	uint64_t seq_next;             /* next block of a sequential fill; ~0: random */
};

struct slot {
	struct virtio_blk_outhdr *hdr;
	uint8_t *data, *status;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_vblk: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- vhost-user messages (front-end side) ------------------------------------ */

static void send_msg(struct frontend *f, uint32_t req, const void *p, uint32_t size,
		     const int *fds, int n_fds)
{
	struct vhost_user_msg m = { .hdr = { .request = req, .flags = VHOST_USER_VERSION,
					     .size = size } };
	char ctl[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m.hdr) + size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	memcpy(&m.p, p, size);
	if (n_fds) {
		struct cmsghdr *c;

		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	if (sendmsg(f->sock, &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
		die("sending a vhost-user message");
}

static void recv_reply(struct frontend *f, uint32_t req, void *p, uint32_t size)
{
	struct vhost_user_msg m;

	if (recv(f->sock, &m.hdr, sizeof(m.hdr), MSG_WAITALL) != sizeof(m.hdr) ||
	    m.hdr.request != req || m.hdr.size > sizeof(m.p) ||
	    recv(f->sock, &m.p, m.hdr.size, MSG_WAITALL) != (ssize_t)m.hdr.size) {
		fprintf(stderr, "bench_vblk: bad reply to vhost-user message %u\n", req);
		exit(1);
	}
	memcpy(p, &m.p, size < m.hdr.size ? size : m.hdr.size);
}

static uint64_t get_u64(struct frontend *f, uint32_t req)
{
	uint64_t v = 0;

	send_msg(f, req, NULL, 0, NULL, 0);
	recv_reply(f, req, &v, sizeof(v));
	return v;
}

static void set_u64(struct frontend *f, uint32_t req, uint64_t v)
{
	send_msg(f, req, &v, sizeof(v), NULL, 0);
}

static void connect_backend(struct frontend *f, const char *path, unsigned int qsize)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t want = (1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
			(1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
			(1ull << VIRTIO_BLK_F_FLUSH);
	struct vhost_user_config cfg = { .size = sizeof(struct virtio_blk_config) };
	struct vhost_user_mem mem = { .nregions = 1 };
	struct vhost_user_vring_state st = { 0 };
	struct vhost_user_vring_addr addr = { 0 };
	struct virtio_blk_config bc;
	size_t used_off;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (int i = 0; i < 200; i++) {
		f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(f->sock, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		close(f->sock);
		f->sock = -1;
		usleep(20000);
	}
	if (f->sock < 0)
		die(path);
	f->memfd = memfd_create("bench-guest", MFD_CLOEXEC);
	if (f->memfd < 0 || ftruncate(f->memfd, MEM_SIZE) < 0)
		die("guest memory");
	f->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	if (f->mem == MAP_FAILED)
		die("mmap");
	f->qsize = qsize;
	f->desc = (struct vring_desc *)f->mem;
	f->avail = (struct vring_avail *)(f->mem + 16 * qsize);
	used_off = (16 * qsize + 6 + 2 * qsize + 4095) & ~4095ul;
	f->used = (struct vring_used *)(f->mem + used_off);
	f->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;

	want &= get_u64(f, VHOST_USER_GET_FEATURES);
	set_u64(f, VHOST_USER_SET_FEATURES, want);
	set_u64(f, VHOST_USER_SET_PROTOCOL_FEATURES,
		get_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES) &
		((1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_MQ)));
	send_msg(f, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
	send_msg(f, VHOST_USER_GET_CONFIG, &cfg, 12 + cfg.size, NULL, 0);
	recv_reply(f, VHOST_USER_GET_CONFIG, &cfg, sizeof(cfg));
	memcpy(&bc, cfg.region, sizeof(bc));
	f->capacity = bc.capacity;
	mem.regions[0] = (struct vhost_user_mem_region){ .guest_phys_addr = 0,
		.memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)f->mem };
	send_msg(f, VHOST_USER_SET_MEM_TABLE, &mem, 8 + sizeof(mem.regions[0]), &f->memfd, 1);
	st.num = qsize;
	send_msg(f, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0);
	st.num = 0;
	send_msg(f, VHOST_USER_SET_VRING_BASE, &st, sizeof(st), NULL, 0);
	addr.desc_user_addr = (uintptr_t)f->desc;
	addr.avail_user_addr = (uintptr_t)f->avail;
	addr.used_user_addr = (uintptr_t)f->used;
	send_msg(f, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0);
	f->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->callfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	st.num = 0;
	send_msg(f, VHOST_USER_SET_VRING_CALL, &(uint64_t){ 0 }, 8, &f->callfd, 1);
	send_msg(f, VHOST_USER_SET_VRING_KICK, &(uint64_t){ 0 }, 8, &f->kickfd, 1);
	st.num = 1;
	send_msg(f, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0);
	/* a reply-carrying message as a barrier: everything before it was handled */
	get_u64(f, VHOST_USER_GET_FEATURES);
}

/* ---- the workload ---------------------------------------------------------------- */

static uint64_t next_rand(struct frontend *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return f->rng;
}

static void post(struct frontend *f, struct slot *s, unsigned int i, bool write)
{
	uint64_t blocks = f->capacity / (IO_SIZE / 512);
	uint64_t b = f->seq_next == ~0ull ? next_rand(f) % blocks : f->seq_next++ % blocks;

	s[i].hdr->type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	s[i].hdr->sector = b * (IO_SIZE / 512);
	f->desc[3 * i + 1].flags = VRING_DESC_F_NEXT | (write ? 0 : VRING_DESC_F_WRITE);
	f->avail->ring[f->avail_idx++ & (f->qsize - 1)] = (uint16_t)(3 * i);
}

static void kick(struct frontend *f)
{
	uint64_t one = 1;

	__atomic_store_n(&f->avail->idx, f->avail_idx, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(__atomic_load_n(&f->used->flags, __ATOMIC_ACQUIRE) & VRING_USED_F_NO_NOTIFY) &&
	    write(f->kickfd, &one, sizeof(one)) < 0)
		die("kick");
}

static void setup_slots(struct frontend *f, struct slot *s, unsigned int qd)
{
	uint64_t base = 1u << 20;   /* request areas after the rings */

	for (unsigned int i = 0; i < qd; i++) {
		uint64_t hdr = base + i * 64, data = base + (2u << 20) + (uint64_t)i * IO_SIZE;

		s[i].hdr = (struct virtio_blk_outhdr *)(f->mem + hdr);
		s[i].status = f->mem + hdr + 32;
		s[i].data = f->mem + data;
		memset(s[i].data, (int)i, IO_SIZE);
		f->desc[3 * i] = (struct vring_desc){ hdr, sizeof(struct virtio_blk_outhdr),
						      VRING_DESC_F_NEXT, (uint16_t)(3 * i + 1) };
		f->desc[3 * i + 1] = (struct vring_desc){ data, IO_SIZE, VRING_DESC_F_NEXT,
							  (uint16_t)(3 * i + 2) };
		f->desc[3 * i + 2] = (struct vring_desc){ hdr + 32, 1, VRING_DESC_F_WRITE, 0 };
	}
}

/* Runs one workload for secs or max_ios I/Os, whichever ends first; returns
 * completed I/Os (errors are fatal). */
static uint64_t run(struct frontend *f, unsigned int qd, bool write, double secs,
		    uint64_t max_ios)
{
	struct slot s[MAX_QD];
	double end = now() + secs;
	uint64_t done = 0;
	unsigned int inflight = qd;
	bool stop = false;

	setup_slots(f, s, qd);
	for (unsigned int i = 0; i < qd; i++)
		post(f, s, i, write);
	kick(f);
	for (;;) {
		uint16_t used = __atomic_load_n(&f->used->idx, __ATOMIC_ACQUIRE);
		if (!stop && (done + qd >= max_ios || ((done & 255) == 0 && now() > end)))
			stop = true;
		unsigned int posted = 0;

		while (f->used_seen != used) {
			uint32_t id = f->used->ring[f->used_seen++ & (f->qsize - 1)].id;
			unsigned int i = id / 3;

			if (id % 3 || i >= qd || *s[i].status != VIRTIO_BLK_S_OK) {
				fprintf(stderr, "bench_vblk: request %u failed (status %u)\n", id,
					i < qd ? *s[i].status : 255);
				exit(1);
			}
			done++;
			if (stop) {
				inflight--;
				continue;
			}
			post(f, s, i, write);
			posted++;
		}
		if (posted)
			kick(f);
		if (stop && inflight == 0)
			return done;
	}
}

/* ---- back-ends ---------------------------------------------------------------------- */

static volatile sig_atomic_t stop_child;

static void on_term(int sig)
{
	(void)sig;
	stop_child = 1;
}

/* lib/vblk on a RAM device, or on a QoS device in front of it when qos is given. */
static pid_t start_ipdk(const char *sock, unsigned int mib, const struct ipdk_blk_qos_limits *qos)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct ipdk_vblk_opts o = { .socket_path = sock };
		struct ipdk_blk_qos_opts qo = { 0 };
		struct ipdk_blk_dev *dev, *qdev = NULL;
		struct ipdk_vblk *v;
		struct ipdk_err err;

		signal(SIGTERM, on_term);
		ipdk_log_init("bench_vblk", IPDK_LOG_WARN, false);
		if (qos)
			qo.limits = *qos;
		if (ipdk_blk_ram_create("bench-ram", 512, (uint64_t)mib << 11, &dev, &err) ||
		    (qos && ipdk_blk_qos_create("bench-qos", "bench-ram", &qo, &qdev, &err)) ||
		    ipdk_vblk_create("bench", qos ? "bench-qos" : "bench-ram", &o, &v, &err)) {
			fprintf(stderr, "bench_vblk: %s\n", err.msg);
			_exit(1);
		}
		while (!stop_child)
			pause();
		ipdk_vblk_destroy(v);
		ipdk_blk_put(qdev);
		ipdk_blk_put(dev);
		_exit(0);
	}
	return pid;
}

static pid_t start_qsd(const char *sock, const char *file, unsigned int mib)
{
	char bd[512], ex[512];
	pid_t pid;
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, (off_t)mib << 20) < 0)
		die(file);
	close(fd);
	snprintf(bd, sizeof(bd), "driver=file,node-name=disk,filename=%s,cache.direct=off,aio=io_uring", file);
	snprintf(ex, sizeof(ex), "type=vhost-user-blk,id=exp,node-name=disk,writable=on,"
		 "addr.type=unix,addr.path=%s", sock);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execlp("qemu-storage-daemon", "qemu-storage-daemon", "--blockdev", bd, "--export",
		       ex, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Returns the CPU seconds (user + system, all threads) of pid so far. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')');
	/* fields after the name: state(3) ... utime(14) stime(15) */
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

struct result {
	double iops, cpu;
};

static void bench_backend(const char *name, pid_t pid, const char *sock, unsigned int qsize,
			  double secs, bool fill, struct result r[4])
{
	static const unsigned int qds[2] = { 1, MAX_QD };
	struct frontend f = { .rng = 88172645463325252ull };

	connect_backend(&f, sock, qsize);
	/* write every block once first, so that no run reads holes (zero pages) or
	 * pays for first-touch allocation */
	if (fill)
		run(&f, MAX_QD, true, 600, f.capacity / (IO_SIZE / 512));
	f.seq_next = ~0ull;
	for (int k = 0; k < 4; k++) {
		bool write = k & 1;
		unsigned int qd = qds[k / 2];
		double c0 = cpu_seconds(pid), t0 = now(), t;
		uint64_t n = run(&f, qd, write, secs, UINT64_MAX);

		t = now() - t0;
		r[k].iops = (double)n / t;
		r[k].cpu = (cpu_seconds(pid) - c0) / t;
		printf("%-5s 4k rand%-5s qd %-3u %10.0f IOPS  back-end CPU %5.1f%%  %10.0f IOPS/core\n",
		       name, write ? "write" : "read", qd, r[k].iops, r[k].cpu * 100,
		       r[k].cpu > 0.01 ? r[k].iops / r[k].cpu : 0);
		fflush(stdout);
	}
	close(f.sock);
	munmap(f.mem, MEM_SIZE);
	close(f.memfd);
	close(f.kickfd);
	close(f.callfd);
}

static void stop_backend(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'm' },
		{ "queue-size", required_argument, NULL, 'q' },
		{ "no-qsd", no_argument, NULL, 'n' },
		{ "no-qos", no_argument, NULL, 'Q' },
		{ "qos-iops", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double secs = 3;
	unsigned int mib = 256, qsize = 512;
	bool qsd = true, qos = true;
	struct ipdk_blk_qos_limits none = { 0 }, lim = { .rw_iops = 20000 };
	char dir[] = "/tmp/bench-vblk-XXXXXX", sock[128], file[128];
	struct result ours[4], theirs[4], q0[4], qn[4];
	pid_t pid;
	int c;

	while ((c = getopt_long(argc, argv, "s:m:q:nQi:h", lo, NULL)) != -1) {
		switch (c) {
		case 's': secs = atof(optarg); break;
		case 'm': mib = (unsigned int)atoi(optarg); break;
		case 'q': qsize = (unsigned int)atoi(optarg); break;
		case 'n': qsd = false; break;
		case 'Q': qos = false; break;
		case 'i': lim.rw_iops = strtoull(optarg, NULL, 10); break;
		default:
			printf("usage: bench_vblk [--seconds S] [--size MIB] [--queue-size N] "
			       "[--no-qsd] [--no-qos] [--qos-iops N]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (qsize < 3 * MAX_QD || qsize > 1024 || (qsize & (qsize - 1))) {
		fprintf(stderr, "bench_vblk: --queue-size: a power of two from 512 to 1024\n");
		return 2;
	}
	if (!mkdtemp(dir))
		die("mkdtemp");
	signal(SIGPIPE, SIG_IGN);
	printf("vhost-user-blk, one queue of %u entries, %u MiB, %.1f s per run\n", qsize, mib, secs);
	snprintf(sock, sizeof(sock), "%s/ipdk.sock", dir);
	pid = start_ipdk(sock, mib, NULL);
	bench_backend("ipdk", pid, sock, qsize, secs, true, ours);
	stop_backend(pid);
	if (qos && lim.rw_iops) {
		pid = start_ipdk(sock, mib, &none);
		bench_backend("qos0", pid, sock, qsize, secs, true, q0);
		stop_backend(pid);
		pid = start_ipdk(sock, mib, &lim);
		bench_backend("qosN", pid, sock, qsize, secs, false, qn);
		stop_backend(pid);
		for (int k = 0; k < 4; k++)
			printf("qos 4k rand%-5s qd %-3d  unlimited/plain IOPS %.2f  IOPS/core %.2f"
			       "  limited to %" PRIu64 ": %.0f IOPS (%.2f of the limit)\n",
			       k & 1 ? "write" : "read", k < 2 ? 1 : MAX_QD,
			       q0[k].iops / ours[k].iops,
			       (q0[k].iops / (q0[k].cpu > 0.01 ? q0[k].cpu : 1)) /
			       (ours[k].iops / (ours[k].cpu > 0.01 ? ours[k].cpu : 1)),
			       lim.rw_iops, qn[k].iops, qn[k].iops / (double)lim.rw_iops);
	}
	if (qsd) {
		snprintf(sock, sizeof(sock), "%s/qsd.sock", dir);
		snprintf(file, sizeof(file), "/dev/shm/bench-vblk-%d.img", (int)getpid());
		pid = start_qsd(sock, file, mib);
		bench_backend("qsd", pid, sock, qsize, secs, true, theirs);
		stop_backend(pid);
		unlink(file);
		for (int k = 0; k < 4; k++)
			printf("ratio ipdk/qsd 4k rand%-5s qd %-3d  IOPS %.2f  IOPS/core %.2f\n",
			       k & 1 ? "write" : "read", k < 2 ? 1 : MAX_QD,
			       ours[k].iops / theirs[k].iops,
			       (ours[k].iops / (ours[k].cpu > 0.01 ? ours[k].cpu : 1)) /
			       (theirs[k].iops / (theirs[k].cpu > 0.01 ? theirs[k].cpu : 1)));
	}
	rmdir(dir);
	return 0;
}
