"""The exception tree of distillwatch.

Every error a user can cause is a :class:`DistillwatchError`; the CLI turns it into one
line and a non-zero exit. Third-party errors are translated at the boundary
(``raise IngestError(...) from exc``)::

    DistillwatchError
     +-- UsageError          bad arguments or options (exit 2)
     +-- IngestError         input cannot be read at all (exit 2)
     +-- ConfigError         a config file is invalid (exit 2)
     +-- DetectionError      a pipeline stage failed on valid input (exit 1)
     +-- OutputError         results cannot be written (exit 1)
     +-- IntelError          a key file, bundle or peer object cannot be used (exit 2)
     +-- HubError            the hub cannot be reached, refused a request, or failed (exit 1)
     +-- ScoringError        the online scorer cannot score (exit 1)
     +-- GatewayError        the gateway cannot start, or its policy or keys are unusable (exit 2)
     +-- ProvenanceError     a provenance key, text file or ledger cannot be used (exit 2)
 +-- ConsoleError        the analyst console cannot start, or a case store is unusable (exit 2)
"""

from __future__ import annotations


class DistillwatchError(Exception):
    """Root of all distillwatch errors. ``str(err)`` is one line that says what to do."""

    exit_code: int = 1


class UsageError(DistillwatchError):
    """Unusable arguments."""

    exit_code = 2


class IngestError(DistillwatchError):
    """The input as a whole cannot be read (single bad records are quarantined instead)."""

    exit_code = 2


class ConfigError(DistillwatchError):
    """A configuration file is missing, malformed or fails validation."""

    exit_code = 2


class DetectionError(DistillwatchError):
    """A detection stage failed on input that was valid."""


class OutputError(DistillwatchError):
    """An output file cannot be written."""


class IntelError(DistillwatchError):
    """A key file, STIX bundle or peer intelligence cannot be used."""

    exit_code = 2


class HubError(DistillwatchError):
    """The sharing hub cannot be reached, refused a request, or failed to start."""


class ScoringError(DistillwatchError):
    """The online scorer cannot score: its state store is unavailable or its lists are bad."""


class GatewayError(DistillwatchError):
    """The gateway cannot start, or its policy or key file is unusable."""

    exit_code = 2


class ProvenanceError(DistillwatchError):
    """A provenance key file, a text file to mark or test, or a ledger cannot be used."""

    exit_code = 2


class ConsoleError(DistillwatchError):
    """The analyst console cannot start, or its case store or analysts are unusable."""

    exit_code = 2
