"""The code location: every asset, check, resource and sensor of the Stratum dataset build.

Assets are thin wiring over the plain modules (``github``, ``discovery``,
``manifest``, ``scanning``, ``warehouse``, ``audit``); see the README for the graph.
"""

import dagster as dg

defs = dg.Definitions(assets=[])
