"""The command line ``python -m smecore reproduce`` and its report.

Usage errors are checked through a real ``python -m smecore`` process (exit status and
message). The runs use a small fake book (a ``_toc.yml`` and tiny chapters that use
:class:`smecore.book.verdicts.Verdicts`) so that passing, failing, crashing and unsaved chapters are
all covered in seconds; one more test runs the real setting chapter with ``--quick``.
The report builder is unit-tested on fake executed notebooks, without a kernel.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import nbformat
import pytest

from smecore.__main__ import main
from smecore.book import chapters as rp_chapters
from smecore.book import report as rp_report
from smecore.book.verdicts import Verdict

ROOT = pathlib.Path(__file__).resolve().parents[1]


def smecore_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "smecore", *args], capture_output=True,
                          text=True, cwd=cwd)


# ----------------------------------------------------------------------------- usage

def test_help_documents_options_and_example():
    top = smecore_cli("--help")
    assert top.returncode == 0 and "reproduce" in top.stdout and "example" in top.stdout
    result = smecore_cli("reproduce", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--quick", "--seed", "--chapters", "--jobs", "--out", "exit status"):
        assert option in result.stdout, option
    assert "examples:" in result.stdout and "python -m smecore reproduce --quick" in result.stdout


def test_unknown_chapter_exits_2_naming_it():
    result = smecore_cli("reproduce", "--chapters", "nonexistent")
    assert result.returncode == 2
    assert "unknown chapter 'nonexistent'" in result.stderr and "available:" in result.stderr


@pytest.mark.parametrize("jobs", ["0", "-2", "two"])
def test_bad_jobs_exits_2(jobs):
    result = smecore_cli("reproduce", "--jobs", jobs)
    assert result.returncode == 2
    assert "argument --jobs" in result.stderr and repr(jobs) in result.stderr


def test_bad_seed_exits_2():
    result = smecore_cli("reproduce", "--seed", "-1")
    assert result.returncode == 2 and "argument --seed" in result.stderr


def test_unknown_kernel_exits_2():
    result = smecore_cli("reproduce", "--kernel", "no-such-kernel")
    assert result.returncode == 2 and "argument --kernel" in result.stderr


def test_missing_command_exits_2():
    result = smecore_cli()
    assert result.returncode == 2 and "COMMAND" in result.stderr


def test_root_without_toc_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--root", str(tmp_path)])
    assert exc.value.code == 2
    assert "argument --root" in capsys.readouterr().err


def test_out_that_is_a_file_exits_2(tmp_path, capsys):
    book = fake_book(tmp_path / "book")
    blocker = tmp_path / "report-here"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--root", str(book), "--out", str(blocker)])
    assert exc.value.code == 2
    assert "argument --out" in capsys.readouterr().err


# ----------------------------------------------------------------------------- fake book

PARAMS = "quick = False  # True: small sizes\nseed = 11"
CHAPTERS = {
    # value 1.0 only when quick=True reaches the notebook; 1.05 otherwise: both PASS.
    "good": ["from smecore.book.verdicts import Verdicts\nv = Verdicts('good', seed=seed)",
             "v.check('S1', 'fitted order', 1.0 if quick else 1.05, 0.9, 1.1, method='exact',\n"
             "        kind='claim')\n"
             "v.within_stderr('L5', 'one-step mean', 0.101, 0.1, 0.001, kind='consistency')",
             "v.save()"],
    "bad": ["from smecore.book.verdicts import Verdicts\nv = Verdicts('bad', seed=seed)",
            "v.check('S2', 'fitted order', 1.5, 1.9, 2.1, method='exact', kind='claim')",
            "v.save()"],
    # prints its verdict but never saves it: the report parses the notebook instead
    "unsaved": ["from smecore.book.verdicts import Verdicts\nv = Verdicts('unsaved', seed=seed)",
                "v.check('M1', 'drift: slope', 0.98, 0.9, 1.1, method='ode', uncertainty=0.01,\n"
                "        kind='claim')"],
    # stops with an error after one verdict
    "broken": ["from smecore.book.verdicts import Verdicts\nv = Verdicts('broken', seed=seed)",
               "v.check('N1', 'gap', 0.5, 0, 1, method='exact', kind='numerics')",
               "raise RuntimeError('chapter bug')", "v.save()"],
}


def fake_book(root, chapters=CHAPTERS):
    """A book root with ``_toc.yml`` and the given chapters (name -> code cells)."""
    (root / "book").mkdir(parents=True)
    files = "\n".join(f"      - file: book/{name}" for name in chapters)
    (root / "_toc.yml").write_text(f"format: jb-book\nroot: book/intro\nparts:\n"
                                   f"  - caption: Fake\n    chapters:\n{files}\n"
                                   f"      - file: book/notes\n")
    (root / "book" / "intro.md").write_text("# Intro\n")
    (root / "book" / "notes.md").write_text("# Notes, not a chapter\n")
    for name, cells in chapters.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.cells.append(nbformat.v4.new_markdown_cell(f"# {name}"))
        nb.cells.append(nbformat.v4.new_code_cell(PARAMS, metadata={"tags": ["parameters"]}))
        nb.cells += [nbformat.v4.new_code_cell(src) for src in cells]
        nbformat.write(nb, str(root / "book" / f"{name}.ipynb"))
    return root


def test_available_chapters_follow_the_toc(tmp_path):
    book = fake_book(tmp_path)
    assert list(rp_chapters.available_chapters(book)) == list(CHAPTERS)  # notes.md is not a chapter


def test_list_prints_the_chapters(tmp_path, capsys):
    book = fake_book(tmp_path)
    assert main(["reproduce", "--root", str(book), "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in CHAPTERS)


def test_passing_chapter_writes_a_report_of_passes(tmp_path, capsys):
    book = fake_book(tmp_path / "book", {"good": CHAPTERS["good"]})
    out = tmp_path / "out"
    # A record left over from an earlier run must not leak into this one.
    (out / "records" / "good").mkdir(parents=True)
    (out / "records" / "good" / "stale.json").write_text(json.dumps(
        {"chapter": "good", "seed": 0, "verdicts": [{"result": "S1", "quantity": "stale",
         "value": 9.0, "low": 0.0, "high": 1.0, "method": "exact", "passed": False}]}))
    status = main(["reproduce", "--root", str(book), "--chapters", "book/good", "--quick",
                   "--seed", "5", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "good" in printed and "total" in printed and "report.json" in printed

    report = json.loads((out / "report.json").read_text())
    records = report["verdicts"]
    assert [r["result"] for r in records] == ["S1", "L5"]
    assert all(r["status"] == "PASS" and r["passed"] for r in records)
    assert records[0]["value"] == 1.0  # quick=True reached the notebook
    assert all(r["seed"] == 5 and r["chapter"] == "good" and r["source"] == "json"
               for r in records)
    for r in records:
        assert {"quantity", "kind", "value", "uncertainty", "low", "high", "method",
                "wall_time"} <= set(r)
        assert r["wall_time"] > 0
        assert {"python", "numpy", "scipy", "smecore"} <= set(r["versions"])
    assert [r["kind"] for r in records] == ["claim", "consistency"]
    assert report["summary"] == {"n_verdicts": 2, "n_pass": 2, "n_fail": 0,
                                 "kinds": {"claim": {"pass": 1, "fail": 0},
                                           "consistency": {"pass": 1, "fail": 0},
                                           "numerics": {"pass": 0, "fail": 0}},
                                 "reproduced": ["S1"], "chapters_not_ok": [], "ok": True}
    # L5 has only a consistency verdict: a supporting check, so L5 is not reproduced.
    assert report["results"]["L5"]["status"] == "not reproduced: no claim verdict"
    assert report["options"]["quick"] is True and report["options"]["seed"] == 5
    assert (out / "notebooks" / "good.ipynb").is_file()
    md = (out / "report.md").read_text()
    assert "fitted order" in md and "| S1 |" in md and "FAIL |" not in md.split("## Verdicts")[1]


def test_publication_run_writes_figure_data_to_out_not_to_the_book(tmp_path, capsys):
    cells = ["import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
             "from smecore.book.plotting import publish_figure\n"
             "from smecore.book.verdicts import Verdicts\nv = Verdicts('fig', seed=seed)",
             "fig, ax = plt.subplots()\nax.plot([1, 2], [3, 4], label='curve')\n"
             "publish_figure('fig_fake', fig, render=not quick)",
             "v.check('S1', 'fitted order', 1.0, 0.9, 1.1, method='exact', kind='claim')\n"
             "v.save()"]
    book = fake_book(tmp_path / "book", {"fig": cells})
    out = tmp_path / "out"
    status = main(["reproduce", "--root", str(book), "--out", str(out), "--no-progress"])
    assert status == 0, capsys.readouterr().out
    data = (out / "figure-data" / "fig_fake.csv").read_text().splitlines()
    assert '# artist 0.0: series="curve"' in "\n".join(data)
    assert data[-2:] == ["0,0,line,1,3,,,,", "0,0,line,2,4,,,,"]
    assert not list(book.rglob("figure-data"))  # the book's own files are left alone
    assert "SMECORE_FIGURE_DATA_DIR" not in os.environ


def test_failing_crashing_and_unsaved_chapters_in_parallel(tmp_path, capsys):
    book = fake_book(tmp_path / "book")
    out = tmp_path / "out"
    status = main(["reproduce", "--root", str(book), "--jobs", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 1
    assert "FAIL  S2" in printed and "chapter bug" in printed

    report = json.loads((out / "report.json").read_text())
    chapters = {c["chapter"]: c for c in report["chapters"]}
    assert list(chapters) == list(CHAPTERS)  # reading order, whatever finished first
    assert chapters["good"]["status"] == "ok" and chapters["good"]["n_fail"] == 0
    assert chapters["bad"]["n_fail"] == 1
    assert chapters["unsaved"]["verdict_source"] == "notebook"
    assert chapters["broken"]["status"] == "error" and "RuntimeError" in chapters["broken"]["error"]
    by_id = {r["result"]: r for r in report["verdicts"]}
    assert by_id["S1"]["value"] == 1.05 and by_id["S1"]["seed"] == 11  # chapter defaults
    assert by_id["S2"]["status"] == "FAIL"
    assert by_id["M1"]["quantity"] == "drift: slope" and by_id["M1"]["uncertainty"] == 0.01
    assert by_id["N1"]["status"] == "PASS" and by_id["N1"]["source"] == "notebook"
    assert report["summary"]["ok"] is False and report["summary"]["chapters_not_ok"] == ["broken"]
    assert report["results"]["S2"]["n_fail"] == 1 and report["results"]["A1"]["chapters"] == []


@pytest.mark.notebooks
def test_quick_run_of_the_setting_chapter(tmp_path):
    if "setting" not in rp_chapters.available_chapters(ROOT):
        pytest.skip("book/setting.ipynb is not (yet) listed in _toc.yml")
    out = tmp_path / "out"
    result = smecore_cli("reproduce", "--quick", "--chapters", "setting", "--out", str(out),
                         "--no-progress")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["verdicts"], "the setting chapter recorded no verdict"
    assert all(r["status"] == "PASS" for r in report["verdicts"]), report["verdicts"]
    assert all(r["chapter"] == "setting" and r["source"] == "json" for r in report["verdicts"])
    assert "setting" in (out / "report.md").read_text()


# ----------------------------------------------------------------------------- report builder

@pytest.mark.parametrize("verdict", [
    Verdict("S1", "fitted order", 1.0004, 0.9, 1.1, "exact", None, True),
    Verdict("S2", "E g: slope: at T", 2.05, 1.9, None, "backward", 0.012, True),
    Verdict("T1", "|z|", float("inf"), 0.0, 4.0, "monte carlo", None, False),
    Verdict("D1", "level", -3.25e-7, None, 0.0, "closed form", 1e-9, True),
])
def test_printed_verdict_lines_parse_back(verdict):
    parsed = rp_chapters.parse_verdict_line(verdict.line())
    assert parsed is not None, verdict.line()
    assert (parsed["result"], parsed["quantity"], parsed["method"], parsed["passed"]) == \
        (verdict.result, verdict.quantity, verdict.method, verdict.passed)
    for key in ("value", "low", "high", "uncertainty"):
        expected = getattr(verdict, key)
        assert (parsed[key] is None) == (expected is None), key
        if expected is not None:
            assert parsed[key] == pytest.approx(expected, rel=5e-3), key


def executed_notebook(lines, params=PARAMS):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]},
                                              execution_count=1))
    cell = nbformat.v4.new_code_cell("verdicts.check(...)", execution_count=2,
                                     metadata={"tags": ["nbval-check-output"]})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n"),
                    nbformat.v4.new_output("execute_result", data={"text/plain": "True"},
                                           execution_count=2)]
    nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "A quoted line is no verdict:\nPASS  S1  x: 1  band [0, 2]  (exact)"))
    return nb


def test_report_from_a_fake_executed_notebook(tmp_path):
    nb = executed_notebook([
        "PASS  S1  max |z| of E f(x_k): 2.8  band [0, 4.5]  (monte carlo; claim)",
        "FAIL  S2  fitted order: 1.52 +/- 0.03  band [1.9, 2.1]  (exact; claim)",
        "PASS  S2  engine vs closed form: < 1e-12  band [0, 1e-10]  (exact; consistency)",
        "2 of 2 verdicts PASS",
        "wall time 4.6 s",
    ])
    verdicts = rp_chapters.verdicts_from_notebook(nb)
    assert [(v["result"], v["passed"], v["kind"]) for v in verdicts] == \
        [("S1", True, "claim"), ("S2", False, "claim"), ("S2", True, "consistency")]
    assert verdicts[1]["uncertainty"] == 0.03 and verdicts[1]["low"] == 1.9
    assert rp_chapters.parameter_defaults(nb) == {"quick": False, "seed": 11}

    chapter = {"name": "fake", "notebook": "book/fake.ipynb", "output": "out/fake.ipynb",
               "status": "ok", "error": None, "wall_time": 4.6,
               "seed": rp_chapters.parameter_defaults(nb)["seed"], "source": "notebook",
               "verdicts": verdicts}
    env = {"python": "3.11.7", "numpy": "2.0", "scipy": "1.14", "smecore": "0.1.0"}
    report = rp_report.build_report([chapter], options={"quick": True, "seed": None, "jobs": 1},
                             env=env, total_wall_time=5.0, created="2026-01-01T00:00:00")
    summary = report["summary"]
    assert (summary["n_verdicts"], summary["n_pass"], summary["n_fail"], summary["ok"]) == \
        (3, 2, 1, False)
    assert summary["kinds"]["claim"] == {"pass": 1, "fail": 1}
    assert summary["kinds"]["consistency"] == {"pass": 1, "fail": 0}
    assert summary["reproduced"] == ["S1"]
    assert [r["status"] for r in report["verdicts"]] == ["PASS", "FAIL", "PASS"]
    assert [r["kind"] for r in report["verdicts"]] == ["claim", "claim", "consistency"]
    assert all(r["seed"] == 11 and r["versions"] == env and r["wall_time"] == 4.6
               for r in report["verdicts"])
    assert list(report["results"])[:len(rp_report.RESULTS)] == list(rp_report.RESULTS)
    s2 = report["results"]["S2"]
    assert (s2["chapters"], s2["n_pass"], s2["n_fail"], s2["reproduced"]) == (["fake"], 1, 1, False)
    # A passing supporting check does not reproduce a result whose claim fails.
    assert s2["status"] == "not reproduced: a claim verdict FAILs"
    assert report["results"]["T1"]["status"] == "not yet illustrated"

    json_path, md_path = rp_report.write_report(report, tmp_path / "out")
    assert json.loads(json_path.read_text()) == report
    md = md_path.read_text()
    assert "**2 of 3 verdicts PASS**, 1 FAIL" in md
    assert "By kind: claim 1 PASS / 1 FAIL, consistency 1 PASS, numerics 0 PASS" in md
    assert "| S2 | fake | claim | fitted order | 1.52 | 0.03 | [1.9, 2.1] | exact | FAIL |" in md
    assert "max \\|z\\| of E f(x_k)" in md  # table pipes escaped
    assert "| T1 | " in md and "not yet illustrated" in md
    assert "| 1 PASS, 0 FAIL (monte carlo) | - | reproduced |" in md
    table = rp_report.summary_table(report)
    assert "FAILED" in table and "FAIL  S2  [fake] fitted order" in table
    assert "reproduced through claim verdicts: S1" in table


def test_results_of_the_book_and_of_the_paper():
    for rid in ("T1", "L4", "L5", "S1", "S2", "M1", "N1", "D1", "A1"):
        assert rid in rp_report.RESULTS
    for rid in ("M2", "M3", "N2", "D2"):
        assert rp_report.RESULTS[rid].endswith("(this book)"), rid
    for rid in ("M1", "N1"):
        assert "normalisation not confirmed from the paper" in rp_report.RESULTS[rid]


def test_a_verdict_without_kind_is_a_report_error():
    nb = executed_notebook(["PASS  S1  fitted order: 1.02  band [0.9, 1.1]  (exact)",
                            "PASS  S2  fitted order: 2.01  band [1.9, 2.1]  (exact; claim)"])
    chapter = {"name": "old", "notebook": "o.ipynb", "output": "o/o.ipynb", "status": "ok",
               "error": None, "wall_time": 1.0, "seed": 1, "source": "notebook",
               "verdicts": rp_chapters.verdicts_from_notebook(nb)}
    with pytest.raises(rp_report.ReportError, match=r"1 verdict\(s\) declare no kind.*"
                       r"kind=.*old: S1 'fitted order'"):
        rp_report.build_report([chapter], env={})


def test_cli_explains_a_verdict_without_kind(tmp_path, capsys):
    cells = ["from smecore.book.verdicts import Verdicts\nv = Verdicts('old', seed=seed)",
             "v.check('S1', 'fitted order', 1.0, 0.9, 1.1, method='exact')\nv.save()"]
    book = fake_book(tmp_path / "book", {"old": cells})
    status = main(["reproduce", "--root", str(book), "--out", str(tmp_path / "out"),
                   "--no-progress"])
    assert status == 1
    err = capsys.readouterr().err
    assert "cannot build the report" in err and "old: S1 'fitted order'" in err


def test_chapter_without_verdicts_is_not_ok():
    chapter = {"name": "empty", "notebook": "e.ipynb", "output": "o/e.ipynb", "status": "ok",
               "error": None, "wall_time": 1.0, "seed": 1, "source": "notebook", "verdicts": []}
    report = rp_report.build_report([chapter], env={}, created="2026-01-01T00:00:00")
    assert report["summary"]["ok"] is False and report["summary"]["chapters_not_ok"] == ["empty"]
    assert "no verdict" in rp_report.summary_table(report)


# ----------------------------------------------------------------------------- power run

MUTANT_PARAMS = "quick = False\nseed = 11\nmutant = \"\"  # a key of smecore.mutants"
POWER_CHAPTERS = {
    # S1's claim rejects S1:wrong; S2's claim rejects S2:wrong and S2:doubled, but not
    # S2:weak (the consistency verdict that does move is no claim); S1:crash stops the chapter.
    "alpha": ["from smecore.book.verdicts import Verdicts\nv = Verdicts('alpha', seed=seed)",
              "if mutant == 'S1:crash':\n    raise RuntimeError('mutant broke the chapter')",
              "v.check('S1', 'fitted order', 1.5 if mutant == 'S1:wrong' else 1.0, 0.9, 1.1,\n"
              "        method='exact', kind='claim')\n"
              "v.check('S2', 'engine vs closed form', 1.0 if mutant == 'S2:weak' else 0.0, 0, 1e-10,\n"
              "        method='exact', kind='consistency')",
              "v.save()"],
    "beta": ["from smecore.book.verdicts import Verdicts\nv = Verdicts('beta', seed=seed)",
             "v.check('S2', 'fitted order', {'S2:wrong': 1.0, 'S2:doubled': 2.5}.get(mutant, 2.0),\n"
             "        1.9, 2.1, method='exact', kind='claim')\n"
             "assert quick, 'the power run passes quick=True'",
             "v.save()"],
    # prints no claim verdict: never run with a mutant
    "gamma": ["from smecore.book.verdicts import Verdicts\nv = Verdicts('gamma', seed=seed)",
              "v.check('S1', 'solver error', 0.0, 0, 1e-6, method='ode', kind='numerics')\n"
              "assert not mutant, 'gamma must not run with a mutant'",
              "v.save()"],
}


def power_book(root, chapters=POWER_CHAPTERS):
    book = fake_book(root, chapters)
    for name in chapters:
        path = book / "book" / f"{name}.ipynb"
        nb = nbformat.read(str(path), as_version=4)
        nb.cells[1].source = MUTANT_PARAMS
        nbformat.write(nb, str(path))
    return book


@pytest.fixture
def fake_mutants(monkeypatch):
    from smecore import mutants
    monkeypatch.setattr(mutants, "_REGISTRY", {})
    for result, name, description in [
            ("S1", "wrong", "order-1 claim with the wrong equation"),
            ("S1", "crash", "a mutant under which the chapter stops"),
            ("S2", "wrong", "order 1 instead of 2"),
            ("S2", "doubled", "noise doubled"),
            ("S2", "weak", "moves only a consistency verdict"),
            ("L4", "nobody", "no chapter checks L4")]:
        mutants.register(mutants.Mutant(result, name, "fake_target", {"x": 1}, description))
    return mutants


def test_power_run_all_killed_exits_0(tmp_path, capsys, fake_mutants):
    book = power_book(tmp_path / "book")
    out = tmp_path / "out"
    status = main(["reproduce", "--root", str(book), "--quick", "--mutants", "S1:wrong",
                   "S2:wrong", "S2:doubled", "--jobs", "2", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "3 of 3 mutants killed" in printed
    rows = json.loads((out / "power.json").read_text())
    assert [(r["result"], r["mutant"], r["killed"], r["chapter"]) for r in rows] == [
        ("S1", "S1:wrong", True, "alpha"), ("S2", "S2:wrong", True, "beta"),
        ("S2", "S2:doubled", True, "beta")]
    assert rows[0]["killed_by"] == ["alpha: fitted order"]
    assert rows[0]["description"] == "order-1 claim with the wrong equation"
    assert (out / "mutants" / "S2-doubled" / "notebooks" / "beta.ipynb").is_file()
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["ok"] and report["power"] == rows
    md = (out / "report.md").read_text()
    assert "## Power" in md and "**3 of 3 mutants killed.**" in md


def test_power_run_survivors_errors_and_unchecked_exit_1(tmp_path, capsys, fake_mutants):
    book = power_book(tmp_path / "book")
    out = tmp_path / "out"
    status = main(["reproduce", "--root", str(book), "--quick", "--mutants", "--jobs", "2",
                   "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 1, printed
    rows = {r["mutant"]: r for r in json.loads((out / "power.json").read_text())}
    assert sorted(rows) == sorted(m.key for m in fake_mutants.registered())
    assert rows["S1:wrong"]["killed"] and rows["S2:doubled"]["killed"]
    crash = rows["S1:crash"]  # an error is visible, and never counted as a kill
    assert crash["killed"] is False and "RuntimeError" in crash["error"]
    weak = rows["S2:weak"]  # only a consistency verdict FAILed: not a kill
    assert weak["killed"] is False and weak["killed_by"] == [] and weak["chapters"] == ["beta"]
    assert rows["L4:nobody"]["killed"] is False and rows["L4:nobody"]["chapters"] == []
    assert "no chapter prints a claim verdict of L4" in rows["L4:nobody"]["note"]
    from smecore.book.power import outcome
    assert {k: outcome(r) for k, r in rows.items()} == {
        "L4:nobody": "not checked", "S1:crash": "error", "S1:wrong": "killed",
        "S2:doubled": "killed", "S2:weak": "survived", "S2:wrong": "killed"}
    md = (out / "report.md").read_text()
    assert "**3 of 6 mutants killed.**" in md and "**survived**" in md and "**error**" in md


def test_power_run_unknown_mutant_exits_2(tmp_path, capsys, fake_mutants):
    book = power_book(tmp_path / "book")
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--root", str(book), "--mutants", "S9:nothing",
              "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --mutants" in err and "S9:nothing" in err and "S1:wrong" in err


def test_power_run_a_chapter_failing_without_mutant_cannot_kill(tmp_path, capsys, fake_mutants):
    cells = ["from smecore.book.verdicts import Verdicts\nv = Verdicts('bad', seed=seed)",
             "v.check('S2', 'fitted order', 1.0, 1.9, 2.1, method='exact', kind='claim')",
             "v.save()"]
    book = power_book(tmp_path / "book", {"bad": cells})
    out = tmp_path / "out"
    status = main(["reproduce", "--root", str(book), "--quick", "--mutants", "S2:wrong",
                   "--out", str(out), "--no-progress"])
    assert status == 1
    row = json.loads((out / "power.json").read_text())[0]
    assert row["killed"] is False and "fails without the mutant" in row["note"]


def test_power_run_of_chosen_chapters_skips_the_mutants_they_do_not_check(tmp_path, capsys,
                                                                           fake_mutants):
    book = power_book(tmp_path / "book")
    out = tmp_path / "out"
    status = main(["reproduce", "--root", str(book), "--quick", "--chapters", "beta",
                   "--mutants", "--jobs", "2", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    rows = {r["mutant"]: r for r in json.loads((out / "power.json").read_text())}
    assert sorted(rows) == ["S2:doubled", "S2:weak", "S2:wrong"]  # beta checks S2 only
    assert "3 mutant(s) skipped" in printed and "L4:nobody" in printed
    assert status == 1 and not rows["S2:weak"]["killed"]


# ----------------------------------------------------------------------------- seed sweep

SEED_CHAPTERS = {
    # passes for every seed
    "steady": ["from smecore.book.verdicts import Verdicts\nv = Verdicts('steady', seed=seed)",
               "v.check('S1', 'fitted order', 1.0, 0.9, 1.1, method='exact', kind='claim')\n"
               "assert quick, 'the sweep passes quick=True'",
               "v.save()"],
    # a band fitted to one seed: fails for seed 3, stops with an error for seed 4
    "fitted": ["from smecore.book.verdicts import Verdicts\nv = Verdicts('fitted', seed=seed)",
               "if seed == 4:\n    raise RuntimeError('diverged')",
               "v.check('S2', 'slope', 2.5 if seed == 3 else 2.0, 1.9, 2.1, method='monte carlo',\n"
               "        kind='claim')",
               "v.save()"],
}


def test_seed_sweep_records_every_chapter_and_seed(tmp_path, capsys):
    book = fake_book(tmp_path / "book", SEED_CHAPTERS)
    out = tmp_path / "out"
    status = main(["reproduce", "--root", str(book), "--quick", "--seeds", "1", "3", "4",
                   "--jobs", "2", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 1, printed
    record = json.loads((out / "seeds.json").read_text())
    assert record["seeds"] == [1, 3, 4] and record["quick"] is True
    assert record["chapters"] == ["steady", "fitted"] and len(record["code_digest"]) == 64
    got = {(r["chapter"], r["seed"]): (r["passed"], r["status"], r["failed"])
           for r in record["rows"]}
    assert got == {("steady", 1): (True, "ok", []), ("steady", 3): (True, "ok", []),
                   ("steady", 4): (True, "ok", []), ("fitted", 1): (True, "ok", []),
                   ("fitted", 3): (False, "ok", ["S2 slope"]),
                   ("fitted", 4): (False, "error", [])}
    assert (out / "seed-3" / "notebooks" / "fitted.ipynb").is_file()
    md = (out / "report.md").read_text()
    assert "**4 of 6 chapter runs pass.**" in md
    assert "| fitted | 1/1 PASS | 0/1 PASS; **FAIL**: S2 slope | **error**: cell" in md
    assert "4 of 6 chapter runs pass" in printed


def test_seed_sweep_all_pass_exits_0(tmp_path, capsys):
    book = fake_book(tmp_path / "book", {"steady": SEED_CHAPTERS["steady"]})
    status = main(["reproduce", "--root", str(book), "--quick", "--seeds", "5", "6",
                   "--out", str(tmp_path / "out"), "--no-progress"])
    assert status == 0, capsys.readouterr().out


@pytest.mark.parametrize("extra,message", [
    (["--seeds", "1", "2", "--seed", "3"], "not allowed with --seed"),
    (["--seeds", "1", "2", "--mutants"], "not allowed with --mutants"),
    (["--seeds", "1", "2", "1"], "repeated seed"),
])
def test_seed_sweep_bad_usage_exits_2(tmp_path, capsys, extra, message):
    book = fake_book(tmp_path / "book", {"steady": SEED_CHAPTERS["steady"]})
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--root", str(book), *extra, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --seeds" in err and message in err


def test_seed_sweep_negative_seed_exits_2():
    result = smecore_cli("reproduce", "--seeds", "1", "-3")
    assert result.returncode == 2 and "--seeds" in result.stderr


def test_committed_seed_sweep_covers_the_book_with_five_other_seeds():
    """The Reproduction page shows book/seed-sweep.json: every chapter, >= 5 seeds, all pass."""
    from smecore.book.seeds import read_seeds

    record = read_seeds(ROOT / "book" / "seed-sweep.json")
    chapters = rp_chapters.available_chapters(ROOT)
    defaults = {rp_chapters.parameter_defaults(nbformat.read(str(p), as_version=4)).get("seed")
                for p in chapters.values()}
    others = [s for s in record["seeds"] if s not in defaults]
    assert len(others) >= 5, record["seeds"]
    done = {(r["chapter"], r["seed"]) for r in record["rows"] if r["passed"]}
    missing = [(c, s) for c in chapters for s in record["seeds"] if (c, s) not in done]
    assert not missing, f"chapters not passing (or not run) with these seeds: {missing}"
