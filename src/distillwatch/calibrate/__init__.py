"""calibrate stage: refit the risk models from analysts' decisions and simulator truth.

Modules, in the order data flows through them:

- :mod:`.data`: a scan's stored signal scores (``result.json.gz``) as matrices;
- :mod:`.labels`: decisions and truth -> one label per account and campaign;
- :mod:`.verdicts`: verdicts recomputed from stored scores for a pair of models (an
  approximation of a re-scan, said precisely there);
- :mod:`.split`: deterministic train / held-out split, grouped by campaign;
- :mod:`.fit`: anchored, sign-constrained refit and the threshold rule;
- :mod:`.calibration`: the whole calibration (:func:`~.calibration.calibrate`);
- :mod:`.metrics`, :mod:`.report`: before/after comparison, as tables or JSON;
- :mod:`.write`: the calibrated config file.

The command is ``distillwatch calibrate`` (``cli/calibrate_cmd.py``).
"""
