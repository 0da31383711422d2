# Atrium — the two commands a new user needs: `make run` and `make test` (see README.md).
.PHONY: run test build deps clean-db

deps:
	scripts/ensure-deps.sh

build: deps
	swift build

run: build
	scripts/run-dev.sh

# One build configuration: `swift test` reuses what `swift build` made.
test:
	scripts/ensure-deps.sh --browser
	deploy/check.sh
	swift build
	scripts/with-test-db.sh sh -c 'swift test && python3 Tests/browser/run_browser_tests.py && python3 Tests/api/validate_openapi.py'
	bash Tests/deploy/backup_restore_check.sh

clean-db:
	-scripts/pg-cluster.sh stop var/pg
	rm -rf var/pg "$$(readlink -f var/pg 2>/dev/null)" var/demo-password
