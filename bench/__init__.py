"""Benchmarks: cold start, warm overhead, round trips, load, package size. `make bench` runs them (bench/run.py)."""
