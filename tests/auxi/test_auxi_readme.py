"""The python blocks of packages/auxi/README.md run as written, with only mono3d-auxi
and its declared dependencies installed (``nox -s "component(auxi)"``)."""


def test_readme_snippets_run(run_readme) -> None:
    run_readme("auxi")
