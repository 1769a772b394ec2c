"""`json_codec.repeated_keys`: every key given twice, with the path of its object, for callers that
must say where (a batch's record) rather than stop at the first."""

from __future__ import annotations

from engine import json_codec


def test_no_repeats_no_paths() -> None:
    assert json_codec.repeated_keys(b'[{"a": 1, "b": "x\\"y"}, {"a": 2}]') == []


def test_each_repeat_with_its_path_in_document_order() -> None:
    text = '{"v": 1, "records": [{"id": 1}, {"id": 1, "id": 2, "n": {"k": 1, "k": 1, "k": 3}}], "v": 2}'
    assert json_codec.repeated_keys(text) == [((), "v"), (("records", 1), "id"), (("records", 1, "n"), "k")]


def test_text_that_is_no_json_is_left_to_the_parser() -> None:
    assert json_codec.repeated_keys(b'{"a": 1,') == []
