"""The snippet of contracts/README.md runs as written: its messages are the real ones."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "contracts" / "README.md"


def test_readme_snippet_runs() -> None:
    if not README.is_file():  # pragma: no cover - tests run outside the checkout
        pytest.skip(f"{README} not found")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "no python block in the README"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
