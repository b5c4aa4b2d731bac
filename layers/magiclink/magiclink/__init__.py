"""Shared layer of the magic-link service: tokens, grants, storage (DynamoDB) and mail (SES)."""

from . import snapstart  # noqa: F401 - registers the SnapStart hooks, for every function that imports the layer
from ._lazy import skip_package_init

# powertools' event_handler/__init__ imports every resolver powertools has (AppSync's brings asyncio): the
# functions use API Gateway's, so the package is entered without it (docs/benchmarks.md has what it saves).
skip_package_init("aws_lambda_powertools.event_handler", "api_gateway")
