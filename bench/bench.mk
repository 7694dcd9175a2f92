# Benchmarks (bench/run.sh): `make bench` for the full run, `make
# bench-quick` for one under two minutes. Not tests: nothing in `make check`
# times anything.

$(BUILD)/bench/verify-bench: bench/verify_bench.c $(FG_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(FG_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< $(FG_LIB) $(FG_LIBS)

.PHONY: bench bench-quick bench-deps
bench-deps:
	@scripts/deps.sh bench

bench: all bench-deps $(BUILD)/bench/verify-bench
	bench/run.sh

bench-quick: all bench-deps $(BUILD)/bench/verify-bench
	bench/run.sh quick
