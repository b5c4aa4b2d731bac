"""The shared field types' bounds: free-form JSON (depth and size)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from magiclink.models.fields import METADATA_MAX_BYTES, METADATA_MAX_DEPTH, Metadata

METADATA = TypeAdapter(Metadata)


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_metadata_may_nest_to_the_limit_and_no_deeper():
    assert METADATA.validate_python(_nested(METADATA_MAX_DEPTH)) == _nested(METADATA_MAX_DEPTH)
    assert METADATA.validate_python({"a": [[[]]]}) == {"a": [[[]]]}  # lists count as levels too: 4
    with pytest.raises(ValidationError, match=f"nests deeper than {METADATA_MAX_DEPTH} levels"):
        METADATA.validate_python(_nested(METADATA_MAX_DEPTH + 1))
    with pytest.raises(ValidationError, match="nests deeper"):
        METADATA.validate_python({"a": [{"b": [1]}] * 3, "c": _nested(METADATA_MAX_DEPTH)})


def test_metadata_is_measured_in_bytes_of_compact_utf_8_json():
    room = METADATA_MAX_BYTES - len('{"k":""}')

    assert METADATA.validate_python({"k": "x" * room})
    assert METADATA.validate_python({"k": "é" * (room // 2)})  # two bytes each
    with pytest.raises(ValidationError, match=f"larger than {METADATA_MAX_BYTES} bytes"):
        METADATA.validate_python({"k": "x" * (room + 1)})
    with pytest.raises(ValidationError, match="larger than"):
        METADATA.validate_python({"k": "é" * (room // 2 + 1)})
