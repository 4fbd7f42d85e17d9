/* SPDX-License-Identifier: MIT */
/*
 * archive_file.h: the pieces of the archive output (archive.c) that need
 * no host, so the unit test drives them alone. Prefix arc_.
 *
 *   templates  arc_tmpl: a path with {date} (YYYY-MM-DD) and {hour} (HH)
 *              in local time, expanded for a time, with the span of times
 *              that expand to the same name (one localtime_r() a file,
 *              not one a message);
 *   repair     arc_scan(): how much of an archive is complete frames, and
 *              whether what follows is a torn frame (cut it) or something
 *              that is not zstd at all (refuse it, never truncate it);
 *   config     durations ("1s", "500ms"), modes, users and groups.
 *
 * Threads: nothing here keeps state; safe on any thread for its own
 * objects.
 */
#ifndef ARC_ARCHIVE_FILE_H
#define ARC_ARCHIVE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* {=== templates */
struct arc_tmpl {
    const char *path; /* borrowed: the caller keeps it alive */
    bool has_date, has_hour;
};

/* Parses path. {date} and {hour} are the only placeholders: any other
 * "{name}" is -EINVAL with a reason in err (an archive split by program
 * would be another output). A lone brace is a name. */
int arc_tmpl_parse(struct arc_tmpl *t, const char *path, char *err, size_t errlen);

/* Expands t for sec (seconds since the epoch, shown in local time) into
 * out[0..outlen). [*start, *end) is every second that expands to the same
 * name (INT64_MIN, INT64_MAX without placeholders): a DST change makes a
 * day 23 or 25 hours, and mktime() says where it ends. 0, -ENAMETOOLONG,
 * or -EINVAL when sec has no local time. */
int arc_tmpl_expand(const struct arc_tmpl *t, int64_t sec, char *out, size_t outlen,
                    int64_t *start, int64_t *end);
/* }=== */

/* {=== repair */
/* Reads the archive open at fd (any access mode: it is read through
 * /proc/self/fd, mapped, not copied). *size is its length and *whole the
 * length of its complete zstd frames (skippable frames included).
 * Returns 0 when whole == size (nothing to cut) or when the rest is a torn
 * frame (it begins with a frame's magic number, or part of one, and zstd
 * says the frame is cut short): the caller cuts the file to *whole.
 * -EILSEQ when the rest is not a torn frame (the file is not an archive,
 * or is corrupt inside): nothing may be cut, *whole says where it goes
 * wrong. Another negative errno when the file cannot be read; *call then
 * names the call ("open", "fstat", "mmap"). fd stays the caller's. */
int arc_scan(int fd, off_t *size, off_t *whole, const char **call);

/* Whether the file open for reading at fd may be an archive: empty, not a
 * regular file, or beginning as a zstd frame does (0), or -EILSEQ (a text
 * log, say), or the negative errno of fstat() or pread(). Reads 4 bytes:
 * cheap enough for open(), on the main thread, where a whole scan of a big
 * archive (and of a file another instance may be appending to) is not. */
int arc_head_ok(int fd, off_t *size);
/* }=== */

/* {=== config values */
/* A duration as spl_parse_duration_ms() reads it ("1s", "500ms", "2m"):
 * *ms, or -EINVAL. At least 1 ms, at most a day. */
int arc_duration_ms(const char *s, int64_t *ms);
/* }=== */

#endif /* ARC_ARCHIVE_FILE_H */
