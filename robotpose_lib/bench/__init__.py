"""Benchmarks that print figures and ratios against baselines measured in the same run.

One module per benchmark, each with a ``benchmark(...)`` function (typed keyword
arguments, prints its report, returns 0, or 1 when a check against a baseline failed):
``synth`` (sample throughput vs pybullet's TinyRenderer, ``pybullet_baseline.py``),
``localization`` (model size, training throughput, inference latency), ``runtime`` (the
paper's Table II), ``decode`` (NMS and LoG against scipy / skimage), ``train`` (the
shipped training recipe against plain fp32), ``aspect`` (depth and joints on images of
other shapes). ``robotpose bench [NAME]`` (``cli/bench.py``) runs them from the command
line.
"""
