/* SPDX-License-Identifier: MIT */
/*
 * name_enc.h: a message field's value as one file name component, for the
 * perproc output, whose file names come from what senders write and so
 * are hostile input.
 *
 * The encoding (documented for users in sluice.lua(5), PERPROC):
 *  - bytes A-Z a-z 0-9 _ + , = @ are kept, and so are - and . except as the
 *    first byte; every other byte (/, %, ~, space, controls, NUL, bytes of
 *    UTF-8 past ASCII, a leading - or .) is written %XX, uppercase hex;
 *  - an empty or absent value is "%" alone (anywhere else % is followed by
 *    two hex digits, so this stays distinct from every other value);
 *  - an encoding longer than the room it has (SPL_NAME_MAX, or less when
 *    several fields share a component) is cut at a unit boundary (never
 *    inside a %XX) and "~" and 32 lowercase hex digits (the first 16 bytes
 *    of the SHA-256 of the whole raw value) are appended: ~ is always
 *    escaped otherwise, so a shortened name is never an unshortened one.
 * So the encoding is injective (two values never share a name, short of a
 * SHA-256 collision in 128 bits), and its result is never empty, ".", "..",
 * never holds '/', NUL or a control byte, never starts with '.' or '-', and
 * is at most the room it was given.
 *
 * Threads: any (pure functions).
 */
#ifndef SPL_NAME_ENC_H
#define SPL_NAME_ENC_H

#include <stdbool.h>
#include <stddef.h>

#define SPL_NAME_MAX 200     /* the longest encoding of one value */
#define SPL_NAME_HASHED 33   /* "~" and 32 hex digits */
#define SPL_NAME_MIN_ROOM 48 /* the least room a value may be given: 15 bytes of it survive a cut */

/* True when the encoding keeps byte c as itself at a value's first byte
 * (first) or further on, when extra (NULL: none) does not list it. */
bool spl_name_kept(unsigned char c, bool first, const char *extra);

/* Encodes value[0..len) (value NULL: an absent field, as "") into out,
 * which has room for room + 1 bytes, NUL-terminated; returns the length,
 * 1 to room. room is from SPL_NAME_MIN_ROOM to SPL_NAME_MAX. extra names
 * bytes escaped besides the rule above (a template's separator between
 * two fields, so where one value ends stays clear); it must not hold '%'
 * or '~' or letters and digits (the template's check refuses those). The
 * value is only read during the call; out is the caller's. */
size_t spl_name_encode(const char *value, size_t len, size_t room, const char *extra, char *out);

#endif /* SPL_NAME_ENC_H */
