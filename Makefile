# Two commands matter: `make demo` and `make test`. Both set everything up from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CDK_STAMP := infra_cdk/node_modules/.installed-stamp

.PHONY: setup browser mariadb demo dev test lint typecheck unit integration e2e infra layers synth bench clean

# Everything the tests need; the demo needs only the Python environment (no apt-get, no sudo, no Node.js).
setup: $(STAMP) $(CDK_STAMP) browser mariadb

browser:  ## Debian's chromium, which the console's browser tests drive (Playwright never downloads one here)
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing chromium (apt-get) for the console's browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium </dev/null; }

# The server's core packages only: the binaries without the system service, so nothing starts or listens on the
# machine; the tests start their own server in a temporary directory on a Unix socket.
mariadb:  ## Debian's MariaDB server binaries, which the local agent's MySQL-family tests run
	@command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || { \
	  echo "Installing mariadb-server-core (apt-get) for the local agent's MySQL / MariaDB tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server-core mariadb-client-core </dev/null; }

$(STAMP): pyproject.toml local_agent/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[embedded,dev]" -e "./local_agent[mysql]"
	touch $(STAMP)

$(CDK_STAMP): infra_cdk/package-lock.json  ## the CDK CLI and library, for the infrastructure checks and deploys
	npm ci --prefix infra_cdk --no-audit --no-fund --loglevel=error
	touch $(CDK_STAMP)

demo: $(STAMP)  ## the daily warehouse report, end to end, on the embedded stack
	$(BIN)/phi demo

dev: $(STAMP)  ## the embedded stack until Ctrl-C (phi dev --help: ports, data folder)
	$(BIN)/phi dev

LINTED := functions local_agent tests infra_cdk app.py bench

lint: setup
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: setup
	$(BIN)/mypy functions/phi local_agent/phi_agent infra_cdk

test: setup lint typecheck  ## everything: lint, types, unit, integration, end-to-end, infrastructure
	$(BIN)/pytest -q --durations=25

unit: setup
	$(BIN)/pytest -q tests/unit

integration: setup
	$(BIN)/pytest -q tests/integration

e2e: setup
	$(BIN)/pytest -q tests/e2e

infra: setup
	$(BIN)/pytest -q tests/infra

layers: setup  ## the Lambda dependency layer, built for the Lambda platform without Docker
	$(BIN)/python layers/build_layers.py

synth: layers  ## CloudFormation templates into cdk.out/ (cdk-nag on)
	JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 PATH="$(CURDIR)/$(BIN):$$PATH" npx --prefix infra_cdk cdk synth --quiet

bench: setup  ## benchmark scripts; each prints its figures
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/bench_roundtrip.py
	$(BIN)/python bench/bench_large_result.py
	$(BIN)/python bench/bench_table_pipeline.py
	$(BIN)/python bench/bench_embeddings_quality.py
	$(BIN)/python bench/bench_retrieval.py
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_cold_start.py
	$(BIN)/python bench/bench_search_scale.py --chunks 100000 --orgs 100 --large 20000  # README: the 1,000,000-chunk run

clean:
	rm -rf $(VENV) .phi cdk.out layers/build
