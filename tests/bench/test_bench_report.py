"""The runner's pieces that need no load: the table and its ratios, wrk's Lua and output, checks,
process groups."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench import runlock
from bench.federation import checker, load, processes, profiling
from bench.federation.report import HEADERS, Measurement, render_table, table_rows
from bench.federation.runner import dedup_note


def fake(pass_name: str, gateway: str, rps: float, *, ours: bool = False, sg: float = 7.0) -> Measurement:
    return Measurement(pass_name, gateway, "ok", is_ours=ours, rps=rps, p50_ms=100.0 * 400 / rps,
                       p99_ms=200.0 * 400 / rps, subgraph_requests_per_query=sg,
                       sequential_subgraph_requests_per_query=7.0, cpu_s=30.0, checked=40)


def test_table_gives_ratios_to_ours_in_the_same_pass() -> None:
    rows = [
        fake("single", "ours", 400.0, ours=True),
        fake("single", "hive-gateway router-runtime", 200.0, sg=0.5),
        Measurement("single", "apollo-gateway", "skipped", reason="npm install failed"),
        fake("dedup", "ours +dedup", 1000.0, ours=True, sg=0.1),
        fake("dedup", "hive-gateway +dedup", 3000.0, sg=0.1),
        fake("workers", "ours workers=2", 600.0, ours=True),
    ]
    cells = [dict(zip(HEADERS, row, strict=True)) for row in table_rows(rows)]
    ours, hive, apollo, ours_dedup, hive_dedup, workers = cells
    rps_ratio = HEADERS.index("RPS") + 1
    assert (ours["RPS"], table_rows(rows)[0][rps_ratio]) == ("400", "1.00")
    assert table_rows(rows)[1][rps_ratio] == "0.50"  # half as fast as ours
    assert table_rows(rows)[1][HEADERS.index("p50 ms") + 1] == "2.00"  # twice our median latency
    assert table_rows(rows)[1][HEADERS.index("sg req/q") + 1] == "0.07"  # 0.5 vs 7
    assert hive["sg req/q seq"] == "7.00"
    assert apollo["status"] == "skipped: npm install failed" and apollo["RPS"] == "-"
    assert table_rows(rows)[4][rps_ratio] == "3.00"  # compared with ours +dedup, not with ours single
    assert ours_dedup["RPS"] == "1000"
    assert table_rows(rows)[5][rps_ratio] == "1.50"  # the workers pass is compared with ours single
    assert workers["checks (bad/all)"] == "0/40" and hive_dedup["status"] == "ok"

    table = render_table(rows)
    lines = table.splitlines()
    assert len(lines) == 2 + len(rows)
    assert lines[0].startswith("pass") and "x ours" in lines[0]
    assert "hive-gateway router-runtime" in lines[3] and "skipped: npm install failed" in lines[4]


def test_table_without_ours_prints_dashes_for_ratios() -> None:
    assert table_rows([fake("single", "hive-gateway", 134.0)])[0][2:4] == ["134", "-"]


def test_dedup_note_tells_whether_our_dedup_acted() -> None:
    rows = [fake("single", "ours", 400.0, ours=True, sg=7.0), fake("dedup", "ours +dedup", 410.0, ours=True)]
    assert "no sign" in (dedup_note(rows) or "")
    rows[1].subgraph_requests_per_query = 0.2
    assert "active" in (dedup_note(rows) or "")


def test_wrk_script_and_output() -> None:
    script = load.wrk_script(b'{"query": "{ a ]] b }"}')
    assert 'wrk.method = "POST"' in script and "[=[" in script  # long bracket level avoids the body's ]]
    result = load.parse_wrk_output(
        "Running 5s test\nWRK_JSON {\"requests\":1000,\"duration_us\":5000000,\"p50_us\":12345,"
        "\"p99_us\":56789,\"non2xx\":0,\"socket_errors\":2}\n")
    assert (result.rps, result.p50_ms, result.p99_ms, result.socket_errors) == (200.0, 12.345, 56.789, 2)


def test_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert load.percentile(values, 50) == 50.0 and load.percentile(values, 99) == 99.0


def test_response_matches_compares_parsed_json() -> None:
    expected = {"data": {"a": [1, 2]}}
    assert checker.response_matches(200, b'{ "data" : {"a":[1,2]} }', expected)
    assert not checker.response_matches(200, b'{"data":{"a":[2,1]}}', expected)
    assert not checker.response_matches(200, b'{"data":{"a":[1,2]},"errors":[]}', expected)
    assert not checker.response_matches(500, b'{"data":{"a":[1,2]}}', expected)
    assert not checker.response_matches(200, b"not json", expected)


def test_managed_process_stops_its_whole_group(tmp_path: Path) -> None:
    # the child forks a grandchild; stopping must end both
    code = ("import subprocess, sys, time;"
            " subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)")
    proc = processes.start("sleeper", [sys.executable, "-c", code], log_path=tmp_path / "sleeper.log")
    time.sleep(0.5)
    proc.stop(grace_s=2.0)
    assert not proc.alive()
    assert processes.live_group_members(proc.pid) == []


def test_profile_summary_ranks_self_and_inclusive_time() -> None:
    collapsed = "\n".join([
        "main (app.py:1);run (app.py:5);plan (planner.py:10) 30",
        "main (app.py:1);run (app.py:5);shape (shaping.py:20) 60",
        "main (app.py:1);run (app.py:6);shape (shaping.py:21);dumps (json.py:3) 10",
    ])
    summary = profiling.summarize(collapsed)
    self_part, inclusive_part = summary.split("inclusive time")
    assert summary.startswith("100 samples")
    assert self_part.index("shape (shaping.py)") < self_part.index("plan (planner.py)")  # 60% before 30%
    assert "60.0%  shape (shaping.py)" in self_part  # line numbers merged per function
    assert "70.0%  shape (shaping.py)" in inclusive_part and "main (app.py)" not in inclusive_part
    assert profiling.summarize("") == "no samples"


def test_runs_take_turns(tmp_path: Path) -> None:
    lock = tmp_path / "run.lock"
    messages: list[str] = []
    with runlock.exclusive_run(path=lock):
        started = time.monotonic()
        try:
            with runlock.exclusive_run(path=lock, wait_s=0.5, say=messages.append):
                raise AssertionError("a second run got the lock while the first held it")
        except runlock.LockTimeout:
            pass
        assert time.monotonic() - started >= 0.5 and "in progress" in messages[0]
    with runlock.exclusive_run(path=lock, wait_s=0.5):  # free again
        pass
