"""Randomized reconcile scenarios with a reference model of what CostGuard must do.

    random_scenarios.py --endpoint URL --control URL --seed S --count N --out FILE

Each scenario is its own state machine, run for real on the emulator. Random choices (all from the seed):
- shape: the clusters are created in a plain task, inside a Parallel branch, or in each of 2 Map iterations;
- fate of the creating execution: stopped, failed (Fail state), timed out (execution timeout), succeeded after
  terminating its own clusters, succeeded leaving them, or still running;
- modifiers: the cluster is exempt (tag), termination-protected, terminated by hand afterwards; another state
  machine's RUNNING execution adds steps to the first cluster (shared); the first cluster's id is handed in the
  input of a RUNNING worker that has no EMR task (handoff); someone adds a step to the first cluster by hand after
  its creator ended (busy); the ended execution is redriven (RUNNING again) or marked REDRIVABLE (within the redrive
  grace).
Plus, in every run, an EXPRESS front door and a RUNNING execution that listed clusters: neither may hold anything.
Plus stray clusters created outside any workflow (never discovered, never touched).

The reference model (`expect` per cluster): "terminate" when the creator ended ABORTED, FAILED or TIMED_OUT and the
cluster is not exempt, not protected, not terminated by hand, not used by a RUNNING execution (a step, a hand-off) nor
busy with someone else's step, and the execution is
neither running again nor redrivable; otherwise "keep" (with CostGuard's defaults: grace 0 in the test, redrive
grace 1 h, SUCCEEDED → report only, protection never removed). Writes a JSON list of scenarios with their clusters.
"""
import argparse
import json
import random
import time
import urllib.request

import boto3

from scenarios import ROLE, TERMINATE, cluster_params, clusters_of

FATES = ["stop", "fail", "timeout", "succeed-terminate", "succeed-leave", "running"]
WEIGHTS = [4, 3, 1, 1, 1, 2]
ORPHAN_FATES = {"stop", "fail", "timeout"}


def choose(rng, index):
    fate = rng.choices(FATES, WEIGHTS)[0]
    orphan = fate in ORPHAN_FATES
    spec = {
        "name": f"r{index:04d}-{fate}",
        "shape": rng.choice(["plain", "parallel", "map"]),
        "fate": fate,
        "exempt": orphan and rng.random() < 0.08,
        "protected": orphan and rng.random() < 0.08,
        "byHand": fate in ("stop", "running") and rng.random() < 0.08,
        "shared": orphan and rng.random() < 0.08,
        "handoff": orphan and rng.random() < 0.08,
        "redrive": rng.choice(["redriven", "redrivable"]) if fate in ("fail", "stop") and rng.random() < 0.1 else None,
    }
    spec["busy"] = orphan and not spec["byHand"] and rng.random() < 0.06
    return spec


def definition(spec):
    tags = [{"Key": "costguard:exempt", "Value": "true"}] if spec["exempt"] else None
    create = {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
              "Parameters": cluster_params(spec["name"], tags=tags, protected=spec["protected"]),
              "ResultPath": "$.cluster"}
    inner = {"StartAt": "C", "States": {"C": create}}
    if spec["fate"] == "succeed-terminate":
        create["Next"] = "T"
        inner["States"]["T"] = dict(TERMINATE)
    else:
        create["End"] = True
    if spec["shape"] == "plain":
        states = dict(inner["States"])
        last = "T" if spec["fate"] == "succeed-terminate" else "C"
        body_start, body_last = "C", last
        states[last].pop("End", None)
    else:
        if spec["shape"] == "parallel":
            wrapper = {"Type": "Parallel", "Branches": [inner, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}],
                       "ResultPath": None}
        else:
            wrapper = {"Type": "Map", "ItemsPath": "$.items", "ResultPath": None,
                       "ItemProcessor": dict(inner, ProcessorConfig={"Mode": "INLINE"})}
        states = {"S": wrapper}
        body_start, body_last = "S", "S"
    follow = {
        "stop": {"Type": "Wait", "Seconds": 3600, "End": True},
        "running": {"Type": "Wait", "Seconds": 3600, "End": True},
        "timeout": {"Type": "Wait", "Seconds": 3600, "End": True},
        "fail": {"Type": "Fail", "Error": "Boom", "Cause": "random scenario"},
        "succeed-terminate": {"Type": "Succeed"},
        "succeed-leave": {"Type": "Succeed"},
    }[spec["fate"]]
    states["Z"] = follow
    states[body_last]["Next"] = "Z"
    result = {"StartAt": body_start, "States": states}
    if spec["fate"] == "timeout":
        result["TimeoutSeconds"] = 8
    return result


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    assert args.endpoint.startswith("http://127.") and args.control.startswith("http://127."), "loopback only"
    rng = random.Random(args.seed)
    session = boto3.session.Session(aws_access_key_id="setup", aws_secret_access_key="setup", region_name="us-east-1")
    sfn = session.client("stepfunctions", endpoint_url=args.endpoint)
    emr = session.client("emr", endpoint_url=args.endpoint)
    user = {"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:addStep.sync",
            "Parameters": {"ClusterId.$": "$.ClusterId", "Step": {"Name": "work#forever",
                           "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}}, "End": True}}}
    user_arn = sfn.create_state_machine(name="random-shared-user", definition=json.dumps(user), roleArn=ROLE)["stateMachineArn"]
    # Messy-account fixtures present in every run: a worker with no EMR task that is handed cluster ids, an EXPRESS
    # front door (never listed) and a RUNNING execution that listed clusters (names none). Neither of the last two
    # may hold anything.
    worker = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    worker_arn = sfn.create_state_machine(name="random-handoff-worker", definition=json.dumps(worker), roleArn=ROLE)[
        "stateMachineArn"]
    front = {"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
             "Parameters": {"StateMachineArn": user_arn, "Input": {}}, "End": True}}}
    sfn.create_state_machine(name="random-express-front-door", definition=json.dumps(front), roleArn=ROLE, type="EXPRESS")
    lister = {"StartAt": "L", "States": {"L": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:emr:listClusters",
              "Parameters": {"ClusterStates": ["WAITING"]}, "ResultPath": None, "Next": "W"},
              "W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    lister_arn = sfn.create_state_machine(name="random-lister", definition=json.dumps(lister), roleArn=ROLE)["stateMachineArn"]
    sfn.start_execution(stateMachineArn=lister_arn, name="random-lister-1", input="{}")
    specs = [choose(rng, i) for i in range(args.count)]
    pending = {}
    # Start in waves of 25: the emulated integration calls moto over HTTP, which drops connections under floods.
    for start in range(0, len(specs), 25):
        for spec in specs[start:start + 25]:
            arn = sfn.create_state_machine(name=spec["name"], definition=json.dumps(definition(spec)), roleArn=ROLE)["stateMachineArn"]
            execution = sfn.start_execution(stateMachineArn=arn, name=spec["name"] + "-1", input=json.dumps({"items": [1, 2]}))
            spec["stateMachineArn"], spec["executionArn"] = arn, execution["executionArn"]
            pending[spec["name"]] = spec
        settle(sfn, emr, [s for s in specs[start:start + 25]], args.control, user_arn, worker_arn)
    strays = []
    for i in range(max(1, args.count // 20)):
        strays.append(emr.run_job_flow(**cluster_params(f"stray-{i}"))["JobFlowId"])
    for spec in specs:
        spec.pop("ready", None)
    with open(args.out, "w") as handle:
        json.dump({"seed": args.seed, "scenarios": specs, "strays": strays}, handle, indent=1)


def settle(sfn, emr, specs, control, user_arn, worker_arn):
    """Brings each scenario to its situation, then records its clusters and the model's expectation."""
    deadline = time.time() + 120
    waiting = list(specs)
    while waiting and time.time() < deadline:
        for spec in list(waiting):
            status = sfn.describe_execution(executionArn=spec["executionArn"])["status"]
            expected = 2 if spec["shape"] == "map" else 1
            ids = clusters_of(sfn, spec["executionArn"])
            states = [emr.describe_cluster(ClusterId=i)["Cluster"]["Status"]["State"] for i in ids]
            created = len(ids) >= expected and all(s in ("WAITING", "TERMINATED", "TERMINATING") for s in states)
            fate = spec["fate"]
            if fate in ("stop", "running"):
                if not created:
                    continue
                if fate == "stop":
                    sfn.stop_execution(executionArn=spec["executionArn"])
                    # The stop lands asynchronously: wait for ABORTED before anything else changes the execution.
                    for _ in range(50):
                        if sfn.describe_execution(executionArn=spec["executionArn"])["status"] != "RUNNING":
                            break
                        time.sleep(0.1)
            elif status == "RUNNING":
                continue
            if spec["shared"]:
                sfn.start_execution(stateMachineArn=user_arn, name=spec["name"] + "-user", input=json.dumps({"ClusterId": ids[0]}))
            if spec["handoff"]:
                sfn.start_execution(stateMachineArn=worker_arn, name=spec["name"] + "-worker",
                                    input=json.dumps({"job": {"cluster": ids[0], "queue": "nightly"}}))
            if spec["busy"]:
                emr.add_job_flow_steps(JobFlowId=ids[0], Steps=[{"Name": "adhoc", "ActionOnFailure": "CONTINUE",
                                       "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}])
            if spec["byHand"]:
                emr.set_termination_protection(JobFlowIds=ids, TerminationProtected=False)
                emr.terminate_job_flows(JobFlowIds=ids)
            if spec["redrive"] == "redriven":
                post(control + "/redrive", {"executionArn": spec["executionArn"]})
            elif spec["redrive"] == "redrivable":
                post(control + "/redrive-status", {"executionArn": spec["executionArn"], "redriveStatus": "REDRIVABLE"})
            final = sfn.describe_execution(executionArn=spec["executionArn"])["status"]
            spec["executionStatus"] = final
            spec["clusterIds"] = ids
            if spec["redrive"] == "redriven" and final != "RUNNING":
                raise SystemExit(f"{spec['name']}: redriven but {final}")
            # From what the execution is now: a redriven one is RUNNING; a REDRIVABLE one is within its grace.
            orphaned = final in ("ABORTED", "FAILED", "TIMED_OUT") and spec["redrive"] != "redrivable"
            keep_all = spec["exempt"] or spec["protected"] or spec["byHand"] or not orphaned
            in_use = spec["shared"] or spec["handoff"] or spec["busy"]
            spec["expect"] = {cid: ("keep" if keep_all or (in_use and cid == ids[0]) else "terminate") for cid in ids}
            waiting.remove(spec)
        time.sleep(0.3)
    if waiting:
        raise SystemExit(f"scenarios did not reach their situation in time: {[s['name'] for s in waiting]}")
    # The shared users must be running (their step never ends) before CostGuard looks.
    time.sleep(1)


if __name__ == "__main__":
    main()
