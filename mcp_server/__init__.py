"""MCP server: serves one repository's index (pages, packs, exact source) to coding assistants.

`codectx.mcp_server.server` holds `ServerConfig`, `build_server` and `serve`; this package stays
import-light so the CLI loads the MCP SDK only for `codectx serve`.
"""
