# partyline: the commands a C user expects, as thin wrappers over cargo.
#   make demo   build everything and run the three-party demo
#   make test   run every test (unit, C programs under the launcher, bootstrap, netns, header drift)

CARGO ?= cargo
CC ?= cc
PREFIX ?= /usr/local
TARGET := target/release
CFLAGS_EX := -std=c11 -O2 -Wall -Wextra -Werror -Iinclude

.PHONY: all build demo test deps install clean

all: build

deps:
	@scripts/deps.sh

build:
	$(CARGO) build --release
	@ln -sf libpartyline.so $(TARGET)/libmpi_abi.so.1

$(TARGET)/examples/%: c-examples/%.c include/mpi.h build
	@mkdir -p $(TARGET)/examples
	$(CC) $(CFLAGS_EX) $< -o $@ -L$(TARGET) -lpartyline -Wl,-rpath,$(abspath $(TARGET))

demo: deps build $(TARGET)/examples/hello $(TARGET)/examples/ring
	$(TARGET)/partyrun -n 3 $(TARGET)/examples/hello
	$(TARGET)/partyrun -n 3 $(TARGET)/examples/ring

test: deps
	$(CARGO) test --release

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib
	install -m 755 $(TARGET)/partyrun $(DESTDIR)$(PREFIX)/bin/partyrun
	ln -sf partyrun $(DESTDIR)$(PREFIX)/bin/mpirun
	ln -sf partyrun $(DESTDIR)$(PREFIX)/bin/mpiexec
	install -m 644 include/mpi.h $(DESTDIR)$(PREFIX)/include/mpi.h
	install -m 755 $(TARGET)/libpartyline.so $(DESTDIR)$(PREFIX)/lib/libpartyline.so
	install -m 644 $(TARGET)/libpartyline.a $(DESTDIR)$(PREFIX)/lib/libpartyline.a
	ln -sf libpartyline.so $(DESTDIR)$(PREFIX)/lib/libmpi_abi.so.1

clean:
	$(CARGO) clean
