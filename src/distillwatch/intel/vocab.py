"""The sharing vocabulary: fixed ids and the shape of distillwatch's own STIX content.

Everything a provider publishes through the hub is standard STIX 2.1 except three
extensions, each declared by an ``extension-definition`` shipped with the project
(``src/distillwatch/intel/data/extensions.json``) whose JSON schema lies in ``schemas/``:

- ``llm-prompt-fingerprint`` (new SCO): a prompt template skeleton, never its text, as a
  keyed digest (HMAC-SHA-256 under the trust group's key ``key_id``) plus a MinHash sketch
  computed with a secret seed derived from the same key, for near-duplicate matching.
- ``keyed-digest`` (new SCO): a value that identifies a person or a residential line
  (payment fingerprint, residential IP address or prefix), as a keyed digest only.
- ``sighting-feedback`` (property extension on ``sighting``): ``false_positive`` marks an
  analyst's dismissal of a peer's indicator.

These ids are part of the wire format: never change them.

>>> EXTENSIONS["llm-prompt-fingerprint"].startswith("extension-definition--")
True
>>> sorted(SCO_PROPERTIES["keyed-digest"])
['digest', 'key_id', 'kind']
"""

from __future__ import annotations

#: The identity that authors the extension definitions (the distillwatch project).
PROJECT_IDENTITY = "identity--b3a966f1-48f4-4466-ac4b-2cf0d9c4fc99"

#: extension name -> extension-definition id
EXTENSIONS: dict[str, str] = {
    "llm-prompt-fingerprint": "extension-definition--87a7e9d1-e9c1-4d3e-9026-3df39c038860",
    "keyed-digest": "extension-definition--13283b35-acdd-439f-a918-8f514691958a",
    "sighting-feedback": "extension-definition--04388130-f3b8-403d-a48c-bca927e625b8",
}

#: Custom SCO type -> its own properties (besides type, spec_version, id, extensions and
#: the common optional ones: object_marking_refs, granular_markings, defanged).
SCO_PROPERTIES: dict[str, frozenset[str]] = {
    # digest: 64 hex chars; key_id: the group key; part: head | tail | prompt;
    # minhash: list of MINHASH_PERM unsigned 32-bit integers
    "llm-prompt-fingerprint": frozenset({"digest", "key_id", "part", "minhash"}),
    # kind: one of DIGEST_KINDS
    "keyed-digest": frozenset({"digest", "key_id", "kind"}),
}

#: What a ``keyed-digest`` may stand for.
DIGEST_KINDS = ("payment-fingerprint", "ip-address", "ip-prefix")

#: Template parts a fingerprint may cover.
FINGERPRINT_PARTS = ("head", "tail", "prompt")

#: Number of MinHash permutations in a shared sketch.
MINHASH_PERM = 64

#: Property of the ``sighting-feedback`` extension.
FEEDBACK_PROPERTIES = frozenset({"extension_type", "false_positive"})
