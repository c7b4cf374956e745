"""JSON API routes (thin: parse, call one service, map the result)."""
