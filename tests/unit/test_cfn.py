"""local/cfn.py's resolver: the intrinsics the template uses resolve; one it does not know raises."""

from __future__ import annotations

import pytest

from local import stack
from local.cfn import NO_VALUE, Template, resolve

REFS = {
    "Stage": "prod",
    "Table": "magiclink-local",
    "Key.Arn": "arn:aws:kms:us-east-1:123456789012:key/k1",
    "AWS::Region": "us-east-1",
    "AWS::NoValue": NO_VALUE,
}
CONDITIONS = {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}, "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]}}


@pytest.mark.parametrize(
    ("value", "resolved"),
    [
        ({"Ref": "Table"}, "magiclink-local"),
        ({"Fn::Sub": "https://${Table}.${AWS::Region}.example"}, "https://magiclink-local.us-east-1.example"),
        ({"Fn::GetAtt": ["Key", "Arn"]}, "arn:aws:kms:us-east-1:123456789012:key/k1"),
        ({"Fn::Join": [",", [{"Ref": "Table"}, {"Ref": "AWS::NoValue"}, "x"]]}, "magiclink-local,x"),
        ({"Fn::If": ["IsProd", {"Ref": "Stage"}, "other"]}, "prod"),
        ({"Fn::If": ["IsDev", "dev", {"Fn::Join": ["-", ["not", "dev"]]}]}, "not-dev"),
        ("plain", "plain"),
        (30, "30"),
    ],
)
def test_the_intrinsics_it_knows_and_plain_values_resolve(value, resolved):
    assert resolve(value, REFS, CONDITIONS) == resolved


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::Whatever": ["a", "b"]},
        {"Fn::Join": [",", [{"Ref": "Table"}, {"Fn::Whatever": "x"}]]},
        {"Fn::If": ["IsProd", {"Fn::Whatever": "x"}, "other"]},
    ],
)
def test_an_intrinsic_it_does_not_know_raises_naming_it(value):
    with pytest.raises(ValueError, match="Fn::Whatever"):
        resolve(value, REFS, CONDITIONS)


def test_every_function_environment_variable_of_the_real_template_resolves_to_a_plain_string():
    environment = stack.function_environment(Template(), "http://127.0.0.1:3000")

    assert environment["TABLE_NAME"] == "magiclink-local"
    assert all(isinstance(v, str) and "Fn::" not in v and "'Ref'" not in v for v in environment.values())
