"""Substances: the registry of scheduled substances and drug precursors, drug alerts, precursor screening."""
