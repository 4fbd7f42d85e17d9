/*
 * control.h: the control socket sluicectl talks to.
 *
 * A unix stream socket (mode 0600). A client sends one line, "stats",
 * "reload", "reopen" or "flush", and reads the answer until the daemon
 * closes: the stats JSON, "ok", or "error: ..." lines.
 *
 * Thread: main.
 */
#ifndef SL_CONTROL_H
#define SL_CONTROL_H

#include <stddef.h>

struct sl_daemon;
struct sl_control;

/* Binds path (removing a stale socket, creating the parent directory).
 * Returns 0, or a negative errno with a reason in err. */
int sl_control_open(struct sl_control **out, const char *path, char *err, size_t errlen);
int sl_control_fd(const struct sl_control *c);
/* Accepts and serves one client; call when the fd is readable. */
void sl_control_serve(struct sl_control *c, struct sl_daemon *d);
void sl_control_close(struct sl_control *c); /* NULL is a no-op */

#endif /* SL_CONTROL_H */
