/* SPDX-License-Identifier: MIT */
/* test_import_rsyslog.c: sluiced --import-rsyslog (conf/import_rsyslog.c).
 * Each selector case is converted, the sluice.lua loaded, and its routes
 * run over every facility and severity: what reaches each output must be
 * what rsyslog's DecodePRIFilter() would send there. Then the inputs, the
 * directives, and the lines that are not converted, each listed. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/import_rsyslog.h"
#include "conf/lua_config.h"
#include "conf_fixture.h"

struct conv {
    struct sl_import im;
    struct loaded l;
};

static void convert(struct conv *x, const char *text)
{
    assert_int_equal(sl_import_rsyslog(text, strlen(text), "test.conf", &x->im), 0);
    assert_int_equal(strlen(x->im.lua), x->im.len);
    load_text(&x->l, x->im.lua);
    if (x->l.rc != 0) {
        dump_errors(&x->l);
        fprintf(stderr, "%s", x->im.lua);
    }
    assert_int_equal(x->l.rc, 0);
}

static void finish(struct conv *x)
{
    done(&x->l);
    sl_import_free(&x->im);
}

/* Routes a message of fac.sev as the router does with declarative routes:
 * in order, each output once, until a drop. Returns a mask of outputs. */
static unsigned route(const struct sl_config *c, unsigned fac, unsigned sev)
{
    unsigned got = 0;
    for (size_t i = 0; i < c->nroutes; i++) {
        const struct sl_route_conf *r = &c->routes[i];
        if (!(r->facility_mask & 1u << fac) || !(r->severity_mask & 1u << sev))
            continue;
        if (r->drop)
            break;
        for (size_t k = 0; k < r->nto; k++)
            got |= 1u << r->to[k];
        if (r->final)
            break;
    }
    return got;
}

/* The severity mask per facility that reaches output `name`. */
static void reached(const struct sl_config *c, const char *name, uint8_t m[24])
{
    size_t o = 0;
    while (o < c->noutputs && strcmp(c->outputs[o].name, name) != 0)
        o++;
    if (o == c->noutputs)
        fprintf(stderr, "no output \"%s\"\n", name);
    assert_true(o < c->noutputs);
    for (unsigned f = 0; f < 24; f++) {
        m[f] = 0;
        for (unsigned s = 0; s < 8; s++)
            m[f] |= (uint8_t)((route(c, f, s) >> o & 1u) << s);
    }
}

/* rules (ending in " /var/log/f") reach, per facility, want (the others 0). */
static void expect_masks(const char *rules, const char *out, const uint8_t want[24])
{
    struct conv x;
    convert(&x, rules);
    uint8_t m[24];
    if (x.im.nskipped)
        fprintf(stderr, "%s", x.im.lua);
    reached(x.l.c, out, m);
    for (unsigned f = 0; f < 24; f++) {
        if (m[f] != want[f])
            fprintf(stderr, "%s: facility %u: got 0x%02x, want 0x%02x\n%s", rules, f, m[f],
                    want[f], x.im.lua);
        assert_int_equal(m[f], want[f]);
    }
    assert_int_equal(x.im.nskipped, 0);
    finish(&x);
}

enum { KERN = 0, USER = 1, MAIL = 2, DAEMON = 3, AUTH = 4, NEWS = 7, CRON = 9, AUTHPRIV = 10 };

static void all(uint8_t m[24], uint8_t v)
{
    memset(m, v, 24);
}

static void test_selectors(void **state)
{
    (void)state;
    uint8_t w[24];
    all(w, 0xff), w[AUTH] = w[AUTHPRIV] = 0;
    expect_masks("*.*;auth,authpriv.none\t\t-/var/log/syslog\n", "syslog", w);
    all(w, 0), w[AUTH] = w[AUTHPRIV] = 0xff;
    expect_masks("auth,authpriv.*  /var/log/auth.log\n", "auth", w);
    all(w, 0), w[MAIL] = 0x7f; /* info and more severe */
    expect_masks("mail.info /var/log/f\n", "f", w);
    all(w, 0), w[MAIL] = 0x40; /* exactly */
    expect_masks("mail.=info /var/log/f\n", "f", w);
    all(w, 0), w[MAIL] = 0x80; /* less severe than info */
    expect_masks("mail.*;mail.!info /var/log/f\n", "f", w);
    all(w, 0), w[MAIL] = 0x70; /* warning, notice, info */
    expect_masks("mail.info;mail.!err /var/log/f\n", "f", w);
    all(w, 0), w[KERN] = 0x7f;
    expect_masks("kern.*;kern.!=debug /var/log/f\n", "f", w);
    all(w, 0), w[MAIL] = 0x0f;
    expect_masks("MAIL.ERR /var/log/f\n", "f", w);
    expect_masks("mail.3 /var/log/f\n", "f", w);
    expect_masks("mail.error /var/log/f\n", "f", w);
    /* Debian's older debug and messages files */
    all(w, 0x80), w[AUTH] = w[AUTHPRIV] = w[NEWS] = w[MAIL] = 0;
    expect_masks("*.=debug;\\\n\tauth,authpriv.none;\\\n\tnews.none;mail.none\t-/var/log/debug\n",
                 "debug", w);
    all(w, 0x70), w[AUTH] = w[AUTHPRIV] = w[CRON] = w[DAEMON] = w[MAIL] = w[NEWS] = 0;
    expect_masks("*.=info;*.=notice;*.=warn;\\\n\tauth,authpriv.none;\\\n\tcron,daemon.none;\\\n"
                 "\tmail,news.none\t\t-/var/log/messages\n", "messages", w);
    all(w, 0x01); /* *.emerg, and a second line to the same file: one output */
    w[USER] = 0xff;
    expect_masks("*.emerg /var/log/f\nuser.* /var/log/f\n", "f", w);
}

static void test_drop_and_ampersand(void **state)
{
    (void)state;
    uint8_t w[24];
    all(w, 0xff), w[MAIL] = 0;
    expect_masks("mail.* ~\n*.* /var/log/f\n", "f", w);
    all(w, 0xff), w[MAIL] = 0x80;
    expect_masks("mail.info stop\n*.* /var/log/f\n", "f", w);
    all(w, 0), w[MAIL] = 0xff;
    expect_masks("mail.* /var/log/a\n& /var/log/f\n", "f", w);
    /* mail.!info alone matches nothing in rsyslog: no route */
    struct conv x;
    convert(&x, "mail.!info /var/log/f\n");
    assert_int_equal(x.l.c->nroutes, 0);
    assert_non_null(strstr(x.im.lua, "matches no message"));
    finish(&x);
}

static bool has(const struct conv *x, const char *s);

/* :msg, contains and the like: their condition on every route of the rule,
 * and of the & lines after it. */
static void test_property_filters(void **state)
{
    (void)state;
    struct conv x;
    convert(&x, ":msg, contains, \"seg\\\"fault\" /var/log/crash\n& stop\n"
                ":programname, isequal, \"sshd\" -/var/log/ssh.log\n"
                ":hostname, isequal, \"gw\" /var/log/gw\n*.* /var/log/all\n");
    const struct sl_config *c = x.l.c;
    assert_int_equal(x.im.nskipped, 0);
    assert_int_equal(c->nroutes, 5);
    assert_string_equal(c->routes[0].msg_contains, "seg\"fault");
    assert_string_equal(c->routes[1].msg_contains, "seg\"fault");
    assert_true(c->routes[1].drop);
    assert_int_equal(c->routes[2].app_names.n, 1);
    assert_string_equal(c->routes[2].app_names.v[0], "sshd");
    assert_string_equal(c->routes[3].hostnames.v[0], "gw");
    assert_null(c->routes[4].msg_contains); /* a selector line has no condition */
    assert_int_equal(c->routes[4].app_names.n, 0);
    finish(&x);
}

static bool has(const struct conv *x, const char *s)
{
    if (strstr(x->im.lua, s) != NULL)
        return true;
    fprintf(stderr, "wanted \"%s\" in:\n%s", s, x->im.lua);
    return false;
}

static void test_inputs_and_directives(void **state)
{
    (void)state;
    struct conv x;
    convert(&x, "module(load=\"imuxsock\") # local\nmodule(load=\"imklog\")\n"
                "module(load=\"imudp\")\ninput(type=\"imudp\" port=\"514\")\n"
                "module(load=\"imtcp\")\ninput(type=\"imtcp\"\n      port=\"10514\"\n"
                "      address=\"127.0.0.1\")\n"
                "$FileOwner root\n$FileGroup adm\n$FileCreateMode 0640\n"
                "$ActionFileDefaultTemplate RSYSLOG_TraditionalFileFormat\n"
                "$ActionFileEnableSync on\n"
                "*.* /var/log/all\nmail.* -/var/log/mail.log;RSYSLOG_FileFormat\n");
    const struct sl_config *c = x.l.c;
    assert_int_equal(c->ninputs, 4);
    assert_int_equal(x.im.nskipped, 0);
    assert_true(has(&x, "input \"unix\" { type = \"unix\", path = \"/dev/log\" }"));
    assert_true(has(&x, "input \"kernel\" { type = \"kmsg\" }"));
    assert_true(has(&x, "input \"udp\" { type = \"udp\", listen = \"0.0.0.0:514\" }"));
    assert_true(has(&x, "input \"tcp\" { type = \"tcp\", listen = \"127.0.0.1:10514\" }"));
    assert_true(has(&x, "output \"all\" { type = \"file\", path = \"/var/log/all\", format = "
                        "\"rfc3164\", owner = \"root\", group = \"adm\", mode = \"0640\", sync = "
                        "\"batch\""));
    assert_true(has(&x, "output \"mail\" { type = \"file\", path = \"/var/log/mail.log\", "
                        "format = \"rsyslog\", owner = \"root\", group = \"adm\", mode = \"0640\""
                        ",\n")); /* the - : no sync */
    finish(&x);
    /* legacy inputs, and $OmitLocalLogging */
    convert(&x, "$ModLoad imuxsock\n$ModLoad imudp\n$UDPServerAddress 127.0.0.1\n"
                "$UDPServerRun 514\n$ModLoad imtcp\n$InputTCPServerRun 514\n$UDPServerRun 514\n");
    assert_int_equal(x.l.c->ninputs, 3);
    assert_true(has(&x, "listen = \"127.0.0.1:514\""));
    assert_true(has(&x, "listen = \"0.0.0.0:514\""));
    finish(&x);
    convert(&x, "$FileOwnerNum 104\n$FileGroupNum 4\n*.* /var/log/f\n");
    assert_true(has(&x, "owner = 104, group = 4,"));
    finish(&x);
    convert(&x, "module(load=\"imuxsock\" SysSock.Use=\"off\")\n");
    assert_int_equal(x.l.c->ninputs, 0);
    finish(&x);
}

/* Every line not converted is a comment and an entry, never dropped. */
static void test_not_converted(void **state)
{
    (void)state;
    struct conv x;
    convert(&x, "*.* @@logs.example.com:514\n"           /* 1 */
                "*.emerg :omusrmsg:root;T\n"             /* 2 */
                "module(load=\"imjournal\")\n"           /* 3 */
                "template(name=\"t\" type=\"string\"\n"  /* 4 */
                "         string=\"%msg%\\n\")\n"        /* 5 */
                "if $programname == 'su' then {\n"       /* 6 */
                "  action(type=\"omfile\" file=\"/x\")\n" /* 7 */
                "  stop\n"                               /* 8 */
                "}\n"                                    /* 9 */
                ":msg, startswith, \"x\" /var/log/x\n"   /* 10 */
                "& stop\n"                               /* 11 */
                "$IncludeConfig /etc/rsyslog.d/*.conf\n" /* 12 */
                "mial.* /var/log/y\n"                    /* 13 */
                "*.* /var/log/{a}.log\n"                 /* 14 */
                "mail.* /var/log/m;MyTemplate\n"         /* 15 */
                "*.* |/dev/xconsole\n"                   /* 16 */
                "# a comment\n\n"                        /* 17, 18 */
                "*.*\t/var/log/ok\r\n"                   /* 19 */
                "$Umask 0022\n"                          /* 20 */
                "*.* action(type=\"omfwd\" target=\"x\")\n"); /* 21 */
    static const unsigned want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20,
                                    21};
    assert_int_equal(x.im.nskipped, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < x.im.nskipped; i++) {
        assert_int_equal(x.im.skipped[i].line, want[i]);
        char comment[256];
        snprintf(comment, sizeof comment, "-- not converted: %s\n", x.im.skipped[i].text);
        assert_true(has(&x, comment));
    }
    assert_true(has(&x, "forwarding"));
    assert_string_equal(x.im.skipped[17].why, "RainerScript action(): write it as an output");
    assert_true(has(&x, "include \"sluice.d/*.lua\""));
    assert_int_equal(x.l.c->noutputs, 1); /* ok, without its CR */
    assert_string_equal(x.l.c->outputs[0].name, "ok");
    finish(&x);
}

/* rsyslog's omusrmsg (:omusrmsg:*, :omusrmsg:root,alice, the legacy *
 * and root,alice) becomes the users output: one per list of names, routed
 * like a file; what the users output would refuse is not converted. */
static void test_users_actions(void **state)
{
    (void)state;
    struct conv x;
    convert(&x, "*.emerg\t:omusrmsg:*\n"                /* 1 */
                "kern.crit root,alice\n"                /* 2 */
                "auth.emerg *\n"                        /* 3 */
                "mail.alert :OMUSRMSG:root,alice\n"     /* 4 */
                "mail.* :omusrmsg:ro ot\n"              /* 5 */
                "mail.* :omusrmsg:root;RSYSLOG_WallFmt\n" /* 6 */
                "mail.* :omusrmsg:\n"                   /* 7 */
                "*.* /var/log/wall\n");                 /* 8: a file named like it */
    assert_true(has(&x, "output \"wall\" { type = \"users\", "
                        "queue = { block_timeout = \"2s\" } }\n"));
    assert_true(has(&x, "output \"users_root_alice\" { type = \"users\", "
                        "users = { \"root\", \"alice\" }, "
                        "queue = { block_timeout = \"2s\" } }\n"));
    assert_true(has(&x, "output \"wall_2\" { type = \"file\""));
    assert_int_equal(x.l.c->noutputs, 3);
    assert_int_equal(x.im.nskipped, 3);
    assert_int_equal(x.im.skipped[0].line, 5);
    assert_int_equal(x.im.skipped[1].line, 6);
    assert_int_equal(x.im.skipped[2].line, 7);
    uint8_t m[24];
    reached(x.l.c, "wall", m);
    for (unsigned f = 0; f < 24; f++)
        assert_int_equal(m[f], 1); /* emerg of every facility, auth's once */
    reached(x.l.c, "users_root_alice", m);
    for (unsigned f = 0; f < 24; f++)
        assert_int_equal(m[f], f == 0 ? 0x07 : f == 2 ? 0x03 : 0); /* kern.crit, mail.alert */
    finish(&x);
}

/* A CR or a control byte in a line cannot end a comment and make code. */
static void test_hostile_text(void **state)
{
    (void)state;
    struct conv x;
    convert(&x, "*.* @x\rroute { to = 'nowhere' }\n*.* /var/log/a\"b\\c\001\n"
                "*.* /var/log/q\"uo\\te\n");
    assert_int_equal(x.l.c->nroutes, 1);
    assert_string_equal(x.l.c->outputs[0].name, "q_uo_te");
    assert_true(has(&x, "path = \"/var/log/q\\\"uo\\\\te\""));
    finish(&x);
    assert_int_equal(sl_import_rsyslog("", 0, "empty", &x.im), 0);
    assert_int_equal(x.im.nskipped, 0);
    sl_import_free(&x.im);
    sl_import_free(&x.im); /* empty: a no-op */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_drop_and_ampersand),
        cmocka_unit_test(test_inputs_and_directives),
        cmocka_unit_test(test_not_converted),
        cmocka_unit_test(test_users_actions),
        cmocka_unit_test(test_hostile_text),
        cmocka_unit_test(test_property_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
