"""Training, evaluation, benchmarks and simulators: the lab behind the shipped models and figures.

Only the command line (``yanxiu train|eval|bench``) imports this package; the web app and the
domain packages never do (tests/test_architecture.py checks it).
"""
