"""What a pip user gets: every distribution's wheel and sdist carry publishable metadata,
the licence and (mono3d-train) the run-config presets, byte-identical to configs/*.yaml.

The metadata is read from every pyproject.toml. The built artifacts come from
``$MONO3D_DIST_DIR`` (``nox -s dist`` builds every distribution there); without it the
module builds mono3d-train alone with ``uv build`` (sdist, then the wheel from the sdist)
into a temporary folder, skipping when uv is not on the PATH. ``twine check --strict`` runs
on whatever was built; ``nox -s tests`` and ``nox -s dist`` install twine and set
``MONO3D_REQUIRE_TWINE=1``, which turns its absence into a failure.
"""

import email.parser
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYPROJECTS = sorted(
    [ROOT / "pyproject.toml", ROOT / "contracts" / "pyproject.toml",
     *ROOT.glob("packages/*/pyproject.toml")]
)  # fmt: skip
PROJECTS = {p.parent: tomllib.loads(p.read_text())["project"] for p in PYPROJECTS}
PRESETS = sorted((ROOT / "configs").glob("*.yaml"))
TRAIN = ROOT / "packages" / "train"
#: the distributions whose artifacts are checked: all of them from nox -s dist, else train
BUILT = list(PROJECTS) if os.environ.get("MONO3D_DIST_DIR") else [TRAIN]


def _normal(name: str) -> str:
    return name.replace("-", "_").lower()


@pytest.fixture(scope="module")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    given = os.environ.get("MONO3D_DIST_DIR")
    if given:
        return pathlib.Path(given)
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on the PATH to build the distributions (nox -s dist does)")
    out = tmp_path_factory.mktemp("dist")
    for folder in BUILT:
        subprocess.run(
            [uv, "build", "--quiet", "--out-dir", str(out), str(folder)],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return out


def _artifacts(dist_dir: pathlib.Path, project: dict) -> tuple[pathlib.Path, pathlib.Path]:
    stem = f"{_normal(project['name'])}-{project['version']}"
    wheels = list(dist_dir.glob(f"{stem}-*.whl"))
    sdist = dist_dir / f"{stem}.tar.gz"
    assert len(wheels) == 1 and sdist.is_file(), f"{project['name']}: wheel and sdist built"
    return wheels[0], sdist


def _wheel_metadata(wheel: pathlib.Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


@pytest.mark.parametrize("folder", list(PROJECTS), ids=lambda f: f.name)
def test_every_pyproject_declares_publishable_metadata(folder):
    project = PROJECTS[folder]
    assert project.get("authors") and project.get("description")
    assert project.get("readme") == "README.md" and (folder / "README.md").is_file()
    assert "Typing :: Typed" in project.get("classifiers", [])
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(project.get("urls", {}))
    names = [d.split(">")[0].split("=")[0].split("[")[0] for d in project["dependencies"]]
    if "torch" in names:
        assert "numpy" in names, f"{project['name']}: torch warns without numpy; declare it"


def test_the_tensorboard_extras_install_a_writer():
    extras = {f.name: PROJECTS[f].get("optional-dependencies", {}) for f in PROJECTS}
    assert extras["train"]["tensorboard"] == ["tensorboard>=2.14"]  # torch's SummaryWriter
    assert extras["logger"]["tensorboard"] == ["tensorboardX>=2.6"]  # works without torch


@pytest.mark.parametrize("folder", BUILT, ids=lambda f: f.name)
def test_the_metadata_is_fit_to_publish(dist_dir, folder):
    project = PROJECTS[folder]
    wheel, _ = _artifacts(dist_dir, project)
    metadata = _wheel_metadata(wheel)
    assert metadata["Name"] == project["name"] and metadata["Version"] == project["version"]
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata["Summary"] and metadata["Author"]
    classifiers = metadata.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3" in classifiers and "Typing :: Typed" in classifiers
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(urls), urls
    for requirement in metadata.get_all("Requires-Dist") or []:
        assert "file:" not in requirement and " @ " not in requirement, requirement
        if requirement.startswith("mono3d-"):
            assert f"=={project['version']}" in requirement, requirement
        if requirement.split(";")[0].strip().startswith("torch"):
            names = [r.split(">")[0].split("=")[0] for r in metadata.get_all("Requires-Dist")]
            assert "numpy" in names, f"{project['name']} needs numpy beside torch"


@pytest.mark.parametrize("folder", BUILT, ids=lambda f: f.name)
def test_wheel_and_sdist_hold_the_licence(dist_dir, folder):
    wheel, sdist = _artifacts(dist_dir, PROJECTS[folder])
    licence = (ROOT / "LICENSE").read_bytes()
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(name) == licence
    with tarfile.open(sdist) as archive:
        (member,) = [m for m in archive.getmembers() if m.name.count("/") == 1
                     and m.name.endswith("/LICENSE")]  # fmt: skip
        handle = archive.extractfile(member)
        assert handle is not None and handle.read() == licence


def test_the_train_wheel_ships_every_config_as_a_preset(dist_dir):
    assert {p.name for p in PRESETS} >= {"synthetic.yaml", "kitti.yaml"}
    wheel, _ = _artifacts(dist_dir, PROJECTS[TRAIN])
    with zipfile.ZipFile(wheel) as archive:
        for preset in PRESETS:
            shipped = archive.read(f"mono3d/train/{preset.name}")
            assert shipped == preset.read_bytes(), (
                f"the wheel's mono3d/train/{preset.name} differs from configs/{preset.name}"
            )
        entry_points = next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
        assert "mono3d = mono3d.train.cli:main" in archive.read(entry_points).decode()


def test_twine_check_passes(dist_dir):
    if importlib.util.find_spec("twine") is None:
        if os.environ.get("MONO3D_REQUIRE_TWINE") == "1":
            pytest.fail("MONO3D_REQUIRE_TWINE=1 but twine is not installed")
        pytest.skip("twine is not installed (nox -s tests and nox -s dist install it)")
    files = sorted(str(p) for p in dist_dir.iterdir() if p.suffix in (".whl", ".gz"))
    assert len(files) == 2 * len(BUILT)
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == len(files), done.stdout
