"""Shared layer of the magic-link service: tokens, grants, storage (DynamoDB) and mail (SES)."""
