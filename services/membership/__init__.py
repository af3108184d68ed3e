"""Membership: the administrative tree, members and their stages."""
