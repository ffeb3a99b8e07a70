/*
 * gNMI paths and scalar values in their text form, shared by the service and
 * gnmi-ctl: parsing "/a/b[k=v]/c" (keys in brackets, "\]" and "\\" escaped in
 * values), printing it back, building paths element by element, and matching
 * a path against a pattern with "*" wildcards.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ipdk/gnmi.h"

int ipdk_gnmi_path_add(struct ipdk_gnmi_path *path, const char *name)
{
	struct ipdk_gnmi_elem *e;

	if (path->n == IPDK_GNMI_MAX_ELEMS)
		return -ENOSPC;
	if (strlen(name) >= IPDK_GNMI_NAME_MAX)
		return -ENAMETOOLONG;
	e = &path->elem[path->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	return 0;
}

int ipdk_gnmi_path_add_key(struct ipdk_gnmi_path *path, const char *name,
			   const char *value)
{
	struct ipdk_gnmi_elem *e;
	struct ipdk_gnmi_key *k;

	if (!path->n)
		return -EINVAL;
	e = &path->elem[path->n - 1];
	if (e->n_keys == IPDK_GNMI_MAX_KEYS)
		return -ENOSPC;
	if (strlen(name) >= IPDK_GNMI_NAME_MAX || strlen(value) >= IPDK_GNMI_VALUE_MAX)
		return -ENAMETOOLONG;
	k = &e->keys[e->n_keys++];
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->value, sizeof(k->value), "%s", value);
	return 0;
}

const char *ipdk_gnmi_path_key(const struct ipdk_gnmi_path *path, unsigned int i,
			       const char *name)
{
	if (i >= path->n)
		return NULL;
	for (unsigned int k = 0; k < path->elem[i].n_keys; k++)
		if (!strcmp(path->elem[i].keys[k].name, name))
			return path->elem[i].keys[k].value;
	return NULL;
}

/* Copies characters up to one of stops (unescaping "\x" when esc) into buf. */
static int take(const char **p, const char *stops, bool esc, char *buf, size_t size)
{
	size_t n = 0;

	while (**p && !strchr(stops, **p)) {
		char c = *(*p)++;

		if (esc && c == '\\' && **p)
			c = *(*p)++;
		if (n + 1 >= size)
			return -ENAMETOOLONG;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return 0;
}

int ipdk_gnmi_path_parse(const char *text, struct ipdk_gnmi_path *path,
			 struct ipdk_err *err)
{
	const char *p = text;
	char name[IPDK_GNMI_NAME_MAX], value[IPDK_GNMI_VALUE_MAX];
	int rc;

	memset(path, 0, sizeof(*path));
	if (*p == '/')
		p++;
	while (*p) {
		if (take(&p, "/[", false, name, sizeof(name)))
			return ipdk_err_set(err, -ENAMETOOLONG, "path %s: element at %td is "
					    "too long", text, p - text);
		if (!name[0])
			return ipdk_err_set(err, -EINVAL, "path %s: empty element at %td",
					    text, p - text);
		rc = ipdk_gnmi_path_add(path, name);
		if (rc)
			return ipdk_err_set(err, rc, "path %s: more than %d elements", text,
					    IPDK_GNMI_MAX_ELEMS);
		while (*p == '[') {
			p++;
			if (take(&p, "=]", false, name, sizeof(name)) || *p != '=' || !name[0])
				return ipdk_err_set(err, -EINVAL, "path %s: expected [KEY=VALUE] "
						    "at %td", text, p - text);
			p++;
			if (take(&p, "]", true, value, sizeof(value)))
				return ipdk_err_set(err, -ENAMETOOLONG, "path %s: key value at "
						    "%td is too long", text, p - text);
			if (*p != ']')
				return ipdk_err_set(err, -EINVAL, "path %s: missing ']'", text);
			p++;
			if (ipdk_gnmi_path_key(path, path->n - 1, name))
				return ipdk_err_set(err, -EINVAL, "path %s: key %s given twice",
						    text, name);
			rc = ipdk_gnmi_path_add_key(path, name, value);
			if (rc)
				return ipdk_err_set(err, rc, "path %s: at most %d keys per "
						    "element", text, IPDK_GNMI_MAX_KEYS);
		}
		if (*p == '/')
			p++;
		else if (*p)
			return ipdk_err_set(err, -EINVAL, "path %s: unexpected '%c' at %td",
					    text, *p, p - text);
	}
	return 0;
}

void ipdk_gnmi_path_print(const struct ipdk_gnmi_path *path, char *buf, size_t size)
{
	size_t n = 0;

#define PUT(c) do { if (n + 1 < size) buf[n++] = (c); } while (0)
	if (!size)
		return;
	if (!path->n)
		PUT('/');
	for (unsigned int i = 0; i < path->n; i++) {
		const struct ipdk_gnmi_elem *e = &path->elem[i];

		PUT('/');
		for (const char *c = e->name; *c; c++)
			PUT(*c);
		for (unsigned int k = 0; k < e->n_keys; k++) {
			PUT('[');
			for (const char *c = e->keys[k].name; *c; c++)
				PUT(*c);
			PUT('=');
			for (const char *c = e->keys[k].value; *c; c++) {
				if (*c == ']' || *c == '\\')
					PUT('\\');
				PUT(*c);
			}
			PUT(']');
		}
	}
#undef PUT
	buf[n] = '\0';
}

bool ipdk_gnmi_path_match(const struct ipdk_gnmi_path *pattern,
			  const struct ipdk_gnmi_path *path)
{
	if (pattern->n > path->n)
		return false;
	for (unsigned int i = 0; i < pattern->n; i++) {
		const struct ipdk_gnmi_elem *pe = &pattern->elem[i];

		if (strcmp(pe->name, "*") && strcmp(pe->name, path->elem[i].name))
			return false;
		for (unsigned int k = 0; k < pe->n_keys; k++) {
			const char *v = ipdk_gnmi_path_key(path, i, pe->keys[k].name);

			if (!strcmp(pe->keys[k].value, "*"))
				continue;
			if (!v || strcmp(v, pe->keys[k].value))
				return false;
		}
	}
	return true;
}

void ipdk_gnmi_val_str(struct ipdk_gnmi_val *v, const char *s)
{
	memset(v, 0, sizeof(*v));
	v->type = IPDK_GNMI_STRING;
	snprintf(v->s, sizeof(v->s), "%s", s);
}

void ipdk_gnmi_val_uint(struct ipdk_gnmi_val *v, uint64_t u)
{
	memset(v, 0, sizeof(*v));
	v->type = IPDK_GNMI_UINT;
	v->u = u;
}

void ipdk_gnmi_val_print(const struct ipdk_gnmi_val *v, char *buf, size_t size)
{
	switch (v->type) {
	case IPDK_GNMI_UINT:
		snprintf(buf, size, "%" PRIu64, v->u);
		break;
	case IPDK_GNMI_INT:
		snprintf(buf, size, "%" PRId64, v->i);
		break;
	case IPDK_GNMI_BOOL:
		snprintf(buf, size, "%s", v->b ? "true" : "false");
		break;
	default:
		snprintf(buf, size, "%s", v->s);
		break;
	}
}

int ipdk_gnmi_path_error(const struct ipdk_gnmi_path *path, struct ipdk_err *err, int code,
			 const char *why)
{
	char text[1024];

	ipdk_gnmi_path_print(path, text, sizeof(text));
	return ipdk_err_set(err, code, "%s: %s", text, why);
}

int ipdk_gnmi_path_list_name(const struct ipdk_gnmi_path *path, const char **name,
			     struct ipdk_err *err)
{
	*name = NULL;
	if (path->n < 2)
		return 0;
	*name = ipdk_gnmi_path_key(path, 1, "name");
	if (path->elem[1].n_keys > (*name ? 1u : 0u))
		return ipdk_gnmi_path_error(path, err, -EINVAL, "the list's only key is name");
	if (*name && !strcmp(*name, "*"))
		*name = NULL;
	if (*name && !(*name)[0])
		return ipdk_gnmi_path_error(path, err, -EINVAL, "the name is empty");
	return 0;
}
