"""Lianxin's services: one package each, read top-down the same way:
domain -> store -> handlers -> schemas -> service."""
