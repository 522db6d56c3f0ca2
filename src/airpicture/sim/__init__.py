"""Scenario simulator: target motion (synthetic and real trajectories) and sensor models."""
