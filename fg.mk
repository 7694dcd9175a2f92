# fido2gate proper: the shared code (build/lib/libfg.a), the agent, the
# CLI, the PAM module and the test tools. Every object records the headers
# it read (-MMD -MP), so editing any header rebuilds exactly what uses it.
# Objects under $(BUILD)/san/ are the same sources with ASan and UBSan,
# for the unit tests and the fuzz-regression replays.

DEPFLAGS := -MMD -MP
FG_PATHS := -DFG_CONFIG_DEFAULT='"$(SYSCONFDIR)/fido2gate/fido2gate.conf"'
# where the translations are read (po/po.mk builds them; lib/intl.h)
PREFIX ?= /usr
LOCALEDIR ?= $(PREFIX)/share/locale
FG_PATHS += -DFG_LOCALEDIR='"$(LOCALEDIR)"'
# libpq: the PostgreSQL store (agent/store_pg.c)
PQ_CFLAGS := $(shell pkg-config --cflags libpq)
FG_CFLAGS := $(ALL_CFLAGS) -D_GNU_SOURCE -Ilib $(FG_PATHS) $(PQ_CFLAGS)
FG_SAN_CFLAGS := -std=gnu11 $(SAN_CFLAGS) $(WARN) -D_GNU_SOURCE -Iinclude \
	-Ilib $(FG_PATHS) $(PQ_CFLAGS)
FG_LIBS := -ljansson -lcbor -lcrypto
# libsystemd: socket activation and the journal (agent/main.c, journal.c);
# libcurl: a lock's logouts and the notifications (agent/outbound.c)
AGENT_LIBS := -lsqlite3 -lpq -linih -ljose -lpam -lcurl \
	$(shell pkg-config --libs libsystemd)

FG_LIB_SRC := $(wildcard lib/*.c)
AGENT_SRC := $(wildcard agent/*.c)
CLI_SRC := $(wildcard cli/*.c)
PAM_SRC := $(wildcard pam_module/*.c)

FG_LIB := $(BUILD)/lib/libfg.a
FG_LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(FG_LIB_SRC))
AGENT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(AGENT_SRC))
CLI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRC))
PAM_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(PAM_SRC))

FG_TARGETS := $(BUILD)/fido2gated $(BUILD)/fido2gatectl \
	$(BUILD)/pam_fido2gate.so

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/agent/%.o: agent/%.c
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/cli/%.o: cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/pam_module/%.o: pam_module/%.c
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(FG_LIB): $(FG_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/fido2gated: $(AGENT_OBJ) $(FG_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(AGENT_OBJ) $(FG_LIB) $(FG_LIBS) \
		$(AGENT_LIBS)

# audit --verify --db: the agent's audit chain code, and SQLite; store
# copy: the store itself, both backends (its journal stays off: the copy
# writes no audit record)
CLI_AGENT_OBJ := $(patsubst %,$(BUILD)/agent/%.o,auditchain store \
	store_sqlite store_pg journal)

$(BUILD)/fido2gatectl: $(CLI_OBJ) $(CLI_AGENT_OBJ) $(FG_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(CLI_AGENT_OBJ) \
		$(FG_LIB) $(FG_LIBS) -lfido2 -lsqlite3 -lpq \
		$(shell pkg-config --libs libsystemd)

$(BUILD)/pam_fido2gate.so: $(PAM_OBJ) $(FG_LIB) pam_module/pam_fido2gate.map
	$(CC) -shared $(ALL_LDFLAGS) \
		-Wl,--version-script=pam_module/pam_fido2gate.map \
		-o $@ $(PAM_OBJ) $(FG_LIB) $(FG_LIBS) -lfido2 -lpam

# The same sources with ASan and UBSan.
$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(FG_SAN_CFLAGS) $(DEPFLAGS) -Iagent -Itests/softkey -c -o $@ $<

FG_SAN_LIB_OBJ := $(patsubst %.c,$(BUILD)/san/%.o,$(FG_LIB_SRC))
FG_SAN_AGENT_OBJ := $(patsubst %.c,$(BUILD)/san/%.o,\
	$(filter-out agent/main.c,$(AGENT_SRC)))

# Test tools: one source each, linked with libfg.
FG_TOOLS := fg-client fg-load fg-webkey
FG_TARGETS += $(patsubst %,$(BUILD)/test/%,$(FG_TOOLS))

$(BUILD)/test/fg-%: tests/tools/fg_%.c $(FG_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< $(FG_LIB) \
		$(FG_LIBS) -lfido2 -lpthread

FG_TARGETS += $(BUILD)/test/pam-child

$(BUILD)/test/pam-child: tests/tools/pam_child.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< -lpam -lpam_misc

# Unit tests (cmocka), built with AddressSanitizer and UBSan.
FG_UNITS := verify store agent
FG_TARGETS += $(patsubst %,$(BUILD)/test/%-unit,$(FG_UNITS))

$(BUILD)/test/%-unit: $(BUILD)/san/tests/unit/%_test.o $(FG_SAN_LIB_OBJ) \
		$(FG_SAN_AGENT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(FG_LIBS) -lfido2 $(AGENT_LIBS) \
		-lcmocka

# fault.so: fails the Nth libfido2, conversation, malloc or socket call
# inside pam_authenticate() (tests/faults/fault.c)
FG_TARGETS += $(BUILD)/test/fault.so

$(BUILD)/test/fault.so: tests/faults/fault.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -shared $(DEPFLAGS) \
		-D_GNU_SOURCE $(if $(findstring sanitize,$(CFLAGS)),-DFAULT_NO_MALLOC) \
		-o $@ $< -ldl

.SECONDARY: $(FG_SAN_LIB_OBJ) $(FG_SAN_AGENT_OBJ)
