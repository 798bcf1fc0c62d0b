"""``mono3d evaluate`` is ``python -m mono3d.eval``: the same parser, the same output and the
same one-line errors (exit 2, no traceback), only the program name differs."""

import pytest

from mono3d.eval import main as eval_main
from mono3d.train.cli import main as mono3d_main


def both(capsys, arguments):
    """(exit status, stdout, stderr) of both command lines, stderr without the prog name."""
    outcomes = []
    for run, prog in ((mono3d_main, "mono3d evaluate"), (eval_main, "python -m mono3d.eval")):
        code = run(["evaluate", *arguments] if run is mono3d_main else arguments)
        captured = capsys.readouterr()
        outcomes.append((code, captured.out, captured.err.replace(prog, "PROG")))
    return outcomes


@pytest.mark.parametrize(
    "arguments",
    [
        ["--classes", ","],
        ["--classes", "Bus"],
        ["--json", "{tmp}"],
        ["--json", "{tmp}/missing/ap.json"],
        ["--ids", "{tmp}/ids.txt"],
    ],
)
def test_the_same_errors(kitti_sample, step_folder, tmp_path, capsys, arguments):
    (tmp_path / "ids.txt").write_bytes(b"000001\n\xff\n")
    arguments = [str(kitti_sample), str(step_folder)] + [
        a.replace("{tmp}", str(tmp_path)) for a in arguments
    ]
    mono3d, module = both(capsys, arguments)
    assert mono3d == module
    code, out, err = mono3d
    assert code == 2 and out == "" and err.startswith("PROG: error: ")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_result_folder_matching_nothing_is_refused(kitti_sample, tmp_path, capsys):
    (tmp_path / "metrics.txt").write_text("only a table\n")
    mono3d, module = both(capsys, [str(kitti_sample), str(tmp_path)])
    assert mono3d == module and mono3d[0] == 2 and "no result file in" in mono3d[2]


def test_the_same_results_and_json_to_stdout(kitti_sample, step_folder, tmp_path, capsys):
    mono3d, module = both(capsys, [str(kitti_sample), str(step_folder), "--json", "-"])
    assert mono3d == module and mono3d[0] == 0 and mono3d[1].lstrip().startswith("{")
    assert "Car" in mono3d[1] and mono3d[2] == ""
    out = tmp_path / "ap.json"
    mono3d, module = both(capsys, [str(kitti_sample), str(step_folder), "--json", str(out)])
    assert mono3d == module and "R40" in mono3d[1] and out.read_text().startswith("{")
