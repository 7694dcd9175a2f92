# Benchmarks (bench/run.sh): `make bench` for the full run, `make
# bench-quick` for one under two minutes, `make bench-pg` for the
# PostgreSQL part alone (its JSON on stdout; latest.* stay as they are).
# Not tests: nothing in `make check` times anything.

$(BUILD)/bench/verify-bench: bench/verify_bench.c $(FG_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< $(FG_LIB) $(FG_LIBS)

.PHONY: bench bench-quick bench-pg bench-deps
bench-deps:
	@scripts/deps.sh bench

bench: all bench-deps $(BUILD)/bench/verify-bench
	bench/run.sh

bench-quick: all bench-deps $(BUILD)/bench/verify-bench
	bench/run.sh quick

# section 8 of bench/run.sh, then section 9 (failover) when
# bench/pg_failover.sh exists, full size
bench-pg: all
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	bench/store_pg.sh $(BUILD) "$$d/pg" 10 1000000 && \
	if [ -x bench/pg_failover.sh ]; then bench/pg_failover.sh $(BUILD) "$$d/f"; fi
