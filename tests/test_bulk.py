"""The garbage collector is paused while rules are built, and left as it was found."""

from __future__ import annotations

import gc

import pytest

from rules.bulk import collector_paused


def test_the_collector_is_paused_inside_and_running_after():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_restarts_it():
    with pytest.raises(ValueError, match="bad rule"), collector_paused():
        raise ValueError("bad rule")
    assert gc.isenabled()


def test_a_collector_someone_else_paused_stays_paused():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
