#!/bin/sh
# SPDX-License-Identifier: MIT
# Stands in for the unit tests when ./configure found no cmocka: make check
# shows this test as SKIP, and its log says why and what to do.
echo "the cmocka unit tests are skipped: ./configure found no cmocka (pkg-config cmocka >= 1.1)."
echo "Install it (on Debian: apt-get install libcmocka-dev) and run ./configure again."
exit 77
