"""Personal access tokens: a user creates one (shown once), the MCP server checks it on every request.

A token is `mlz_` + 43 URL-safe characters (256 random bits). Only its SHA-256 is stored: with that much
entropy a plain hash cannot be brute-forced, and lookup by hash needs no per-token salt. The found row's
hash is still compared with `hmac.compare_digest`, so no comparison in Python leaks timing.

TokenError              a token operation failed; the message is for the person using the CLI or page
├── InvalidScopes       a scope outside `SCOPES`, or none
└── TokenNotFound       no such token of that user (revoke)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal, cast

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server_bot.db.engine import create_engine, create_sessionmaker
from server_bot.db.models import AccessToken

Scope = Literal["chat", "transcripts", "admin"]
SCOPES: Final[tuple[Scope, ...]] = ("chat", "transcripts", "admin")
PREFIX: Final = "mlz_"
_NAME_MAX = 64


class TokenError(Exception):
    """A token operation failed; `str(exc)` says why (never quoting a token)."""


class InvalidScopes(TokenError):
    pass


class TokenNotFound(TokenError):
    pass


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What is known of a token; never the token itself."""

    id: int
    user_id: int
    name: str
    scopes: frozenset[Scope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly created token: `secret` is shown to its owner once and never stored."""

    secret: str
    info: TokenInfo


def parse_scopes(value: str | Iterable[str]) -> frozenset[Scope]:
    """`"chat,transcripts"` (or a list) as a scope set; `InvalidScopes` names what is allowed."""
    items = value.split(",") if isinstance(value, str) else list(value)
    wanted = {item.strip().lower() for item in items if item.strip()}
    unknown = wanted - set(SCOPES)
    if unknown or not wanted:
        raise InvalidScopes(f"scopes must be a non-empty comma-separated subset of {','.join(SCOPES)}")
    return frozenset(cast(Scope, scope) for scope in wanted)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    """Shape check before any database work: refuses junk and over-long headers cheaply."""
    return value.startswith(PREFIX) and 20 <= len(value) <= 100 and value.isascii()


class TokenStore:
    """Create, check, list and revoke tokens in the `access_tokens` table."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine | None = None
    ) -> None:
        self._sessionmaker = sessionmaker
        self._engine = engine  # owned (disposed by aclose) when the store opened it itself

    @classmethod
    def open(cls, database_url: str) -> TokenStore:
        engine = create_engine(database_url)
        return cls(create_sessionmaker(engine), engine)

    async def aclose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()

    async def create(self, user_id: int, scopes: Iterable[str] | str, name: str = "mcp") -> NewToken:
        chosen = parse_scopes(scopes)
        name = name.strip()
        if not name or len(name) > _NAME_MAX or not name.isprintable():
            raise TokenError(f"the token name must be 1 to {_NAME_MAX} printable characters")
        if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
            raise TokenError("the user id must be a positive Discord user id")
        secret = PREFIX + secrets.token_urlsafe(32)
        row = AccessToken(
            user_id=user_id,
            name=name,
            token_hash=hash_token(secret),
            scopes=",".join(sorted(chosen)),
            created_at=datetime.now(UTC),
        )
        async with self._sessionmaker() as db, db.begin():
            db.add(row)
        return NewToken(secret, _info(row))

    async def verify(self, secret: str) -> TokenInfo | None:
        """The active token `secret` names, or None (unknown, malformed or revoked). Marks it used."""
        if not looks_like_token(secret):
            return None
        digest = hash_token(secret)
        async with self._sessionmaker() as db, db.begin():
            row = await db.scalar(select(AccessToken).where(AccessToken.token_hash == digest))
            if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at is not None:
                return None
            row.last_used_at = datetime.now(UTC)
            return _info(row)

    async def revoke(self, user_id: int, token_id: int) -> TokenInfo:
        """Revoke one of `user_id`'s tokens (idempotent); `TokenNotFound` if it is not theirs."""
        async with self._sessionmaker() as db, db.begin():
            row = await db.get(AccessToken, token_id)
            if row is None or row.user_id != user_id:
                raise TokenNotFound(f"user {user_id} has no token with id {token_id}")
            if row.revoked_at is None:
                await db.execute(
                    update(AccessToken).where(AccessToken.id == token_id).values(revoked_at=datetime.now(UTC))
                )
                await db.refresh(row)
            return _info(row)

    async def list_for(self, user_id: int) -> list[TokenInfo]:
        async with self._sessionmaker() as db:
            rows = await db.scalars(
                select(AccessToken).where(AccessToken.user_id == user_id).order_by(AccessToken.id)
            )
            return [_info(row) for row in rows]


def _info(row: AccessToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        scopes=parse_scopes(row.scopes),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
