/* SPDX-License-Identifier: MIT */
/*
 * metrics.c: the HTTP side of settings.metrics (metrics.h), through
 * libmicrohttpd rather than an HTTP parser of our own.
 *
 * Threads: libmicrohttpd's one internal thread answers every connection
 * (handle); the main thread makes pages (sl_metrics_serve). They meet
 * under mu: a scrape raises `asked`, pokes the eventfd and waits on cv
 * until `made` reaches what it asked for, then copies the page. Every
 * scrape gets a page made after it arrived, never a stale one.
 */
#include "config.h"

#include "daemon/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"

#ifndef HAVE_MICROHTTPD
int sl_metrics_open(struct sl_metrics **out, const char *host, const char *port, char *err,
                    size_t errlen)
{
    (void)host, (void)port;
    *out = NULL;
    snprintf(err, errlen, "settings.metrics: this sluiced was built without libmicrohttpd");
    return -ENOTSUP;
}
const char *sl_metrics_address(const struct sl_metrics *m) { (void)m; return ""; }
int sl_metrics_fd(const struct sl_metrics *m) { (void)m; return -1; }
void sl_metrics_serve(struct sl_metrics *m, struct sl_daemon *d) { (void)m, (void)d; }
void sl_metrics_close(struct sl_metrics *m) { (void)m; }
#else

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "input/input_impl.h" /* sl_sockaddr_text */

#define WAIT_MS 2000        /* a scrape waits this long for the main loop */
#define MAX_CONNECTIONS 16  /* scrapers are few; a flood of them is not served */
#define CONNECTION_TIMEOUT 10 /* s: an idle or slow client is closed */
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct sl_metrics {
    struct MHD_Daemon *mhd;
    int fd;  /* the listening socket until MHD takes it (MHD_OPTION_LISTEN_SOCKET) */
    int efd; /* the main loop's: a scrape waits */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t asked, made; /* under mu */
    struct sluice_buf page; /* under mu: the last page made */
    int page_rc;            /* under mu: 0, or why the last page failed */
    bool closing;           /* under mu */
    char address[128];
};

/* {=== the MHD thread */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *body,
                             size_t len, const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Asks the main thread for a page and waits for it (MHD thread). */
static enum MHD_Result scrape(struct sl_metrics *m, struct MHD_Connection *conn)
{
    struct timespec until = sl_clock_after_ms(WAIT_MS);
    pthread_mutex_lock(&m->mu);
    uint64_t want = ++m->asked;
    uint64_t one = 1;
    ssize_t w = write(m->efd, &one, sizeof one);
    (void)w; /* a full counter is still readable: the main loop wakes */
    int rc = 0;
    while (m->made < want && !m->closing && rc == 0)
        rc = pthread_cond_timedwait(&m->cv, &m->mu, &until);
    enum MHD_Result out;
    if (m->made >= want && m->page_rc == 0)
        out = reply(conn, MHD_HTTP_OK, m->page.data, m->page.len, CONTENT_TYPE);
    else
        out = reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the daemon did not answer in time\n",
                    34, "text/plain");
    pthread_mutex_unlock(&m->mu);
    return out;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)version, (void)upload;
    if (*state == NULL) { /* the headers: answer once the request is whole */
        *state = conn;
        return MHD_YES;
    }
    if (*upload_size != 0) { /* a body nobody asked for: read and drop it */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics\n", 13, "text/plain");
    if (strcmp(url, "/metrics") != 0)
        return reply(conn, MHD_HTTP_NOT_FOUND, "not found: the page is /metrics\n", 32,
                     "text/plain");
    return scrape(cls, conn);
}
/* }=== */

/* {=== the main thread */
static int bind_listen(struct sl_metrics *m, const char *host, const char *port, char *err,
                       size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
    int g = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &ai);
    if (g != 0) {
        snprintf(err, errlen, "settings.metrics: cannot resolve \"%s\": %s", host,
                 gai_strerror(g));
        return -EINVAL;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1;
    int rc = fd < 0 ? -errno : 0;
    if (rc == 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (rc == 0 && (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0))
        rc = -errno;
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (rc == 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        rc = -errno;
    if (rc < 0) {
        snprintf(err, errlen, "settings.metrics: cannot listen on %s:%s (%d: %s)", host, port,
                 -rc, strerror(-rc));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    sl_sockaddr_text(&ss, m->address, sizeof m->address, true);
    m->fd = fd;
    return 0;
}

int sl_metrics_open(struct sl_metrics **out, const char *host, const char *port, char *err,
                    size_t errlen)
{
    struct sl_metrics *m = sl_calloc(1, sizeof *m);
    if (m == NULL) {
        snprintf(err, errlen, "settings.metrics: out of memory");
        return -ENOMEM;
    }
    m->fd = m->efd = -1;
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* sl_clock_after_ms's clock */
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = bind_listen(m, host, port, err, errlen);
    if (rc == 0 && (m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "settings.metrics: eventfd() failed (%d: %s)", -rc, strerror(-rc));
    }
    if (rc == 0) {
        /* Started after the daemon blocked its signals: the thread
         * inherits the mask, so only the signalfd sees them. */
        m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
                                  handle, m, MHD_OPTION_LISTEN_SOCKET, m->fd,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT,
                                  MHD_OPTION_END);
        if (m->mhd == NULL) {
            rc = -EIO;
            snprintf(err, errlen, "settings.metrics: libmicrohttpd did not start on %s",
                     m->address);
        } else {
            m->fd = -1; /* MHD's now: MHD_stop_daemon() closes it */
        }
    }
    if (rc < 0) {
        sl_metrics_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

const char *sl_metrics_address(const struct sl_metrics *m)
{
    return m->address;
}

int sl_metrics_fd(const struct sl_metrics *m)
{
    return m->efd;
}

void sl_metrics_serve(struct sl_metrics *m, struct sl_daemon *d)
{
    uint64_t n;
    if (read(m->efd, &n, sizeof n) != (ssize_t)sizeof n)
        return;
    struct sluice_buf json = {0}, page = {0};
    int rc = sl_daemon_stats(d, &json);
    if (rc == 0)
        rc = sl_metrics_from_stats(json.data, json.len, &page);
    free(json.data);
    if (rc < 0)
        sl_log(SL_LOG_ERR, -rc, "metrics: cannot make the page");
    pthread_mutex_lock(&m->mu);
    free(m->page.data);
    m->page = page;
    m->page_rc = rc;
    m->made = m->asked; /* every scrape waiting now gets this page */
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

void sl_metrics_close(struct sl_metrics *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    m->closing = true;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    if (m->mhd != NULL)
        MHD_stop_daemon(m->mhd); /* joins its thread */
    if (m->fd >= 0)
        close(m->fd); /* MHD never took it */
    if (m->efd >= 0)
        close(m->efd);
    free(m->page.data);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
/* }=== */
#endif
