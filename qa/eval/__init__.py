"""`qa eval`: a BEIR-layout loader (beir.py), ranking metrics (metrics.py) and the evaluator that
runs a dataset through the product's own write and read paths (evaluator.py)."""
