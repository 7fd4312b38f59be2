"""The MCP front end: the platform as standard Model Context Protocol tools and resources (docs/mcp.md).

A thin front like the Discord cogs and the web routes: each tool parses its arguments, calls the
application core (`server_bot.core`) and renders the result. Auth is by personal access token
(`tokens`), every call is audited (`audit`) and rate limited per token.
"""
