/* SPDX-License-Identifier: MIT */
/* The runtime debug-category switch shared by every module. */
#include "hw/log.h"

unsigned log_cats;
