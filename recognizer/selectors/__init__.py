"""Reads, one module per aggregate. Import the module you need."""
