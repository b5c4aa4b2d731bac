"""The data layer: the only code that talks to DynamoDB, one module for each kind of item it stores.

Single table, these item kinds:
  USER#<user_id>    / USER     the reader: user, grant and the current link's keyed hash (models.items.Reader)
  EMAIL#<email>     / EMAIL    a pointer email -> user_id that makes an email unique
  REQUEST#<email>   / REQUEST  a stranger's request for access, for the owner to grant or dismiss
  RATE#<subject>    / <start>  one window of a rate limit's counter (only DynamoDB's TTL removes these)
  IDEMPOTENCY#invite / <key>   powertools' idempotency records (a retried invite's first answer)
Readers and requests carry `list_partition` ("READER" / "REQUEST") and `email`: the `by_email` index
lists them in email order. Items due for deletion carry `ttl` (epoch seconds) and `expiry_bucket` (the
ttl's UTC day), which put them in the sparse `by_expiry` index the cleanup job reads; DynamoDB's TTL
is only a backstop. Readers whose state may change with time (a link or an access expiry ahead)
carry `due_at` and `due_bucket`, which put them in the sparse `by_due` index, so cleanup finds them
without a scan.

Modules: `dynamo` (the client and the write primitives), `codec` (reader item <-> attribute values),
`reader`, `links`, `counters`, `access_requests`, `expiry` (cleanup's queries and deletes), `erasure`
(a user deleted with everything that holds them).
"""

from . import access_requests, codec, counters, dynamo, erasure, expiry, links, reader

__all__ = ["access_requests", "codec", "counters", "dynamo", "erasure", "expiry", "links", "reader"]
