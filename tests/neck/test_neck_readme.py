"""The python blocks of packages/neck/README.md run as written, with only mono3d-neck
and its declared dependencies installed (``nox -s "component(neck)"``)."""


def test_readme_snippets_run(run_readme) -> None:
    run_readme("neck")
