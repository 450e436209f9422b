# The two commands of the README. Everything else is in scripts/.
.PHONY: serve test bench bench-full
serve:
	scripts/serve
test:
	scripts/test
bench:
	bench/run
bench-full:
	bench/run --full
