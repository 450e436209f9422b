# The three commands of the README (serve, test, bench; bench-full is bench at full size).
# Everything else is in scripts/.
.PHONY: serve test bench bench-full
serve:
	scripts/serve
test:
	scripts/test
bench:
	bench/run
bench-full:
	bench/run --full
