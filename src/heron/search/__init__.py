"""Query AST, parser, statistics, scoring and per-segment execution."""
