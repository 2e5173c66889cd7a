"""Property tests share one store per test function across all of Hypothesis' examples (loading the
model or migrating a database per example would be far too slow); every example checks its own
outcome against a fingerprint taken just before it."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

# Small and fast: these run in CI on every push. `database=None` keeps .hypothesis/ out of the tree.
FAST = settings(max_examples=40, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])


pytestmark = pytest.mark.usefixtures("one_torch_thread")
