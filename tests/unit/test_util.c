/*
 * Tests of lib/util: the reader of user-typed values (ipdk/value.h) that
 * p4rt-ctl, TDI's text form and the virtual device table share, at several
 * buffer sizes (16 bytes as TDI, 64 as p4rt-ctl), and the error records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipdk/err.h"
#include "ipdk/file.h"
#include "ipdk/value.h"

/* s parses into a size-byte buffer holding hex (right-aligned). */
static void value_is(const char *s, uint32_t bits, size_t size, const char *hex)
{
	uint8_t v[64], want[64] = { 0 };
	struct ipdk_err err = { 0 };
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		want[size - n + i] = (uint8_t)b;
	}
	if (ipdk_value_parse(s, bits, v, size, &err))
		fail_msg("%s: %s", s, err.msg);
	assert_memory_equal(v, want, size);
}

/* s is refused with code and a message containing msg. */
static void value_fails(const char *s, uint32_t bits, size_t size, int code, const char *msg)
{
	uint8_t v[64];
	struct ipdk_err err = { 0 };

	assert_int_equal(ipdk_value_parse(s, bits, v, size, &err), code);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, msg))
		fail_msg("%s: \"%s\" lacks \"%s\"", s, err.msg, msg);
}

static void test_values(void **state)
{
	(void)state;
	value_is("0", 1, 16, "00");
	value_is("511", 9, 16, "01ff");
	value_is("0x1ff", 9, 16, "01ff");
	value_is("0X00000000000000AbC", 12, 16, "0abc");
	value_is("10.1.2.3", 32, 16, "0a010203");
	value_is("10.1.2.3", 32, 4, "0a010203");
	value_is("aa:bb:cc:dd:ee:ff", 48, 16, "aabbccddeeff");
	value_is("AA-BB-CC-DD-EE-0F", 48, 64, "aabbccddee0f");
	value_is("0:1:2:a:b:c", 48, 16, "0001020a0b0c");
	value_is("2001:db8::1", 128, 16, "20010db8000000000000000000000001");
	value_is("::ffff:10.0.0.1", 128, 64, "00000000000000000000ffff0a000001");
	value_is("::", 128, 16, "00");
	value_is("340282366920938463463374607431768211455", 128, 16,
		 "ffffffffffffffffffffffffffffffff");
	value_is("18446744073709551616", 65, 16, "010000000000000000");
	/* 512 bits: the widest p4rt-ctl takes */
	value_is("0x8000000000000000000000000000000000000000000000000000000000000000"
		 "0000000000000000000000000000000000000000000000000000000000000001", 512, 64,
		 "8000000000000000000000000000000000000000000000000000000000000000"
		 "0000000000000000000000000000000000000000000000000000000000000001");

	value_fails("512", 9, 16, -ERANGE, "512 does not fit in 9 bits");
	value_fails("0x200", 9, 16, -ERANGE, "does not fit in 9 bits");
	value_fails("10.1.2.3", 24, 16, -ERANGE, "does not fit in 24 bits");
	value_fails("aa:bb:cc:dd:ee:ff", 47, 16, -ERANGE, "does not fit in 47 bits");
	value_fails("340282366920938463463374607431768211456", 128, 16, -ERANGE,
		    "does not fit in 128 bits");
	value_fails("0x1ffffffffffffffffffffffffffffffff", 200, 16, -ERANGE,
		    "does not fit in 128 bits");
	value_fails("2001:db8::1", 128, 4, -ERANGE, "does not fit in 32 bits");
	value_fails("12a", 32, 16, -EINVAL, "'12a' is not a number, IPv4/IPv6 address or MAC");
	value_fails("", 32, 16, -EINVAL, "empty value");
	value_fails("0x", 32, 16, -EINVAL, "'0x' has no hex digits");
	value_fails("0xg", 32, 16, -EINVAL, "is not a number");
	value_fails("10.1.2", 32, 16, -EINVAL, "is not a number");
	value_fails("10.0.0.1.5", 32, 16, -EINVAL, "is not a number");
	value_fails("10.1.2.256", 32, 16, -EINVAL, "is not a number");
	value_fails("aa:bb:cc:dd:ee", 48, 16, -EINVAL, "is not a number");
	value_fails("aa:bb:cc:dd:ee:ff:00", 48, 16, -EINVAL, "is not a number");
	value_fails("aaa:bb:cc:dd:ee:ff", 48, 16, -EINVAL, "is not a number");
	value_fails("2001:db8:::1", 128, 16, -EINVAL, "is not a number");
	value_fails("-1", 32, 16, -EINVAL, "is not a number");
	value_fails("+1", 32, 16, -EINVAL, "is not a number");
	value_fails(" 1", 32, 16, -EINVAL, "is not a number");
}

static void test_mac(void **state)
{
	uint8_t mac[6] = { 0 };
	const uint8_t want[6] = { 0x02, 0x00, 0x00, 0x00, 0x0a, 0x0b };

	(void)state;
	assert_int_equal(ipdk_mac_parse("02:00:00:00:0a:0B", mac), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(ipdk_mac_parse("2-0-0-0-a-b", mac), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(ipdk_mac_parse("02:00:00:00:0a", mac), -EINVAL);
	assert_int_equal(ipdk_mac_parse("02:00:00:00:0a:0b:", mac), -EINVAL);
	assert_int_equal(ipdk_mac_parse("02:00:00:00:0a:0g", mac), -EINVAL);
	assert_int_equal(ipdk_mac_parse("02.00.00.00.0a.0b", mac), -EINVAL);
	assert_int_equal(ipdk_mac_parse("", mac), -EINVAL);
	assert_memory_equal(mac, want, 6);      /* a refused MAC leaves mac alone */
}

static void test_bits_and_digits(void **state)
{
	const uint8_t zero[4] = { 0 }, nine[4] = { 0, 0, 1, 0xff }, top[4] = { 0x80, 0, 0, 0 };

	(void)state;
	assert_int_equal(ipdk_value_bits(zero, 4), 0);
	assert_int_equal(ipdk_value_bits(nine, 4), 9);
	assert_int_equal(ipdk_value_bits(top, 4), 32);
	assert_int_equal(ipdk_hexdigit('0'), 0);
	assert_int_equal(ipdk_hexdigit('a'), 10);
	assert_int_equal(ipdk_hexdigit('F'), 15);
	assert_int_equal(ipdk_hexdigit('g'), -1);
	assert_int_equal(ipdk_hexdigit(0), -1);
}

static void test_err(void **state)
{
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_err_set(&err, -ENOENT, "table %s: no entry", "t"), -ENOENT);
	assert_int_equal(ipdk_err_prefix(&err, "device %d", 1), -ENOENT);
	assert_string_equal(err.msg, "device 1: table t: no entry");
	ipdk_err_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");
	assert_int_equal(ipdk_err_set(NULL, -EINVAL, "ignored"), -EINVAL);
}

/* The new contents replace the old whole; a failure leaves the old file and no
 * PATH.tmp behind. */
static void test_file_replace(void **state)
{
	char dir[] = "/tmp/ipdk-util-XXXXXX", path[64], tmp[80], got[32] = "";
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(ipdk_file_replace(path, "first, longer\n", 14), 0);
	assert_int_equal(ipdk_file_replace(path, "second\n", 7), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, sizeof(got) - 1, f), 7);
	fclose(f);
	assert_string_equal(got, "second\n");
	assert_int_equal(access(tmp, F_OK), -1);
	/* PATH.tmp cannot be made (PATH.tmp is a directory): the old file stays */
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(ipdk_file_replace(path, "third\n", 6), -EISDIR);
	f = fopen(path, "r");
	assert_non_null(f);
	memset(got, 0, sizeof(got));
	assert_int_equal(fread(got, 1, sizeof(got) - 1, f), 7);
	fclose(f);
	assert_string_equal(got, "second\n");
	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(ipdk_file_replace("/nonexistent-dir/x", "x", 1), -ENOENT);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_bits_and_digits),
		cmocka_unit_test(test_err),
		cmocka_unit_test(test_file_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
