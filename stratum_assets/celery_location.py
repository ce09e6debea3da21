"""The code location on Celery workers: the project's definitions, with each step run as a Celery task.

Nothing but the executor differs from :mod:`stratum_assets.definitions` (the definitions are
merged, not copied): the same assets, checks, resources and sensors, and so the same data
directory, partitions and pools. A run of this location is coordinated where it is launched
(``dagster asset materialize -m stratum_assets.celery_location``, the webserver's run worker, a
sensor's run) and each of its steps goes to the broker as a task that a ``dagster-celery`` worker
executes; steps, workers and the coordinator share one Dagster instance (Postgres) and one
``data/`` directory (docs/SCALE_OUT.md, "Celery workers").

The broker and the result backend come from ``CELERY_BROKER_URL`` and ``CELERY_BACKEND_URL``,
read when a run starts, so the same code runs against any broker. Workers are started with the
same settings (:data:`CELERY_CONFIG` as a ``dagster-celery worker start -y`` file: the docs show
it, and the Celery test checks the two are one) because a worker's Celery app must agree with
the one that sends it tasks.

Requires the ``celery`` extra (``pip install -e ".[celery]"``).
"""

import dagster as dg
from dagster_celery import celery_executor

from . import definitions  # the module, not its defs: one Definitions object at module scope

# dagster-celery's own transport defaults (dagster_celery/defaults.py); setting any
# broker_transport_options replaces them all, so they are repeated beside the one added here.
_TRANSPORT = {"max_retries": 3, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

CELERY_CONFIG = {
    "broker": {"env": "CELERY_BROKER_URL"},
    "backend": {"env": "CELERY_BACKEND_URL"},
    "config_source": {
        # A step is a long task (a scan partition runs for minutes). Acknowledged only when it ends,
        # a task is never held by a busy worker while another worker idles: with the default early
        # acknowledgement, a worker whose processes are all busy still reserves one more step.
        "task_acks_late": True,
        # Redis hands an unacknowledged task to another worker after this many seconds, so it must
        # outlast the longest step (one GitHub request alone may wait GitHubResource.max_total_wait_s,
        # 2 h): a day, or a step still running would be executed a second time.
        "broker_transport_options": {**_TRANSPORT, "visibility_timeout": 24 * 3600},
    },
}

defs = dg.Definitions.merge(definitions.defs, dg.Definitions(executor=celery_executor.configured(CELERY_CONFIG)))
