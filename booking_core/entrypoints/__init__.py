"""Thin edges: HTTP routes and the CLI parse, call a handler, map the result."""
