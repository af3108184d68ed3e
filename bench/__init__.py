"""Benchmarks for Lianxin: the raw broker ceiling and shared stats helpers."""
