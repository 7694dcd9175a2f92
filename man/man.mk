# The manuals, in scdoc (man/*.scd), built into $(BUILD)/man/NAME.SECTION.
# fido2gate.conf(5)'s SETTINGS come from the agent's table of settings
# (agent/settings.c) through $(BUILD)/man/fg-settings, which links that
# table; the same tool writes etc/fido2gate.conf (`make conf-sample`;
# tests/gate/t/51-config.t fails when the committed file is out of date).

MAN_PAGES := fido2gated.8 fido2gatectl.8 pam_fido2gate.8 fido2gate.conf.5 \
	fido2gate-web.8
MAN_TARGETS := $(patsubst %,$(BUILD)/man/%,$(MAN_PAGES)) \
	$(BUILD)/man/fg-settings $(BUILD)/test/pam-args

.PHONY: man conf-sample
man: $(MAN_TARGETS)

FG_SETTINGS_OBJ := $(filter-out $(BUILD)/agent/main.o,$(AGENT_OBJ))

$(BUILD)/man/fg-settings: man/fg-settings.c $(FG_SETTINGS_OBJ) $(FG_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) -Iagent $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(FG_SETTINGS_OBJ) $(FG_LIB) $(FG_LIBS) $(AGENT_LIBS)

$(BUILD)/man/settings.scd: $(BUILD)/man/fg-settings
	$< --manual > $@.tmp && mv $@.tmp $@

# the page's @SETTINGS@ line replaced by the table's
$(BUILD)/man/fido2gate.conf.5: man/fido2gate.conf.5.scd \
		$(BUILD)/man/settings.scd
	@mkdir -p $(dir $@)
	sed -e '/^@SETTINGS@$$/{r $(BUILD)/man/settings.scd' -e 'd;}' $< | \
		scdoc > $@.tmp && mv $@.tmp $@

$(BUILD)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@.tmp && mv $@.tmp $@

# the PAM module's argument table, for tests/gate/t/50-man.t
$(BUILD)/test/pam-args: tests/tools/pam_args.c pam_module/args.c $(FG_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< $(FG_LIB) \
		$(FG_LIBS)

conf-sample: $(BUILD)/man/fg-settings
	$< --sample > etc/fido2gate.conf
