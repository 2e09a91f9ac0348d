/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * A program built the way users build theirs:
 *   cc consumer.c $(pkg-config --cflags --libs mpcalloc)
 * Used by tests/pkg/pkgconfig.sh and debian/tests/build. It calls
 * mpc_alloc_version() and malloc/free and prints, one per line:
 *   version VERSION       what mpc_alloc_version() returns
 *   malloc  FILE          the object whose malloc the process resolves
 *   mapped  FILE          the libmpcalloc file mapped in the process
 * With an argument, exits 1 unless mpc_alloc_version() returns it. Exits 1
 * as well when malloc is not libmpcalloc's or libmpcalloc is not mapped. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpcalloc.h>

static int fail(const char *what)
{
	fprintf(stderr, "consumer: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	const char *version = mpc_alloc_version();
	if (version == NULL)
		return fail("mpc_alloc_version() returned NULL");
	printf("version %s\n", version);
	if (argc > 1 && strcmp(version, argv[1]) != 0)
		return fail("mpc_alloc_version() is not the expected version");

	char *p = malloc(4096);
	if (p == NULL)
		return fail("malloc(4096) failed");
	memset(p, 'x', 4095);
	p[4095] = '\0';
	if (strlen(p) != 4095)
		return fail("malloc'ed block not usable");
	free(p);

	/* Which object provides the malloc that the process (this program and
	 * libc alike) resolves? */
	void *addr = dlsym(RTLD_DEFAULT, "malloc");
	if (addr == NULL)
		return fail("dlsym(malloc) failed");
	Dl_info info;
	if (dladdr(addr, &info) == 0 || info.dli_fname == NULL)
		return fail("dladdr(malloc) failed");
	printf("malloc %s\n", info.dli_fname);
	if (strstr(info.dli_fname, "libmpcalloc") == NULL)
		return fail("malloc is not libmpcalloc's");

	/* Which libmpcalloc file is mapped? */
	FILE *maps = fopen("/proc/self/maps", "r");
	if (maps == NULL)
		return fail("cannot open /proc/self/maps");
	char line[4096];
	int found = 0;
	while (fgets(line, sizeof line, maps) != NULL) {
		char *path = strchr(line, '/');
		if (path == NULL || strstr(path, "libmpcalloc") == NULL)
			continue;
		path[strcspn(path, "\n")] = '\0';
		printf("mapped %s\n", path);
		found = 1;
		break;
	}
	fclose(maps);
	if (!found)
		return fail("libmpcalloc is not mapped");
	return 0;
}
