/*
 * The mid-level IR of ipdk-p4c: a checked PNA/PSA program lowered to flat
 * header instances and metadata fields, actions and the pipeline's code as
 * lists of simple instructions with labels and jumps, and tables and externs
 * as plain records. Nothing here knows a target: widths are the program's
 * exact bit widths (a back end rounds them as its target needs), booleans
 * are 1-bit values, enums and errors are small numbers, and every extern
 * call keeps its meaning (count, read a register, hash, learn ...). The DPDK
 * back end (dpdk.c) and the P4Info/context writers (p4info.c) read it; an
 * eBPF back end can read the same.
 */
#ifndef IPDK_P4C_IR_H
#define IPDK_P4C_IR_H

#include "p4c_int.h"

struct ir_field {
	const char *name;	/* within its header, or the metadata name */
	int width;		/* P4 width in bits; bool is 1; varbit: its maximum */
	bool varbit;		/* a header's last field, of the size extract gave it */
};

struct ir_header {
	const char *name;	/* instance name: hdr.outer.eth -> outer_eth */
	const char *type_name;	/* P4 header type */
	struct ir_field *f;
	int nf;
	bool internal;		/* made by the compiler (lookahead, advance, checksums) */
};

enum ir_opk {
	O_NONE, O_HF,		/* header field: h, i */
	O_HDR,			/* whole header h */
	O_META,			/* metadata field i */
	O_PARAM,		/* parameter i of the action being lowered */
	O_CONST,		/* v (width bits) */
};

struct ir_op {
	enum ir_opk k;
	int h, i;
	int width;
	uint64_t v;
};

enum ir_code {
	I_LABEL,		/* label */
	I_MOV,			/* d = a (zero-extended or truncated to d's width) */
	I_ADD, I_SUB, I_AND, I_OR, I_XOR, I_SHL, I_SHR, /* d = a OP b */
	I_NOT,			/* d = ~a */
	I_JMP,			/* goto label */
	I_JCMP,			/* if (a CMP b) goto label; cmp is one of IR_EQ.. */
	I_JVALID, I_JNVALID,	/* if header a (O_HDR) is / is not valid goto label */
	I_JHIT, I_JMISS,	/* after I_TABLE: the last table hit / missed */
	I_JACT, I_JNACT,	/* the last table ran / did not run action obj */
	I_EXTRACT, I_LOOKAHEAD, I_EMIT, I_VALIDATE, I_INVALIDATE, /* header a */
	I_TABLE,		/* apply table obj */
	I_SEND,			/* send_to_port(a) */
	I_DROP,			/* drop_packet() */
	I_EXIT,			/* end the control (exit) */
	I_RETURN,		/* end the action */
	I_CKCLEAR,		/* checksum obj = 0 */
	I_CKADD, I_CKSUB,	/* checksum obj += / -= list */
	I_CKGET,		/* d = checksum obj */
	I_HASH,			/* d = hash obj of list (a: base, b: max when set) */
	I_COUNT,		/* counter obj [index a] (+ increment b when set) */
	I_REGRD,		/* d = register obj[a] */
	I_REGWR,		/* register obj[a] = b */
	I_METER,		/* d = color of meter obj [index a] (b: colour in) */
	I_LEARN,		/* add_entry(action obj2, list = params, a = expire profile) */
	I_REARM,		/* restart the entry's timer (a: new profile when set) */
	I_TX,			/* end of the pipeline: emit done, send, drop or recirculate */
	I_MIRROR,		/* mirror_packet(slot a, session b): a copy of the packet
				 * as the pipeline ends goes to session b's port */
	I_RECIRC,		/* recirculate(): the decision becomes "run the packet
				 * through the pipeline again" (I_SEND/I_DROP replace it) */
	I_PASS,			/* d = how many times the packet was recirculated */
	I_EXTRACTV,		/* extract header a whose last field is varbit, b bits of it */
	I_JVSET,		/* if list is in value set obj goto label */
};

enum { IR_EQ, IR_NE, IR_LT, IR_GT, IR_LE, IR_GE };

struct ir_insn {
	enum ir_code c;
	int cmp;
	struct ir_op d, a, b;
	int label;		/* I_LABEL, jumps */
	int obj, obj2;		/* table, action, extern */
	struct ir_op *list;
	int nlist;
	struct p4_loc loc;
};

struct ir_code_list {
	struct ir_insn *v;
	int n, cap;
};

enum ir_match { M_EXACT, M_LPM, M_TERNARY, M_RANGE, M_SELECTOR, M_OPTIONAL };

struct ir_key {
	struct ir_op f;
	enum ir_match match;
	const char *name;	/* P4Info name: the key expression or its @name */
	int width;
};

struct ir_param {
	const char *name;
	int width;
};

struct ir_action {
	const char *name;	/* unique target name */
	const char *p4name;	/* Control.action */
	struct ir_param *params;
	int np;
	struct ir_code_list code;
	struct p4n *decl;
	bool internal;		/* made by the compiler (profile member/group setters) */
	int id;
};

/* One key of an entry the program declares: value (and mask, or range
 * bounds as value..hi; prefix for lpm); any set for `_`/default. */
struct ir_ekey {
	uint64_t value, mask, hi;
	int prefix;
	bool any;
};

struct ir_entry {
	struct ir_ekey *keys;	/* one per non-selector key of the table */
	int action;
	uint64_t *args;
	int priority;		/* larger wins (P4Runtime); 0 when none */
	struct p4_loc loc;
};

struct ir_table_action {
	int action;
	bool default_only, table_only;
};

struct ir_table {
	const char *name;	/* target name */
	const char *p4name;
	struct ir_key *keys;
	int nk;
	struct ir_table_action *acts;
	int na;
	int def_action;
	uint64_t *def_args;
	bool def_const;
	int size;
	bool add_on_miss;
	int profile;		/* extern index of an ActionProfile/ActionSelector, -1 */
	int direct_counter, direct_meter; /* extern index, -1 */
	int n_const_entries;
	struct ir_entry *entries;	/* those of n_const_entries that are constants */
	int nentries;
	bool entries_const;	/* `const entries`: the control plane may not change them */
	struct p4n *decl;
	int id;
};

/* A parser value set: the control plane fills it, select cases test it. */
struct ir_vset {
	const char *name;	/* target name */
	const char *p4name;
	struct ir_key *keys;	/* f: where the member's fields are looked up */
	int nk;
	int size;
	int id;
};

enum ir_extk {
	X_COUNTER, X_DCOUNTER, X_METER, X_DMETER, X_REGISTER, X_HASH, X_CKSUM,
	X_PROFILE, X_SELECTOR,
};

struct ir_extern {
	enum ir_extk k;
	const char *name, *p4name;
	int size;		/* cells (counter, meter, register, profile) */
	int unit;		/* counter/meter: 0 packets, 1 bytes, 2 both */
	int width;		/* register value / hash output width */
	int index_width;
	int algo;		/* hash: PNA_HashAlgorithm_t member index */
	int table;		/* direct externs and profiles: the table using it, -1 */
	int state;		/* checksum: metadata field holding the running sum */
	int id;
};

struct ir_prog {
	struct ipdk_p4c_program *p;
	const char *name;	/* program name: the input file's base name */
	const char *arch;
	struct ir_header *hdrs;
	int nh, caph;
	struct ir_field *meta;
	int nm, capm;
	int meta_user;		/* metadata [0, meta_user) are the arch's and the user's */
	struct ir_action *acts;
	int na, capa;
	struct ir_table *tables;
	int nt, capt;
	struct ir_extern *exts;
	int nx, capx;
	struct ir_vset *vsets;
	int nvs, capvs;
	struct ir_code_list main;	/* parser, controls, deparser in order */
	int nlabels;
	int m_input_port, m_output_port, m_drop, m_parser_error; /* metadata indexes */
	int n_errors;
	/* controller headers (@controller_header): header index and name, -1 */
	int pkt_in_hdr, pkt_out_hdr;
};

/* Lowers the checked program in p into a new IR (in p's arena). Returns NULL
 * after adding diagnostics when the program cannot be lowered. */
struct ir_prog *ir_lower(struct ipdk_p4c_program *p, const char *arch, const char *name);

/* Warns at writes to fields of headers that may be invalid (validity.c). */
void ir_check_validity(struct ir_prog *ir);

/* Appends instruction in to code; returns it. */
struct ir_insn *ir_emit(struct ir_prog *ir, struct ir_code_list *code, struct ir_insn in);

/* Returns a printable form of an operand (static per call site ring). */
const char *ir_op_str(const struct ir_prog *ir, const struct ir_action *act, const struct ir_op *o);

/* Writes the IR as text (for tests and --dump-ir). */
void ir_print(const struct ir_prog *ir, FILE *f);

/* Adds a metadata field; returns its index. */
int ir_meta_add(struct ir_prog *ir, const char *name, int width);

/* Adds a header instance; returns its index. */
int ir_header_add(struct ir_prog *ir, const char *name, const char *type_name, bool internal);

/* Adds a field to header h; returns its index. */
int ir_header_field_add(struct ir_prog *ir, int h, const char *name, int width);

/* Mirroring as infrap4d configures the DPDK target (lib/target-dpdk/pipeline.c). */
#define DPDK_MIRROR_SLOTS 4
#define DPDK_MIRROR_SESSIONS 64

/* The DPDK back end: writes the SWX spec of ir to f. Returns 0 or -EINVAL
 * after adding diagnostics. */
int dpdk_emit(struct ir_prog *ir, FILE *f);

/* Gives every object its P4Runtime id (context.c; idempotent). */
void p4info_assign_ids(struct ir_prog *ir);

/* The P4Runtime id of controller header name ("packet_in", "packet_out"). */
uint32_t p4info_ctrl_header_id(const char *name);

/* Writes the context JSON of docs/bundle.md. */
int context_write_json(const struct ir_prog *ir, FILE *f);

/* P4Info as protobuf text or binary, the BfPipelineConfig device config and
 * the single-file bundle (p4info.c; built with protobuf-c only). */
int p4info_write(struct ir_prog *ir, FILE *f, bool binary);
int bundle_write_device_config(struct ir_prog *ir, const char *spec, FILE *f);
int bundle_write(struct ir_prog *ir, const char *spec, FILE *f);

#endif
