"""The shared field types' bounds: free-form JSON (depth and size) and human-readable text (no controls)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from magiclink.models.fields import METADATA_MAX_BYTES, METADATA_MAX_DEPTH, Metadata, Text

TEXT = TypeAdapter(Text)
METADATA = TypeAdapter(Metadata)

REFUSED = [
    *range(0x00, 0x20),  # C0 controls: NUL, TAB, LF, CR, ESC ...
    *range(0x7F, 0xA0),  # DEL and the C1 controls, NEL (U+0085) among them
    0x2028,  # line separator
    0x2029,  # paragraph separator
    *range(0x202A, 0x202F),  # LRE, RLE, PDF, LRO, RLO
    *range(0x2066, 0x206A),  # LRI, RLI, FSI, PDI
]
# Their neighbours, and what names really hold: no-break space, joiners, marks, other scripts.
WELCOME = [0x20, 0x7E, 0xA0, 0xE9, 0x200D, 0x2027, 0x202F, 0x2065, 0x206A, 0x0645, 0x5C71, 0x1F469]


@pytest.mark.parametrize("code_point", REFUSED, ids=[f"U+{c:04X}" for c in REFUSED])
def test_text_refuses_controls_separators_and_bidi_overrides_anywhere(code_point):
    for text in (chr(code_point), f"Ada{chr(code_point)}", f"{chr(code_point)}Ada", f"A{chr(code_point)}da"):
        with pytest.raises(ValidationError, match="must not contain control characters"):
            TEXT.validate_python(text)


@pytest.mark.parametrize("code_point", WELCOME, ids=[f"U+{c:04X}" for c in WELCOME])
def test_text_takes_everything_else(code_point):
    assert TEXT.validate_python(f"Ada{chr(code_point)}") == f"Ada{chr(code_point)}"


def test_the_openapi_schema_states_the_same_rule_as_a_pattern():
    import re

    pattern = TEXT.json_schema()["pattern"]

    assert all(not re.fullmatch(pattern, f"Ada{chr(c)}") for c in REFUSED)
    assert all(re.fullmatch(pattern, f"Ada{chr(c)}") for c in WELCOME)


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
