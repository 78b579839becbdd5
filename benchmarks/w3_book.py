"""W3 - the book: wall time of ``jupyter-book build .`` and of ``pytest`` in a clean checkout.

``python benchmarks/w3_book.py`` clones the committed HEAD of this repository
into a temporary folder (no ``_build``, no execution cache), then times, there,
the README's two commands: ``jupyter-book build .`` (every chapter executes at
publication quality) and ``pytest`` (unit tests, doctests, quick chapter runs,
nbval). ``PYTHONPATH`` points at the clone, so its own ``smecore`` is imported.
Uncommitted changes are NOT measured: commit first. Appends one record to
benchmarks/results/results.jsonl (or prints it with ``--print-only``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

BOOK_TARGET_S = 600
TESTS_TARGET_S = 900


def _timed(cmd, cwd, env, timeout):
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        rc, tail = proc.returncode, (proc.stdout + proc.stderr)[-1500:]
    except subprocess.TimeoutExpired as exc:
        rc, tail = "timeout", str(exc)[-500:]
    return time.perf_counter() - start, rc, tail


def measure(source=common.ROOT, timeout=3600) -> dict:
    with tempfile.TemporaryDirectory(prefix="smecore-w3-") as tmp:
        clone = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "--quiet", str(source), str(clone)], check=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone,
                                capture_output=True, text=True).stdout.strip()
        env = dict(os.environ, PYTHONPATH=str(clone))
        book_s, book_rc, book_tail = _timed(["jupyter-book", "build", "."], clone, env, timeout)
        tests_s, tests_rc, tests_tail = _timed([sys.executable, "-m", "pytest"], clone, env, timeout)
    summary = [ln for ln in tests_tail.splitlines() if " passed" in ln or " failed" in ln]
    return {"status": "ok", "commit": commit,
            "book_seconds": book_s, "book_returncode": book_rc, "book_tail": book_tail[-600:],
            "tests_seconds": tests_s, "tests_returncode": tests_rc,
            "tests_summary": summary[-1] if summary else tests_tail[-300:],
            "book_target_seconds": BOOK_TARGET_S, "tests_target_seconds": TESTS_TARGET_S}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print-only", action="store_true", help="do not append to the results file")
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--out", default=str(common.RESULTS))
    args = parser.parse_args(argv)
    record = measure()
    record.update(type="book", workload="W3", run_id=args.run_id or common.new_run_id())
    if not args.print_only:
        if args.run_id is None:
            common.append(common.run_header(record["run_id"], "full", ["benchmarks", "W3"]), args.out)
        common.append(record, args.out)
    print(f"W3: book {record['book_seconds']:.0f} s (exit {record['book_returncode']}), "
          f"tests {record['tests_seconds']:.0f} s (exit {record['tests_returncode']}): "
          f"{record['tests_summary']}")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
