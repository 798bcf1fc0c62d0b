"""nox sessions for the mono3d monorepo (uv backend: new environments link cached wheels).

    nox -s tests                  every test, one environment with every distribution
    nox -s "component(geometry)"  one distribution's tests, in an environment holding only it
                                  and its declared dependencies
    nox -s lint                   ruff
    nox -s typecheck              mypy over every package
    nox -s demo                   the main job: synthesise, train, evaluate, predict
    nox -s bench                  the benchmark scripts
    nox -s dist                   build every wheel and sdist, twine check them, install the
                                  wheels alone and train the synthetic preset from them

uv is pointed at the same package sources pip is configured with on this machine (extra
index URLs, find-links and constraint files from ``pip config``), so a machine with a local
wheel mirror does not download PyTorch again; elsewhere uv uses PyPI.
"""

import functools
import pathlib
import subprocess

import nox
import tomllib

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

ROOT = pathlib.Path(__file__).parent
TEST_REQUIREMENTS = ["pytest>=8", "hypothesis>=6.100"]


@functools.cache
def distributions() -> dict[str, dict]:
    """Component name -> {path, name, mono3d deps, has test extra}, from each pyproject.toml."""
    found: dict[str, dict] = {}
    for pyproject in sorted(
        [ROOT / "contracts/pyproject.toml", *ROOT.glob("packages/*/pyproject.toml")]
    ):
        project = tomllib.loads(pyproject.read_text())["project"]
        deps = [
            d.split(">")[0].split("=")[0].split("[")[0].split(" ")[0]
            for d in project.get("dependencies", [])
        ]
        found[project["name"].removeprefix("mono3d-")] = {
            "path": pyproject.parent,
            "name": project["name"],
            "deps": [d.removeprefix("mono3d-") for d in deps if d.startswith("mono3d-")],
            "extras": sorted(project.get("optional-dependencies", {})),
        }
    return found


def closure(component: str) -> list[str]:
    """``component`` and every mono3d distribution it depends on, transitively."""
    seen: list[str] = []

    def visit(name: str) -> None:
        if name in seen:
            return
        for dep in distributions()[name]["deps"]:
            visit(dep)
        seen.append(name)

    visit(component)
    return seen


#: extras installed for the tests, where a distribution has them: ``tensorboard`` makes the
#: logger's TensorBoard test run for real (MONO3D_REQUIRE_TENSORBOARD=1 fails it otherwise);
#: ``onnx`` (mono3d-train) lets the export tests run the ONNX models in onnxruntime
TEST_EXTRAS = ("test", "testing", "tensorboard", "onnx")
REQUIRE_TENSORBOARD = {"MONO3D_REQUIRE_TENSORBOARD": "1"}
#: tests/packaging/test_packaging_dist.py runs twine check on what it builds
TWINE = "twine>=5"


def install_spec(component: str, editable: bool = False) -> list[str]:
    info = distributions()[component]
    path = str(info["path"].relative_to(ROOT))
    extras = [e for e in TEST_EXTRAS if e in info["extras"]]
    spec = f"./{path}[{','.join(extras)}]" if extras else f"./{path}"
    return ["-e", spec] if editable else [spec]


@functools.cache
def pip_sources() -> dict[str, str]:
    """uv settings mirroring pip's configured indexes, find-links and constraints."""
    try:
        listing = subprocess.run(
            ["pip", "config", "list"], capture_output=True, text=True, check=False, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    values: dict[str, str] = {}
    for line in listing.splitlines():
        key, _, raw = line.partition("=")
        values[key.split(".", 1)[-1]] = raw.strip().strip("'\"")
    env: dict[str, str] = {}
    if values.get("extra-index-url"):
        env["UV_EXTRA_INDEX_URL"] = values["extra-index-url"]
    if values.get("find-links"):
        env["UV_FIND_LINKS"] = values["find-links"].replace(" ", ",")
    constraint = values.get("constraint")
    if constraint and pathlib.Path(constraint).is_file():
        env["UV_CONSTRAINT"] = constraint
    if env:
        env["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    return env


def prepare(session: nox.Session) -> None:
    session.env.update(pip_sources())


def install_components(session: nox.Session, components: list[str], editable: bool = False) -> None:
    specs: list[str] = []
    for component in components:
        specs += install_spec(component, editable)
    session.install(*TEST_REQUIREMENTS, *specs)


@nox.session
def tests(session: nox.Session) -> None:
    """Every test, in one environment holding every distribution."""
    prepare(session)
    install_components(session, list(distributions()), editable=True)
    session.install("-e", ".", "--no-deps")
    session.install(TWINE)
    env = {**REQUIRE_TENSORBOARD, "MONO3D_REQUIRE_TWINE": "1"}
    session.run("pytest", "tests", *session.posargs, success_codes=[0, 5], env=env)


@nox.session
@nox.parametrize("component", [nox.param(name, id=name) for name in distributions()])
def component(session: nox.Session, component: str) -> None:
    """One distribution's tests with only it and its declared dependencies installed."""
    prepare(session)
    install_components(session, closure(component))
    env = REQUIRE_TENSORBOARD if "tensorboard" in distributions()[component]["extras"] else {}
    session.run("pytest", f"tests/{component}", *session.posargs, success_codes=[0, 5], env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check over every package, the tests and the benchmarks."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over every package's sources."""
    prepare(session)
    install_components(session, list(distributions()))
    session.install("mypy>=1.10")
    modules = [f"mono3d.{name.replace('-', '_')}" for name in distributions()]
    session.run("mypy", *[arg for module in modules for arg in ("-p", module)])


@nox.session
def demo(session: nox.Session) -> None:
    """The main job on a fresh machine: synthesise scenes, train 6-15 minutes on the CPU,
    evaluate, draw predictions; everything lands in runs/demo. Exits 1 unless the loss went
    down and the Car APs reach the demo's aims (AP2D >= 50, AP3D@0.5 >= 10). Extra
    arguments go to ``mono3d demo`` (e.g. ``-- --minutes 20``)."""
    prepare(session)
    install_components(session, closure("train"))
    session.run("mono3d", "demo", "--out", "runs/demo", "--overwrite", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks of BENCHMARKS.md. ``nox -s bench`` runs every ``benchmarks/bench_*.py``
    with its defaults (hours on a 2-core machine: ``bench_accuracy.py`` trains two models);
    ``nox -s bench -- bench_detector.py --threads 1`` runs one script with those arguments."""
    prepare(session)
    install_components(session, list(distributions()))
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if session.posargs:
        name, *arguments = session.posargs
        chosen = [s for s in scripts if s.name in (name, f"{name}.py", f"bench_{name}.py")]
        if not chosen:
            session.error(f"no benchmark {name!r}; choose from {[s.name for s in scripts]}")
        runs = [(chosen[0], arguments)]
    else:
        runs = [(script, []) for script in scripts]
    for script, arguments in runs:
        session.log(f"== {script.name} {' '.join(arguments)}")
        session.run("python", str(script), *arguments)


#: a run of the shipped synthetic preset small enough for a minute on one core
PRESET_SMOKE = [
    "train.steps=2", "train.batch_size=2", "train.workers=0", "train.progress=false",
    "model.neck.out_channels=16", "model.head.fc_dim=32", "eval.max_images=2", "eval.draw=1",
    "output.run_dir=runs/synthetic-smoke",
]  # fmt: skip


@nox.session
def dist(session: nox.Session) -> None:
    """What a pip user gets. Builds every distribution's sdist and wheel (``uv build``: the
    wheel is built from the sdist, so a file missing from the sdist is caught), checks them
    with ``twine check --strict`` and tests/packaging/test_packaging_dist.py, then installs
    the wheels alone (no checkout on the path) and, in an empty folder, prints a preset and
    trains the synthetic preset for two steps."""
    prepare(session)
    out = pathlib.Path(session.create_tmp()) / "dist"
    if out.exists():
        for old in out.iterdir():
            old.unlink()
    for info in [*distributions().values(), {"path": ROOT}]:
        session.run("uv", "build", "--quiet", "--out-dir", str(out), str(info["path"]),
                    external=True)  # fmt: skip
    session.install(TWINE, *TEST_REQUIREMENTS)
    # uv build also leaves a .gitignore in the folder: check the distributions only
    built = sorted(str(p) for p in out.iterdir() if p.name.endswith((".whl", ".tar.gz")))
    session.run("twine", "check", "--strict", *built)
    session.run("pytest", "tests/packaging/test_packaging_dist.py", "-p", "no:cacheprovider",
                env={"MONO3D_DIST_DIR": str(out), "MONO3D_REQUIRE_TWINE": "1"})  # fmt: skip
    wheels = sorted(str(p) for p in out.glob("*.whl"))
    session.install("--find-links", str(out), *wheels)
    work = pathlib.Path(session.create_tmp()) / "pip-user"
    if work.exists():
        import shutil

        shutil.rmtree(work)
    work.mkdir(parents=True)
    with session.chdir(work):
        session.run("mono3d", "--version")
        session.run("mono3d", "config", "list")
        session.run("mono3d", "synth", "data/synthetic", "--num", "8", "--image-size", "64", "128")
        session.run("mono3d", "train", "synthetic", *PRESET_SMOKE)
        session.run("python", "-c", "import pathlib; assert pathlib.Path("
                    "'runs/synthetic-smoke/log.txt').read_text().strip()")  # fmt: skip
