"""Build hook: the wheel carries the project's params/ and notebooks/ inside the package.

`pip install .` (not editable) must give a working tool: the rule sets, schemas, examples and
notebooks are data the code reads, so the wheel ships a copy of them as `vsm/_project/`.
An editable install (`make install`) reads the checkout's own folders instead (vsm/paths.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED_FOLDERS = ("params", "notebooks")
IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", ".quarto", "_freeze", "*.pyc")


class BuildWithProjectData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "vsm" / "_project"
        for name in SHIPPED_FOLDERS:
            shutil.copytree(ROOT / name, target / name, dirs_exist_ok=True, ignore=IGNORED)


setup(cmdclass={"build_py": BuildWithProjectData})
