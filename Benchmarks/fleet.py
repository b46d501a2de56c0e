"""Builds an account-sized fleet on a running CostGuard emulator (Tests/Emulator/costguard_emulator.py serve with a
control port), through its Step Functions and EMR APIs plus two bulk controls where real runs would take minutes.

    fleet.py --endpoint URL --control URL [--machines 100] [--emr-machines 20] [--executions 10000]
             [--billing 1000] [--done-with-cluster 200] --out FILE

The fleet:
- `machines - emr_machines` state machines with no EMR task (Pass → Succeed); CostGuard reads their definitions
  once and never lists their executions.
- `emr_machines` state machines: Choice on `$.create` → createCluster (request-response) → Wait `$.hold` →
  terminateCluster, or → Pass when there is nothing to process. Per machine, real executions: `billing /
  emr_machines` that created a cluster and hold it (RUNNING, cluster WAITING: billing), `done_with_cluster /
  emr_machines` that created and terminated their own cluster (SUCCEEDED), and one that skipped (SUCCEEDED);
  the rest of the executions are copies of that skipped run (`/bulk-clone`: same status and history, older
  start dates), the ended bulk that an account accumulates.
Writes a JSON summary: counts, the ARNs of the EMR machines, the billing cluster ids.
"""
import argparse
import json
import time
import urllib.request

import boto3

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sfn"


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def emr_definition(index):
    instances = {"KeepJobFlowAliveWhenNoSteps": True, "InstanceGroups": [
        {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
        {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m5.2xlarge", "InstanceCount": 4}]}
    return {"Comment": f"nightly ETL {index}", "StartAt": "Route", "States": {
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.create", "BooleanEquals": True, "Next": "Create"}],
                  "Default": "Nothing"},
        "Nothing": {"Type": "Pass", "End": True},
        "Create": {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:createCluster",
                   "Parameters": {"Name": f"etl-{index}", "ReleaseLabel": "emr-7.0.0", "Instances": instances,
                                  "JobFlowRole": "EMR_EC2_DefaultRole", "ServiceRole": "EMR_DefaultRole"},
                   "ResultPath": "$.cluster", "Next": "Hold"},
        "Hold": {"Type": "Wait", "SecondsPath": "$.hold", "Next": "Terminate"},
        "Terminate": {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:terminateCluster",
                      "Parameters": {"ClusterId.$": "$.cluster.ClusterId"}, "End": True}}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--machines", type=int, default=100)
    parser.add_argument("--emr-machines", type=int, default=20)
    parser.add_argument("--executions", type=int, default=10000)
    parser.add_argument("--billing", type=int, default=1000)
    parser.add_argument("--done-with-cluster", type=int, default=200)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    for url in (args.endpoint, args.control):
        if not url.startswith("http://127."):
            raise SystemExit("the emulator must be on loopback")
    session = boto3.session.Session(aws_access_key_id="fleet", aws_secret_access_key="fleet", region_name="us-east-1")
    sfn = session.client("stepfunctions", endpoint_url=args.endpoint)
    emr = session.client("emr", endpoint_url=args.endpoint)
    started = time.monotonic()
    plain = json.dumps({"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": True}}})
    emr_arns = []
    for index in range(args.machines):
        if index % (args.machines // args.emr_machines) == 0 and len(emr_arns) < args.emr_machines:
            arn = sfn.create_state_machine(name=f"etl-{index:03d}", definition=json.dumps(emr_definition(index)),
                                           roleArn=ROLE)["stateMachineArn"]
            emr_arns.append(arn)
        else:
            sfn.create_state_machine(name=f"app-{index:03d}", definition=plain, roleArn=ROLE)
    per_machine = args.executions // args.emr_machines
    holding = args.billing // args.emr_machines
    done = args.done_with_cluster // args.emr_machines
    templates = []
    for machine_index, arn in enumerate(emr_arns):
        # One machine at a time, replacing runs that failed: the emulated EMR integration calls the emulator over
        # HTTP, and moto's server drops connections when hundreds of executions start at once.
        prefix = f"m{machine_index:02d}"
        post(args.control + "/bulk-start", {"stateMachineArn": arn, "input": json.dumps({"create": False}),
                                           "names": [f"{prefix}-skip-template"]})
        want = {"done": (done, "SUCCEEDED", {"create": True, "hold": 0}),
                "hold": (holding, "RUNNING", {"create": True, "hold": 86400})}
        attempt = 0
        while True:
            counts = {kind: 0 for kind in want}
            settled = True
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                for execution in page["executions"]:
                    kind = execution["name"].split("-")[1]
                    if kind == "done" and execution["status"] == "RUNNING":
                        settled = False
                    if kind in want and execution["status"] == want[kind][1]:
                        counts[kind] += 1
            if settled and attempt > 0 and all(counts[k] >= want[k][0] for k in want):
                break
            if settled:
                for kind, (number, _, payload) in want.items():
                    missing = number - counts[kind]
                    if missing > 0:
                        post(args.control + "/bulk-start", {"stateMachineArn": arn, "input": json.dumps(payload),
                                                           "names": [f"{prefix}-{kind}-{attempt}-{i:04d}" for i in range(missing)]})
                attempt += 1
                if attempt > 20:
                    raise SystemExit(f"{arn}: executions keep failing to start")
            time.sleep(1 if attempt else 0)
        templates.append(f"{arn.replace(':stateMachine:', ':execution:')}:{prefix}-skip-template")
    # Hold executions may still be creating their cluster: wait until every one holds a billing cluster.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        billing = sum(len(page["Clusters"]) for page in emr.get_paginator("list_clusters").paginate(
            ClusterStates=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]))
        if billing >= holding * len(emr_arns):
            break
        time.sleep(1)
    for machine_index, template in enumerate(templates):
        arn = emr_arns[machine_index]
        existing = sum(len(page["executions"]) for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn))
        post(args.control + "/bulk-clone", {"templateExecutionArn": template, "spacingSeconds": 60,
                                           "names": [f"m{machine_index:02d}-skip-{i:05d}" for i in range(per_machine - existing)]})
    running = sum(len(page["executions"]) for arn in emr_arns for page in
                  sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING"))
    total = sum(len(page["executions"]) for arn in emr_arns for page in
                sfn.get_paginator("list_executions").paginate(stateMachineArn=arn))
    billing = []
    for page in emr.get_paginator("list_clusters").paginate(ClusterStates=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]):
        billing += [cluster["Id"] for cluster in page["Clusters"]]
    summary = {"machines": args.machines, "emrMachines": emr_arns, "executions": total,
               "running": running, "billingClusters": sorted(billing),
               "seconds": round(time.monotonic() - started, 1)}
    with open(args.out, "w") as handle:
        json.dump(summary, handle)
    print(f"fleet: {args.machines} state machines ({len(emr_arns)} with EMR tasks), {summary['executions']} executions "
          f"({summary['running']} RUNNING), {len(billing)} billing clusters, built in {summary['seconds']} s")


if __name__ == "__main__":
    main()
