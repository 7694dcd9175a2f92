# fido2gate: `make` builds everything into build/, `make check` runs every
# test, `make demo` shows the gate at work. Each first installs missing
# Debian packages (scripts/deps.sh).

BUILD := build
CC ?= cc
# the agent reads $(SYSCONFDIR)/fido2gate/fido2gate.conf when given no --config
SYSCONFDIR ?= /etc

WARN := -Wall -Wextra -Werror -Wshadow -Wconversion -Wformat=2 \
	-Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith -Wvla
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(CFLAGS) $(WARN) $(HARDEN) -Iinclude
ALL_LDFLAGS := -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS)
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all

.PHONY: all deps check demo demo-softkey clean format
.DEFAULT_GOAL := all

deps:
	@scripts/deps.sh

include tests/softkey/softkey.mk
include fg.mk
include web/web.mk
include tests/fuzz/fuzz.mk
include bench/bench.mk
include po/po.mk
include man/man.mk
include install.mk

all: deps
	@$(MAKE) --no-print-directory build-all

.PHONY: build-all
build-all: $(SOFTKEY_TARGETS) $(FG_TARGETS) mo man

# every test: the suite, the suite again under ASan+UBSan, and each fuzzer
# for FUZZ_SECONDS (30). `make check-fast` is the plain suite alone.
check: all
	@$(MAKE) --no-print-directory check-run
	@$(MAKE) --no-print-directory check-sanitize
	@$(MAKE) --no-print-directory fuzz

.PHONY: check-fast
check-fast: all
	@$(MAKE) --no-print-directory check-run

.PHONY: check-run
check-run:
	prove -v --timer tests/softkey/t/ tests/gate/t/

# the whole suite again on build-san/: everything built with AddressSanitizer
# and UndefinedBehaviorSanitizer (valgrind's tests skip themselves there)
SAN_BUILD := build-san
.PHONY: check-sanitize
check-sanitize: all
	@$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) \
		CFLAGS="$(SAN_CFLAGS)" LDFLAGS="-fsanitize=address,undefined" build-all
	FG_BUILD=$(abspath $(SAN_BUILD)) FG_SANITIZE=1 \
		prove --timer tests/softkey/t/ tests/gate/t/

# the load test at full length: 64 clients for two minutes
.PHONY: load
load: all
	LOAD_SECONDS=120 prove -v tests/gate/t/27-load.t

# kill -9 under load, at length: 200 times instead of make check's 40
.PHONY: crash
crash: all
	KILLS=200 prove -v tests/gate/t/22-crash.t

demo: all
	@demo/demo.sh

demo-softkey: all
	@tests/softkey/softkey-demo.sh

clean:
	rm -rf $(BUILD) $(SAN_BUILD)

# the headers each object read, recorded by -MMD when it was compiled
# (not under $(BUILD)/deb/, `make deb`'s copy of the tree, whose folders
# include tmpfiles.d and sysusers.d)
-include $(shell find $(BUILD) -path $(BUILD)/deb -prune -o -name '*.d' -type f -print 2> /dev/null)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
