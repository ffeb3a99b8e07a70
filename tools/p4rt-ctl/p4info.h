/*
 * Name and id lookups in a P4Info for p4rt-ctl. A user may name an object by
 * its full P4 name ("ingress.ipv4_host"), its alias, a unique dotted suffix
 * ("ipv4_host") or its numeric id; a match field or parameter by its name or
 * a unique dotted suffix ("dst_addr" for "hdr.ipv4.dst_addr"). Errors name what
 * was looked for and list what exists.
 */
#ifndef P4RT_CTL_P4INFO_H
#define P4RT_CTL_P4INFO_H

#include <stdint.h>

#include "ipdk/err.h"
#include "p4/config/v1/p4info.pb-c.h"

typedef P4__Config__V1__P4Info P4Info;
typedef P4__Config__V1__Table P4Table;
typedef P4__Config__V1__Action P4Action;
typedef P4__Config__V1__MatchField P4MatchField;
typedef P4__Config__V1__Action__Param P4Param;

const P4Table *p4i_table(const P4Info *info, const char *name, struct ipdk_err *err);
const P4Action *p4i_action(const P4Info *info, const char *name, struct ipdk_err *err);
const P4__Config__V1__ActionProfile *p4i_profile(const P4Info *info, const char *name,
						 struct ipdk_err *err);
const P4__Config__V1__Counter *p4i_counter(const P4Info *info, const char *name,
					   struct ipdk_err *err);
const P4__Config__V1__Meter *p4i_meter(const P4Info *info, const char *name, struct ipdk_err *err);
const P4__Config__V1__ControllerPacketMetadata *p4i_ctrl_header(const P4Info *info,
								 const char *name);

/* By id; NULL when absent. */
const P4Table *p4i_table_by_id(const P4Info *info, uint32_t id);
const P4Action *p4i_action_by_id(const P4Info *info, uint32_t id);
const P4__Config__V1__ActionProfile *p4i_profile_by_id(const P4Info *info, uint32_t id);
const P4__Config__V1__Counter *p4i_counter_by_id(const P4Info *info, uint32_t id);
const P4__Config__V1__Meter *p4i_meter_by_id(const P4Info *info, uint32_t id);

/* Match fields and parameters by name / by id. */
const P4MatchField *p4i_field(const P4Table *t, const char *name, struct ipdk_err *err);
const P4MatchField *p4i_field_by_id(const P4Table *t, uint32_t id);
const P4Param *p4i_param(const P4Action *a, const char *name, struct ipdk_err *err);
const P4Param *p4i_param_by_id(const P4Action *a, uint32_t id);

/* The match type of a field (P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__*; 0 if other). */
int p4i_match_type(const P4MatchField *f);

/* "exact", "lpm", "ternary", "range", "optional" or "other". */
const char *p4i_match_name(int type);

/* True when t may hold action a. */
int p4i_table_has_action(const P4Table *t, uint32_t action_id);

/* True when entries of t need a priority (some field ternary, range or optional). */
int p4i_needs_priority(const P4Table *t);

#endif
