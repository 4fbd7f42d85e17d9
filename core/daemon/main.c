/* SPDX-License-Identifier: MIT */
/* main.c: sluiced's command line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/import_rsyslog.h"
#include "daemon/daemon.h"
#include "daemon/limits.h"
#include "common/log.h"
#include "common/alloc.h"
#include "common/paths.h" /* written by make: SL_PLUGINDIR, SL_SYSCONFDIR */

#define DEFAULT_CONFIG SL_SYSCONFDIR "/sluice/sluice.lua"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: sluiced [options]\n"
            "  -n, --foreground        stay in the foreground\n"
            "  -c, --config FILE       configuration (default " DEFAULT_CONFIG ")\n"
            "  -P, --plugin-path DIR   look for output plugins in DIR first (repeatable)\n"
            "  -p, --pidfile FILE      write the process id to FILE\n"
            "  -v, --verbose           log debug lines too\n"
            "      --check             check the configuration and exit (0: good, 1: errors)\n"
            "      --import-rsyslog FILE  print FILE (an rsyslog.conf) as a sluice.lua\n"
            "  -V, --version           print the version and exit\n"
            "  -h, --help              print this help and exit\n"
            "Plugins are looked for in the -P directories, settings.plugin_path,\n"
            "$SLUICE_PLUGIN_PATH, then " SL_PLUGINDIR ".\n"
            "See sluiced(8) and sluice.lua(5).\n");
}

/* Forks; the parent waits for the child's start-up status and exits with
 * it, so `sluiced -c bad.lua` fails visibly even in the background. Returns
 * 0 in the child, or -1 (logged) when it could not fork. */
static int daemonize(int *ready_fd)
{
    int p[2];
    if (pipe(p) < 0) {
        sl_log(SL_LOG_ERR, errno, "pipe() failed");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        sl_log(SL_LOG_ERR, errno, "fork() failed");
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        char status = 1;
        ssize_t r = read(p[0], &status, 1);
        _exit(r == 1 ? status : 1);
    }
    close(p[0]);
    setsid();
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    *ready_fd = p[1];
    return 0;
}

/* --import-rsyslog FILE: the sluice.lua on stdout, each line not converted
 * on stderr. Returns the exit status: 0, or 1 when FILE cannot be read. */
static int import_rsyslog(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0, cap = 0;
    if (f == NULL) {
        fprintf(stderr, "sluiced: fopen() \"%s\" failed (%d: %s)\n", path, errno, strerror(errno));
        return 1;
    }
    bool bad = false;
    while (!bad && !feof(f) && !ferror(f)) {
        if (len == cap) {
            char *t = cap < (64u << 20) ? sl_realloc(text, cap = cap ? cap * 2 : 65536) : NULL;
            bad = t == NULL; /* past 64M, or out of memory */
            text = t ? t : text;
        }
        if (!bad)
            len += fread(text + len, 1, cap - len, f);
    }
    bad = bad || ferror(f);
    fclose(f);
    struct sl_import im;
    if (bad || sl_import_rsyslog(text ? text : "", len, path, &im) < 0) {
        fprintf(stderr, "sluiced: \"%s\": %s\n", path,
                bad ? "could not read it whole (at most 64M)" : "out of memory");
        free(text);
        return 1;
    }
    fwrite(im.lua, 1, im.len, stdout);
    for (size_t i = 0; i < im.nskipped; i++)
        fprintf(stderr, "sluiced: %s:%u: not converted (%s): %s\n", path, im.skipped[i].line,
                im.skipped[i].why, im.skipped[i].text);
    sl_import_free(&im);
    free(text);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int add_path(struct sl_strlist *l, const char *dir)
{
    char **v = sl_realloc(l->v, (l->n + 1) * sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    l->v = v;
    l->v[l->n++] = (char *)dir; /* argv outlives everything */
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"foreground", no_argument, NULL, 'n'},
        {"config", required_argument, NULL, 'c'},
        {"plugin-path", required_argument, NULL, 'P'},
        {"pidfile", required_argument, NULL, 'p'},
        {"verbose", no_argument, NULL, 'v'},
        {"check", no_argument, NULL, 'C'},
        {"import-rsyslog", required_argument, NULL, 'I'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* Past RLIMIT_FSIZE, write() would raise SIGXFSZ and kill the daemon
     * (every output, every queued message); ignored, it fails with EFBIG,
     * which an output reports and retries like a full disk. */
    signal(SIGXFSZ, SIG_IGN);
    struct sl_options o = {.config_path = DEFAULT_CONFIG};
    bool check = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "nc:P:p:vVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': o.foreground = true; break;
        case 'c': o.config_path = optarg; break;
        case 'P':
            if (add_path(&o.plugin_path, optarg) < 0) {
                fprintf(stderr, "sluiced: -P \"%s\": out of memory\n", optarg);
                free(o.plugin_path.v);
                return 1;
            }
            break;
        case 'p': o.pidfile = optarg; break;
        case 'v': o.verbose = true; break;
        case 'C': check = true; break;
        case 'I': free(o.plugin_path.v); return import_rsyslog(optarg);
        case 'V': printf("sluiced %s\n", PACKAGE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sluiced: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (o.verbose)
        sl_log_set_level(SL_LOG_DEBUG);
    /* Before --check too, which judges the config against the limit the
     * daemon will have (limits.h). */
    sl_limits_raise_nofile();
    int rc;
    if (check) {
        rc = sl_daemon_check(&o);
    } else {
        int ready_fd = -1;
        if (!o.foreground && daemonize(&ready_fd) < 0) {
            free(o.plugin_path.v);
            return 1;
        }
        rc = sl_daemon_run(&o, ready_fd);
    }
    free(o.plugin_path.v);
    return rc;
}
