"""The `nanoscale` command line (Typer)."""
