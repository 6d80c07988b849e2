"""Files in and out: trace CSVs, spec files, workbooks read safely, atomic writes, bundled resources."""
