"""Table declarations, one module per stage. lake/catalog.py collects them."""
