"""Tests of the FlexBlock reference model (models/) against an independent exact oracle (oracle.py)."""
