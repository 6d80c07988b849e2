"""Comparing traces: tracer diff, its reports, and the pytest plugin."""
