"""State machine versions and aliases on moto 5.2.5, as AWS documents them.

moto keeps the versions CreateStateMachine(publish=true) / UpdateStateMachine(publish=true) make and the aliases that
point at them, but has no ListStateMachineVersions, and StartExecution on a version or alias ARN fails inside moto
(`'StateMachineVersion' object has no attribute '_handle_name_input_idempotency'`). This module adds, following
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-state-machine-version.html and
https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html:

- ListStateMachineVersions: the versions of a state machine, newest first (`stateMachineVersionArn`,
  `creationDate`);
- StartExecution on a version ARN (`…:stateMachine:NAME:3`) or an alias ARN (`…:stateMachine:NAME:prod`): the
  execution runs the version's definition (an alias picks the version its routing gives the larger weight), its ARN
  is the unqualified one (`…:execution:NAME:EXECUTION`), it is listed with the state machine's executions, and
  DescribeExecution, ListExecutions and its ExecutionStarted event carry `stateMachineVersionArn` (and
  `stateMachineAliasArn` when started through an alias).
"""
def _parts(arn):
    """(unqualified state machine ARN, qualifier or None) of a state machine, version or alias ARN."""
    parts = arn.split(":")
    if len(parts) == 8:
        return ":".join(parts[:7]), parts[7]
    return arn, None


def install():
    from moto.core.responses import ActionResult
    from moto.stepfunctions.exceptions import StateMachineDoesNotExist
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    original_start = StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        unqualified, qualifier = _parts(state_machine_arn)
        if qualifier is None:
            return original_start(self, state_machine_arn, name=name, execution_input=execution_input,
                                  trace_header=trace_header)
        source = self.describe_state_machine(unqualified)
        alias_arn = None
        if qualifier.isdigit():
            version = source.versions.get(int(qualifier))
        else:
            alias = self.describe_state_machine_alias(state_machine_arn)
            alias_arn = state_machine_arn
            routes = sorted(alias.routing_configuration, key=lambda route: -int(route.get("weight", 0)))
            version = self.describe_state_machine(routes[0]["stateMachineVersionArn"]) if routes else None
        if version is None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{state_machine_arn}'")
        # Run the version's definition under the state machine: a snapshot of the source with that definition
        # (the start of the unqualified path does the same with the latest revision).
        saved = source.definition
        source.definition = version.definition
        try:
            execution = original_start(self, unqualified, name=name, execution_input=execution_input,
                                       trace_header=trace_header)
        finally:
            source.definition = saved
        execution.costguard_version_arn = version.arn
        execution.costguard_alias_arn = alias_arn
        return execution

    StepFunctionsParserBackend.start_execution = start_execution

    def list_state_machine_versions(self):
        source = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        versions = sorted(source.versions.values(), key=lambda v: -v.version)
        return ActionResult({"stateMachineVersions": [
            {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions]})

    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions

    def with_versions(method, key):
        original = getattr(StepFunctionResponse, method)

        def wrapped(self):
            result = original(self)
            backend = self.stepfunction_backend

            def annotate(item):
                try:
                    execution = backend.describe_execution(item["executionArn"])
                except Exception:  # noqa: BLE001 (an execution moto cannot find: leave the item as it is)
                    return
                if getattr(execution, "costguard_version_arn", None):
                    item["stateMachineVersionArn"] = execution.costguard_version_arn
                if getattr(execution, "costguard_alias_arn", None):
                    item["stateMachineAliasArn"] = execution.costguard_alias_arn

            if key is None:
                annotate(result.result)
            else:
                for item in result.result.get(key) or []:
                    annotate(item)
            return result

        setattr(StepFunctionResponse, method, wrapped)

    with_versions("describe_execution", None)
    with_versions("list_executions", "executions")

    original_history = StepFunctionResponse.get_execution_history

    def get_execution_history(self):
        result = original_history(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        version = getattr(execution, "costguard_version_arn", None)
        if version:
            for event in (result.result or {}).get("events", []):
                details = event.get("executionStartedEventDetails")
                if details is not None:
                    details["stateMachineVersionArn"] = version
                    if getattr(execution, "costguard_alias_arn", None):
                        details["stateMachineAliasArn"] = execution.costguard_alias_arn
        return result

    StepFunctionResponse.get_execution_history = get_execution_history
