"""The repository's layout contracts: three packages importing one way (verification -> empirical ->
bounds), small modules, citations that resolve inside the repository, and runnable examples."""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import pkgutil
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bounds", "empirical", "verification")
FORBIDDEN = {"bounds": {"empirical", "verification"}, "empirical": {"verification"}, "verification": set()}
MAX_LINES = 400


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported_packages(path: Path) -> set[str]:
    """Top-level packages imported by a module (relative imports stay inside its own package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_upward(package):
    bad = {str(p.relative_to(ROOT)): sorted(_imported_packages(p) & FORBIDDEN[package]) for p in _modules(package)}
    assert not {k: v for k, v in bad.items() if v}


def test_the_import_check_sees_an_upward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from verification.claims import CLAIMS\nfrom .x import y\nimport empirical.kl\n")
    assert _imported_packages(module) == {"verification", "empirical"}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_exceeds_the_size_limit(package):
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in _modules(package)}
    assert not {k: n for k, n in sizes.items() if n > MAX_LINES}


def _headings() -> set[str]:
    """Section numbers of docs/theory.md: "## 8. ..." gives "8", "### 8.3 ..." gives "8.3"."""
    text = (ROOT / "docs" / "theory.md").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", text, flags=re.MULTILINE)}


def test_every_theory_citation_resolves_inside_the_repository():
    headings = _headings()
    assert {str(i) for i in range(1, 13)} <= headings
    cited, stale = set(), []
    for package in PACKAGES:
        for path in _modules(package):
            text = path.read_text(encoding="utf-8")
            if "THEORY §" in text:
                stale.append(str(path.relative_to(ROOT)))
            cited |= {(str(path.relative_to(ROOT)), m) for m in re.findall(r"docs/theory\.md\s+§(\d+(?:\.\d+)?)", text)}
    assert not stale, "cite docs/theory.md, not the team's THEORY.md outside the repository"
    assert cited and not {c for c in cited if c[1] not in headings}


def test_pyproject_lists_the_three_packages_and_the_claims_layer_owns_the_command():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = project["tool"]["setuptools"]["packages"]
    assert set(PACKAGES) <= set(packages)
    found = {info.name for p in PACKAGES for info in pkgutil.walk_packages(
        importlib.import_module(p).__path__, p + ".") if info.ispkg}
    assert found <= set(packages), "every subpackage must be installed"
    assert project["project"]["scripts"]["diffgen"] == "verification.cli:main"


def test_public_entry_points_have_runnable_examples():
    finder = doctest.DocTestFinder()
    count = 0
    for package in PACKAGES:
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
            count += sum(len(t.examples) > 0 for t in finder.find(importlib.import_module(info.name)))
    assert count >= 6
    from bounds import early_stopping_time, rates, theorem1, theorem2
    from empirical.kl import kl_integrated, kl_ode, kl_score_bound, kl_sde
    from empirical.measure import measure

    for fn in (theorem1, theorem2, early_stopping_time, rates, measure, kl_score_bound, kl_sde, kl_ode, kl_integrated):
        assert ">>>" in (fn.__doc__ or ""), f"{fn.__module__}.{fn.__name__} has no Examples section"


def test_the_claims_table_is_generated_from_the_registry():
    """docs/claims.md is verification.claims.doc.claims_table() (regenerate with `python -m
    verification.claims.doc > docs/claims.md`), every claim's section exists, and the README links the table."""
    from verification.claims import CLAIMS
    from verification.claims.doc import claims_table

    text = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
    assert claims_table() in text, "docs/claims.md is stale: run `python -m verification.claims.doc > docs/claims.md`"
    for claim in CLAIMS.values():
        assert (ROOT / "verification" / "sections" / f"{claim.section}.py").is_file()
    assert "docs/claims.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_package_states_its_public_api():
    """Each package's ``__init__`` defines ``__all__``, and every name in it exists (a module or an attribute)."""
    for package in PACKAGES:
        for info in [None, *pkgutil.walk_packages(importlib.import_module(package).__path__, package + ".")]:
            name = package if info is None else info.name
            if info is not None and not info.ispkg:
                continue
            module = importlib.import_module(name)
            assert hasattr(module, "__all__"), f"{name} has no __all__"
            for entry in module.__all__:
                assert hasattr(module, entry) or importlib.util.find_spec(f"{name}.{entry}") is not None, (name, entry)


def test_verification_formats_and_empirical_computes():
    """Formatting lives in verification (no module of the claims layer imports an engine formatter), and the claims
    layer holds no training or sampling loop of its own (those are the engine's)."""
    for path in _modules("verification"):
        text = path.read_text(encoding="utf-8")
        assert "empirical.formats" not in text, path
        for loop in (".backward(", "optim.", "torch.randn", "opt.step()"):  # optimiser steps and noise draws
            assert loop not in text, f"{path.relative_to(ROOT)} runs a training or sampling loop ({loop!r})"
        for flow in ("gradient_flow(", "empirical_loss(", "population_losses("):  # the exact flows and losses
            assert flow not in text, f"{path.relative_to(ROOT)} computes a flow or loss itself ({flow!r})"
    assert not (ROOT / "empirical" / "formats.py").exists()


def test_docstrings_carry_no_issue_numbers():
    """Issue numbers drift (the tracker is not the code's reference); docs/theory.md sections are."""
    found = [f"{path.relative_to(ROOT)}:{m.group(0)}" for package in PACKAGES for path in _modules(package)
             for m in re.finditer(r"\bissue \d+", path.read_text(encoding="utf-8"), flags=re.IGNORECASE)]
    assert not found, found
