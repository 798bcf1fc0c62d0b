"""The python blocks of packages/head/README.md run as written, with only mono3d-head
and its declared dependencies installed (``nox -s "component(head)"``)."""


def test_readme_snippets_run(run_readme) -> None:
    run_readme("head")
