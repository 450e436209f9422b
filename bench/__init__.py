"""The benchmark harness (issue 8): the product against bare baselines, in one run, as ratios.

    python -m bench            # quick mode, under two minutes: registry sizes 10k and 100k
    python -m bench --full     # full mode: 10k, 100k and 1M, longer runs, profiles, docs

Every figure is measured next to a baseline run in the same process tree and the same minute,
repeated (baseline and product interleaved), and reported as the median and as a ratio. See
bench/README.md for what each scenario does and docs/performance.md for the latest figures.
"""
