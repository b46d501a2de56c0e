"""Creates the reconcile scenarios on a running emulator with real Step Functions executions, waits until each
reaches its situation, and writes a JSON description (cluster ids and what CostGuard must do with them).

    scenarios.py --endpoint URL --out FILE [--only NAME,NAME]

Every scenario uses its own state machine. Expectation keys: "terminate" (CostGuard must terminate the cluster),
"keep" (it must not touch it), and the disposition the report must show.
"""
import argparse
import json
import time

import boto3

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sfn"


def cluster_params(name, tags=None, protected=False, startup=None):
    tags = list(tags or [])
    if startup:
        tags.append({"Key": "costguard-emulator:startup-seconds", "Value": str(startup)})
    instances = {"KeepJobFlowAliveWhenNoSteps": True, "TerminationProtected": protected, "InstanceGroups": [
        {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
        {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 2}]}
    params = {"Name": name, "ReleaseLabel": "emr-7.0.0", "Instances": instances,
              "JobFlowRole": "EMR_EC2_DefaultRole", "ServiceRole": "EMR_DefaultRole"}
    if tags:
        params["Tags"] = tags
    return params


def create(name, next_state=None, **kwargs):
    state = {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
             "Parameters": cluster_params(name, **kwargs), "ResultPath": "$.cluster"}
    if next_state:
        state["Next"] = next_state
    else:
        state["End"] = True
    return state


def machine(start, states, timeout=None):
    definition = {"StartAt": start, "States": states}
    if timeout:
        definition["TimeoutSeconds"] = timeout
    return definition


WAIT_LONG = {"Type": "Wait", "Seconds": 3600, "End": True}
TERMINATE = {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:terminateCluster.sync",
             "Parameters": {"ClusterId.$": "$.cluster.ClusterId"}, "End": True}

SCENARIOS = {
    # name: (definition, action after start, expectation, disposition)
    "stopped-while-starting": (machine("C", {"C": create("starting", startup=120)}), "stop-when-cluster", "terminate", "terminated"),
    "stopped-while-waiting": (machine("C", {"C": create("waiting", "W"), "W": WAIT_LONG}), "stop-when-waiting", "terminate", "terminated"),
    "failed": (machine("C", {"C": create("failed", "F"), "F": {"Type": "Fail", "Error": "Boom", "Cause": "test"}}), "wait-end", "terminate", "terminated"),
    "timed-out": (machine("C", {"C": create("timedout", "W"), "W": WAIT_LONG}, timeout=4), "wait-end", "terminate", "terminated"),
    "succeeded-terminated-itself": (machine("C", {"C": create("selfterm", "T"), "T": TERMINATE}), "wait-end", "keep", "ended"),
    "succeeded-left-running": (machine("C", {"C": create("leftover")}), "wait-end", "keep", "report-only"),
    "still-running": (machine("C", {"C": create("running", "W"), "W": WAIT_LONG}), "wait-cluster", "keep", "live"),
    "exempt": (machine("C", {"C": create("exempt", "W", tags=[{"Key": "costguard:exempt", "Value": "true"}]), "W": WAIT_LONG}), "stop-when-waiting", "keep", "exempt"),
    "protected": (machine("C", {"C": create("protected", "W", protected=True), "W": WAIT_LONG}), "stop-when-waiting", "keep", "protected"),
    "parallel-branch": (machine("P", {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "C", "States": {"C": create("parallel", "W"), "W": WAIT_LONG}},
        {"StartAt": "X", "States": {"X": {"Type": "Wait", "Seconds": 3600, "End": True}}}]}}), "stop-when-waiting", "terminate", "terminated"),
    "map-iteration": (machine("M", {"M": {"Type": "Map", "ItemsPath": "$.items", "End": True, "ItemProcessor": {
        "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "C", "States": {"C": create("mapped", "W"), "W": WAIT_LONG}}}}),
        "stop-when-waiting", "terminate", "terminated"),
    # The creator is stopped; a RUNNING execution of another state machine keeps adding steps to its cluster.
    "shared": (machine("C", {"C": create("shared", "W"), "W": WAIT_LONG}), "stop-and-share", "keep", "shared"),
    "terminated-by-hand": (machine("C", {"C": create("byhand", "W"), "W": WAIT_LONG}), "stop-then-terminate", "keep", "ended"),
}


def clusters_of(sfn, execution_arn):
    """The cluster ids an execution's history shows it created (createCluster task output), in order."""
    ids = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        for event in page["events"]:
            for key in ("taskSubmittedEventDetails", "taskSucceededEventDetails"):
                details = event.get(key) or {}
                if details.get("resource", "").startswith("createCluster") and details.get("output"):
                    cluster = json.loads(details["output"]) or {}
                    if cluster.get("ClusterId") and cluster["ClusterId"] not in ids:
                        ids.append(cluster["ClusterId"])
    return ids


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    assert args.endpoint.startswith("http://127."), "loopback only"
    session = boto3.session.Session(aws_access_key_id="setup", aws_secret_access_key="setup", region_name="us-east-1")
    sfn = session.client("stepfunctions", endpoint_url=args.endpoint)
    emr = session.client("emr", endpoint_url=args.endpoint)
    chosen = [n for n in SCENARIOS if not args.only or n in args.only.split(",")]
    started = {}
    for name in chosen:
        definition, _, _, _ = SCENARIOS[name]
        arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn, name=f"{name}-1",
                                        input=json.dumps({"items": [1, 2]} if name == "map-iteration" else {}))
        started[name] = (arn, execution["executionArn"])

    expected_clusters = {name: (2 if name == "map-iteration" else 1) for name in chosen}
    result = {}
    pending = set(chosen)
    deadline = time.time() + 60
    while pending and time.time() < deadline:
        for name in sorted(pending):
            arn, execution_arn = started[name]
            _, action, expectation, disposition = SCENARIOS[name]
            status = sfn.describe_execution(executionArn=execution_arn)["status"]
            ids = clusters_of(sfn, execution_arn)
            states = [emr.describe_cluster(ClusterId=i)["Cluster"]["Status"]["State"] for i in ids]
            have_all = len(ids) >= expected_clusters[name]
            done = False
            if action == "stop-when-cluster" and have_all:
                sfn.stop_execution(executionArn=execution_arn)
                done = True
            elif action in ("stop-when-waiting", "stop-then-terminate") and have_all and all(s == "WAITING" for s in states):
                sfn.stop_execution(executionArn=execution_arn)
                if action == "stop-then-terminate":
                    emr.terminate_job_flows(JobFlowIds=ids)
                done = True
            elif action == "stop-and-share" and have_all and all(s == "WAITING" for s in states):
                user = {"StartAt": "S", "States": {"S": {"Type": "Task",
                        "Resource": "arn:aws:states:::elasticmapreduce:addStep.sync",
                        "Parameters": {"ClusterId.$": "$.ClusterId", "Step": {"Name": "work#forever",
                                       "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}}, "End": True}}}
                user_arn = sfn.create_state_machine(name="shared-user", definition=json.dumps(user), roleArn=ROLE)["stateMachineArn"]
                sfn.start_execution(stateMachineArn=user_arn, name="shared-user-1", input=json.dumps({"ClusterId": ids[0]}))
                time.sleep(1)
                sfn.stop_execution(executionArn=execution_arn)
                done = True
            elif action == "wait-end" and status != "RUNNING":
                done = True
            elif action == "wait-cluster" and have_all and all(s == "WAITING" for s in states):
                done = True
            if done:
                pending.discard(name)
                final = sfn.describe_execution(executionArn=execution_arn)["status"]
                result[name] = {"stateMachineArn": arn, "executionArn": execution_arn, "clusterIds": clusters_of(sfn, execution_arn),
                                "executionStatus": final, "expect": expectation, "disposition": disposition}
        time.sleep(0.3)
    if pending:
        raise SystemExit(f"scenarios did not reach their situation in time: {sorted(pending)}")
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
