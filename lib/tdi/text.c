/*
 * The text form of TDI entries, as the CLI and tests write them:
 *
 *   match 10.0.0.0/8 0x0800 priority 10 action set_port port 3
 *
 * Values are decimal, 0x-hex, dotted IPv4, MAC or IPv6 text (read by
 * lib/util's ipdk_value_parse, the reader p4rt-ctl uses too); each key
 * field is written according to its match kind (LPM "V/LEN", ternary
 * "V&&&MASK", "V/MASK" or "*", range "LO..HI", optional "V" or "*"). Parsing
 * reports the table, field number and name in its errors; formatting writes
 * the same form back (values in hex) so the two round-trip.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/tdi.h"
#include "ipdk/value.h"
#include "tdi_priv.h"

#define TEXT_TOKENS_MAX (2 * TDI_MAX_PARAMS + TDI_MAX_KEY_FIELDS + 8)

/* ---- Values ------------------------------------------------------------- */

int tdi_value_parse(const char *s, uint32_t n_bits, uint8_t out[TDI_VALUE_BYTES],
		    struct ipdk_err *err)
{
	return ipdk_value_parse(s, n_bits, out, TDI_VALUE_BYTES, err);
}

/* ---- Entries ------------------------------------------------------------ */

static int tokenize(char *s, char **tok, int max)
{
	char *save = NULL, *t;
	int n = 0;

	for (t = strtok_r(s, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == max)
			return -E2BIG;
		tok[n++] = t;
	}
	return n;
}

static int key_field_parse(const struct tdi_table_info *t, uint32_t i, char *tok,
			   struct tdi_field_value *f, struct ipdk_err *err)
{
	const struct tdi_key_field_info *k = &t->keys[i];
	uint32_t w = k->n_bits;
	char *sep;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	switch (k->match) {
	case TDI_MATCH_EXACT:
		rc = tdi_value_parse(tok, w, f->value, err);
		tdi_value_ones(f->mask, w);
		break;
	case TDI_MATCH_LPM:
		f->prefix_len = w;
		sep = strchr(tok, '/');
		if (sep) {
			char *end;
			unsigned long plen;

			*sep = '\0';
			plen = strtoul(sep + 1, &end, 10);
			if (!sep[1] || *end)
				return ipdk_err_set(err, -EINVAL,
						    "table %s: key field %u (%s): bad prefix length '%s'",
						    t->name, i + 1, k->name, sep + 1);
			if (plen > w)
				return ipdk_err_set(err, -ERANGE,
						    "table %s: key field %u (%s): prefix length %lu exceeds %u bits",
						    t->name, i + 1, k->name, plen, w);
			f->prefix_len = (uint32_t)plen;
		}
		rc = tdi_value_parse(tok, w, f->value, err);
		tdi_prefix_mask(f->mask, w, f->prefix_len);
		break;
	case TDI_MATCH_TERNARY:
	case TDI_MATCH_OPTIONAL:
		if (!strcmp(tok, "*"))
			return 0;
		sep = strstr(tok, "&&&");
		if (sep) {
			*sep = '\0';
			sep += 3;
		} else if (k->match == TDI_MATCH_TERNARY && (sep = strchr(tok, '/'))) {
			*sep++ = '\0';
		}
		rc = tdi_value_parse(tok, w, f->value, err);
		if (!rc && sep)
			rc = tdi_value_parse(sep, w, f->mask, err);
		else if (!rc)
			tdi_value_ones(f->mask, w);
		break;
	case TDI_MATCH_RANGE:
		sep = strstr(tok, "..");
		if (sep) {
			*sep = '\0';
			sep += 2;
		}
		rc = tdi_value_parse(tok, w, f->value, err);
		if (!rc)
			rc = tdi_value_parse(sep ? sep : tok, w, f->high, err);
		break;
	}
	if (rc)
		return ipdk_err_prefix(err, "table %s: key field %u (%s)", t->name, i + 1, k->name);
	return 0;
}

static int action_tokens_parse(const struct tdi_dev *dev, const struct tdi_table_info *t,
			       char **tok, int n, struct tdi_entry *e, struct ipdk_err *err)
{
	const struct tdi_action_info *a;
	bool seen[TDI_MAX_PARAMS] = { false };
	uint32_t i;
	int rc, j;

	if (n < 1)
		return ipdk_err_set(err, -EINVAL, "table %s: action name missing", t->name);
	a = tdi_action_find(dev, tok[0]);
	if (!a)
		return ipdk_err_set(err, -ENOENT, "table %s: unknown action %s", t->name, tok[0]);
	for (i = 0; i < t->n_actions; i++)
		if (t->action_ids[i] == a->id)
			break;
	if (i == t->n_actions)
		return ipdk_err_set(err, -EINVAL, "table %s: action %s is not one of the table's actions",
				    t->name, a->name);
	e->action_id = a->id;
	memset(e->params, 0, sizeof(e->params));
	for (j = 1; j < n; j += 2) {
		for (i = 0; i < a->n_params; i++)
			if (!strcmp(a->params[i].name, tok[j]))
				break;
		if (i == a->n_params)
			return ipdk_err_set(err, -EINVAL, "action %s: no parameter %s", a->name, tok[j]);
		if (j + 1 >= n)
			return ipdk_err_set(err, -EINVAL, "action %s: parameter %s: value missing",
					    a->name, tok[j]);
		if (seen[i])
			return ipdk_err_set(err, -EINVAL, "action %s: parameter %s given twice",
					    a->name, tok[j]);
		seen[i] = true;
		rc = tdi_value_parse(tok[j + 1], a->params[i].n_bits, e->params[i], err);
		if (rc)
			return ipdk_err_prefix(err, "action %s: parameter %s", a->name, tok[j]);
	}
	for (i = 0; i < a->n_params; i++)
		if (!seen[i])
			return ipdk_err_set(err, -EINVAL, "action %s: parameter %s missing", a->name,
					    a->params[i].name);
	return 0;
}

int tdi_action_parse(const struct tdi_dev *dev, const struct tdi_table_info *t,
		     const char *text, struct tdi_entry *e, struct ipdk_err *err)
{
	char *tok[TEXT_TOKENS_MAX], *copy;
	int n, rc;

	ipdk_err_clear(err);
	copy = strdup(text ? text : "");
	if (!copy)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	n = tokenize(copy, tok, TEXT_TOKENS_MAX);
	if (n < 0)
		rc = ipdk_err_set(err, n, "table %s: too many words", t->name);
	else
		rc = action_tokens_parse(dev, t, tok, n, e, err);
	if (!rc)
		e->table_id = t->id;
	free(copy);
	return rc;
}

static int entry_parse(const struct tdi_dev *dev, const struct tdi_table_info *t,
		       const char *text, bool key_only, struct tdi_entry *e, struct ipdk_err *err)
{
	char *tok[TEXT_TOKENS_MAX], *copy;
	int n, pos = 0, rc = 0;

	ipdk_err_clear(err);
	memset(e, 0, sizeof(*e));
	e->table_id = t->id;
	copy = strdup(text ? text : "");
	if (!copy)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	n = tokenize(copy, tok, TEXT_TOKENS_MAX);
	if (n < 0) {
		rc = ipdk_err_set(err, n, "table %s: too many words", t->name);
		goto out;
	}
	if (pos < n && !strcmp(tok[pos], "match")) {
		pos++;
		for (uint32_t i = 0; i < t->n_keys; i++, pos++) {
			if (pos >= n || !strcmp(tok[pos], "action") || !strcmp(tok[pos], "priority")) {
				rc = ipdk_err_set(err, -EINVAL, "table %s: %u key fields expected, %u given",
						  t->name, t->n_keys, i);
				goto out;
			}
			rc = key_field_parse(t, i, tok[pos], &e->key[i], err);
			if (rc)
				goto out;
		}
	} else if (t->n_keys) {
		rc = ipdk_err_set(err, -EINVAL, "table %s: entry must start with 'match'", t->name);
		goto out;
	}
	if (pos < n && !strcmp(tok[pos], "priority")) {
		char *end;
		unsigned long p;

		if (pos + 1 >= n) {
			rc = ipdk_err_set(err, -EINVAL, "table %s: priority value missing", t->name);
			goto out;
		}
		p = strtoul(tok[pos + 1], &end, 0);
		if (*end || !tok[pos + 1][0] || p > UINT32_MAX) {
			rc = ipdk_err_set(err, -EINVAL, "table %s: bad priority '%s'", t->name,
					  tok[pos + 1]);
			goto out;
		}
		e->priority = (uint32_t)p;
		pos += 2;
	}
	if (key_only) {
		if (pos < n)
			rc = ipdk_err_set(err, -EINVAL, "table %s: unexpected '%s' after the key",
					  t->name, tok[pos]);
		goto out;
	}
	if (pos >= n || strcmp(tok[pos], "action")) {
		rc = ipdk_err_set(err, -EINVAL, "table %s: '%s' where 'action' was expected", t->name,
				  pos < n ? tok[pos] : "end of entry");
		goto out;
	}
	rc = action_tokens_parse(dev, t, tok + pos + 1, n - pos - 1, e, err);
out:
	free(copy);
	return rc;
}

int tdi_entry_parse(const struct tdi_dev *dev, const struct tdi_table_info *t,
		    const char *text, struct tdi_entry *e, struct ipdk_err *err)
{
	return entry_parse(dev, t, text, false, e, err);
}

int tdi_key_parse(const struct tdi_dev *dev, const struct tdi_table_info *t,
		  const char *text, struct tdi_entry *e, struct ipdk_err *err)
{
	return entry_parse(dev, t, text, true, e, err);
}

/* ---- Formatting --------------------------------------------------------- */

struct outbuf {
	char *buf;
	size_t size, len;
};

static void out_printf(struct outbuf *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out_printf(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->len < o->size ? o->buf + o->len : NULL,
		      o->len < o->size ? o->size - o->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static void out_value(struct outbuf *o, const uint8_t v[TDI_VALUE_BYTES])
{
	int i = 0;

	while (i < TDI_VALUE_BYTES - 1 && !v[i])
		i++;
	out_printf(o, "0x%x", v[i]);
	for (i++; i < TDI_VALUE_BYTES; i++)
		out_printf(o, "%02x", v[i]);
}

static bool looks_like_address(const char *name)
{
	return strstr(name, "addr") || strstr(name, "ip") || strstr(name, "mac");
}

/* Prints a value the way people write it: MACs for 48-bit values, dotted
 * IPv4 for 32-bit addresses, decimal for small numbers, hex otherwise. Each
 * form is one tdi_value_parse() reads back. */
static void out_typed(struct outbuf *o, const uint8_t v[TDI_VALUE_BYTES], uint32_t n_bits,
		      const char *name)
{
	const uint8_t *b = v + TDI_VALUE_BYTES;

	if (n_bits == 48) {
		out_printf(o, "%02x:%02x:%02x:%02x:%02x:%02x", b[-6], b[-5], b[-4], b[-3], b[-2],
			   b[-1]);
		return;
	}
	if (n_bits == 32 && looks_like_address(name)) {
		out_printf(o, "%u.%u.%u.%u", b[-4], b[-3], b[-2], b[-1]);
		return;
	}
	if (n_bits == 128 && looks_like_address(name)) {
		char text[INET6_ADDRSTRLEN];

		if (inet_ntop(AF_INET6, v, text, sizeof(text))) {
			out_printf(o, "%s", text);
			return;
		}
	}
	if (n_bits <= 32) {
		uint32_t x = 0;

		for (int i = 4; i > 0; i--)
			x = x << 8 | b[-i];
		out_printf(o, "%u", x);
		return;
	}
	out_value(o, v);
}

static void out_field(struct outbuf *o, const struct tdi_key_field_info *k,
		      const struct tdi_field_value *f)
{
	out_printf(o, " ");
	switch (k->match) {
	case TDI_MATCH_EXACT:
		out_typed(o, f->value, k->n_bits, k->name);
		break;
	case TDI_MATCH_LPM:
		out_typed(o, f->value, k->n_bits, k->name);
		out_printf(o, "/%u", f->prefix_len);
		break;
	case TDI_MATCH_TERNARY:
	case TDI_MATCH_OPTIONAL:
		if (tdi_value_is_zero(f->mask)) {
			out_printf(o, "*");
			break;
		}
		out_typed(o, f->value, k->n_bits, k->name);
		if (k->match == TDI_MATCH_TERNARY) {
			out_printf(o, "&&&");
			out_value(o, f->mask);
		}
		break;
	case TDI_MATCH_RANGE:
		out_typed(o, f->value, k->n_bits, k->name);
		out_printf(o, "..");
		out_typed(o, f->high, k->n_bits, k->name);
		break;
	}
}

int tdi_entry_format(const struct tdi_dev *dev, const struct tdi_entry *e, char *buf,
		     size_t size)
{
	const struct tdi_schema *s = tdi_dev_schema(dev);
	const struct tdi_table_info *t;
	const struct tdi_action_info *a;
	struct outbuf o = { .buf = buf, .size = size };

	if (size)
		buf[0] = '\0';
	if (e->table_id >= s->n_tables)
		return -EINVAL;
	t = &s->tables[e->table_id];
	if (t->n_keys) {
		out_printf(&o, "match");
		for (uint32_t i = 0; i < t->n_keys; i++)
			out_field(&o, &t->keys[i], &e->key[i]);
		out_printf(&o, " ");
	}
	if (tdi_table_needs_priority(t))
		out_printf(&o, "priority %u ", e->priority);
	if (e->action_id >= s->n_actions)
		return -EINVAL;
	a = &s->actions[e->action_id];
	out_printf(&o, "action %s", a->name);
	for (uint32_t i = 0; i < a->n_params; i++) {
		out_printf(&o, " %s ", a->params[i].name);
		out_typed(&o, e->params[i], a->params[i].n_bits, a->params[i].name);
	}
	return (int)o.len;
}
