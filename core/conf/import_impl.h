/* SPDX-License-Identifier: MIT */
/*
 * import_impl.h: what the two halves of the rsyslog.conf converter share
 * (internal to import_rsyslog.c, the lines and statements, and
 * import_rules.c, the selectors, routes, files and actions). The rest of
 * the daemon sees import_rsyslog.h only.
 *
 * Thread: the thread of the sl_import_rsyslog() call.
 */
#ifndef SL_IMPORT_IMPL_H
#define SL_IMPORT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/import_rsyslog.h"

#define NFAC 25    /* rsyslog's: sluice's 24 and mark */
#define MARK 24
#define ALLPRI 0xff
#define NOPRI 0x10 /* rsyslog's INTERNAL_NOPRI: "none" */
#define MAX_NAME 32

enum format { F_RSYSLOG, F_RFC3164 }; /* RSYSLOG_FileFormat, ..._TraditionalFileFormat */
static const char *const format_names[] = {"rsyslog", "rfc3164"};

struct buf {
    char *p;
    size_t n, cap;
};

struct line {
    const char *p;
    size_t len;
    unsigned no;
};

/* An output of the conversion: a file, or (users) the terminals of
 * logged-in users, path then holding "*" or the names, "root,alice". */
struct file {
    char *path, *name;
    bool users;
    enum format format;
    bool sync, nosync_mark;
    char owner[MAX_NAME + 1], group[MAX_NAME + 1], mode[8];
};

struct input {
    char kind[8];      /* unix, kmsg, udp, tcp */
    char where[300];   /* the path or HOST:PORT; "" for kmsg */
};

struct conv {
    struct buf head, routes;
    struct file *files;
    size_t nfiles;
    struct input inputs[16];
    size_t ninputs;
    struct sl_import *im;
    bool oom;
    /* what the $-directives have set so far */
    char owner[MAX_NAME + 1], group[MAX_NAME + 1], mode[8];
    bool enable_sync;
    enum format format;
    bool imuxsock, omit_local;
    char sock_name[256];
    char udp_addr[64];
    /* the filter of the last selector line, for & lines */
    uint8_t last[NFAC];
    bool last_ok;
    struct buf cond; /* a property filter's condition, "KEY = VALUE, ", for its routes */
    unsigned dash_noted;
};

/* {=== text: appended to b; out of memory sets c->oom, after which nothing
 * is appended */
void sl_imp_put(struct conv *c, struct buf *b, const char *s, size_t n);
void sl_imp_puts(struct conv *c, struct buf *b, const char *s);
void sl_imp_putf(struct conv *c, struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* s as a Lua string literal, control bytes escaped */
void sl_imp_put_str(struct conv *c, struct buf *b, const char *s, size_t n);
/* s inside a "-- " comment: each control byte but TAB as '?' */
void sl_imp_put_comment(struct conv *c, struct buf *b, const char *s, size_t n);
/* }=== */

/* {=== parsing */
bool sl_imp_word_is(const char *s, size_t n, const char *w); /* case-insensitive */
void sl_imp_trim(const char **s, size_t *n);
bool sl_imp_in_set(const char *set, char ch); /* false for NUL */
/* F_RFC3164, F_RSYSLOG for rsyslog's two file templates, else -1 */
int sl_imp_template_format(const char *s, size_t n);
/* }=== */

/* {=== import_rules.c */
/* A selector list "fac,fac.pri;fac.pri" into m, as rsyslog decodes it;
 * false for one rsyslog would refuse. */
bool sl_imp_selectors(const char *s, size_t n, uint8_t m[NFAC]);
/* One rule, the filter m and the action a of the line l (from a selector
 * line or an & line), into c's routes and files; false with *why when it
 * does not convert. */
bool sl_imp_rule(struct conv *c, const struct line *l, const uint8_t m[NFAC], const char *a,
                 size_t an, const char **why);
/* Every output (files and users) into b. */
void sl_imp_emit_files(struct conv *c, struct buf *b);
/* }=== */

#endif /* SL_IMPORT_IMPL_H */
