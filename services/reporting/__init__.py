"""Reporting: the aggregator. Keeps every event and answers the reports."""
