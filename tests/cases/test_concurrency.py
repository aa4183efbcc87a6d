"""Writers at the same time: threads of one console, and several stores (as processes are)
on one SQLite file. No entry is lost and the chain stays valid."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

from distillwatch.cases.store import open_case_store

SCAN = "3f2a9c1b0d4e5f60"
THREADS = 8
EACH = 20


def _run_threads(target, n: int) -> None:
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            start.wait()
            target(i)
        except BaseException as exc:  # reported below, with the thread's index
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _check(store, decisions: int, entries: int) -> None:
    report = store.verify()
    assert report.ok, report.problem
    assert (report.entries, report.decisions) == (entries, decisions)
    assert [e.seq for e in store.audit(limit=entries + 1)] == list(range(1, entries + 1))


def test_threads_of_one_store_lose_nothing(tmp_path):
    with open_case_store(tmp_path / "cases.db") as store:

        def work(i: int) -> None:
            for j in range(EACH):
                store.decide(SCAN, "account", f"acct-{i}-{j}", "confirm", f"analyst-{i}", "")
                if j % 5 == 0:
                    store.record(f"analyst-{i}", "share.preview", f"cmp-{i}", {"j": j})

        _run_threads(work, THREADS)
        n_records = THREADS * len(range(0, EACH, 5))
        _check(store, THREADS * EACH, THREADS * EACH + n_records)
        assert len(store.current(SCAN)) == THREADS * EACH


def test_separate_stores_on_one_file_lose_nothing(tmp_path):
    # Each store has its own lock and connections: only SQLite keeps them apart here.
    path = tmp_path / "cases.db"
    stores = [open_case_store(path) for _ in range(4)]
    try:

        def work(i: int) -> None:
            for j in range(EACH):
                stores[i].decide(SCAN, "campaign", f"cmp-{i}-{j}", "dismiss", f"a{i}", "")
                # reads the head before it writes: needs BEGIN IMMEDIATE across connections
                stores[i].record(f"a{i}", "share.preview", f"cmp-{i}-{j}", {"j": j})

        _run_threads(work, len(stores))
        _check(stores[0], len(stores) * EACH, 2 * len(stores) * EACH)
    finally:
        for s in stores:
            s.close()


def test_processes_writing_to_one_file_lose_nothing(tmp_path):
    path = tmp_path / "cases.db"
    open_case_store(path).close()
    script = textwrap.dedent(
        f"""
        import sys
        from distillwatch.cases.store import open_case_store
        with open_case_store(sys.argv[1]) as store:
            for j in range({EACH}):
                store.decide("{SCAN}", "account", f"p{{sys.argv[2]}}-{{j}}", "confirm", "cli", "")
                store.record("cli", "share.preview", "x", {{"j": j}})
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), str(i)], stderr=subprocess.PIPE)
        for i in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    with open_case_store(path) as store:
        _check(store, 3 * EACH, 3 * 2 * EACH)
