#!/usr/bin/env python3
"""Deploys template.yaml, after SAM's transform, into moto's CloudFormation for several parameter
sets, and checks that what gets created is what the template means.

Why: the stack works only if its wiring is right (the account-event rules send to the queue, the
queue feeds the function through the event source mapping, each parameter reaches the function's
environment, the policies and alarms name the resources really created). moto's CloudFormation,
an engine we did not write, resolves the template's intrinsic functions and creates the resources
through the services' APIs; this script reads the result back from those APIs. So a wrong Ref, a
GetAtt of the wrong attribute or a parameter wired to the wrong variable shows here, where
check_templates.py (our own reading of the template) would agree with itself.

For each parameter set (the defaults, then one per feature: see parameter_sets(); every parameter
must be off its default in one of them), it
- checks the values against the template's constraints and Rules, as CloudFormation would;
- transforms the template with SAM (offline), points the function's code at a zip in moto's S3,
  creates the stack (one moto server for all, each stack its own name), waits for CREATE_COMPLETE;
- checks that every resource whose Condition holds was created and no other, and finds each one's
  backing object through its service's API (a physical id alone proves nothing: see below);
- checks the resources moto skips from the transformed template instead, every Ref, GetAtt and
  Sub resolved to the values of the real created resources (read from the APIs): the queue
  policies admit EventBridge from every stack rule that sends to each queue and from nothing
  else; the bus policy admits the management account's role for the sources and detail types the
  rules match; the alarms name the created function and dead-letter queue and notify the stack's
  topic; the on-failure destination is a stack queue the function's role may send to; AlarmEmail
  is subscribed to the topic;
- checks the function: each environment variable is the !Ref of the parameter of the same name
  and holds its value; no reserved concurrency; it logs to the stack's log group; its
  architecture and log level (from the template: moto drops them);
- checks the account events' path: AccountEventQueue (visibility timeout at least 6 x the
  function's timeout, redrive to DeadLetterQueue with a maxReceiveCount, SSE-SQS), the event
  source mapping (that queue, batch size, batching window = BatchingWindowSeconds, maximum
  concurrency, ReportBatchItemFailures; Lambda's rule that a batch over 10 needs a window of at
  least 1 s), and every rule on the stack's bus targeting the queue;
- checks the sweep: with SweepSchedule, its rule runs on that schedule and targets the function,
  whose policy admits it; without, no rule targets the function;
- checks the Outputs.
The resolver used for the skipped resources is itself checked against moto's: the role's inline
policies and the Outputs, which moto resolves, must come out the same.

moto 5.2.5's differences from CloudFormation, measured, and what this script does about them:
- It checks neither the parameters' constraints (AllowedValues, AllowedPattern, MinValue...) nor
  the Rules: this script does, before creating the stack.
- It skips, with a warning, the types it does not implement: here AWS::SQS::QueuePolicy,
  AWS::Events::EventBusPolicy, AWS::CloudWatch::Alarm, AWS::Lambda::EventInvokeConfig, and
  AWS::SNS::Subscription (with AlarmEmail). ListStackResources lists each as an entry without
  logical id or type, as it lists a resource whose Condition is false. They are checked from the
  template (above); a skipped type without such a check is a problem.
- AWS::Events::EventBus and AWS::Lambda::Permission get no physical id: the bus is found by its
  name, the permission in the function's resource policy. A Ref to the bus resolves to moto's
  internal object, not the name (the template's rules use !GetAtt Bus.Name, which works in both).
- AWS::Lambda::Function keeps its code, handler, role, runtime, name, memory, timeout,
  environment and reserved concurrency; it drops Architectures (it reports x86_64), LoggingConfig
  and Tags, which are checked from the template. The event source mapping keeps every field read
  here.
- A Number parameter given to CreateStack becomes an int (a default stays text): the function's
  environment then holds a JSON number, compared here as text, as Lambda would store it.
- A role's inline policy is stored as Python's repr of the document (boto3 hands it over as
  text), with an !If's AWS::NoValue left in a list as None (CloudFormation drops it).
- Lambda's limits are not enforced (a BatchSize over 10 without a batching window, the
  EventInvokeConfig ranges): this script checks the ones the template comes near.

Usage: .venv/bin/python scripts/check_stack_in_moto.py  (about 8 s on 2 cores beside a build)
Exit status 1 on any problem, with a line per problem.
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections import defaultdict
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# SAM's transform logs a warning about its own usage metrics on every run.
logging.getLogger("samtranslator").setLevel(logging.ERROR)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
CODE_BUCKET = "onboarder-code"
CODE_KEY = "onboarder.zip"
# What a user gives with a report (the Rules require both unless ReportWhen is never).
REPORT_ADDRESSES = {
    "ReportSender": "guardduty-onboarding@example.com",
    "ReportRecipients": "security@example.com,audit@example.com",
}
STACK_TIMEOUT_S = 30
# What a call to moto can raise: an error answer, no answer, or an answer that is not one (moto
# answers an internal error with an HTML page).
AWS_ERRORS = (ClientError, BotoCoreError, ResponseParserError)
# The template's resources this script checks by their role (named in template.yaml).
ACCOUNT_EVENT_QUEUE = "AccountEventQueue"
DEAD_LETTER_QUEUE = "DeadLetterQueue"
EVENTS_PRINCIPAL = "events.amazonaws.com"


def parameter_sets(source: dict) -> list[tuple[str, str, dict]]:
    """(name, region, the values given) for each stack (onboarder-NAME): the defaults, then one set
    per feature. Every parameter of template.yaml must be off its default in at least one set."""
    window = source["Parameters"]["BatchingWindowSeconds"]
    return [
        ("defaults", "us-east-1", {}),
        ("security-hub", "us-east-1", {"EnableSecurityHub": "true"}),
        ("member-role", "us-east-1", {"MemberRoleName": "AWSControlTowerExecution"}),
        # What the function sets up in a member account, through the member role.
        (
            "member-guardduty-features",
            "us-east-1",
            {"MemberRoleName": "AWSControlTowerExecution", "MemberGuardDutyFeatures": "S3_DATA_EVENTS,EBS_MALWARE_PROTECTION"},
        ),
        (
            "member-security-hub-standards",
            "us-east-1",
            {"MemberRoleName": "AWSControlTowerExecution", "EnableSecurityHub": "true", "MemberSecurityHubDefaultStandards": "true"},
        ),
        ("sweep", "us-east-1", {"SweepSchedule": "rate(1 day)"}),
        ("all-enabled", "us-east-1", {"Regions": "all-enabled"}),
        # Outside us-east-1 too: the stack deploys in any region.
        ("region-list", "eu-west-1", {"Regions": "us-east-1,eu-west-1"}),
        ("alarm-email", "us-east-1", {"AlarmEmail": "security-alarms@example.com"}),
        ("no-report", "us-east-1", {"ReportWhen": "never"}),
        ("no-coverage-alarm", "us-east-1", {"EnableCoverageAlarm": "false"}),
        ("remove-departed", "us-east-1", {"RemoveDepartedMembers": "true", "EnableSecurityHub": "true"}),
        ("metrics-namespace", "us-east-1", {"MetricsNamespace": "Security/Onboarding"}),
        # The shortest window the template accepts.
        ("shortest-window", "us-east-1", {"BatchingWindowSeconds": str(window.get("MinValue", 0))}),
        ("management-account", "us-east-1", {"ManagementAccountId": "210987654321"}),
        # The parameters that only reach the function, each off its default.
        (
            "function-settings",
            "us-east-1",
            {
                "GuardDutyDetectorId": "us-east-1=12abc34d567e8fa901bc2d34e56789f0,eu-west-1=0a1b2c3d4e5f60718293a4b5c6d7e8f9",
                "InvitationMessage": "Welcome: please accept the GuardDuty invitation.",
                "DisableEmailNotification": "true",
                "ReportWhen": "always",
                "Architecture": "x86_64",
                "LogLevel": "DEBUG",
                "BatchConcurrency": "8",
                "MemberConcurrency": "64",
            },
        ),
    ]


class Problems(list):
    def add(self, where: str, text: str) -> None:
        line = f"{where}: {text}"
        if line not in self:
            self.append(line)


# ---------------------------------------------------------------- parameters

def defaults(source: dict) -> dict:
    return {name: str(spec.get("Default", "")) for name, spec in source["Parameters"].items()}


def stack_values(source: dict, given: dict) -> dict:
    """Every parameter's value, as CloudFormation sees it: the given ones, the report addresses
    (unless ReportWhen is never), the template's defaults for the rest."""
    values = defaults(source)
    if given.get("ReportWhen", values.get("ReportWhen")) != "never":
        values.update(REPORT_ADDRESSES)
    values.update(given)
    return values


def refusals(source: dict, values: dict, region: str) -> list[str]:
    """Why CloudFormation would refuse these values (moto checks none of this)."""
    out = []
    for name, spec in source["Parameters"].items():
        value = values[name]
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            out.append(f"{name}={value!r} is not one of its AllowedValues")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            out.append(f"{name}={value!r} does not match its AllowedPattern")
        if spec["Type"] == "Number":
            if not re.fullmatch(r"-?\d+(\.\d+)?", value):
                out.append(f"{name}={value!r} is not a number")
            elif not spec.get("MinValue", float("-inf")) <= float(value) <= spec.get("MaxValue", float("inf")):
                out.append(f"{name}={value} is outside MinValue..MaxValue")
        if not spec.get("MinLength", 0) <= len(value) <= spec.get("MaxLength", len(value)):
            out.append(f"{name}={value!r} is outside MinLength..MaxLength")
    resolver = Resolver(source, values, {"AWS::Region": region}, resources=None)
    for rule in (source.get("Rules") or {}).values():
        if "RuleCondition" in rule and not resolver.truth(rule["RuleCondition"]):
            continue
        out += [a["AssertDescription"] for a in rule["Assertions"] if not resolver.truth(a["Assert"])]
    return out


def unvaried_parameters(source: dict, sets: list[tuple[str, str, dict]]) -> list[str]:
    """The parameters no set takes off their default."""
    default = defaults(source)
    varied = {
        name
        for _, _, given in sets
        for name, value in stack_values(source, given).items()
        if value != default[name]
    }
    return sorted(set(source["Parameters"]) - varied)


# ---------------------------------------------------------------- the template

def sam_transform(source: dict, values: dict, region: str) -> dict:
    """SAM's transform, offline (as check_templates.py runs it), with the function's code in
    moto's S3."""
    template = copy.deepcopy(source)
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"

    class NoManagedPolicies:
        def load(self):
            return {}

    os.environ["AWS_DEFAULT_REGION"] = region
    return transform(template, values, NoManagedPolicies())


class Resolver:
    """Evaluates a template's Conditions and intrinsic functions: parameters from the values,
    pseudo parameters from `pseudo`, a resource's Ref and attributes from `resources` (a Stack)."""

    NO_VALUE = object()

    def __init__(self, template: dict, values: dict, pseudo: dict, resources: Stack | None):
        self.template = template
        self.values = values
        self.pseudo = pseudo
        self.resources = resources

    def condition(self, name: str) -> bool:
        return self.truth(self.template["Conditions"][name])

    def truth(self, node) -> bool:
        (fn, arg), = node.items()
        if fn == "Fn::Equals":
            return self.resolve(arg[0]) == self.resolve(arg[1])
        if fn == "Fn::Not":
            return not self.truth(arg[0])
        if fn == "Fn::And":
            return all(self.truth(x) for x in arg)
        if fn == "Fn::Or":
            return any(self.truth(x) for x in arg)
        if fn == "Fn::Contains":
            return self.resolve(arg[1]) in self.resolve(arg[0])
        if fn == "Condition":
            return self.condition(arg)
        raise ValueError(f"condition function {fn} not handled")

    def ref(self, name: str):
        if name in self.values:
            return self.values[name]
        if name in self.pseudo:
            return self.pseudo[name]
        return self.resources.ref(name)

    def getatt(self, logical: str, attribute: str):
        return self.resources.getatt(logical, attribute)

    def sub(self, text: str, variables: dict) -> str:
        def one(match):
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name.split(".", 1)[0] in self.template["Resources"]:
                return str(self.getatt(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, node):
        if isinstance(node, list):
            return [x for x in (self.resolve(item) for item in node) if x is not self.NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if fn == "Fn::GetAtt":
                return self.getatt(*(arg if isinstance(arg, list) else arg.split(".", 1)))
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self.sub(text, variables)
            if fn == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if fn == "Fn::Join":
                return arg[0].join(str(x) for x in self.resolve(arg[1]))
            if fn == "Fn::Split":
                return self.resolve(arg[1]).split(arg[0])
            if fn == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if fn.startswith("Fn::"):
                raise ValueError(f"intrinsic function {fn} not handled")
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not self.NO_VALUE}


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def without_nulls(node):
    """moto keeps an AWS::NoValue in a list as null; CloudFormation drops it."""
    if isinstance(node, list):
        return [without_nulls(x) for x in node if x is not None]
    if isinstance(node, dict):
        return {k: without_nulls(v) for k, v in node.items()}
    return node


def stored_policy(document) -> dict:
    """A role's inline policy as moto's CloudFormation stores it: Python's repr of the document
    (which boto3 cannot parse as JSON, so hands over as text), with its nulls."""
    return without_nulls(ast.literal_eval(document) if isinstance(document, str) else document)


# ---------------------------------------------------------------- moto

class MotoDidNotStart(Exception):
    pass


class MotoServer:
    """One moto server on a free port of 127.0.0.1, stopped by its process id."""

    def __init__(self, log_dir: str):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / "moto.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        moto_server = Path(sys.executable).parent / "moto_server"
        try:
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(
                    [str(moto_server), "-H", "127.0.0.1", "-p", str(self.port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
        except OSError as err:
            raise MotoDidNotStart(f"{moto_server}: {err}") from err
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise MotoDidNotStart(f"moto_server did not answer on {self.endpoint}: {self.last_error()}")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def last_error(self) -> str:
        """The last exception moto logged (its traceback's last line), or its last line."""
        lines = self.log_path.read_text(errors="replace").splitlines() or [""]
        errors = [line for line in lines if re.match(r"[\w.]+(Error|Exception)\b", line)]
        return (errors or lines)[-1]

    def client(self, service: str, region: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id="moto",
            aws_secret_access_key="moto",
            config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30),
        )


def upload_code(moto: MotoServer) -> None:
    """moto's Lambda reads the function's code from S3: any small zip."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("bootstrap", "#!/bin/sh\n")
    s3 = moto.client("s3", "us-east-1")
    s3.create_bucket(Bucket=CODE_BUCKET)
    s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=archive.getvalue())


# ---------------------------------------------------------------- one deployed stack

class Missing(Exception):
    """A resource's backing object is not where its service's API would have it."""


class Stack:
    """A stack created in moto: its resources, their real values, and the checks' problems."""

    def __init__(
        self, moto: MotoServer, name: str, region: str, source: dict, values: dict, transformed: dict, problems: Problems
    ):
        self.moto = moto
        self.name = name
        self.region = region
        self.source = source
        self.values = values
        self.transformed = transformed
        self.problems = problems
        self._clients: dict = {}
        self._resource_values: dict = {}
        self._rules: dict | None = None
        cfn = self.client("cloudformation")
        description = cfn.describe_stacks(StackName=name)["Stacks"][0]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
        self.account = self.client("sts").get_caller_identity()["Account"]
        pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::StackName": name,
            "AWS::StackId": description["StackId"],
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.resolver = Resolver(transformed, values, pseudo, self)
        self.listed = {
            r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
            for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
            if r.get("LogicalResourceId")
        }
        self.expected = {
            logical: res["Type"]
            for logical, res in transformed["Resources"].items()
            if "Condition" not in res or self.resolver.condition(res["Condition"])
        }
        self.skipped = {logical: kind for logical, kind in self.expected.items() if logical not in self.listed}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.moto.client(service, self.region)
        return self._clients[service]

    def problem(self, text: str) -> None:
        self.problems.add(f"stack {self.name} ({self.region})", text)

    def props(self, logical: str) -> dict:
        return self.resolver.resolve(self.transformed["Resources"][logical].get("Properties") or {})

    def created(self, kind: str) -> list[str]:
        return [logical for logical, k in self.expected.items() if k == kind and logical in self.listed]

    def missing(self, text: str) -> Missing:
        """Records a problem that stops the check that found it."""
        self.problem(text)
        return Missing(text)

    def resource_values(self, logical: str) -> dict:
        """The resource's Ref and attributes, read from its service's API (once). Raises Missing,
        recorded as a problem, when they cannot be read."""
        if logical not in self._resource_values:
            kind = self.transformed["Resources"].get(logical, {}).get("Type")
            try:
                if logical not in self.listed:
                    raise Missing("not created (its Condition is false, or moto skipped it), yet referred to")
                if kind not in READERS:
                    raise Missing(f"this script cannot find a {kind} through its service's API")
                self._resource_values[logical] = READERS[kind](self, logical, self.listed[logical])
            except Missing as err:
                self._resource_values[logical] = self.missing(f"{logical} ({kind}): {err}")
            except AWS_ERRORS as err:
                self._resource_values[logical] = self.missing(f"{logical} ({kind}): {one_line(err)}")
        found = self._resource_values[logical]
        if isinstance(found, Missing):
            raise found
        return found

    def ref(self, logical: str):
        return self.resource_values(logical)["Ref"]

    def getatt(self, logical: str, attribute: str):
        found = self.resource_values(logical)
        if attribute not in found:
            raise self.missing(f"{logical}.{attribute}: this script does not read that attribute from the API")
        return found[attribute]

    def function(self) -> str:
        """The logical id of the function (the template's one AWS::Serverless::Function)."""
        functions = self.created("AWS::Lambda::Function")
        if len(functions) != 1:
            raise self.missing(f"{len(functions)} functions created, 1 expected")
        return functions[0]

    def rules(self) -> dict[str, dict]:
        """The stack's rules: ARN -> {"bus", "description", "targets"} (read once)."""
        if self._rules is not None:
            return self._rules
        events = self.client("events")
        found = {}
        for logical in self.created("AWS::Events::Rule"):
            bus = self.props(logical).get("EventBusName", "default")
            name = self.ref(logical)
            found[self.getatt(logical, "Arn")] = {
                "bus": bus,
                "description": events.describe_rule(Name=name, EventBusName=bus),
                "targets": events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"],
            }
        self._rules = found
        return found

    def function_role_policies(self) -> dict[str, dict]:
        """The inline policies of the function's role, as moto stored them."""
        role_arn = self.getatt(self.function(), "config")["Role"]
        for role in self.created("AWS::IAM::Role"):
            if self.getatt(role, "Arn") == role_arn:
                return self.getatt(role, "policies")
        raise self.missing(f"the function's role {role_arn} is not a role of the stack")

    def function_policy(self) -> list[dict]:
        try:
            text = self.client("lambda").get_policy(FunctionName=self.ref(self.function()))["Policy"]
        except ClientError:
            return []
        return json.loads(text)["Statement"]


# ---------------------------------------------------------------- backing objects, per type

def read_function(stack: Stack, logical: str, physical: str) -> dict:
    config = stack.client("lambda").get_function_configuration(FunctionName=physical)
    return {"Ref": physical, "Arn": config["FunctionArn"], "config": config}


def read_role(stack: Stack, logical: str, physical: str) -> dict:
    iam = stack.client("iam")
    arn = iam.get_role(RoleName=physical)["Role"]["Arn"]
    stored = {
        name: stored_policy(iam.get_role_policy(RoleName=physical, PolicyName=name)["PolicyDocument"])
        for name in iam.list_role_policies(RoleName=physical)["PolicyNames"]
    }
    ours = {p["PolicyName"]: p["PolicyDocument"] for p in stack.props(logical).get("Policies", [])}
    if stored != ours:
        stack.problem(
            f"{logical}'s inline policies as moto stored them differ from this script's resolution of "
            f"the template (moto: {json.dumps(stored, sort_keys=True)}; ours: {json.dumps(ours, sort_keys=True)})"
        )
    return {"Ref": physical, "Arn": arn, "policies": stored}


def read_queue(stack: Stack, logical: str, physical: str) -> dict:
    attributes = stack.client("sqs").get_queue_attributes(QueueUrl=physical, AttributeNames=["All"])["Attributes"]
    return {"Ref": physical, "Arn": attributes["QueueArn"], "QueueName": physical.rsplit("/", 1)[-1], "attributes": attributes}


def read_rule(stack: Stack, logical: str, physical: str) -> dict:
    bus = stack.props(logical).get("EventBusName", "default")
    rule = stack.client("events").describe_rule(Name=physical, EventBusName=bus)
    return {"Ref": physical, "Arn": rule["Arn"]}


def read_event_bus(stack: Stack, logical: str, physical: str) -> dict:
    # moto gives the bus no physical id: it is found by its name. Ref is the name.
    name = stack.props(logical)["Name"]
    arn = stack.client("events").describe_event_bus(Name=name)["Arn"]
    return {"Ref": name, "Name": name, "Arn": arn}


def read_permission(stack: Stack, logical: str, physical: str) -> dict:
    # moto gives the permission no physical id: it is a statement of the function's policy.
    props = stack.props(logical)
    for statement in stack.function_policy():
        if (
            principals(statement, "Service") == [props["Principal"]]
            and statement.get("Action") == props["Action"]
            and condition_values(statement, "aws:SourceArn") == set(as_list(props.get("SourceArn")))
        ):
            return {"Ref": statement.get("Sid", "")}
    raise Missing(f"no statement of the function's policy admits {props['Principal']} from {props.get('SourceArn')}")


def read_event_source_mapping(stack: Stack, logical: str, physical: str) -> dict:
    stack.client("lambda").get_event_source_mapping(UUID=physical)
    return {"Ref": physical}


def read_log_group(stack: Stack, logical: str, physical: str) -> dict:
    groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
    group = next((g for g in groups if g["logGroupName"] == physical), None)
    if group is None:
        raise Missing(f"no log group {physical}")
    retention = stack.props(logical).get("RetentionInDays")
    if group.get("retentionInDays") != retention:
        stack.problem(f"{logical} keeps its logs {group.get('retentionInDays')} days, not {retention}")
    return {"Ref": physical, "Arn": group["arn"]}


def read_topic(stack: Stack, logical: str, physical: str) -> dict:
    stack.client("sns").get_topic_attributes(TopicArn=physical)
    return {"Ref": physical, "TopicArn": physical, "TopicName": physical.rsplit(":", 1)[-1]}


READERS = {
    "AWS::Lambda::Function": read_function,
    "AWS::IAM::Role": read_role,
    "AWS::SQS::Queue": read_queue,
    "AWS::Events::Rule": read_rule,
    "AWS::Events::EventBus": read_event_bus,
    "AWS::Lambda::Permission": read_permission,
    "AWS::Lambda::EventSourceMapping": read_event_source_mapping,
    "AWS::Logs::LogGroup": read_log_group,
    "AWS::SNS::Topic": read_topic,
}


# ---------------------------------------------------------------- what moto skips, from the template

def condition_values(statement: dict, key: str) -> set[str]:
    """The values a statement's conditions give `key`, whatever the operator."""
    return {
        value
        for keys in (statement.get("Condition") or {}).values()
        for name, values in keys.items()
        if name.lower() == key.lower()
        for value in as_list(values)
    }


def principals(statement: dict, kind: str) -> list[str]:
    """The statement's principals of a kind (Service, AWS)."""
    principal = statement.get("Principal")
    return as_list(principal.get(kind)) if isinstance(principal, dict) else []


def source_arns(statement: dict) -> tuple[list[str], list[str]]:
    """A statement's aws:SourceArn condition: (ArnEquals values, ArnLike patterns)."""
    equal, like = [], []
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, value in keys.items():
            if key.lower() == "aws:sourcearn":
                (equal if operator == "ArnEquals" else like if operator == "ArnLike" else []).extend(as_list(value))
    return equal, like


def allows_events(statement: dict) -> bool:
    """Whether the statement allows EventBridge (the service principal) anything."""
    return statement.get("Effect") == "Allow" and EVENTS_PRINCIPAL in principals(statement, "Service")


def admits(statement: dict, queue_arn: str, rule_arn: str) -> bool:
    equal, like = source_arns(statement)
    return (
        allows_events(statement)
        and "sqs:SendMessage" in as_list(statement.get("Action"))
        and queue_arn in as_list(statement.get("Resource"))
        and (rule_arn in equal or any(fnmatch.fnmatchcase(rule_arn, p) for p in like))
    )


def check_queue_policies(stack: Stack, logicals: list[str]) -> None:
    """AWS::SQS::QueuePolicy: each stack queue admits every stack rule that sends to it (its
    target, or its dead-letter queue), and EventBridge from nothing but this stack's rules."""
    statements: dict[str, list] = defaultdict(list)
    for logical in logicals:
        props = stack.props(logical)
        for url in props["Queues"]:
            statements[url] += as_list(props["PolicyDocument"]["Statement"])
    queues = {stack.ref(q): stack.getatt(q, "Arn") for q in stack.created("AWS::SQS::Queue")}
    for url in set(statements) - set(queues):
        stack.problem(f"a queue policy names {url}, not a queue of the stack")
    rules = stack.rules()
    buses = {stack.getatt(b, "Arn").replace(":event-bus/", ":rule/") + "/" for b in stack.created("AWS::Events::EventBus")}
    for url, queue_arn in queues.items():
        senders = {
            arn
            for arn, rule in rules.items()
            for target in rule["targets"]
            if queue_arn in (target["Arn"], target.get("DeadLetterConfig", {}).get("Arn"))
        }
        for arn in sorted(senders):
            if not any(admits(s, queue_arn, arn) for s in statements[url]):
                stack.problem(f"the policy of {url} does not admit {arn}, which sends to it")
        for statement in statements[url]:
            if not allows_events(statement):
                continue
            equal, like = source_arns(statement)
            if not equal and not like:
                stack.problem(f"the policy of {url} admits EventBridge without an aws:SourceArn ({statement.get('Sid')})")
            for arn in equal:
                if arn not in rules:
                    stack.problem(f"the policy of {url} admits {arn}, not a rule of the stack ({statement.get('Sid')})")
            for pattern in like:
                if not any(pattern.startswith(prefix) for prefix in buses):
                    stack.problem(f"the policy of {url} admits {pattern}, wider than the stack's bus ({statement.get('Sid')})")


def check_bus_policies(stack: Stack, logicals: list[str]) -> None:
    """AWS::Events::EventBusPolicy: each stack bus admits the management account's forwarder role,
    for at least the sources and detail types its rules match."""
    management = stack.values.get("ManagementAccountId") or stack.account
    policies = defaultdict(list)
    for logical in logicals:
        props = stack.props(logical)
        policies[props["EventBusName"]] += as_list(props.get("Statement"))
    buses = {stack.ref(b): stack.getatt(b, "Arn") for b in stack.created("AWS::Events::EventBus")}
    for name in set(policies) - set(buses):
        stack.problem(f"a bus policy names the bus {name!r}, not a bus of the stack")
    rules = stack.rules().values()
    for name, arn in buses.items():
        if not policies[name]:
            stack.problem(f"no policy lets the management account put events on {name}")
        patterns = [json.loads(r["description"]["EventPattern"]) for r in rules if r["bus"] == name]
        sources = {s for p in patterns for s in p.get("source", [])}
        detail_types = {d for p in patterns for d in p.get("detail-type", [])}
        for statement in policies[name]:
            accounts = principals(statement, "AWS")
            roles = condition_values(statement, "aws:PrincipalArn")
            problems = []
            if accounts != [f"arn:aws:iam::{management}:root"]:
                problems.append(f"its principal is {accounts}, not account {management}")
            if not roles or any(not r.startswith(f"arn:aws:iam::{management}:role/") for r in roles):
                problems.append(f"aws:PrincipalArn {sorted(roles)} is not a role of account {management}")
            if as_list(statement.get("Action")) != ["events:PutEvents"] or as_list(statement.get("Resource")) != [arn]:
                problems.append(f"it grants {statement.get('Action')} on {statement.get('Resource')}, not events:PutEvents on {arn}")
            allowed_sources = condition_values(statement, "events:source")
            allowed_types = condition_values(statement, "events:detail-type")
            if not sources <= allowed_sources or not detail_types <= allowed_types:
                problems.append(
                    f"it admits sources {sorted(allowed_sources)} and detail types {sorted(allowed_types)}, "
                    f"but the rules match {sorted(sources)} and {sorted(detail_types)}"
                )
            for text in problems:
                stack.problem(f"the policy of the bus {name}: {text}")


def check_alarms(stack: Stack, logicals: list[str]) -> None:
    """AWS::CloudWatch::Alarm: each alarm's dimensions name the stack's real resources and it
    notifies the stack's topic; the function's errors and the dead-letter queue are alarmed."""
    function = stack.ref(stack.function())
    queues = {stack.getatt(q, "QueueName") for q in stack.created("AWS::SQS::Queue")}
    known = {("AWS/Lambda", "FunctionName"): {function}, ("AWS/SQS", "QueueName"): queues}
    topics = {stack.ref(t) for t in stack.created("AWS::SNS::Topic")}
    alarmed = set()
    for logical in logicals:
        props = stack.props(logical)
        actions = set(props.get("AlarmActions", []))
        if not actions or not actions <= topics:
            stack.problem(f"{logical} notifies {sorted(actions)}, not the stack's topic {sorted(topics)}")
        for dimension in props.get("Dimensions", []):
            key = (props.get("Namespace"), dimension["Name"])
            if dimension["Value"] not in known.get(key, set()):
                stack.problem(f"{logical}'s dimension {key[0]} {key[1]}={dimension['Value']} names no resource of the stack")
            alarmed.add((props.get("Namespace"), props.get("MetricName"), dimension["Value"]))
        # A metric-math alarm (the coverage alarm): its metrics are the function's, in the
        # namespace the function is given.
        for query in props.get("Metrics", []):
            metric = (query.get("MetricStat") or {}).get("Metric")
            if metric is None:
                continue
            if metric.get("Namespace") != stack.values["MetricsNamespace"]:
                stack.problem(f"{logical} reads {metric.get('Namespace')}, not MetricsNamespace={stack.values['MetricsNamespace']!r}")
            alarmed.add((metric.get("Namespace"), metric.get("MetricName"), None))
    coverage = stack.values["EnableCoverageAlarm"] == "true" and stack.values["MetricsNamespace"] != "none"
    covered = {name for namespace, name, _ in alarmed if namespace == stack.values["MetricsNamespace"]}
    if coverage and not {"Unprocessed", "NeedsAction"} <= covered:
        stack.problem(f"no coverage alarm on the run's Unprocessed and NeedsAction metrics (read: {sorted(covered)})")
    if not coverage and covered:
        stack.problem(f"a coverage alarm with EnableCoverageAlarm={stack.values['EnableCoverageAlarm']}")
    required = {
        ("AWS/Lambda", "Errors", function): "the function's errors",
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", stack.getatt(DEAD_LETTER_QUEUE, "QueueName")): "the dead-letter queue",
    }
    for key, what in required.items():
        if key not in alarmed:
            stack.problem(f"no alarm on {what} ({' '.join(key)})")


def check_invoke_configs(stack: Stack, logicals: list[str]) -> None:
    """AWS::Lambda::EventInvokeConfig: on the function, within Lambda's limits, its destinations
    are stack queues the function's role may send to."""
    function = stack.function()
    sendable = {
        resource
        for document in stack.function_role_policies().values()
        for statement in as_list(document.get("Statement"))
        if statement.get("Effect") == "Allow" and "sqs:SendMessage" in as_list(statement.get("Action"))
        for resource in as_list(statement.get("Resource"))
    }
    queues = {stack.getatt(q, "Arn") for q in stack.created("AWS::SQS::Queue")}
    for logical in logicals:
        props = stack.props(logical)
        if props.get("FunctionName") not in (stack.ref(function), stack.getatt(function, "Arn")):
            stack.problem(f"{logical} configures {props.get('FunctionName')}, not the stack's function")
        if props.get("Qualifier") != "$LATEST":
            stack.problem(f"{logical} configures the qualifier {props.get('Qualifier')}, not $LATEST")
        if not 0 <= props.get("MaximumRetryAttempts", 2) <= 2 or not 60 <= props.get("MaximumEventAgeInSeconds", 60) <= 21600:
            stack.problem(
                f"{logical}: retries {props.get('MaximumRetryAttempts')} / event age "
                f"{props.get('MaximumEventAgeInSeconds')} s outside Lambda's 0-2 / 60-21600 s"
            )
        for outcome, destination in (props.get("DestinationConfig") or {}).items():
            arn = destination.get("Destination")
            if arn not in queues:
                stack.problem(f"{logical}'s {outcome} destination {arn} is not a queue of the stack")
            elif arn not in sendable:
                stack.problem(f"{logical}'s {outcome} destination {arn}: the function's role may not sqs:SendMessage to it")


def check_subscriptions(stack: Stack, logicals: list[str]) -> None:
    """AWS::SNS::Subscription: AlarmEmail, when given, is subscribed by email to the stack's
    topic; nothing else is."""
    topics = {stack.ref(t) for t in stack.created("AWS::SNS::Topic")}
    if len(logicals) != bool(stack.values["AlarmEmail"]):
        stack.problem(f"{len(logicals)} subscriptions to the alarm topic with AlarmEmail={stack.values['AlarmEmail']!r}")
    for logical in logicals:
        props = stack.props(logical)
        found = (props.get("TopicArn") in topics, props.get("Protocol"), props.get("Endpoint"))
        if found != (True, "email", stack.values["AlarmEmail"]):
            stack.problem(
                f"{logical} subscribes {props.get('Protocol')}:{props.get('Endpoint')} to {props.get('TopicArn')}, "
                f"not email:{stack.values['AlarmEmail']} to {sorted(topics)}"
            )


# The types moto 5.2.5's CloudFormation skips here (measured), each checked from the template.
SKIPPED_CHECKS = {
    "AWS::SQS::QueuePolicy": check_queue_policies,
    "AWS::Events::EventBusPolicy": check_bus_policies,
    "AWS::CloudWatch::Alarm": check_alarms,
    "AWS::Lambda::EventInvokeConfig": check_invoke_configs,
    "AWS::SNS::Subscription": check_subscriptions,
}


# ---------------------------------------------------------------- the stack's behaviour

def environment_wiring(source: dict) -> tuple[dict[str, str], list[str]]:
    """template.yaml's function environment: {variable: parameter} for each variable that is the
    !Ref of the parameter of the same name (GUARDDUTY_DETECTOR_ID: GuardDutyDetectorId), and a
    problem for each other variable."""
    function = next(r for r in source["Resources"].values() if r["Type"] == "AWS::Serverless::Function")
    wiring, problems = {}, []
    for variable, node in function["Properties"]["Environment"]["Variables"].items():
        parameter = node.get("Ref") if isinstance(node, dict) and len(node) == 1 else None
        if parameter not in source["Parameters"]:
            problems.append(f"the function's {variable} is not the !Ref of a parameter: {node}")
        elif parameter.lower() != variable.replace("_", "").lower():
            problems.append(f"the function's {variable} is the !Ref of {parameter}, a parameter of another name")
        else:
            wiring[variable] = parameter
    return wiring, problems


def check_function(stack: Stack) -> None:
    """The environment equals the parameters; no reserved concurrency; the stack's log group;
    the architecture and log level (moto drops both: from the template)."""
    function = stack.function()
    config = stack.getatt(function, "config")
    wiring, _ = environment_wiring(stack.source)
    # moto turns a Number parameter given to CreateStack into an int, which reaches the
    # environment as a JSON number; CloudFormation passes the text, as Lambda stores it.
    actual = {k: str(v) for k, v in config.get("Environment", {}).get("Variables", {}).items()}
    for variable in sorted(set(actual) - set(wiring)):
        if variable not in stack.source["Resources"][function]["Properties"]["Environment"]["Variables"]:
            stack.problem(f"the function's environment has {variable}, which template.yaml does not set")
    for variable, parameter in sorted(wiring.items()):
        if actual.get(variable) != stack.values[parameter]:
            stack.problem(f"the function's {variable} is {actual.get(variable)!r}, not {parameter}={stack.values[parameter]!r}")
    reserved = stack.client("lambda").get_function_concurrency(FunctionName=config["FunctionName"])
    if "ReservedConcurrentExecutions" in reserved:
        stack.problem(f"the function reserves {reserved['ReservedConcurrentExecutions']} concurrent executions")
    props = stack.props(function)
    if props.get("Architectures") != [stack.values["Architecture"]]:
        stack.problem(f"the function's Architectures are {props.get('Architectures')}, not [{stack.values['Architecture']}]")
    logging_config = props.get("LoggingConfig", {})
    if logging_config.get("ApplicationLogLevel") != stack.values["LogLevel"]:
        stack.problem(f"the function's log level is {logging_config.get('ApplicationLogLevel')}, not {stack.values['LogLevel']}")
    log_group = logging_config.get("LogGroup", f"/aws/lambda/{config['FunctionName']}")
    if log_group not in {stack.ref(g) for g in stack.created("AWS::Logs::LogGroup")}:
        stack.problem(f"the function logs to {log_group}, not a log group of the stack")


def check_account_events(stack: Stack) -> None:
    """AccountEventQueue, its event source mapping, and the rules on the stack's bus."""
    config = stack.getatt(stack.function(), "config")
    queue_arn = stack.getatt(ACCOUNT_EVENT_QUEUE, "Arn")
    attributes = stack.getatt(ACCOUNT_EVENT_QUEUE, "attributes")
    if int(attributes.get("VisibilityTimeout", 0)) < 6 * config["Timeout"]:
        stack.problem(
            f"{ACCOUNT_EVENT_QUEUE}'s visibility timeout {attributes.get('VisibilityTimeout')} s is under "
            f"6 x the function's timeout ({config['Timeout']} s)"
        )
    redrive = json.loads(attributes.get("RedrivePolicy", "{}"))
    dead_letter_arn = stack.getatt(DEAD_LETTER_QUEUE, "Arn")
    if redrive.get("deadLetterTargetArn") != dead_letter_arn or not int(redrive.get("maxReceiveCount", 0)) >= 1:
        stack.problem(f"{ACCOUNT_EVENT_QUEUE}'s redrive policy is {redrive}, not to {dead_letter_arn} with a maxReceiveCount")
    if attributes.get("SqsManagedSseEnabled") != "true":
        stack.problem(f"{ACCOUNT_EVENT_QUEUE} is not encrypted with SQS managed keys")

    mappings = stack.client("lambda").list_event_source_mappings(FunctionName=config["FunctionName"])["EventSourceMappings"]
    template_mappings = stack.created("AWS::Lambda::EventSourceMapping")
    if len(mappings) != 1 or len(template_mappings) != 1:
        stack.problem(f"the function has {len(mappings)} event source mappings ({len(template_mappings)} in the template), 1 expected")
        return
    mapping, props = mappings[0], stack.props(template_mappings[0])
    # moto 5.2.5 keeps every field read here (ScalingConfig and FunctionResponseTypes included).
    expected = {
        "EventSourceArn": queue_arn,
        "BatchSize": int(props["BatchSize"]),
        "MaximumBatchingWindowInSeconds": int(stack.values["BatchingWindowSeconds"]),
        "ScalingConfig": props.get("ScalingConfig"),
    }
    for field, value in expected.items():
        if mapping.get(field) != value:
            stack.problem(f"the event source mapping's {field} is {mapping.get(field)}, not {value}")
    if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", []):
        stack.problem("the event source mapping does not report batch item failures")
    # Lambda refuses this (CreateEventSourceMapping's MaximumBatchingWindowInSeconds: "when you set
    # BatchSize to a value greater than 10, you must set MaximumBatchingWindowInSeconds to at least
    # 1"); moto accepts it.
    if mapping.get("BatchSize", 10) > 10 and mapping.get("MaximumBatchingWindowInSeconds", 0) < 1:
        stack.problem(
            f"the event source mapping's BatchSize {mapping.get('BatchSize')} with a batching window of "
            f"{mapping.get('MaximumBatchingWindowInSeconds', 0)} s: Lambda refuses a batch over 10 without a window of at least 1 s"
        )

    for bus in stack.created("AWS::Events::EventBus"):
        name = stack.ref(bus)
        on_bus = stack.client("events").list_rules(EventBusName=name)["Rules"]
        from_template = {r["description"]["Name"] for r in stack.rules().values() if r["bus"] == name}
        if {r["Name"] for r in on_bus} != from_template or not on_bus:
            stack.problem(f"the rules on {name} are {sorted(r['Name'] for r in on_bus)}, not the template's {sorted(from_template)}")
        for rule in on_bus:
            targets = stack.client("events").list_targets_by_rule(Rule=rule["Name"], EventBusName=name)["Targets"]
            if not targets or any(t["Arn"] != queue_arn for t in targets):
                stack.problem(f"the rule {rule['Name']} targets {[t['Arn'] for t in targets]}, not only {queue_arn}")


def check_sweep(stack: Stack) -> None:
    """With SweepSchedule, one rule on the default bus runs it and targets the function, which
    admits it; without, no rule targets the function."""
    function_arn = stack.getatt(stack.function(), "Arn")
    events = stack.client("events")
    names = events.list_rule_names_by_target(TargetArn=function_arn)["RuleNames"]
    schedule = stack.values["SweepSchedule"]
    if not schedule:
        if names:
            stack.problem(f"no SweepSchedule, yet the rules {names} target the function")
        return
    if len(names) != 1:
        stack.problem(f"the rules {names} target the function, 1 expected (the sweep's schedule)")
        return
    rule = events.describe_rule(Name=names[0])
    if (rule.get("ScheduleExpression"), rule.get("State")) != (schedule, "ENABLED"):
        stack.problem(f"the sweep's rule runs {rule.get('ScheduleExpression')} ({rule.get('State')}), not {schedule} (ENABLED)")
    targets = events.list_targets_by_rule(Rule=names[0])["Targets"]
    if [t["Arn"] for t in targets] != [function_arn]:
        stack.problem(f"the sweep's rule targets {[t['Arn'] for t in targets]}, not only the function")
    if not any(
        principals(s, "Service") == [EVENTS_PRINCIPAL] and rule["Arn"] in condition_values(s, "aws:SourceArn")
        for s in stack.function_policy()
    ):
        stack.problem(f"the function's policy does not admit the sweep's rule {rule['Arn']}")


def check_outputs(stack: Stack) -> None:
    """moto's Outputs equal this script's resolution of them (real values)."""
    ours = {key: str(stack.resolver.resolve(output["Value"])) for key, output in (stack.transformed.get("Outputs") or {}).items()}
    if ours != stack.outputs:
        stack.problem(f"the Outputs are {stack.outputs}, not {ours}")


def check_resources(stack: Stack) -> None:
    """Every resource whose Condition holds is created, or skipped by moto; none other is."""
    for logical in sorted(set(stack.listed) - set(stack.expected)):
        stack.problem(f"{logical} was created, but its Condition is false")
    for logical in stack.listed:
        if logical in stack.expected:
            try:
                stack.resource_values(logical)
            except Missing:
                pass  # recorded
    for kind in sorted(set(stack.skipped.values()) - set(SKIPPED_CHECKS)):
        logicals = sorted(lg for lg, k in stack.skipped.items() if k == kind)
        stack.problem(f"moto skipped {', '.join(logicals)} ({kind}), and this script has no other check for it")
    # Each runs whether or not the template has resources of its type: a queue policy that is
    # missing altogether is found as one that does not admit a rule.
    for kind, check in SKIPPED_CHECKS.items():
        try:
            check(stack, sorted(lg for lg, k in stack.expected.items() if k == kind))
        except Missing:
            pass  # recorded where it was found


# ---------------------------------------------------------------- main

def deploy(moto: MotoServer, name: str, region: str, values: dict, given: dict, transformed: dict) -> str:
    """Creates the stack; returns its final status and reason."""
    cfn = moto.client("cloudformation", region)
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(transformed),
        Parameters=[{"ParameterKey": k, "ParameterValue": values[k]} for k in sorted(given)],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + STACK_TIMEOUT_S
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return f"{stack['StackStatus']} {stack.get('StackStatusReason', '')}".strip()
        time.sleep(0.2)


def run(moto: MotoServer, source: dict, problems: Problems) -> dict:
    summary = {"stacks": 0, "resources": 0, "skipped": defaultdict(set)}
    sets = parameter_sets(source)
    for parameter in unvaried_parameters(source, sets):
        problems.add("check_stack_in_moto.py", f"no parameter set takes {parameter} off its default: add one to parameter_sets()")
    for text in environment_wiring(source)[1]:
        problems.add("template.yaml", text)
    upload_code(moto)
    default = defaults(source)
    for suffix, region, overrides in sets:
        name = f"onboarder-{suffix}"
        values = stack_values(source, overrides)
        given = {k: v for k, v in values.items() if v != default[k]}
        refused = refusals(source, values, region)
        if refused:
            problems.add(f"stack {name}", f"template.yaml refuses the parameter set {given}: {'; '.join(refused)}")
            continue
        transformed = sam_transform(source, values, region)
        try:
            status = deploy(moto, name, region, values, given, transformed)
            stack = Stack(moto, name, region, source, values, transformed, problems) if status == "CREATE_COMPLETE" else None
        except AWS_ERRORS as err:
            status, stack = one_line(err), None
        if stack is None:
            problems.add(f"stack {name} ({region})", f"not created: {status} (moto's log: {moto.last_error()})")
            continue
        for check in (check_resources, check_function, check_account_events, check_sweep, check_outputs):
            try:
                check(stack)
            except Missing:
                pass  # recorded where it was found; the rest of this check depends on it
            except AWS_ERRORS as err:
                stack.problem(f"{check.__name__}: {one_line(err)}")
        summary["stacks"] += 1
        summary["resources"] += len(stack.expected) - len(stack.skipped)
        for logical, kind in stack.skipped.items():
            summary["skipped"][kind].add(logical)
    return summary


def one_line(err: Exception) -> str:
    return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


def stop_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def main() -> int:
    if len(sys.argv) > 1:
        print(__doc__, file=sys.stderr)
        return 2
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    started = time.monotonic()
    source = yaml_parse(TEMPLATE.read_text())
    problems = Problems()
    with tempfile.TemporaryDirectory(prefix="check_stack_in_moto.") as log_dir:
        moto = MotoServer(log_dir)
        try:
            moto.start()
            summary = run(moto, source, problems)
        except MotoDidNotStart as err:
            problems.add("moto", str(err))
        finally:
            moto.stop()
    elapsed = time.monotonic() - started
    if problems:
        for line in problems:
            print(f"FAIL {line}")
        print(f"check_stack_in_moto: FAILED, {len(problems)} problem(s) ({elapsed:.0f} s)")
        return 1
    skipped = "; ".join(f"{kind} ({', '.join(sorted(names))})" for kind, names in sorted(summary["skipped"].items()))
    print(
        f"check_stack_in_moto: OK, {summary['stacks']} stacks, {summary['resources']} resources created, "
        f"skipped by moto and checked from the template: {skipped} ({elapsed:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
