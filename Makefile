# Deux commandes pour démarrer (voir README) :
#   make report   installe si besoin, puis produit les rapports sur les données de démonstration
#                 (notebooks exécutés, HTML et PDF, reports/index.html, paiements.csv par région)
#   make test     installe si besoin, puis lance toute la suite de tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install report test clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(STAMP)

report: $(STAMP)
	$(BIN)/vsm exemples --rules medecins-2024 --out reports/exemples
	$(BIN)/vsm reports --rules medecins-2024

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	find reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .pytest_cache
