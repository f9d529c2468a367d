"""Rendering: highlight source, lay it out into pages with a line map, rasterize to PNG."""

# Bump when any rendering change alters page bytes: cached pages are keyed by it.
RENDERER_VERSION = "4"  # 4: characters the page font lacks are drawn by fallback fonts
