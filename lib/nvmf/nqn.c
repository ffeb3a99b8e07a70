/*
 * Names both sides of NVMe/TCP check: NQNs (the NVMe base specification's
 * forms: the discovery NQN, "nqn.2014-08.org.nvmexpress:uuid:<uuid>" and
 * "nqn.yyyy-mm.<reverse domain>[:<name>]") and UUIDs in their text form.
 */
#include <errno.h>
#include <string.h>

#include "ipdk/nvmf.h"
#include "proto.h"

bool ipdk_nvmf_nqn_valid(const char *nqn)
{
	size_t n = strnlen(nqn, IPDK_NVMF_NQN_MAX);

	if (n == 0 || n > NQN_MAX)
		return false;
	if (!strcmp(nqn, IPDK_NVMF_DISCOVERY_NQN))
		return true;
	if (!strncmp(nqn, "nqn.2014-08.org.nvmexpress:uuid:", 32))
		return n == 32 + 36;
	/* nqn.yyyy-mm.<reverse domain>[:<anything>] */
	if (n < 12 || strncmp(nqn, "nqn.", 4) || nqn[8] != '-' || nqn[11] != '.')
		return false;
	for (int i = 4; i < 11; i++)
		if (i != 8 && (nqn[i] < '0' || nqn[i] > '9'))
			return false;
	for (const char *p = nqn; *p; p++)
		if (*p <= ' ' || *p > '~')
			return false;
	return nqn[12] != '\0' && nqn[12] != ':';
}

int ipdk_nvmf_uuid_parse(const char *s, uint8_t uuid[16])
{
	unsigned int n = 0;

	for (int i = 0; s[i]; i++) {
		int v;

		if ((i == 8 || i == 13 || i == 18 || i == 23) && s[i] == '-')
			continue;
		if (s[i] >= '0' && s[i] <= '9')
			v = s[i] - '0';
		else if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')
			v = (s[i] | 0x20) - 'a' + 10;
		else
			return -EINVAL;
		if (n == 32)
			return -EINVAL;
		if (n % 2 == 0)
			uuid[n / 2] = (uint8_t)(v << 4);
		else
			uuid[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 32 && strlen(s) == 36 ? 0 : -EINVAL;
}
