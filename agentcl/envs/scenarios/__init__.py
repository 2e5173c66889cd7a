"""Scenario files shipped with agentcl (package data); `default.json` is DriftWorld's default."""
