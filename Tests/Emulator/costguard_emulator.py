"""CostGuard's AWS emulator for tests and the demo: moto server (version pinned in Tests/requirements.txt) on
127.0.0.1, plus the setup a test needs.

    costguard_emulator.py serve --port P
        Runs moto's server on 127.0.0.1:P. Exits by itself when the process that started it goes away, so a
        crashed test run leaves nothing behind.

    costguard_emulator.py setup-iam --endpoint URL --out FILE
        Creates, through the emulator's IAM, the users and role the tests use, seeds a little Step Functions and
        EMR data, then turns on moto's signature and IAM enforcement (POST /moto-api/reset-auth 0). Writes the
        access keys and names to FILE as JSON.

Every address used is loopback.
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.request

READ_ACTIONS = [
    "states:ListStateMachines",
    "states:DescribeStateMachine",
    "states:ListStateMachineVersions",
    "states:ListExecutions",
    "states:DescribeExecution",
    "states:GetExecutionHistory",
    "states:ListMapRuns",
    "elasticmapreduce:ListClusters",
    "elasticmapreduce:DescribeCluster",
    "elasticmapreduce:ListSteps",
    "elasticmapreduce:GetAutoTerminationPolicy",
    "elasticmapreduce:ListInstanceGroups",
    "elasticmapreduce:ListInstanceFleets",
]
WRITE_ACTIONS = [
    "elasticmapreduce:TerminateJobFlows",
    "elasticmapreduce:SetTerminationProtection",
    "elasticmapreduce:CancelSteps",
]


def watch_parent():
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


# STS operations that AWS serves unsigned (the token or assertion is the proof). moto authenticates every request
# once enforcement is on and fails these with a 500; the emulation lets them through unsigned, as AWS does.
UNSIGNED_STS_ACTIONS = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}


def patch_moto():
    from moto.core.authorization import ActionAuthenticatorMixin

    original = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authenticate(self, resource="*"):
        if "Authorization" not in self.headers and self._get_action() in UNSIGNED_STS_ACTIONS:
            return None
        # The interpreter's own service calls (aws-sdk tasks, the EMR emulation) carry moto's fixed key "ak";
        # in AWS they would run with the state machine's role, which the emulator does not model.
        if "Credential=ak/" in self.headers.get("Authorization", ""):
            return None
        return original(self, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authenticate

    # Run Step Functions executions for real (moto's ASL interpreter) ...
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    # ... with the EMR service integration emulated.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import emr_integration

    emr_integration.install()


def find_execution(arn):
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    parts = arn.split(":")
    backend = stepfunctions_parser_backends[parts[4]][parts[3]]
    for execution in backend._get_executions():
        if execution.exec_arn == arn:
            return execution
    raise KeyError(arn)


def patch_redrive():
    """moto has no RedriveExecution and reports no redrive fields. The emulation adds both as a test control:
    DescribeExecution reports redriveCount/redriveStatus, and a redrive turns an ended execution back to RUNNING
    with the same ARN, which is what CostGuard can observe of a real redrive."""
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.describe_execution

    def describe(self):
        result = original(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        result.result["redriveCount"] = getattr(execution, "costguard_redrive_count", 0)
        status = getattr(execution, "costguard_redrive_status", None)
        if status:
            result.result["redriveStatus"] = status
        return result

    StepFunctionResponse.describe_execution = describe


def plug_jsonata():
    """moto 5.2.5 parses JSONata state machines (QueryLanguage JSONata, Arguments, Assign, {% %}) but leaves their
    evaluator unset (its JVM bridge is never started). The pinned jsonata-python package, a pure-Python port of the
    same jsonata-java reference implementation AWS documents, evaluates them here, so JSONata workflows run for real.
    Results go through JSON, as they did through the JVM bridge (undefined becomes null)."""
    import jsonata as jsonata_python
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata

    def evaluate(expression):
        return json.loads(json.dumps(jsonata_python.Jsonata(expression).evaluate(None)))

    moto_jsonata._eval_jsonata = evaluate  # eval_jsonata_expression uses it from now on

    # moto 5.2.5's ASL preprocessor keeps its stack of query-language scopes in a class attribute, shared by every
    # parse in every thread: a JSONata definition parsed by a starting execution while CreateStateMachine parses a
    # JSONPath one makes the latter fail ("Unsupported declaration in QueryLanguage=JSONPath block"), and a parse
    # that raises leaves its scope behind for the next. AWS parses each definition on its own: so does this.
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original_init = Preprocessor.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._query_language_per_scope = []

    Preprocessor.__init__ = init


def patch_messy_account():
    """Answers moto gives differently from AWS, for the messy-account tests (each as AWS documents it):

    - EXPRESS state machines: moto keeps `type` but lists their executions and serves histories; AWS answers
      ListExecutions, DescribeExecution and GetExecutionHistory with 400 StateMachineTypeNotSupported.
    - A termination refused by policy: AWS answers TerminateJobFlows with AccessDeniedException when a service
      control policy or a tag condition denies one of the clusters, and then terminates none of the batch. moto has
      no SCPs; a cluster tagged `costguard-emulator:refuse-termination` stands for one such cluster here.
    """
    from moto.core.exceptions import ServiceException
    from moto.emr.responses import ElasticMapReduceResponse
    from moto.stepfunctions.exceptions import AWSError
    from moto.stepfunctions.responses import StepFunctionResponse

    class StateMachineTypeNotSupported(AWSError):
        TYPE = "StateMachineTypeNotSupported"
        STATUS = 400

    class AccessDeniedException(ServiceException):
        code = "AccessDeniedException"

    def express_guard(method, arn_param):
        original = getattr(StepFunctionResponse, method)

        def guarded(self):
            arn = self._get_param(arn_param) or ""
            if arn_param == "executionArn":
                machine = self.stepfunction_backend.describe_execution(arn).state_machine_arn
            else:
                machine = arn
            if getattr(self.stepfunction_backend.describe_state_machine(machine), "type", "STANDARD") == "EXPRESS":
                raise StateMachineTypeNotSupported(
                    "This operation is not supported by this type of state machine")
            return original(self)

        setattr(StepFunctionResponse, method, guarded)

    express_guard("list_executions", "stateMachineArn")
    express_guard("describe_execution", "executionArn")
    express_guard("get_execution_history", "executionArn")

    original_terminate = ElasticMapReduceResponse.terminate_job_flows

    def terminate(self):
        for cluster_id in self._get_param("JobFlowIds") or []:
            cluster = self.backend.clusters.get(cluster_id)
            if cluster is not None and "costguard-emulator:refuse-termination" in getattr(cluster, "_tags", {}):
                raise AccessDeniedException(
                    f"User is not authorized to perform: elasticmapreduce:TerminateJobFlows on resource: cluster "
                    f"{cluster_id} with an explicit deny in a service control policy")
        return original_terminate(self)

    ElasticMapReduceResponse.terminate_job_flows = terminate


def patch_auto_termination():
    """EMR auto-termination policies, which moto 5.2 does not model, as the EMR API documents them
    (https://docs.aws.amazon.com/emr/latest/APIReference/API_GetAutoTerminationPolicy.html):

    - RunJobFlow keeps `AutoTerminationPolicy.IdleTimeout` (seconds, 60…604800);
    - GetAutoTerminationPolicy answers `{"AutoTerminationPolicy": {"IdleTimeout": n}}`, or `{}` for a cluster without
      one; PutAutoTerminationPolicy and RemoveAutoTerminationPolicy set and clear it;
    - an unknown cluster is a 400 InvalidRequestException, as DescribeCluster's.
    Idleness itself is not emulated: a cluster with a policy never ends by it here (the tests decide before it would).
    """
    from moto.core.responses import ActionResult, EmptyResult
    from moto.emr.exceptions import InvalidCluster
    from moto.emr.responses import ElasticMapReduceResponse

    original_run = ElasticMapReduceResponse.run_job_flow

    def cluster(self):
        cluster_id = self._get_param("ClusterId")
        found = self.backend.clusters.get(cluster_id)
        if found is None:
            raise InvalidCluster(cluster_id)
        return found

    def run_job_flow(self):
        before = set(self.backend.clusters)
        result = original_run(self)
        timeout = self._get_param("AutoTerminationPolicy.IdleTimeout")
        for cluster_id in set(self.backend.clusters) - before:
            self.backend.clusters[cluster_id].costguard_idle_timeout = int(timeout) if timeout else None
        return result

    def get_auto_termination_policy(self):
        timeout = getattr(cluster(self), "costguard_idle_timeout", None)
        return ActionResult({"AutoTerminationPolicy": {"IdleTimeout": timeout}} if timeout else {})

    def put_auto_termination_policy(self):
        cluster(self).costguard_idle_timeout = int(self._get_param("AutoTerminationPolicy.IdleTimeout"))
        return EmptyResult()

    def remove_auto_termination_policy(self):
        cluster(self).costguard_idle_timeout = None
        return EmptyResult()

    ElasticMapReduceResponse.run_job_flow = run_job_flow

    # Instance group ids: AWS's are `ig-` and 13 upper-case letters or digits (the EMR API's examples); moto 5.2 makes
    # them `i-…`, like EC2 instances, which a task naming a group by id could not be told apart from.
    from moto.emr.models import InstanceGroup

    original_group_init = InstanceGroup.__init__

    def group_init(self, *args, **kwargs):
        original_group_init(self, *args, **kwargs)
        if self.id.startswith("i-"):
            self.id = "ig-" + self.id[2:]

    InstanceGroup.__init__ = group_init
    ElasticMapReduceResponse.get_auto_termination_policy = get_auto_termination_policy
    ElasticMapReduceResponse.put_auto_termination_policy = put_auto_termination_policy
    ElasticMapReduceResponse.remove_auto_termination_policy = remove_auto_termination_policy


_REQUESTS = {}
_REQUESTS_LOCK = threading.Lock()
# Seconds every counted request waits before moto answers it (POST /latency): a stand-in for the network and
# service time of a real endpoint, for the benchmark's sensitivity rows. Sleeping takes no CPU and releases the GIL.
_LATENCY = [0.0]


def count_requests():
    """Counts the requests clients make, by operation (the X-Amz-Target of the JSON protocols, else the query
    Action): the benchmark checks CostGuard's own call counts against it. The interpreter's internal calls (key
    "ak") and unsigned requests to moto's own API are not counted."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def call(self, environ, start_response):
        if environ.get("PATH_INFO") == "/costguard-emulator-id":
            # Who answers on this port: the starter compares it with the id it gave this process, so that a server
            # another process started on the same port (both picked it as free) is never mistaken for its own.
            body = os.environ.get("COSTGUARD_EMULATOR_ID", "").encode()
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        if authorization and "Credential=ak/" not in authorization:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target:
                service, _, operation = target.rpartition(".")
                key = ("states" if "StepFunctions" in service else "elasticmapreduce" if "ElasticMapReduce" in service
                       else service) + ":" + operation
            else:
                from urllib.parse import parse_qs

                key = "query:" + (parse_qs(environ.get("QUERY_STRING", "")).get("Action") or ["?"])[0]
            with _REQUESTS_LOCK:
                _REQUESTS[key] = _REQUESTS.get(key, 0) + 1
            if _LATENCY[0] > 0:
                time.sleep(_LATENCY[0])
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = call


def request_counts(reset=False):
    with _REQUESTS_LOCK:
        counts = dict(_REQUESTS)
        if reset:
            _REQUESTS.clear()
    return counts


def bulk_start(body):
    """{"stateMachineArn", "names": [...], "input": "{...}"} → the started executions' ARNs."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    parts = body["stateMachineArn"].split(":")
    backend = stepfunctions_parser_backends[parts[4]][parts[3]]
    arns = []
    for name in body["names"]:
        execution = backend.start_execution(body["stateMachineArn"], name=name, execution_input=body.get("input", "{}"))
        arns.append(execution.exec_arn)
    return arns


def bulk_clone(body):
    """{"templateExecutionArn", "names", "spacingSeconds"}: adds ended executions that are copies of an ended
    template (same status and history, which names no execution), started `spacingSeconds` apart going back from
    the template. For a benchmark's bulk of ended executions, whose real runs would take minutes."""
    import copy
    import datetime

    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    template = find_execution(body["templateExecutionArn"])
    if template.stop_date is None:
        raise KeyError("the template execution has not ended")
    backend = stepfunctions_parser_backends[template.account_id][template.region_name]
    machine = backend.describe_state_machine(template.state_machine_arn)
    spacing = datetime.timedelta(seconds=float(body.get("spacingSeconds", 1)))
    prefix = template.exec_arn.rsplit(":", 1)[0]
    arns = []
    for index, name in enumerate(body["names"]):
        clone = copy.copy(template)
        clone.name = name
        clone.exec_arn = clone.execution_arn = prefix + ":" + name
        clone.start_date = template.start_date - spacing * (index + 1)
        clone.stop_date = clone.start_date + (template.stop_date - template.start_date)
        machine.executions.append(clone)
        arns.append(clone.exec_arn)
    return arns


def control_server(port):
    """POST /redrive {"executionArn"}; POST /redrive-status {"executionArn", "redriveStatus"};
    POST /bulk-start {"stateMachineArn", "names", "input"}; POST /bulk-clone {"templateExecutionArn", "names"};
    POST /requests {"reset"}: requests served per operation; POST /latency {"seconds"}: a wait before every counted
    request is answered (0 to stop)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from moto.stepfunctions.parser.api import ExecutionStatus

    class Control(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            try:
                result = {}
                if self.path == "/bulk-start":
                    result = {"executionArns": bulk_start(body)}
                elif self.path == "/bulk-clone":
                    result = {"executionArns": bulk_clone(body)}
                elif self.path == "/requests":
                    result = {"requests": request_counts(reset=body.get("reset", False))}
                elif self.path == "/latency":
                    seconds = float(body["seconds"])
                    if not 0 <= seconds <= 10:
                        raise KeyError("latency seconds must be within 0…10")
                    _LATENCY[0] = seconds
                    result = {"seconds": seconds}
                else:
                    execution = find_execution(body["executionArn"])
                    if self.path == "/redrive":
                        execution.costguard_redrive_count = getattr(execution, "costguard_redrive_count", 0) + 1
                        execution.exec_status = ExecutionStatus.RUNNING
                        execution.stop_date = None
                    elif self.path == "/redrive-status":
                        execution.costguard_redrive_status = body["redriveStatus"]
                    else:
                        raise KeyError(self.path)
                code, answer = 200, json.dumps(result).encode()
            except (KeyError, ValueError, TypeError) as error:
                code, answer = 404, json.dumps({"error": str(error)}).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", port), Control)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def keep_connections_alive():
    """Keeps client connections open between requests, as AWS endpoints do. werkzeug closes every connection
    (`Connection: close`) because it cannot tell whether an application left part of a request body unread, and
    after each response it discards whatever the socket holds. Here every request body is read in full before moto
    sees it (a copy in memory), so the connection stays open and nothing is discarded: the next request on it is
    read whole. Requests with chunked bodies still close their connection."""
    import io
    import selectors
    import threading
    import types

    import werkzeug.serving as serving

    drained = threading.local()  # one thread per connection (threaded server)
    serving.WSGIRequestHandler.protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the client's delayed
    # ACK hold each answer ~40 ms on an open connection.
    serving.WSGIRequestHandler.disable_nagle_algorithm = True
    original_send_header = serving.WSGIRequestHandler.send_header
    original_make_environ = serving.WSGIRequestHandler.make_environ

    def send_header(self, keyword, value):
        if keyword.lower() == "connection" and value.lower() == "close" and getattr(drained, "value", False):
            return
        original_send_header(self, keyword, value)

    def make_environ(self):
        environ = original_make_environ(self)
        drained.value = "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if drained.value:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            environ["wsgi.input"] = io.BytesIO(self.rfile.read(length) if length > 0 else b"")
        return environ

    class NothingLeft:
        """The selector werkzeug uses to discard unread input: after a drained request there is none."""

        def register(self, *args, **kwargs):
            pass

        def select(self, timeout=None):
            return []

        def close(self):
            pass

    serving.WSGIRequestHandler.send_header = send_header
    serving.WSGIRequestHandler.make_environ = make_environ
    serving.selectors = types.SimpleNamespace(
        EVENT_READ=selectors.EVENT_READ,
        DefaultSelector=lambda: NothingLeft() if getattr(drained, "value", False) else selectors.DefaultSelector())


def serve(port, control_port=None, keep_alive=False):
    # A parent may have started us with SIGTERM/SIGINT ignored (ignored signals are inherited across exec): restore
    # the defaults so that the demo's and the tests' clean-up can stop the server.
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    threading.Thread(target=watch_parent, daemon=True).start()
    patch_redrive()
    patch_messy_account()
    patch_auto_termination()
    plug_jsonata()
    import versions_emulation

    versions_emulation.install()
    if control_port:
        control_server(control_port)
    os.environ.setdefault("MOTO_PORT", str(port))
    patch_moto()
    count_requests()
    if keep_alive:
        keep_connections_alive()
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", str(port)])


def policy(actions):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})


def setup_iam(endpoint, out):
    import boto3

    session = boto3.session.Session(aws_access_key_id="setup", aws_secret_access_key="setup", region_name="us-east-1")
    iam = session.client("iam", endpoint_url=endpoint)
    sts = session.client("sts", endpoint_url=endpoint)
    sfn = session.client("stepfunctions", endpoint_url=endpoint)
    emr = session.client("emr", endpoint_url=endpoint)
    account = sts.get_caller_identity()["Account"]
    result = {"account": account, "users": {}}
    users = {
        "guard": policy(READ_ACTIONS + WRITE_ACTIONS + ["sts:AssumeRole"]),
        "reader": policy([a for a in READ_ACTIONS if a != "states:GetExecutionHistory"]),
    }
    # The shipped least-privilege policy, attached as it is.
    shipped = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Deploy", "iam-policy.json")
    with open(shipped) as handle:
        users["deployed"] = handle.read()
    for name, document in users.items():
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=document)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        result["users"][name] = {"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"],
                                 "arn": f"arn:aws:iam::{account}:user/{name}"}
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{account}:user/guard"}}]}
    role = iam.create_role(RoleName="guard-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName="guard-role", PolicyName="guard-role-policy", PolicyDocument=policy(READ_ACTIONS))
    web_trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                 "Principal": {"Federated": "arn:aws:iam::%s:oidc-provider/example.com" % account}}]}
    web_role = iam.create_role(RoleName="web-role", AssumeRolePolicyDocument=json.dumps(web_trust))["Role"]
    iam.put_role_policy(RoleName="web-role", PolicyName="web-role-policy", PolicyDocument=policy(READ_ACTIONS))
    result["roleArn"] = role["Arn"]
    result["webRoleArn"] = web_role["Arn"]
    if os.environ.get("COSTGUARD_SETUP_NO_SEED") == "1":
        request = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                         headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(request).read()
        with open(out, "w") as handle:
            json.dump(dict(result, stateMachineArn="", executionArn="", clusterId=""), handle)
        return
    definition = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "Next": "Create"},
                  "Create": {"Type": "Task",
                  "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
                  "Parameters": {"Name": "demo"}, "End": True}}}
    machine = sfn.create_state_machine(name="emr-pipeline", definition=json.dumps(definition),
                                       roleArn=f"arn:aws:iam::{account}:role/sfn")
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run-1")
    # An EXPRESS front door (doctor names it as not followable; a pass never lists it).
    front = {"StartAt": "Start", "States": {"Start": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
             "Parameters": {"StateMachineArn": machine["stateMachineArn"], "Input": {}}, "End": True}}}
    sfn.create_state_machine(name="express-front-door", definition=json.dumps(front), type="EXPRESS",
                             roleArn=f"arn:aws:iam::{account}:role/sfn")
    cluster = emr.run_job_flow(Name="seeded", ReleaseLabel="emr-7.0.0", Instances={
        "MasterInstanceType": "m5.xlarge", "SlaveInstanceType": "m5.xlarge", "InstanceCount": 3,
        "KeepJobFlowAliveWhenNoSteps": True}, JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole")
    result["stateMachineArn"] = machine["stateMachineArn"]
    result["executionArn"] = execution["executionArn"]
    result["clusterId"] = cluster["JobFlowId"]
    request = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request).read()
    with open(out, "w") as handle:
        json.dump(result, handle)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--control-port", type=int)
    s.add_argument("--keep-alive", action="store_true",
                   help="keep HTTP connections open between requests, as AWS endpoints do (the benchmark's setting)")
    i = sub.add_parser("setup-iam")
    i.add_argument("--endpoint", required=True)
    i.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.command == "setup-iam" and not args.endpoint.startswith("http://127."):
        sys.exit("the emulator endpoint must be on loopback")
    if args.command == "serve":
        serve(args.port, args.control_port, args.keep_alive)
    else:
        setup_iam(args.endpoint, args.out)


if __name__ == "__main__":
    main()
