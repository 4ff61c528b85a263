"""Airflow: build the segments that are due every 15 minutes, in the worker's process.

Copy into your DAGs folder and set SEGW_PROJECT_DIR (the folder holding segwarehouse.yml).
A failed segment fails the task (so Airflow retries it); the others are still built, and
target/run_results.json and the returned summary (an XCom) say which.
"""
import datetime as dt
import os

from airflow.decorators import dag, task

PROJECT_DIR = os.environ.get("SEGW_PROJECT_DIR", "/srv/segments")


@dag(schedule="*/15 * * * *", start_date=dt.datetime(2024, 1, 1), catchup=False, tags=["segments"])
def segments():
    @task(retries=2, retry_delay=dt.timedelta(minutes=5))
    def build_due_segments() -> dict:
        from segwarehouse.orchestrate import run_segments

        # due_only=True: `segw run` (only what is due by its schedule); False: `segw build`.
        # select/exclude take dbt-style selectors, e.g. select=["tag:email"].
        return run_segments(PROJECT_DIR, due_only=True, threads=4).summary()

    build_due_segments()


segments()
