"""The python blocks of packages/rpn/README.md run as written, with only mono3d-rpn
and its declared dependencies installed (``nox -s "component(rpn)"``)."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "packages" / "rpn" / "README.md"


def test_readme_snippets_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, f"no python block in {README}"
    namespace: dict[str, object] = {}
    for block in blocks:  # one namespace: a later block may use an earlier one's names
        exec(compile(block, str(README), "exec"), namespace)
