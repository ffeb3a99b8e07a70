/*
 * Tests of lib/nvmf without a network peer: CRC32C against known vectors
 * (both code paths agree on odd lengths and alignments), NQN validation, and
 * the target's configuration rules and their error messages.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ipdk/blk.h"
#include "ipdk/nvmf.h"
#include "../../lib/nvmf/proto.h"

static void test_crc32c(void **state)
{
	uint8_t buf[4096 + 8];

	(void)state;
	assert_int_equal(crc32c_final(nvmf_crc32c(CRC32C_INIT, "123456789", 9)), 0xe3069283u);
	memset(buf, 0, 32);
	assert_int_equal(crc32c_final(nvmf_crc32c(CRC32C_INIT, buf, 32)), 0x8a9136aau);
	memset(buf, 0xff, 32);
	assert_int_equal(crc32c_final(nvmf_crc32c(CRC32C_INIT, buf, 32)), 0x62a8ab43u);
	/* split computation equals one pass, at every alignment */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 7);
	for (size_t off = 0; off < 8; off++) {
		uint32_t whole = nvmf_crc32c(CRC32C_INIT, buf + off, 4093);
		uint32_t split = nvmf_crc32c(nvmf_crc32c(CRC32C_INIT, buf + off, 1001),
					     buf + off + 1001, 3092);

		assert_int_equal(whole, split);
	}
}

static void test_nqn(void **state)
{
	char longnqn[300];

	(void)state;
	assert_true(ipdk_nvmf_nqn_valid("nqn.2024-01.io.ipdk:vol0"));
	assert_true(ipdk_nvmf_nqn_valid(IPDK_NVMF_DISCOVERY_NQN));
	assert_true(ipdk_nvmf_nqn_valid("nqn.2014-08.org.nvmexpress:uuid:"
					"f81d4fae-7dec-11d0-a765-00a0c91e6bf6"));
	assert_false(ipdk_nvmf_nqn_valid(""));
	assert_false(ipdk_nvmf_nqn_valid("nqn"));
	assert_false(ipdk_nvmf_nqn_valid("iqn.2024-01.io.ipdk:x"));
	assert_false(ipdk_nvmf_nqn_valid("nqn.24-01.io.ipdk:x"));
	assert_false(ipdk_nvmf_nqn_valid("nqn.2024-01.io.ipdk:with space"));
	assert_false(ipdk_nvmf_nqn_valid("nqn.2014-08.org.nvmexpress:uuid:short"));
	memset(longnqn, 'a', sizeof(longnqn));
	memcpy(longnqn, "nqn.2024-01.io.ipdk:", 20);
	longnqn[224] = '\0';
	assert_false(ipdk_nvmf_nqn_valid(longnqn));
}

static int count_subsys(const struct ipdk_nvmf_subsys_info *info, void *arg)
{
	(void)info;
	(*(int *)arg)++;
	return 0;
}

static void test_config(void **state)
{
	struct ipdk_nvmf_tgt_opts bad = { .max_io_size = 3000 };
	struct ipdk_nvmf_tgt *tgt;
	struct ipdk_blk_dev *dev;
	struct ipdk_err err;
	const char *nqn = "nqn.2024-01.io.ipdk:t";
	int n = 0;

	(void)state;
	assert_int_equal(ipdk_nvmf_tgt_create(&bad, &tgt, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "3000"));
	assert_int_equal(ipdk_nvmf_tgt_create(NULL, &tgt, &err), 0);
	assert_int_equal(ipdk_nvmf_tgt_listen(tgt, "not-an-ip", 0, &err), -EINVAL);
	assert_int_equal(ipdk_nvmf_tgt_listen(tgt, "127.0.0.1", 0, &err), 0);
	assert_true(ipdk_nvmf_tgt_port(tgt) > 0);
	assert_int_equal(ipdk_blk_ram_create("tr0", 512, 64, &dev, &err), 0);
	assert_int_equal(ipdk_nvmf_subsys_add(tgt, IPDK_NVMF_DISCOVERY_NQN, NULL, &err), -EINVAL);
	assert_int_equal(ipdk_nvmf_subsys_add(tgt, nqn, NULL, &err), 0);
	assert_int_equal(ipdk_nvmf_subsys_add(tgt, nqn, NULL, &err), -EEXIST);
	assert_int_equal(ipdk_nvmf_ns_add(tgt, nqn, 0, "tr0", &err), 1);
	assert_int_equal(ipdk_nvmf_ns_add(tgt, nqn, 0, "tr0", &err), 2);   /* shared device */
	assert_int_equal(ipdk_nvmf_ns_add(tgt, nqn, 2, "tr0", &err), -EEXIST);
	assert_int_equal(ipdk_nvmf_ns_add(tgt, nqn, 33, "tr0", &err), -ERANGE);
	assert_int_equal(ipdk_nvmf_ns_add(tgt, nqn, 0, "none", &err), -ENOENT);
	assert_non_null(strstr(err.msg, nqn));
	assert_int_equal(ipdk_nvmf_ns_add(tgt, IPDK_NVMF_DISCOVERY_NQN, 0, "tr0", &err), -EPERM);
	assert_int_equal(ipdk_nvmf_host_add(tgt, nqn, "nqn.2024-01.io.ipdk:h1", &err), 0);
	assert_int_equal(ipdk_nvmf_host_add(tgt, nqn, "nqn.2024-01.io.ipdk:h1", &err), -EEXIST);
	assert_int_equal(ipdk_nvmf_host_remove(tgt, nqn, "nqn.2024-01.io.ipdk:h2", &err), -ENOENT);
	assert_int_equal(ipdk_nvmf_ns_remove(tgt, nqn, 1, &err), 0);
	assert_int_equal(ipdk_nvmf_ns_remove(tgt, nqn, 1, &err), -ENOENT);
	ipdk_nvmf_subsys_foreach(tgt, count_subsys, &n);
	assert_int_equal(n, 1);   /* the discovery subsystem is not listed */
	assert_int_equal(ipdk_nvmf_subsys_remove(tgt, nqn, &err), 0);
	assert_int_equal(ipdk_nvmf_subsys_remove(tgt, nqn, &err), -ENOENT);
	ipdk_nvmf_tgt_destroy(tgt);
	ipdk_blk_put(dev);
	assert_int_equal(ipdk_blk_delete("tr0", &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_nqn),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
