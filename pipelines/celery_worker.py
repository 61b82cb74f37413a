"""The Celery app of retool-data's workers: ``celery -A pipelines.celery_worker worker --pool solo -Q dagster``
(or `retool-data worker`, which adds the right flags).

The same app as ``dagster_celery.app`` (the ``execute_plan`` task that runs one Dagster step), configured from
``RETOOL_CELERY_BROKER`` / ``RETOOL_CELERY_BACKEND`` and `pipelines.executors.CELERY_SETTINGS` instead of
dagster-celery's defaults, so the workers and the runs that send them steps agree on the broker and on late
acknowledgement. A step reconstructs the definitions from ``pipelines.definitions`` with this process's
``RETOOL_*`` settings, and reaches the Dagster instance named by the run (Postgres: every host sees it).
"""

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from pipelines.executors import celery_app_args

app = make_app(celery_app_args())
execute_plan = create_task(app)
