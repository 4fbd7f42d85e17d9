/* SPDX-License-Identifier: MIT */
/* framing_export.h: the journal export framer, for framing.c's
 * sl_framer_next() (the contract is in framing.h). Thread: the framer's. */
#ifndef SL_FRAMING_EXPORT_H
#define SL_FRAMING_EXPORT_H

#include "input/framing.h"

ssize_t sl_framer_next_export(struct sl_framer *f, const char *buf, size_t len, bool eof,
                              const char **frame, size_t *frame_len, unsigned *flags);

#endif /* SL_FRAMING_EXPORT_H */
