"""Processes as the kernel sees them (Linux /proc): which processes a daemon started, whether
one is still alive, how much CPU and memory they use. For tests of the worker pool and the
benches (bench/polling.py, bench/soak.py)."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

_TICKS = 100  # USER_HZ: /proc reports CPU time in clock ticks of 1/100 s on Linux


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields after "pid (comm)": state, ppid, ...


def alive(pid: int) -> bool:
    """Running or sleeping; a zombie (dead, not yet reaped) counts as gone."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (the forkserver, its workers, the resource tracker)."""
    found, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (0 once it is gone)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def parent(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if fields is not None else 0


@dataclass(frozen=True)
class Memory:
    """Resident memory of a group of processes, in bytes, four ways (they differ by how pages
    shared between the processes count; a forkserver's workers share most of theirs):

    - ``rss``: the sum of each process's resident set, every shared page once per process
      that maps it (what ``ps`` shows, added up: more than the machine gives the group);
    - ``pss``: the sum of proportional sets, a page shared by n processes counting 1/n in each
      (pages shared with processes outside the group count only their share);
    - ``private``: pages only one process maps (what stopping that process would free);
    - ``distinct``: the physical pages the group holds, each once (from /proc/PID/pagemap:
      root only, else None); this is the group's resident memory.
    """

    rss: int
    pss: int
    private: int
    distinct: int | None


def memory(pids: list[int]) -> Memory:
    """``Memory`` of the live processes among ``pids`` (Linux /proc)."""
    rss = pss = private = 0
    frames: set[int] | None = set()
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        fields = {
            line.split(":")[0]: int(line.split()[1]) * 1024
            for line in rollup.splitlines()[1:]
            if line.endswith("kB")
        }
        rss += fields.get("Rss", 0)
        pss += fields.get("Pss", 0)
        private += fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
        if frames is not None:
            frames = _frames(pid, frames)
    distinct = None if not frames else len(frames) * _PAGE
    return Memory(rss, pss, private, distinct)


_PAGE = os.sysconf("SC_PAGE_SIZE")
_PRESENT, _FRAME = 1 << 63, (1 << 55) - 1


def _frames(pid: int, into: set[int]) -> set[int] | None:
    """Add the physical frame numbers of ``pid``'s resident pages to ``into``; None when the
    kernel hides them (not root: every frame reads as 0)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
        with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
            for line in maps:
                if line.endswith("[vsyscall]"):
                    continue
                start, end = (int(x, 16) for x in line.split()[0].split("-"))
                pagemap.seek(start // _PAGE * 8)
                data = pagemap.read((end - start) // _PAGE * 8)
                for (entry,) in struct.iter_unpack("Q", data):
                    if entry & _PRESENT:
                        frame = entry & _FRAME
                        if frame == 0:
                            return None
                        into.add(frame)
    except OSError:
        return into  # the process ended meanwhile
    return into
