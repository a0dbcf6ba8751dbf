#!/usr/bin/env python3
"""The permission policies of the IAM roles of a CloudFormation template (JSON on stdin), as
plain policy documents with their intrinsics resolved, one file per policy in DIR: what
parliament reads (it checks identity policies; a role's trust policy is not one).

    ddb -o json lambda template | python3 scripts/iam-policies.py DIR
    parliament --directory DIR --include_policy_extension .json --minimum_severity MEDIUM

Parliament checks policy documents, not templates: `Fn::GetAtt` and `Fn::Sub` are replaced by
the values CloudFormation documents for them (an ARN of the right shape for each resource
type), in an example account and region, and parameters take their defaults.
"""

import json
import re
import sys
from pathlib import Path

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "111122223333",
    "AWS::StackName": "ddb-stack",
    "AWS::URLSuffix": "amazonaws.com",
}


class Resolver:
    def __init__(self, template):
        self.template = template
        self.resources = template.get("Resources", {})
        self.parameters = template.get("Parameters", {})

    def arn(self, service, rest):
        return f"arn:aws:{service}:{PSEUDO['AWS::Region']}:{PSEUDO['AWS::AccountId']}:{rest}"

    def ref(self, name):
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            return str(self.parameters[name].get("Default", f"{name}-value"))
        res = self.resources.get(name)
        if res is None:
            sys.exit(f"iam-policies: Ref to unknown {name}")
        props = res.get("Properties", {})
        kind = res["Type"]
        if kind == "AWS::DynamoDB::Table":
            return self.value(props.get("TableName", f"ddb-stack-{name}"))
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{PSEUDO['AWS::Region']}.amazonaws.com/{PSEUDO['AWS::AccountId']}/{self.queue_name(name)}"
        if kind == "AWS::Logs::LogGroup":
            return self.value(props.get("LogGroupName", f"ddb-stack-{name}"))
        if kind == "AWS::Lambda::Function":
            return self.value(props.get("FunctionName", f"ddb-stack-{name}"))
        return f"ddb-stack-{name}"

    def queue_name(self, name):
        props = self.resources[name].get("Properties", {})
        return self.value(props.get("QueueName", f"ddb-stack-{name}-EXAMPLE"))

    def get_att(self, name, attr):
        kind = self.resources[name]["Type"]
        if kind == "AWS::DynamoDB::Table":
            table = self.arn("dynamodb", f"table/{self.ref(name)}")
            return {"Arn": table, "StreamArn": f"{table}/stream/2026-01-01T00:00:00.000"}[attr]
        if kind == "AWS::SQS::Queue":
            queue = self.queue_name(name)
            return {"Arn": self.arn("sqs", queue), "QueueName": queue}[attr]
        if kind == "AWS::Logs::LogGroup" and attr == "Arn":
            return self.arn("logs", f"log-group:{self.ref(name)}:*")
        if kind == "AWS::Lambda::Function" and attr == "Arn":
            return self.arn("lambda", f"function:{self.ref(name)}")
        if kind == "AWS::IAM::Role" and attr == "Arn":
            return f"arn:aws:iam::{PSEUDO['AWS::AccountId']}:role/ddb-stack-{name}"
        sys.exit(f"iam-policies: no value written for {name}.{attr} ({kind})")

    def sub(self, text):
        def one(m):
            name = m.group(1)
            if "." in name and name not in PSEUDO:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def value(self, v):
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            if set(v) == {"Ref"}:
                return self.ref(v["Ref"])
            if set(v) == {"Fn::GetAtt"}:
                return self.get_att(*v["Fn::GetAtt"])
            if set(v) == {"Fn::Sub"}:
                return self.sub(v["Fn::Sub"])
            if any(k.startswith("Fn::") for k in v):
                sys.exit(f"iam-policies: no resolution written for {v}")
            return {k: self.value(x) for k, x in v.items()}
        return v


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: iam-policies.py DIR < template.json")
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    template = json.load(sys.stdin)
    resolver = Resolver(template)
    written = 0
    for name, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::IAM::Role":
            continue
        for policy in res["Properties"].get("Policies", []):
            label, document = policy["PolicyName"], policy["PolicyDocument"]
            path = out / f"{name}-{label}.json"
            path.write_text(json.dumps(resolver.value(document), indent=2) + "\n")
            written += 1
    if written == 0:
        sys.exit("iam-policies: the template has no IAM role with a policy")
    print(f"iam-policies: {written} policies written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
