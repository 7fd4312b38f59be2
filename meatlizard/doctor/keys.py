"""The two encryption keys: present, well-formed (64 hex), and not the same key used twice."""

from __future__ import annotations

from meatlizard.doctor.result import Check, fail, ok
from shared.config import ConfigError, RelaySettings, StorageSettings, load

_KEYGEN = "generate one with `meatlizard keygen`"


def check_keys(*, server: bool) -> list[Check]:
    checks: list[Check] = []
    relay_key = _load_key(RelaySettings, "PAYLOAD_ENCRYPTION_KEY", checks, "the SAME value on both hosts")
    if not server:
        return checks
    storage_key = _load_key(StorageSettings, "STORAGE_ENCRYPTION_KEY", checks, "this host only")
    if relay_key and storage_key:
        if relay_key == storage_key:
            checks.append(
                fail(
                    "keys distinct",
                    "STORAGE_ENCRYPTION_KEY equals PAYLOAD_ENCRYPTION_KEY",
                    f"give STORAGE_ENCRYPTION_KEY its own key ({_KEYGEN}); one leaked key must not open both",
                )
            )
        else:
            checks.append(ok("keys distinct", "relay and storage keys differ"))
    return checks


def _load_key(
    cls: type[RelaySettings] | type[StorageSettings], variable: str, out: list[Check], where: str
) -> str:
    try:
        settings = load(cls)
    except ConfigError as exc:
        problems = [line.strip() for line in str(exc).splitlines()[1:] if variable.lower() in line.lower()]
        detail = "; ".join(problems) or str(exc).splitlines()[-1].strip()
        out.append(fail(variable, detail, f"{_KEYGEN} and set {variable} ({where})"))
        return ""
    secret = (
        settings.payload_encryption_key
        if isinstance(settings, RelaySettings)
        else settings.storage_encryption_key
    )
    out.append(ok(variable, f"set, 64 hex characters ({where})"))
    return secret.get_secret_value().lower()
