"""The web front end: a FastAPI app served by uvicorn inside the server-bot process.

Login with Discord (OAuth2 code + PKCE), web chat on the application core (the same sessions, relay
and database as Discord), transcripts, and an admin dashboard. Routes are thin: parse, call the core,
render. `build_web` wires it from the server-bot's objects; `WebServer` owns the uvicorn task.
"""

from server_bot.web.server import WebServer, build_web, serving

__all__ = ["WebServer", "build_web", "serving"]
