"""What every benchmark shares: percentiles, a description of the machine that ran
it, and rewriting its own `## ` section of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cpus: int
    cpu_model: str
    python: str
    system: str
    database_dir: str
    filesystem: str
    load_1min: float  # other work on the machine shows up in the p99


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q from 0 to 100) of `values`: a value that occurred."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil without floats
    return ordered[int(rank) - 1]


def utc_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")


def machine(folder: Path) -> Machine:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return Machine(
        cpus=os.cpu_count() or 0,
        cpu_model=model or platform.processor() or "unknown",
        python=platform.python_version(),
        system=f"{platform.system()} {platform.release()}",
        database_dir=str(folder),
        filesystem=_filesystem(folder),
        load_1min=os.getloadavg()[0],
    )


def machine_line(m: Machine) -> str:
    """The "Machine:" bullet of a section, wrapped as the file is."""
    return (
        f"{m.cpus} CPUs (`nproc`), {m.cpu_model}, Python {m.python}, {m.system};\n"
        f"  databases on {m.filesystem}; load average {m.load_1min:.2f} (1 min) at the start"
    )


def _filesystem(path: Path) -> str:
    """The type of the filesystem holding `path` (a tmpfs would make commits free)."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return kind
    real = os.path.realpath(path)
    for line in mounts:
        fields = line.split()
        inside = (real + "/").startswith(fields[1].rstrip("/") + "/")
        if len(fields) >= 3 and inside and len(fields[1]) > len(best):
            best, kind = fields[1], fields[2]
    return kind


def update_section(path: Path, section: str) -> None:
    """Replace the section of `path` whose heading is `section`'s first line (up to
    the next `## ` heading), or append it; the rest of the file is kept as it is."""
    heading = section.splitlines()[0].rstrip()
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        joined = text.rstrip("\n") + "\n\n" if text.strip() else ""
        path.write_text(joined + section, encoding="utf-8")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    after = "".join(lines[end:])
    path.write_text(
        "".join(lines[:start]) + section + ("\n" + after if after else ""), encoding="utf-8"
    )
