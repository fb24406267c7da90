/*
 * berth-chroot: run one build step in a chroot (the Dockerfile builder's --isolation chroot, buildah's meaning,
 * where no namespace can be made: an unprivileged pod with CAP_SYS_CHROOT).
 *
 *   berth-chroot ROOT CWD UID GID GROUPS -- COMMAND [ARG...]
 *
 * GROUPS is a comma-separated list of supplementary gids ("" for none). The environment is passed through as is.
 * Exits 127 when COMMAND is not found and 126 when it cannot be run, as shells and runtimes do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die(const char *what, const char *arg) {
	fprintf(stderr, "berth-chroot: %s %s: %s\n", what, arg, strerror(errno));
	exit(125);
}

static unsigned long number(const char *text, const char *what) {
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno != 0 || *text == '\0' || *end != '\0' || value > 0xfffffffful) {
		fprintf(stderr, "berth-chroot: bad %s \"%s\"\n", what, text);
		exit(125);
	}
	return value;
}

int main(int argc, char **argv) {
	if (argc < 8 || strcmp(argv[6], "--") != 0) {
		fprintf(stderr, "usage: berth-chroot ROOT CWD UID GID GROUPS -- COMMAND [ARG...]\n");
		return 125;
	}
	uid_t uid = (uid_t)number(argv[3], "uid");
	gid_t gid = (gid_t)number(argv[4], "gid");
	gid_t groups[64];
	size_t ngroups = 0;
	char *list = argv[5];
	for (char *item = strtok(list, ","); item != NULL; item = strtok(NULL, ",")) {
		if (ngroups == sizeof groups / sizeof groups[0]) {
			fprintf(stderr, "berth-chroot: too many groups\n");
			return 125;
		}
		groups[ngroups++] = (gid_t)number(item, "gid");
	}
	if (chroot(argv[1]) != 0) die("chroot", argv[1]);
	if (chdir("/") != 0) die("chdir", "/");
	if (chdir(argv[2]) != 0) die("chdir", argv[2]);
	if (setgroups(ngroups, groups) != 0) die("setgroups", argv[5]);
	if (setgid(gid) != 0) die("setgid", argv[4]);
	if (setuid(uid) != 0) die("setuid", argv[3]);
	execvp(argv[7], &argv[7]);
	int status = errno == ENOENT ? 127 : 126;
	fprintf(stderr, "berth-chroot: %s: %s\n", argv[7], strerror(errno));
	return status;
}
