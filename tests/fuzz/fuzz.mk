# libFuzzer harnesses (clang), one per parser of outside input. `make fuzz`
# builds them, seeds each corpus from a run of the real tools
# (tests/fuzz/seeds.sh), and runs each for FUZZ_SECONDS, two at a time.
# A crash, leak or sanitizer report fails the run; the input is kept in
# build/fuzz/crashes/.

FUZZ_CC := clang
FUZZ_SECONDS ?= 30
FUZZ_NAMES := proto authdata cose clientdata attest config pam_args softkey \
	web_params web_lang web_basic web_json web_idtoken
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link -D_GNU_SOURCE -Iinclude -Ilib -Iagent \
	-I$(SOFTKEY_DIR) $(PQ_CFLAGS) -Wall -Wextra -Werror
FUZZ_LIB_OBJ := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(FG_LIB_SRC))
FUZZ_AGENT_OBJ := $(patsubst %.c,$(BUILD)/fuzz/%.o,\
	$(filter-out agent/main.c,$(AGENT_SRC)))
FUZZ_PAM_OBJ := $(BUILD)/fuzz/pam_module/args.o
FUZZ_SK_OBJ := $(patsubst %,$(BUILD)/fuzz/$(SOFTKEY_DIR)/%.o,$(SOFTKEY_CORE))
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_LIBS := -ljansson -lcbor -lcrypto -lfido2

$(BUILD)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -c -o $@ $<

.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/tests/fuzz/fuzz_%.o \
		$$(if $$(filter softkey,$$*),$$(FUZZ_SK_OBJ),$$(FUZZ_AGENT_OBJ)) \
		$(FUZZ_LIB_OBJ) $(FUZZ_PAM_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS) \
		$(AGENT_LIBS) -lpam

.PHONY: fuzz fuzz-build fuzz-seeds
fuzz-build: $(FUZZ_BINS)

fuzz-seeds: build-all
	tests/fuzz/seeds.sh $(BUILD)/fuzz/seeds

fuzz: all
	@$(MAKE) --no-print-directory fuzz-build fuzz-seeds
	@$(MAKE) --no-print-directory -j2 -k $(patsubst %,fuzz-run-%,$(FUZZ_NAMES))
	@echo "fuzz: $(words $(FUZZ_NAMES)) harnesses, $(FUZZ_SECONDS) s each: no crash, leak or UB"

fuzz-run-%:
	@mkdir -p $(BUILD)/fuzz/corpus/$* $(BUILD)/fuzz/crashes
	@echo "fuzz $*: $(FUZZ_SECONDS) s"
	@$(BUILD)/fuzz/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz/crashes/$*- \
		$(BUILD)/fuzz/corpus/$* $(BUILD)/fuzz/seeds/$* \
		$(wildcard tests/fuzz/regress/$*) \
		> $(BUILD)/fuzz/$*.log 2>&1 || \
		{ echo "fuzz $*: FAILED"; tail -n 40 $(BUILD)/fuzz/$*.log; exit 1; }
	@grep -E "stat::number_of_executed_units|cov:" $(BUILD)/fuzz/$*.log | tail -n 2 | sed 's/^/  $*: /'
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_AGENT_OBJ) $(FUZZ_SK_OBJ) $(FUZZ_PAM_OBJ) \
	$(patsubst %,$(BUILD)/fuzz/tests/fuzz/fuzz_%.o,$(FUZZ_NAMES))

# The same harnesses without libFuzzer, built by gcc with ASan and UBSan,
# to replay tests/fuzz/regress/ in `make check`.
REPLAY_BINS := $(patsubst %,$(BUILD)/test/replay_%,$(FUZZ_NAMES))
FG_TARGETS += $(REPLAY_BINS)
REPLAY_SK_OBJ := $(patsubst %,$(BUILD)/san/$(SOFTKEY_DIR)/%.o,$(SOFTKEY_CORE))

$(BUILD)/test/replay_%: $(BUILD)/san/tests/fuzz/fuzz_%.o \
		$(BUILD)/san/tests/fuzz/replay.o \
		$$(if $$(filter softkey,$$*),$$(REPLAY_SK_OBJ),$$(FG_SAN_AGENT_OBJ)) \
		$(FG_SAN_LIB_OBJ) $(BUILD)/san/pam_module/args.o
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(FUZZ_LIBS) $(AGENT_LIBS) -lpam

.SECONDARY: $(REPLAY_SK_OBJ) $(BUILD)/san/pam_module/args.o
