"""Benchmarks of Lodestar's pipeline, side by side with the tools a user would otherwise pick."""
