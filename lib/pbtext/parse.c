/*
 * The protobuf text format reader (ipdk/pbtext.h): a small recursive-descent
 * parser of "name: scalar", "name { ... }" or
 * "name < ... >", lists in [ ], '#' comments, adjacent string literals
 * concatenated, C escapes in strings, enum values by name or number. It sets
 * fields through the descriptors' offsets, so it works for any generated
 * message; extensions and expanded Any ("[type.googleapis.com/...]") are
 * refused with a message saying so. Also here: telling a text file from a
 * binary one, so callers take either. (Printing is write.c's job.)
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/pbtext.h"
#include "ipdk/value.h"
#include "pbtext_priv.h"

struct reader {
	const char *text, *s, *end, *name;
	struct ipdk_err *err;
};

#define MAX_DEPTH 64

static int fail(struct reader *r, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct reader *r, const char *at, const char *fmt, ...)
{
	char msg[IPDK_ERR_MSG_MAX];
	const char *ls = r->text;
	unsigned int line = 1;
	va_list ap;

	for (const char *q = r->text; q < at && q < r->end; q++) {
		if (*q == '\n') {
			line++;
			ls = q + 1;
		}
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ipdk_err_set(r->err, -EINVAL, "%s:%u:%u: %s", r->name, line,
			    (unsigned int)(at - ls) + 1, msg);
}

static void skip_space(struct reader *r)
{
	while (r->s < r->end) {
		char c = *r->s;

		if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			r->s++;
		} else if (c == '#') {
			while (r->s < r->end && *r->s != '\n')
				r->s++;
		} else {
			break;
		}
	}
}

static bool at_char(struct reader *r, char c)
{
	skip_space(r);
	return r->s < r->end && *r->s == c;
}

static bool eat(struct reader *r, char c)
{
	if (!at_char(r, c))
		return false;
	r->s++;
	return true;
}

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* A bare word: identifier or number (with sign, '.', exponent, hex digits). */
static size_t word(struct reader *r, const char **start)
{
	const char *p;
	bool num, hex;

	skip_space(r);
	*start = p = r->s;
	if (p < r->end && (*p == '-' || *p == '+'))
		p++;
	num = p < r->end && ((*p >= '0' && *p <= '9') || *p == '.');
	hex = num && p + 1 < r->end && p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	while (p < r->end) {
		if (ident_char(*p) || *p == '.')
			p++;
		else if (num && !hex && (*p == '-' || *p == '+') && (p[-1] == 'e' || p[-1] == 'E'))
			p++;
		else
			break;
	}
	r->s = p;
	return (size_t)(p - *start);
}

/* One or more adjacent quoted literals, unescaped into a malloc'd buffer. */
static int string_lit(struct reader *r, uint8_t **out, size_t *out_len)
{
	size_t cap = 64, n = 0;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return ipdk_err_set(r->err, -ENOMEM, "%s: out of memory", r->name);
	while (at_char(r, '"') || at_char(r, '\'')) {
		const char *start = r->s;
		char q = *r->s++;

		for (;;) {
			int c;

			if (r->s >= r->end || *r->s == '\n') {
				free(buf);
				return fail(r, start, "unterminated string");
			}
			c = (unsigned char)*r->s++;
			if (c == q)
				break;
			if (c == '\\') {
				if (r->s >= r->end)
					continue;
				c = (unsigned char)*r->s++;
				switch (c) {
				case 'n': c = '\n'; break;
				case 't': c = '\t'; break;
				case 'r': c = '\r'; break;
				case 'a': c = '\a'; break;
				case 'b': c = '\b'; break;
				case 'f': c = '\f'; break;
				case 'v': c = '\v'; break;
				case 'x': {
					int v = 0, k = 0;

					while (k < 2 && r->s < r->end && ipdk_hexdigit(*r->s) >= 0)
						v = v * 16 + ipdk_hexdigit(*r->s++), k++;
					if (!k) {
						free(buf);
						return fail(r, r->s - 2, "\\x needs hex digits");
					}
					c = v;
					break;
				}
				default:
					if (c >= '0' && c <= '7') {
						int v = c - '0', k = 1;

						while (k < 3 && r->s < r->end && *r->s >= '0' && *r->s <= '7')
							v = v * 8 + (*r->s++ - '0'), k++;
						if (v > 255) {
							free(buf);
							return fail(r, r->s - 4, "octal escape above \\377");
						}
						c = v;
					} else if (c != '\\' && c != '\'' && c != '"' && c != '?') {
						free(buf);
						return fail(r, r->s - 2, "unknown escape \\%c", c);
					}
				}
			}
			if (n + 1 >= cap) {
				uint8_t *nb = realloc(buf, cap *= 2);

				if (!nb) {
					free(buf);
					return ipdk_err_set(r->err, -ENOMEM, "%s: out of memory", r->name);
				}
				buf = nb;
			}
			buf[n++] = (uint8_t)c;
		}
	}
	buf[n] = 0;
	*out = buf;
	*out_len = n;
	return 0;
}

/* Where the next value of f goes: a new element of a repeated field, or the field itself. */
static void *slot(struct reader *r, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
		  const char *at)
{
	char *base = (char *)m;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *n = (size_t *)(base + f->quantifier_offset);
		void **arr = (void **)(base + f->offset);
		size_t es = pbtext_type_size(f->type);
		char *na = realloc(*arr, (*n + 1) * es);

		if (!na) {
			ipdk_err_set(r->err, -ENOMEM, "%s: out of memory", r->name);
			return NULL;
		}
		memset(na + *n * es, 0, es);
		*arr = na;
		return na + (*n)++ * es;
	}
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t *c = (uint32_t *)(base + f->quantifier_offset);

		if (*c && *c != f->id) {
			const ProtobufCFieldDescriptor *o =
				protobuf_c_message_descriptor_get_field(m->descriptor, *c);

			fail(r, at, "%s and %s are alternatives (oneof); give only one",
			     o ? o->name : "another field", f->name);
			return NULL;
		}
		*c = f->id;
	} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
		   f->type != PROTOBUF_C_TYPE_MESSAGE) {
		*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
	}
	return base + f->offset;
}

static int parse_int(struct reader *r, const char *w, size_t len, bool is_signed,
		     int64_t min, uint64_t max, void *out, size_t size)
{
	char tmp[80], *end;
	bool neg;

	if (len == 0 || len >= sizeof(tmp))
		return fail(r, w, "expected a number");
	memcpy(tmp, w, len);
	tmp[len] = 0;
	neg = tmp[0] == '-';
	errno = 0;
	if (neg) {
		long long v = strtoll(tmp, &end, 0);

		if (*end || errno || !is_signed || v < min)
			return fail(r, w, "\"%s\" is not a valid %s", tmp,
				    is_signed ? "integer in range" : "unsigned integer");
		if (size == 8)
			*(int64_t *)out = v;
		else
			*(int32_t *)out = (int32_t)v;
	} else {
		unsigned long long v = strtoull(tmp[0] == '+' ? tmp + 1 : tmp, &end, 0);

		if (*end || errno || v > max)
			return fail(r, w, "\"%s\" is not a valid integer (or out of range)", tmp);
		if (size == 8)
			*(uint64_t *)out = v;
		else
			*(uint32_t *)out = (uint32_t)v;
	}
	return 0;
}

static bool word_is(const char *w, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(w, s, len);
}

static int parse_scalar(struct reader *r, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *w, *at;
	size_t len;
	void *p;

	skip_space(r);
	at = r->s;
	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES) {
		uint8_t *buf = NULL;
		size_t n = 0;
		int rc;

		if (!at_char(r, '"') && !at_char(r, '\''))
			return fail(r, at, "%s: expected a quoted string", f->name);
		rc = string_lit(r, &buf, &n);
		if (rc)
			return rc;
		if (f->type == PROTOBUF_C_TYPE_STRING && memchr(buf, 0, n)) {
			free(buf);
			return fail(r, at, "%s: a string may not contain NUL", f->name);
		}
		p = slot(r, m, f, at);
		if (!p) {
			free(buf);
			return r->err->code;
		}
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			char **sp = p;

			if (*sp && *sp != f->default_value && f->label != PROTOBUF_C_LABEL_REPEATED)
				free(*sp);
			*sp = (char *)buf;
		} else {
			ProtobufCBinaryData *b = p;

			if (b->data && f->label != PROTOBUF_C_LABEL_REPEATED)
				free(b->data);
			b->data = buf;
			b->len = n;
		}
		return 0;
	}
	len = word(r, &w);
	if (!len)
		return fail(r, at, "%s: expected a value", f->name);
	switch (f->type) {
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *ed = f->descriptor;
		char name[128];
		int32_t v;

		if ((w[0] >= '0' && w[0] <= '9') || w[0] == '-') {
			if (parse_int(r, w, len, true, INT32_MIN, INT32_MAX, &v, 4))
				return r->err->code;
		} else {
			const ProtobufCEnumValue *ev;

			snprintf(name, sizeof(name), "%.*s", (int)len, w);
			ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
			if (!ev)
				return fail(r, w, "%s: \"%s\" is not a value of %s", f->name, name,
					    ed->name);
			v = ev->value;
		}
		p = slot(r, m, f, at);
		if (!p)
			return r->err->code;
		*(int32_t *)p = v;
		return 0;
	}
	case PROTOBUF_C_TYPE_BOOL: {
		protobuf_c_boolean v;

		if (word_is(w, len, "true") || word_is(w, len, "True") || word_is(w, len, "t") ||
		    word_is(w, len, "1"))
			v = 1;
		else if (word_is(w, len, "false") || word_is(w, len, "False") ||
			 word_is(w, len, "f") || word_is(w, len, "0"))
			v = 0;
		else
			return fail(r, w, "%s: expected true or false", f->name);
		p = slot(r, m, f, at);
		if (!p)
			return r->err->code;
		*(protobuf_c_boolean *)p = v;
		return 0;
	}
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE: {
		char tmp[80], *end;
		double v;

		if (len >= sizeof(tmp))
			return fail(r, w, "%s: expected a number", f->name);
		snprintf(tmp, sizeof(tmp), "%.*s", (int)len, w);
		if (len && (tmp[len - 1] == 'f' || tmp[len - 1] == 'F') && !strchr(tmp, 'x'))
			tmp[len - 1] = 0;
		if (!strcasecmp(tmp, "inf") || !strcasecmp(tmp, "infinity"))
			v = INFINITY;
		else if (!strcasecmp(tmp, "-inf") || !strcasecmp(tmp, "-infinity"))
			v = -INFINITY;
		else if (!strcasecmp(tmp, "nan"))
			v = NAN;
		else {
			v = strtod(tmp, &end);
			if (*end || end == tmp)
				return fail(r, w, "%s: \"%s\" is not a number", f->name, tmp);
		}
		p = slot(r, m, f, at);
		if (!p)
			return r->err->code;
		if (f->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *)p = (float)v;
		else
			*(double *)p = v;
		return 0;
	}
	default: {
		uint64_t v = 0;
		bool sgn = f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_SINT32 ||
			   f->type == PROTOBUF_C_TYPE_SFIXED32 || f->type == PROTOBUF_C_TYPE_INT64 ||
			   f->type == PROTOBUF_C_TYPE_SINT64 || f->type == PROTOBUF_C_TYPE_SFIXED64;
		size_t sz = pbtext_type_size(f->type);
		int64_t min = sz == 8 ? INT64_MIN : INT32_MIN;
		uint64_t max = sgn ? (sz == 8 ? (uint64_t)INT64_MAX : INT32_MAX)
				   : (sz == 8 ? UINT64_MAX : UINT32_MAX);

		if (parse_int(r, w, len, sgn, min, max, &v, sz))
			return r->err->code;
		p = slot(r, m, f, at);
		if (!p)
			return r->err->code;
		memcpy(p, &v, sz);
		return 0;
	}
	}
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = calloc(1, d->sizeof_message);

	if (m)
		d->message_init(m);
	return m;
}

static int parse_fields(struct reader *r, ProtobufCMessage *m, char close, int depth);

static int parse_submessage(struct reader *r, ProtobufCMessage *m,
			    const ProtobufCFieldDescriptor *f, int depth)
{
	const char *at;
	ProtobufCMessage **pp, *sub;
	char close;

	skip_space(r);
	at = r->s;
	if (eat(r, '{'))
		close = '}';
	else if (eat(r, '<'))
		close = '>';
	else
		return fail(r, at, "%s: expected '{' to open a %s", f->name,
			    ((const ProtobufCMessageDescriptor *)f->descriptor)->name);
	pp = slot(r, m, f, at);
	if (!pp)
		return r->err->code;
	if (!*pp) {
		*pp = new_message(f->descriptor);
		if (!*pp)
			return ipdk_err_set(r->err, -ENOMEM, "%s: out of memory", r->name);
	}
	sub = *pp;
	return parse_fields(r, sub, close, depth + 1);
}

static int parse_field(struct reader *r, ProtobufCMessage *m, int depth)
{
	const ProtobufCFieldDescriptor *f;
	const char *w, *at;
	char name[128];
	bool colon;
	size_t len;
	int rc;

	skip_space(r);
	at = r->s;
	if (at_char(r, '['))
		return fail(r, at, "extensions and Any expansions ([...]) are not supported");
	len = word(r, &w);
	if (!len || !((w[0] >= 'a' && w[0] <= 'z') || (w[0] >= 'A' && w[0] <= 'Z') || w[0] == '_'))
		return fail(r, at, "expected a field name of %s", m->descriptor->name);
	snprintf(name, sizeof(name), "%.*s", (int)len, w);
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
	if (!f)
		return fail(r, w, "%s has no field \"%s\"", m->descriptor->name, name);
	colon = eat(r, ':');
	if (at_char(r, '[')) {
		if (f->label != PROTOBUF_C_LABEL_REPEATED)
			return fail(r, r->s, "%s is not repeated; a list is not allowed", f->name);
		r->s++;
		if (!eat(r, ']')) {
			do {
				rc = f->type == PROTOBUF_C_TYPE_MESSAGE ? parse_submessage(r, m, f, depth)
									: parse_scalar(r, m, f);
				if (rc)
					return rc;
			} while (eat(r, ','));
			if (!eat(r, ']'))
				return fail(r, r->s, "%s: expected ',' or ']' in the list", f->name);
		}
	} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		rc = parse_submessage(r, m, f, depth);
		if (rc)
			return rc;
	} else {
		if (!colon)
			return fail(r, r->s, "expected ':' after %s", f->name);
		rc = parse_scalar(r, m, f);
		if (rc)
			return rc;
	}
	if (!eat(r, ';'))
		eat(r, ',');
	return 0;
}

static int parse_fields(struct reader *r, ProtobufCMessage *m, char close, int depth)
{
	if (depth > MAX_DEPTH)
		return fail(r, r->s, "messages nested deeper than %d", MAX_DEPTH);
	for (;;) {
		int rc;

		skip_space(r);
		if (r->s >= r->end) {
			if (close)
				return fail(r, r->s, "unexpected end of input: '%c' missing", close);
			return 0;
		}
		if (*r->s == close) {
			r->s++;
			return 0;
		}
		if (*r->s == '}' || *r->s == '>')
			return fail(r, r->s, "unexpected '%c'", *r->s);
		rc = parse_field(r, m, depth);
		if (rc)
			return rc;
	}
}

ProtobufCMessage *pbtext_parse(const ProtobufCMessageDescriptor *d, const char *text,
			       size_t len, const char *name, struct ipdk_err *err)
{
	struct reader r = { .text = text, .s = text, .end = text + len, .name = name, .err = err };
	ProtobufCMessage *m = new_message(d);

	if (!m) {
		ipdk_err_set(err, -ENOMEM, "%s: out of memory", name);
		return NULL;
	}
	if (parse_fields(&r, m, 0, 0)) {
		protobuf_c_message_free_unpacked(m, NULL);
		return NULL;
	}
	return m;
}

bool pbtext_is_text(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		if (!b[i])
			return false;
		if (b[i] < 0x20 && b[i] != '\n' && b[i] != '\r' && b[i] != '\t')
			bad++;
	}
	return bad * 100 <= n;
}

ProtobufCMessage *pbtext_load(const ProtobufCMessageDescriptor *d, const void *p, size_t n,
			      const char *name, struct ipdk_err *err)
{
	ProtobufCMessage *m;

	if (pbtext_is_text(p, n))
		return pbtext_parse(d, p, n, name, err);
	m = protobuf_c_message_unpack(d, NULL, n, p);
	if (!m)
		ipdk_err_set(err, -EINVAL, "%s: neither %s text nor a binary %s", name,
			     d->short_name, d->short_name);
	return m;
}
