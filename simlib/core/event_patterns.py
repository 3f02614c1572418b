"""Filter policies and event patterns: which events an SNS subscription, an EventBridge
rule or an event source mapping lets through.

One matcher for all three, since they share their operators (SNS:
https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html and
subscription-filter-policy-constraints.html; EventBridge:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html;
Lambda event filtering uses the EventBridge syntax). A pattern is a mapping of field
name to a list of conditions; it matches when every field matches (AND) and a field
matches when any of its conditions does (OR). Nested mappings are flattened to dotted
names (``{"detail": {"type": ["order"]}}`` is the field ``detail.type``). Conditions:

- a string, number, boolean or null: equal (strings are case-sensitive);
- ``{"prefix": "ord"}``;
- ``{"anything-but": value | [values] | {"prefix": ...}}``: the field is present and
  equals none of them (does not start with the prefix);
- ``{"numeric": [">", 0, "<=", 5]}``: one or two comparisons (``=``, ``<``, ``<=``,
  ``>``, ``>=``) on a number;
- ``{"exists": true | false}``: the field is present (absent).

A condition other than ``exists: false`` never matches an absent field. The model's
events carry flat attributes (drawn per event by their source, docs/design.md,
"Applications"); message attributes and body fields are the same thing to it, so
``filter_scope`` only changes what AWS would bill, not what matches.
"""

from __future__ import annotations

import math
from typing import Any

from simlib.core.errors import ScenarioError

_OPERATORS = ("=", "<", "<=", ">", ">=")
_COMPARE = {
    "=": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
# SNS: "A filter policy can have a maximum of five keys"; "The total combination of values
# in a filter policy must not exceed 150" (subscription-filter-policy-constraints.html)
SNS_MAX_KEYS = 5
SNS_MAX_COMBINATIONS = 150


def _is_scalar(v) -> bool:
    return v is None or isinstance(v, (str, bool, int, float))


def _flatten(pattern: dict, path: str, prefix: str = "") -> dict[str, list]:
    out: dict[str, list] = {}
    for key, value in pattern.items():
        name = f"{prefix}{key}"
        where = f"{path}.{name}"
        if not isinstance(key, str) or not key:
            raise ScenarioError(where, key, "a field name (a non-empty string)")
        if isinstance(value, dict):
            out.update(_flatten(value, path, f"{name}."))
        elif isinstance(value, list) and value:
            out[name] = value
        else:
            raise ScenarioError(where, value, "a non-empty list of conditions, or a nested "
                                              "mapping of fields")
    return out


def _check_condition(where: str, c) -> None:
    if _is_scalar(c):
        if isinstance(c, float) and not math.isfinite(c):
            raise ScenarioError(where, c, "a finite number")
        return
    if not isinstance(c, dict) or len(c) != 1:
        raise ScenarioError(where, c, "a value, or one of {prefix: ...}, {anything-but: ...}, "
                                      "{numeric: [...]}, {exists: true|false}")
    (op, arg), = c.items()
    if op == "prefix":
        if not isinstance(arg, str):
            raise ScenarioError(f"{where}.prefix", arg, "a string")
    elif op == "anything-but":
        if isinstance(arg, dict):
            if set(arg) != {"prefix"} or not isinstance(arg["prefix"], str):
                raise ScenarioError(f"{where}.anything-but", arg, "a value, a list of values or "
                                                                  "{prefix: a string}")
        elif isinstance(arg, list):
            if not arg or not all(_is_scalar(v) for v in arg):
                raise ScenarioError(f"{where}.anything-but", arg, "a non-empty list of values")
        elif not _is_scalar(arg):
            raise ScenarioError(f"{where}.anything-but", arg, "a value or a list of values")
    elif op == "numeric":
        ok = isinstance(arg, list) and len(arg) in (2, 4)
        if ok:
            for k in range(0, len(arg), 2):
                o, v = arg[k], arg[k + 1]
                if o not in _OPERATORS or isinstance(v, bool) or not isinstance(v, (int, float)):
                    ok = False
        if not ok:
            raise ScenarioError(f"{where}.numeric", arg,
                                "one or two comparisons, e.g. ['>', 0, '<=', 5] (operators "
                                + ", ".join(_OPERATORS) + ")")
    elif op == "exists":
        if not isinstance(arg, bool):
            raise ScenarioError(f"{where}.exists", arg, "true or false")
    else:
        raise ScenarioError(f"{where}.{op}", arg, "one of the operators prefix, anything-but, "
                                                  "numeric, exists")


def compile_pattern(pattern: Any, path: str, *, sns: bool = False) -> dict[str, list]:
    """Validate ``pattern`` (errors name ``path``) and return it flattened.

    ``sns`` applies SNS's limits: at most 5 keys and 150 combinations of values.
    """
    if not isinstance(pattern, dict) or not pattern:
        raise ScenarioError(path, pattern, "a non-empty mapping of field names to lists of "
                                           "conditions")
    flat = _flatten(pattern, path)
    for name, conditions in flat.items():
        for i, c in enumerate(conditions):
            _check_condition(f"{path}.{name}[{i}]", c)
    if sns:
        if len(flat) > SNS_MAX_KEYS:
            raise ScenarioError(path, f"{len(flat)} keys", f"at most {SNS_MAX_KEYS} keys (an SNS "
                                                           "filter policy limit)")
        combos = math.prod(len(v) for v in flat.values())
        if combos > SNS_MAX_COMBINATIONS:
            raise ScenarioError(path, f"{combos} combinations",
                                f"at most {SNS_MAX_COMBINATIONS} combinations of values (the "
                                "product of the lists' lengths; an SNS filter policy limit)")
    return flat


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _condition_matches(c, present: bool, value) -> bool:
    if not isinstance(c, dict):
        if not present:
            return False
        if isinstance(c, bool) or isinstance(value, bool) or c is None or value is None:
            return c is value or c == value and type(c) is type(value)
        if isinstance(c, (int, float)) and isinstance(value, (int, float)):
            return float(c) == float(value)
        return c == value
    (op, arg), = c.items()
    if op == "exists":
        return present is arg
    if not present:
        return False
    if op == "prefix":
        return isinstance(value, str) and value.startswith(arg)
    if op == "anything-but":
        if isinstance(arg, dict):
            return not (isinstance(value, str) and value.startswith(arg["prefix"]))
        values = arg if isinstance(arg, list) else [arg]
        return not any(_condition_matches(v, True, value) for v in values)
    x = _number(value)  # numeric
    if x is None:
        return False
    return all(_COMPARE[arg[k]](x, float(arg[k + 1])) for k in range(0, len(arg), 2))


def matches(flat: dict[str, list], attributes: dict[str, Any]) -> bool:
    """Whether an event with ``attributes`` passes the compiled pattern ``flat``."""
    for name, conditions in flat.items():
        present = name in attributes
        value = attributes.get(name)
        if not any(_condition_matches(c, present, value) for c in conditions):
            return False
    return True


__all__ = ["compile_pattern", "matches"]
