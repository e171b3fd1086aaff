# The front door. Every target installs what it needs first (scripts/install.sh).
#   make demo    the end-to-end story on a local stack (KEEP=1 leaves the stack running)
#   make test    fmt, lint, type-check, pgTAP and Deno tests on a private stack
#   make stack   start the local stack     make status   print its URLs and keys
#   make stop    stop it                   make wipe     stop it and delete its data
#   make bench   benchmarks, each printed beside its baseline
#   make web     build the browser client and the status page's script into web/dist/
#   make verify DB_URL=postgresql://…   check a deployed database has everything the bundle needs
API_PORT ?= 54321
DB_PORT ?= 54322
export API_PORT DB_PORT

.PHONY: demo test stack status stop wipe bench install fmt lint check verify web

install:
	@bash scripts/install.sh

stack:
	@bash scripts/stack.sh start

status:
	@bash scripts/stack.sh status

stop:
	@bash scripts/stack.sh stop

wipe:
	@bash scripts/stack.sh wipe

test:
	@bash scripts/test.sh

demo:
	@bash scripts/demo.sh

bench:
	@bash scripts/bench.sh

web:
	@bash scripts/build_web.sh

# DB_URL from the command line or the environment (a password with `$` only through the
# environment); without it, the running local stack's database (API_PORT picks the stack).
verify:
	@bash -c 'source scripts/lib.sh && deno run --allow-read --allow-env --allow-net --allow-run=bash scripts/verify.ts'

fmt:
	@bash -c 'source scripts/lib.sh && deno fmt'

lint:
	@bash -c 'source scripts/lib.sh && deno lint'

check:
	@bash -c 'source scripts/lib.sh && deno check $$(git ls-files --cached --others --exclude-standard "*.ts")'
