"""Shared by the end-to-end tests: the integration harness, and where the examples live."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(REPO, "examples")
CLIENTS = os.path.join(REPO, "tests", "clients")

sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import harness  # noqa: E402,F401  (re-exported for the tests)


def example(*parts):
    """Path of a file in examples/."""
    return os.path.join(EXAMPLES, *parts)
