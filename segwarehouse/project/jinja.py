"""The Jinja environment shared by models, profiles and `sql:` conditions: env_var, var, macros."""
from __future__ import annotations

import os
from typing import Any, Callable

import jinja2
import jinja2.sandbox

from ..errors import Location, SegwError

_MISSING = object()


class SecretRegistry:
    """Values read through env_var() in profiles: masked wherever text leaves the program."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, value: str) -> None:
        if value and len(value) >= 3:
            self.values.add(value)

    def mask(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, "*****")
        return text


SECRETS = SecretRegistry()


def env_var(name: str, default: Any = _MISSING) -> str:
    if name in os.environ:
        return os.environ[name]
    if default is _MISSING:
        raise SegwError(f"environment variable '{name}' is not set",
                        hint=f"export {name}=... or give a default: env_var('{name}', 'value')")
    return default


MAX_OUTPUT = 1_000_000   # characters a template may render to
MAX_RANGE = 100_000      # items all range() calls of one render may produce together
MAX_EXPONENT = 1_000


class BoundedEnvironment(jinja2.sandbox.SandboxedEnvironment):
    """A sandbox whose `*`, `**` and range() cannot make huge values or run for minutes."""

    intercepted_binops = frozenset(["*", "**"])

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.range_budget = MAX_RANGE
        self.globals["range"] = self.bounded_range

    def bounded_range(self, *args):
        items = range(*args)
        self.range_budget -= len(items)
        if self.range_budget < 0:
            raise OverflowError(f"range() would produce more than {MAX_RANGE:,} items in one template")
        return items

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise OverflowError(f"exponent {right} is larger than {MAX_EXPONENT}")
            return left ** right
        sized = [v for v in (left, right) if isinstance(v, (str, list, tuple))]
        counts = [v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)]
        if sized and counts and len(sized[0]) * counts[0] > MAX_OUTPUT:
            raise OverflowError(f"repeating a value would make more than {MAX_OUTPUT:,} items")
        return left * right


def make_environment() -> jinja2.Environment:
    env = BoundedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.globals["env_var"] = env_var
    return env


def render(env: jinja2.Environment, text: str, location: Location, context: dict | None = None) -> str:
    """Render a template; Jinja faults become a SegwError at the template's location."""
    if isinstance(env, BoundedEnvironment):
        env.range_budget = MAX_RANGE
    try:
        out = env.from_string(text).render(**(context or {}))
        if len(out) > MAX_OUTPUT:
            raise SegwError(f"template renders to more than {MAX_OUTPUT:,} characters", location,
                            "a template should produce SQL, not data")
        return out
    except SegwError as exc:
        if exc.location is None:
            exc.location = location
        raise
    except jinja2.TemplateSyntaxError as exc:
        line = (location.line or 1) + exc.lineno - 1 if location.line else exc.lineno
        raise SegwError(f"template error: {exc.message}", Location(location.file, line),
                        "check the {{ }} and {% %} blocks") from None
    except jinja2.UndefinedError as exc:
        raise SegwError(f"template error: {exc.message}", location,
                        "define it under `vars:` in segwarehouse.yml or as a macro in macros/") from None
    except jinja2.TemplateError as exc:
        raise SegwError(f"template error: {exc}", location) from None
    except (OverflowError, MemoryError, RecursionError) as exc:
        raise SegwError(f"template is too expensive: {exc}", location,
                        "templates may not build huge values or loop without bound") from None
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError) as exc:
        raise SegwError(f"template error: {exc}", location) from None


def var_function(variables: dict, location_of: Callable[[], Location | None] = lambda: None):
    def var(name: str, default: Any = _MISSING) -> Any:
        if name in variables:
            return variables[name]
        if default is _MISSING:
            known = ", ".join(sorted(variables)) or "none"
            raise SegwError(f"variable '{name}' is not defined", location_of(),
                            f"add it under `vars:` in segwarehouse.yml or pass --vars (defined: {known})")
        return default
    return var
