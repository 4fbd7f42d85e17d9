/* sluicectl.c: sends one command to sluiced's control socket and prints
 * the answer. Exit status: 0 ok, 1 an error answer or no daemon, 2 usage. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/sluice.ctl"

static void usage(FILE *out)
{
    fprintf(out, "Usage: sluicectl [-s SOCKET] stats|reload|reopen|flush\n"
                 "  -s SOCKET   the daemon's control socket (default $SLUICE_CONTROL or "
                 DEFAULT_SOCKET ")\n"
                 "See sluicectl(1).\n");
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = getenv("SLUICE_CONTROL");
    if (path == NULL || path[0] == '\0')
        path = DEFAULT_SOCKET;
    int opt;
    while ((opt = getopt(argc, argv, "s:hV")) != -1) {
        switch (opt) {
        case 's': path = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("sluicectl %s\n", PACKAGE_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    if (strcmp(cmd, "stats") && strcmp(cmd, "reload") && strcmp(cmd, "reopen") &&
        strcmp(cmd, "flush")) {
        fprintf(stderr, "sluicectl: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "sluicectl: socket path \"%s\" is too long\n", path);
        return 1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "sluicectl: connect() \"%s\" failed (%d: %s)\n", path, errno,
                strerror(errno));
        return 1;
    }
    if (send_all(fd, cmd, strlen(cmd)) < 0 || send_all(fd, "\n", 1) < 0) {
        fprintf(stderr, "sluicectl: write() \"%s\" failed (%d: %s)\n", path, errno,
                strerror(errno));
        return 1;
    }
    char buf[8192];
    ssize_t r;
    int rc = 0;
    bool first = true;
    while ((r = read(fd, buf, sizeof buf)) > 0) {
        if (first && r >= 6 && memcmp(buf, "error:", 6) == 0)
            rc = 1;
        first = false;
        fwrite(buf, 1, (size_t)r, stdout);
    }
    if (first) {
        fprintf(stderr, "sluicectl: no answer from \"%s\"\n", path);
        rc = 1;
    }
    close(fd);
    return rc;
}
