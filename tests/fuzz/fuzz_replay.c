/* fuzz_replay.c - run a fuzz target over its corpus without libFuzzer.
 *
 *     fuzz_replay_<target> DIR_OR_FILE...
 *
 * Links with one fuzz_*.c target and calls its LLVMFuzzerTestOneInput on
 * every regular file given or found (not recursively) in the folders
 * given, in name order, so the normal and sanitizer builds of the test
 * command replay the committed corpora. A crash or a sanitizer report
 * ends the process (and fails the test); finding no input at all is an
 * error too, so a corpus that went missing is noticed. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz_tiny.h"

#define REPLAY_INPUT_MAX (8u << 20) /* bytes; larger inputs are errors */
#define REPLAY_PATH_MAX	 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* replay_file runs the target on one file; returns 0 or -1. */
static int replay_file(const char *path)
{
	unsigned char *buf;
	long n = fuzz_read_file(path, REPLAY_INPUT_MAX, &buf);

	if (n < 0)
		return -1;
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

/* replay_dir runs the target on every regular file of dir; returns the
 * number replayed, or -1. */
static long replay_dir(const char *dir)
{
	struct dirent **ents = NULL;
	char path[REPLAY_PATH_MAX];
	struct stat st;
	long done = 0;
	int n, i;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		perror(dir);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (done >= 0 && ents[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir,
			     ents[i]->d_name) < (int)sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode))
			done = replay_file(path) == 0 ? done + 1 : -1;
		free(ents[i]);
	}
	free(ents);
	return done;
}

int main(int argc, char **argv)
{
	struct stat st;
	long total = 0, n;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		n = S_ISDIR(st.st_mode)		? replay_dir(argv[i])
		    : replay_file(argv[i]) == 0 ? 1
						: -1;
		if (n < 0)
			return 1;
		total += n;
	}
	printf("replayed %ld inputs\n", total);
	if (total == 0) {
		fprintf(stderr, "no input found\n");
		return 1;
	}
	return 0;
}
