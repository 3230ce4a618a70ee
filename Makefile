# sluice build. `make` builds build/sluice; `make check` installs what is missing and runs
# every test; `make demo` runs the demo. SANITIZE=address,undefined builds into build-san/.
# `make install DESTDIR=... PREFIX=/usr` installs (`make uninstall` removes); `make deb`
# builds the Debian package sluice_VERSION_ARCH.deb here (debian/, docs/service.md).
CC       ?= gcc
SANITIZE ?=
BUILD    := build$(if $(SANITIZE),-san)
CFLAGS   := -std=gnu11 -O2 -g -D_GNU_SOURCE -Isrc -I. \
            -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
LDLIBS   := -levent_openssl -levent_pthreads -levent_extra -levent_core -lssl -lcrypto -lunbound \
            -llmdb -lconfig -lcrypt -lpam -lsystemd -lpthread -lm
CFLAGS   += $(EXTRA_CFLAGS)
LDFLAGS  += $(EXTRA_LDFLAGS)
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

LIB_SRC  := $(sort $(shell find src -name '*.c' ! -path src/main.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
# tools/postdrop.c is its own small binary (sluice-postdrop, installed setgid sluicedrop).
TOOL_SRC := $(filter-out tools/postdrop.c,$(sort $(wildcard tools/*.c)))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Fakes shared by unit tests (tests/unit/fake_*.c: clock, router, transport).
FAKE_SRC := $(sort $(wildcard tests/unit/fake_*.c))
FAKE_LIB := $(BUILD)/tests/libfake.a

.PHONY: all deps unit check check-layers check-unit check-san check-scenario check-package demo clean fuzz fuzz-smoke bench-smoke man install uninstall deb
all: $(BUILD)/sluice $(BUILD)/sluice-postdrop

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libsluice.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/sluice: $(BUILD)/src/main.o $(TOOL_SRC:%.c=$(BUILD)/%.o) $(BUILD)/libsluice.a
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/libsluice.a $(LDLIBS)

$(BUILD)/sluice-postdrop: $(BUILD)/tools/postdrop.o $(BUILD)/libsluice.a
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/libsluice.a $(LDLIBS)

$(FAKE_LIB): $(FAKE_SRC:%.c=$(BUILD)/%.o)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(FAKE_LIB) $(BUILD)/libsluice.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(FAKE_LIB) $(BUILD)/libsluice.a $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)

# Microbenchmarks (bench/micro_*.c) against the library: `make build/bench/micro_dkim`.
$(BUILD)/bench/%: bench/%.c $(BUILD)/libsluice.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libsluice.a $(LDLIBS)

# Man pages: sluice(8), sendmail(1), mailq(1) are written by hand; sluice.conf(5) is made
# from `sluice config-keys`, the key table the configuration reader uses, so it cannot drift.
MAN_PAGES := man/sluice.8 man/sendmail.1 man/mailq.1 $(BUILD)/man/sluice.conf.5
man: $(MAN_PAGES)

$(BUILD)/man/sluice.conf.5: man/sluice.conf.5.in scripts/gen-conf-man $(BUILD)/sluice
	@mkdir -p $(dir $@)
	$(BUILD)/sluice config-keys >$@.keys
	scripts/gen-conf-man $< "$$($(BUILD)/sluice --version | cut -d' ' -f2)" <$@.keys >$@.tmp
	mv $@.tmp $@ && rm -f $@.keys

# Installation. The configuration is always /etc/sluice/sluice.conf (the binary's default),
# never overwritten when present; the unit goes to systemd's directory for PREFIX=/usr, else
# to PREFIX/lib/systemd/system (which systemd also reads). `sendmail` and `mailq` are
# symbolic links to the binary, which acts on the name it is called by.
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/sluice
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),$(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system),$(PREFIX)/lib/systemd/system)
CONFDIR := /etc/sluice
DOCS    := README.md $(wildcard docs/*.md)

# sluice-postdrop is setgid sluicedrop (non-root sendmail, docs/sendmail.md): set here when
# the group exists and we are root (the Debian package sets it in postinst, dpkg-statoverride).
install: $(BUILD)/sluice $(BUILD)/sluice-postdrop man
	install -D -m 755 $(BUILD)/sluice $(DESTDIR)$(SBINDIR)/sluice
	install -m 755 $(BUILD)/sluice-postdrop $(DESTDIR)$(SBINDIR)/sluice-postdrop
	@if [ "$$(id -u)" = 0 ] && [ -z "$(NO_SETGID)" ] && getent group sluicedrop >/dev/null; then \
	    echo "chgrp sluicedrop + chmod 2755 $(DESTDIR)$(SBINDIR)/sluice-postdrop"; \
	    chgrp sluicedrop $(DESTDIR)$(SBINDIR)/sluice-postdrop && chmod 2755 $(DESTDIR)$(SBINDIR)/sluice-postdrop; \
	else \
	    echo "install: sluice-postdrop left 0755 (make it setgid: groupadd --system sluicedrop, then make install as root)"; \
	fi
	ln -sf sluice $(DESTDIR)$(SBINDIR)/sendmail
	install -d $(DESTDIR)$(BINDIR)
	ln -sfr $(DESTDIR)$(SBINDIR)/sluice $(DESTDIR)$(BINDIR)/mailq
	ln -sfr $(DESTDIR)$(SBINDIR)/sluice $(DESTDIR)$(BINDIR)/newaliases
	install -D -m 644 man/sluice.8 $(DESTDIR)$(MANDIR)/man8/sluice.8
	install -D -m 644 man/sluice-ctl.8 $(DESTDIR)$(MANDIR)/man8/sluice-ctl.8
	install -D -m 644 $(BUILD)/man/sluice.conf.5 $(DESTDIR)$(MANDIR)/man5/sluice.conf.5
	install -D -m 644 man/sendmail.1 $(DESTDIR)$(MANDIR)/man1/sendmail.1
	install -D -m 644 man/mailq.1 $(DESTDIR)$(MANDIR)/man1/mailq.1
	install -D -m 644 man/newaliases.1 $(DESTDIR)$(MANDIR)/man1/newaliases.1
	install -d $(DESTDIR)$(DOCDIR)
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' systemd/sluice.service.in >$(DESTDIR)$(UNITDIR)/sluice.service
	chmod 644 $(DESTDIR)$(UNITDIR)/sluice.service
	install -d $(DESTDIR)$(CONFDIR)
	@if [ -e $(DESTDIR)$(CONFDIR)/sluice.conf ]; then \
	    echo "install: keeping $(DESTDIR)$(CONFDIR)/sluice.conf"; \
	else \
	    echo "install -m 644 etc/sluice.conf $(DESTDIR)$(CONFDIR)/sluice.conf"; \
	    install -m 644 etc/sluice.conf $(DESTDIR)$(CONFDIR)/sluice.conf; \
	fi

# Removes what install put there; the configuration only when it is still the shipped one.
# The spool and the user are the administrator's (or the package's) to remove.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sluice $(DESTDIR)$(SBINDIR)/sendmail $(DESTDIR)$(BINDIR)/mailq
	rm -f $(DESTDIR)$(BINDIR)/newaliases
	rm -f $(DESTDIR)$(SBINDIR)/sluice-postdrop
	rm -f $(DESTDIR)$(MANDIR)/man8/sluice.8 $(DESTDIR)$(MANDIR)/man5/sluice.conf.5
	rm -f $(DESTDIR)$(MANDIR)/man8/sluice-ctl.8
	rm -f $(DESTDIR)$(MANDIR)/man1/sendmail.1 $(DESTDIR)$(MANDIR)/man1/mailq.1
	rm -f $(DESTDIR)$(MANDIR)/man1/newaliases.1
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null
	rm -f $(DESTDIR)$(UNITDIR)/sluice.service
	@if cmp -s etc/sluice.conf $(DESTDIR)$(CONFDIR)/sluice.conf; then \
	    echo "rm -f $(DESTDIR)$(CONFDIR)/sluice.conf"; rm -f $(DESTDIR)$(CONFDIR)/sluice.conf; \
	elif [ -e $(DESTDIR)$(CONFDIR)/sluice.conf ]; then \
	    echo "uninstall: keeping $(DESTDIR)$(CONFDIR)/sluice.conf (changed)"; \
	fi
	-rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null

# The Debian package, built with debhelper from a copy of the tree in build/deb/ (so the
# tree stays clean); the .deb lands here. Installs what it needs first (install-deps --package).
deb:
	@scripts/install-deps --package
	rm -rf build/deb && mkdir -p build/deb/src
	tar -cf - --exclude=./build --exclude=./build-san --exclude=./fuzz/build --exclude=./bench/work --exclude=./.git \
	    --exclude='./*.deb' . | tar -xf - -C build/deb/src
	cd build/deb/src && dpkg-buildpackage -us -uc -b
	cp build/deb/sluice_*.deb .
	@ls -1 build/deb/sluice_*.deb | sed "s|.*/|deb: |"

deps:
	@scripts/install-deps

# The layering check (include graph, under a second), unit and scenario tests on the plain
# build, the same again under ASan+UBSan (LSan on), then every fuzz harness for FUZZ_SECONDS
# (15 s each, 32 harnesses), then the bench harness at 1 % scale (sluice and Postfix; it checks only that every
# message arrives), then installation and packaging (check-package).
# `make check SANITIZE=...` runs the first half with those sanitizers too.
check: deps
	$(MAKE) check-layers
	$(MAKE) check-unit check-scenario
	$(MAKE) check-san
	$(MAKE) fuzz-smoke
	$(MAKE) bench-smoke
	$(MAKE) check-package

# STYLE.md's layering, core <- proto <- everything else <- main.c: scripts/check-layers
# (its own self-test first, then the tree; the table of allowed middle edges is in it), and
# the size limits, files <= 800 lines and functions <= 60: scripts/check-sizes (likewise).
check-layers:
	@scripts/check-layers --self-test && scripts/check-layers
	@scripts/check-sizes --self-test && scripts/check-sizes

check-unit: $(UNIT_BIN) $(BUILD)/sluice
	@scripts/run-unit $(UNIT_BIN)

check-san:
	$(MAKE) SANITIZE=address,undefined check-unit check-scenario

check-scenario: $(BUILD)/sluice $(BUILD)/sluice-postdrop
	@SLUICE=$(CURDIR)/$(BUILD)/sluice tests/scenario/run $(SCENARIOS)

# Installation and packaging (tests/package/): make install/uninstall, the man pages, the
# systemd unit, and the Debian package built, checked by lintian, installed in a throwaway
# root and purged. Installs its own tools first (debhelper, lintian: install-deps --package).
# Always the plain build (make check SANITIZE=... too): it is what gets installed.
check-package:
	@scripts/install-deps --package
	$(MAKE) SANITIZE= build/sluice
	@MAKEFLAGS= MAKELEVEL= tests/package/run $(PACKAGE_TESTS)

demo: deps $(BUILD)/sluice
	@scripts/demo

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

fuzz:
	$(MAKE) -C fuzz run FUZZ_SECONDS=$(or $(FUZZ_SECONDS),600)

fuzz-smoke:
	$(MAKE) -C fuzz smoke FUZZ_SECONDS=$(or $(FUZZ_SECONDS),15)

bench-smoke: $(BUILD)/sluice
	@bench/smoke
