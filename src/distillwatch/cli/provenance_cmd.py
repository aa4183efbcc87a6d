"""``distillwatch provenance keygen | mark | test | keys``: mark served text, test a suspect."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from distillwatch.cli.main import one_line_errors
from distillwatch.errors import ProvenanceError, UsageError

provenance_app = typer.Typer(
    help="Mark what suspect accounts receive, and test a suspect model for the mark.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)


def _fmt_p(p: float) -> str:
    return "< 1e-300" if p == 0.0 else f"{p:.3g}"


@provenance_app.command("keygen")
@one_line_errors
def keygen(
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the new key file.")],
    context_words: Annotated[
        int, typer.Option(help="Previous words that decide each choice (1-4).")
    ] = 2,
    strength: Annotated[
        float, typer.Option(help="Share of lexicon positions marked, in (0, 1].")
    ] = 1.0,
    kinds: Annotated[
        str,
        typer.Option(
            help="Lexicon kinds to mark, comma-separated (contraction, spelling, synonym, "
            "phrase); spelling is off by default so US and UK spellings never mix."
        ),
    ] = "contraction,synonym,phrase",
) -> None:
    """Make a new random marking key (mode 0600; never overwrites a file)."""
    from distillwatch.provenance.keys import new_key, save_key
    from distillwatch.provenance.lexicon import lexicon_sha256

    key = new_key(
        context_words=context_words,
        strength=strength,
        lexicon_sha256=lexicon_sha256(),
        kinds=tuple(k.strip() for k in kinds.split(",") if k.strip()),
    )
    save_key(key, out_path)
    out.print(f"wrote key {key.key_id} to {out_path}", highlight=False)


@provenance_app.command("mark")
@one_line_errors
def mark(
    key_file: Annotated[Path, typer.Option("--key-file", help="The marking key.")],
    source: Annotated[Path, typer.Argument(help="JSON lines, each an object with `text`.")],
    target: Annotated[Path, typer.Argument(help="Where to write the marked lines.")],
    strength: Annotated[
        float | None, typer.Option(help="Override the key's strength for this run.")
    ] = None,
    field: Annotated[str, typer.Option(help="The field holding the text.")] = "text",
    ledger: Annotated[
        Path | None, typer.Option(help="Append the marked positions (digests) to this ledger.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Mark every text of SOURCE; other fields are kept. Bad lines go to
    TARGET.quarantine.jsonl with their reason; the rest are marked."""
    from distillwatch.provenance.jsonl import read_records, write_quarantine
    from distillwatch.provenance.keys import check_params, load_key
    from distillwatch.provenance.ledger import append_ledger
    from distillwatch.provenance.lexicon import load_lexicon
    from distillwatch.provenance.mark import mark_text

    key = load_key(key_file)
    if strength is not None:
        check_params(key.context_words, strength)
    lexicon = load_lexicon()
    _check_lexicon(key.lexicon_sha256, key.key_id)
    if target.resolve() == source.resolve():
        raise UsageError("TARGET must differ from SOURCE; the input is never overwritten")
    good, bad = read_records(source, field)
    words = changed = positions = active = 0
    digests: set[int] = set()
    try:
        with target.open("w", encoding="utf-8") as fh:
            for rec in good:
                result = mark_text(rec.text, key, lexicon, strength=strength)
                words += result.words
                changed += result.words_changed
                positions += result.positions
                active += result.active
                digests |= result.digests
                fh.write(json.dumps({**rec.obj, field: result.text}, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ProvenanceError(f"cannot write {target}: {exc.strerror}") from exc
    quarantine = target.with_name(target.name + ".quarantine.jsonl")
    if bad:
        write_quarantine(quarantine, bad, source)
    if ledger is not None:
        append_ledger(ledger, key.key_id, digests)
    summary = {
        "key_id": key.key_id,
        "texts": len(good),
        "words": words,
        "words_changed": changed,
        "share_changed": changed / words if words else 0.0,
        "positions": positions,
        "marked_positions": active,
        "quarantined": len(bad),
    }
    if as_json:
        out.print_json(json.dumps(summary))
    else:
        out.print(
            f"marked {len(good)} texts with {key.key_id}: {changed} of {words} words changed "
            f"({summary['share_changed']:.2%}); {active} of {positions} lexicon positions "
            f"marked -> {target}",
            highlight=False,
        )
    if bad:
        err.print(
            f"{len(bad)} bad line(s) skipped (first: line {bad[0].line}, {bad[0].reason}); "
            f"see {quarantine}",
            highlight=False,
        )


def _check_lexicon(expected: str, key_id: str) -> None:
    from distillwatch.provenance.lexicon import lexicon_sha256

    if expected and expected != lexicon_sha256():
        raise ProvenanceError(
            f"key {key_id} was made with another lexicon (sha256 {expected[:12]}...) than the "
            "one installed; use the distillwatch version that made the key"
        )


@provenance_app.command("test")
@one_line_errors
def test(
    suspect: Annotated[Path, typer.Argument(help="JSON lines of texts the suspect generated.")],
    key_files: Annotated[
        list[Path] | None,
        typer.Option("--key-file", help="A key to test for (repeat for several)."),
    ] = None,
    marks: Annotated[
        Path | None, typer.Option(help="Test every campaign key of a gateway's marks directory.")
    ] = None,
    ledgers: Annotated[
        list[Path] | None,
        typer.Option("--ledger", help="Score only positions this ledger says were marked."),
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level of the verdict.")] = 0.01,
    field: Annotated[str, typer.Option(help="The field holding the text.")] = "text",
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Test SUSPECT for the mark of each key: statistic, exact p-value under the null that
    the model never saw text marked with the key, positions scored, and a verdict
    (p-values Holm-Bonferroni corrected when several keys are tested)."""
    from distillwatch.provenance.campaigns import CampaignKeys
    from distillwatch.provenance.detect import test_keys
    from distillwatch.provenance.jsonl import read_records
    from distillwatch.provenance.keys import load_key
    from distillwatch.provenance.ledger import read_ledger
    from distillwatch.provenance.lexicon import load_lexicon

    if not 0.0 < alpha < 1.0:
        raise UsageError(f"--alpha must be between 0 and 1, got {alpha}")
    keys = [load_key(p) for p in key_files or []]
    ledger_sets: dict[str, set[int]] = {}
    campaign_of: dict[str, str] = {}
    if marks is not None:
        store = CampaignKeys(marks)
        for a in store.assignments():
            key = store.key_for(a.campaign_id)
            keys.append(key)
            campaign_of[key.key_id] = a.campaign_id
            if store.ledger_path(key.key_id).exists():
                ledger_sets[key.key_id] = read_ledger(store.ledger_path(key.key_id))[1]
    if not keys:
        raise UsageError("give at least one --key-file, or --marks DIR with campaign keys")
    for path in ledgers or []:
        key_id, digests = read_ledger(path)
        if key_id not in {k.key_id for k in keys}:
            raise UsageError(f"ledger {path} belongs to key {key_id}, which is not being tested")
        ledger_sets.setdefault(key_id, set()).update(digests)
    for k in keys:
        _check_lexicon(k.lexicon_sha256, k.key_id)
    good, bad = read_records(suspect, field)
    if not good:
        raise ProvenanceError(f"{suspect} has no usable texts ({len(bad)} bad lines)")
    results = test_keys([r.text for r in good], keys, load_lexicon(), ledgers=ledger_sets)
    if as_json:
        rows = [
            {
                **r.__dict__,
                "campaign_id": campaign_of.get(r.key_id),
                "match_rate": r.match_rate,
                "verdict": "marked" if r.significant(alpha) else "not shown",
                "alpha": alpha,
                "bad_lines": len(bad),
            }
            for r in results
        ]
        out.print_json(json.dumps(rows, default=lambda v: None if math.isnan(v) else v))
        return
    table = Table(title=f"provenance test of {suspect} ({len(good)} texts, alpha {alpha})")
    for col in (
        "key",
        "positions",
        "matches",
        "statistic",
        "expected",
        "z",
        "p",
        "p (Holm)",
        "verdict",
    ):
        table.add_column(col, justify="left" if col in ("key", "verdict") else "right")
    for r in results:
        name = r.key_id + (f" ({campaign_of[r.key_id]})" if r.key_id in campaign_of else "")
        table.add_row(
            name + (" [ledger]" if r.ledger else ""),
            str(r.positions),
            str(r.matches),
            str(r.statistic),
            f"{r.expected:.1f}",
            f"{r.z:.2f}",
            _fmt_p(r.p_value),
            _fmt_p(r.p_adjusted),
            "MARKED" if r.significant(alpha) else "not shown",
        )
    out.print(table)
    if any(not r.ledger for r in results):
        err.print(
            "note: keys without a ledger are tested blind, over every position; with the "
            "ledger of what was served marked (--ledger, or --marks for a gateway's keys) "
            "the test looks only where the mark can be and needs far less marked text",
            highlight=False,
        )
    if bad:
        err.print(f"{len(bad)} bad line(s) of {suspect} skipped", highlight=False)


@provenance_app.command("keys")
@one_line_errors
def keys_list(
    marks: Annotated[Path, typer.Option(help="A gateway's marks directory.")],
) -> None:
    """Which key went to which campaign, and how many positions each ledger holds."""
    from distillwatch.provenance.campaigns import CampaignKeys
    from distillwatch.provenance.ledger import read_ledger

    store = CampaignKeys(marks)
    table = Table(title=f"campaign keys in {marks}")
    for col in ("campaign", "key", "assigned", "ledger positions"):
        table.add_column(col)
    for a in store.assignments():
        path = store.ledger_path(a.key_id)
        n = len(read_ledger(path)[1]) if path.exists() else 0
        table.add_row(a.campaign_id, a.key_id, a.assigned, str(n))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(provenance_app, name="provenance")
