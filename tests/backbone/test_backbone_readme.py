"""The python blocks of packages/backbone/README.md run as written, with only mono3d-backbone
and its declared dependencies installed (``nox -s "component(backbone)"``)."""


def test_readme_snippets_run(run_readme) -> None:
    run_readme("backbone")
