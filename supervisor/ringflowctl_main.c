/*
 * ringflowctl_main.c — `ringflowctl [-s SOCKET] COMMAND`: sends one command
 * line to the control socket and prints the reply. Exit status 0 when the
 * reply starts with OK, 1 on ERR, 2 when the socket cannot be reached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/ringflow/ringflow.sock"

static void usage(FILE *f)
{
	fprintf(f, "usage: ringflowctl [-s SOCKET] COMMAND [ARGS]\n"
		   "commands: status, stats, stop, help\n"
		   "SOCKET defaults to $RINGFLOW_SOCKET or " DEFAULT_SOCKET "\n");
}

int main(int argc, char **argv)
{
	const char *sock = getenv("RINGFLOW_SOCKET");
	if (!sock || !*sock)
		sock = DEFAULT_SOCKET;
	int opt;
	while ((opt = getopt(argc, argv, "+s:h")) != -1) {
		if (opt == 's')
			sock = optarg;
		else if (opt == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 64;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 64;
	}
	char cmd[512] = "";
	for (int i = optind; i < argc; i++) {
		if (strlen(cmd) + strlen(argv[i]) + 2 >= sizeof cmd) {
			fprintf(stderr, "ringflowctl: command too long\n");
			return 64;
		}
		if (i > optind)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	strcat(cmd, "\n");

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sock) >= sizeof sa.sun_path) {
		fprintf(stderr, "ringflowctl: socket path too long: %s\n", sock);
		return 2;
	}
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		fprintf(stderr, "ringflowctl: cannot connect to %s: %s\n", sock, strerror(errno));
		return 2;
	}
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		fprintf(stderr, "ringflowctl: write to %s failed: %s\n", sock, strerror(errno));
		return 2;
	}
	shutdown(fd, SHUT_WR);
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 4096 > cap) {
			cap *= 2;
			char *p = realloc(buf, cap);
			if (!p) {
				free(buf);
				return 2;
			}
			buf = p;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	int rc = 2;
	if (len >= 3 && !memcmp(buf, "OK\n", 3)) {
		fwrite(buf + 3, 1, len - 3, stdout);
		rc = 0;
	} else if (len >= 4 && !memcmp(buf, "ERR ", 4)) {
		fprintf(stderr, "ringflowctl: ");
		fwrite(buf + 4, 1, len - 4, stderr);
		rc = 1;
	} else {
		fprintf(stderr, "ringflowctl: unexpected reply from %s\n", sock);
	}
	free(buf);
	return rc;
}
