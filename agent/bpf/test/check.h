/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C unit tests' one assertion: CHECK(cond) counts a check and, when cond is false, prints the line and the
 * condition and exits 1. A test ends with printf("ok %d checks\n", checks).
 */
#ifndef FL_TEST_CHECK_H
#define FL_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int checks;
#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		checks++;                                                                                    \
		if (!(cond)) {                                                                               \
			printf("FAIL line %d: %s\n", __LINE__, #cond);                                       \
			exit(1);                                                                             \
		}                                                                                            \
	} while (0)

#endif
