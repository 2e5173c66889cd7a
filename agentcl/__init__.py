"""agentcl: agents that keep learning after deployment."""
