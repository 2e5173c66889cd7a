"""Benchmarks: functions returning JSON-able dicts, wired as `agentcl bench <name>`."""
