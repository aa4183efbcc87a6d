"""distillwatch: detect, attribute, share, stop and prove adversarial distillation.

The package is laid out along the data flow of a scan::

    ingest/     logs -> canonical events (+ quarantine)
    features/   per-subject aggregates (ibis) and text sketches (Arrow batches)
    signals/    small detectors: score in [0, 1] + typed evidence, one registry
    campaigns/  account linkage graph -> clusters -> campaigns
    verdicts/   signal scores -> calibrated risk, flags, contributions
    outputs/    accounts.csv, campaigns.csv, report.html, intel.json
    sim/        labelled synthetic traffic from real prompt corpora
    evaluate/   metrics of a scan against simulator truth
    cli/        the ``distillwatch`` command
"""

__version__ = "0.1.0"
