# The two commands of the README. Everything else is in scripts/.
.PHONY: serve test
serve:
	scripts/serve
test:
	scripts/test
