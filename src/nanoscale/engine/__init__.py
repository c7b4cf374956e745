"""The engine: fetch -> build -> runtime -> proxy, driven by the worker. Knows no HTTP or GitHub."""
