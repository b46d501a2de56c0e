"""Creates a messy account on a running emulator (real Step Functions executions), as platform teams' accounts look,
with plain orphans beside the oddities, waits until each case reaches its situation, and writes a JSON description
in the shape scenarios.py writes (cluster ids, what CostGuard must do, the disposition the ledger must show).

    messy_scenarios.py --endpoint URL --out FILE

Cases (see issue "Real accounts are messy"):
    plain-stopped, plain-failed   orphans that must be terminated whatever else is in the account
    express-front-door            an EXPRESS machine whose only task starts a Standard pipeline (never listed)
    sdk-list-running              a RUNNING execution that called aws-sdk:emr:listClusters (names no cluster)
    sdk-tags-running              a stopped creator; a RUNNING execution tagged its cluster (aws-sdk:emr:addTags)
    handoff-input                 a stopped creator; a RUNNING worker with no EMR task was handed the id in its input
    handoff-worker                a stopped creator whose id was handed to a worker that waits before its addStep
    busy-by-hand                  a stopped creator's cluster that someone then gave a step by hand (kept: busy)
    own-step                      a creator stopped while its own addStep ran (its step: an orphan)
    jsonata-creator               a JSONata creator (Arguments, Assign), stopped: an orphan
    variable-handoff              a stopped creator whose cluster a RUNNING JSONata execution holds in a variable
    deleted-machine               a RUNNING creator whose state machine the test deletes after the first pass (with
                                  deleted-bystander, a machine with no EMR task and a RUNNING execution)
    refused-*                     a dozen orphans, one of which AWS refuses to terminate (emulated SCP deny)
    cross-account                 a cluster created through Credentials.RoleArn in account 222222222222
    versioned-prod/-canary        executions started through aliases on version 1 (creates a cluster) of a state machine
                                  whose latest revision has no EMR task; canary's alias is exempt by pattern
    made-by-hand                  a cluster no workflow created (reported untracked, never acted on)
    self-terminating-step         a FAILED creator's AutoTerminate cluster still running its create-time step: left to
                                  end itself (self-terminating)
    self-terminating-idle         a FAILED creator's cluster with a 30 min auto-termination policy: self-terminating
    autoterminate-stopped         a STOPPED creator's AutoTerminate cluster running its step: stopped on purpose, an orphan
    instance-group-user           a stopped creator's cluster whose core group a RUNNING execution resized by instance
                                  group id only (aws-sdk:emr:modifyInstanceGroups, no ClusterId): kept (shared)
    idle-timeout-long             a FAILED creator's cluster whose idle timeout (7 days) outlasts the wait: an orphan
"""
import argparse
import json
import time

import boto3

from scenarios import ROLE, WAIT_LONG, cluster_params, clusters_of, create, machine

OTHER_ACCOUNT = "222222222222"
WAIT_THEN = lambda next_state: {"Type": "Wait", "Seconds": 3600, "Next": next_state}  # noqa: E731
FAIL = {"Type": "Fail", "Error": "Boom", "Cause": "test"}


def sdk(action, parameters, next_state=None):
    state = {"Type": "Task", "Resource": f"arn:aws:states:::aws-sdk:emr:{action}", "Parameters": parameters,
             "ResultPath": None}
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


def ending(name, next_state, auto_terminate=False, idle_timeout=None):
    """A create task for a cluster that ends itself: AutoTerminate (KeepJobFlowAliveWhenNoSteps false) with a
    create-time step that runs until the test ends, and/or an auto-termination policy."""
    state = create(name, next_state)
    params = state["Parameters"]
    if auto_terminate:
        params["Instances"]["KeepJobFlowAliveWhenNoSteps"] = False
        params["Steps"] = [{"Name": "nightly#forever", "ActionOnFailure": "CONTINUE",
                            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}]
    if idle_timeout:
        params["AutoTerminationPolicy"] = {"IdleTimeout": idle_timeout}
    return state


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    assert args.endpoint.startswith("http://127."), "loopback only"
    session = boto3.session.Session(aws_access_key_id="setup", aws_secret_access_key="setup", region_name="us-east-1")
    sfn = session.client("stepfunctions", endpoint_url=args.endpoint)
    emr = session.client("emr", endpoint_url=args.endpoint)

    def make(name, definition, **kwargs):
        return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE, **kwargs)[
            "stateMachineArn"]

    def start(arn, name, payload=None):
        return sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload or {}))["executionArn"]

    result = {}

    def record(name, arn, execution_arn, ids, expect, disposition):
        result[name] = {"stateMachineArn": arn, "executionArn": execution_arn, "clusterIds": ids,
                        "executionStatus": sfn.describe_execution(executionArn=execution_arn)["status"],
                        "expect": expect, "disposition": disposition}

    def wait_for(condition, what, seconds=60):
        deadline = time.time() + seconds
        while time.time() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.3)
        raise SystemExit(f"{what} did not happen in time")

    def waiting_clusters(execution_arn, count=1):
        def ready():
            ids = clusters_of(sfn, execution_arn)
            states = [emr.describe_cluster(ClusterId=i)["Cluster"]["Status"]["State"] for i in ids]
            return ids if len(ids) >= count and all(s == "WAITING" for s in states) else None
        return wait_for(ready, f"clusters of {execution_arn}")

    def ended(execution_arn):
        wait_for(lambda: sfn.describe_execution(executionArn=execution_arn)["status"] != "RUNNING", execution_arn)

    # Plain orphans: stopped while waiting, failed.
    stopped = make("plain-stopped", machine("C", {"C": create("plain-stopped", "W"), "W": WAIT_LONG}))
    stopped_run = start(stopped, "plain-stopped-1")
    failed = make("plain-failed", machine("C", {"C": create("plain-failed", "F"), "F": FAIL}))
    failed_run = start(failed, "plain-failed-1")

    # An EXPRESS front door in front of a Standard pipeline: CostGuard must not list it (AWS refuses).
    make("express-front-door", machine("S", {"S": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
         "Parameters": {"StateMachineArn": stopped, "Input": {}}, "End": True}}), type="EXPRESS")

    # A RUNNING execution that listed clusters (names none): no problem, holds nothing.
    lister = make("sdk-list-running", machine("L", {"L": sdk("listClusters", {"ClusterStates": ["WAITING"]}, "W"),
                  "W": WAIT_LONG}))
    lister_run = start(lister, "sdk-list-running-1")

    # A stopped creator whose cluster a RUNNING execution tagged (aws-sdk:emr:addTags names it as ResourceId).
    tagged = make("sdk-tags-running", machine("C", {"C": create("sdk-tags", "W"), "W": WAIT_LONG}))
    tagged_run = start(tagged, "sdk-tags-running-1")

    # A stopped creator whose cluster id was handed to a worker with no EMR task (its input).
    handed = make("handoff-input", machine("C", {"C": create("handoff-input", "W"), "W": WAIT_LONG}))
    handed_run = start(handed, "handoff-input-1")
    idle_worker = make("handoff-input-worker", machine("W", {"W": WAIT_LONG}))

    # A creator that hands its cluster id to a worker, then fails; the worker has an addStep task it has not reached
    # yet. (moto 5.2.5's interpreter fails both `states:startExecution` and `aws-sdk:sfn:startExecution` with a
    # KeyError 'StateMachineArn', so the worker is started here with the input the creator would give it; reading a
    # child's input from the creator's startExecution parameters is covered by DiscoveryTests.)
    worker = make("handoff-worker", machine("W", {"W": WAIT_THEN("A"), "A": {"Type": "Task",
                  "Resource": "arn:aws:states:::elasticmapreduce:addStep.sync", "Parameters": {"ClusterId.$": "$.ClusterId",
                  "Step": {"Name": "work", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}}, "End": True}}))
    parent = make("handoff-worker-creator", machine("C", {"C": create("handoff-worker", "W"), "W": WAIT_LONG}))
    parent_run = start(parent, "handoff-worker-creator-1")

    # A stopped creator's cluster that someone then gives a step by hand: busy, kept. And one whose only running step
    # is the creator's own (addStep.sync, stopped while it ran): the workflow's, so it is an orphan.
    busy = make("busy-by-hand", machine("C", {"C": create("busy", "W"), "W": WAIT_LONG}))
    busy_run = start(busy, "busy-by-hand-1")
    own = make("own-step", machine("C", {"C": create("own-step", "A"), "A": {"Type": "Task",
               "Resource": "arn:aws:states:::elasticmapreduce:addStep.sync", "Parameters": {"ClusterId.$": "$.cluster.ClusterId",
               "Step": {"Name": "nightly#forever", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}},
               "End": True}}))
    own_run = start(own, "own-step-1")

    # A creator still RUNNING whose state machine the test deletes after the first pass (AWS deletes the machine's
    # executions with it): once DescribeExecution and DescribeStateMachine both say it is gone, an orphan.
    doomed = make("deleted-machine", machine("C", {"C": create("deleted-machine", "W"), "W": WAIT_LONG}))
    doomed_run = start(doomed, "deleted-machine-1")
    # A state machine with no EMR task and a RUNNING execution (followed once the hand-off scan has seen it), also
    # deleted after the first pass: it must hold nothing afterwards.
    bystander = make("deleted-bystander", machine("W", {"W": WAIT_LONG}))
    start(bystander, "deleted-bystander-1")

    # JSONata: a creator written in JSONata (Arguments, Assign), stopped: an orphan like any other. And a stopped
    # creator whose cluster a RUNNING JSONata execution found by name (aws-sdk:emr:listClusters) and kept in a
    # variable ($target) for a later step: only the variable names it, and it is kept.
    jsonata_create = {"Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
                      "Arguments": create("jsonata-created")["Parameters"],
                      "Assign": {"clusterId": "{% $states.result.ClusterId %}"}, "Next": "W"}
    jsonata_creator = make("jsonata-creator", {"QueryLanguage": "JSONata", "StartAt": "C",
                           "States": {"C": jsonata_create, "W": WAIT_LONG}})
    jsonata_run = start(jsonata_creator, "jsonata-creator-1")
    adopted = make("variable-handoff", machine("C", {"C": create("jsonata-adopted", "W"), "W": WAIT_LONG}))
    adopted_run = start(adopted, "variable-handoff-1")
    finder = make("variable-handoff-finder", {"QueryLanguage": "JSONata", "StartAt": "L", "States": {
        "L": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:emr:listClusters",
              "Arguments": {"ClusterStates": ["WAITING"]},
              "Assign": {"target": "{% $states.result.Clusters[Name = 'jsonata-adopted'].Id %}"}, "Next": "W"},
        "W": WAIT_LONG}})

    # Versions and aliases: version 1 creates a cluster, the latest revision (version 2) has no EMR task. Executions
    # started through the aliases "prod" and "canary" (both on version 1) run version 1: classified by what they
    # ran, not by the latest revision. "canary" is exempt by an alias pattern in the test's configuration.
    versioned_v1 = machine("C", {"C": create("versioned-prod", "W"), "W": WAIT_LONG})
    versioned = sfn.create_state_machine(name="versioned-pipeline", definition=json.dumps(versioned_v1), roleArn=ROLE,
                                         publish=True)
    version_1 = versioned["stateMachineVersionArn"]
    sfn.update_state_machine(stateMachineArn=versioned["stateMachineArn"], publish=True, definition=json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    aliases = {}
    for alias in ("prod", "canary"):
        aliases[alias] = sfn.create_state_machine_alias(name=alias, routingConfiguration=[
            {"stateMachineVersionArn": version_1, "weight": 100}])["stateMachineAliasArn"]
    prod_run = start(aliases["prod"], "versioned-prod-1")
    canary_run = start(aliases["canary"], "versioned-canary-1")

    # A dozen orphans; AWS refuses to terminate one of them.
    refused = []
    for index in range(12):
        tags = [{"Key": "costguard-emulator:refuse-termination", "Value": "scp"}] if index == 5 else None
        arn = make(f"refused-{index:02d}", machine("C", {"C": create(f"refused-{index:02d}", "F", tags=tags), "F": FAIL}))
        refused.append((f"refused-{index:02d}", arn, start(arn, f"refused-{index:02d}-1"), index == 5))

    # A cluster created in another account (Credentials.RoleArn): not observable from this one.
    remote_state = create("cross-account", "W")
    remote_state["Credentials"] = {"RoleArn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/emr-creator"}
    remote = make("cross-account", machine("C", {"C": remote_state, "W": WAIT_LONG}))
    remote_run = start(remote, "cross-account-1")

    # A stopped creator's cluster whose core group a RUNNING execution resizes by group id alone.
    resized = make("instance-group-user", machine("C", {"C": create("instance-group-user", "W"), "W": WAIT_LONG}))
    resized_run = start(resized, "instance-group-user-1")
    resizer = make("instance-group-resizer", machine("R", {"R": sdk("modifyInstanceGroups", {"InstanceGroups": [
        {"InstanceGroupId.$": "$.group", "InstanceCount": 3}]}, "W"), "W": WAIT_LONG}))

    # Clusters that end themselves. After a failed creator they are left to (not killed mid-step); after a stopped
    # one they are orphans (stopped on purpose); an idle timeout longer than the wait does not count.
    ending_cases = {}
    for name, state, stop in [
        ("self-terminating-step", ending("self-terminating-step", "F", auto_terminate=True), False),
        ("self-terminating-idle", ending("self-terminating-idle", "F", idle_timeout=1800), False),
        ("autoterminate-stopped", ending("autoterminate-stopped", "W", auto_terminate=True), True),
        ("idle-timeout-long", ending("idle-timeout-long", "F", idle_timeout=604800), False),
    ]:
        arn = make(name, machine("C", {"C": state, "F": FAIL, "W": WAIT_LONG}))
        ending_cases[name] = (arn, start(arn, f"{name}-1"), stop)

    # Bring each case to its situation.
    for arn, run in [(stopped, stopped_run), (tagged, tagged_run), (handed, handed_run)]:
        waiting_clusters(run)
        sfn.stop_execution(executionArn=run)
    record("plain-stopped", stopped, stopped_run, clusters_of(sfn, stopped_run), "terminate", "terminated")
    ended(failed_run)
    record("plain-failed", failed, failed_run, clusters_of(sfn, failed_run), "terminate", "terminated")

    tagged_ids = clusters_of(sfn, tagged_run)
    tagger = make("sdk-tags-tagger", machine("T", {"T": sdk("addTags", {"ResourceId.$": "$.ClusterId",
                  "Tags": [{"Key": "team", "Value": "data"}]}, "W"), "W": WAIT_LONG}))
    tagger_run = start(tagger, "sdk-tags-tagger-1", {"ClusterId": tagged_ids[0]})
    wait_for(lambda: any(e["type"] == "WaitStateEntered" for e in
                         sfn.get_execution_history(executionArn=tagger_run)["events"]), "the tagger's addTags")
    record("sdk-tags-running", tagged, tagged_run, tagged_ids, "keep", "shared")

    handed_ids = clusters_of(sfn, handed_run)
    start(idle_worker, "handoff-input-worker-1", {"job": {"cluster": handed_ids[0], "queue": "nightly"}})
    record("handoff-input", handed, handed_run, handed_ids, "keep", "shared")

    parent_ids = waiting_clusters(parent_run)
    start(worker, "handoff-worker-1", {"ClusterId": parent_ids[0]})
    sfn.stop_execution(executionArn=parent_run)
    record("handoff-worker", parent, parent_run, parent_ids, "keep", "shared")

    wait_for(lambda: any(e["type"] == "WaitStateEntered" for e in
                         sfn.get_execution_history(executionArn=lister_run)["events"]), "the lister's listClusters")
    for name, arn, run, refuse in refused:
        ended(run)
        record(name, arn, run, clusters_of(sfn, run), "keep" if refuse else "terminate",
               "unknown" if refuse else "terminated")

    record("deleted-machine", doomed, doomed_run, waiting_clusters(doomed_run), "terminate", "terminated")

    jsonata_ids = waiting_clusters(jsonata_run)
    sfn.stop_execution(executionArn=jsonata_run)
    record("jsonata-creator", jsonata_creator, jsonata_run, jsonata_ids, "terminate", "terminated")

    adopted_ids = waiting_clusters(adopted_run)
    sfn.stop_execution(executionArn=adopted_run)
    finder_run = start(finder, "variable-handoff-finder-1")

    def assigned():
        for event in sfn.get_execution_history(executionArn=finder_run)["events"]:
            variables = (event.get("stateExitedEventDetails") or {}).get("assignedVariables") or {}
            if adopted_ids[0] in variables.get("target", ""):
                return True
        return None
    wait_for(assigned, "the finder's $target variable")
    record("variable-handoff", adopted, adopted_run, adopted_ids, "keep", "shared")

    for run, name in ((prod_run, "versioned-prod"), (canary_run, "versioned-canary")):
        ids = waiting_clusters(run)
        sfn.stop_execution(executionArn=run)
        described = sfn.describe_execution(executionArn=run)
        if described.get("stateMachineVersionArn") != version_1:
            raise SystemExit(f"{name}: not run on version 1: {described}")
        record(name, versioned["stateMachineArn"], run, ids, "terminate" if name == "versioned-prod" else "keep",
               "terminated" if name == "versioned-prod" else "exempt")

    busy_ids = waiting_clusters(busy_run)
    sfn.stop_execution(executionArn=busy_run)
    emr.add_job_flow_steps(JobFlowId=busy_ids[0], Steps=[{"Name": "adhoc-analysis", "ActionOnFailure": "CONTINUE",
                           "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}])
    record("busy-by-hand", busy, busy_run, busy_ids, "keep", "shared")

    def own_step_running():
        ids = clusters_of(sfn, own_run)
        if not ids:
            return None
        steps = emr.list_steps(ClusterId=ids[0])["Steps"]
        return ids if any(step["Status"]["State"] == "RUNNING" for step in steps) else None
    own_ids = wait_for(own_step_running, "the own-step creator's step")
    sfn.stop_execution(executionArn=own_run)
    record("own-step", own, own_run, own_ids, "terminate", "terminated")

    wait_for(lambda: clusters_of(sfn, remote_run), "the cross-account cluster")
    sfn.stop_execution(executionArn=remote_run)
    record("cross-account", remote, remote_run, clusters_of(sfn, remote_run), "keep", "unknown")

    resized_ids = waiting_clusters(resized_run)
    sfn.stop_execution(executionArn=resized_run)
    core = next(g["Id"] for g in emr.list_instance_groups(ClusterId=resized_ids[0])["InstanceGroups"]
                if g["InstanceGroupType"] == "CORE")
    resizer_run = start(resizer, "instance-group-resizer-1", {"group": core})
    wait_for(lambda: any(e["type"] == "WaitStateEntered" for e in
                         sfn.get_execution_history(executionArn=resizer_run)["events"]), "the resizer's modifyInstanceGroups")
    record("instance-group-user", resized, resized_run, resized_ids, "keep", "shared")

    for name, (arn, run, stop) in ending_cases.items():
        ids = wait_for(lambda: clusters_of(sfn, run), f"the cluster of {name}")
        if stop:
            wait_for(lambda: emr.describe_cluster(ClusterId=ids[0])["Cluster"]["Status"]["State"] == "RUNNING", name)
            sfn.stop_execution(executionArn=run)
        ended(run)
        described = emr.describe_cluster(ClusterId=ids[0])["Cluster"]
        if described["AutoTerminate"] != name.startswith(("self-terminating-step", "autoterminate")):
            raise SystemExit(f"{name}: AutoTerminate is {described['AutoTerminate']}")
        keep = name.startswith("self-terminating")
        record(name, arn, run, ids, "keep" if keep else "terminate", "self-terminating" if keep else "terminated")

    # A cluster made by hand: no workflow created it. Reported untracked, never acted on.
    stray = emr.run_job_flow(**cluster_params("made-by-hand"))["JobFlowId"]
    result["made-by-hand"] = {"stateMachineArn": "", "executionArn": "", "clusterIds": [stray], "executionStatus": "",
                              "expect": "keep", "disposition": "untracked"}

    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
