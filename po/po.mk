# Translations (GNU gettext, text domain "fido2gate"): po/fido2gate.pot is
# the template xgettext makes from the sources (`make pot`), po/LANG.po
# each language's translation (`make po-update` merges the template in),
# compiled by `make mo` into $(BUILD)/locale/LANG/LC_MESSAGES/fido2gate.mo,
# installed under $(LOCALEDIR) where the programs look (FG_LOCALEDIR).
# tests/gate/t/53-french.t checks the template against the sources and
# that no message lacks a translation.

PO_LANGS := $(patsubst po/%.po,%,$(wildcard po/*.po))
PO_MO := $(patsubst %,$(BUILD)/locale/%/LC_MESSAGES/fido2gate.mo,$(PO_LANGS))
# every file with a message for a person; _() translates, N_() marks
POT ?= po/fido2gate.pot
POT_SRC = $(sort $(wildcard lib/*.c pam_module/*.c cli/*.c web/*.c))
XGETTEXT_FLAGS := --language=C --from-code=UTF-8 --keyword=_ --keyword=N_ \
	--add-comments=TRANSLATORS: --add-location=file --sort-by-file \
	--package-name=fido2gate --no-wrap

.PHONY: mo pot po-update
mo: $(PO_MO)

$(BUILD)/locale/%/LC_MESSAGES/fido2gate.mo: po/%.po
	@mkdir -p $(dir $@)
	msgfmt --check -o $@ $<

pot:
	xgettext $(XGETTEXT_FLAGS) -o $(POT) $(POT_SRC)

po-update: pot
	@for lang in $(PO_LANGS); do \
		msgmerge --quiet --update --backup=none --no-wrap \
			po/$$lang.po $(POT) || exit 1; \
	done

# pam-conv: a login program in miniature (setlocale first, then PAM)
FG_TARGETS += $(BUILD)/test/pam-conv

$(BUILD)/test/pam-conv: tests/tools/pam_conv.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< -lpam
