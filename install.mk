# `make install` and `make uninstall`, in Debian's layout (tests/gate/t/56-install.t).
#
#   make install [PREFIX=/usr] [DESTDIR=...] [SYSCONFDIR=/etc] [LOCALSTATEDIR=/var]
#
# PREFIX places the programs, manuals, translations and docs. The places
# where other software looks for our files (the PAM module's directory,
# systemd's units, sysusers.d and tmpfiles.d, udev's rules, bash-completion)
# are asked of pkg-config, whatever PREFIX is: a PAM module under
# /usr/local is one PAM never loads. Each can be overridden (PAMDIR=...).
# State (/var/lib/fido2gate) and the socket's folder (/run/fido2gate) are
# not installed: systemd makes them (StateDirectory=, RuntimeDirectory=,
# tmpfiles.d). `make build-dist` builds what is installed and nothing else
# (no test tools, no soft key); debian/rules uses it.
#
# The Synapse module goes to $(PREFIX)/share/fido2gate/fido2gate_synapse.py,
# outside Python's path on purpose: it is loaded by Synapse's own Python,
# which is often a virtualenv (docs/homeserver.md says how to point it there).

PREFIX ?= /usr
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
LOCALEDIR ?= $(DATADIR)/locale
DOCDIR ?= $(DATADIR)/doc/fido2gate
CONFDIR ?= $(SYSCONFDIR)/fido2gate
# asked of pkg-config when used; the fallbacks are Debian 12's
fg_pc = $(shell pkg-config --variable=$(2) $(1) 2> /dev/null)
FG_MULTIARCH = $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2> /dev/null)
PAMDIR ?= $(or $(call fg_pc,pam,libdir),/lib/$(FG_MULTIARCH))/security
SYSTEMDUNITDIR ?= $(or $(call fg_pc,systemd,systemdsystemunitdir),/lib/systemd/system)
SYSUSERSDIR ?= $(or $(call fg_pc,systemd,sysusersdir),/usr/lib/sysusers.d)
TMPFILESDIR ?= $(or $(call fg_pc,systemd,tmpfilesdir),/usr/lib/tmpfiles.d)
UDEVRULESDIR ?= $(or $(call fg_pc,udev,udevdir),/lib/udev)/rules.d
BASHCOMPDIR ?= $(or $(call fg_pc,bash-completion,completionsdir),$(DATADIR)/bash-completion/completions)
PAMCONFIGSDIR ?= $(DATADIR)/pam-configs

# What is installed: MODE:SOURCE:DESTINATION (without DESTDIR), one a word.
# LOCALSTATEDIR is accepted, but nothing is installed under it (see above).
FG_MAN := $(patsubst %,$(BUILD)/man/%,$(MAN_PAGES))
FG_MO := $(PO_MO)
FG_UNITS_SRC := $(wildcard systemd/*.service systemd/*.socket)
# docs/softkey.md is about the test tool, which is not installed
FG_DOCS := README.md $(filter-out docs/softkey.md,$(wildcard docs/*.md))

FG_INSTALL = \
	0755:$(BUILD)/fido2gated:$(SBINDIR)/fido2gated \
	0755:$(BUILD)/fido2gate-web:$(SBINDIR)/fido2gate-web \
	0755:$(BUILD)/fido2gatectl:$(BINDIR)/fido2gatectl \
	0644:$(BUILD)/pam_fido2gate.so:$(PAMDIR)/pam_fido2gate.so \
	0644:pam-configs/fido2gate:$(PAMCONFIGSDIR)/fido2gate \
	0644:udev/60-fido2gate.rules:$(UDEVRULESDIR)/60-fido2gate.rules \
	0644:udev/61-fido2gate-lock.rules.example:$(DOCDIR)/examples/61-fido2gate-lock.rules.example \
	0644:homeserver/synapse/fido2gate_synapse.py:$(DATADIR)/fido2gate/fido2gate_synapse.py \
	$(foreach f,$(FG_DOCS),0644:$(f):$(DOCDIR)/$(notdir $(f))) \
	$(foreach f,$(FG_MAN),0644:$(f):$(MANDIR)/man$(subst .,,$(suffix $(f)))/$(notdir $(f))) \
	$(foreach f,$(FG_MO),0644:$(f):$(LOCALEDIR)/$(patsubst $(BUILD)/locale/%,%,$(f))) \
	$(foreach f,$(FG_UNITS_SRC),0644:$(f):$(SYSTEMDUNITDIR)/$(notdir $(f))) \
	0644:systemd/fido2gate.sysusers:$(SYSUSERSDIR)/fido2gate.conf \
	0644:systemd/fido2gate.tmpfiles:$(TMPFILESDIR)/fido2gate.conf \
	0644:completions/fido2gatectl:$(BASHCOMPDIR)/fido2gatectl
# files in /etc, SOURCE:DESTINATION: installed only where there is none,
# removed only if unchanged (the admin's edits stay)
FG_ETC = etc/fido2gate.conf:$(CONFDIR)/fido2gate.conf \
	systemd/fido2gate-web.default:$(SYSCONFDIR)/default/fido2gate-web

.PHONY: build-dist install uninstall
build-dist: $(BUILD)/fido2gated $(BUILD)/fido2gate-web $(BUILD)/fido2gatectl \
	$(BUILD)/pam_fido2gate.so $(FG_MAN) $(FG_MO)

install: build-dist
	@set -e; for f in $(FG_INSTALL); do \
		mode=$${f%%:*}; rest=$${f#*:}; src=$${rest%%:*}; dst="$(DESTDIR)$${rest#*:}"; \
		echo "install -D -m $$mode $$src $$dst"; \
		install -D -m "$$mode" "$$src" "$$dst"; \
	done
	@set -e; for f in $(FG_ETC); do \
		src=$${f%%:*}; dst="$(DESTDIR)$${f#*:}"; \
		if [ -e "$$dst" ]; then \
			echo "install: $$dst exists, kept as it is"; \
		else \
			echo "install -D -m 0644 $$src $$dst"; \
			install -D -m 0644 "$$src" "$$dst"; \
		fi; \
	done

uninstall:
	@for f in $(FG_INSTALL); do \
		rest=$${f#*:}; dst="$(DESTDIR)$${rest#*:}"; \
		if [ -e "$$dst" ] || [ -L "$$dst" ]; then echo "rm $$dst"; rm -f "$$dst"; fi; \
	done
	@for f in $(FG_ETC); do \
		src=$${f%%:*}; dst="$(DESTDIR)$${f#*:}"; \
		if [ -e "$$dst" ] && ! cmp -s "$$dst" "$$src"; then \
			echo "uninstall: $$dst was changed, kept"; \
		elif [ -e "$$dst" ]; then echo "rm $$dst"; rm -f "$$dst"; fi; \
	done
	@for d in $(DOCDIR)/examples $(DOCDIR) $(DATADIR)/fido2gate $(CONFDIR); do \
		rmdir "$(DESTDIR)$$d" 2> /dev/null || true; \
	done

# `make deb`: the Debian package, by dpkg-buildpackage on a copy of the
# source (git's tracked and untracked files that .gitignore lets through:
# no build folder, no node_modules), so that the working tree's build
# folders are never touched. The .deb lands in $(BUILD)/deb/.
# dpkg-buildpackage is not run as a sub-make of this one: our command
# line (BUILD= among it) must not reach the package's own make.
DEB_DIR = $(BUILD)/deb
.PHONY: deb
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	git ls-files -z -c -o --exclude-standard | \
		grep -z -v -e '^build' -e '/node_modules/' -e '^node_modules/' | \
		tar --null --ignore-failed-read -T - -cf - 2> /dev/null | \
		tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		-u MAKEOVERRIDES dpkg-buildpackage -b -us -uc
	@ls -l $(DEB_DIR)/*.deb
