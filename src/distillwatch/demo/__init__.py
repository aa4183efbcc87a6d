"""Demonstrations that run whole scenarios end to end (``distillwatch demo ...``)."""
