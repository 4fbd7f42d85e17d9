/* SPDX-License-Identifier: MIT */
/*
 * metrics.h: settings.metrics, GET /metrics in the Prometheus text format.
 *
 * libmicrohttpd serves the HTTP from a thread of its own, so a slow or
 * stuck scraper never holds the main loop. The page is made on the main
 * thread, which owns what stats walks: a scrape asks for it through an
 * eventfd the main loop watches (sl_metrics_fd) and waits, at most two
 * seconds, for sl_metrics_serve() to make it. The counters are those of
 * `sluicectl stats` (prometheus.c reads that object back).
 *
 * Thread: main, except where stated.
 */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include <stddef.h>

#include "sluice-plugin.h" /* struct sluice_buf */

struct sl_metrics;
struct sl_daemon;

/* The stats object json[0..len) (sl_daemon_stats) as Prometheus text,
 * appended to b. 0, -EINVAL for an object it cannot read, -ENOMEM.
 * Thread: any (prometheus.c). */
int sl_metrics_from_stats(const char *json, size_t len, struct sluice_buf *b);

/* Binds host:port (TCP; port "0" asks for a free one) and starts the
 * server. 0, or a negative errno with a reason in err; -ENOTSUP in a
 * build without libmicrohttpd. */
int sl_metrics_open(struct sl_metrics **out, const char *host, const char *port, char *err,
                    size_t errlen);
/* What it is bound to, "127.0.0.1:9514", for status and the log. */
const char *sl_metrics_address(const struct sl_metrics *m);
/* The fd the main loop watches: readable when a scrape waits for a page. */
int sl_metrics_fd(const struct sl_metrics *m);
/* Makes the page from d's stats for the scrapes that wait. */
void sl_metrics_serve(struct sl_metrics *m, struct sl_daemon *d);
/* Stops the server (scrapes still waiting get 503) and frees. NULL: no-op. */
void sl_metrics_close(struct sl_metrics *m);

#endif /* SL_METRICS_H */
