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

# compiled through the template: msgfmt --check compares a translation's
# conversions with its msgid's only for entries flagged c-format, and the
# flags must be the template's (xgettext's), not whatever the .po says
# A translation whose conversions differ from its msgid's, msgmerge marks
# fuzzy, which msgfmt would leave out in silence: that fails the build.
# (`make po-check PO=FILE` runs the same check on any file, for the tests)
po_compile = merged=$$(msgmerge --quiet --no-fuzzy-matching $(1) $(POT) -o -) && \
	stats=$$(printf '%s\n' "$$merged" | msgfmt --check --statistics -o $(2) - 2>&1) && \
	if printf '%s\n' "$$stats" | grep -q fuzzy; then \
		echo "$(1): a translation does not fit its message's format: $$stats" >&2; \
		exit 1; \
	fi

$(BUILD)/locale/%/LC_MESSAGES/fido2gate.mo: po/%.po $(POT)
	@mkdir -p $(dir $@)
	$(call po_compile,$<,$@)

.PHONY: po-check
po-check:
	$(call po_compile,$(PO),/dev/null)

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
