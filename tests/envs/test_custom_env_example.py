"""examples/custom_env runs from the CLI (issue 15, item 23): `agentcl run --env flashcards` failed with
"unexpected keyword argument 'seed'" because the runner always passed a seed to the constructor. The
example is installed with pip into a private folder and run through `agentcl` in a subprocess."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def flashcards_site(tmp_path):
    pytest.importorskip("setuptools", reason="building the example environment needs setuptools")
    src = tmp_path / "src"
    shutil.copytree(ROOT / "examples" / "custom_env", src)  # the build writes beside the sources
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                           "--disable-pip-version-check", "-q", "--target", str(site), str(src)],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return site


def test_the_custom_environment_example_runs_from_the_cli(flashcards_site, tmp_path):
    env = {**os.environ, "AGENTCL_HOME": str(tmp_path / "home"),
           "PYTHONPATH": os.pathsep.join([str(flashcards_site), str(ROOT)])}
    env.pop("AGENTCL_DB_URL", None)
    done = subprocess.run([sys.executable, "-m", "cli.main", "run", "--env", "flashcards", "--seed", "3", "--json"],
                          capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["env"] == "flashcards" and report["tasks"] == 24 and report["seed"] == 3


def test_optional_options_go_only_to_constructors_that_take_them():
    from agentcl.envs.registry import accepted_options

    class NoSeed:
        def __init__(self, *, rounds: int = 3) -> None: ...

    class WithSeed:
        def __init__(self, seed: int = 0) -> None: ...

    class AnyOptions:
        def __init__(self, **options) -> None: ...

    assert accepted_options(NoSeed, {"seed": 1}) == {}
    assert accepted_options(WithSeed, {"seed": 1}) == {"seed": 1}
    assert accepted_options(AnyOptions, {"seed": 1}) == {"seed": 1}
