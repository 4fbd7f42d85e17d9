/* SPDX-License-Identifier: MIT */
/*
 * privs.c: settings.user and settings.group (privs.h): resolving the
 * names, dropping to them after start, and checking there is no way back.
 *
 * Thread: main.
 *
 * Why after the whole start: binding a port below 1024, opening
 * /dev/kmsg, creating the pidfile and the control socket in /run and the
 * outputs' files in /var/log all need root. Once they are open, the
 * daemon keeps them as descriptors and needs root no more, until a reload
 * or a rotation asks for something new: that is then done as the user,
 * and refused where the user may not (sl_privs_explain says why).
 */
#include "config.h" /* _GNU_SOURCE: getresuid, setresuid, initgroups */

#include "daemon/privs.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"

/* {=== resolving */

/* A decimal id ("65534"), as chown takes one; false for a name. */
static bool parse_id(const char *s, unsigned long *out)
{
    if (s[0] < '0' || s[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || errno != 0 || v >= (unsigned long)(uid_t)-1)
        return false;
    *out = v;
    return true;
}

/* Room for getpw*_r / getgr*_r: sysconf's hint, doubled on ERANGE. */
static size_t first_size(int name)
{
    long n = sysconf(name);
    return n > 0 && n < 1 << 20 ? (size_t)n : 16384;
}

#define MAX_LOOKUP_BUF (1u << 22) /* a group with very many members: 4 MiB */

/* The passwd entry of name, or of uid when name is NULL: 0 with *found set
 * (its gid and name copied to p), or a negative errno. */
static int lookup_user(const char *name, uid_t uid, struct sl_privs *p, bool *found)
{
    struct passwd pw, *res = NULL;
    int rc;
    *found = false;
    for (size_t size = first_size(_SC_GETPW_R_SIZE_MAX);; size *= 2) {
        char *buf = sl_malloc(size);
        if (buf == NULL)
            return -ENOMEM;
        rc = name != NULL ? getpwnam_r(name, &pw, buf, size, &res)
                          : getpwuid_r(uid, &pw, buf, size, &res);
        if (rc == 0 && res != NULL) {
            p->uid = pw.pw_uid;
            p->gid = pw.pw_gid;
            *found = snprintf(p->name, sizeof p->name, "%s", pw.pw_name) < (int)sizeof p->name;
            p->has_entry = *found;
        }
        free(buf);
        if (rc != ERANGE || size >= MAX_LOOKUP_BUF)
            break;
    }
    /* getpwnam_r's "not found" is 0 with no result, or one of these. */
    return rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM ? 0 : -rc;
}

/* The gid of group name: 0 with *found set, or a negative errno. */
static int lookup_group(const char *name, gid_t *gid, bool *found)
{
    struct group gr, *res = NULL;
    int rc;
    *found = false;
    for (size_t size = first_size(_SC_GETGR_R_SIZE_MAX);; size *= 2) {
        char *buf = sl_malloc(size);
        if (buf == NULL)
            return -ENOMEM;
        rc = getgrnam_r(name, &gr, buf, size, &res);
        if (rc == 0 && res != NULL) {
            *gid = gr.gr_gid;
            *found = true;
        }
        free(buf);
        if (rc != ERANGE || size >= MAX_LOOKUP_BUF)
            break;
    }
    return rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM ? 0 : -rc;
}

static int resolve_user(const char *user, bool gid_given, struct sl_privs *p, char *err,
                        size_t errlen)
{
    unsigned long id;
    bool numeric = parse_id(user, &id), found;
    int rc = lookup_user(numeric ? NULL : user, numeric ? (uid_t)id : 0, p, &found);
    if (rc < 0) {
        snprintf(err, errlen, "settings.user: cannot look \"%s\" up (%d: %s)", user, -rc,
                 strerror(-rc));
        return rc;
    }
    if (found)
        return 0;
    if (!numeric) {
        snprintf(err, errlen, "settings.user: no user \"%s\" in the password database "
                 "(getent passwd %s)", user, user);
        return -ENOENT;
    }
    /* A uid with no entry: no name for initgroups, no primary group. */
    if (!gid_given) {
        snprintf(err, errlen, "settings.user: uid %lu has no password entry, so it has no "
                 "primary group: give settings.group too", id);
        return -EINVAL;
    }
    p->uid = (uid_t)id;
    snprintf(p->name, sizeof p->name, "%lu", id);
    return 0;
}

static int resolve_group(const char *group, gid_t *gid, char *err, size_t errlen)
{
    unsigned long id;
    if (parse_id(group, &id)) {
        *gid = (gid_t)id;
        return 0;
    }
    bool found;
    int rc = lookup_group(group, gid, &found);
    if (rc < 0) {
        snprintf(err, errlen, "settings.group: cannot look \"%s\" up (%d: %s)", group, -rc,
                 strerror(-rc));
        return rc;
    }
    if (!found) {
        snprintf(err, errlen, "settings.group: no group \"%s\" in the group database "
                 "(getent group %s)", group, group);
        return -ENOENT;
    }
    return 0;
}

int sl_privs_resolve(const char *user, const char *group, struct sl_privs *out, char *err,
                     size_t errlen)
{
    struct sl_privs p = {.set = user != NULL || group != NULL, .has_user = user != NULL};
    int rc = 0;
    if (user != NULL)
        rc = resolve_user(user, group != NULL, &p, err, errlen);
    gid_t gid = p.gid;
    if (rc == 0 && group != NULL && (rc = resolve_group(group, &gid, err, errlen)) == 0) {
        p.gid = gid;
        if (user == NULL)
            snprintf(p.name, sizeof p.name, "%s", group);
    }
    if (rc == 0)
        *out = p;
    return rc;
}

void sl_privs_check(const struct sl_config *c, struct sl_errors *errs)
{
    struct sl_privs p;
    char err[512];
    if (sl_privs_resolve(c->user, c->group, &p, err, sizeof err) < 0)
        sl_errors_add(errs, c->file, 0, "%s", err);
}

struct sl_diskq_owner sl_privs_queue_owner(const struct sl_config *c)
{
    struct sl_diskq_owner o = {.give = false};
    struct sl_privs p;
    char err[512];
    if (c->user != NULL && geteuid() == 0
        && sl_privs_resolve(c->user, c->group, &p, err, sizeof err) == 0 && p.uid != 0)
        o = (struct sl_diskq_owner){.give = true, .uid = p.uid, .gid = p.gid};
    return o;
}
/* }=== */

/* {=== dropping */

/* Started as the user already (not root): fine if the ids are the targets. */
static int check_unprivileged(const struct sl_privs *p, char *err, size_t errlen)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (getresuid(&r, &e, &s) == 0 && getresgid(&rg, &eg, &sg) == 0
        && (!p->has_user || (r == p->uid && e == p->uid && s == p->uid))
        && rg == p->gid && eg == p->gid && sg == p->gid)
        return 0;
    snprintf(err, errlen, "settings.%s: sluiced runs as uid %ld gid %ld, not root, so it "
             "cannot become %s (uid %ld gid %ld): start it as root, or as that user",
             p->has_user ? "user" : "group", (long)geteuid(), (long)getegid(), p->name,
             p->has_user ? (long)p->uid : (long)geteuid(), (long)p->gid);
    return -EPERM;
}

static int fail(int e, const char *call, const struct sl_privs *p, char *err, size_t errlen)
{
    snprintf(err, errlen, "dropping privileges to %s: %s() failed (%d: %s)", p->name, call, e,
             strerror(e));
    return -e;
}

/* After the drop: no id is left that could lead back. */
static int verify(const struct sl_privs *p, char *err, size_t errlen)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
        return fail(errno, "getresuid", p, err, errlen);
    bool ok = rg == p->gid && eg == p->gid && sg == p->gid;
    if (p->has_user)
        ok = ok && r == p->uid && e == p->uid && s == p->uid;
    /* A user other than root must not get root back, nor root's group. */
    if (ok && p->has_user && p->uid != 0)
        ok = setuid(0) < 0 && seteuid(0) < 0 && (p->gid == 0 || setgid(0) < 0);
    if (ok)
        return 0;
    snprintf(err, errlen, "dropping privileges to %s: the ids did not all change (uid %ld %ld "
             "%ld, gid %ld %ld %ld), or root can be regained", p->name, (long)r, (long)e,
             (long)s, (long)rg, (long)eg, (long)sg);
    return -EPERM;
}

int sl_privs_drop(const struct sl_config *c, struct sl_privs *p, char *err, size_t errlen)
{
    *p = (struct sl_privs){0};
    if (c->user == NULL && c->group == NULL)
        return 0;
    int rc = sl_privs_resolve(c->user, c->group, p, err, errlen);
    if (rc < 0)
        return rc;
    if (geteuid() != 0) {
        rc = check_unprivileged(p, err, errlen);
        p->dropped = rc == 0;
        return rc;
    }
    /* The groups first: once the uid is not root, they cannot change. A
     * numeric user with no entry has no name for initgroups(). */
    rc = p->has_entry ? initgroups(p->name, p->gid) : setgroups(1, &p->gid);
    if (rc < 0)
        return fail(errno, p->has_entry ? "initgroups" : "setgroups", p, err, errlen);
    if (setresgid(p->gid, p->gid, p->gid) < 0)
        return fail(errno, "setresgid", p, err, errlen);
    if (p->has_user && setresuid(p->uid, p->uid, p->uid) < 0)
        return fail(errno, "setresuid", p, err, errlen);
    rc = verify(p, err, errlen);
    p->dropped = rc == 0;
    return rc;
}

void sl_privs_explain(const struct sl_privs *p, int rc, const char *port, char *err,
                      size_t errlen)
{
    if (!p->dropped || (rc != -EACCES && rc != -EPERM))
        return;
    size_t n = strlen(err);
    unsigned long num;
    bool low = port != NULL && parse_id(port, &num) && num > 0 && num < 1024;
    if (n + 1 >= errlen)
        return;
    snprintf(err + n, errlen - n, ": sluiced runs as %s%s since start (settings.%s), so it %s",
             p->has_user ? "" : "group ", p->name, p->has_user ? "user" : "group",
             low ? "cannot bind a port below 1024 it did not hold"
                 : "can open and create only what that user may");
}
/* }=== */
