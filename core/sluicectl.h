/* SPDX-License-Identifier: MIT */
/*
 * sluicectl.h: what sluicectl.c (one command, one answer) and
 * sluicectl_top.c (the live view) share.
 */
#ifndef SL_SLUICECTL_H
#define SL_SLUICECTL_H

/* Connects to the control socket at path and sends cmd and a newline.
 * The connected fd, the caller's to read the answer from and close; or -1,
 * having said why on stderr (naming the call, path and errno). */
int sl_ctl_ask(const char *path, const char *cmd);

/* sluicectl top: argv[1..argc) are its options (argv[0] names the program
 * in getopt's errors); talks to path.
 * Returns the exit status: 0, 1 (no daemon, or it went away), 2 (usage). */
int sl_ctl_top(const char *path, int argc, char **argv);

#endif /* SL_SLUICECTL_H */
