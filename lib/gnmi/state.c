/*
 * The gNMI state file: what was made through gNMI, so that a restarted daemon
 * makes it again. It holds the hosts made on /virtual-devices, the ports made
 * on /interfaces with their keys and pipeline port ids, and every virtual
 * device entry with its slot, bus, state and note, as JSON:
 *
 *   { "version": 1,
 *     "hosts":   [ { "name": "vm1", "qmp-socket": "/run/vm1.qmp", ... } ],
 *     "ports":   [ { "name": "tap1", "id": 2, "config": { "port-type": "TAP" } } ],
 *     "devices": [ { "name": "net0", "device-type": "virtio-net", "host-name": "vm1",
 *                    "socket-path": "...", "physical-id": 0, "pci-bus": "rp0",
 *                    "state": "plugged", "config": { ... } } ] }
 *
 * Saving writes a temporary file next to it, flushes it to disk and renames it
 * over the old one, so a crash leaves the old file or the new one. Loading
 * checks the whole file first (a file that cannot be read or parsed, or holds
 * a malformed entry, changes nothing and fails naming the file and the
 * reason), then restores hosts, ports (at their ids) and device entries (as
 * plugged: QEMU kept the devices). An entry that cannot be made again stays
 * in the file with a "not-restored" reason, and the models keep it until a
 * Set names it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "ipdk/file.h"
#include "ipdk/log.h"
#include "gnmi_priv.h"

#define STATE_VERSION 1

void gnmi_state_keep(json_t **list, const char *what, const char *name, json_t *e,
		     const char *why)
{
	json_t *copy = json_deep_copy(e);

	IPDK_LOG_ERR("state file: %s %s not restored: %s; kept in the state file", what,
		     name ? name : "?", why);
	if (!copy)
		return;
	if (!*list)
		*list = json_array();
	json_object_set_new(copy, "not-restored", json_string(why));
	json_array_append_new(*list, copy);
}

void gnmi_state_put(json_t *o, const char *name, bool number, const char *val)
{
	if (number)
		json_object_set_new(o, name, json_integer((json_int_t)strtoull(val, NULL, 10)));
	else
		json_object_set_new(o, name, json_string(val));
}

/* Whether a path names list element elem called name (or all of them). */
static bool path_names(const struct ipdk_gnmi_path *path, const char *elem, const char *name)
{
	const char *key;

	if (path->n < 2 || strcmp(path->elem[1].name, elem))
		return false;
	key = ipdk_gnmi_path_key(path, 1, "name");
	return !key || !strcmp(key, "*") || !strcmp(key, name);
}

static bool op_names(const struct ipdk_gnmi_set_op *op, const char *elem, const char *name)
{
	if (op->path.n > 2 || (op->path.n == 2 && op->op != IPDK_GNMI_UPDATE))
		return path_names(&op->path, elem, name);
	if (op->op != IPDK_GNMI_UPDATE)
		return true;
	/* An update of the model or the list makes or changes what its leaves name. */
	for (size_t i = 0; i < op->n_leaves; i++)
		if (path_names(&op->leaves[i].path, elem, name))
			return true;
	return false;
}

void gnmi_state_drop(json_t *list, const char *what, const char *elem,
		     const struct ipdk_gnmi_set_op *ops, size_t n)
{
	size_t i = 0;

	while (i < json_array_size(list)) {
		const char *name = json_string_value(json_object_get(json_array_get(list, i),
								     "name"));
		size_t k;

		for (k = 0; k < n && !op_names(&ops[k], elem, name); k++)
			;
		if (k == n) {
			i++;
			continue;
		}
		IPDK_LOG_INFO("gNMI: %s %s: what the state file kept of it is dropped (the Set "
			      "names it)", what, name);
		json_array_remove(list, i);
	}
}

/* Reads and parses path; -ENOENT when there is no file. */
static int state_read(const char *path, json_t **out, struct ipdk_err *err)
{
	json_error_t jerr;
	struct stat st;
	json_t *root;
	FILE *f;

	if (stat(path, &st)) {
		if (errno == ENOENT)
			return -ENOENT;
		return ipdk_err_set(err, -errno, "state file %s: %s", path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode))
		return ipdk_err_set(err, -EISDIR, "state file %s: is a directory", path);
	f = fopen(path, "r");
	if (!f)
		return ipdk_err_set(err, -errno, "state file %s: cannot read it: %s", path,
				    strerror(errno));
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root)
		return ipdk_err_set(err, -EINVAL, "state file %s:%d:%d: %s", path, jerr.line,
				    jerr.column, jerr.text);
	*out = root;
	return 0;
}

static int state_check(const char *path, json_t *root, struct ipdk_err *err)
{
	const char *key;
	json_t *v;
	int rc;

	if (!json_is_object(root))
		return ipdk_err_set(err, -EINVAL, "state file %s: not a JSON object", path);
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != STATE_VERSION)
		return ipdk_err_set(err, -EINVAL, "state file %s: \"version\" must be %d", path,
				    STATE_VERSION);
	json_object_foreach(root, key, v)
		if (strcmp(key, "version") && strcmp(key, "hosts") && strcmp(key, "ports") &&
		    strcmp(key, "devices"))
			return ipdk_err_set(err, -EINVAL, "state file %s: unknown key \"%s\" "
					    "(known: version, hosts, ports, devices)", path, key);
	rc = gnmi_ports_check(path, json_object_get(root, "ports"), err);
	if (!rc)
		rc = gnmi_vdevs_check(path, root, err);
	return rc;
}

int ipdk_gnmi_state_load(const char *path, struct ipdk_gnmi_ports *pm,
			 struct ipdk_gnmi_vdevs *vm, struct ipdk_err *err)
{
	json_t *root = NULL;
	int rc = state_read(path, &root, err);

	if (rc == -ENOENT) {
		IPDK_LOG_INFO("state file %s: none yet (it is written after the first gNMI Set)",
			      path);
		return 0;
	}
	if (!rc)
		rc = state_check(path, root, err);
	if (rc) {
		json_decref(root);
		return rc;
	}
	if (vm)
		gnmi_vdevs_restore_hosts(vm, json_object_get(root, "hosts"));
	gnmi_ports_restore(pm, json_object_get(root, "ports"));
	if (vm)
		gnmi_vdevs_restore_devices(vm, json_object_get(root, "devices"));
	IPDK_LOG_INFO("state file %s: read (%zu hosts, %zu ports, %zu devices)", path,
		      json_array_size(json_object_get(root, "hosts")),
		      json_array_size(json_object_get(root, "ports")),
		      json_array_size(json_object_get(root, "devices")));
	json_decref(root);
	return 0;
}

/* Makes the directories above path (like mkdir -p of its dirname). */
static int make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int ipdk_gnmi_state_save(const char *path, struct ipdk_gnmi_ports *pm,
			 struct ipdk_gnmi_vdevs *vm, struct ipdk_err *err)
{
	char *text = NULL, *line;
	json_t *root;
	int rc;

	if (strlen(path) + sizeof(".tmp") > PATH_MAX)
		return ipdk_err_set(err, -ENAMETOOLONG, "state file %s: path too long", path);
	root = json_pack("{s:i, s:o}", "version", STATE_VERSION, "ports", gnmi_ports_state(pm));
	if (!root || (vm && gnmi_vdevs_state(vm, root)) ||
	    !(text = json_dumps(root, JSON_INDENT(2)))) {
		json_decref(root);
		return ipdk_err_set(err, -ENOMEM, "state file %s: out of memory", path);
	}
	json_decref(root);
	rc = make_parent(path);
	if (rc) {
		free(text);
		return ipdk_err_set(err, rc, "state file %s: cannot make its directory: %s", path,
				    strerror(-rc));
	}
	/* the file ends with a newline, which json_dumps leaves out */
	if (asprintf(&line, "%s\n", text) < 0) {
		free(text);
		return ipdk_err_set(err, -ENOMEM, "state file %s: out of memory", path);
	}
	free(text);
	rc = ipdk_file_replace(path, line, strlen(line));
	free(line);
	if (rc)
		return ipdk_err_set(err, rc, "state file %s: cannot write it: %s", path,
				    strerror(-rc));
	return 0;
}
