"""Readers (validated, with rejects) and atomic writers."""
