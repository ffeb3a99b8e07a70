/*
 * The P4_16 lexer: turns preprocessed text into tokens with file:line:column.
 * cpp's line markers (`# 12 "file.p4" 1`) switch the current file and line so
 * locations point into the original sources. `>>` is never one token here:
 * the parser joins two adjacent `>` itself, because `bit<8>>` must close two
 * type argument lists (the spec's way of handling it).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "p4c_int.h"

static const struct {
	const char *s;
	enum p4_tok t;
} keywords[] = {
	{ "abstract", K_ABSTRACT }, { "action", K_ACTION }, { "apply", K_APPLY },
	{ "bit", K_BIT }, { "bool", K_BOOL }, { "const", K_CONST }, { "control", K_CONTROL },
	{ "default", K_DEFAULT }, { "else", K_ELSE }, { "enum", K_ENUM }, { "error", K_ERROR },
	{ "exit", K_EXIT }, { "extern", K_EXTERN }, { "false", K_FALSE }, { "header", K_HEADER },
	{ "header_union", K_HEADER_UNION }, { "if", K_IF }, { "in", K_IN }, { "inout", K_INOUT },
	{ "int", K_INT }, { "match_kind", K_MATCH_KIND }, { "out", K_OUT },
	{ "package", K_PACKAGE }, { "parser", K_PARSER }, { "return", K_RETURN },
	{ "select", K_SELECT }, { "state", K_STATE }, { "string", K_STRING },
	{ "struct", K_STRUCT }, { "switch", K_SWITCH }, { "table", K_TABLE }, { "this", K_THIS },
	{ "transition", K_TRANSITION }, { "true", K_TRUE }, { "tuple", K_TUPLE },
	{ "type", K_TYPE }, { "typedef", K_TYPEDEF }, { "value_set", K_VALUE_SET },
	{ "varbit", K_VARBIT }, { "void", K_VOID }, { "_", K_DONTCARE },
};

static const char *const tok_names[T_COUNT] = {
	[T_EOF] = "end of file", [T_IDENT] = "identifier", [T_INT] = "integer",
	[T_STRING] = "string", [T_ANNOT] = "annotation",
	[P_LBRACE] = "'{'", [P_RBRACE] = "'}'", [P_LPAREN] = "'('", [P_RPAREN] = "')'",
	[P_LBRACK] = "'['", [P_RBRACK] = "']'", [P_SEMI] = "';'", [P_COLON] = "':'",
	[P_COMMA] = "','", [P_DOT] = "'.'", [P_QUESTION] = "'?'", [P_ASSIGN] = "'='",
	[P_PLUS] = "'+'", [P_MINUS] = "'-'", [P_STAR] = "'*'", [P_SLASH] = "'/'",
	[P_PERCENT] = "'%'", [P_PIPE] = "'|'", [P_AMP] = "'&'", [P_CARET] = "'^'",
	[P_TILDE] = "'~'", [P_BANG] = "'!'", [P_LT] = "'<'", [P_GT] = "'>'",
	[P_LE] = "'<='", [P_GE] = "'>='", [P_EQ] = "'=='", [P_NE] = "'!='",
	[P_ANDAND] = "'&&'", [P_OROR] = "'||'", [P_SHL] = "'<<'", [P_PLUSPLUS] = "'++'",
	[P_PIPEPLUS] = "'|+|'", [P_PIPEMINUS] = "'|-|'", [P_MASK] = "'&&&'",
	[P_RANGE] = "'..'", [P_ELLIPSIS] = "'...'", [P_SHR] = "'>>'",
};

const char *p4_tok_name(enum p4_tok t)
{
	if (t >= K_ABSTRACT && t <= K_DONTCARE) {
		for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
			if (keywords[i].t == t)
				return keywords[i].s;
	}
	return t < T_COUNT && tok_names[t] ? tok_names[t] : "token";
}

static const struct {
	const char *s;
	enum p4_tok t;
} puncts[] = {	/* longest first */
	{ "&&&", P_MASK }, { "|+|", P_PIPEPLUS }, { "|-|", P_PIPEMINUS }, { "...", P_ELLIPSIS },
	{ "&&", P_ANDAND }, { "||", P_OROR }, { "..", P_RANGE }, { "++", P_PLUSPLUS },
	{ "<<", P_SHL }, { "<=", P_LE }, { ">=", P_GE }, { "==", P_EQ }, { "!=", P_NE },
	{ "{", P_LBRACE }, { "}", P_RBRACE }, { "(", P_LPAREN }, { ")", P_RPAREN },
	{ "[", P_LBRACK }, { "]", P_RBRACK }, { ";", P_SEMI }, { ":", P_COLON },
	{ ",", P_COMMA }, { ".", P_DOT }, { "?", P_QUESTION }, { "=", P_ASSIGN },
	{ "+", P_PLUS }, { "-", P_MINUS }, { "*", P_STAR }, { "/", P_SLASH },
	{ "%", P_PERCENT }, { "|", P_PIPE }, { "&", P_AMP }, { "^", P_CARET },
	{ "~", P_TILDE }, { "!", P_BANG }, { "<", P_LT }, { ">", P_GT },
};

struct lexer {
	struct ipdk_p4c_program *p;
	const char *s, *end, *line_start;
	int file;
	unsigned line;
	bool at_line_start, space;
	struct p4_lexed *out;
};

static struct p4_loc here(struct lexer *l, const char *at)
{
	return (struct p4_loc){ l->file, l->line, (unsigned)(at - l->line_start) + 1 };
}

static void push(struct lexer *l, enum p4_tok t, const char *at, size_t len)
{
	struct p4_lexed *o = l->out;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 1024;
		struct p4_token *v = realloc(o->toks, cap * sizeof(*v));

		if (!v)
			abort();
		o->toks = v;
		o->cap = cap;
	}
	o->toks[o->n++] = (struct p4_token){ t, here(l, at), at, (unsigned)len, !l->space };
	l->space = false;
}

static void newline(struct lexer *l, const char *after)
{
	l->line++;
	l->line_start = after;
	l->at_line_start = true;
	l->space = true;
}

/* Handles a `#` line: a cpp line marker `# N "file" flags` or `#line N "file"`
 * moves the location; `#pragma` is ignored; anything else is an error. */
static void directive(struct lexer *l)
{
	const char *s = l->s + 1, *e = memchr(s, '\n', l->end - s);
	struct p4_loc loc = here(l, l->s);

	if (!e)
		e = l->end;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if (e - s >= 4 && !strncmp(s, "line", 4)) {
		s += 4;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
	}
	if (s < e && isdigit((unsigned char)*s)) {
		unsigned long n = 0;
		while (s < e && isdigit((unsigned char)*s) && n < 100000000)
			n = n * 10 + (*s++ - '0');
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if (s < e && *s == '"') {
			const char *q = ++s;
			while (q < e && *q != '"')
				q++;
			char *name = strndup(s, q - s);
			if (!name)
				abort();
			l->file = p4_file_add(l->p, name, NULL, 0);
			free(name);
		}
		l->s = e;
		if (e < l->end) {
			l->s = e + 1;
			l->line_start = l->s;
		}
		l->line = (unsigned)n;
		l->at_line_start = true;
		return;
	}
	if (!(e - s >= 6 && !strncmp(s, "pragma", 6)) && s != e)
		p4_error(l->p, loc, "unexpected preprocessor directive (run through cpp first)");
	l->s = e;
}

static bool ident_start(int c)
{
	return isalpha(c) || c == '_';
}

static bool ident_char(int c)
{
	return isalnum(c) || c == '_';
}

static enum p4_tok keyword(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i].s) == n && !memcmp(keywords[i].s, s, n))
			return keywords[i].t;
	return T_IDENT;
}

/* Scans digits of a literal body in the given base (with '_' separators). */
static const char *scan_digits(const char *s, const char *end)
{
	while (s < end && (isalnum((unsigned char)*s) || *s == '_'))
		s++;
	return s;
}

static void lex_number(struct lexer *l)
{
	const char *s = l->s, *e = scan_digits(s, l->end);
	struct p4n tmp;
	const char *msg;

	/* 4s-1: a negative signed literal written with its width */
	if (e - s >= 2 && e[-1] == 's' && e < l->end - 1 && e[0] == '-' &&
	    isdigit((unsigned char)e[1])) {
		bool all = true;
		for (const char *q = s; q < e - 1; q++)
			all &= isdigit((unsigned char)*q) != 0;
		if (all)
			e = scan_digits(e + 1, l->end);
	}
	memset(&tmp, 0, sizeof(tmp));
	if (!p4_int_decode(s, e - s, &tmp, &msg))
		p4_error(l->p, here(l, s), "%s in integer literal '%.*s'", msg, (int)(e - s), s);
	push(l, T_INT, s, e - s);
	l->s = e;
}

static int digit_val(int c)
{
	if (isdigit(c))
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

bool p4_int_decode(const char *s, size_t len, struct p4n *n, const char **msg)
{
	const char *e = s + len, *q = s;
	uint64_t v = 0;
	int base = 10;
	bool neg = false, any = false;

	n->has_width = false;
	n->is_signed = false;
	n->big = false;
	n->width = 0;
	while (q < e && isdigit((unsigned char)*q))
		q++;
	if (q < e && (*q == 'w' || *q == 's') && q > s) {
		unsigned long w = 0;
		for (const char *d = s; d < q; d++) {
			w = w * 10 + (*d - '0');
			if (w > 1u << 20) {
				*msg = "width too large";
				return false;
			}
		}
		n->has_width = true;
		n->is_signed = *q == 's';
		n->width = (int)w;
		if (w == 0 && n->is_signed) {
			*msg = "signed width must be at least 1";
			return false;
		}
		s = q + 1;
		if (s < e && *s == '-') {
			neg = true;
			s++;
		}
	}
	if (e - s >= 2 && s[0] == '0') {
		switch (s[1]) {
		case 'x': case 'X': base = 16; s += 2; break;
		case 'b': case 'B': base = 2; s += 2; break;
		case 'o': case 'O': base = 8; s += 2; break;
		case 'd': case 'D': base = 10; s += 2; break;
		}
	}
	for (; s < e; s++) {
		if (*s == '_')
			continue;
		int d = digit_val((unsigned char)*s);
		if (d >= base) {
			*msg = "invalid digit";
			return false;
		}
		if (v > (UINT64_MAX - d) / base)
			n->big = true;
		v = v * base + d;
		any = true;
	}
	if (!any) {
		*msg = "missing digits";
		return false;
	}
	n->ival = neg ? (uint64_t)(-(int64_t)v) : v;
	if (neg && (n->big || v > (uint64_t)INT64_MAX))
		n->big = true;
	return true;
}

static void lex_string(struct lexer *l)
{
	const char *s = l->s, *q = s + 1;

	while (q < l->end && *q != '"' && *q != '\n' && *q) {
		if (*q == '\\' && q + 1 < l->end && q[1] != '\n' && q[1])
			q++;
		q++;
	}
	if (q < l->end && !*q) {
		/* the text is kept as a C string: a NUL would cut it short */
		p4_error(l->p, here(l, q), "a NUL byte in a string literal");
		push(l, T_STRING, s, q - s);
		l->s = q + 1;
		return;
	}
	if (q >= l->end || *q != '"') {
		p4_error(l->p, here(l, s), "unterminated string literal");
		push(l, T_STRING, s, q - s);
		l->s = q;
		return;
	}
	push(l, T_STRING, s, q + 1 - s);
	l->s = q + 1;
}

static bool skip_comment(struct lexer *l)
{
	const char *s = l->s;

	if (s + 1 >= l->end || s[0] != '/')
		return false;
	if (s[1] == '/') {
		while (l->s < l->end && *l->s != '\n')
			l->s++;
		l->space = true;
		return true;
	}
	if (s[1] != '*')
		return false;
	struct p4_loc start = here(l, s);
	l->s += 2;
	while (l->s < l->end) {
		if (l->s[0] == '*' && l->s + 1 < l->end && l->s[1] == '/') {
			l->s += 2;
			l->space = true;
			return true;
		}
		if (*l->s == '\n')
			newline(l, l->s + 1);
		l->s++;
	}
	p4_error(l->p, start, "unterminated comment");
	return true;
}

static void lex_one(struct lexer *l)
{
	const char *s = l->s;
	unsigned char c = *s;

	if (c == '\n') {
		newline(l, ++l->s);
		return;
	}
	if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
		l->s++;
		l->space = true;
		return;
	}
	if (c == '#' && l->at_line_start) {
		directive(l);
		return;
	}
	l->at_line_start = false;
	if (skip_comment(l))
		return;
	if (ident_start(c)) {
		const char *e = s;
		while (e < l->end && ident_char((unsigned char)*e))
			e++;
		push(l, keyword(s, e - s), s, e - s);
		l->s = e;
		return;
	}
	if (isdigit(c)) {
		lex_number(l);
		return;
	}
	if (c == '"') {
		lex_string(l);
		return;
	}
	if (c == '@') {
		const char *e = s + 1;
		while (e < l->end && ident_char((unsigned char)*e))
			e++;
		if (e == s + 1)
			p4_error(l->p, here(l, s), "'@' must be followed by an annotation name");
		else
			push(l, T_ANNOT, s, e - s);
		l->s = e;
		return;
	}
	for (size_t i = 0; i < sizeof(puncts) / sizeof(puncts[0]); i++) {
		size_t n = strlen(puncts[i].s);
		if ((size_t)(l->end - s) >= n && !memcmp(s, puncts[i].s, n)) {
			push(l, puncts[i].t, s, n);
			l->s += n;
			return;
		}
	}
	if (c >= 0x20 && c < 0x7f)
		p4_error(l->p, here(l, s), "unexpected character '%c'", c);
	else
		p4_error(l->p, here(l, s), "unexpected byte 0x%02x", c);
	l->s++;
}

int p4_lex(struct ipdk_p4c_program *p, int file, const char *text, size_t len,
	   struct p4_lexed *out)
{
	struct lexer l = {
		.p = p, .s = text, .end = text + len, .line_start = text, .file = file,
		.line = 1, .at_line_start = true, .space = true, .out = out,
	};

	while (l.s < l.end && !p->too_many)
		lex_one(&l);
	push(&l, T_EOF, l.s, 0);
	return 0;
}
