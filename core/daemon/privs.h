/* SPDX-License-Identifier: MIT */
/*
 * privs.h: dropping root's privileges once the daemon has started
 * (settings.user, settings.group), as rsyslog's $PrivDropToUser and
 * syslog-ng's --user/--group do.
 *
 * Thread: main, the only one that calls any of these. The drop itself
 * changes the ids of every thread of the process (glibc's setxid
 * broadcast: setresuid() and friends apply to all threads on Linux).
 */
#ifndef SL_PRIVS_H
#define SL_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf/lua_config.h"
#include "output/diskq.h"

/* What settings.user / settings.group name, resolved. Plain values: a
 * copy is the struct. */
struct sl_privs {
    bool set;        /* settings.user or settings.group given */
    bool has_user;   /* settings.user given: uid and the user's groups change */
    uid_t uid;       /* has_user: the user's */
    gid_t gid;       /* settings.group's, else the user's primary group */
    bool has_entry;  /* has_user, with a passwd entry: initgroups() gives its groups */
    char name[256];  /* the user's name (or its number when it has none), or
                      * the group's when only a group is given: for messages */
    bool dropped;    /* sl_privs_drop() has run with set: for sl_privs_explain() */
};

/* Resolves user and group (either may be NULL; names or decimal ids, as
 * chown takes them) into *out through getpwnam_r / getgrnam_r. A numeric
 * user that has no passwd entry keeps its gid from group, which it then
 * needs. 0, or -ENOENT / -EINVAL / -ENOMEM with a reason in err naming
 * the key ("settings.user: no user \"x\" ..."). */
int sl_privs_resolve(const char *user, const char *group, struct sl_privs *out, char *err,
                     size_t errlen);

/* For sl_daemon_load (--check, start and reload): appends an error to errs
 * when settings.user or settings.group of c does not resolve. */
void sl_privs_check(const struct sl_config *c, struct sl_errors *errs);

/* Whom the disk queues opened now under c are for: while the daemon is
 * still root and c's settings.user names a user it will drop to, that
 * user (and settings.group, else the user's group); otherwise nobody (the
 * files stay the daemon's). c's names were checked by sl_privs_check. */
struct sl_diskq_owner sl_privs_queue_owner(const struct sl_config *c);

/* Drops to what c's settings.user / settings.group name, for good: the
 * supplementary groups (initgroups() for a user, just the group when only
 * a group is given), then the real, effective and saved gid, then uid;
 * then checks there is no way back (setuid(0) fails, getresuid() and
 * getresgid() all equal the targets). Called once, after everything that
 * needs root is open. Without either key, *p is zeroed and nothing
 * changes. 0, or a negative errno with the reason in err; the process
 * must then stop, its ids being in an unknown state. */
int sl_privs_drop(const struct sl_config *c, struct sl_privs *p, char *err, size_t errlen);

/* When rc (a negative errno from opening what a reload asked for) is
 * -EACCES or -EPERM and the daemon dropped its privileges at start,
 * appends to err (a NUL-terminated string of errlen bytes) why it may no
 * longer do it: ": sluiced runs as NAME since start (settings.user), so
 * ...". port: the input's port when it is one (NULL otherwise), which
 * picks the words for a port below 1024. */
void sl_privs_explain(const struct sl_privs *p, int rc, const char *port, char *err,
                      size_t errlen);

#endif /* SL_PRIVS_H */
