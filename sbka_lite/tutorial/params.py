"""Notebook parameters that fail loudly.

Papermill injects ``-p NAME VALUE`` as a new cell after the one tagged ``parameters`` and
only *warns* about names the notebook never declared. A sweep with a typo would then run the
default silently. The convention here:

    # cell 1 (setup)
    from sbka_lite.tutorial.params import watch_parameters, collect_parameters
    watch_parameters()

    # cell 2, tagged "parameters": flat literals only
    SMOKE = False
    EPOCHS = 3

    # cell 3
    P = collect_parameters()

`watch_parameters` records, through an IPython ``post_run_cell`` hook, exactly the names the
parameters cell declares and their default types. `collect_parameters` then raises
`ParameterError` for any name that appeared later (papermill's injected cell) and for any value
whose type does not match its default, naming the parameter. The environment variable
``SBKA_SMOKE=1`` switches ``SMOKE`` on without injecting anything
(the notebook tests run each notebook as committed that way).
"""
from __future__ import annotations

import os
import types
from dataclasses import dataclass, field
from typing import Any

from IPython import get_ipython

_SCALARS = (bool, int, float, str, type(None), list, tuple, dict)


class ParameterError(ValueError):
    """A notebook parameter that is unknown or of the wrong type."""


@dataclass
class _Watch:
    shell: Any
    before: set[str] = field(default_factory=set)
    declared: dict[str, Any] | None = None
    seen_setup: bool = False

    def post_run_cell(self, result=None) -> None:
        ns = self.shell.user_ns
        if not self.seen_setup:  # the setup cell that registered us has just finished
            self.seen_setup = True
            self.before = set(ns)
            return
        if self.declared is None:
            self.declared = {n: ns[n] for n in set(ns) - self.before if _is_parameter(n, ns[n])}
            self.before = set(ns)
            self.shell.events.unregister("post_run_cell", self.post_run_cell)


_ACTIVE: _Watch | None = None


def _is_parameter(name: str, value: Any) -> bool:
    return not name.startswith("_") and isinstance(value, _SCALARS)


def _shell():
    return get_ipython()


def watch_parameters() -> None:
    """Call in the cell just before the ``parameters`` cell (see module docstring)."""
    global _ACTIVE
    shell = _shell()
    if shell is None:
        return
    if _ACTIVE is not None:
        try:
            shell.events.unregister("post_run_cell", _ACTIVE.post_run_cell)
        except ValueError:
            pass
    _ACTIVE = _Watch(shell)
    shell.events.register("post_run_cell", _ACTIVE.post_run_cell)


def check_types(values: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Raise `ParameterError` for names not in `defaults` or values whose type differs from the default's."""
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise ParameterError(
            f"unknown notebook parameter(s) {', '.join(unknown)}; this notebook accepts: {', '.join(sorted(defaults))}"
        )
    for name, value in values.items():
        default = defaults[name]
        if not _same_kind(value, default):
            raise ParameterError(
                f"parameter {name} = {value!r} has type {type(value).__name__}, "
                f"expected {type(default).__name__} like its default {default!r}"
            )


def _same_kind(value: Any, default: Any) -> bool:
    if default is None or value is None:
        return True  # a None default means "optional: any scalar"
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def _env_smoke() -> bool:
    return os.environ.get("SBKA_SMOKE", "").strip().lower() in {"1", "true", "yes", "on"}


class Params(types.SimpleNamespace):
    """The validated parameters; attribute access, plus `as_dict()` for recording."""

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def collect_parameters(namespace: dict[str, Any] | None = None, defaults: dict[str, Any] | None = None) -> Params:
    """Validate the notebook's parameters and return them.

    Inside IPython after `watch_parameters`, the declared names and defaults come from the hook.
    Outside IPython pass `namespace` and `defaults` explicitly (tests, scripts).
    """
    watch = _ACTIVE
    if namespace is None:
        shell = _shell()
        if shell is None or watch is None or watch.declared is None:
            raise ParameterError(
                "collect_parameters() found no recorded parameters cell: run the setup cell "
                "(watch_parameters()) and then the 'parameters' cell first"
            )
        namespace = shell.user_ns
    if defaults is None:
        if watch is None or watch.declared is None:
            raise ParameterError("no defaults given and no parameters cell recorded")
        defaults = watch.declared
        # Names born after the parameters cell (papermill's injected cell) must be declared ones.
        injected = {n: namespace[n] for n in set(namespace) - watch.before if _is_parameter(n, namespace[n])}
        check_types(injected, defaults)
    values = {name: namespace.get(name, default) for name, default in defaults.items()}
    check_types(values, defaults)
    if "SMOKE" in values and _env_smoke():
        values["SMOKE"] = True
        namespace["SMOKE"] = True
    return Params(**values)
