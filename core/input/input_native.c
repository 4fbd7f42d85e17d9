/* SPDX-License-Identifier: MIT */
/*
 * input_native.c: the systemd journal's native protocol (`type = "native"`)
 * on a unix datagram socket, so that sd_journal_send(), python-systemd and
 * every other journal client log to sluice unchanged.
 *
 * DESIGN
 *
 * The socket is the unix kind's (input_unix.h: the same bind with an exact
 * mode, the same drain and close); only the reading differs: each datagram
 * goes to native_read (sl_dgram_set_reader) with the kernel's credentials
 * and any descriptors it carried, which the dgram layer closes afterwards,
 * whatever happened. One datagram is one entry (parse_native.h). A client
 * whose entry does not fit a datagram (sd_journal_sendv on EMSGSIZE or
 * ENOBUFS) sends an empty datagram with one memfd; as journald does
 * (server_process_native_file, memfd_get_sealed), it must be sealed
 * against writing, shrinking and growing (F_SEAL_WRITE | F_SEAL_SHRINK |
 * F_SEAL_GROW; other seals do not matter), so that its bytes cannot change
 * under us nor its pages vanish (SIGBUS) while mapped. journald also reads
 * unsealed files that lie in /tmp, /var/tmp or /dev/shm; we refuse every
 * unsealed descriptor (counted `unsealed`): a path is a name we did not
 * choose. Descriptors with a non-empty datagram, or more than one, are
 * malformed (journald ignores them too).
 *
 * A bad entry (malformed, too large, unsealed) is counted as received and
 * by its reason, and dropped alone; the next datagram is read as usual.
 *
 * Trusted fields. Keys starting with '_' come only from us: the parser
 * drops a client's (forged_fields). From the credentials: _PID, _UID, _GID
 * (also m->pid/uid/gid with SL_MSG_HAS_CRED, so ratelimit and the json
 * output's pid/uid/gid work as for the unix kind), _TRANSPORT=journal, and
 * from /proc/PID: _COMM, _EXE, _CMDLINE (NULs as spaces, as journald). The
 * trusted fields come first, so the message's SL_MSG_MAX_FIELDS limit
 * never pushes them out: a client's fields past it are fields_dropped.
 *
 * /proc is read under names we make ("/proc/<pid>" opened as a directory
 * with O_NOFOLLOW, then comm, cmdline and the exe link itself relative to
 * it, never followed), each read bounded. Opening three files per entry
 * would cost more than the rest of the entry, so what was read is kept
 * per pid for PROC_TTL seconds (journald caches its client contexts too):
 * a process that execs within that time keeps its old _COMM for it.
 * Reading may fail (the sender exited already, another user's process
 * without privileges): then those fields are absent. As for journald, the
 * pid is the sender's when it sent: one that exited and was reused since
 * names another process, and reading cmdline waits for the process's
 * memory map lock, which a process stuck in the kernel may hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input/input_unix.h"
#include "common/alloc.h"
#include "common/log.h"
#include "parse/parse_native.h"
#include "parse/parse.h"

#ifndef F_GET_SEALS /* glibc < 2.27 */
#define F_GET_SEALS 1034
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#define SEALED (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

#define PROC_SLOTS 16 /* pids remembered (about 130 KiB), by a hash of the pid */
#define PROC_TTL 2   /* seconds a reading of /proc/PID is reused */
_Static_assert(PROC_SLOTS == 16, "proc_of() hashes a pid to 4 bits");
#define COMM_MAX 64  /* TASK_COMM_LEN is 16 */
#define EXE_MAX 4096
#define CMDLINE_MAX 4096

/* What /proc said about one pid. */
struct proc_info {
    pid_t pid;  /* 0: empty */
    int64_t at; /* pool.now.sec when read */
    int comm_len, exe_len, cmd_len; /* -1: could not be read */
    char comm[COMM_MAX];
    char exe[EXE_MAX];
    char cmdline[CMDLINE_MAX];
};

/* The last credentials seen, as text: a sender's entries come in runs,
 * and three snprintf() calls an entry were a tenth of its cost. */
struct cred_text {
    struct ucred cred;
    bool valid;
    int len[3];
    char text[3][24]; /* _PID, _UID, _GID */
};

struct native {
    struct sl_ratelimit map_log; /* mmap() failures */
    struct cred_text last;
    struct proc_info proc[PROC_SLOTS];
};

/* One entry's parse, for native_parse (the hook's arg). */
struct entry_ctx {
    struct native *st;
    const struct ucred *cred; /* NULL without credentials */
    int64_t now;
    struct sl_native_counts counts;
};

/* One writer per counter (the input thread): a relaxed add is enough. */
static void bump(atomic_uint_fast64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

/* An entry dropped before parsing: received (what was sent), and why. */
static struct sl_msg *refuse(struct sl_input *in, atomic_uint_fast64_t *why, size_t len)
{
    bump(&in->stats.received, 1);
    bump(&in->stats.bytes, len);
    bump(why, 1);
    return NULL;
}

/* {=== /proc/PID */

/* Reads at most cap bytes of name under dfd into buf; the length, or -1. */
static int read_small(int dfd, const char *name, char *buf, size_t cap)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    return (int)n;
}

static void read_proc(struct proc_info *p, pid_t pid, int64_t now)
{
    p->pid = pid;
    p->at = now;
    p->comm_len = p->exe_len = p->cmd_len = -1;
    char path[32];
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return;
    p->comm_len = read_small(dfd, "comm", p->comm, sizeof p->comm);
    if (p->comm_len > 0 && p->comm[p->comm_len - 1] == '\n')
        p->comm_len--;
    ssize_t n = readlinkat(dfd, "exe", p->exe, sizeof p->exe);
    p->exe_len = n > 0 && (size_t)n < sizeof p->exe ? (int)n : -1; /* cut: not a path */
    int c = read_small(dfd, "cmdline", p->cmdline, sizeof p->cmdline);
    while (c > 0 && p->cmdline[c - 1] == '\0')
        c--;
    for (int i = 0; i < c; i++) {
        if (p->cmdline[i] == '\0')
            p->cmdline[i] = ' ';
    }
    p->cmd_len = c > 0 ? c : -1; /* a kernel thread has none */
    close(dfd);
}

/* What /proc says about pid, read now or up to PROC_TTL seconds ago. */
static const struct proc_info *proc_of(struct native *st, pid_t pid, int64_t now)
{
    /* Fibonacci hashing: pids of one burst of forks are consecutive */
    struct proc_info *p = &st->proc[((uint32_t)pid * 2654435761u) >> 28];
    if (p->pid != pid || now - p->at >= PROC_TTL || now < p->at)
        read_proc(p, pid, now);
    return p;
}
/* }=== */

/* Adds a trusted field; as for any field, one that does not fit is
 * skipped (the builder's contract). */
static void trusted(struct sl_msg_builder *b, const char *key, const char *v, int len)
{
    if (len > 0)
        sl_msg_build_field(b, key, strlen(key), v, (size_t)len);
}

/* The text of cred's pid, uid and gid, formatted when they change. */
static const struct cred_text *cred_text(struct native *st, const struct ucred *cred)
{
    struct cred_text *t = &st->last;
    if (!t->valid || t->cred.pid != cred->pid || t->cred.uid != cred->uid
        || t->cred.gid != cred->gid) {
        t->cred = *cred;
        t->valid = true;
        t->len[0] = snprintf(t->text[0], sizeof t->text[0], "%lld", (long long)cred->pid);
        t->len[1] = snprintf(t->text[1], sizeof t->text[1], "%lld", (long long)cred->uid);
        t->len[2] = snprintf(t->text[2], sizeof t->text[2], "%lld", (long long)cred->gid);
    }
    return t;
}

static void trusted_fields(struct sl_msg_builder *b, struct entry_ctx *e)
{
    trusted(b, "_TRANSPORT", "journal", 7);
    if (e->cred == NULL)
        return;
    const struct cred_text *t = cred_text(e->st, e->cred);
    trusted(b, "_UID", t->text[1], t->len[1]);
    trusted(b, "_GID", t->text[2], t->len[2]);
    /* pid 0: a sender in a pid namespace we cannot see into names no
     * process of ours (journald skips it too) */
    if (e->cred->pid <= 0)
        return;
    trusted(b, "_PID", t->text[0], t->len[0]);
    const struct proc_info *p = proc_of(e->st, e->cred->pid, e->now);
    trusted(b, "_COMM", p->comm, p->comm_len);
    trusted(b, "_EXE", p->exe, p->exe_len);
    trusted(b, "_CMDLINE", p->cmdline, p->cmd_len);
}

/* The fields parser hook (msg.h): trusted fields, then the entry's own. */
static int native_parse(struct sl_msg_builder *b, const struct sl_parse_ctx *ctx, void *arg)
{
    struct entry_ctx *e = arg;
    trusted_fields(b, e);
    int rc = sl_parse_native(b, &e->counts);
    if (rc < 0)
        return rc;
    struct sl_msg *m = b->m;
    m->hostname = ctx->hostname; /* a local socket: the local host, as the unix kind */
    if (e->cred != NULL) {
        m->pid = e->cred->pid;
        m->uid = e->cred->uid;
        m->gid = e->cred->gid;
        m->flags |= SL_MSG_HAS_CRED;
    }
    return 0;
}

/* One entry's bytes (a datagram's, or a memfd's) into a message. */
static struct sl_msg *entry(struct sl_input *in, struct native *st, const char *p, size_t len,
                            const struct ucred *cred)
{
    struct entry_ctx e = {.st = st, .cred = cred, .now = in->pool.now.sec};
    int rc;
    struct sl_msg *m = sl_input_message_fields(in, native_parse, &e, p, len, NULL, 0, 0, &rc);
    if (m != NULL) {
        bump(&in->stats.forged_fields, e.counts.forged);
        bump(&in->stats.fields_dropped, e.counts.dropped);
    }
    return m;
}

/* An empty datagram's one descriptor: a sealed memfd holding the entry
 * (see the top). fd stays the dgram layer's, which closes it. */
static struct sl_msg *memfd_entry(struct sl_input *in, struct native *st, int fd,
                                  const struct ucred *cred)
{
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
        return refuse(in, &in->stats.unsealed, 0); /* a socket, a pipe, ...: not a memfd */
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & SEALED) != SEALED)
        return refuse(in, &in->stats.unsealed, 0);
    if (sb.st_size <= 0)
        return refuse(in, &in->stats.malformed, 0); /* no field at all */
    if ((uint64_t)sb.st_size > in->conf->max_message)
        return refuse(in, &in->stats.too_large, (size_t)sb.st_size);
    size_t len = (size_t)sb.st_size;
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) { /* no room to map it (ENOMEM): too large for now */
        if (sl_ratelimit_ok(&st->map_log))
            sl_log(SL_LOG_WARNING, errno, "input \"%s\": mmap() of a %zu-byte memfd failed",
                   in->conf->name, len);
        return refuse(in, &in->stats.too_large, len);
    }
    struct sl_msg *m = entry(in, st, p, len, cred);
    munmap(p, len);
    return m;
}

/* The dgram layer's reader (input_dgram.h). */
static struct sl_msg *native_read(struct sl_input *in, void *arg,
                                  const struct sl_dgram_packet *pkt)
{
    struct native *st = arg;
    if (pkt->nfds > 0 || pkt->ctl_cut) {
        if (pkt->nfds == 1 && pkt->len == 0 && !pkt->ctl_cut)
            return memfd_entry(in, st, pkt->fds[0], pkt->cred);
        return refuse(in, &in->stats.malformed, pkt->len);
    }
    if (pkt->cut || pkt->len > in->conf->max_message)
        return refuse(in, &in->stats.too_large, pkt->len);
    return entry(in, st, pkt->data, pkt->len, pkt->cred);
}

static int native_open(struct sl_input *in, char *err, size_t errlen)
{
    struct native *st = sl_calloc(1, sizeof *st);
    if (st == NULL) {
        snprintf(err, errlen, "input \"%s\": out of memory", in->conf->name);
        return -ENOMEM;
    }
    st->map_log.interval = 10;
    st->map_log.burst = 5;
    struct sl_dgram *d;
    int rc = sl_unix_dgram_open(in, &d, err, errlen);
    if (rc < 0) {
        free(st);
        return rc;
    }
    sl_dgram_set_reader(d, native_read, st);
    in->impl = d;
    return 0;
}

static void native_close(struct sl_input *in)
{
    struct native *st = in->impl != NULL ? sl_dgram_reader_arg(in->impl) : NULL;
    sl_unix_dgram_close(in);
    free(st);
}

/* Larger than syslog's 64 KiB: an entry of 1 MiB (a memfd's, or a root
 * sender's datagram: sd_journal raises its SO_SNDBUF to 8 MiB) passes. */
#define NATIVE_DEFAULT_MAX_MESSAGE (4u << 20)

static const struct sl_input_key native_keys[] = {
    {"path", SL_INPUT_KEY_PATH, offsetof(struct sl_input_conf, path), 0, 0, true, true},
    SL_INPUT_KEY_MAX_MESSAGE_ENTRY,
    SL_INPUT_KEY_RCVBUF_ENTRY,
    SL_INPUT_KEY_COALESCE_ENTRY,
    {"mode", SL_INPUT_KEY_MODE, offsetof(struct sl_input_conf, mode), 0, 0777, false, false},
    SL_INPUT_KEY_RATELIMIT_ENTRY, /* the kernel's credentials say who sent each entry */
    {NULL},
};

static const struct sl_input_counter native_counters[] = {
    {"kernel_drops", offsetof(struct sl_input_stats, kernel_drops)},
    {"suppressed", offsetof(struct sl_input_stats, suppressed)},
    {"malformed", offsetof(struct sl_input_stats, malformed)},
    {"too_large", offsetof(struct sl_input_stats, too_large)},
    {"unsealed", offsetof(struct sl_input_stats, unsealed)},
    {"forged_fields", offsetof(struct sl_input_stats, forged_fields)},
    {"fields_dropped", offsetof(struct sl_input_stats, fields_dropped)},
    {NULL},
};

const struct sl_input_kind sl_input_native = {
    .name = "native",
    .keys = native_keys,
    .ops = {
        .open = native_open,
        .event = sl_dgram_event,
        .resume = sl_dgram_resume,
        .drain = sl_unix_dgram_drain,
        .unpark = sl_dgram_unpark,
        .close = native_close,
        .refresh_stats = sl_dgram_refresh_stats,
    },
    .parse = sl_parse, /* unused: native_read makes every message */
    .counters = native_counters,
    .max_message = NATIVE_DEFAULT_MAX_MESSAGE,
    .senders_wait = true,
};
