/*
 * The program object's bookkeeping: the arena that owns every node, the table
 * of source files named by cpp line markers, and diagnostics. A diagnostic is
 * printed with the line it points at, read from the original file (not the
 * preprocessed text, which has comments stripped), and a caret under the
 * column, the way people expect from C compilers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p4c_int.h"

struct p4_chunk {
	struct p4_chunk *next;
	size_t used, size;
	max_align_t data[];
};

#define CHUNK_MIN (64 * 1024)

void *p4_alloc(struct p4_arena *a, size_t n)
{
	struct p4_chunk *c = a->head;
	size_t al = _Alignof(max_align_t);

	n = (n + al - 1) / al * al;
	if (!c || c->size - c->used < n) {
		size_t sz = n > CHUNK_MIN ? n : CHUNK_MIN;

		c = malloc(sizeof(*c) + sz);
		if (!c)
			abort();	/* the front end has no sensible way on without memory */
		c->size = sz;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *p4_strndup(struct p4_arena *a, const char *s, size_t n)
{
	char *d = p4_alloc(a, n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *p4_afmt(struct p4_arena *a, const char *f, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return p4_strndup(a, buf, strlen(buf));
}

void p4_arena_free(struct p4_arena *a)
{
	struct p4_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

void p4_list_push(struct p4_arena *a, struct p4_list *l, struct p4n *n)
{
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 4;
		struct p4n **v = p4_alloc(a, sizeof(*v) * cap);

		if (l->n)
			memcpy(v, l->v, sizeof(*v) * l->n);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = n;
}

struct p4n *p4n_new(struct p4_arena *a, enum p4n_kind k, struct p4_loc loc)
{
	struct p4n *n = p4_alloc(a, sizeof(*n));

	n->kind = k;
	n->loc = loc;
	return n;
}

/* Returns the index of the file called name, adding it when new; text, when
 * given, is the file's contents for showing lines. */
int p4_file_add(struct ipdk_p4c_program *p, const char *name, const char *text, size_t len)
{
	for (int i = 0; i < p->n_files; i++)
		if (!strcmp(p->files[i].name, name))
			return i;
	if (p->n_files == p->cap_files) {
		int cap = p->cap_files ? p->cap_files * 2 : 8;
		struct p4_file *f = realloc(p->files, sizeof(*f) * cap);

		if (!f)
			abort();
		p->files = f;
		p->cap_files = cap;
	}
	struct p4_file *f = &p->files[p->n_files];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	if (!f->name)
		abort();
	if (text) {
		f->text = malloc(len + 1);
		if (!f->text)
			abort();
		memcpy(f->text, text, len);
		f->text[len] = '\0';
		f->len = len;
		f->tried = true;
	}
	return p->n_files++;
}

void p4_diag(struct ipdk_p4c_program *p, enum ipdk_p4c_severity sev, struct p4_loc loc,
	     const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (p->too_many)
		return;
	if (sev == IPDK_P4C_ERROR && p->n_errors >= P4_MAX_ERRORS) {
		p->too_many = true;
		sev = IPDK_P4C_NOTE;
		snprintf(buf, sizeof(buf), "too many errors, stopping");
	} else {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
	}
	/* a second error at the very same place is a follow-on of the first */
	if (sev == IPDK_P4C_ERROR && p->n_diags) {
		struct p4_diag_int *last = &p->diags[p->n_diags - 1];
		if (last->pub.severity == IPDK_P4C_ERROR && last->loc.file == loc.file &&
		    last->loc.line == loc.line && last->loc.col == loc.col)
			return;
	}
	if (p->n_diags == p->cap_diags) {
		size_t cap = p->cap_diags ? p->cap_diags * 2 : 16;
		struct p4_diag_int *d = realloc(p->diags, sizeof(*d) * cap);

		if (!d)
			abort();
		p->diags = d;
		p->cap_diags = cap;
	}
	struct p4_diag_int *d = &p->diags[p->n_diags++];
	d->loc = loc;
	d->pub.severity = sev;
	d->pub.file = loc.file >= 0 && loc.file < p->n_files ? p->files[loc.file].name : "";
	d->pub.line = loc.line;
	d->pub.col = loc.col;
	d->pub.msg = strdup(buf);
	if (!d->pub.msg)
		abort();
	if (sev == IPDK_P4C_ERROR)
		p->n_errors++;
}

static void load_file_text(struct p4_file *f)
{
	FILE *fp;
	long sz;

	f->tried = true;
	fp = fopen(f->name, "rb");
	if (!fp)
		return;
	if (fseek(fp, 0, SEEK_END) || (sz = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET))
		goto out;
	f->text = malloc(sz + 1);
	if (!f->text)
		goto out;
	f->len = fread(f->text, 1, sz, fp);
	f->text[f->len] = '\0';
out:
	fclose(fp);
}

/* Finds line `line` of file f; returns its start and sets *len, or NULL. */
static const char *file_line(struct p4_file *f, unsigned line, size_t *len)
{
	const char *s, *end;

	if (!f->tried)
		load_file_text(f);
	if (!f->text || line == 0)
		return NULL;
	s = f->text;
	end = f->text + f->len;
	for (unsigned l = 1; l < line; l++) {
		s = memchr(s, '\n', end - s);
		if (!s)
			return NULL;
		s++;
	}
	const char *e = memchr(s, '\n', end - s);
	*len = (e ? e : end) - s;
	if (*len && s[*len - 1] == '\r')
		(*len)--;
	return s;
}

static const char *sev_name(enum ipdk_p4c_severity s)
{
	return s == IPDK_P4C_ERROR ? "error" : s == IPDK_P4C_WARNING ? "warning" : "note";
}

void ipdk_p4c_diag_print(const struct ipdk_p4c_program *prog, FILE *out)
{
	struct ipdk_p4c_program *p = (struct ipdk_p4c_program *)prog;

	for (size_t i = 0; i < p->n_diags; i++) {
		struct p4_diag_int *d = &p->diags[i];
		const char *src = NULL;
		size_t len = 0;

		if (d->loc.file >= 0 && d->loc.line)
			fprintf(out, "%s:%u:%u: ", d->pub.file, d->pub.line, d->pub.col);
		fprintf(out, "%s: %s\n", sev_name(d->pub.severity), d->pub.msg);
		if (d->loc.file >= 0 && d->loc.file < p->n_files)
			src = file_line(&p->files[d->loc.file], d->loc.line, &len);
		if (!src)
			continue;
		fprintf(out, "%.*s\n", (int)len, src);
		/* tabs stay tabs so the caret lines up whatever the tab width */
		for (unsigned c = 1; c < d->loc.col && c <= len; c++)
			fputc(src[c - 1] == '\t' ? '\t' : ' ', out);
		fputs("^\n", out);
	}
}

size_t ipdk_p4c_diag_count(const struct ipdk_p4c_program *prog)
{
	return prog->n_diags;
}

size_t ipdk_p4c_error_count(const struct ipdk_p4c_program *prog)
{
	return prog->n_errors;
}

const struct ipdk_p4c_diag *ipdk_p4c_diag_get(const struct ipdk_p4c_program *prog, size_t i)
{
	return i < prog->n_diags ? &prog->diags[i].pub : NULL;
}
