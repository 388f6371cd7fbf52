"""audiencesync nightly DAG: run the nightly pipeline once a day, alert when it fails or runs late.

One DAG file, three ways to run the same binary, chosen when the file is parsed by the
environment variable AUDIENCESYNC_TARGET (so the graph is stable between parses):

  dataflow    (default) DataflowStartFlexTemplateOperator launches the flex template built
              by `make dataflow-template` and waits for the job. Needs
              apache-airflow-providers-google.
  kubernetes  KubernetesPodOperator runs the runtime image (deploy/dataflow/Dockerfile,
              --target runtime) on the in-process prism runner, like deploy/k8s/cronjob.yaml.
              Needs apache-airflow-providers-cncf-kubernetes.
  bash        BashOperator runs bin/nightly on the Airflow worker itself (small shops, one
              machine; see the single-machine limit in deploy/README.md).

Runtime settings are Airflow Variables, read when the task runs (templated), not at parse
time: audiencesync_project, audiencesync_region, audiencesync_bucket,
audiencesync_template_path, audiencesync_service_account, audiencesync_audiences
(dry_run | send | off; default dry_run), audiencesync_alert_webhook (plugins/audiencesync_alerts.py).

Lateness, by Airflow version (detected at parse time):
  2.7 - 2.11  task `sla` + DAG `sla_miss_callback`
  3.0         SLAs were removed and deadlines do not exist yet: only dagrun_timeout
              and execution_timeout (a run that overruns fails and alerts through on_failure)
  3.1+        DAG `deadline=DeadlineAlert(...)` (experimental in 3.1) with an async callback
              that runs in the Triggerer (hence the callbacks live in plugins/)

Failures: every try that fails posts to the webhook (on_failure_callback); retries back off
exponentially (10 min, 20 min, ... capped at 1 h). Rerunning is safe: a run writes its own
output folder (one per run date) and the audience sync diffs against the last state the
platforms confirmed, so a retry after a partial sync sends only what is still missing.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG

from audiencesync_alerts import deadline_missed, on_failure, on_retry, sla_miss

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

try:
    from airflow import __version__ as AIRFLOW_VERSION
except ImportError:  # pragma: no cover
    AIRFLOW_VERSION = "2.0.0"

AIRFLOW_MAJOR_MINOR = tuple(int(p) for p in AIRFLOW_VERSION.split(".")[:2])

TARGET = os.environ.get("AUDIENCESYNC_TARGET", "dataflow")
SCHEDULE = os.environ.get("AUDIENCESYNC_SCHEDULE", "0 2 * * *")  # 02:00 in the DAG's timezone
FINISH_WITHIN = timedelta(hours=int(os.environ.get("AUDIENCESYNC_FINISH_WITHIN_HOURS", "4")))

# Jinja, evaluated per run. run_date = the day the run covers up to (exclusive): for a 02:00
# run that is today, i.e. the end of the data interval. A manual run can pin it with the
# "run_date" param; an empty run_date lets the pipeline pick the day after the last order.
# (Airflow 3 manual runs have no data interval: run_after stands in; Airflow 2 never gets there.)
RUN_DATE_EXPR = "params.run_date or ((data_interval_end or dag_run.run_after) | ds)"
RUN_DATE = "{{ " + RUN_DATE_EXPR + " }}"
BUCKET = "{{ var.value.audiencesync_bucket }}"
AUDIENCES = "{{ var.value.get('audiencesync_audiences', 'dry_run') }}"

default_args = {
    "owner": "audiencesync",
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(hours=1),
    "execution_timeout": FINISH_WITHIN,
    "on_failure_callback": on_failure,
    "on_retry_callback": on_retry,
}

dag_kwargs = {}
if AIRFLOW_MAJOR_MINOR < (3, 0):
    default_args["sla"] = FINISH_WITHIN
    dag_kwargs["sla_miss_callback"] = sla_miss
elif AIRFLOW_MAJOR_MINOR >= (3, 1):
    from airflow.sdk.definitions.deadline import AsyncCallback, DeadlineAlert, DeadlineReference

    dag_kwargs["deadline"] = DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=FINISH_WITHIN,
        callback=AsyncCallback(deadline_missed, kwargs={"reason": f"not done {FINISH_WITHIN} after the scheduled time"}),
    )

with DAG(
    dag_id="audiencesync_nightly",
    description="Order history -> customer metrics, segments and ad audiences (audiencesync)",
    schedule=SCHEDULE,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # two runs must never sync the same audiences at once
    dagrun_timeout=FINISH_WITHIN + timedelta(hours=2),
    default_args=default_args,
    params={"run_date": ""},
    tags=["audiencesync", TARGET],
    doc_md=__doc__,
    **dag_kwargs,
) as dag:
    if TARGET == "dataflow":
        from airflow.providers.google.cloud.operators.dataflow import DataflowStartFlexTemplateOperator

        nightly = DataflowStartFlexTemplateOperator(
            task_id="nightly",
            project_id="{{ var.value.audiencesync_project }}",
            location="{{ var.value.get('audiencesync_region', 'europe-west1') }}",
            wait_until_finished=True,
            body={
                "launchParameter": {
                    # Dataflow job names: lower case, digits and dashes.
                    "jobName": "audiencesync-nightly-{{ (" + RUN_DATE_EXPR + ") | replace('-', '') }}-try{{ ti.try_number }}",
                    "containerSpecGcsPath": "{{ var.value.audiencesync_template_path }}",
                    "parameters": {
                        "orders": f"gs://{BUCKET}/input/orders/*.csv",
                        "customers": f"gs://{BUCKET}/input/customers/*.csv",
                        "order_lines": f"gs://{BUCKET}/input/order_lines/*.csv",
                        "spend": f"gs://{BUCKET}/input/spend/*.csv",
                        "config": f"gs://{BUCKET}/config/nightly.yaml",
                        "output": f"gs://{BUCKET}/out/{RUN_DATE}",
                        "state_dir": f"gs://{BUCKET}/state",
                        "run_date": RUN_DATE,
                        "audiences": AUDIENCES,
                        "log_format": "json",
                    },
                    "environment": {
                        "serviceAccountEmail": "{{ var.value.audiencesync_service_account }}",
                        "tempLocation": f"gs://{BUCKET}/tmp",
                        "stagingLocation": f"gs://{BUCKET}/staging",
                        "maxWorkers": 10,
                    },
                }
            },
        )
    elif TARGET == "kubernetes":
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
        from airflow.providers.cncf.kubernetes.secret import Secret
        from kubernetes.client import models as k8s

        nightly = KubernetesPodOperator(
            task_id="nightly",
            name="audiencesync-nightly",
            namespace=os.environ.get("AUDIENCESYNC_NAMESPACE", "audiencesync"),
            image=os.environ.get("AUDIENCESYNC_IMAGE", "audiencesync/nightly:latest"),
            service_account_name="audiencesync",
            cmds=["/nightly"],
            arguments=[
                "--orders=/data/input/orders.csv",
                "--customers=/data/input/customers.csv",
                "--order_lines=/data/input/order_lines.csv",
                "--spend=/data/input/spend.csv",
                "--config=/etc/audiencesync/nightly.yaml",
                f"--output=/data/out/{RUN_DATE}",
                "--state_dir=/data/state",
                f"--run_date={RUN_DATE}",
                f"--audiences={AUDIENCES}",
                "--log_format=json",
            ],
            # Platform credentials as files; the config refers to them with file: refs.
            secrets=[Secret("volume", "/var/run/secrets/audiencesync", "audiencesync-platforms")],
            volumes=[
                k8s.V1Volume(name="data", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="audiencesync-data")),
                k8s.V1Volume(name="config", config_map=k8s.V1ConfigMapVolumeSource(name="audiencesync-config")),
            ],
            volume_mounts=[
                k8s.V1VolumeMount(name="data", mount_path="/data"),
                k8s.V1VolumeMount(name="config", mount_path="/etc/audiencesync", read_only=True),
            ],
            container_resources=k8s.V1ResourceRequirements(
                requests={"cpu": "2", "memory": "4Gi"},
                limits={"memory": "6Gi"},
            ),
            get_logs=True,
            on_finish_action="delete_succeeded_pod",
        )
    elif TARGET == "bash":
        nightly = BashOperator(
            task_id="nightly",
            # The trailing space stops Airflow from treating a *.sh path as a template file.
            bash_command=(
                "set -euo pipefail; cd \"${AUDIENCESYNC_HOME:?set AUDIENCESYNC_HOME to the checkout}\"; "
                "bin/nightly --orders=data/input/orders.csv --customers=data/input/customers.csv "
                "--order_lines=data/input/order_lines.csv --spend=data/input/spend.csv "
                f"--config=config/nightly.yaml --output=out/{RUN_DATE} --state_dir=state "
                f"--run_date={RUN_DATE} --audiences={AUDIENCES} --log_format=json "
            ),
            append_env=True,
        )
    else:
        raise ValueError(f"AUDIENCESYNC_TARGET={TARGET!r}: unknown target (known: dataflow, kubernetes, bash)")
