/*
 * P4Runtime's packet replication engine (PacketReplicationEngineEntry) on
 * TDI's mirror sessions: a CloneSessionEntry is the mirror session of the
 * same id, the one the program's mirror_packet() names. The target copies a
 * packet to one port, so a session has exactly one replica, whose port is the
 * session's; class_of_service and the replica's instance are accepted and not
 * kept (reads give 0), packet_length_bytes is the truncation length (0: the
 * whole packet). Multicast groups are refused: the target has none.
 *
 * Writes are staged in the Write's TDI batch like table entries, so an
 * all-or-none Write either sets every session it names or none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_int.h"

/* Replica.egress_port is deprecated in favour of the port byte string, yet it
 * is what most controllers send; both are read, egress_port is written. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* The replica's port: egress_port, or port as a big-endian byte string. */
static int replica_port(const P4__V1__Replica *r, uint32_t session, uint32_t *port,
			struct ipdk_err *err)
{
	uint64_t v = 0;

	switch (r->port_kind_case) {
	case P4__V1__REPLICA__PORT_KIND_EGRESS_PORT:
		*port = r->egress_port;
		return 0;
	case P4__V1__REPLICA__PORT_KIND_PORT:
		if (!r->port.len || r->port.len > 4)
			return ipdk_err_set(err, -EINVAL, "clone session %u: replica port of %zu bytes "
					    "(1 to 4 expected)", session, r->port.len);
		for (size_t i = 0; i < r->port.len; i++)
			v = v << 8 | r->port.data[i];
		*port = (uint32_t)v;
		return 0;
	default:
		return ipdk_err_set(err, -EINVAL, "clone session %u: the replica has no port", session);
	}
}

static int clone_write(struct tdi_dev *tdi, int type, const P4__V1__CloneSessionEntry *cs,
		       struct ipdk_err *err)
{
	struct tdi_mirror_session cur;
	uint32_t port = 0;
	bool exists;
	int rc;

	if (type == P4__V1__UPDATE__TYPE__DELETE)
		return tdi_mirror_session_delete(tdi, cs->session_id, err);
	if (cs->n_replicas != 1)
		return ipdk_err_set(err, cs->n_replicas ? -ENOTSUP : -EINVAL,
				    "clone session %u: %zu replicas; the target copies a packet to "
				    "exactly one port", cs->session_id, cs->n_replicas);
	if (cs->packet_length_bytes < 0)
		return ipdk_err_set(err, -EINVAL, "clone session %u: packet_length_bytes %d is negative",
				    cs->session_id, (int)cs->packet_length_bytes);
	rc = replica_port(cs->replicas[0], cs->session_id, &port, err);
	if (rc)
		return rc;
	rc = tdi_mirror_session_get(tdi, cs->session_id, &cur, err);
	if (rc && rc != -ENOENT)
		return rc;
	exists = !rc;
	ipdk_err_clear(err);
	if (type == P4__V1__UPDATE__TYPE__INSERT && exists)
		return ipdk_err_set(err, -EEXIST, "clone session %u exists", cs->session_id);
	if (type == P4__V1__UPDATE__TYPE__MODIFY && !exists)
		return ipdk_err_set(err, -ENOENT, "clone session %u does not exist", cs->session_id);
	return tdi_mirror_session_set(tdi, cs->session_id, port, false,
				      (uint32_t)cs->packet_length_bytes, err);
}

int p4_pre_write(struct tdi_dev *tdi, int type, const P4__V1__PacketReplicationEngineEntry *pre,
		 struct ipdk_err *err)
{
	if (!pre)
		return ipdk_err_set(err, -EINVAL, "empty packet replication engine entry");
	switch (pre->type_case) {
	case P4__V1__PACKET_REPLICATION_ENGINE_ENTRY__TYPE_CLONE_SESSION_ENTRY:
		return clone_write(tdi, type, pre->clone_session_entry, err);
	case P4__V1__PACKET_REPLICATION_ENGINE_ENTRY__TYPE_MULTICAST_GROUP_ENTRY:
		return ipdk_err_set(err, -ENOTSUP, "multicast groups are not supported by this target");
	default:
		return ipdk_err_set(err, -EINVAL, "packet replication engine entry without a clone "
				    "session or multicast group");
	}
}

static int clone_emit(uint32_t id, const struct tdi_mirror_session *ms,
		      int (*emit)(P4__V1__Entity *e, void *arg), void *arg)
{
	P4__V1__Entity en = P4__V1__ENTITY__INIT;
	P4__V1__PacketReplicationEngineEntry pre = P4__V1__PACKET_REPLICATION_ENGINE_ENTRY__INIT;
	P4__V1__CloneSessionEntry cs = P4__V1__CLONE_SESSION_ENTRY__INIT;
	P4__V1__Replica r = P4__V1__REPLICA__INIT, *rp = &r;

	r.port_kind_case = P4__V1__REPLICA__PORT_KIND_EGRESS_PORT;
	r.egress_port = ms->port_id;
	cs.session_id = id;
	cs.n_replicas = 1;
	cs.replicas = &rp;
	cs.packet_length_bytes = (int32_t)ms->truncation_length;
	pre.type_case = P4__V1__PACKET_REPLICATION_ENGINE_ENTRY__TYPE_CLONE_SESSION_ENTRY;
	pre.clone_session_entry = &cs;
	en.entity_case = P4__V1__ENTITY__ENTITY_PACKET_REPLICATION_ENGINE_ENTRY;
	en.packet_replication_engine_entry = &pre;
	return emit(&en, arg);
}

int p4_pre_read(struct tdi_dev *tdi, const P4__V1__PacketReplicationEngineEntry *want,
		int (*emit)(P4__V1__Entity *e, void *arg), void *arg, struct ipdk_err *err)
{
	const struct tdi_schema *s = tdi_dev_schema(tdi);
	struct tdi_mirror_session ms;
	uint32_t id = 0;
	int rc = 0;

	/* multicast groups: there are none */
	if (want && want->type_case == P4__V1__PACKET_REPLICATION_ENGINE_ENTRY__TYPE_MULTICAST_GROUP_ENTRY)
		return 0;
	if (want && want->type_case == P4__V1__PACKET_REPLICATION_ENGINE_ENTRY__TYPE_CLONE_SESSION_ENTRY &&
	    want->clone_session_entry)
		id = want->clone_session_entry->session_id;
	if (id && id >= s->n_mirror_sessions)
		return ipdk_err_set(err, -EINVAL, "clone session %u out of range (the pipeline has %u)",
				    id, s->n_mirror_sessions);
	/* session_id 0 reads every session that is set */
	for (uint32_t i = id; i < s->n_mirror_sessions && !rc; i++) {
		if (!tdi_mirror_session_get(tdi, i, &ms, err))
			rc = clone_emit(i, &ms, emit, arg);
		if (id)
			break;
	}
	ipdk_err_clear(err);
	return rc;
}
