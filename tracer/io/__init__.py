"""Files in and out: trace files (CSV, Parquet), spec files, workbooks read safely, atomic writes, bundled resources."""
