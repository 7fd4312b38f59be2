"""Content moderation: configurable word-list and regex rules, each with an action.

Rules come from a YAML file (format documented in ``config/moderation.example.yaml``). A rule is a word
list or a regular expression, applies to prompts, replies or both, and has one action:

* ``reject``  - block the text;
* ``log``     - let it through, record the violation;
* ``alert``   - let it through, tell the admins in the admin channel;
* ``suspend`` - block the text and suspend the user for the rule's ``suspend_for``.

Any rule may also say ``alert: true`` to alert the admins in addition to its action.

Matching runs on a *folded* copy of the text: NFKC-normalised, case-folded, with invisible characters
(zero-width spaces/joiners, bidi controls, soft hyphens) and combining marks dropped. So full-width,
mathematical-bold, upper-case and zero-width-split spellings of a word are all the same word. Word lists
match whole words (Unicode word boundaries); regexes are applied to the folded text as well, so write
them in lower case.

`Moderator.check` is pure: it returns a `Verdict` and stores nothing. The caller records violations and
suspensions with the DB layer and posts alerts. A `Match` carries only the matched span of the original
text, cut to a bounded length - never the whole message, which must not end up in logs or alerts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml

from shared.log import get_logger

log = get_logger(__name__)

Direction = Literal["prompt", "reply"]
DIRECTIONS: tuple[Direction, ...] = ("prompt", "reply")
DEFAULT_EXCERPT_CHARS = 40
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RULE_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_RULE_KEYS = frozenset({"name", "words", "pattern", "action", "alert", "applies_to", "suspend_for"})


class ModerationError(Exception):
    """Base of the moderation errors."""


class ModerationConfigError(ModerationError):
    """The rules file is unreadable or invalid; the message names the rule and the field."""


class Action(StrEnum):
    REJECT = "reject"
    LOG = "log"
    ALERT = "alert"
    SUSPEND = "suspend"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    action: Action
    regex: re.Pattern[str]
    applies_to: frozenset[str]
    alert: bool = False
    suspend_for: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Match:
    rule: str
    action: Action
    excerpt: str


@dataclass(frozen=True, slots=True)
class Verdict:
    matches: list[Match] = field(default_factory=list)
    blocked: bool = False
    suspend_for: timedelta | None = None
    alert: bool = False

    @property
    def clean(self) -> bool:
        return not self.matches


class Moderator:
    """Checks text against the configured rules. Build once at start-up; `check` is cheap and pure."""

    def __init__(self, rules: Sequence[Rule], *, excerpt_chars: int = DEFAULT_EXCERPT_CHARS) -> None:
        if excerpt_chars < 1:
            raise ModerationConfigError("excerpt_chars must be at least 1")
        self.rules = tuple(rules)
        self.excerpt_chars = excerpt_chars

    @classmethod
    def from_file(cls, path: Path) -> Moderator:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ModerationConfigError(f"cannot read moderation config {path}: {exc.strerror}") from None
        return cls.from_yaml(text, source=str(path))

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<string>") -> Moderator:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ModerationConfigError(f"{source}: not valid YAML: {exc}") from None
        return cls.from_mapping(data if data is not None else {}, source=source)

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "<config>") -> Moderator:
        if not isinstance(data, Mapping):
            raise ModerationConfigError(f"{source}: the top level must be a mapping with a 'rules' list")
        unknown = set(data) - {"version", "excerpt_chars", "rules"}
        if unknown:
            raise ModerationConfigError(f"{source}: unknown top-level key(s) {sorted(map(str, unknown))}")
        if data.get("version", 1) != 1:
            raise ModerationConfigError(f"{source}: version must be 1")
        excerpt_chars = data.get("excerpt_chars", DEFAULT_EXCERPT_CHARS)
        if isinstance(excerpt_chars, bool) or not isinstance(excerpt_chars, int) or excerpt_chars < 1:
            raise ModerationConfigError(f"{source}: excerpt_chars must be a positive integer")
        raw_rules = data.get("rules", [])
        if not isinstance(raw_rules, list):
            raise ModerationConfigError(f"{source}: 'rules' must be a list")
        rules = [_parse_rule(raw, index, source) for index, raw in enumerate(raw_rules)]
        names = [rule.name for rule in rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ModerationConfigError(f"{source}: duplicate rule name(s) {duplicates}")
        return cls(rules, excerpt_chars=excerpt_chars)

    def check(self, text: str, direction: Direction = "prompt") -> Verdict:
        """Match `text` against every rule for `direction`; at most one `Match` per rule (the first)."""
        if direction not in DIRECTIONS:
            raise ModerationError(f"direction must be one of {DIRECTIONS}")
        folded, origin = fold(text)
        matches: list[Match] = []
        suspend_for: timedelta | None = None
        blocked = alert = False
        for rule in self.rules:
            if direction not in rule.applies_to:
                continue
            found = rule.regex.search(folded)
            if found is None:
                continue
            matches.append(Match(rule.name, rule.action, self._excerpt(text, origin, found)))
            blocked |= rule.action in (Action.REJECT, Action.SUSPEND)
            alert |= rule.alert or rule.action is Action.ALERT
            if rule.suspend_for is not None:
                suspend_for = max(suspend_for or rule.suspend_for, rule.suspend_for)
        return Verdict(matches, blocked=blocked, suspend_for=suspend_for, alert=alert)

    def _excerpt(self, text: str, origin: list[int], found: re.Match[str]) -> str:
        if found.end() == found.start():
            return ""
        start = origin[found.start()]
        end = origin[found.end() - 1] + 1
        span = text[start:end]
        if len(span) > self.excerpt_chars:
            return span[: self.excerpt_chars - 1] + "…"
        return span


def fold(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each folded character, the index of the original character it came from."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if unicodedata.category(char) in {"Cf", "Mn", "Me"}:
            continue
        for piece in unicodedata.normalize("NFKC", char).casefold():
            # NFKC can itself produce combining marks (e.g. from compatibility characters).
            if unicodedata.category(piece) in {"Mn", "Me"}:
                continue
            folded.append(piece)
            origin.append(index)
    return "".join(folded), origin


def fold_text(text: str) -> str:
    return fold(text)[0]


def parse_duration(value: Any) -> timedelta:
    """``90`` (seconds), ``"30m"``, ``"1h 30m"``, ``"7d"``, ``"2w"`` -> a positive timedelta."""
    problem = "must be a duration like '30m', '12h', '7d' or a number of seconds"
    if isinstance(value, bool):
        raise ValueError(problem)
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        compact = re.sub(r"\s+", "", value.lower())
        parts = _DURATION.findall(compact)
        if not parts or "".join(number + unit for number, unit in parts) != compact:
            raise ValueError(problem)
        seconds = float(sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts))
    else:
        raise ValueError(problem)
    if seconds <= 0:
        raise ValueError("must be positive")
    return timedelta(seconds=seconds)


def _parse_rule(raw: Any, index: int, source: str) -> Rule:
    where = f"{source}: rules[{index}]"
    if not isinstance(raw, Mapping):
        raise ModerationConfigError(f"{where}: each rule must be a mapping")
    name = raw.get("name")
    if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
        raise ModerationConfigError(f"{where}.name: required, 1-64 characters of [A-Za-z0-9_.:-]")
    where = f"{source}: rule {name!r}"

    def fail(field_name: str, problem: str) -> ModerationConfigError:
        return ModerationConfigError(f"{where}.{field_name}: {problem}")

    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise fail(sorted(map(str, unknown))[0], f"unknown field (known: {sorted(_RULE_KEYS)})")
    try:
        action = Action(str(raw.get("action")))
    except ValueError:
        raise fail("action", f"must be one of {[a.value for a in Action]}") from None
    regex = _rule_regex(raw, fail)
    applies_to = _applies_to(raw.get("applies_to", list(DIRECTIONS)), fail)
    alert = raw.get("alert", False)
    if not isinstance(alert, bool):
        raise fail("alert", "must be true or false")
    suspend_for = None
    if action is Action.SUSPEND:
        if "suspend_for" not in raw:
            raise fail("suspend_for", "required when action is 'suspend'")
        try:
            suspend_for = parse_duration(raw["suspend_for"])
        except ValueError as exc:
            raise fail("suspend_for", str(exc)) from None
    elif "suspend_for" in raw:
        raise fail("suspend_for", "only allowed when action is 'suspend'")
    return Rule(name, action, regex, applies_to, alert, suspend_for)


def _rule_regex(raw: Mapping[str, Any], fail: Any) -> re.Pattern[str]:
    has_words, has_pattern = "words" in raw, "pattern" in raw
    if has_words == has_pattern:
        raise fail("words", "give exactly one of 'words' (a list) or 'pattern' (a regex)")
    if has_words:
        words = raw["words"]
        if not isinstance(words, list) or not words:
            raise fail("words", "must be a non-empty list of strings")
        for position, word in enumerate(words):
            if not isinstance(word, str) or not fold_text(word).strip():
                raise fail(f"words[{position}]", "must be a non-empty string")
        return word_regex(words)
    pattern = raw["pattern"]
    if not isinstance(pattern, str) or not pattern:
        raise fail("pattern", "must be a non-empty string")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise fail("pattern", f"invalid regular expression: {exc}") from None
    if compiled.search(""):
        raise fail("pattern", "matches the empty string, so it would match every message")
    return compiled


def word_regex(words: Sequence[str]) -> re.Pattern[str]:
    """One regex matching any of `words` as whole words in folded text; inner spaces match any whitespace."""
    folded = sorted({" ".join(fold_text(word).split()) for word in words}, key=len, reverse=True)
    alternatives = "|".join(r"\s+".join(map(re.escape, word.split(" "))) for word in folded)
    # Lookarounds instead of \b so words that start or end with punctuation still work.
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _applies_to(value: Any, fail: Any) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or any(item not in DIRECTIONS for item in value):
        raise fail("applies_to", f"must be a non-empty list drawn from {list(DIRECTIONS)}")
    return frozenset(value)
