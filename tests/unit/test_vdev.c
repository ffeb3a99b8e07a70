/*
 * Unit tests for lib/vdev: the table's validation and bookkeeping with a fake
 * hotplug driver (which can be told to fail), the QMP client against a fake
 * QMP server thread (greeting, replies matched by id, events kept, errors,
 * timeouts), and the QEMU driver's command sequences against that server,
 * including the undo of a plug that fails half-way. Real QEMU is exercised by
 * tests/vm.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ipdk/vdev.h"

/* ---- a fake hotplug driver ------------------------------------------------ */

struct fake_host {
	int plugs, unplugs;
	int fail_plug, fail_unplug;   /* negative errno to return */
};

static struct fake_host fake;

static int fake_open(const char *host_name, const char *address, unsigned int timeout_ms,
		     void **ctx, struct ipdk_err *err)
{
	(void)host_name;
	(void)timeout_ms;
	if (address && !strcmp(address, "refuse"))
		return ipdk_err_set(err, -EINVAL, "host %s: refused", host_name);
	*ctx = &fake;
	return 0;
}

static void fake_close(void *ctx)
{
	(void)ctx;
}

static int fake_plug(void *ctx, const struct ipdk_vdev_cfg *cfg, struct ipdk_err *err)
{
	struct fake_host *h = ctx;

	if (h->fail_plug)
		return ipdk_err_set(err, h->fail_plug, "device %s: fake plug failure", cfg->name);
	h->plugs++;
	return 0;
}

static int fake_unplug(void *ctx, const struct ipdk_vdev_cfg *cfg, struct ipdk_err *err)
{
	struct fake_host *h = ctx;

	if (h->fail_unplug)
		return ipdk_err_set(err, h->fail_unplug, "device %s: guest did not let go",
				    cfg->name);
	h->unplugs++;
	return 0;
}

static const struct ipdk_vdev_hotplug_ops fake_ops = {
	.name = "fake",
	.open = fake_open,
	.close = fake_close,
	.plug = fake_plug,
	.unplug = fake_unplug,
};

static struct ipdk_vdev_table *table_with_host(unsigned int slots)
{
	struct ipdk_vdev_host_cfg hc = { .ops = &fake_ops, .address = "x", .n_slots = slots };
	struct ipdk_vdev_table *t;
	struct ipdk_err err;

	memset(&fake, 0, sizeof(fake));
	assert_int_equal(ipdk_vdev_table_create(&t, &err), 0);
	assert_int_equal(ipdk_vdev_host_add(t, "vm1", &hc, &err), 0);
	return t;
}

static void net_cfg(struct ipdk_vdev_cfg *c, const char *name, const char *sock)
{
	ipdk_vdev_cfg_init(c);
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->host_name, sizeof(c->host_name), "vm1");
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", sock);
}

static void test_add_remove(void **state)
{
	struct ipdk_vdev_table *t = table_with_host(4);
	struct ipdk_vdev_info info;
	struct ipdk_vdev_cfg c;
	struct ipdk_err err;

	(void)state;
	net_cfg(&c, "net0", "/tmp/a.sock");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), 0);
	net_cfg(&c, "net1", "/tmp/b.sock");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), 0);
	assert_int_equal(fake.plugs, 2);
	assert_int_equal(ipdk_vdev_count(t), 2);
	assert_int_equal(ipdk_vdev_get(t, "net1", &info, &err), 0);
	assert_int_equal(info.cfg.physical_id, 1);
	assert_string_equal(info.cfg.pci_bus, "rp1");
	assert_int_equal(info.cfg.queues, 1);
	assert_int_equal(info.state, IPDK_VDEV_PLUGGED);

	/* The freed slot is the next one handed out. */
	assert_int_equal(ipdk_vdev_remove(t, "net0", 0, &err), 0);
	assert_int_equal(fake.unplugs, 1);
	net_cfg(&c, "net2", "/tmp/c.sock");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), 0);
	assert_int_equal(ipdk_vdev_get(t, "net2", &info, &err), 0);
	assert_int_equal(info.cfg.physical_id, 0);
	assert_int_equal(ipdk_vdev_get(t, "net0", &info, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "device net0: no such device"));
	ipdk_vdev_table_destroy(t);
}

static void test_refusals(void **state)
{
	struct ipdk_vdev_table *t = table_with_host(2);
	struct ipdk_vdev_cfg c;
	struct ipdk_err err;

	(void)state;
	net_cfg(&c, "net0", "/tmp/a.sock");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), 0);

	net_cfg(&c, "net0", "/tmp/b.sock");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "device net0: a device with this name exists already"));

	net_cfg(&c, "net1", "/tmp/a.sock");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, "in use by device net0"));

	net_cfg(&c, "net1", "/tmp/b.sock");
	snprintf(c.host_name, sizeof(c.host_name), "vm9");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "device net1: unknown host-name vm9"));

	net_cfg(&c, "net1", "/tmp/b.sock");
	c.physical_id = 0;
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "physical-id 0 on host vm1 is taken by device net0"));
	c.physical_id = 2;
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -ERANGE);

	net_cfg(&c, "bad name", "/tmp/b.sock");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EINVAL);
	net_cfg(&c, "net1", "");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "socket-path is required"));
	net_cfg(&c, "net1", "relative.sock");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EINVAL);
	net_cfg(&c, "net1", "/tmp/b.sock");
	c.type = IPDK_VDEV_VIRTIO_BLK;
	c.has_mac = true;
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "mac applies to virtio-net only"));
	net_cfg(&c, "net1", "/tmp/b.sock");
	c.vf_index = 1;
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EINVAL);

	/* Second device fills the last slot; a third finds none. */
	net_cfg(&c, "net1", "/tmp/b.sock");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), 0);
	net_cfg(&c, "net2", "/tmp/c.sock");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "no free slot"));

	assert_int_equal(fake.plugs, 2);
	assert_int_equal(ipdk_vdev_count(t), 2);
	assert_int_equal(ipdk_vdev_host_remove(t, "vm1", &err), -EBUSY);
	ipdk_vdev_table_destroy(t);
}

static void test_driver_failures(void **state)
{
	struct ipdk_vdev_table *t = table_with_host(4);
	struct ipdk_vdev_info info;
	struct ipdk_vdev_cfg c;
	struct ipdk_err err;

	(void)state;
	net_cfg(&c, "net0", "/tmp/a.sock");
	fake.fail_plug = -ECONNREFUSED;
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -ECONNREFUSED);
	assert_int_equal(ipdk_vdev_count(t), 0);
	fake.fail_plug = 0;
	assert_int_equal(ipdk_vdev_add(t, &c, NULL), 0);

	fake.fail_unplug = -ETIMEDOUT;
	assert_int_equal(ipdk_vdev_remove(t, "net0", 0, &err), -ETIMEDOUT);
	assert_int_equal(ipdk_vdev_get(t, "net0", &info, &err), 0);
	assert_int_equal(info.state, IPDK_VDEV_UNPLUG_FAILED);
	assert_non_null(strstr(info.note, "guest did not let go"));
	assert_int_equal(ipdk_vdev_remove(t, "net0", 0, NULL), -ETIMEDOUT);
	assert_int_equal(ipdk_vdev_remove(t, "net0", IPDK_VDEV_FORCE, &err), 0);
	assert_int_equal(ipdk_vdev_count(t), 0);
	ipdk_vdev_table_destroy(t);
}

static void test_hosts(void **state)
{
	struct ipdk_vdev_host_cfg hc = { .ops = &fake_ops, .address = "refuse" };
	struct ipdk_vdev_table *t = table_with_host(4);
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_vdev_host_add(t, "vm2", &hc, &err), -EINVAL);
	hc.address = "y";
	assert_int_equal(ipdk_vdev_host_add(t, "vm1", &hc, &err), -EEXIST);
	assert_int_equal(ipdk_vdev_host_add(t, "no/slash", &hc, &err), -EINVAL);
	assert_int_equal(ipdk_vdev_host_remove(t, "vm9", &err), -ENOENT);
	assert_int_equal(ipdk_vdev_host_remove(t, "vm1", &err), 0);
	hc.ops = NULL;    /* the QMP driver */
	hc.address = "";
	assert_int_equal(ipdk_vdev_host_add(t, "vm1", &hc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no QMP socket path"));
	ipdk_vdev_table_destroy(t);
}

static void test_cfg_text(void **state)
{
	struct ipdk_vdev_cfg c;
	struct ipdk_err err;

	(void)state;
	ipdk_vdev_cfg_init(&c);
	assert_int_equal(ipdk_vdev_cfg_set(&c, "device-type", "VIRTIO_BLK", &err), 0);
	assert_int_equal(c.type, IPDK_VDEV_VIRTIO_BLK);
	assert_int_equal(ipdk_vdev_cfg_set(&c, "type", "virtio-net", &err), 0);
	assert_int_equal(ipdk_vdev_cfg_set(&c, "mac", "02:00:00:00:0a:0B", &err), 0);
	assert_true(c.has_mac);
	assert_int_equal(c.mac[5], 0x0b);
	assert_int_equal(ipdk_vdev_cfg_set(&c, "mac", "02:00:00:00:0a", &err), -EINVAL);
	assert_int_equal(ipdk_vdev_cfg_set(&c, "queues", "4", &err), 0);
	assert_int_equal(c.queues, 4);
	assert_int_equal(ipdk_vdev_cfg_set(&c, "queues", "0", &err), -EINVAL);
	assert_int_equal(ipdk_vdev_cfg_set(&c, "queues", "65", &err), -EINVAL);
	assert_int_equal(ipdk_vdev_cfg_set(&c, "physical-id", "x", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "physical-id"));
	assert_int_equal(ipdk_vdev_cfg_set(&c, "colour", "blue", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown key \"colour\""));
	assert_int_equal(ipdk_vdev_cfg_set(&c, "device-type", "scsi", &err), -EINVAL);
	assert_int_equal(ipdk_vdev_type_parse("nvme"), IPDK_VDEV_NVME);
	assert_string_equal(ipdk_vdev_state_name(IPDK_VDEV_UNPLUG_FAILED), "unplug-failed");
}

/* ---- a fake QMP server ---------------------------------------------------- */

struct fake_qmp {
	char path[108];
	int listen_fd;
	pthread_t thread;
	const char *fail_cmd;      /* reply with an error to this command */
	const char *fail_class;
	bool silent;               /* never send the greeting */
	bool no_deleted_event;
	bool event_first;          /* send an event before each reply */
	char log[4096];            /* commands received, space separated */
	pthread_mutex_t lock;
};

static void qmp_send_line(int fd, const char *s)
{
	ssize_t n = write(fd, s, strlen(s));

	(void)n;
}

static void *fake_qmp_serve(void *arg)
{
	struct fake_qmp *f = arg;
	int fd;

	while ((fd = accept(f->listen_fd, NULL, NULL)) >= 0) {
		char buf[8192];
		size_t len = 0;
		ssize_t n;

		if (f->silent) {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
			continue;
		}
		qmp_send_line(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
		while ((n = read(fd, buf + len, sizeof(buf) - len - 1)) > 0) {
			char *nl;

			len += n;
			buf[len] = '\0';
			while ((nl = strchr(buf, '\n'))) {
				json_t *m = json_loadb(buf, nl - buf, 0, NULL);
				const char *cmd = json_string_value(json_object_get(m, "execute"));
				json_int_t id = json_integer_value(json_object_get(m, "id"));
				const char *dev = json_string_value(json_object_get(
					json_object_get(m, "arguments"), "id"));
				char reply[512];

				pthread_mutex_lock(&f->lock);
				strncat(f->log, cmd, sizeof(f->log) - strlen(f->log) - 2);
				strcat(f->log, " ");
				pthread_mutex_unlock(&f->lock);
				if (f->event_first)
					qmp_send_line(fd, "{\"event\": \"RESUME\", \"data\": {}}\r\n");
				if (f->fail_cmd && !strcmp(cmd, f->fail_cmd))
					snprintf(reply, sizeof(reply), "{\"id\": %lld, \"error\": "
						 "{\"class\": \"%s\", \"desc\": \"fake %s failure\"}}"
						 "\r\n", (long long)id, f->fail_class, cmd);
				else
					snprintf(reply, sizeof(reply), "{\"id\": %lld, \"return\": {}}"
						 "\r\n", (long long)id);
				qmp_send_line(fd, reply);
				if (!strcmp(cmd, "device_del") && !f->no_deleted_event && dev) {
					snprintf(reply, sizeof(reply), "{\"event\": \"DEVICE_DELETED\", "
						 "\"data\": {\"path\": \"/x\"}}\r\n{\"event\": "
						 "\"DEVICE_DELETED\", \"data\": {\"device\": \"%s\"}}\r\n",
						 dev);
					qmp_send_line(fd, reply);
				}
				json_decref(m);
				memmove(buf, nl + 1, len - (nl + 1 - buf));
				len -= nl + 1 - buf;
				buf[len] = '\0';
			}
		}
		close(fd);
	}
	return NULL;
}

static struct fake_qmp *fake_qmp_start(void)
{
	struct fake_qmp *f = calloc(1, sizeof(*f));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(f->path, sizeof(f->path), "/tmp/ipdk-test-qmp-%d.sock", getpid());
	unlink(f->path);
	strcpy(sa.sun_path, f->path);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->listen_fd >= 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 4), 0);
	f->fail_class = "GenericError";
	pthread_mutex_init(&f->lock, NULL);
	pthread_create(&f->thread, NULL, fake_qmp_serve, f);
	return f;
}

static void fake_qmp_stop(struct fake_qmp *f)
{
	shutdown(f->listen_fd, SHUT_RDWR);
	close(f->listen_fd);
	pthread_join(f->thread, NULL);
	unlink(f->path);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static void fake_qmp_log(struct fake_qmp *f, char *out, size_t size)
{
	/* The server logs after it reads; give it the moment the reply implies. */
	pthread_mutex_lock(&f->lock);
	snprintf(out, size, "%s", f->log);
	f->log[0] = '\0';
	pthread_mutex_unlock(&f->lock);
}

static void test_qmp_client(void **state)
{
	struct fake_qmp *f = fake_qmp_start();
	struct ipdk_qmp *q;
	struct ipdk_err err;
	json_t *ret = NULL, *ev = NULL;

	(void)state;
	f->event_first = true;
	assert_int_equal(ipdk_qmp_connect(f->path, 2000, &q, &err), 0);
	assert_int_equal(ipdk_qmp_execute(q, "query-status", NULL, &ret, 2000, &err), 0);
	assert_true(json_is_object(ret));
	json_decref(ret);
	/* Events that came with the replies were kept. */
	assert_int_equal(ipdk_qmp_wait_event(q, "RESUME", NULL, NULL, 100, &ev, &err), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "event")), "RESUME");
	json_decref(ev);
	assert_int_equal(ipdk_qmp_wait_event(q, "SHUTDOWN", NULL, NULL, 100, NULL, &err),
			 -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "no SHUTDOWN event"));

	f->fail_cmd = "device_del";
	f->fail_class = "DeviceNotFound";
	assert_int_equal(ipdk_qmp_execute(q, "device_del", NULL, NULL, 2000, &err), -ENOENT);
	f->fail_class = "GenericError";
	assert_int_equal(ipdk_qmp_execute(q, "device_del", NULL, NULL, 2000, &err), -EIO);
	assert_non_null(strstr(err.msg, "device_del: fake device_del failure"));
	ipdk_qmp_close(q);
	fake_qmp_stop(f);
}

static void test_qmp_connect_errors(void **state)
{
	struct fake_qmp *f;
	struct ipdk_qmp *q;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_qmp_connect("/nonexistent/qmp.sock", 500, &q, &err), -EHOSTDOWN);
	assert_non_null(strstr(err.msg, "no VM is running there"));
	f = fake_qmp_start();
	f->silent = true;
	assert_int_equal(ipdk_qmp_connect(f->path, 200, &q, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "no greeting"));
	fake_qmp_stop(f);
}

static struct ipdk_vdev_table *qmp_table(struct fake_qmp *f)
{
	struct ipdk_vdev_host_cfg hc = { .address = f->path, .timeout_ms = 500 };
	struct ipdk_vdev_table *t;
	struct ipdk_err err;

	assert_int_equal(ipdk_vdev_table_create(&t, &err), 0);
	assert_int_equal(ipdk_vdev_host_add(t, "vm1", &hc, &err), 0);
	return t;
}

static void test_qmp_driver(void **state)
{
	struct fake_qmp *f = fake_qmp_start();
	struct ipdk_vdev_table *t = qmp_table(f);
	struct ipdk_vdev_cfg c;
	struct ipdk_err err;
	char log[4096];

	(void)state;
	net_cfg(&c, "net0", "/tmp/a.sock");
	assert_int_equal(ipdk_vdev_add(t, &c, &err), 0);
	fake_qmp_log(f, log, sizeof(log));
	/* A probe chardev without reconnect first, then the one with it. */
	assert_string_equal(log, "qmp_capabilities chardev-add chardev-remove chardev-add "
				 "netdev_add device_add ");
	assert_int_equal(ipdk_vdev_remove(t, "net0", 0, &err), 0);
	fake_qmp_log(f, log, sizeof(log));
	assert_string_equal(log, "qmp_capabilities device_del netdev_del chardev-remove ");

	/* device_add fails: what was added before it is removed again. */
	f->fail_cmd = "device_add";
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EIO);
	assert_non_null(strstr(err.msg, "device net0: host vm1"));
	assert_non_null(strstr(err.msg, "fake device_add failure"));
	fake_qmp_log(f, log, sizeof(log));
	assert_string_equal(log, "qmp_capabilities chardev-add chardev-remove chardev-add "
				 "netdev_add device_add netdev_del chardev-remove ");
	assert_int_equal(ipdk_vdev_count(t), 0);

	/* Nobody serves the socket: the probe fails and nothing else is tried
	 * (a chardev with reconnect would not fail, and netdev_add would wait). */
	f->fail_cmd = "chardev-add";
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EIO);
	fake_qmp_log(f, log, sizeof(log));
	assert_string_equal(log, "qmp_capabilities chardev-add ");
	assert_int_equal(ipdk_vdev_count(t), 0);

	/* virtio-blk: no netdev. */
	f->fail_cmd = NULL;
	c.type = IPDK_VDEV_VIRTIO_BLK;
	assert_int_equal(ipdk_vdev_add(t, &c, &err), 0);
	fake_qmp_log(f, log, sizeof(log));
	assert_string_equal(log, "qmp_capabilities chardev-add chardev-remove chardev-add "
				 "device_add ");

	/* The guest never lets go: the entry stays, marked. */
	f->no_deleted_event = true;
	assert_int_equal(ipdk_vdev_remove(t, "net0", 0, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "no DEVICE_DELETED event for ipdk-net0"));
	assert_int_equal(ipdk_vdev_count(t), 1);
	f->no_deleted_event = false;
	assert_int_equal(ipdk_vdev_remove(t, "net0", 0, &err), 0);

	/* nvme has no QEMU 7.2 transport: refused before QMP is touched. */
	c.type = IPDK_VDEV_NVME;
	fake_qmp_log(f, log, sizeof(log));
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EOPNOTSUPP);
	fake_qmp_log(f, log, sizeof(log));
	assert_string_equal(log, "");

	/* The VM goes away: its devices went with it, so removing one succeeds;
	 * a plug is refused as a condition to retry (UNAVAILABLE over gRPC). */
	c.type = IPDK_VDEV_VIRTIO_BLK;
	assert_int_equal(ipdk_vdev_add(t, &c, &err), 0);
	fake_qmp_stop(f);
	assert_int_equal(ipdk_vdev_remove(t, "net0", 0, &err), 0);
	assert_int_equal(ipdk_vdev_count(t), 0);
	assert_int_equal(ipdk_vdev_add(t, &c, &err), -EHOSTDOWN);
	assert_non_null(strstr(err.msg, "no VM is running there"));
	assert_int_equal(ipdk_vdev_count(t), 0);
	ipdk_vdev_table_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_remove),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_driver_failures),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_cfg_text),
		cmocka_unit_test(test_qmp_client),
		cmocka_unit_test(test_qmp_connect_errors),
		cmocka_unit_test(test_qmp_driver),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
