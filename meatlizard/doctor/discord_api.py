"""The few Discord REST calls the doctor and `meatlizard setup` make, with a bot token.

Plain HTTP to DISCORD_API_BASE, so the same code checks real Discord and devcord. No discord.py: the
doctor must be able to say "this token is wrong" without a gateway connection.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import aiohttp

_TIMEOUT = aiohttp.ClientTimeout(total=15)


class DiscordApiError(Exception):
    """Discord answered with an error status (or could not be reached: status 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}" if status else message)
        self.status = status
        self.message = message


class DiscordApi:
    def __init__(self, api_base: str, token: str) -> None:
        self._base = api_base.rstrip("/")
        self._headers = {"Authorization": f"Bot {token}", "User-Agent": "DiscordBot (meatlizard doctor, 1)"}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> DiscordApi:
        self._session = aiohttp.ClientSession(timeout=_TIMEOUT, headers=self._headers)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def request(self, method: str, path: str, body: Any = None, reason: str | None = None) -> Any:
        assert self._session is not None, "use DiscordApi as an async context manager"
        headers = {"X-Audit-Log-Reason": reason} if reason else {}
        try:
            async with self._session.request(method, self._base + path, json=body, headers=headers) as resp:
                data = await resp.json(content_type=None) if resp.content_length != 0 else None
                if resp.status >= 400:
                    message = data.get("message", resp.reason) if isinstance(data, dict) else resp.reason
                    raise DiscordApiError(resp.status, str(message))
                return data
        except aiohttp.ClientError as exc:
            raise DiscordApiError(0, f"cannot reach {self._base} ({exc.__class__.__name__})") from None
        except TimeoutError:
            raise DiscordApiError(0, f"{self._base} did not answer in time") from None
