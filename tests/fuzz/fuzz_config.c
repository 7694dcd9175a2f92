/* libFuzzer: the agent's config file, through inih and our handler. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void
cleanup(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_config cfg;
	char err[512];
	int fd;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/dev/shm/fg-fuzz-config.%d",
		    (int)getpid());
		atexit(cleanup);
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
		 0600)) < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (fg_config_load(path, &cfg, err, sizeof(err)) == FG_OK)
		fg_config_clear(&cfg);
	return 0;
}
