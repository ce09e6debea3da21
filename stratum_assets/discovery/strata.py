"""The strata configuration (``strata.yaml``, or the file ``STRATUM_STRATA_FILE`` names) as validated pydantic models.

Unknown keys are refused and every error names the file and line (:mod:`stratum_assets.storage.config_files`).
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..domain import frameworks as framework_table
from ..domain.choices import Profile
from ..storage.config_files import read_model

DEFAULT_FILE = Path(__file__).with_name("strata.yaml")
ENV_VAR = "STRATUM_STRATA_FILE"


class Stratum(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""  # its key in the file
    target: int = Field(gt=0)
    queries: list[str] = Field(min_length=1)
    pushed_after: date
    min_frameworks: int = 0
    maturity: bool = False
    maturity_stars: int = 100
    include_forks: bool = False

    @field_validator("queries")
    @classmethod
    def _no_date_qualifiers(cls, queries: list[str]) -> list[str]:
        for q in queries:
            if "created:" in q or "pushed:" in q:
                raise ValueError(f"{q!r}: created:/pushed: are added by discovery (windows and recency floor)")
        return queries

    def search_query(self, query: str) -> str:
        fork = " fork:true" if self.include_forks else ""
        return f"{query} pushed:>{self.pushed_after.isoformat()}{fork}"

    @property
    def frameworks(self) -> tuple[str, ...]:
        """The frameworks this stratum searches for, by the framework table (empty: no single framework)."""
        return tuple(f.label for f in framework_table.FRAMEWORKS if self.name in f.strata)


class ProfileScale(BaseModel):
    """A profile's entry in the strata file: the factor its targets are scaled by."""

    model_config = ConfigDict(extra="forbid")

    target_scale: float = Field(default=1.0, gt=0)


class StrataFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strata: dict[str, Stratum] = Field(min_length=1)
    profiles: dict[str, ProfileScale]  # keyed by the Profile's value (domain/choices.py)

    @model_validator(mode="after")
    def _named(self) -> StrataFile:
        self.strata = {name: s.model_copy(update={"name": name}) for name, s in self.strata.items()}
        return self

    def scaled(self, profile: Profile) -> dict[str, Stratum]:
        if profile not in self.profiles:
            raise ValueError(f"unknown profile {profile!r}; known: {sorted(self.profiles)}")
        scale = self.profiles[profile].target_scale
        return {
            name: s.model_copy(update={"target": max(1, round(s.target * scale))}) for name, s in self.strata.items()
        }


@lru_cache(maxsize=4)
def load_strata_file(path: str | None = None) -> StrataFile:
    """The strata file: ``path``, else ``STRATUM_STRATA_FILE``, else the project's; a ConfigError names file:line."""
    return read_model(StrataFile, path or os.environ.get(ENV_VAR) or DEFAULT_FILE, "strata")


def strata(profile: Profile = Profile.full, path: str | None = None) -> dict[str, Stratum]:
    return load_strata_file(path).scaled(profile)


@framework_table.derived
def _keyword_patterns(table) -> tuple[tuple[str, re.Pattern], ...]:
    """Each framework's keywords (the framework table's) as one whole-word pattern."""

    def whole_word(word: str) -> str:
        return rf"(?<![a-z0-9]){re.escape(word.lower())}(?![a-z0-9])"

    return tuple((f.label, re.compile("|".join(map(whole_word, f.keywords)))) for f in table if f.keywords)


def frameworks_named(text: str) -> set[str]:
    """Frameworks whose keywords appear in ``text`` (name, description and topics joined)."""
    lowered = text.lower()
    return {fw for fw, pattern in _keyword_patterns() if pattern.search(lowered)}
