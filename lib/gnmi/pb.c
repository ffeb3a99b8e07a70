/*
 * Conversions between gNMI protobuf-c messages (Path, TypedValue) and the
 * text-friendly paths and values of lib/gnmi (see gnmi_pb.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnmi_pb.h"

static int add_pb(const Gnmi__Path *p, struct ipdk_gnmi_path *out, struct ipdk_err *err)
{
	char text[IPDK_GNMI_VALUE_MAX * 2];
	struct ipdk_gnmi_path part;
	int rc;

	if (!p)
		return 0;
	/* Old clients send each element as a string, possibly with keys. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	for (size_t i = 0; i < p->n_element; i++) {
		snprintf(text, sizeof(text), "%s", p->element[i]);
		rc = ipdk_gnmi_path_parse(text, &part, err);
		if (rc)
			return rc;
		for (unsigned int j = 0; j < part.n; j++) {
			if (out->n == IPDK_GNMI_MAX_ELEMS)
				return ipdk_err_set(err, -ENOSPC, "path: more than %d elements",
						    IPDK_GNMI_MAX_ELEMS);
			out->elem[out->n++] = part.elem[j];
		}
	}
#pragma GCC diagnostic pop
	for (size_t i = 0; i < p->n_elem; i++) {
		const Gnmi__PathElem *e = p->elem[i];
		const char *name = e->name ? e->name : "";

		if (!name[0])
			return ipdk_err_set(err, -EINVAL, "path: element %zu has no name", i);
		rc = ipdk_gnmi_path_add(out, name);
		if (rc == -ENOSPC)
			return ipdk_err_set(err, rc, "path: more than %d elements",
					    IPDK_GNMI_MAX_ELEMS);
		if (rc)
			return ipdk_err_set(err, rc, "path: element name %.32s... is too long",
					    name);
		for (size_t k = 0; k < e->n_key; k++) {
			const char *kn = e->key[k]->key ? e->key[k]->key : "";
			const char *kv = e->key[k]->value ? e->key[k]->value : "";

			rc = ipdk_gnmi_path_add_key(out, kn, kv);
			if (rc)
				return ipdk_err_set(err, rc, "path element %s: key %s does not fit "
						    "(at most %d keys, values of %d characters)",
						    name, kn, IPDK_GNMI_MAX_KEYS,
						    IPDK_GNMI_VALUE_MAX - 1);
		}
	}
	return 0;
}

int gnmi_pb_path_get(const Gnmi__Path *prefix, const Gnmi__Path *path,
		     struct ipdk_gnmi_path *out, struct ipdk_err *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = add_pb(prefix, out, err);
	if (!rc)
		rc = add_pb(path, out, err);
	return rc;
}

Gnmi__Path *gnmi_pb_path_new(const struct ipdk_gnmi_path *path)
{
	Gnmi__Path *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	gnmi__path__init(p);
	if (!path->n)
		return p;
	p->elem = calloc(path->n, sizeof(*p->elem));
	if (!p->elem)
		goto fail;
	for (unsigned int i = 0; i < path->n; i++) {
		const struct ipdk_gnmi_elem *e = &path->elem[i];
		Gnmi__PathElem *pe = calloc(1, sizeof(*pe));

		if (!pe)
			goto fail;
		gnmi__path_elem__init(pe);
		p->elem[p->n_elem++] = pe;
		pe->name = strdup(e->name);
		if (!pe->name)
			goto fail;
		if (!e->n_keys)
			continue;
		pe->key = calloc(e->n_keys, sizeof(*pe->key));
		if (!pe->key)
			goto fail;
		for (unsigned int k = 0; k < e->n_keys; k++) {
			Gnmi__PathElem__KeyEntry *ke = calloc(1, sizeof(*ke));

			if (!ke)
				goto fail;
			gnmi__path_elem__key_entry__init(ke);
			pe->key[pe->n_key++] = ke;
			ke->key = strdup(e->keys[k].name);
			ke->value = strdup(e->keys[k].value);
			if (!ke->key || !ke->value)
				goto fail;
		}
	}
	return p;
fail:
	protobuf_c_message_free_unpacked(&p->base, NULL);
	return NULL;
}

int gnmi_pb_val_get(const Gnmi__TypedValue *tv, struct ipdk_gnmi_val *out,
		    struct ipdk_err *err)
{
	memset(out, 0, sizeof(*out));
	switch (tv ? tv->value_case : GNMI__TYPED_VALUE__VALUE__NOT_SET) {
	case GNMI__TYPED_VALUE__VALUE_STRING_VAL:
	case GNMI__TYPED_VALUE__VALUE_ASCII_VAL: {
		const char *s = tv->value_case == GNMI__TYPED_VALUE__VALUE_STRING_VAL ?
				tv->string_val : tv->ascii_val;

		if (strlen(s) >= IPDK_GNMI_VALUE_MAX)
			return ipdk_err_set(err, -ENAMETOOLONG, "value %.32s... is too long "
					    "(at most %d characters)", s, IPDK_GNMI_VALUE_MAX - 1);
		ipdk_gnmi_val_str(out, s);
		return 0;
	}
	case GNMI__TYPED_VALUE__VALUE_UINT_VAL:
		ipdk_gnmi_val_uint(out, tv->uint_val);
		return 0;
	case GNMI__TYPED_VALUE__VALUE_INT_VAL:
		out->type = IPDK_GNMI_INT;
		out->i = tv->int_val;
		return 0;
	case GNMI__TYPED_VALUE__VALUE_BOOL_VAL:
		out->type = IPDK_GNMI_BOOL;
		out->b = tv->bool_val;
		return 0;
	case GNMI__TYPED_VALUE__VALUE__NOT_SET:
		return ipdk_err_set(err, -EINVAL, "no value given");
	default:
		return ipdk_err_set(err, -EINVAL, "value type %d is not supported here "
				    "(string, ascii, uint, int, bool, json or json_ietf)",
				    (int)tv->value_case);
	}
}

static char *json_scalar(const struct ipdk_gnmi_val *v)
{
	char *out, *o;
	size_t n;

	if (v->type != IPDK_GNMI_STRING) {
		char buf[32];

		ipdk_gnmi_val_print(v, buf, sizeof(buf));
		return strdup(buf);
	}
	n = strlen(v->s);
	out = malloc(n * 6 + 3);
	if (!out)
		return NULL;
	o = out;
	*o++ = '"';
	for (const unsigned char *c = (const unsigned char *)v->s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			*o++ = '\\';
			*o++ = (char)*c;
		} else if (*c < 0x20) {
			o += sprintf(o, "\\u%04x", *c);
		} else {
			*o++ = (char)*c;
		}
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

Gnmi__TypedValue *gnmi_pb_val_new(const struct ipdk_gnmi_val *v, Gnmi__Encoding enc)
{
	Gnmi__TypedValue *tv = calloc(1, sizeof(*tv));
	char buf[IPDK_GNMI_VALUE_MAX];
	char *s;

	if (!tv)
		return NULL;
	gnmi__typed_value__init(tv);
	if (enc == GNMI__ENCODING__JSON || enc == GNMI__ENCODING__JSON_IETF) {
		s = json_scalar(v);
		if (!s)
			goto fail;
		tv->value_case = enc == GNMI__ENCODING__JSON ? GNMI__TYPED_VALUE__VALUE_JSON_VAL :
				 GNMI__TYPED_VALUE__VALUE_JSON_IETF_VAL;
		tv->json_val.data = (uint8_t *)s;
		tv->json_val.len = strlen(s);
		return tv;
	}
	if (enc == GNMI__ENCODING__ASCII) {
		ipdk_gnmi_val_print(v, buf, sizeof(buf));
		tv->value_case = GNMI__TYPED_VALUE__VALUE_ASCII_VAL;
		tv->ascii_val = strdup(buf);
		if (!tv->ascii_val)
			goto fail;
		return tv;
	}
	switch (v->type) {
	case IPDK_GNMI_UINT:
		tv->value_case = GNMI__TYPED_VALUE__VALUE_UINT_VAL;
		tv->uint_val = v->u;
		break;
	case IPDK_GNMI_INT:
		tv->value_case = GNMI__TYPED_VALUE__VALUE_INT_VAL;
		tv->int_val = v->i;
		break;
	case IPDK_GNMI_BOOL:
		tv->value_case = GNMI__TYPED_VALUE__VALUE_BOOL_VAL;
		tv->bool_val = v->b;
		break;
	default:
		tv->value_case = GNMI__TYPED_VALUE__VALUE_STRING_VAL;
		tv->string_val = strdup(v->s);
		if (!tv->string_val)
			goto fail;
		break;
	}
	return tv;
fail:
	free(tv);
	return NULL;
}

void gnmi_pb_val_print(const Gnmi__TypedValue *tv, char *buf, size_t size)
{
	const ProtobufCBinaryData *b = NULL;

	switch (tv ? tv->value_case : GNMI__TYPED_VALUE__VALUE__NOT_SET) {
	case GNMI__TYPED_VALUE__VALUE_STRING_VAL:
		snprintf(buf, size, "%s", tv->string_val);
		return;
	case GNMI__TYPED_VALUE__VALUE_ASCII_VAL:
		snprintf(buf, size, "%s", tv->ascii_val);
		return;
	case GNMI__TYPED_VALUE__VALUE_UINT_VAL:
		snprintf(buf, size, "%" PRIu64, tv->uint_val);
		return;
	case GNMI__TYPED_VALUE__VALUE_INT_VAL:
		snprintf(buf, size, "%" PRId64, tv->int_val);
		return;
	case GNMI__TYPED_VALUE__VALUE_BOOL_VAL:
		snprintf(buf, size, "%s", tv->bool_val ? "true" : "false");
		return;
	case GNMI__TYPED_VALUE__VALUE_DOUBLE_VAL:
		snprintf(buf, size, "%g", tv->double_val);
		return;
	case GNMI__TYPED_VALUE__VALUE_JSON_VAL:
		b = &tv->json_val;
		break;
	case GNMI__TYPED_VALUE__VALUE_JSON_IETF_VAL:
		b = &tv->json_ietf_val;
		break;
	case GNMI__TYPED_VALUE__VALUE_BYTES_VAL:
		b = &tv->bytes_val;
		break;
	default:
		snprintf(buf, size, "(value of type %d)", tv ? (int)tv->value_case : 0);
		return;
	}
	snprintf(buf, size, "%.*s", (int)b->len, (const char *)b->data);
}
