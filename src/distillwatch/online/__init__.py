"""Online scoring: the scan's signals, one request at a time, with bounded state per account.

``api`` holds what a caller (the gateway, ``replay``) sees: ``Verdict`` and the ``Scorer``
protocol; ``scorer.OnlineScorer`` implements it.
"""
