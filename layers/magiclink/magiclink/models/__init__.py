"""The service's pydantic models, by role: `fields` (shared types and enums), `requests` and `responses`
(the shapes on the wire), `items` (what is stored, with its state rules) and `mapping` (stored to wire)."""
