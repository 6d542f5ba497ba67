"""``--profile``: sample our gateway with py-spy during the measured run and say where the time goes.

py-spy writes collapsed stacks (``frame;frame;... count``); the summary ranks functions by self time
(the frame on top of the stack) and by inclusive time (anywhere on the stack).
"""

from __future__ import annotations

import math
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

from bench.federation import processes

_LINE_NO = re.compile(r":\d+\)$")


def py_spy_path() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def start(pid: int, duration_s: float, output: Path) -> processes.ManagedProcess | None:
    """py-spy attached to ``pid`` and its worker processes for ``duration_s``; None without py-spy."""
    py_spy = py_spy_path()
    if py_spy is None:
        return None
    argv = [py_spy, "record", "--pid", str(pid), "--duration", str(math.ceil(duration_s)), "--format", "raw",
            "--output", str(output), "--subprocesses", "--nonblocking", "--rate", "200"]
    return processes.start("py-spy", argv, log_path=output.with_suffix(".log"))


def _frame_key(frame: str) -> str:
    return _LINE_NO.sub(")", frame.strip())


def summarize(collapsed: str, top: int = 12) -> str:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_key(f) for f in stack.split(";") if f.strip()]
        # py-spy puts process/thread names first when profiling several; keep real frames only
        frames = [f for f in frames if f.endswith(")")]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples", "self time (top of stack):"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in self_time.most_common(top)]
    lines.append("inclusive time (on the stack), below the entry frames every stack shares:")
    root = max(inclusive.values())
    shown = [(f, n) for f, n in inclusive.most_common() if n < 0.95 * root][:top]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in shown]
    return "\n".join(lines)
