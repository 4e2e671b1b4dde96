"""User errors reach the user as one line and exit code 2; a bug keeps its traceback."""

import pytest

from musicgan.cli.common import run
from musicgan.core.config import TrainConfig
from musicgan.core.errors import ConfigError, UserError


def _raise(error):
    def fn(_args):
        raise error
    return fn


def test_a_user_error_is_one_line_and_exit_2(capsys):
    assert run(_raise(UserError("no trained model at models/generator.h5: train one")), None) == 2
    assert capsys.readouterr().err == "error: no trained model at models/generator.h5: train one\n"
    assert run(_raise(FileNotFoundError(2, "No such file or directory", "x.txt")), None) == 2
    assert run(_raise(KeyboardInterrupt()), None) == 130


def test_a_bug_keeps_its_traceback():
    for bug in (ValueError("shapes do not match"), RuntimeError("oops"), KeyError("k")):
        with pytest.raises(type(bug)):
            run(_raise(bug), None)


def test_settings_out_of_range_are_config_errors():
    with pytest.raises(ConfigError, match="batch size must be at least 1"):
        TrainConfig(batch_size=0)
    assert issubclass(ConfigError, ValueError) and issubclass(ConfigError, UserError)
