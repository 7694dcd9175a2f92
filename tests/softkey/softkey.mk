# The soft key: build/test/softkey.so for LD_PRELOAD, a raw CTAPHID
# harness built with AddressSanitizer and UndefinedBehaviorSanitizer, and
# softkey-ca, which prints the test CA of the batch attestation, and a
# libfido2 client that tries several PINs in one power cycle.

SOFTKEY_DIR := tests/softkey
SOFTKEY_CORE := ctaphid ctap2 u2f pin state crypto cbor
SOFTKEY_OBJ := $(patsubst %,$(BUILD)/test/softkey/%.o,$(SOFTKEY_CORE) preload)
SOFTKEY_SAN_OBJ := $(patsubst %,$(BUILD)/test/softkey-san/%.o,$(SOFTKEY_CORE))
SOFTKEY_LIBS := -lfido2 -lcbor -lcrypto -lpthread -ldl

SOFTKEY_TARGETS := $(BUILD)/test/softkey.so $(BUILD)/test/softkey-raw \
	$(BUILD)/test/softkey-ca $(BUILD)/test/softkey-pin-client

$(BUILD)/test/softkey/%.o: $(SOFTKEY_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/test/softkey.so: $(SOFTKEY_OBJ) $(SOFTKEY_DIR)/softkey.map
	$(CC) -shared $(ALL_LDFLAGS) -Wl,--version-script=$(SOFTKEY_DIR)/softkey.map \
		-o $@ $(SOFTKEY_OBJ) $(SOFTKEY_LIBS)

$(BUILD)/test/softkey-san/%.o: $(SOFTKEY_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(SAN_CFLAGS) $(WARN) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/test/softkey-raw: $(SOFTKEY_DIR)/raw_test.c $(SOFTKEY_SAN_OBJ)
	$(CC) -std=gnu11 $(SAN_CFLAGS) $(WARN) $(DEPFLAGS) -I$(SOFTKEY_DIR) -o $@ $^ \
		-lcbor -lcrypto

$(BUILD)/test/softkey-ca: $(SOFTKEY_DIR)/ca_main.c $(filter-out %/preload.o,$(SOFTKEY_OBJ))
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $^ -lcbor -lcrypto

$(BUILD)/test/softkey-pin-client: $(SOFTKEY_DIR)/pin_client.c
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< -lfido2 -lcrypto
