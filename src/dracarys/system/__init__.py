"""System: the liveness and readiness probes orchestrators call."""
