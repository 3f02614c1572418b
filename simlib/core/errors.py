"""The one error type a user sees for bad input.

A scenario is user data (a notebook slider, a YAML file, a dotted-path sweep), so every
mistake is reported as a :class:`ScenarioError` that names the field, the value and the
allowed range, never as a traceback from inside the engine.
"""


class ScenarioError(ValueError):
    """A scenario field is unknown, of the wrong type or outside its allowed range."""

    def __init__(self, field: str, value, allowed: str):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} = {value!r} is not allowed: {allowed}")
