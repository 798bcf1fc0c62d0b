"""The one config reader: duplicate keys refused with file, line and key; strict numbers."""

import pytest

from mono3d.detector import ConfigError, DetectorConfig, apply_overrides, read_mapping
from mono3d.detector._config_io import load_yaml


@pytest.mark.parametrize(
    ("text", "line", "key", "first"),
    [
        ("backbone:\n  depth: 18\nneck:\n  out_channels: 64\nbackbone:\n  depth: 50\n", 5,
         "backbone", 1),
        ("head:\n  fc_dim: 32\n  roi_size: 4\n  fc_dim: 64\n", 4, "fc_dim", 2),
        ("rpn: {pre_nms_top_n_test: 10, pre_nms_top_n_test: 20}\n", 1, "pre_nms_top_n_test", 1),
        ("priors:\n  - {Car: 1}\n  - {Van: 1, Van: 2}\n", 3, "Van", 3),
        ("1: a\ntrue: b\n", 2, True, 1),  # equal as dict keys: the second would replace
    ],
    ids=["top-level section", "nested", "flow", "in a list", "1 and true"],
)  # fmt: skip
def test_a_duplicate_key_is_one_line_naming_file_line_and_key(tmp_path, text, line, key, first):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_mapping(path)
    message = str(caught.value)
    assert message == (
        f"{path}:{line}: invalid YAML: duplicate key {key!r} (first given on line {first})"
    )
    with pytest.raises(ConfigError, match=rf"{path}:{line}: invalid YAML: duplicate key"):
        DetectorConfig.from_file(path)


def test_a_duplicate_key_in_json_or_an_override_is_refused(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text('{"head": {"fc_dim": 32}, "head": {"fc_dim": 64}}')
    with pytest.raises(ConfigError, match=rf"^{path}: invalid JSON: duplicate key 'head'$"):
        read_mapping(path)
    with pytest.raises(ConfigError, match=r"^override 'priors=\{Car: 1, Car: 2\}': .*'Car'"):
        apply_overrides({}, ["priors={Car: 1, Car: 2}"])
    assert apply_overrides({}, ["data.root=a: b: c"]) == {"data": {"root": "a: b: c"}}


def test_the_loader_keeps_safe_load_semantics():
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\nlist: [1, 2.5, yes, null, '1e-4']\n"
    assert load_yaml(text) == {
        "base": {"x": 1, "y": 2},
        "d": {"x": 3, "y": 2},  # a merged key may be overridden: not a duplicate
        "list": [1, 2.5, True, None, "1e-4"],
    }
    with pytest.raises(Exception, match="could not determine a constructor"):
        load_yaml("a: !!python/object/apply:os.system ['true']\n")
    # exponent floats as YAML 1.2 and JSON read them (YAML 1.1 would give strings)
    assert load_yaml("[1e-4, 2E5, -1.5e+3, .5e1, 1_0]") == [1e-4, 2e5, -1500.0, 5.0, 10]


@pytest.mark.parametrize(
    ("override", "field", "got"),
    [
        ("head.fc_dim=true", "head.fc_dim", "True"),
        ("head.fc_dim=2.5", "head.fc_dim", "2.5"),
        ("head.fc_dim=64.0", "head.fc_dim", "64.0"),
        ("head.fc_dim='64'", "head.fc_dim", "'64'"),
        ("rpn.nms_thresh=true", "rpn.nms_thresh", "True"),
        ("rpn.nms_thresh='0.5'", "rpn.nms_thresh", "'0.5'"),
    ],
)
def test_numbers_are_strict_and_the_field_is_named(tmp_path, override, field, got):
    path = tmp_path / "model.yaml"
    path.write_text("backbone:\n  depth: 18\n")
    with pytest.raises(ConfigError) as caught:
        DetectorConfig.from_file(path, [override])
    lines = str(caught.value).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: {field}: Input should be a valid ")
    assert lines[0].endswith(f"(got {got})")


def test_legitimate_numbers_stay_accepted(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("rpn:\n  nms_thresh: 1\n  anchor_sizes: [[16], [48], [160]]\n")
    config = DetectorConfig.from_file(path, ["head.fc_dim=64", "priors={Car: [2, 2, 4.5]}"])
    assert config.rpn.nms_thresh == 1.0 and isinstance(config.rpn.nms_thresh, float)
    assert config.head.fc_dim == 64 and config.priors["Car"] == (2.0, 2.0, 4.5)
    assert config.rpn.anchor_sizes == ((16,), (48,), (160,))
    assert DetectorConfig.from_file(path, ["rpn.nms_thresh=5e-1"]).rpn.nms_thresh == 0.5
