"""The demo's workflows, on the emulator: three pipelines shaped like the examples on the AWS page
(createCluster.sync → addStep.sync → terminateCluster.sync), driven into the three ways Step Functions leaks a
cluster (stopped, failed, timed out), plus one healthy run and one still running.

    demo_workflows.py deploy --endpoint URL     creates the state machines, starts the runs, waits, prints progress
    demo_workflows.py clusters --endpoint URL   lists the EMR clusters and their states
"""
import argparse
import json
import sys
import time

import boto3

ROLE = "arn:aws:iam::123456789012:role/StepFunctions-EMR"


def cluster(name, core=2):
    return {"Name": name, "ReleaseLabel": "emr-7.1.0", "Applications": [{"Name": "Spark"}],
            "Instances": {"KeepJobFlowAliveWhenNoSteps": True, "InstanceGroups": [
                {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
                {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "r5.2xlarge", "InstanceCount": core}]},
            "JobFlowRole": "EMR_EC2_DefaultRole", "ServiceRole": "EMR_DefaultRole", "VisibleToAllUsers": True}


def pipeline(name, step_name, after_step="Terminate", timeout=None, core=2):
    states = {
        "Create_Cluster": {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
                           "Parameters": cluster(name, core), "ResultPath": "$.cluster", "Next": "Run_Spark_Job"},
        "Run_Spark_Job": {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:addStep.sync",
                          "Parameters": {"ClusterId.$": "$.cluster.ClusterId", "Step": {
                              "Name": step_name, "ActionOnFailure": "CONTINUE",
                              "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "job.py"]}}},
                          "ResultPath": "$.step", "Next": after_step},
        "Terminate": {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:terminateCluster.sync",
                      "Parameters": {"ClusterId.$": "$.cluster.ClusterId"}, "End": True},
        "Bad_Data": {"Type": "Fail", "Error": "DataQualityError", "Cause": "row count check failed"},
    }
    definition = {"Comment": f"{name}: EMR pipeline", "StartAt": "Create_Cluster", "States": states}
    if timeout:
        definition["TimeoutSeconds"] = timeout
    return definition


PIPELINES = [
    # (state machine, step name, next state after the step, execution timeout, what happens)
    ("nightly-etl", "transform#forever", "Terminate", None, "stopped by an operator while its Spark step runs"),
    ("report-builder", "build", "Bad_Data", None, "fails a data-quality check (a Fail state)"),
    ("hourly-aggregates", "aggregate#forever", "Terminate", 10, "times out (execution TimeoutSeconds 10)"),
    ("daily-export", "export", "Terminate", None, "succeeds and terminates its own cluster"),
    ("ml-training", "train#forever", "Terminate", None, "is still running"),
]


def deploy(endpoint):
    session = boto3.session.Session(aws_access_key_id="demo", aws_secret_access_key="demo", region_name="us-east-1")
    sfn = session.client("stepfunctions", endpoint_url=endpoint)
    runs = {}
    for name, step, after, timeout, story in PIPELINES:
        arn = sfn.create_state_machine(name=name, definition=json.dumps(pipeline(name, step, after, timeout)),
                                       roleArn=ROLE)["stateMachineArn"]
        runs[name] = sfn.start_execution(stateMachineArn=arn, name=f"{name}-2026-11-24")["executionArn"]
        print(f"  started {name:18} — it {story}")
    deadline = time.time() + 60
    stopped = False
    while time.time() < deadline:
        statuses = {name: sfn.describe_execution(executionArn=arn)["status"] for name, arn in runs.items()}
        steps_running = [name for name in runs if any(
            e["type"] == "TaskSubmitted" and (e.get("taskSubmittedEventDetails") or {}).get("resource") == "addStep.sync"
            for e in sfn.get_execution_history(executionArn=runs[name])["events"])]
        if not stopped and "nightly-etl" in steps_running:
            sfn.stop_execution(executionArn=runs["nightly-etl"], error="Operator", cause="stopped by hand")
            print("  stopped nightly-etl (StopExecution): no Catch runs, the cluster is left behind")
            stopped = True
        line = "  waiting: " + ", ".join(f"{n} {s}" for n, s in statuses.items())
        print("\r" + line[:118].ljust(118), end="", flush=True)
        done = statuses["report-builder"] == "FAILED" and statuses["hourly-aggregates"] == "TIMED_OUT" \
            and statuses["daily-export"] == "SUCCEEDED" and stopped and statuses["nightly-etl"] == "ABORTED" \
            and "ml-training" in steps_running
        if done:
            print()
            return
        time.sleep(0.5)
    print()
    sys.exit("the demo workflows did not reach their final states within 60 s")


def clusters(endpoint):
    session = boto3.session.Session(aws_access_key_id="demo", aws_secret_access_key="demo", region_name="us-east-1")
    emr = session.client("emr", endpoint_url=endpoint)
    print(f"  {'CLUSTER':17} {'NAME':18} STATE")
    for c in sorted(emr.list_clusters()["Clusters"], key=lambda c: c["Name"]):
        print(f"  {c['Id']:17} {c['Name']:18} {c['Status']['State']}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["deploy", "clusters"])
    parser.add_argument("--endpoint", required=True)
    args = parser.parse_args()
    assert args.endpoint.startswith("http://127."), "the demo only talks to the emulator on loopback"
    deploy(args.endpoint) if args.command == "deploy" else clusters(args.endpoint)


if __name__ == "__main__":
    main()
