"""Prove replication: mark what suspect accounts receive, and test a suspect model for it.

- ``lexicon``: the shipped groups of interchangeable words and phrases, and their loader.
- ``text``: where a text can carry the mark (lexicon occurrences outside protected spans,
  with their canonical context); the marker and the test read texts only through it.
- ``keys``: marking keys (HMAC secret, context words, strength) and their files.
- ``mark``: applies the keyed choice at each eligible occurrence.
- ``ledger``: which positions were served marked, as keyed digests (no text).
- ``detect``: the test statistic and its exact p-value; Holm-Bonferroni over keys.
- ``campaigns``: one key per campaign for the gateway's ``mark`` action.
- ``jsonl``: JSON-lines texts in, bad lines quarantined.
"""
