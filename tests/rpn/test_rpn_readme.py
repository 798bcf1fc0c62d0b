"""The python blocks of packages/rpn/README.md run as written, with only mono3d-rpn
and its declared dependencies installed (``nox -s "component(rpn)"``)."""


def test_readme_snippets_run(run_readme) -> None:
    run_readme("rpn")
