"""What the command-line entry points (`python -m dit_lib.train`, `python -m dit_lib.sample`) share."""
from __future__ import annotations

import argparse


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """`--help` shows each option's default, except where it says nothing: on/off flags
    (`--no-learn-sigma` is off unless given) and options without a default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.nargs == 0 or action.default is None or action.required:
            return action.help or ""
        return super()._get_help_string(action)
