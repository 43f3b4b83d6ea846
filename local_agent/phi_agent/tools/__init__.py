"""Tools the cloud may ask this agent to run; only those enabled in the agent config are served."""
