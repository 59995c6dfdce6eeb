"""The MCP server (Model Context Protocol, the official `mcp` SDK) over the same service as HTTP and
Slack: `tools.py` defines the read-only tools, `http.py` serves them at `/mcp` under `qa serve`
(Streamable HTTP, stateless), `stdio.py` over stdin/stdout for `qa mcp`.

Nothing here is imported by `qa --help`: this package's modules import the SDK, so the commands
that serve them import them when they run."""
