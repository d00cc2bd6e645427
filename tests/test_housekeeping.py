"""Packaging housekeeping: one version everywhere, the licence, the changelog, the typing marker."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import reimpact
from reimpact.cli import main

ROOT = Path(__file__).parents[1]


def test_installed_metadata_reads_the_package_version():
    assert version("reimpact") == reimpact.__version__


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"reimpact {reimpact.__version__}"


def test_version_flag_from_a_fresh_process():
    done = subprocess.run(
        [sys.executable, "-m", "reimpact.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"reimpact {reimpact.__version__}"
    assert done.stderr == ""


def test_licence_is_mit():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 the reimpact authors" in text


def test_changelog_has_a_section_for_the_current_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text
    assert f"## [{reimpact.__version__}]" in text


def test_typing_marker_ships_inside_the_package():
    package = Path(reimpact.__file__).parent
    assert (package / "py.typed").is_file()
