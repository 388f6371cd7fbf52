"""Alert callbacks for the audiencesync nightly DAG.

Lives in the plugins folder because Airflow 3.1+ runs deadline callbacks in the Triggerer,
which imports them by path: a callable nested in the DAG file cannot be found there.
The DAG file imports the same module (plugins/ is on sys.path for DAG parsing too).

Messages carry ids and links only (dag, task, run, try, log URL): never row data, never a
contact, never a secret. The webhook URL is an Airflow Variable (or the environment) so it
stays out of the DAG file and out of logs.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from urllib.parse import urlparse

log = logging.getLogger(__name__)

WEBHOOK_VARIABLE = "audiencesync_alert_webhook"
WEBHOOK_ENV = "AUDIENCESYNC_ALERT_WEBHOOK"


def _webhook_url() -> str:
    url = os.environ.get(WEBHOOK_ENV, "")
    if url:
        return url
    try:
        from airflow.models import Variable  # imported late: not needed to parse the DAG

        return Variable.get(WEBHOOK_VARIABLE, default_var="") or ""
    except Exception:  # noqa: BLE001 - no metadata DB in a bare Triggerer test
        return ""


def _post(text: str) -> None:
    """POST {"text": ...} (Slack/Mattermost/Google Chat compatible) with a short timeout."""
    url = _webhook_url()
    if not url:
        log.warning("audiencesync alert (no webhook configured in %s): %s", WEBHOOK_VARIABLE, text)
        return
    body = json.dumps({"text": text}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - https URL from config
            resp.read()
    except Exception as err:  # noqa: BLE001 - an alert must never fail the task twice
        # The URL embeds a token: log its host only.
        host = urlparse(url).hostname or "webhook"
        log.error("audiencesync alert to %s failed: %s", host, type(err).__name__)


def on_failure(context) -> None:
    """Task on_failure_callback (Airflow 2 and 3): one message per failed try."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", context.get("run_id", "?"))
    tries = getattr(ti, "try_number", "?")
    log_url = getattr(ti, "log_url", "")
    exc = context.get("exception")
    reason = type(exc).__name__ if exc is not None else "failed"
    _post(f":red_circle: {dag_id}.{task_id} failed ({reason}), run {run_id}, try {tries}. Logs: {log_url}")


def on_retry(context) -> None:
    """Task on_retry_callback: quieter note that a retry is scheduled."""
    ti = context.get("task_instance") or context.get("ti")
    _post(
        f":warning: {getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')} will be retried "
        f"(try {getattr(ti, 'try_number', '?')}), run {getattr(ti, 'run_id', '?')}"
    )


def sla_miss(dag, task_list, blocking_task_list, slas, blocking_tis) -> None:
    """DAG sla_miss_callback (Airflow 2.x only; SLAs were removed in Airflow 3.0)."""
    tasks = ", ".join(sorted({getattr(s, "task_id", str(s)) for s in slas})) or task_list
    _post(f":hourglass: {dag.dag_id} missed its SLA: {tasks}")


async def deadline_missed(**kwargs) -> None:
    """Airflow 3.1+ DeadlineAlert callback (runs in the Triggerer, hence async)."""
    context = kwargs.get("context", {}) or {}
    dag_run = context.get("dag_run", {}) or {}
    dag_id = dag_run.get("dag_id", "audiencesync_nightly") if isinstance(dag_run, dict) else getattr(dag_run, "dag_id", "?")
    run_id = dag_run.get("run_id", "?") if isinstance(dag_run, dict) else getattr(dag_run, "run_id", "?")
    deadline = (context.get("deadline") or {}).get("deadline_time", "?") if isinstance(context.get("deadline"), dict) else "?"
    _post(f":hourglass: {dag_id} run {run_id} has not finished by its deadline {deadline} ({kwargs.get('reason', 'late')})")
