"""One version for the whole family: every pyproject.toml states the same static version,
every mono3d-* requirement is pinned to it with ``==``, the meta-distribution names its
components by version (no file URLs), and each block's ``__version__`` is its installed
distribution's version."""

import importlib
import importlib.metadata
import pathlib

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPONENTS = sorted(
    [ROOT / "contracts" / "pyproject.toml", *ROOT.glob("packages/*/pyproject.toml")]
)
PYPROJECTS = [ROOT / "pyproject.toml", *COMPONENTS]


def project_of(pyproject: pathlib.Path) -> dict:
    return tomllib.loads(pyproject.read_text())["project"]


def label(pyproject: pathlib.Path) -> str:
    return str(pyproject.parent.relative_to(ROOT)) if pyproject.parent != ROOT else "root"


#: the family's version: the meta-distribution's
VERSION = project_of(ROOT / "pyproject.toml")["version"]


def requirements_of(project: dict) -> list[str]:
    """``dependencies`` and every optional-dependency group."""
    extras = project.get("optional-dependencies", {})
    return [*project.get("dependencies", []), *(d for group in extras.values() for d in group)]


def test_every_distribution_has_the_same_version():
    versions = {label(p): project_of(p).get("version") for p in PYPROJECTS}
    assert all(isinstance(v, str) for v in versions.values()), (
        f"every pyproject states a static version: {versions}"
    )
    differing = {name: v for name, v in versions.items() if v != VERSION}
    assert not differing, f"the family's version is {VERSION} (root pyproject.toml): {differing}"
    for pyproject in PYPROJECTS:
        assert "version" not in project_of(pyproject).get("dynamic", []), label(pyproject)


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=label)
def test_every_internal_requirement_is_pinned_to_the_version(pyproject):
    internal = [
        Requirement(d) for d in requirements_of(project_of(pyproject)) if d.startswith("mono3d")
    ]
    if pyproject.parent == ROOT:
        assert {r.name for r in internal} == {project_of(p)["name"] for p in COMPONENTS}
    for requirement in internal:
        assert requirement.url is None, f"{label(pyproject)}: {requirement} is a direct reference"
        assert requirement.specifier == SpecifierSet(f"=={VERSION}"), (
            f"{label(pyproject)}: pin {requirement.name} as =={VERSION}, not {requirement}"
        )


def test_the_meta_distribution_has_no_direct_references():
    text = (ROOT / "pyproject.toml").read_text()
    meta = tomllib.loads(text)
    for requirement in requirements_of(meta["project"]):
        assert "@" not in requirement and "file:" not in requirement, requirement
    assert "allow-direct-references" not in meta.get("tool", {}).get("hatch", {}).get(
        "metadata", {}
    ), "nothing needs direct references: the published wheel must not carry file:// URLs"


@pytest.mark.parametrize("pyproject", COMPONENTS, ids=label)
def test_the_noxfile_reads_bare_names_from_the_pins(pyproject):
    """noxfile.py's ``distributions()`` parses names with these splits (``~=`` would break)."""
    for dep in project_of(pyproject).get("dependencies", []):
        parsed = dep.split(">")[0].split("=")[0].split("[")[0].split(" ")[0]
        assert parsed == Requirement(dep).name, dep


def installed_families() -> list[str]:
    return sorted(
        {
            d.metadata["Name"]
            for d in importlib.metadata.distributions()
            if (d.metadata["Name"] or "").startswith("mono3d-")
        }
    )


def test_installed_versions_match_the_checkout():
    """A stale install (pyproject bumped, environment not reinstalled) fails here."""
    installed = installed_families()
    assert installed, "no mono3d-* distribution is installed"
    for name in installed:
        assert importlib.metadata.version(name) == VERSION, (
            f"{name} is installed as {importlib.metadata.version(name)}; the checkout is "
            f"{VERSION}: reinstall"
        )


@pytest.mark.parametrize("distribution", installed_families())
def test_each_block_reports_its_version(distribution):
    module = importlib.import_module("mono3d." + distribution.removeprefix("mono3d-"))
    assert module.__version__ == importlib.metadata.version(distribution)
