"""cases stage: analysts' decisions on scan results, and their audit trail.

- :mod:`.model`: what a decision is (:class:`~.model.Decision`) and what it means as a
  label for :mod:`distillwatch.calibrate`;
- :mod:`.store`: the SQLite case store (decisions, with who and when) and its hash-chained
  audit trail.
"""
