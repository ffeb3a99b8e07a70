/*
 * The gNMI service: Capabilities, Get and Set on a lib/rpc server of its own
 * (Subscribe lives in subscribe.c). Requests are turned into lib/gnmi paths
 * and scalar leaves here, so models never see protobuf or JSON: a JSON value
 * in a Set is expanded into the leaves under its path (lists by their "name"
 * member), and a Get asked for JSON gets the matching leaves folded back into
 * one JSON document per requested path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ipdk/log.h"
#include "gnmi_priv.h"

int64_t gnmi_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t gnmi_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- leaf sets ------------------------------------------------------------ */

void gnmi_leafset_clear(struct gnmi_leafset *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i].path);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

static int leaf_cmp(const void *a, const void *b)
{
	return strcmp(((const struct gnmi_leaf *)a)->path, ((const struct gnmi_leaf *)b)->path);
}

struct collect_arg {
	const struct ipdk_gnmi_path *patterns;
	size_t n;
	enum gnmi_data_type type;
	struct gnmi_leafset *set;
	int rc;
};

static bool type_matches(const struct ipdk_gnmi_path *path, enum gnmi_data_type type)
{
	const char *want = type == GNMI_CONFIG ? "config" : "state";

	if (type == GNMI_ALL)
		return true;
	for (unsigned int i = 0; i < path->n; i++)
		if (!strcmp(path->elem[i].name, want))
			return true;
	return false;
}

static int collect_one(void *arg, const struct ipdk_gnmi_path *path,
		       const struct ipdk_gnmi_val *val)
{
	struct collect_arg *c = arg;
	struct gnmi_leafset *set = c->set;
	char text[2048];
	size_t i;

	for (i = 0; i < c->n; i++)
		if (ipdk_gnmi_path_match(&c->patterns[i], path))
			break;
	if (i == c->n || !type_matches(path, c->type))
		return 0;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		struct gnmi_leaf *v = realloc(set->v, cap * sizeof(*v));

		if (!v)
			return c->rc = -ENOMEM;
		set->v = v;
		set->cap = cap;
	}
	ipdk_gnmi_path_print(path, text, sizeof(text));
	set->v[set->n].path = strdup(text);
	if (!set->v[set->n].path)
		return c->rc = -ENOMEM;
	set->v[set->n++].val = *val;
	return 0;
}

int gnmi_collect(struct ipdk_gnmi_server *srv, const struct ipdk_gnmi_path *patterns,
		 size_t n, enum gnmi_data_type type, struct gnmi_leafset *set,
		 struct ipdk_err *err)
{
	struct collect_arg c = { .patterns = patterns, .n = n, .type = type, .set = set };
	size_t w = 0;
	int rc;

	for (unsigned int m = 0; m < srv->n_models; m++) {
		const struct ipdk_gnmi_model *model = &srv->models[m];
		bool wanted = false;

		for (size_t i = 0; i < n && !wanted; i++)
			wanted = !patterns[i].n || !strcmp(patterns[i].elem[0].name, "*") ||
				 !strcmp(patterns[i].elem[0].name, model->root);
		if (!wanted)
			continue;
		rc = model->get(model->ctx, collect_one, &c, err);
		if (!rc && c.rc)
			rc = ipdk_err_set(err, c.rc, "out of memory listing /%s", model->root);
		if (rc) {
			gnmi_leafset_clear(set);
			return rc;
		}
	}
	if (set->n)
		qsort(set->v, set->n, sizeof(set->v[0]), leaf_cmp);
	/* Overlapping patterns list a leaf once. */
	for (size_t i = 0; i < set->n; i++) {
		if (w && !strcmp(set->v[w - 1].path, set->v[i].path)) {
			free(set->v[i].path);
			continue;
		}
		set->v[w++] = set->v[i];
	}
	set->n = w;
	return 0;
}

static bool val_equal(const struct ipdk_gnmi_val *a, const struct ipdk_gnmi_val *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case IPDK_GNMI_UINT: return a->u == b->u;
	case IPDK_GNMI_INT: return a->i == b->i;
	case IPDK_GNMI_BOOL: return a->b == b->b;
	default: return !strcmp(a->s, b->s);
	}
}

static int add_update(Gnmi__Notification *n, const struct gnmi_leaf *leaf, Gnmi__Encoding enc)
{
	struct ipdk_gnmi_path path;
	Gnmi__Update *u;

	if (ipdk_gnmi_path_parse(leaf->path, &path, NULL))
		return 0;   /* printed by us: cannot happen */
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	gnmi__update__init(u);
	n->update[n->n_update++] = u;
	u->path = gnmi_pb_path_new(&path);
	u->val = gnmi_pb_val_new(&leaf->val, enc);
	return u->path && u->val ? 0 : -ENOMEM;
}

static int add_delete(Gnmi__Notification *n, const char *text)
{
	struct ipdk_gnmi_path path;

	if (ipdk_gnmi_path_parse(text, &path, NULL))
		return 0;
	n->delete_[n->n_delete_] = gnmi_pb_path_new(&path);
	return n->delete_[n->n_delete_++] ? 0 : -ENOMEM;
}

Gnmi__Notification *gnmi_notification(const struct gnmi_leafset *leaves,
				      const struct gnmi_leafset *old, Gnmi__Encoding enc,
				      bool *empty)
{
	Gnmi__Notification *n = calloc(1, sizeof(*n));
	size_t i = 0, j = 0;

	if (!n)
		return NULL;
	gnmi__notification__init(n);
	n->timestamp = gnmi_now_ns();
	n->update = calloc(leaves->n + 1, sizeof(*n->update));
	n->delete_ = calloc((old ? old->n : 0) + 1, sizeof(*n->delete_));
	if (!n->update || !n->delete_)
		goto fail;
	/* Both sets are sorted: walk them side by side. */
	while (i < leaves->n || (old && j < old->n)) {
		int c = !old || j == old->n ? -1 : i == leaves->n ? 1 :
			strcmp(leaves->v[i].path, old->v[j].path);

		if (c < 0) {
			if (add_update(n, &leaves->v[i++], enc))
				goto fail;
		} else if (c > 0) {
			if (add_delete(n, old->v[j++].path))
				goto fail;
		} else {
			if (!val_equal(&leaves->v[i].val, &old->v[j].val) &&
			    add_update(n, &leaves->v[i], enc))
				goto fail;
			i++;
			j++;
		}
	}
	*empty = !n->n_update && !n->n_delete_;
	return n;
fail:
	protobuf_c_message_free_unpacked(&n->base, NULL);
	return NULL;
}

/* ---- Capabilities ------------------------------------------------------- */

static void on_capabilities(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	struct ipdk_gnmi_server *srv = ipdk_rpc_call_ctx(call);
	Gnmi__CapabilityResponse rep = GNMI__CAPABILITY_RESPONSE__INIT;
	Gnmi__ModelData md[GNMI_MAX_MODELS], *mdp[GNMI_MAX_MODELS];
	Gnmi__Encoding encs[] = { GNMI__ENCODING__JSON, GNMI__ENCODING__JSON_IETF,
				  GNMI__ENCODING__PROTO, GNMI__ENCODING__ASCII };

	(void)msg;
	for (unsigned int i = 0; i < srv->n_models; i++) {
		gnmi__model_data__init(&md[i]);
		md[i].name = (char *)srv->models[i].name;
		md[i].organization = (char *)srv->models[i].organization;
		md[i].version = (char *)srv->models[i].version;
		mdp[i] = &md[i];
	}
	rep.n_supported_models = srv->n_models;
	rep.supported_models = mdp;
	rep.n_supported_encodings = sizeof(encs) / sizeof(encs[0]);
	rep.supported_encodings = encs;
	rep.gnmi_version = GNMI_VERSION;
	ipdk_rpc_reply(call, &rep.base);
}

/* ---- Get ------------------------------------------------------------------- */

static json_t *json_leaf(const struct ipdk_gnmi_val *v)
{
	switch (v->type) {
	case IPDK_GNMI_UINT: return json_integer((json_int_t)v->u);
	case IPDK_GNMI_INT: return json_integer(v->i);
	case IPDK_GNMI_BOOL: return json_boolean(v->b);
	default: return json_string(v->s);
	}
}

/* The list entry of arr whose key members equal e's keys, made if missing. */
static json_t *json_entry(json_t *arr, const struct ipdk_gnmi_elem *e)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o) {
		unsigned int k;

		for (k = 0; k < e->n_keys; k++) {
			const char *v = json_string_value(json_object_get(o, e->keys[k].name));

			if (!v || strcmp(v, e->keys[k].value))
				break;
		}
		if (k == e->n_keys)
			return o;
	}
	o = json_object();
	for (unsigned int k = 0; k < e->n_keys; k++)
		json_object_set_new(o, e->keys[k].name, json_string(e->keys[k].value));
	json_array_append_new(arr, o);
	return o;
}

/* Puts leaf (below the first `from` elements of its path) into root. */
static void json_put(json_t *root, const struct ipdk_gnmi_path *p, unsigned int from,
		     const struct ipdk_gnmi_val *v)
{
	json_t *cur = root;

	for (unsigned int i = from; i < p->n; i++) {
		const struct ipdk_gnmi_elem *e = &p->elem[i];
		json_t *next;

		if (i + 1 == p->n) {
			json_object_set_new(cur, e->name, json_leaf(v));
			return;
		}
		next = json_object_get(cur, e->name);
		if (e->n_keys) {
			if (!json_is_array(next)) {
				next = json_array();
				json_object_set_new(cur, e->name, next);
			}
			cur = json_entry(next, e);
			continue;
		}
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(cur, e->name, next);
		}
		cur = next;
	}
}

/* One Update per instance of the requested path: its leaves as one JSON value. */
static int get_json(Gnmi__Notification *n, const struct ipdk_gnmi_path *req,
		    const struct gnmi_leafset *set, Gnmi__Encoding enc)
{
	size_t i = 0;

	while (i < set->n) {
		struct ipdk_gnmi_path inst, p;
		json_t *doc = NULL;
		Gnmi__Update *u;
		char *text;

		ipdk_gnmi_path_parse(set->v[i].path, &inst, NULL);
		inst.n = req->n;
		for (; i < set->n; i++) {
			ipdk_gnmi_path_parse(set->v[i].path, &p, NULL);
			if (!ipdk_gnmi_path_match(&inst, &p))
				break;
			if (p.n == inst.n) {
				json_decref(doc);
				doc = json_leaf(&set->v[i].val);
				continue;
			}
			if (!doc) {
				const struct ipdk_gnmi_elem *last =
					inst.n ? &inst.elem[inst.n - 1] : NULL;

				doc = json_object();
				for (unsigned int k = 0; last && k < last->n_keys; k++)
					json_object_set_new(doc, last->keys[k].name,
							    json_string(last->keys[k].value));
			}
			if (json_is_object(doc))
				json_put(doc, &p, inst.n, &set->v[i].val);
		}
		text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
		json_decref(doc);
		u = calloc(1, sizeof(*u));
		if (!text || !u) {
			free(text);
			free(u);
			return -ENOMEM;
		}
		gnmi__update__init(u);
		n->update[n->n_update++] = u;
		u->path = gnmi_pb_path_new(&inst);
		u->val = calloc(1, sizeof(*u->val));
		if (!u->path || !u->val) {
			free(text);
			return -ENOMEM;
		}
		gnmi__typed_value__init(u->val);
		u->val->value_case = enc == GNMI__ENCODING__JSON_IETF ?
				     GNMI__TYPED_VALUE__VALUE_JSON_IETF_VAL :
				     GNMI__TYPED_VALUE__VALUE_JSON_VAL;
		u->val->json_val.data = (uint8_t *)text;
		u->val->json_val.len = strlen(text);
	}
	return 0;
}

static int check_encoding(Gnmi__Encoding enc, struct ipdk_err *err)
{
	if (enc == GNMI__ENCODING__JSON || enc == GNMI__ENCODING__JSON_IETF ||
	    enc == GNMI__ENCODING__PROTO || enc == GNMI__ENCODING__ASCII)
		return 0;
	return ipdk_err_set(err, -ENOTSUP, "encoding %d is not supported (JSON, JSON_IETF, "
			    "PROTO or ASCII)", (int)enc);
}

static int do_get(struct ipdk_gnmi_server *srv, const Gnmi__GetRequest *req,
		  Gnmi__GetResponse *rep, struct ipdk_err *err)
{
	bool json = req->encoding == GNMI__ENCODING__JSON ||
		    req->encoding == GNMI__ENCODING__JSON_IETF;
	struct ipdk_gnmi_path *path;
	struct gnmi_leafset set = { 0 };
	size_t n_paths = req->n_path ? req->n_path : 1;
	char text[1024];
	int rc;

	rc = check_encoding(req->encoding, err);
	if (rc)
		return rc;
	if ((int)req->type > (int)GNMI_OPERATIONAL)
		return ipdk_err_set(err, -EINVAL, "data type %d is unknown", (int)req->type);
	rep->notification = calloc(n_paths, sizeof(*rep->notification));
	path = malloc(sizeof(*path));
	if (!rep->notification || !path) {
		free(path);
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n_paths; i++) {
		Gnmi__Notification *n;
		bool empty;

		rc = gnmi_pb_path_get(req->prefix, req->n_path ? req->path[i] : NULL, path, err);
		if (rc)
			break;
		rc = gnmi_collect(srv, path, 1, (enum gnmi_data_type)req->type, &set, err);
		if (rc)
			break;
		if (!set.n) {
			ipdk_gnmi_path_print(path, text, sizeof(text));
			rc = ipdk_err_set(err, -ENOENT, "%s: no such data", text);
			break;
		}
		if (json) {
			n = calloc(1, sizeof(*n));
			if (n) {
				gnmi__notification__init(n);
				n->timestamp = gnmi_now_ns();
				n->update = calloc(set.n, sizeof(*n->update));
				if (!n->update || get_json(n, path, &set, req->encoding)) {
					protobuf_c_message_free_unpacked(&n->base, NULL);
					n = NULL;
				}
			}
		} else {
			n = gnmi_notification(&set, NULL, req->encoding, &empty);
		}
		gnmi_leafset_clear(&set);
		if (!n) {
			rc = ipdk_err_set(err, -ENOMEM, "out of memory");
			break;
		}
		rep->notification[rep->n_notification++] = n;
	}
	free(path);
	return rc;
}

static void on_get(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	Gnmi__GetResponse rep = GNMI__GET_RESPONSE__INIT;
	struct ipdk_err err;

	ipdk_err_clear(&err);
	if (do_get(ipdk_rpc_call_ctx(call), (const Gnmi__GetRequest *)msg, &rep, &err))
		ipdk_rpc_finish_err(call, &err);
	else
		ipdk_rpc_reply(call, &rep.base);
	for (size_t i = 0; i < rep.n_notification; i++)
		protobuf_c_message_free_unpacked(&rep.notification[i]->base, NULL);
	free(rep.notification);
}

/* ---- Set ------------------------------------------------------------------- */

static int leaf_add(struct ipdk_gnmi_set_op *op, const struct ipdk_gnmi_path *path,
		    const struct ipdk_gnmi_val *val, struct ipdk_err *err)
{
	struct ipdk_gnmi_leaf *l = realloc(op->leaves, (op->n_leaves + 1) * sizeof(*l));

	if (!l)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	op->leaves = l;
	l[op->n_leaves].path = *path;
	l[op->n_leaves++].val = *val;
	return 0;
}

/* Member names may carry a module prefix ("openconfig-interfaces:interfaces"). */
static const char *json_name(const char *key)
{
	const char *c = strchr(key, ':');

	return c ? c + 1 : key;
}

static int json_expand(struct ipdk_gnmi_set_op *op, struct ipdk_gnmi_path *path, json_t *j,
		       struct ipdk_err *err);

static int json_child(struct ipdk_gnmi_set_op *op, struct ipdk_gnmi_path *path,
		      const char *key, json_t *v, struct ipdk_err *err)
{
	char text[1024];
	unsigned int n = path->n;
	size_t i;
	json_t *item;
	int rc = 0;

	if (ipdk_gnmi_path_add(path, json_name(key))) {
		ipdk_gnmi_path_print(path, text, sizeof(text));
		return ipdk_err_set(err, -EINVAL, "%s/%s: path too deep or name too long",
				    text, key);
	}
	if (!json_is_array(v)) {
		rc = json_expand(op, path, v, err);
		path->n = n;
		return rc;
	}
	/* A keyed list: every entry names itself with its "name" member. */
	json_array_foreach(v, i, item) {
		const char *name = json_string_value(json_object_get(item, "name"));

		if (!name) {
			ipdk_gnmi_path_print(path, text, sizeof(text));
			rc = ipdk_err_set(err, -EINVAL, "%s: list entry %zu has no \"name\" "
					  "string", text, i);
			break;
		}
		path->elem[path->n - 1].n_keys = 0;
		rc = ipdk_gnmi_path_add_key(path, "name", name);
		if (!rc)
			rc = json_expand(op, path, item, err);
		if (rc)
			break;
	}
	path->n = n;
	return rc;
}

static int json_expand(struct ipdk_gnmi_set_op *op, struct ipdk_gnmi_path *path, json_t *j,
		       struct ipdk_err *err)
{
	struct ipdk_gnmi_val v;
	char text[1024];
	const char *key;
	json_t *m;
	int rc;

	memset(&v, 0, sizeof(v));
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		json_object_foreach(j, key, m) {
			rc = json_child(op, path, key, m, err);
			if (rc)
				return rc;
		}
		return 0;
	case JSON_STRING:
		if (json_string_length(j) >= IPDK_GNMI_VALUE_MAX)
			break;
		ipdk_gnmi_val_str(&v, json_string_value(j));
		return leaf_add(op, path, &v, err);
	case JSON_INTEGER:
		if (json_integer_value(j) >= 0) {
			ipdk_gnmi_val_uint(&v, (uint64_t)json_integer_value(j));
		} else {
			v.type = IPDK_GNMI_INT;
			v.i = json_integer_value(j);
		}
		return leaf_add(op, path, &v, err);
	case JSON_TRUE:
	case JSON_FALSE:
		v.type = IPDK_GNMI_BOOL;
		v.b = json_is_true(j);
		return leaf_add(op, path, &v, err);
	default:
		break;
	}
	ipdk_gnmi_path_print(path, text, sizeof(text));
	return ipdk_err_set(err, -EINVAL, "%s: JSON value of this type is not accepted "
			    "(objects, lists of objects, strings up to %d characters, integers, "
			    "booleans)", text, IPDK_GNMI_VALUE_MAX - 1);
}

static int op_value(struct ipdk_gnmi_set_op *op, const Gnmi__TypedValue *tv,
		    struct ipdk_err *err)
{
	const ProtobufCBinaryData *b;
	struct ipdk_gnmi_path path = op->path;
	struct ipdk_gnmi_val v;
	json_error_t jerr;
	char text[1024];
	json_t *j;
	int rc;

	ipdk_gnmi_path_print(&op->path, text, sizeof(text));
	if (tv && (tv->value_case == GNMI__TYPED_VALUE__VALUE_JSON_VAL ||
		   tv->value_case == GNMI__TYPED_VALUE__VALUE_JSON_IETF_VAL)) {
		b = &tv->json_val;
		j = json_loadb((const char *)b->data, b->len, JSON_DECODE_ANY, &jerr);
		if (!j)
			return ipdk_err_set(err, -EINVAL, "%s: the JSON value is not valid: %s "
					    "(column %d)", text, jerr.text, jerr.column);
		rc = json_expand(op, &path, j, err);
		json_decref(j);
		return rc;
	}
	rc = gnmi_pb_val_get(tv, &v, err);
	if (rc)
		return ipdk_err_prefix(err, "%s", text);
	return leaf_add(op, &op->path, &v, err);
}

static void ops_free(struct ipdk_gnmi_set_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ops[i].leaves);
	free(ops);
}

/* Turns the request into operations: deletes, then replaces, then updates. */
static int set_ops(const Gnmi__SetRequest *req, struct ipdk_gnmi_set_op **out, size_t *n_out,
		   struct ipdk_err *err)
{
	size_t n = req->n_delete_ + req->n_replace + req->n_update, k = 0;
	struct ipdk_gnmi_set_op *ops;
	int rc = 0;

	if (!n)
		return ipdk_err_set(err, -EINVAL, "the Set request holds no operation");
	ops = calloc(n, sizeof(*ops));
	if (!ops)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < req->n_delete_ && !rc; i++, k++) {
		ops[k].op = IPDK_GNMI_DELETE;
		rc = gnmi_pb_path_get(req->prefix, req->delete_[i], &ops[k].path, err);
	}
	for (size_t i = 0; i < req->n_replace + req->n_update && !rc; i++, k++) {
		bool repl = i < req->n_replace;
		const Gnmi__Update *u = repl ? req->replace[i] : req->update[i - req->n_replace];

		ops[k].op = repl ? IPDK_GNMI_REPLACE : IPDK_GNMI_UPDATE;
		rc = gnmi_pb_path_get(req->prefix, u->path, &ops[k].path, err);
		if (!rc && !u->val)
			rc = ipdk_err_set(err, -EINVAL, "%s %zu has no value (val)",
					  repl ? "replace" : "update", i);
		if (!rc)
			rc = op_value(&ops[k], u->val, err);
	}
	if (rc) {
		ops_free(ops, n);
		return rc;
	}
	*out = ops;
	*n_out = n;
	return 0;
}

static int model_index(struct ipdk_gnmi_server *srv, const struct ipdk_gnmi_path *p,
		       struct ipdk_err *err)
{
	char text[1024];

	if (!p->n)
		return ipdk_err_set(err, -EINVAL, "Set on the root path \"/\" is not supported; "
				    "name a model (e.g. /interfaces)");
	for (unsigned int m = 0; m < srv->n_models; m++)
		if (!strcmp(p->elem[0].name, srv->models[m].root))
			return (int)m;
	ipdk_gnmi_path_print(p, text, sizeof(text));
	return ipdk_err_set(err, -ENOENT, "%s: no model serves /%s", text, p->elem[0].name);
}

/* Each model gets its own operations in one call (all or none for it). */
static int do_set(struct ipdk_gnmi_server *srv, const struct ipdk_gnmi_set_op *ops, size_t n,
		  struct ipdk_err *err)
{
	struct ipdk_gnmi_set_op *mine;
	int rc = 0, m;

	for (size_t i = 0; i < n; i++) {
		m = model_index(srv, &ops[i].path, err);
		if (m < 0)
			return m;
	}
	mine = malloc(n * sizeof(*mine));
	if (!mine)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (unsigned int mi = 0; mi < srv->n_models && !rc; mi++) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (model_index(srv, &ops[i].path, err) == (int)mi)
				mine[k++] = ops[i];
		if (k)
			rc = srv->models[mi].set(srv->models[mi].ctx, mine, k, err);
	}
	free(mine);
	return rc;
}

static void on_set(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	struct ipdk_gnmi_server *srv = ipdk_rpc_call_ctx(call);
	const Gnmi__SetRequest *req = (const Gnmi__SetRequest *)msg;
	Gnmi__SetResponse rep = GNMI__SET_RESPONSE__INIT;
	struct ipdk_gnmi_set_op *ops = NULL;
	Gnmi__UpdateResult *res = NULL, **resp = NULL;
	struct ipdk_err err;
	size_t n = 0;
	int rc;

	ipdk_err_clear(&err);
	rc = set_ops(req, &ops, &n, &err);
	if (!rc) {
		pthread_mutex_lock(&srv->set_lock);
		rc = do_set(srv, ops, n, &err);
		if (srv->on_set)
			srv->on_set(srv->on_set_arg);
		pthread_mutex_unlock(&srv->set_lock);
	}
	if (rc) {
		IPDK_LOG_INFO("gNMI Set from %s refused: %s", ipdk_rpc_call_peer(call), err.msg);
		ipdk_rpc_finish_err(call, &err);
		goto out;
	}
	ipdk_gnmi_server_changed(srv);
	res = calloc(n, sizeof(*res));
	resp = calloc(n, sizeof(*resp));
	if (!res || !resp) {
		ipdk_rpc_finish(call, IPDK_RPC_INTERNAL, "out of memory (the change was made)");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		gnmi__update_result__init(&res[i]);
		res[i].path = gnmi_pb_path_new(&ops[i].path);
		res[i].op = ops[i].op == IPDK_GNMI_DELETE ? GNMI__UPDATE_RESULT__OPERATION__DELETE :
			    ops[i].op == IPDK_GNMI_REPLACE ? GNMI__UPDATE_RESULT__OPERATION__REPLACE :
			    GNMI__UPDATE_RESULT__OPERATION__UPDATE;
		resp[i] = &res[i];
	}
	rep.n_response = n;
	rep.response = resp;
	rep.timestamp = gnmi_now_ns();
	ipdk_rpc_reply(call, &rep.base);
	for (size_t i = 0; i < n; i++)
		if (res[i].path)
			protobuf_c_message_free_unpacked(&res[i].path->base, NULL);
out:
	free(res);
	free(resp);
	if (ops)
		ops_free(ops, n);
}

/* ---- the server ------------------------------------------------------------ */

int ipdk_gnmi_server_create(const struct ipdk_rpc_config *cfg,
			    struct ipdk_gnmi_server **out, struct ipdk_err *err)
{
	struct ipdk_rpc_method methods[] = {
		{ .name = "/gnmi.gNMI/Capabilities", .kind = IPDK_RPC_UNARY,
		  .request = &gnmi__capability_request__descriptor,
		  .response = &gnmi__capability_response__descriptor,
		  .on_request = on_capabilities },
		{ .name = "/gnmi.gNMI/Get", .kind = IPDK_RPC_UNARY,
		  .request = &gnmi__get_request__descriptor,
		  .response = &gnmi__get_response__descriptor, .on_request = on_get },
		{ .name = "/gnmi.gNMI/Set", .kind = IPDK_RPC_UNARY,
		  .request = &gnmi__set_request__descriptor,
		  .response = &gnmi__set_response__descriptor, .on_request = on_set },
		{ .name = "/gnmi.gNMI/Subscribe", .kind = IPDK_RPC_BIDI_STREAM,
		  .request = &gnmi__subscribe_request__descriptor,
		  .response = &gnmi__subscribe_response__descriptor,
		  .on_message = gnmi_subscribe_message,
		  .on_half_close = gnmi_subscribe_half_close,
		  .on_done = gnmi_subscribe_done },
	};
	struct ipdk_rpc_config c = *cfg;
	struct ipdk_gnmi_server *srv;
	int rc;

	ipdk_err_clear(err);
	if (!c.address)
		c.address = IPDK_GNMI_DEFAULT_ADDRESS;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return ipdk_err_set(err, -ENOMEM, "gNMI: out of memory");
	pthread_mutex_init(&srv->set_lock, NULL);
	pthread_mutex_init(&srv->sub_lock, NULL);
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->sub_cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = ipdk_rpc_server_create(&c, &srv->rpc, err);
	if (!rc) {
		for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
			methods[i].ctx = srv;
		rc = ipdk_rpc_server_add_methods(srv->rpc, methods,
						 sizeof(methods) / sizeof(methods[0]), err);
	}
	if (rc) {
		ipdk_err_prefix(err, "gNMI");
		ipdk_gnmi_server_destroy(srv);
		return rc;
	}
	*out = srv;
	return 0;
}

int ipdk_gnmi_server_add_model(struct ipdk_gnmi_server *srv,
			       const struct ipdk_gnmi_model *model, struct ipdk_err *err)
{
	if (!model->root || !model->get || !model->set)
		return ipdk_err_set(err, -EINVAL, "gNMI: a model needs root, get and set");
	if (srv->n_models == GNMI_MAX_MODELS)
		return ipdk_err_set(err, -ENOSPC, "gNMI: at most %d models", GNMI_MAX_MODELS);
	for (unsigned int i = 0; i < srv->n_models; i++)
		if (!strcmp(srv->models[i].root, model->root))
			return ipdk_err_set(err, -EEXIST, "gNMI: /%s already has a model",
					    model->root);
	srv->models[srv->n_models++] = *model;
	return 0;
}

int ipdk_gnmi_server_start(struct ipdk_gnmi_server *srv, struct ipdk_err *err)
{
	int rc = gnmi_subs_start(srv, err);

	if (!rc)
		rc = ipdk_rpc_server_start(srv->rpc, err);
	if (rc)
		return ipdk_err_prefix(err, "gNMI");
	return 0;
}

int ipdk_gnmi_server_port(const struct ipdk_gnmi_server *srv)
{
	return ipdk_rpc_server_port(srv->rpc);
}

void ipdk_gnmi_server_on_set(struct ipdk_gnmi_server *srv, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&srv->set_lock);
	srv->on_set = fn;
	srv->on_set_arg = arg;
	pthread_mutex_unlock(&srv->set_lock);
}

void ipdk_gnmi_server_changed(struct ipdk_gnmi_server *srv)
{
	pthread_mutex_lock(&srv->sub_lock);
	srv->changed = true;
	pthread_cond_broadcast(&srv->sub_cond);
	pthread_mutex_unlock(&srv->sub_lock);
}

void ipdk_gnmi_server_destroy(struct ipdk_gnmi_server *srv)
{
	if (!srv)
		return;
	/* Calls end first (on_done unlinks their subscriptions), then the thread. */
	ipdk_rpc_server_destroy(srv->rpc);
	gnmi_subs_stop(srv);
	pthread_cond_destroy(&srv->sub_cond);
	pthread_mutex_destroy(&srv->sub_lock);
	pthread_mutex_destroy(&srv->set_lock);
	free(srv);
}
