/*
 * The library's entry points: running the system C preprocessor on a P4 file
 * (with only our p4include directory and the caller's -I on the search path,
 * so no host header leaks in), then lexing, parsing and checking. The
 * preprocessor keeps #line markers so every diagnostic names the original file.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir.h"
#include "p4c_int.h"

#ifndef IPDK_P4INCLUDE_DIR
#define IPDK_P4INCLUDE_DIR "/usr/share/ipdk/p4include"
#endif

struct ipdk_p4c_program *ipdk_p4c_program_new(void)
{
	struct ipdk_p4c_program *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->root = p4n_new(&p->arena, N_PROGRAM, (struct p4_loc){ -1, 0, 0 });
	return p;
}

void ipdk_p4c_program_free(struct ipdk_p4c_program *prog)
{
	if (!prog)
		return;
	for (int i = 0; i < prog->n_files; i++) {
		free(prog->files[i].name);
		free(prog->files[i].text);
	}
	free(prog->files);
	for (size_t i = 0; i < prog->n_diags; i++)
		free((char *)prog->diags[i].pub.msg);
	free(prog->diags);
	free(prog->spec);
	p4_arena_free(&prog->arena);
	free(prog);
}

int ipdk_p4c_parse_string(struct ipdk_p4c_program *prog, const char *name,
			  const char *text, size_t len, struct ipdk_err *err)
{
	struct p4_lexed lx = { 0 };
	size_t before = prog->n_errors;
	int file;

	file = p4_file_add(prog, name, NULL, 0);
	p4_lex(prog, file, text, len, &lx);
	p4_parse(prog, &lx);
	free(lx.toks);
	if (prog->n_errors > before)
		return ipdk_err_set(err, -EINVAL, "%s: %zu syntax error(s)", name,
				    prog->n_errors - before);
	return 0;
}

/* Builds cpp's argument vector; returns a malloc'd NULL-terminated array of
 * arena strings. */
static char **cpp_argv(struct ipdk_p4c_program *prog, const char *path,
		       const struct ipdk_p4c_options *o)
{
	const char *inc = o && o->p4include_dir ? o->p4include_dir : getenv("IPDK_P4INCLUDE");
	size_t n = 0, max = 16 + (o ? 2 * (o->n_include_dirs + o->n_defines) : 0);
	char **argv = calloc(max, sizeof(*argv));

	if (!argv)
		return NULL;
	if (!inc)
		inc = IPDK_P4INCLUDE_DIR;
	argv[n++] = (char *)(o && o->cpp ? o->cpp : "cpp");
	argv[n++] = "-x";
	argv[n++] = "c";
	argv[n++] = "-undef";
	argv[n++] = "-nostdinc";
	argv[n++] = "-w";
	argv[n++] = "-I";
	argv[n++] = (char *)inc;
	for (size_t i = 0; o && i < o->n_include_dirs; i++) {
		argv[n++] = "-I";
		argv[n++] = (char *)o->include_dirs[i];
	}
	for (size_t i = 0; o && i < o->n_defines; i++) {
		size_t l = strlen(o->defines[i]);
		char *d = p4_alloc(&prog->arena, l + 3);

		memcpy(d, "-D", 2);
		memcpy(d + 2, o->defines[i], l + 1);
		argv[n++] = d;
	}
	argv[n++] = (char *)path;
	argv[n] = NULL;
	return argv;
}

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_read(struct buf *b, int fd)
{
	if (b->cap - b->len < 4096) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		char *p = realloc(b->p, cap);

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	ssize_t r = read(fd, b->p + b->len, b->cap - b->len - 1);
	if (r < 0)
		return errno == EINTR ? 1 : -errno;
	b->len += r;
	b->p[b->len] = '\0';
	return r > 0;
}

/* Runs cpp with its stdout and stderr into two buffers, reading both at once
 * so a chatty preprocessor cannot block on a full pipe. */
static int run_cpp(char **argv, struct buf *out, struct buf *errb, int *status)
{
	int po[2], pe[2], ret = 0;
	pid_t pid;

	if (pipe2(po, O_CLOEXEC))
		return -errno;
	if (pipe2(pe, O_CLOEXEC)) {
		ret = -errno;
		goto close_po;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto close_pe;
	}
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
	int open_fds = 2;
	while (open_fds) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			int r = buf_read(i ? errb : out, fds[i].fd);
			if (r < 0)
				ret = r;
			if (r <= 0) {
				fds[i].fd = -1;
				open_fds--;
			}
		}
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
close_pe:
	close(pe[0]);
	if (pe[1] >= 0)
		close(pe[1]);
close_po:
	close(po[0]);
	if (po[1] >= 0)
		close(po[1]);
	return ret;
}

int ipdk_p4c_parse_file(struct ipdk_p4c_program *prog, const char *path,
			const struct ipdk_p4c_options *opts, struct ipdk_err *err)
{
	struct buf out = { 0 }, errb = { 0 };
	int status = 0, ret;
	char **argv;

	if (access(path, R_OK))
		return ipdk_err_set(err, -errno, "%s: %s", path, strerror(errno));
	argv = cpp_argv(prog, path, opts);
	if (!argv)
		return ipdk_err_set(err, -ENOMEM, "%s: out of memory", path);
	ret = run_cpp(argv, &out, &errb, &status);
	if (ret) {
		ipdk_err_set(err, ret, "%s: running %s: %s", path, argv[0], strerror(-ret));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		/* cpp's own messages already say file:line: keep them whole */
		size_t l = errb.len;
		while (l && (errb.p[l - 1] == '\n'))
			l--;
		ret = ipdk_err_set(err, -EINVAL, "%s: preprocessing failed: %.*s", path,
				   (int)(l > 400 ? 400 : l), errb.p ? errb.p : "");
		p4_error(prog, ((struct p4_loc){ -1, 0, 0 }), "%s", err ? err->msg : "preprocessing failed");
		goto out;
	}
	ret = ipdk_p4c_parse_string(prog, path, out.p ? out.p : "", out.len, err);
out:
	free(out.p);
	free(errb.p);
	free(argv);
	return ret;
}

int ipdk_p4c_check(struct ipdk_p4c_program *prog, struct ipdk_err *err)
{
	size_t before = prog->n_errors;

	if (!prog->checked) {
		prog->checked = true;
		p4_check(prog);
	}
	if (prog->n_errors > before || prog->n_errors)
		return ipdk_err_set(err, -EINVAL, "%zu error(s)", prog->n_errors);
	return 0;
}

char *ipdk_p4c_dump(const struct ipdk_p4c_program *prog)
{
	return p4_dump(prog->root);
}

int ipdk_p4c_compile(struct ipdk_p4c_program *prog, const char *arch, const char *name,
		     struct ipdk_err *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	if (!prog->checked || prog->n_errors)
		return ipdk_err_set(err, -EINVAL, "the program has errors");
	prog->ir = ir_lower(prog, arch, name ? name : "program");
	if (!prog->ir)
		return ipdk_err_set(err, -EINVAL, "%zu error(s)", prog->n_errors);
	f = open_memstream(&text, &len);
	if (!f)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	ret = dpdk_emit(prog->ir, f);
	fclose(f);
	if (ret) {
		free(text);
		return ipdk_err_set(err, ret, "%zu error(s)", prog->n_errors);
	}
	free(prog->spec);
	prog->spec = text;
	return 0;
}

const char *ipdk_p4c_spec(const struct ipdk_p4c_program *prog)
{
	return prog->spec;
}

int ipdk_p4c_write_ir(const struct ipdk_p4c_program *prog, FILE *f)
{
	if (!prog->ir)
		return -EINVAL;
	ir_print(prog->ir, f);
	return ferror(f) ? -EIO : 0;
}

#ifdef IPDK_P4C_PROTOBUF
int ipdk_p4c_write_p4info_text(const struct ipdk_p4c_program *prog, FILE *f)
{
	return prog->ir ? p4info_write(prog->ir, f, false) : -EINVAL;
}

int ipdk_p4c_write_p4info_binary(const struct ipdk_p4c_program *prog, FILE *f)
{
	return prog->ir ? p4info_write(prog->ir, f, true) : -EINVAL;
}

int ipdk_p4c_write_device_config(const struct ipdk_p4c_program *prog, FILE *f)
{
	return prog->ir ? bundle_write_device_config(prog->ir, prog->spec, f) : -EINVAL;
}

int ipdk_p4c_write_bundle(const struct ipdk_p4c_program *prog, FILE *f)
{
	return prog->ir ? bundle_write(prog->ir, prog->spec, f) : -EINVAL;
}
#else
/* Built without protobuf-c: P4Info and bundles cannot be written. */
int ipdk_p4c_write_p4info_text(const struct ipdk_p4c_program *prog, FILE *f)
{
	(void)prog, (void)f;
	return -ENOTSUP;
}

int ipdk_p4c_write_p4info_binary(const struct ipdk_p4c_program *prog, FILE *f)
{
	(void)prog, (void)f;
	return -ENOTSUP;
}

int ipdk_p4c_write_device_config(const struct ipdk_p4c_program *prog, FILE *f)
{
	(void)prog, (void)f;
	return -ENOTSUP;
}

int ipdk_p4c_write_bundle(const struct ipdk_p4c_program *prog, FILE *f)
{
	(void)prog, (void)f;
	return -ENOTSUP;
}
#endif

int ipdk_p4c_write_context(const struct ipdk_p4c_program *prog, FILE *f)
{
	return prog->ir ? context_write_json(prog->ir, f) : -EINVAL;
}
