"""Reads template.yaml: the functions, their routes and environment, and the tables, so nothing local drifts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation's short-form tags (!Ref, !Sub, ...) as {"Fn": value} maps."""


def _tag(loader: _Loader, suffix: str, node: yaml.Node) -> dict:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _tag)


def load(path: Path = TEMPLATE) -> dict:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


@dataclass
class Route:
    method: str
    path: str
    pattern: re.Pattern = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))  # {proxy+}
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        self.pattern = re.compile(f"^{regex}$")


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    routes: list[Route]
    environment: dict[str, Any]
    schedule: str | None = None


class Template:
    def __init__(self, path: Path = TEMPLATE):
        self.doc = load(path)
        self.resources: dict[str, dict] = self.doc["Resources"]
        self.parameters = {k: str(v.get("Default", "")) for k, v in self.doc.get("Parameters", {}).items()}

    def of_type(self, kind: str) -> dict[str, dict]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def functions(self) -> dict[str, Function]:
        defaults = self.doc.get("Globals", {}).get("Function", {})
        result = {}
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            routes, schedule = [], None
            for event in props.get("Events", {}).values():
                if event["Type"] == "HttpApi":
                    routes.append(Route(event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
                elif event["Type"] == "Schedule":
                    schedule = event["Properties"]["Schedule"]
            env = dict(defaults.get("Environment", {}).get("Variables", {}))
            env.update(props.get("Environment", {}).get("Variables", {}))
            result[logical_id] = Function(
                logical_id=logical_id,
                code_uri=ROOT / props["CodeUri"],
                handler=props.get("Handler", defaults.get("Handler")),
                routes=routes,
                environment=env,
                schedule=schedule,
            )
        return result

    def layer_dirs(self) -> list[Path]:
        return [ROOT / r["Properties"]["ContentUri"] for r in self.of_type("AWS::Serverless::LayerVersion").values()]

    def table_definitions(self, names: dict[str, str]) -> list[tuple[dict, str | None]]:
        """(create_table kwargs, TTL attribute) for every AWS::DynamoDB::Table, named by `names`."""
        tables = []
        for logical_id, resource in self.of_type("AWS::DynamoDB::Table").items():
            props = resource["Properties"]
            kwargs = {
                "TableName": names[logical_id],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            ttl = props.get("TimeToLiveSpecification", {})
            tables.append((kwargs, ttl.get("AttributeName") if ttl.get("Enabled") else None))
        return tables


NO_VALUE = "\x00AWS::NoValue"


def condition(value: Any, refs: dict[str, str], conditions: dict[str, Any]) -> bool:
    """Evaluate a template condition (Fn::Equals, Not, And, Or, and named conditions)."""
    if "Condition" in value:
        return condition(conditions[value["Condition"]], refs, conditions)
    if "Fn::Equals" in value:
        left, right = value["Fn::Equals"]
        return resolve(left, refs, conditions) == resolve(right, refs, conditions)
    if "Fn::Not" in value:
        return not condition(value["Fn::Not"][0], refs, conditions)
    if "Fn::And" in value:
        return all(condition(v, refs, conditions) for v in value["Fn::And"])
    if "Fn::Or" in value:
        return any(condition(v, refs, conditions) for v in value["Fn::Or"])
    raise ValueError(f"unsupported condition {value!r}")


def resolve(value: Any, refs: dict[str, str], conditions: dict[str, Any] | None = None) -> str:
    """Resolve the intrinsic functions the template's environment and policies use (Ref, Sub, GetAtt, Join, If
    over `refs`).

    Plain values (strings, numbers) resolve to their string; any other intrinsic raises ValueError.
    """
    if isinstance(value, dict) and "Fn::If" in value:
        name, if_true, if_false = value["Fn::If"]
        chosen = if_true if condition(conditions[name], refs, conditions) else if_false
        return resolve(chosen, refs, conditions)
    if isinstance(value, dict) and "Ref" in value:
        return refs[value["Ref"]]
    if isinstance(value, dict) and "Fn::Sub" in value:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        scope = refs | {name: resolve(v, refs, conditions) for name, v in variables.items()}
        return re.sub(r"\$\{([\w:.]+)\}", lambda m: scope[m.group(1)], text)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return refs[".".join(value["Fn::GetAtt"])]
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        resolved = (resolve(p, refs, conditions) for p in parts)
        return sep.join(r for r in resolved if r != NO_VALUE)
    if isinstance(value, dict):  # an intrinsic this does not know: never pass it on as its own repr
        raise ValueError(f"local/cfn.py cannot resolve the intrinsic {', '.join(map(str, value))}: {value!r}")
    return str(value)
