"""The code location: every asset, check, resource and sensor of the Stratum dataset build.

Assets are thin wiring over the plain modules (``github``, ``discovery``,
``manifest``, ``scanning``, ``warehouse``, ``audit``); see the README for the graph.
"""

import dagster as dg

from .assets.discovery import candidate_assets
from .resources import DataResource, GitHubResource

defs = dg.Definitions(
    assets=[*candidate_assets],
    resources={"github": GitHubResource(), "data": DataResource()},
)
