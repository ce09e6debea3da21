"""The project's YAML configuration files, read into pydantic models with errors that name the file and line.

A misspelt key (``maturity_star: 500``) silently ignored is a setting the user believes in and the
build never applies, so the models refuse unknown keys (``extra="forbid"``). YAML's nodes keep where
each key was written; a validation error is mapped back onto them, so the message is one line:
``strata.yaml:34: unknown key 'maturity_star' in strata.langchain_mature (did you mean 'maturity_stars'?)``.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file is unreadable or wrong; the message is ``file:line: what is wrong``."""


def read_model(model: type[Model], path: str | Path, what: str = "configuration") -> Model:
    """``path`` parsed as YAML and validated as ``model``; any problem is one :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read this {what} file: {getattr(err, 'strerror', None) or err}") from None
    data, lines = parse_yaml(text, str(path))
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(describe(err, lines, str(path), model)) from None


def parse_yaml(text: str, source: str) -> tuple[object, dict[tuple, int]]:
    """(the document, the line of every key and list item by its path of keys and indexes)."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise ConfigError(f"{source}:{mark.line + 1 if mark else 1}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}
    _mark_lines(root, (), lines)
    return data, lines


def _mark_lines(node, path: tuple, lines: dict[tuple, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            lines[child] = key.start_mark.line + 1
            _mark_lines(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _mark_lines(item, (*path, index), lines)


def describe(err: ValidationError, lines: dict[tuple, int], source: str, model: type[BaseModel]) -> str:
    """The first error as ``source:line: message``, and how many more there are."""
    errors = err.errors()
    first = errors[0]
    loc = tuple(first["loc"])
    line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), 1)
    where = ".".join(map(str, loc[:-1]))
    if first["type"] == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        message = f"unknown key {loc[-1]!r}{f' in {where}' if where else ''}" + (
            f" (did you mean {hint[0]!r}?)" if hint else f"; the keys are: {', '.join(known)}" if known else ""
        )
    else:
        message = f"{'.'.join(map(str, loc)) or 'the file'}: {first['msg']}"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{source}:{line}: {message}{more}"


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a mapping at ``loc`` may have, from the model's fields (empty when not a model there)."""
    current: object = model
    for part in loc:
        current = _model_in(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) in (list, tuple):
            current = typing.get_args(current)[0]
        else:
            return []
    current = _model_in(current)
    return sorted(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def _model_in(annotation: object) -> object:
    """``X | None`` is ``X`` here: the model a key's value may be."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next((a for a in typing.get_args(annotation) if a is not type(None)), annotation)
    return annotation
