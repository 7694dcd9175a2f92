# fido2gate proper: the shared library code (build/lib/libfg.a), the agent,
# the CLI and the PAM module.

FG_LIB_SRC := $(wildcard lib/*.c)
FG_LIB_OBJ := $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(FG_LIB_SRC))
FG_LIB := $(BUILD)/lib/libfg.a
FG_CFLAGS := $(ALL_CFLAGS) -D_GNU_SOURCE -Ilib
FG_LIBS := -ljansson -lcbor -lcrypto

AGENT_SRC := $(wildcard agent/*.c)
AGENT_OBJ := $(patsubst agent/%.c,$(BUILD)/agent/%.o,$(AGENT_SRC))
CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(patsubst cli/%.c,$(BUILD)/cli/%.o,$(CLI_SRC))
PAM_SRC := $(wildcard pam_module/*.c)
PAM_OBJ := $(patsubst pam_module/%.c,$(BUILD)/pam_module/%.o,$(PAM_SRC))

FG_TARGETS := $(BUILD)/fido2gatectl
ifneq ($(AGENT_SRC),)
FG_TARGETS += $(BUILD)/fido2gated
endif
ifneq ($(PAM_SRC),)
FG_TARGETS += $(BUILD)/pam_fido2gate.so
endif

$(BUILD)/lib/%.o: lib/%.c lib/fg.h lib/fg_device.h
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) -c -o $@ $<

$(FG_LIB): $(FG_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/agent/%.o: agent/%.c agent/agent.h lib/fg.h
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) -c -o $@ $<

$(BUILD)/fido2gated: $(AGENT_OBJ) $(FG_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(AGENT_OBJ) $(FG_LIB) $(FG_LIBS) \
		-lsqlite3 -linih

$(BUILD)/cli/%.o: cli/%.c cli/ctl.h lib/fg.h
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) -c -o $@ $<

$(BUILD)/fido2gatectl: $(CLI_OBJ) $(FG_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(FG_LIB) $(FG_LIBS) -lfido2

$(BUILD)/pam_module/%.o: pam_module/%.c lib/fg.h
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) -c -o $@ $<

$(BUILD)/pam_fido2gate.so: $(PAM_OBJ) $(FG_LIB) pam_module/pam_fido2gate.map
	$(CC) -shared $(ALL_LDFLAGS) \
		-Wl,--version-script=pam_module/pam_fido2gate.map \
		-o $@ $(PAM_OBJ) $(FG_LIB) $(FG_LIBS) -lfido2 -lpam

# test tools
FG_TARGETS += $(BUILD)/test/fg-client

$(BUILD)/test/fg-client: tests/tools/fg_client.c $(FG_LIB) lib/fg.h lib/fg_device.h
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(FG_LIB) $(FG_LIBS) -lfido2

# unit tests (cmocka), built with AddressSanitizer and UBSan
FG_SAN_OBJ := $(patsubst lib/%.c,$(BUILD)/lib-san/%.o,$(FG_LIB_SRC))
FG_TARGETS += $(BUILD)/test/verify-unit

$(BUILD)/lib-san/%.o: lib/%.c lib/fg.h lib/fg_device.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(SAN_CFLAGS) $(WARN) -D_GNU_SOURCE -Ilib -c -o $@ $<

$(BUILD)/test/verify-unit: tests/unit/verify_test.c $(FG_SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(SAN_CFLAGS) -Wall -Wextra -Werror -D_GNU_SOURCE -Ilib \
		-o $@ $< $(FG_SAN_OBJ) $(FG_LIBS) -lfido2 -lcmocka

# fault.so: fails the Nth libfido2, conversation, malloc or socket call
# inside pam_authenticate() (tests/faults/fault.c)
FG_TARGETS += $(BUILD)/test/fault.so

$(BUILD)/test/fault.so: tests/faults/fault.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -shared \
		-D_GNU_SOURCE $(if $(findstring sanitize,$(CFLAGS)),-DFAULT_NO_MALLOC) \
		-o $@ $< -ldl

FG_TARGETS += $(BUILD)/test/pam-child

$(BUILD)/test/pam-child: tests/tools/pam_child.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -lpam -lpam_misc

FG_TARGETS += $(BUILD)/test/fg-load

$(BUILD)/test/fg-load: tests/tools/fg_load.c $(FG_LIB) lib/fg.h
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(FG_LIB) $(FG_LIBS) -lpthread
