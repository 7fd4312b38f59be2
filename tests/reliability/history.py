"""The history checker: did every prompt get exactly one answer, in order, in the right channel?

Input is what people saw, as devcord stores it: each session channel's messages (deleted ones too) with
every edit in `history`, plus the audit log. Nothing of the product is imported, so the checker keeps
working whatever the bots look like inside.

How bot messages are read (only their public shape: buttons and wording):

* **final** reply: carries the Regenerate button (``ml:regen:``) now, or did in its last version with
  buttons (the button is taken away when the next prompt is accepted: only the latest reply can be
  regenerated). A reply replaced through Regenerate would count too; the people here never press it;
* **page**: carried a Stop/Regenerate button in an earlier version and none now (an earlier page of a
  long reply, or a reply retired when it failed - the notice that follows says so);
* **partial**: still shows a live Stop button (``ml:stop:``) - a reply nobody will ever finish;
* **interim** notice: "the AI host is offline, your prompt is kept" - an answer is still owed;
* **info** notice: a remark on a reply already given (information sign), owed nothing, answering nothing;
* **terminal** notice: anything else the bot says after a prompt (rate limit, expired, refused, failed).

Which prompt a bot message belongs to: a Discord reply reference names it; else a marker (``[[who#n]]``,
which the harness puts in every prompt and the echoing fake engine repeats) names it; else (the real
model) the oldest prompt still waiting, first in first out.

Verdict per prompt: *answered* (one final reply), *notice* (no reply, one terminal notice), *lost*
(neither), *duplicated* (more than one final reply or terminal notice). Out of order: a final reply whose
prompt is older than that of a final reply shown before it. Wrong channel: a marker of a prompt posted
elsewhere, in any version of any bot message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Json = dict[str, Any]
Kind = Literal["final", "page", "partial", "interim", "info", "terminal"]

MARKER = re.compile(r"\[\[([A-Za-z0-9_.-]+#\d+)\]\]")
_REGEN = "ml:regen:"
_STOP = "ml:stop:"
_INTERIM = re.compile(r"offline.*(kept|will be answered)", re.IGNORECASE | re.DOTALL)
_INFO_PREFIX = "ℹ"
# "You are N in the queue": shown where the reply will appear while the AI host has the prompt waiting.
# It carries the Stop button like a reply being written, but it is not reply text.
QUEUE_PLACEHOLDER = re.compile(r"^\W*You are \d+ in the queue")
# Suffixes the bot adds to a reply; the transcript stores the text without them.
_SUFFIXES = ("\n\n*(stopped)*", "\n\n*(cut off at the reply length limit)*")


def marker(who: str, turn: int) -> str:
    """The tag the harness puts in a prompt so every answer can be traced back to it."""
    return f"[[{who}#{turn}]]"


def _custom_ids(version: Json) -> list[str]:
    return [
        str(component.get("custom_id", ""))
        for row in version.get("components") or []
        for component in row.get("components") or []
    ]


def _has(version: Json, prefix: str) -> bool:
    return any(cid.startswith(prefix) for cid in _custom_ids(version))


def _versions(message: Json) -> list[Json]:
    return [*(message.get("history") or []), message]


def classify(message: Json) -> Kind:
    """What a bot message is, from its buttons now and before, and its wording."""
    if _has(message, _REGEN):
        return "final"
    if _has(message, _STOP):
        return "partial"
    buttoned = [v for v in message.get("history") or [] if _has(v, _STOP) or _has(v, _REGEN)]
    if buttoned:
        return "final" if _has(buttoned[-1], _REGEN) else "page"
    content = str(message.get("content") or "")
    if _INTERIM.search(content):
        return "interim"
    if content.lstrip().startswith(_INFO_PREFIX):
        return "info"
    return "terminal"


@dataclass
class PromptOutcome:
    channel_id: int
    message_id: int
    content: str
    marker: str | None
    finals: list[int] = field(default_factory=list)
    terminals: list[int] = field(default_factory=list)
    interims: list[int] = field(default_factory=list)
    partials: list[int] = field(default_factory=list)

    @property
    def verdict(self) -> Literal["answered", "notice", "lost", "duplicated"]:
        outcomes = len(self.finals) + len(self.terminals)
        if outcomes > 1:
            return "duplicated"
        if self.finals:
            return "answered"
        if self.terminals:
            return "notice"
        return "lost"


@dataclass
class Report:
    prompts: list[PromptOutcome] = field(default_factory=list)
    out_of_order: int = 0
    wrong_channel: int = 0
    problems: list[str] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        return sum(1 for p in self.prompts if p.verdict == verdict)

    @property
    def accepted(self) -> int:
        return len(self.prompts)

    @property
    def answered(self) -> int:
        return self.count("answered")

    @property
    def notices(self) -> int:
        return self.count("notice")

    @property
    def lost(self) -> int:
        return self.count("lost")

    @property
    def duplicated(self) -> int:
        return self.count("duplicated")

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.out_of_order or self.wrong_channel)

    def summary(self) -> str:
        return (
            f"accepted={self.accepted} answered={self.answered} notices={self.notices} lost={self.lost} "
            f"duplicated={self.duplicated} out_of_order={self.out_of_order} "
            f"wrong_channel={self.wrong_channel}"
        )


def check_history(
    channels: Mapping[int, Sequence[Json]],
    bot_ids: Iterable[int],
    audit: Sequence[Json] = (),
) -> Report:
    """Check every session channel (id -> stored messages incl. deleted ones, any order)."""
    bots = {int(b) for b in bot_ids}
    report = Report()
    ordered = {cid: sorted(msgs, key=lambda m: int(m["id"])) for cid, msgs in channels.items()}
    home: dict[str, int] = {}
    per_channel: dict[int, list[PromptOutcome]] = {}
    for cid, msgs in ordered.items():
        prompts = []
        for m in msgs:
            if _is_bot(m, bots) or not str(m.get("content") or "").strip():
                continue
            found = MARKER.search(str(m["content"]))
            outcome = PromptOutcome(cid, int(m["id"]), str(m["content"]), found.group(1) if found else None)
            if outcome.marker is not None:
                home[outcome.marker] = cid
            prompts.append(outcome)
        per_channel[cid] = prompts
        report.prompts.extend(prompts)
    for cid, msgs in ordered.items():
        _check_channel(cid, msgs, per_channel[cid], bots, home, report)
    _check_audit(audit, ordered, bots, report)
    return report


def _is_bot(message: Json, bots: set[int]) -> bool:
    author = message.get("author") or {}
    return bool(author.get("bot")) or int(author.get("id", 0)) in bots


def _check_channel(
    cid: int,
    msgs: Sequence[Json],
    prompts: list[PromptOutcome],
    bots: set[int],
    home: Mapping[str, int],
    report: Report,
) -> None:
    if not prompts:
        return
    by_id = {p.message_id: p for p in prompts}
    by_marker = {p.marker: p for p in prompts if p.marker is not None}
    shown: list[tuple[int, int]] = []  # (bot message id, index of its prompt) for final replies
    for m in msgs:
        mid = int(m["id"])
        if not _is_bot(m, bots) or mid < prompts[0].message_id:
            continue
        markers = {found for v in _versions(m) for found in MARKER.findall(str(v.get("content") or ""))}
        foreign = {mk for mk in markers if home.get(mk, cid) != cid}
        if foreign:
            report.wrong_channel += 1
            report.problems.append(f"channel {cid}: message {mid} showed text of {sorted(foreign)}")
        own = sorted(mk for mk in markers if mk in by_marker)
        if len(own) > 1:
            report.problems.append(f"channel {cid}: message {mid} showed text of several prompts {own}")
        kind = classify(m)
        if kind in ("page", "info"):
            continue
        target = _owner_of(m, mid, kind, own, by_id, by_marker, prompts)
        if target is None:
            continue
        {"final": target.finals, "terminal": target.terminals, "interim": target.interims}.get(
            kind, target.partials
        ).append(mid)
        if kind == "final":
            shown.append((mid, prompts.index(target)))
    latest = -1
    for mid, index in sorted(shown):
        if index < latest:
            report.out_of_order += 1
            report.problems.append(f"channel {cid}: reply {mid} (prompt #{index}) after a later one's")
        latest = max(latest, index)
    for p in prompts:
        if p.verdict in ("lost", "duplicated"):
            detail = f"finals={p.finals} notices={p.terminals} partial={p.partials} interim={p.interims}"
            what = f"prompt {p.message_id} {p.marker or ''} {p.verdict}"
            report.problems.append(f"channel {cid}: {what}: {detail}")


def _owner_of(
    m: Json,
    mid: int,
    kind: Kind,
    own_markers: list[str],
    by_id: Mapping[int, PromptOutcome],
    by_marker: Mapping[str, PromptOutcome],
    prompts: Sequence[PromptOutcome],
) -> PromptOutcome | None:
    reference = m.get("message_reference") or {}
    if reference.get("message_id") is not None and int(reference["message_id"]) in by_id:
        return by_id[int(reference["message_id"])]
    if own_markers:
        return by_marker[own_markers[0]]
    # First in, first out: the oldest prompt, posted before this message, still owed this kind of answer;
    # when none is owed anything, a second answer to the latest prompt before it (a duplicate).
    latest = None
    for p in prompts:
        if p.message_id > mid:
            break
        if kind == "interim" and not p.finals and not p.terminals and not p.interims:
            return p
        if kind != "interim" and not p.finals and not p.terminals:
            return p
        latest = p
    return latest if kind in ("final", "terminal") else None


def _check_audit(
    audit: Sequence[Json], channels: Mapping[int, Sequence[Json]], bots: set[int], report: Report
) -> None:
    """Every prompt the audit log says was refused must have been told so in its channel."""
    refused: dict[int, int] = {}
    for record in audit:
        if record.get("event") == "prompt" and record.get("success") is False and record.get("channel_id"):
            refused[int(record["channel_id"])] = refused.get(int(record["channel_id"]), 0) + 1
    for cid, count in refused.items():
        if cid not in channels:
            continue
        told = sum(
            1
            for m in channels[cid]
            if _is_bot(m, bots) and (m.get("message_reference") or {}).get("message_id") is not None
        )
        if told < count:
            report.problems.append(f"channel {cid}: audit log has {count} refused prompts, {told} were told")


def check_transcript(messages: Sequence[Json], turns: Sequence[Json], bot_ids: Iterable[int]) -> list[str]:
    """Problems where a saved transcript (its ``turns``: role, text) differs from what the channel showed:
    the assistant turns must be the final replies, in order; every user turn must be a prompt shown."""
    bots = {int(b) for b in bot_ids}
    ordered = sorted(messages, key=lambda m: int(m["id"]))
    finals = [m for m in ordered if _is_bot(m, bots) and classify(m) == "final"]
    shown_replies = [_strip_suffix(str(m["content"])) for m in finals]
    shown_prompts = {str(m["content"]) for m in ordered if not _is_bot(m, bots)}
    replies = [str(t["text"]) for t in turns if t.get("role") == "assistant"]
    problems = []
    if replies != shown_replies:
        problems.append(f"transcript replies {replies!r} != shown {shown_replies!r}")
    for t in turns:
        if t.get("role") == "user" and str(t["text"]) not in shown_prompts:
            problems.append(f"transcript prompt {str(t['text'])[:60]!r} was never posted")
    return problems


def _strip_suffix(text: str) -> str:
    for suffix in _SUFFIXES:
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text
