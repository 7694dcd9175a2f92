# fido2gate-web (web/): the HTTP front, built to $(BUILD)/fido2gate-web with
# fg.mk's flags (libmicrohttpd; libcurl and libjose for the organisation's
# provider), plus its tests: the cmocka unit test of the pure parsers
# ($(BUILD)/test/web-unit) and the fuzz harnesses tests/fuzz/fuzz_web_*.c,
# replayed under ASan+UBSan ($(BUILD)/test/replay_web_*) and, once their
# names are in fuzz.mk's FUZZ_NAMES, fuzzed by `make fuzz`.

WEB_SRC := $(wildcard web/*.c)
WEB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(WEB_SRC))
# the parsers and renderers (and the address tables): no libmicrohttpd daemon
WEB_PURE := buf params lang basic login reply html idtoken addr budget conns
WEB_SAN_OBJ := $(patsubst %,$(BUILD)/san/web/%.o,$(WEB_PURE))
WEB_FUZZ_OBJ := $(patsubst %,$(BUILD)/fuzz/web/%.o,$(WEB_PURE))
WEB_FUZZ_LIB_OBJ := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(FG_LIB_SRC))
WEB_FUZZ := web_params web_lang web_basic web_json web_idtoken

FG_TARGETS += $(BUILD)/fido2gate-web $(BUILD)/test/web-unit \
	$(patsubst %,$(BUILD)/test/replay_%,$(WEB_FUZZ))

$(BUILD)/web/%.o: web/%.c
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# static.c embeds these (.incbin), which -MMD does not see
$(BUILD)/web/static.o: web/static/login.js web/static/login.css \
		web/static/enrol.js

$(BUILD)/fido2gate-web: $(WEB_OBJ) $(FG_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(WEB_OBJ) $(FG_LIB) $(FG_LIBS) -lmicrohttpd \
		-lcurl -ljose

$(BUILD)/test/web-unit: $(BUILD)/san/tests/web/web_test.o $(WEB_SAN_OBJ) \
		$(FG_SAN_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(FG_LIBS) -lfido2 -lmicrohttpd -ljose \
		-lcmocka

# The harnesses link the web parsers, not the agent (fuzz.mk's own rules
# for fuzz_% and replay_% link the agent; these, more specific, win).
$(BUILD)/test/replay_web_%: $(BUILD)/san/tests/fuzz/fuzz_web_%.o \
		$(BUILD)/san/tests/fuzz/replay.o $(WEB_SAN_OBJ) $(FG_SAN_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(FG_LIBS) -lfido2 -lmicrohttpd -ljose

$(BUILD)/fuzz/fuzz_web_%: $(BUILD)/fuzz/tests/fuzz/fuzz_web_%.o \
		$(WEB_FUZZ_OBJ) $(WEB_FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(FG_LIBS) \
		-lfido2 -lmicrohttpd -ljose

# their seeds are checked in (tests/web/seeds/NAME/), and go where
# `make fuzz` looks for each harness's seeds (a harness without any
# starts from nothing)
.PHONY: web-fuzz-seeds
fuzz-seeds: web-fuzz-seeds
web-fuzz-seeds:
	@for name in $(WEB_FUZZ); do \
		mkdir -p $(BUILD)/fuzz/seeds/$$name && \
		if [ -d tests/web/seeds/$$name ]; then \
			cp tests/web/seeds/$$name/* $(BUILD)/fuzz/seeds/$$name/; \
		fi || exit 1; \
	done

.SECONDARY: $(WEB_SAN_OBJ) $(WEB_FUZZ_OBJ)
