"""Web chat over HTTP: the same core sessions as Discord, regenerate, settings, end, transcripts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

from server_bot.core import Actor
from tests.web.conftest import Stack, sign_in


def _events(body: str) -> list[dict[str, object]]:
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]


async def test_a_session_opened_on_discord_is_listed_and_continued_on_the_web(stack: Stack) -> None:
    alice_id = stack.user_id("alice")
    discord_alice = Actor(alice_id, "discord", guild_id=stack.guild_id)
    session = await stack.core.sessions.open(discord_alice)
    async with contextlib.aclosing(
        await stack.core.conversation.submit(discord_alice, session.id, "from discord")
    ) as s:
        async for _ in s:
            pass
    http = await sign_in(stack, "alice")
    listed = (await http.get("/api/sessions")).json()
    assert [(s["id"], s["front_end"]) for s in listed] == [(str(session.id), "discord")]
    detail = (await http.get(f"/api/sessions/{session.id}")).json()
    assert [m["text"] for m in detail["messages"]] == ["from discord", "echo: from discord"]
    answer = await http.post(f"/api/sessions/{session.id}/messages", json={"text": "from the web"})
    events = _events(answer.text)
    assert events[0]["type"] == "accepted" and events[-1]["type"] == "done"
    assert events[-1]["text"] == "echo: from the web"
    # And back: the core (what the Discord cog reads) has the web turn in the same session.
    turns = await stack.core.sessions.history(discord_alice, session.id)
    assert [t.text for t in turns][-2:] == ["from the web", "echo: from the web"]
    await http.aclose()


async def test_regenerate_replaces_the_latest_reply(stack: Stack) -> None:
    http = await sign_in(stack, "alice")
    sid = (await http.post("/api/sessions", json={})).json()["id"]
    await http.post(f"/api/sessions/{sid}/messages", json={"text": "once"})
    again = _events((await http.post(f"/api/sessions/{sid}/regenerate", json={})).text)
    assert again[-1]["type"] == "done" and again[-1]["text"] == "echo: once"
    turns = (await http.get(f"/api/sessions/{sid}")).json()["messages"]
    assert [t["text"] for t in turns] == ["once", "echo: once"]
    await http.aclose()


async def test_bad_input_gets_a_clear_refusal(stack: Stack) -> None:
    http = await sign_in(stack, "alice")
    sid = (await http.post("/api/sessions", json={})).json()["id"]
    second = await http.post("/api/sessions", json={})
    assert second.status_code == 409 and second.json()["session_id"] == sid
    bad = await http.put(f"/api/sessions/{sid}/settings", json={"temperature": -1})
    assert bad.status_code == 400 and "emperature" in bad.json()["error"]
    empty = await http.post(f"/api/sessions/{sid}/messages", json={"text": " \u200b "})
    assert empty.status_code == 400 and "no visible text" in empty.json()["error"]
    ok = await http.put(
        f"/api/sessions/{sid}/settings",
        json={"temperature": 0.2, "max_tokens": 64, "system_prompt": "Be brief."},
    )
    assert ok.status_code == 200
    settings = (await http.get(f"/api/sessions/{sid}")).json()["settings"]
    assert settings == {"temperature": 0.2, "max_tokens": 64, "system_prompt": "Be brief."}
    stop = await http.post(f"/api/sessions/{sid}/stop", json={})
    assert stop.status_code == 409  # nothing being written
    await http.aclose()


async def test_ending_a_chat_keeps_its_transcript_downloadable_as_markdown_and_json(stack: Stack) -> None:
    http = await sign_in(stack, "alice")
    sid = (await http.post("/api/sessions", json={})).json()["id"]
    await http.post(f"/api/sessions/{sid}/messages", json={"text": "keep me"})
    assert (await http.post(f"/api/sessions/{sid}/end", json={})).json()["status"] == "ended"
    md = await http.get(f"/api/transcripts/{sid}.md")
    assert md.status_code == 200 and "keep me" in md.text
    assert md.headers["content-disposition"].startswith("attachment")
    document = (await http.get(f"/api/transcripts/{sid}.json")).json()
    assert document["session"]["id"] == sid
    refused = await http.post(f"/api/sessions/{sid}/messages", json={"text": "too late"})
    assert refused.status_code == 404
    await http.aclose()


async def test_a_stream_keeps_going_when_the_browser_goes_away(stack: Stack) -> None:
    stack.relay.padding = 10
    http = await sign_in(stack, "alice")
    sid = (await http.post("/api/sessions", json={})).json()["id"]
    async with http.stream("POST", f"/api/sessions/{sid}/messages", json={"text": "go"}) as answer:
        async for line in answer.aiter_lines():
            if "replace" in line:
                break  # the tab closes mid-reply
    actor = Actor(stack.user_id("alice"), "web")
    for _ in range(100):
        turns = await stack.core.sessions.history(actor, uuid.UUID(sid))
        if len(turns) == 2:
            break
        await asyncio.sleep(0.05)
    assert turns[-1].text.endswith("word9")
    await http.aclose()
