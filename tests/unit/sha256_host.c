/* SPDX-License-Identifier: MIT */
/* The tiny guest's SHA-256, built for the host tests (one implementation:
 * the integration test checks it against sha256sum). */
#include "guest/sha256.c"
