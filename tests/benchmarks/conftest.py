"""The benchmark scripts as modules: ``load_benchmark("bench_accuracy")`` imports
benchmarks/bench_accuracy.py (the folder is not a package; scripts import their neighbours)."""

import importlib.util
import pathlib
import sys
from types import ModuleType

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))  # bench_gpu imports bench_detector beside it
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_benchmark():
    """The loader: benchmark script name -> its module."""
    return _load
