"""HTML reports: the worked example written out in a course's notation, with the network drawn."""
from .report import MAX_WRITTEN, SATURATED, render_report, report_data, summary_html, write_report

__all__ = ["MAX_WRITTEN", "SATURATED", "render_report", "report_data", "summary_html", "write_report"]
