"""The strict-AWS layer (tests/aws_limits.py): each limit it enforces, and that a test whose call AWS would refuse
fails, even when the code under test swallows the refusal."""

from __future__ import annotations

import aws_limits
import botocore.session
import pytest

MODELS = botocore.session.get_session()
KEY = {"pk": {"S": "USER#u"}, "sk": {"S": "USER"}}


def problems(service: str, operation: str, **params) -> list[str]:
    return aws_limits.problems(MODELS.get_service_model(service).operation_model(operation), params)


def sign(message: bytes, message_type: str = "RAW") -> list[str]:
    return problems(
        "kms",
        "Sign",
        KeyId="k",
        Message=message,
        MessageType=message_type,
        SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256",
    )


def nested(levels: int) -> dict:
    value: dict = {"S": "leaf"}
    for _ in range(levels - 1):
        value = {"M": {"n": value}}
    return value


def test_kms_signs_a_raw_message_of_at_most_4096_bytes_and_a_digest_of_its_hash_length():
    assert sign(b"x" * 4096) == []
    assert "over its documented maximum of 4096" in sign(b"x" * 4097)[0]
    assert sign(b"d" * 32, "DIGEST") == []
    assert "digest is 32 bytes, not 31" in sign(b"d" * 31, "DIGEST")[0]


def test_a_dynamodb_item_is_at_most_400_kb_and_32_levels_deep():
    def put(**item) -> list[str]:
        return problems("dynamodb", "PutItem", TableName="t", Item=KEY | item)

    assert put(blob={"S": "x" * (400 * 1024 - 100)}) == []
    assert "over DynamoDB's 409600" in put(blob={"S": "x" * 400 * 1024})[0]
    assert put(deep=nested(32)) == []
    assert "nests over DynamoDB's 32 levels" in put(deep=nested(33))[0]


def test_an_item_is_sized_as_dynamodb_sizes_it():
    # names and values in UTF-8; a number a byte per two significant digits plus one; a map or list 3 bytes
    # and a byte per element (CapacityUnitCalculations.html)
    assert (
        aws_limits.item_bytes({"név": {"S": "é"}, "n": {"N": "12345"}, "ok": {"BOOL": True}}) == (4 + 2) + (1 + 4) + 3
    )
    assert aws_limits.item_bytes({"m": {"M": {"a": {"S": "bc"}}}, "l": {"L": [{"NULL": True}]}}) == 1 + 7 + 1 + 5


def test_expressions_their_placeholders_and_in_are_bounded_and_every_placeholder_is_used():
    def update(expression: str, **values) -> list[str]:
        return problems(
            "dynamodb",
            "UpdateItem",
            TableName="t",
            Key=KEY,
            UpdateExpression=expression,
            ExpressionAttributeValues={f":{k}": v for k, v in values.items()},
        )

    assert update("SET a = :a", a={"S": "1"}) == []
    assert "no expression uses: [':b']" in update("SET a = :a", a={"S": "1"}, b={"S": "2"})[0]
    assert "no ExpressionAttributeNames/Values defines: [':c']" in update("SET a = :c", a={"S": "1"})[1]
    assert "over DynamoDB's 4096" in update("SET a = :a" + " " * 4096, a={"S": "1"})[0]
    values = {f"v{i}": {"S": str(i)} for i in range(101)}
    listed = ", ".join(f":v{i}" for i in range(101))
    found = problems(
        "dynamodb",
        "UpdateItem",
        TableName="t",
        Key=KEY,
        UpdateExpression="SET a = :v0",
        ConditionExpression=f"a IN ({listed})",
        ExpressionAttributeValues={f":{k}": v for k, v in values.items()},
    )
    assert found == ["UpdateItem: IN with over 100 operands"]


def test_a_transaction_has_at_most_100_actions_of_4_mb_and_never_two_on_one_item():
    def put(i: int, size: int = 1) -> dict:
        return {"Put": {"TableName": "t", "Item": {"pk": {"S": f"P#{i}"}, "sk": {"S": "S"}, "b": {"S": "x" * size}}}}

    assert problems("dynamodb", "TransactWriteItems", TransactItems=[put(i) for i in range(100)]) == []
    assert (
        "over its documented maximum of 100"
        in problems("dynamodb", "TransactWriteItems", TransactItems=[put(i) for i in range(101)])[0]
    )
    assert (
        "a second action on the same item"
        in problems("dynamodb", "TransactWriteItems", TransactItems=[put(1), put(1)])[0]
    )
    big = [put(i, 390 * 1024) for i in range(11)]
    assert "over DynamoDB's 4194304" in problems("dynamodb", "TransactWriteItems", TransactItems=big)[0]


def test_ses_secrets_manager_and_ssm_values_are_bounded():
    def send(data: bytes) -> list[str]:
        return problems(
            "sesv2", "SendEmail", FromEmailAddress="a@example.com", Content={"Raw": {"Data": data}}, Destination={}
        )

    assert send(b"Subject: hi\r\n\r\n" + b"x" * 1000) == []
    assert "a line over 1000 characters" in send(b"Subject: hi\r\n\r\n" + b"x" * 1001)[0]
    assert "over SES v2's 41943040" in send(b"x\r\n" * (11 * 1024 * 1024))[0]
    assert problems("secretsmanager", "CreateSecret", Name="s", SecretString="x" * 65536) == []
    assert "maximum of 65536" in problems("secretsmanager", "CreateSecret", Name="s", SecretString="x" * 65537)[0]
    assert "over 4096 for its tier" in problems("ssm", "PutParameter", Name="p", Value="x" * 4097)[0]
    assert problems("ssm", "PutParameter", Name="p", Value="x" * 4097, Tier="Advanced") == []


INNER_TEST = """
import boto3
from moto import mock_aws


def sign(size):
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        try:
            kms.sign(KeyId=key, Message=b"x" * size, SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
        except Exception:
            pass  # code that swallows the refusal still fails its test


def test_a_call_aws_accepts():
    sign(4096)


def test_a_call_aws_refuses():
    sign(4097)
"""


def test_a_test_whose_call_aws_would_refuse_fails(pytester: pytest.Pytester, strict_aws):
    pytester.makeconftest("from aws_limits import strict_aws  # noqa: F401")
    pytester.makepyfile(test_inner=INNER_TEST)

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*AWS would refuse calls this test made:*", "*Sign: Sign.Message: 4097 is over*"])
    assert strict_aws.found == []  # the refusal was the inner test's, not this one's
