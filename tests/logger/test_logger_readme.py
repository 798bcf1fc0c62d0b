"""The usage snippet of packages/logger/README.md runs as written."""

import pathlib
import re

from mono3d.logger import read_history
from mono3d.logger._tensorboard import find_summary_writer

README = pathlib.Path(__file__).resolve().parents[2] / "packages" / "logger" / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_readme_usage_snippet_runs(tmp_path, monkeypatch):
    (snippet,) = python_blocks(README.read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RANK", raising=False)
    exec(compile(snippet, str(README), "exec"), {"__name__": "readme"})
    run_dir = tmp_path / "runs" / "demo"
    # tensorboard=None (the README's): event files too where a writer is installed
    events = ["tensorboard"] if find_summary_writer() is not None else []
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "history.csv",
        "history.jsonl",
        "history.png",
        *events,
    ]
    records = read_history(run_dir / "history.jsonl")
    assert len(records) == 100 + 2
    assert (run_dir / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
