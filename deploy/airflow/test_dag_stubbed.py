"""Smoke test of audiencesync_nightly.py without Airflow (it is not installable here).

Stubs the few Airflow, provider and kubernetes names the DAG imports, loads the DAG for
each target and for Airflow 2.10 / 3.0 / 3.1, and checks what each version should get
(SLA, nothing, deadline), the retry policy, and that the Jinja templates render the
expected run date and Dataflow job name (with jinja2 when it is installed).

Run: python3 deploy/airflow/test_dag_stubbed.py   (prints "N passed, M failed")
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = {"passed": 0, "failed": 0}


def check(name, cond, detail=""):
    if cond:
        RESULTS["passed"] += 1
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name} {detail}")


class Op:
    """Records an operator's keyword arguments."""

    created = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        Op.created.append(self)


class DAG:
    last = None

    def __init__(self, dag_id, **kwargs):
        self.dag_id = dag_id
        self.kwargs = kwargs
        DAG.last = self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Anything:
    """Stands in for kubernetes models and deadline classes: records its arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __getattr__(self, name):
        return name


def install_stubs(version):
    for name in list(sys.modules):
        if name == "airflow" or name.startswith(("airflow.", "kubernetes")) or name in ("audiencesync_nightly", "audiencesync_alerts"):
            del sys.modules[name]

    def mod(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    mod("airflow", DAG=DAG, __version__=version)
    bash = type("BashOperator", (Op,), {})
    if version.startswith("3"):
        mod("airflow.providers.standard.operators.bash", BashOperator=bash)
    else:
        mod("airflow.operators.bash", BashOperator=bash)
    mod("airflow.providers.google.cloud.operators.dataflow", DataflowStartFlexTemplateOperator=type("Flex", (Op,), {}))
    mod("airflow.providers.cncf.kubernetes.operators.pod", KubernetesPodOperator=type("Pod", (Op,), {}))
    mod("airflow.providers.cncf.kubernetes.secret", Secret=Anything)
    mod("kubernetes.client", models=types.SimpleNamespace(
        V1Volume=Anything, V1PersistentVolumeClaimVolumeSource=Anything, V1ConfigMapVolumeSource=Anything,
        V1VolumeMount=Anything, V1ResourceRequirements=Anything))
    mod("airflow.sdk.definitions.deadline", AsyncCallback=Anything, DeadlineAlert=Anything,
        DeadlineReference=types.SimpleNamespace(DAGRUN_LOGICAL_DATE="DAGRUN_LOGICAL_DATE", DAGRUN_QUEUED_AT="DAGRUN_QUEUED_AT"))


def load(version, target):
    install_stubs(version)
    os.environ["AUDIENCESYNC_TARGET"] = target
    Op.created.clear()
    for p in (HERE, os.path.join(HERE, "plugins")):
        if p not in sys.path:
            sys.path.insert(0, p)
    mod = importlib.import_module("audiencesync_nightly")
    return mod, DAG.last, Op.created[-1]


def render(template, **ctx):
    try:
        import jinja2
    except ImportError:
        return None
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["ds"] = lambda d: d.strftime("%Y-%m-%d")

    class VarValue(dict):
        def get(self, k, default=None):  # Airflow's var.value.get(name, default)
            return dict.get(self, k, default)

        def __getattr__(self, k):
            return self[k]

    ctx.setdefault("var", types.SimpleNamespace(value=VarValue(audiencesync_bucket="shop-bucket")))
    ctx.setdefault("ti", types.SimpleNamespace(try_number=1))
    return env.from_string(template).render(**ctx)


def main():
    for version, want in (("2.10.5", "sla"), ("3.0.6", "none"), ("3.1.3", "deadline")):
        for target in ("dataflow", "kubernetes", "bash"):
            _, dag, op = load(version, target)
            k, da = dag.kwargs, dag.kwargs["default_args"]
            tag = f"[{version} {target}]"
            check(tag + " dag id", dag.dag_id == "audiencesync_nightly")
            check(tag + " task id", op.kwargs["task_id"] == "nightly")
            check(tag + " one run at a time", k["max_active_runs"] == 1)
            check(tag + " no catchup", k["catchup"] is False)
            check(tag + " retries", da["retries"] == 2 and da["retry_exponential_backoff"] is True
                  and da["max_retry_delay"] == timedelta(hours=1))
            check(tag + " failure alert", da["on_failure_callback"].__name__ == "on_failure")
            check(tag + " sla only on 2.x", ("sla" in da) == (want == "sla") and ("sla_miss_callback" in k) == (want == "sla"))
            check(tag + " deadline only on 3.1+", ("deadline" in k) == (want == "deadline"))
            if want == "deadline":
                check(tag + " deadline 4h after logical date", k["deadline"].kwargs["interval"] == timedelta(hours=4)
                      and k["deadline"].kwargs["reference"] == "DAGRUN_LOGICAL_DATE")

    # Templates: a scheduled 02:00 run on 2026-11-27 covers data up to (not including) that day.
    mod, _, op = load("2.10.5", "dataflow")
    lp = op.kwargs["body"]["launchParameter"]
    end = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
    got = render(mod.RUN_DATE, params={"run_date": ""}, data_interval_end=end, dag_run=None)
    if got is None:
        print("jinja2 not installed: templates not rendered")
    else:
        check("scheduled run_date", got == "2026-11-27", got)
        check("pinned run_date", render(mod.RUN_DATE, params={"run_date": "2026-11-20"}, data_interval_end=end, dag_run=None) == "2026-11-20")
        manual = types.SimpleNamespace(run_after=datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc))
        check("Airflow 3 manual run_date", render(mod.RUN_DATE, params={"run_date": ""}, data_interval_end=None, dag_run=manual) == "2026-11-28")
        name = render(lp["jobName"], params={"run_date": ""}, data_interval_end=end, dag_run=None)
        check("dataflow job name", name == "audiencesync-nightly-20261127-try1", name)
        out = render(lp["parameters"]["output"], params={"run_date": ""}, data_interval_end=end, dag_run=None)
        check("output folder per day", out == "gs://shop-bucket/out/2026-11-27", out)
        aud = render(lp["parameters"]["audiences"])
        check("audiences default dry_run", aud == "dry_run", aud)
    check("template parameters are pipeline flags", set(lp["parameters"]) <= {
        "orders", "customers", "order_lines", "spend", "config", "output", "state_dir", "run_date", "audiences", "log_format"})

    # An unknown target is refused at parse time with the known ones listed.
    try:
        load("2.10.5", "spark")
        check("unknown target refused", False)
    except ValueError as err:
        check("unknown target refused", "known: dataflow, kubernetes, bash" in str(err))

    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
