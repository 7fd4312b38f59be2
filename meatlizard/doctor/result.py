"""One line of the doctor's report: what was checked, how it went, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    # Worth knowing, not a fault (e.g. no GPU offload): does not change the exit code.
    NOTE = "note"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL


def ok(name: str, detail: str) -> Check:
    return Check(name, Status.OK, detail)


def note(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, Status.NOTE, detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, Status.FAIL, detail, fix)


_MARKS = {Status.OK: ("✔", "\033[32m"), Status.NOTE: ("•", "\033[33m"), Status.FAIL: ("✘", "\033[31m")}


def render(check: Check, *, colour: bool) -> str:
    mark, code = _MARKS[check.status]
    head = f"{code}{mark}\033[0m" if colour else mark
    line = f"{head} {check.name}: {check.detail}"
    if check.fix:
        line += f"\n    fix: {check.fix}"
    return line
