/*
 * A main() for a fuzz harness built without libFuzzer (gcc, ASan+UBSan):
 * runs each file named on the command line through the harness once. The
 * crashes fuzzing found live on in tests/fuzz/regress/ and are replayed
 * this way by `make check` (tests/gate/t/26-fuzz-regress.t).
 */
#include <stdio.h>
#include <stdlib.h>

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t *buf = NULL;
		long n;

		if (f == NULL || fseek(f, 0, SEEK_END) != 0 ||
		    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
		    (buf = malloc((size_t)n + 1)) == NULL ||
		    fread(buf, 1, (size_t)n, f) != (size_t)n) {
			perror(argv[i]);
			return 2;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
		printf("replayed %s\n", argv[i]);
	}
	return 0;
}
