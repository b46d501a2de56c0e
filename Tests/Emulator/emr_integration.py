"""An emulation of Step Functions' optimised EMR integration (arn:aws:states:::elasticmapreduce:*) on moto.

moto 5.2.x runs Step Functions executions (its ASL interpreter) but rejects every `elasticmapreduce:*` task.
This module plugs a service-task implementation into the interpreter that performs the documented calls on
moto's EMR backend, following https://docs.aws.amazon.com/step-functions/latest/dg/connect-emr.html:

    createCluster(.sync)                 RunJobFlow; output {"ClusterId", "ClusterArn"}; .sync writes TaskSubmitted
                                         with that output first, then waits for WAITING (or RUNNING); with
                                         `Credentials.RoleArn` of another account, in that account
    terminateCluster(.sync)              TerminateJobFlows; .sync waits for TERMINATED
    addStep(.sync)                       AddJobFlowSteps; output {"StepId"}; .sync waits for the step to end
    cancelStep                           marks the step CANCELLED (moto has no CancelSteps)
    setClusterTerminationProtection      SetTerminationProtection
    modifyInstanceGroupByName            ModifyInstanceGroups on the group with that name
    modifyInstanceFleetByName            accepted, no change (moto has no instance fleets)

Emulation knobs (not AWS behaviour):
    MOTO_EMR_STARTUP_SECONDS   a new cluster stays STARTING this long (default 0); the cluster tag
                               "costguard-emulator:startup-seconds" overrides it per cluster
    MOTO_EMR_STEP_SECONDS      an added step completes after this long (default 1); the step name suffix
                               "#fail" makes it FAIL, "#forever" keeps it running
Like AWS, it adds no tag linking a cluster to the execution that created it.
"""
import os
import threading
import time

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)

POLL_SECONDS = 0.2


def _backend(account, region):
    from moto.emr.models import emr_backends

    return emr_backends[account][region]


def _cluster(account, region, cluster_id):
    return _backend(account, region).clusters[cluster_id]


def _hold_starting(account, region, cluster_id, tags):
    seconds = float(tags.get("costguard-emulator:startup-seconds", os.environ.get("MOTO_EMR_STARTUP_SECONDS", "0")))
    if seconds <= 0:
        return
    cluster = _cluster(account, region, cluster_id)
    cluster.state = "STARTING"

    def ready():
        time.sleep(seconds)
        if cluster.state == "STARTING":
            cluster.state = "WAITING"

    threading.Thread(target=ready, daemon=True).start()


def _role_account(state_credentials):
    """The account of the task's `Credentials.RoleArn`, if it has one."""
    role = getattr(state_credentials, "role_arn", None) if state_credentials else None
    return role.split(":")[4] if isinstance(role, str) and role.count(":") >= 5 else None


class StateTaskServiceEmr(StateTaskServiceCallback):
    def __init__(self):
        # WaitForTaskToken is listed only because moto 5.2.5's callback code dereferences the task-token endpoint
        # after every .sync task (None otherwise); EMR itself offers request-response and .sync only.
        super().__init__(supported_integration_patterns={ResourceCondition.Sync, ResourceCondition.WaitForTaskToken})

    def _get_supported_parameters(self):
        # An empty set: "supported" (None would reject the resource) with no parameter filtering.
        return set()

    def _get_sfn_resource_type(self):
        return "elasticmapreduce"

    def _where(self, resource_runtime_part):
        return resource_runtime_part.account, resource_runtime_part.region

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        account, region = self._where(resource_runtime_part)
        action = self.resource.api_action
        params = dict(normalised_parameters)
        backend = _backend(account, region)
        if action == "createCluster":
            from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

            client = boto_client_for(region=region, service="emr")
            # A task with `Credentials.RoleArn` runs with that role: in another account, the cluster is created
            # there (moto picks the account from this header).
            role_account = _role_account(state_credentials)
            if role_account and role_account != account:
                client.meta.events.register(
                    "before-sign.emr.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", role_account))
                account = role_account
            response = client.run_job_flow(**params)
            tags = {t["Key"]: t.get("Value", "") for t in params.get("Tags", [])}
            _hold_starting(account, region, response["JobFlowId"], tags)
            # A cluster created with Steps runs the first at once: AWS shows it RUNNING (moto leaves it WAITING).
            created = _cluster(account, region, response["JobFlowId"])
            if created.state == "WAITING" and any(s.state in ("PENDING", "RUNNING") for s in created.steps):
                created.state = "RUNNING"
            env.stack.append({"ClusterId": response["JobFlowId"], "ClusterArn": response.get("ClusterArn")})
        elif action == "terminateCluster":
            backend.terminate_job_flows([params["ClusterId"]])
            env.stack.append({})
        elif action == "addStep":
            cluster = _cluster(account, region, params["ClusterId"])
            step = params["Step"]
            added = cluster.add_steps([{"name": step.get("Name", "step"), "action_on_failure": step.get(
                "ActionOnFailure", "CONTINUE"), "hadoop_jar_step": step.get("HadoopJarStep", {})}])[0]
            added.costguard_added_at = time.time()
            env.stack.append({"StepId": added.id})
        elif action == "cancelStep":
            cluster = _cluster(account, region, params["ClusterId"])
            for step in cluster.steps:
                if step.id == params["StepId"] and step.state in ("PENDING", "RUNNING"):
                    step.state = "CANCELLED"
            env.stack.append({"CancelStepsInfoList": [{"StepId": params["StepId"], "Status": "SUBMITTED"}]})
        elif action == "setClusterTerminationProtection":
            backend.set_termination_protection([params["ClusterId"]], bool(params["TerminationProtected"]))
            env.stack.append({})
        elif action == "modifyInstanceGroupByName":
            cluster = _cluster(account, region, params["ClusterId"])
            wanted = params["InstanceGroupName"]
            for group_id in cluster.instance_group_ids:
                group = backend.instance_groups[group_id]
                if group.name == wanted:
                    group.set_instance_count(int(params["InstanceGroup"]["InstanceCount"]))
            env.stack.append({})
        elif action == "modifyInstanceFleetByName":
            env.stack.append({})
        else:
            raise ValueError(f"Unsupported elasticmapreduce action '{action}'")

    def _build_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        account, region = self._where(resource_runtime_part)
        account = _role_account(state_credentials) or account
        action = self.resource.api_action
        output = env.stack.pop()
        params = dict(normalised_parameters)
        step_seconds = float(os.environ.get("MOTO_EMR_STEP_SECONDS", "1"))

        def resolve():
            if action == "createCluster":
                cluster = _cluster(account, region, output["ClusterId"])
                if cluster.state in ("WAITING", "RUNNING"):
                    return output
                if cluster.state.startswith("TERMINATED"):
                    raise RuntimeError(f"cluster {output['ClusterId']} terminated while starting")
                return None
            if action == "terminateCluster":
                cluster = _cluster(account, region, params["ClusterId"])
                return {"ClusterId": params["ClusterId"]} if cluster.state.startswith("TERMINATED") else None
            if action == "addStep":
                cluster = _cluster(account, region, params["ClusterId"])
                step = next(s for s in cluster.steps if s.id == output["StepId"])
                if step.state in ("PENDING", "RUNNING") and time.time() - step.costguard_added_at >= step_seconds:
                    if not step.name.endswith("#forever"):
                        step.state = "FAILED" if step.name.endswith("#fail") else "COMPLETED"
                        if all(s.state not in ("PENDING", "RUNNING") for s in cluster.steps) and cluster.state == "RUNNING":
                            cluster.state = "WAITING"
                if step.state == "COMPLETED":
                    return output
                if step.state in ("FAILED", "CANCELLED", "INTERRUPTED"):
                    raise RuntimeError(f"step {step.id} ended {step.state}")
                return None
            return output or {"ok": True}

        return resolve


def install():
    """Makes the interpreter use StateTaskServiceEmr for elasticmapreduce tasks."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_factory

    original = state_task_service_factory.state_task_service_for

    def service_for(service_name):
        if service_name == "elasticmapreduce":
            return StateTaskServiceEmr()
        return original(service_name)

    state_task_service_factory.state_task_service_for = service_for
    state_task_factory.state_task_service_for = service_for
