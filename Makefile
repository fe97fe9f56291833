# make reproduce: the whole study (toy world by default) | make test: the test suite
# Both create .venv and install the project into it when it is missing.
#
# TORCH_SPEC picks the PyTorch build installed before the project: the CPU build
# torch==2.13.0 by default; on a GPU machine `make reproduce TORCH_SPEC=torch EXTRAS=dev,gpu`
# takes the registry's CUDA build (and vLLM). pyproject.toml accepts any torch >= 2.4, so
# the one installed first is kept.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev
CORES ?= all
CONFIG ?= config/config.yaml
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

.PHONY: reproduce test lint format clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

reproduce: $(VENV)/.installed
	snakemake --cores $(CORES) --configfile $(CONFIG)
	@echo "Tables: results/tables/ (finetune_safety.md, safedelta_ablation.md); figures: results/figures/."

test: $(VENV)/.installed
	pytest -q
	snakemake --lint
	snakemake --dry-run --quiet rules --configfile config/paper.yaml

lint: $(VENV)/.installed
	ruff check src tests benchmarks
	snakefmt --check Snakefile workflow/rules

format: $(VENV)/.installed
	ruff check --fix src tests benchmarks
	snakefmt Snakefile workflow/rules

clean:
	rm -rf results .snakemake
