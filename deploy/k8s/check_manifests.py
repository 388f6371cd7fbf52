"""Consistency checks of the Kubernetes manifests (no cluster needed).

Every {file: ...} secret ref in the ConfigMap's nightly.yaml must point into the mounted
Secret and name one of its keys; the CronJob must forbid overlapping runs, mount what the
args read, and carry resource figures. Run: python3 deploy/k8s/check_manifests.py
"""

import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
results = {"passed": 0, "failed": 0}


def check(name, cond, detail=""):
    results["passed" if cond else "failed"] += 1
    if not cond:
        print(f"FAIL {name} {detail}")


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return list(yaml.safe_load_all(f))


def file_refs(node, path=""):
    """Yield (config path, file) for every {file: ...} secret ref."""
    if isinstance(node, dict):
        if set(node) == {"file"}:
            yield path, node["file"]
        for k, v in node.items():
            yield from file_refs(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from file_refs(v, f"{path}[{i}]")


cron = load("cronjob.yaml")[0]
cm = load("config.yaml")[0]
secret = load("secret.example.yaml")[0]
pvc = load("pvc.yaml")[0]
kust = load("kustomization.yaml")[0]

spec = cron["spec"]
pod = spec["jobTemplate"]["spec"]["template"]["spec"]
c = pod["containers"][0]
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}

check("kind CronJob batch/v1", cron["kind"] == "CronJob" and cron["apiVersion"] == "batch/v1")
check("concurrencyPolicy Forbid", spec["concurrencyPolicy"] == "Forbid")
check("nightly schedule", len(spec["schedule"].split()) == 5)
check("restartPolicy Never", pod["restartPolicy"] == "Never")
check("memory request and limit", "memory" in c["resources"]["requests"] and "memory" in c["resources"]["limits"])
check("every mount has a volume", set(mounts) <= set(vols), f"{set(mounts) - set(vols)}")
check("pvc claim name", vols["data"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"])
check("config map name", vols["config"]["configMap"]["name"] == cm["metadata"]["name"])
check("secret name", vols["platform-secrets"]["secret"]["secretName"] == secret["metadata"]["name"])
check("namespaces agree", {cron["metadata"]["namespace"], cm["metadata"]["namespace"], secret["metadata"]["namespace"], pvc["metadata"]["namespace"]} == {"audiencesync"})

args = dict(a[2:].split("=", 1) for a in c["args"])
for flag in ("orders", "customers", "order_lines", "spend", "output", "state_dir"):
    check(f"--{flag} under /data", args[flag].startswith(mounts["data"] + "/") or args[flag] == mounts["data"], args[flag])
check("--config is the mounted file", args["config"] == mounts["config"] + "/" + vols["config"]["configMap"]["items"][0]["path"])
check("--config key exists", vols["config"]["configMap"]["items"][0]["key"] in cm["data"])
check("--audiences from the config map", args["audiences"] == "$(AUDIENCES)" and cm["data"]["audiences"] in ("dry_run", "send", "off"))

cfg = yaml.safe_load(cm["data"]["nightly.yaml"])
refs = list(file_refs(cfg))
check("config has secret refs", len(refs) >= 5, str(refs))
secret_dir = mounts["platform-secrets"]
for path, f in refs:
    check(f"{path} inside the secret mount", os.path.dirname(f) == secret_dir, f)
    check(f"{path} names a secret key", os.path.basename(f) in secret["stringData"], f)
check("no literal secrets in the config", "REPLACE_ME" not in cm["data"]["nightly.yaml"])
check("kustomization lists the manifests", set(kust["resources"]) == {"namespace.yaml", "pvc.yaml", "config.yaml", "cronjob.yaml"})

print(f"{results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
