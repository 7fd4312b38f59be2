"""The core imports nothing of discord.py: a whole conversation runs in a fresh interpreter without it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio, contextlib, sys
    from pathlib import Path
    from server_bot.core import Finished, ContextDropped
    from tests.server_bot.core.conftest import ALICE, build
    from tests.server_bot.core.fakes import FakeRelay

    async def main(tmp: Path) -> None:
        harness, engine = await build(tmp, FakeRelay())
        session = await harness.core.sessions.open(ALICE)
        await harness.core.sessions.update_settings(ALICE, session.id, temperature=0.2)
        async with contextlib.aclosing(await harness.core.conversation.submit(ALICE, session.id, "hi")) as s:
            events = [event async for event in s]
        assert isinstance(events[-1], Finished), events
        await harness.core.sessions.close(session.id, reason="ended", by=ALICE)
        await engine.dispose()

    asyncio.run(main(Path(sys.argv[1])))
    loaded = sorted(name for name in sys.modules if name == "discord" or name.startswith("discord."))
    print("DISCORD_MODULES", loaded)
    """
)


def test_a_whole_conversation_runs_without_importing_discord(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "DISCORD_MODULES []" in result.stdout
