"""The powertools Logger and Metrics every function shares (service and namespace come from the environment)."""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
