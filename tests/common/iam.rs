//! A small IAM evaluator for the template's role, written here from AWS's documentation and
//! never from ddb's code:
//! - CloudFormation's intrinsics as the template uses them (`Ref`, `Fn::GetAtt`, `Fn::Sub`), with
//!   the return values the CloudFormation guide gives per resource type (a table's `Arn` and
//!   `StreamArn`, a queue's `Arn` and `QueueName`, a log group's `Arn`, which ends in `:*`);
//! - identity-policy evaluation (IAM's policy evaluation logic): an explicit Deny wins, else an
//!   Allow of a statement whose Action (or NotAction) and Resource (or NotResource) match, else
//!   the implicit deny; a statement with a Condition is refused, not guessed at;
//! - wildcards: in actions `*` and `?`, case-insensitively; in resource ARNs `*` and `?` within a
//!   segment (the parts between colons), a `*` that ends a segment matching across colons too;
//! - what a DynamoDB request is authorised as, from the Service Authorization Reference: one
//!   action per operation on its table (a Query or Scan with IndexName on the index), and a
//!   transaction item by item (ConditionCheck → `dynamodb:ConditionCheckItem`, Put → `PutItem`,
//!   Delete → `DeleteItem`, Update → `UpdateItem`, Get → `GetItem`).

use std::collections::HashMap;

use serde_json::{json, Value};

/// The example account and region the template is resolved in, and requests are made from.
pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-1";
/// The label of the table's stream ARN (`…/stream/<label>`).
pub const STREAM_LABEL: &str = "2026-01-01T00:00:00.000";

/// `arn:aws:<service>:<region>:<account>:<rest>`.
pub fn arn(service: &str, rest: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}")
}

/// A table's ARN, from a request's TableName (which may already be an ARN).
pub fn table_arn(name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_string()
    } else {
        arn("dynamodb", &format!("table/{name}"))
    }
}

/// A deployed template: its resources, and parameters at their defaults unless overridden.
pub struct Stack<'a> {
    pub template: &'a Value,
    parameters: HashMap<String, String>,
}

impl<'a> Stack<'a> {
    pub fn new(template: &'a Value, overrides: &[(&str, &str)]) -> Stack<'a> {
        let mut parameters: HashMap<String, String> = template["Parameters"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, p)| Some((k.clone(), p.get("Default")?.as_str()?.to_string())))
            .collect();
        for (k, v) in overrides {
            parameters.insert(k.to_string(), v.to_string());
        }
        Stack {
            template,
            parameters,
        }
    }

    fn resource(&self, name: &str) -> &Value {
        let res = &self.template["Resources"][name];
        assert!(res.is_object(), "the template has no resource {name}");
        res
    }

    fn kind(&self, name: &str) -> &str {
        self.resource(name)["Type"].as_str().expect("Type")
    }

    /// A resource's property, resolved; `default` when it is not set (a generated name).
    fn property(&self, name: &str, key: &str, default: String) -> String {
        match self.resource(name)["Properties"].get(key) {
            Some(v) => self.string(v),
            None => default,
        }
    }

    /// `Ref`: a parameter's value, a pseudo parameter, or a resource's documented Ref value.
    pub fn reference(&self, name: &str) -> String {
        match name {
            "AWS::Region" => return REGION.into(),
            "AWS::AccountId" => return ACCOUNT.into(),
            "AWS::Partition" => return "aws".into(),
            "AWS::StackName" => return "ddb-stack".into(),
            _ => {}
        }
        if let Some(v) = self.parameters.get(name) {
            return v.clone();
        }
        let generated = format!("ddb-stack-{name}-EXAMPLE");
        match self.kind(name) {
            "AWS::DynamoDB::Table" => self.property(name, "TableName", generated),
            "AWS::Logs::LogGroup" => self.property(name, "LogGroupName", generated),
            "AWS::Lambda::Function" => self.property(name, "FunctionName", generated),
            "AWS::SQS::Queue" => format!(
                "https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{}",
                self.queue_name(name)
            ),
            _ => generated,
        }
    }

    fn queue_name(&self, name: &str) -> String {
        self.property(name, "QueueName", format!("ddb-stack-{name}-EXAMPLE"))
    }

    /// `Fn::GetAtt`, for the attributes the template reads.
    pub fn attribute(&self, name: &str, attr: &str) -> String {
        match (self.kind(name), attr) {
            ("AWS::DynamoDB::Table", "Arn") => table_arn(&self.reference(name)),
            ("AWS::DynamoDB::Table", "StreamArn") => {
                format!("{}/stream/{STREAM_LABEL}", table_arn(&self.reference(name)))
            }
            ("AWS::SQS::Queue", "Arn") => arn("sqs", &self.queue_name(name)),
            ("AWS::SQS::Queue", "QueueName") => self.queue_name(name),
            ("AWS::Logs::LogGroup", "Arn") => {
                arn("logs", &format!("log-group:{}:*", self.reference(name)))
            }
            ("AWS::Lambda::Function", "Arn") => {
                arn("lambda", &format!("function:{}", self.reference(name)))
            }
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{ACCOUNT}:role/ddb-stack-{name}"),
            (kind, _) => panic!("no value written here for {kind} {name}.{attr}"),
        }
    }

    /// `Fn::Sub` of a string: `${Name}` is a Ref, `${Name.Attr}` a GetAtt.
    fn sub(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find('}').expect("closing brace") + i;
            let name = &rest[i + 2..end];
            out.push_str(&match name.split_once('.') {
                Some((res, attr)) if !name.starts_with("AWS::") => self.attribute(res, attr),
                _ => self.reference(name),
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A value with every intrinsic resolved.
    pub fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::Array(a) => Value::Array(a.iter().map(|x| self.resolve(x)).collect()),
            Value::Object(m) if m.len() == 1 && m.contains_key("Ref") => {
                json!(self.reference(m["Ref"].as_str().expect("Ref name")))
            }
            Value::Object(m) if m.len() == 1 && m.contains_key("Fn::GetAtt") => {
                let parts = m["Fn::GetAtt"].as_array().expect("[resource, attribute]");
                let part = |i: usize| parts[i].as_str().expect("a name");
                json!(self.attribute(part(0), part(1)))
            }
            Value::Object(m) if m.len() == 1 && m.contains_key("Fn::Sub") => {
                json!(self.sub(m["Fn::Sub"].as_str().expect("Fn::Sub of a string")))
            }
            Value::Object(m) => {
                if let Some(k) = m.keys().find(|k| k.starts_with("Fn::")) {
                    panic!("no resolution written here for {k}");
                }
                Value::Object(
                    m.iter()
                        .map(|(k, x)| (k.clone(), self.resolve(x)))
                        .collect(),
                )
            }
            other => other.clone(),
        }
    }

    fn string(&self, v: &Value) -> String {
        match self.resolve(v) {
            Value::String(s) => s,
            other => panic!("not a string: {other}"),
        }
    }

    /// The permission policies of role `role`, resolved.
    pub fn role_policies(&self, role: &str) -> Vec<Policy> {
        assert_eq!(self.kind(role), "AWS::IAM::Role");
        let policies = self.resource(role)["Properties"]["Policies"]
            .as_array()
            .expect("the role's Policies");
        policies
            .iter()
            .map(|p| Policy::parse(&self.resolve(&p["PolicyDocument"])))
            .collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A statement's Action/NotAction or Resource/NotResource: the patterns and whether negated.
#[derive(Clone, Debug)]
pub struct Patterns {
    pub list: Vec<String>,
    pub not: bool,
}

#[derive(Clone, Debug)]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    pub actions: Patterns,
    pub resources: Patterns,
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        other => panic!("not a string or a list of strings: {other}"),
    }
}

fn patterns(st: &Value, key: &str) -> Patterns {
    let not_key = format!("Not{key}");
    match (st.get(key), st.get(&not_key)) {
        (Some(v), None) => Patterns {
            list: strings(v),
            not: false,
        },
        (None, Some(v)) => Patterns {
            list: strings(v),
            not: true,
        },
        _ => panic!("a statement needs exactly one of {key} and {not_key}: {st}"),
    }
}

impl Policy {
    pub fn parse(doc: &Value) -> Policy {
        assert_eq!(doc["Version"], "2012-10-17", "{doc}");
        let statements = match &doc["Statement"] {
            Value::Array(a) => a.clone(),
            one @ Value::Object(_) => vec![one.clone()],
            other => panic!("Statement: {other}"),
        };
        let statements = statements
            .iter()
            .map(|st| {
                assert!(
                    st.get("Condition").is_none(),
                    "this evaluator does not evaluate conditions: {st}"
                );
                assert!(
                    st.get("Principal").is_none(),
                    "not an identity policy: {st}"
                );
                let effect = match st["Effect"].as_str() {
                    Some("Allow") => Effect::Allow,
                    Some("Deny") => Effect::Deny,
                    other => panic!("Effect {other:?}"),
                };
                Statement {
                    sid: st["Sid"].as_str().unwrap_or("").to_string(),
                    effect,
                    actions: patterns(st, "Action"),
                    resources: patterns(st, "Resource"),
                }
            })
            .collect();
        Policy { statements }
    }
}

/// `pattern` against `text`: `*` any run of characters, `?` one. With `arn` set, a `*` stays
/// within a segment (no `:`) unless it is the last character of one.
pub fn wildcard(pattern: &str, text: &str, arn: bool) -> bool {
    fn go(p: &[char], t: &[char], arn: bool) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => {
                let spans = !arn || matches!(rest.first(), None | Some(':'));
                for i in 0..=t.len() {
                    if go(rest, &t[i..], arn) {
                        return true;
                    }
                    if i < t.len() && t[i] == ':' && !spans {
                        return false;
                    }
                }
                false
            }
            Some(('?', rest)) => !t.is_empty() && go(rest, &t[1..], arn),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..], arn),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t, arn)
}

/// An action pattern against an action: case-insensitive.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard(&pattern.to_lowercase(), &action.to_lowercase(), false)
}

impl Statement {
    fn applies(&self, action: &str, resource: &str) -> bool {
        let a = self.actions.list.iter().any(|p| action_matches(p, action));
        let r = self
            .resources
            .list
            .iter()
            .any(|p| wildcard(p, resource, true));
        (a != self.actions.not) && (r != self.resources.not)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    ExplicitlyDenied,
    ImplicitlyDenied,
}

/// IAM's decision on `action` on `resource` under the identity policies `policies`.
pub fn decide(policies: &[Policy], action: &str, resource: &str) -> Decision {
    let applying: Vec<&Statement> = policies
        .iter()
        .flat_map(|p| &p.statements)
        .filter(|s| s.applies(action, resource))
        .collect();
    if applying.iter().any(|s| s.effect == Effect::Deny) {
        Decision::ExplicitlyDenied
    } else if applying.iter().any(|s| s.effect == Effect::Allow) {
        Decision::Allowed
    } else {
        Decision::ImplicitlyDenied
    }
}

/// One authorisation a request needs: the action, the resource's ARN, and what asked for it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub action: String,
    pub resource: String,
    pub what: String,
}

impl Need {
    pub fn new(action: &str, resource: &str, what: &str) -> Need {
        Need {
            action: action.to_string(),
            resource: resource.to_string(),
            what: what.to_string(),
        }
    }
}

/// What DynamoDB request `op` with JSON `body` is authorised as (Service Authorization
/// Reference). Panics on an operation no mapping is written for here: add it from the
/// reference rather than let a call go unchecked.
pub fn authorizations(op: &str, body: &Value) -> Vec<Need> {
    let table = |v: &Value| table_arn(v["TableName"].as_str().expect("TableName"));
    let on = |action: &str, resource: String, what: String| Need {
        action: format!("dynamodb:{action}"),
        resource,
        what,
    };
    match op {
        "Query" | "Scan" => {
            let resource = match body["IndexName"].as_str() {
                Some(index) => format!("{}/index/{index}", table(body)),
                None => table(body),
            };
            vec![on(op, resource, op.to_string())]
        }
        "GetItem" | "PutItem" | "DeleteItem" | "UpdateItem" | "DescribeTable" => {
            vec![on(op, table(body), op.to_string())]
        }
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .expect("TransactItems")
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let (kind, inner) = item
                    .as_object()
                    .and_then(|m| m.iter().next())
                    .expect("one action per item");
                let action = match kind.as_str() {
                    "ConditionCheck" => "ConditionCheckItem",
                    "Put" => "PutItem",
                    "Delete" => "DeleteItem",
                    "Update" => "UpdateItem",
                    "Get" => "GetItem",
                    other => panic!("a transaction item of kind {other}"),
                };
                on(action, table(inner), format!("{op} item {i} ({kind})"))
            })
            .collect(),
        "BatchWriteItem" | "BatchGetItem" => body["RequestItems"]
            .as_object()
            .expect("RequestItems")
            .keys()
            .map(|t| on(op, table_arn(t), op.to_string()))
            .collect(),
        other => panic!(
            "no IAM mapping written here for DynamoDB's {other}: add it from the Service Authorization Reference"
        ),
    }
}
