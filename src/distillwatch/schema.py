"""The canonical event (docs/contracts.md section 1) as an Arrow schema.

Readers turn every input format into rows of this schema; everything downstream reads
only these columns. ``ts`` and ``account_created_at`` are normalised to UTC
microsecond timestamps. Unknown input fields are kept in ``extra`` (a JSON string).

>>> "prompt" in REQUIRED_FIELDS and EVENT_SCHEMA.field("ts").type == TS_TYPE
True
"""

from __future__ import annotations

import pyarrow as pa

TS_TYPE = pa.timestamp("us", tz="UTC")

#: (name, arrow type, required) in contract order.
FIELDS: tuple[tuple[str, pa.DataType, bool], ...] = (
    ("request_id", pa.string(), True),
    ("ts", TS_TYPE, True),
    ("account_id", pa.string(), True),
    ("org_id", pa.string(), False),
    ("api_key_id", pa.string(), False),
    ("ip", pa.string(), False),
    ("asn", pa.int64(), False),
    ("country", pa.string(), False),
    ("user_agent", pa.string(), False),
    ("payment_fingerprint", pa.string(), False),
    ("signup_channel", pa.string(), False),
    ("account_created_at", TS_TYPE, False),
    ("conversation_id", pa.string(), False),
    ("model", pa.string(), True),
    ("system_prompt", pa.string(), False),
    ("prompt", pa.string(), True),
    ("n_messages", pa.int64(), False),
    ("max_tokens", pa.int64(), False),
    ("temperature", pa.float64(), False),
    ("top_p", pa.float64(), False),
    ("n", pa.int64(), False),
    ("logprobs", pa.bool_(), False),
    ("top_logprobs", pa.int64(), False),
    ("stream", pa.bool_(), False),
    ("tools", pa.int64(), False),
    ("prompt_tokens", pa.int64(), False),
    ("completion_tokens", pa.int64(), False),
    ("reasoning_tokens", pa.int64(), False),
    ("finish_reason", pa.string(), False),
    ("status", pa.int64(), False),
)

REQUIRED_FIELDS: frozenset[str] = frozenset(name for name, _, req in FIELDS if req)
FIELD_NAMES: tuple[str, ...] = tuple(name for name, _, _ in FIELDS)
FIELD_TYPES: dict[str, pa.DataType] = {name: typ for name, typ, _ in FIELDS}

#: Canonical events plus ``extra``: unknown input fields as one JSON object string.
EVENT_SCHEMA = pa.schema(
    [pa.field(name, typ, nullable=not req) for name, typ, req in FIELDS]
    + [pa.field("extra", pa.string())]
)
