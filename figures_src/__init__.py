"""Notebooks (ex*.py) that compute the report's figures and numbers, and the modules they share."""
