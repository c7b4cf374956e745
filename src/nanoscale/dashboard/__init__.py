"""Server-rendered dashboard (Jinja2 + htmx), thin like the API."""
