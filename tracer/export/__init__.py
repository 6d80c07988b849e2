"""Exports of a trace: Excel workbooks and HTML reports."""
