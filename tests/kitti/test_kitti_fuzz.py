"""Property-based fuzzing of every KITTI reader: built from token classes that include
float32 and int64 overflow, non-ASCII digits and whitespace, BOM, CRLF, NUL and random
bytes, every input is either parsed to finite values or raises ``KittiFormatError`` (never
another exception); BOM and CRLF never change what is read."""

import pathlib
import tempfile

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mono3d.kitti import (
    FLOAT32_MAX,
    OCCLUDED_RANGE,
    KittiFormatError,
    parse_id_list,
    parse_kitti_calib,
    parse_kitti_label,
    parse_label_table,
    read_id_list,
    read_kitti_calib,
    read_kitti_label,
    read_label_table,
)

LINE = "Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59"
P2 = "P2: 721.5 0 609.5 44.8 0 721.5 172.8 0.2 0 0 1 0.003"

_GOOD_NUMBERS = st.one_of(
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: f"{v:.2f}"),
    st.integers(-1, 3).map(str),
    st.sampled_from(["0", "-1", "1.5", "+2.", ".5", "1e5", "-1.0E-3", "3.4028234e38"]),
)
_OVERFLOW = st.sampled_from(
    ["1e39", "-1e39", "3.5e38", "1e300", "1e999", "9" * 400, "9223372036854775808",
     "-9223372036854775809", "18446744073709551616", "1e30", "-1e30"]
)  # fmt: skip
_NOT_ASCII = st.sampled_from(
    ["١", "٢٫٥", "５", "߀", "१२", "Ⅻ", "²", "\u00a0", "\u2009", "\u3000", "\u2028", "\u2029",
     "\x85", "\x1c", "\ufeff", "é", "Cär"]
)  # fmt: skip
_ODD = st.sampled_from(
    ["nan", "inf", "-inf", "1_0", "0x10", "1e", "e5", "--1", ".", "-", "", "\x00", "\r",
     "\t", "\v", "\f", "\r\n", ":", "P2:", "R0_rect:", "Tr_velo_to_cam:", "calib_time:",
     "Car", "DontCare", "Pedestrian", "000001", "../x"]
)  # fmt: skip
#: examples per reader (the shared profile's 25 are too few for a fuzzer; text is fast)
FUZZ = settings(max_examples=300)

TOKENS = st.one_of(_GOOD_NUMBERS, _OVERFLOW, _NOT_ASCII, _ODD)
SEPARATORS = st.sampled_from([" ", " ", "  ", "\t", " \t "])


@st.composite
def lines(draw):
    """A line of fuzzed tokens, or a good label/calib line with some tokens replaced."""
    if draw(st.booleans()):
        tokens = draw(st.lists(TOKENS, max_size=18))
    else:
        tokens = (LINE if draw(st.booleans()) else P2).split(" ")
        if draw(st.booleans()):
            tokens.append(draw(_GOOD_NUMBERS))  # a score
        for _ in range(draw(st.integers(0, 3))):
            tokens[draw(st.integers(0, len(tokens) - 1))] = draw(TOKENS)
    return draw(SEPARATORS).join(tokens)


@st.composite
def texts(draw):
    """Lines joined by LF or CRLF, maybe behind a BOM; or arbitrary unicode text."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(max_size=300))
    body = draw(st.sampled_from(["\n", "\r\n"])).join(draw(st.lists(lines(), max_size=6)))
    return ("\ufeff" if draw(st.booleans()) else "") + body


def _crlf_bom(text: str) -> str:
    return "\ufeff" + text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\n", "\r\n")


def _check_label(parse, text):
    try:
        table = parse(text)
    except KittiFormatError as error:
        assert error.path == "fuzz.txt" and error.line is not None and error.line >= 1
        assert "\n" not in str(error)
        return None
    assert table.values.shape == (len(table.types), 14)
    assert (np.abs(table.values) <= FLOAT32_MAX).all()
    present = ~np.isnan(table.score)
    assert (np.abs(table.score[present]) <= FLOAT32_MAX).all()
    occluded = table.column("occluded")
    assert ((occluded == np.round(occluded)) & (occluded >= OCCLUDED_RANGE[0])
            & (occluded <= OCCLUDED_RANGE[1])).all()  # fmt: skip
    assert all(t.isascii() for t in table.types)
    return table


@FUZZ
@given(text=texts())
def test_label_reader_parses_finite_values_or_names_the_line(text):
    table = _check_label(lambda t: parse_label_table(t, "fuzz.txt"), text)
    if table is not None:
        objects = parse_kitti_label(text, "fuzz.txt")  # the object view agrees
        assert [o.type for o in objects] == list(table.types)
        again = parse_label_table(_crlf_bom(text), "fuzz.txt")
        assert again.types == table.types
        assert np.array_equal(again.values, table.values)
        assert np.array_equal(again.score, table.score, equal_nan=True)


@FUZZ
@given(text=texts())
def test_result_reader_parses_finite_values_or_names_the_line(text):
    table = _check_label(lambda t: parse_label_table(t, "fuzz.txt", require_score=True), text)
    if table is not None:
        assert not np.isnan(table.score).any()


@FUZZ
@given(text=texts())
def test_calib_reader_parses_finite_values_or_names_the_file(text):
    try:
        calib = parse_kitti_calib(text, "fuzz.txt")
    except KittiFormatError as error:
        assert error.path == "fuzz.txt" and "\n" not in str(error)
        return
    for matrix in calib.matrices().values():
        assert (np.abs(matrix) <= FLOAT32_MAX).all()
    again = parse_kitti_calib(_crlf_bom(text), "fuzz.txt")
    assert np.array_equal(again.P2, calib.P2)


@FUZZ
@given(text=texts())
def test_id_list_reader_parses_ascii_ids_or_names_the_line(text):
    try:
        ids = parse_id_list(text, "fuzz.txt")
    except KittiFormatError as error:
        assert error.path == "fuzz.txt" and "\n" not in str(error)
        return
    assert ids and len(set(ids)) == len(ids)
    assert all(i.isascii() and "/" not in i and not i.startswith(".") for i in ids)
    assert parse_id_list(_crlf_bom(text), "fuzz.txt") == ids


_BYTES = st.one_of(
    st.binary(max_size=300),
    texts().map(lambda t: t.encode("utf-8")),
    # valid text with a stray invalid byte spliced in
    st.tuples(texts(), st.binary(min_size=1, max_size=3), st.integers(0, 300)).map(
        lambda parts: parts[0].encode()[: parts[2]] + parts[1] + parts[0].encode()[parts[2] :]
    ),
)


@FUZZ
@given(data=_BYTES)
def test_file_readers_raise_only_format_errors_on_any_bytes(data):
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "000000.txt"
        path.write_bytes(data)
        readers = (
            read_kitti_label,
            lambda p: read_label_table(p, require_score=True),
            read_kitti_calib,
            read_id_list,
        )
        for reader in readers:
            try:
                reader(path)
            except KittiFormatError as error:
                assert error.path == str(path) and "\n" not in str(error)


@FUZZ
@given(text=texts())
def test_the_fast_path_accepts_exactly_what_the_careful_path_accepts(text):
    from mono3d.kitti._label import _careful_rows, _fast_rows

    body = text.removeprefix("\ufeff")
    if not body.isascii() or any(chr(c) in body for c in range(0x1C, 0x20)):
        return  # the fast path only sees ASCII text without unit separators
    for require_score in (False, True):
        fast = _fast_rows(body, require_score)
        try:
            careful = _careful_rows(body, "fuzz.txt", require_score)
        except KittiFormatError:
            assert fast is None
        else:
            assert fast == careful
