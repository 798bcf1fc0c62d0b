"""Packaging is tested too: one distribution per block under one PEP 420 namespace, and the
dependency arrows of docs/DESIGN.md section 1 hold in the source."""

import importlib
import importlib.metadata
import pathlib
import re

import pytest
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYPROJECTS = sorted(
    [ROOT / "contracts" / "pyproject.toml", *ROOT.glob("packages/*/pyproject.toml")]
)

#: docs/DESIGN.md section 1: which mono3d blocks each block may import
ALLOWED = {
    "contracts": set(),
    "geometry": {"contracts"},
    "backbone": {"contracts"},
    "neck": {"contracts"},
    "rpn": {"contracts", "geometry"},
    "head": {"contracts", "geometry"},
    "auxi": {"contracts", "geometry"},
    "losses": {"contracts"},
    "logger": set(),
    "kitti": set(),
    "detector": {"contracts", "geometry", "backbone", "neck", "rpn", "head", "auxi", "losses"},
    "data": {"contracts", "geometry", "kitti"},
    "eval": {"contracts", "geometry", "kitti"},
    "train": {
        "contracts",
        "geometry",
        "detector",
        "data",
        "eval",
        "logger",
        "kitti",
        "backbone",
        "neck",
        "rpn",
        "head",
        "auxi",
        "losses",
    },
}


def block_of(pyproject: pathlib.Path) -> tuple[str, dict]:
    project = tomllib.loads(pyproject.read_text())["project"]
    return project["name"].removeprefix("mono3d-"), project


ROOT_LICENSE = pathlib.Path(__file__).resolve().parents[2] / "LICENSE"


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=lambda p: p.parent.name)
def test_distribution_layout(pyproject):
    block, project = block_of(pyproject)
    folder = pyproject.parent
    assert block in ALLOWED, f"{block} is not a block of docs/DESIGN.md section 1"
    assert not (folder / "src" / "mono3d" / "__init__.py").exists(), "breaks the PEP 420 namespace"
    package = folder / "src" / "mono3d" / block.replace("-", "_")
    assert (package / "__init__.py").is_file()
    assert (package / "py.typed").is_file(), f"{block} ships no py.typed"
    assert (folder / "README.md").is_file()
    licence = folder / "LICENSE"
    assert licence.is_file() and licence.read_bytes() == ROOT_LICENSE.read_bytes(), (
        f"{block}: LICENSE must be the root's Apache-2.0 text (it ships in the wheel)"
    )
    assert project.get("license-files") == ["LICENSE"], f"{block}: declare license-files"
    declared = {
        d.split(">")[0].split("=")[0].split("[")[0].strip() for d in project.get("dependencies", [])
    }
    for dep in declared:
        if dep.startswith("mono3d-"):
            assert dep.removeprefix("mono3d-") in ALLOWED[block], f"{block} may not depend on {dep}"
    for dep in project.get("dependencies", []):
        if not dep.startswith("mono3d-"):
            assert "==" not in dep, f"{block} pins {dep}: use lower bounds"


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=lambda p: p.parent.name)
def test_imports_follow_the_dependency_arrows(pyproject):
    block, project = block_of(pyproject)
    declared = {
        d.split(">")[0].split("=")[0].split("[")[0].strip().removeprefix("mono3d-")
        for d in project.get("dependencies", [])
        if d.startswith("mono3d-")
    }
    for source in (pyproject.parent / "src").rglob("*.py"):
        text = source.read_text()
        imported = set(re.findall(r"^\s*(?:from|import)\s+mono3d\.([a-z0-9_]+)", text, re.M))
        for other in imported - {block}:
            assert other in declared, (
                f"{source.relative_to(ROOT)} imports mono3d.{other}, undeclared"
            )
        assert "from __future__ import annotations" not in text, (
            f"{source.relative_to(ROOT)}: jaxtyping skips string annotations"
        )


def test_installed_distributions_share_the_namespace():
    mono3d = importlib.import_module("mono3d")
    assert getattr(mono3d, "__file__", None) is None, "mono3d must be a namespace package"
    installed = sorted(
        d.metadata["Name"]
        for d in importlib.metadata.distributions()
        if (d.metadata["Name"] or "").startswith("mono3d-")
    )
    assert "mono3d-contracts" in installed
    for name in installed:
        module = importlib.import_module("mono3d." + name.removeprefix("mono3d-").replace("-", "_"))
        assert module.__name__.startswith("mono3d.")


def test_meta_distribution_lists_every_component():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = {d.split("=")[0].split("@")[0].strip() for d in meta["dependencies"]}
    components = {block_of(p)[1]["name"] for p in PYPROJECTS}
    assert listed == components
