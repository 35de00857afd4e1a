"""Benchmarks of bertlib on a CPU: training throughput against Hugging Face
``transformers``, the matmul ceiling and FLOP counts, inference latency,
peak memory, and the book's execution times.

Run the whole suite with ``python -m benchmarks`` (or ``make bench``); see
``benchmarks/README.md``. Nothing here is imported by bertlib or the lessons.
"""
