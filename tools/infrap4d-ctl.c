/*
 * infrap4d-ctl: the command-line client of infrap4d's local control socket.
 * Sends one command built from its arguments, or one per line from a file or
 * standard input, prints the replies and exits non-zero on the first error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/infrap4d.sock"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: infrap4d-ctl [-S SOCKET] COMMAND [ARGS...]\n"
"       infrap4d-ctl [-S SOCKET] -f FILE|-   (one command per line)\n"
"Talks to infrap4d's local control socket (default %s).\n"
"\n"
"  -S, --socket PATH   control socket\n"
"  -f, --file FILE     read commands from FILE (- for standard input)\n"
"  -k, --keep-going    with -f: go on after a failed command\n"
"  -q, --quiet         print only replies' data and errors, not OK\n"
"  -h, --help          this help\n"
"\n"
"Run \"infrap4d-ctl help\" for the daemon's commands, e.g.\n"
"  infrap4d-ctl add l2_fwd match 00:00:00:00:00:02 action l2_forward port 1\n"
"  infrap4d-ctl dump l2_fwd\n", DEFAULT_SOCKET);
}

struct conn {
	FILE *in;
	int fd;
};

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "infrap4d-ctl: socket path %s too long\n", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "infrap4d-ctl: cannot connect to %s: %s (is infrap4d running?)\n",
			path, strerror(errno));
		return -1;
	}
	c->in = fdopen(dup(c->fd), "r");
	return c->in ? 0 : -1;
}

/* Sends one line and copies the reply to stdout; returns 0 for OK, 1 for ERR. */
static int run(struct conn *c, const char *line, bool quiet)
{
	char buf[65536];
	size_t len = strlen(line);

	if (write(c->fd, line, len) != (ssize_t)len || write(c->fd, "\n", 1) != 1) {
		fprintf(stderr, "infrap4d-ctl: connection lost: %s\n", strerror(errno));
		return 2;
	}
	while (fgets(buf, sizeof(buf), c->in)) {
		if (!strcmp(buf, "OK\n")) {
			if (!quiet)
				fputs(buf, stdout);
			return 0;
		}
		if (!strncmp(buf, "ERR ", 4)) {
			fflush(stdout);
			fprintf(stderr, "error: %s", buf + 4);
			return 1;
		}
		fputs(buf, stdout);
	}
	fprintf(stderr, "infrap4d-ctl: connection closed by infrap4d\n");
	return 2;
}

static int run_file(struct conn *c, const char *path, bool keep_going, bool quiet)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char line[65536];
	unsigned int lineno = 0;
	int worst = 0;

	if (!f) {
		fprintf(stderr, "infrap4d-ctl: %s: %s\n", path, strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		int rc;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[strspn(line, " \t")] || line[strspn(line, " \t")] == '#')
			continue;
		rc = run(c, line, quiet);
		if (rc) {
			fprintf(stderr, "infrap4d-ctl: %s:%u: command failed\n", path, lineno);
			worst = rc > worst ? rc : worst;
			if (!keep_going || rc == 2)
				break;
		}
	}
	if (f != stdin)
		fclose(f);
	return worst;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "file", required_argument, NULL, 'f' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = getenv("INFRAP4D_SOCKET"), *file = NULL;
	bool keep_going = false, quiet = false;
	struct conn c;
	char *line;
	size_t len = 0;
	int opt, rc;

	if (!sock)
		sock = DEFAULT_SOCKET;
	while ((opt = getopt_long(argc, argv, "+S:f:kqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'S': sock = optarg; break;
		case 'f': file = optarg; break;
		case 'k': keep_going = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!file && optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (conn_open(&c, sock))
		return 2;
	if (file)
		return run_file(&c, file, keep_going, quiet);
	for (int i = optind; i < argc; i++)
		len += strlen(argv[i]) + 1;
	line = calloc(1, len + 1);
	if (!line)
		return 2;
	for (int i = optind; i < argc; i++) {
		strcat(line, argv[i]);
		if (i + 1 < argc)
			strcat(line, " ");
	}
	rc = run(&c, line, quiet);
	free(line);
	return rc;
}
