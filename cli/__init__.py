"""The `agentcl` command line (Typer). Thin: parse, call the packages, render."""
