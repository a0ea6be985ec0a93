# Deux commandes pour démarrer (voir README) :
#   make report   installe si besoin, puis produit les rapports sur les données de démonstration
#                 (notebooks exécutés, HTML et PDF, reports/index.html, paiements.csv par région)
#   make test     installe si besoin, vérifie le code (ruff, couches, YAML), puis lance toute la suite de tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install report test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(STAMP)

report: $(STAMP)
	$(BIN)/vsm exemples --rules medecins-2024 --out reports/exemples
	$(BIN)/vsm reports --rules medecins-2024

test: lint
	$(BIN)/python -m pytest

# code style and likely bugs (ruff), the data-flow layers (import-linter), the YAML of params/
lint: $(STAMP)
	$(BIN)/ruff check vsm tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/yamllint -s params notebooks/_quarto.yml .yamllint.yml

clean:
	find reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .pytest_cache
