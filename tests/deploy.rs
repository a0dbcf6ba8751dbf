//! The deployed handler works on AWS as it does here: what `ddb lambda template` deploys, read
//! with AWS's own rules. The function's DynamoDB traffic, recorded through the proxy while it
//! serves the cases that matter, must be allowed by the template's role, and the role must allow
//! nothing beyond those calls and the ones Lambda documents for the trigger (`common::iam`); the
//! trigger's filter must pass what the handler acts on and nothing else (`common::event_filter`).
//! Both evaluators are written from AWS's documentation, never from ddb's code.
//!
//! `DDB_LAMBDA_BOOTSTRAP=/path/to/ddb` runs these against another build (an older one fails them).

mod common;

use common::event_filter::{self, passes};
use common::iam::{
    self, action_matches, authorizations, decide, table_arn, wildcard, Decision, Need, Stack,
};
use common::items::{message, ts, Conversation, Names, SOMEONE};
use common::lambda::{assert_group_at, assert_group_untouched, group, record, template, Function};
use common::proxy::{Proxied, Recorded};
use common::records::Records;
use common::{bare_ddb, run, Item, TestEnv};
use serde_json::{json, Value};

/// DynamoDB's item size limit (400 KB), in bytes.
const ITEM_LIMIT: usize = 400 * 1024;

/// An item's size as DynamoDB counts it: the lengths of attribute names and values (UTF-8).
fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(k, v)| k.len() + v.as_s().expect("string attributes").len())
        .sum()
}

/// The one resource of type `kind` in the template, by logical id.
fn only(t: &Value, kind: &str) -> String {
    let found: Vec<&String> = t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(found.len(), 1, "one {kind}: {found:?}");
    found[0].clone()
}

/// The logical id an intrinsic `Ref` or `Fn::GetAtt` names.
fn named(v: &Value) -> String {
    let name = v.get("Ref").or_else(|| v["Fn::GetAtt"].get(0));
    name.and_then(Value::as_str)
        .expect("a Ref or a GetAtt")
        .to_string()
}

/// What Lambda does with the function's role for the template's trigger, as the Lambda and
/// DynamoDB guides document it (hand-written, not the catalogue): read the stream
/// (DescribeStream, GetShardIterator, GetRecords on the stream; ListStreams, which has no
/// resource type, on `*`), send a batch it gave up on to the on-failure queue, and write the
/// function's log streams in its log group.
fn lambda_needs(stack: &Stack) -> Vec<Need> {
    let t = stack.template;
    let mapping = &t["Resources"][only(t, "AWS::Lambda::EventSourceMapping")]["Properties"];
    let stream = stack.resolve(&mapping["EventSourceArn"]);
    let stream = stream.as_str().expect("a stream ARN");
    let queue = stack.resolve(&mapping["DestinationConfig"]["OnFailure"]["Destination"]);
    let queue = queue.as_str().expect("a queue ARN");
    let function = &t["Resources"][named(&mapping["FunctionName"])]["Properties"];
    let group = match function["LoggingConfig"].get("LogGroup") {
        Some(g) => stack.resolve(g).as_str().expect("a name").to_string(),
        None => format!("/aws/lambda/{}", stack.resolve(&function["FunctionName"])),
    };
    let log_stream = iam::arn(
        "logs",
        &format!("log-group:{group}:log-stream:2026/01/01/[$LATEST]0123456789abcdef"),
    );
    let trigger = "Lambda, for the trigger";
    let mut needs: Vec<Need> = ["DescribeStream", "GetShardIterator", "GetRecords"]
        .iter()
        .map(|a| Need::new(&format!("dynamodb:{a}"), stream, trigger))
        .collect();
    needs.push(Need::new("dynamodb:ListStreams", "*", trigger));
    needs.push(Need::new("sqs:SendMessage", queue, "Lambda, on failure"));
    for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
        needs.push(Need::new(action, &log_stream, "Lambda, for the logs"));
    }
    needs
}

/// ARNs of things the function has no business with: a grant that matches one is too broad.
fn decoys(table: &str) -> Vec<String> {
    let other = table_arn("another-table");
    vec![
        other.clone(),
        format!("{other}/index/message-group-sk-index"),
        format!("{other}/stream/2026-01-01T00:00:00.000"),
        format!("{}/index/another-index", table_arn(table)),
        format!(
            "arn:aws:dynamodb:{}:444455556666:table/{table}",
            iam::REGION
        ),
        format!("arn:aws:dynamodb:eu-west-1:{}:table/{table}", iam::ACCOUNT),
        iam::arn("sqs", "another-queue"),
        iam::arn("logs", "log-group:/aws/lambda/another:log-stream:x"),
    ]
}

/// One case the function serves: its name, and the calls it made.
struct Case {
    name: &'static str,
    calls: Vec<Recorded>,
}

impl Case {
    fn needs(&self) -> Vec<Need> {
        let mut needs: Vec<Need> = Vec::new();
        for c in &self.calls {
            for mut n in authorizations(&c.op, &c.body) {
                n.what = format!("{}: {}", self.name, n.what);
                needs.push(n);
            }
        }
        needs
    }

    /// The case made each of `calls` (action, resource).
    fn made(&self, calls: &[(&str, &str)]) {
        let needs = self.needs();
        for (action, resource) in calls {
            assert!(
                needs
                    .iter()
                    .any(|n| n.action == *action && n.resource == *resource),
                "{}: no {action} on {resource} among {needs:?}",
                self.name
            );
        }
    }
}

#[test]
fn every_call_the_handler_makes_is_allowed_by_its_role_and_the_role_allows_nothing_else() {
    let env = TestEnv::with_table("deploy-calls");
    let proxy = Proxied::recording(&env);
    let f = Function::start_via(&env, &proxy.endpoint());
    let mut cases: Vec<Case> = Vec::new();
    let mut serve = |name: &'static str, send: &dyn Fn() -> Value| {
        proxy.take_recorded();
        let response = send();
        assert!(
            response["batchItemFailures"].is_array(),
            "{name}: {response}"
        );
        let calls = proxy.take_recorded();
        assert!(!calls.is_empty(), "{name}: no call recorded");
        cases.push(Case { name, calls });
        response
    };

    // 1. A new message: both rows move to it.
    let g1 = group(&env, 1, &ts(0));
    let resp = serve("a new message", &|| {
        f.batch(vec![record(1, "INSERT", &g1.message(&ts(5), "hello"))])
    });
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_group_at(&env, &g1, &ts(5), "hello");

    // 2. A REMOVE of the newest message after it is gone (a TTL deletion, as DynamoDB marks
    // them): the rows settle on the newest message that remains.
    let g2 = Conversation::numbered(2);
    env.put_items(g2.rows(&ts(5), "newest", SOMEONE));
    env.put_items(vec![g2.message(&ts(1), "older")]);
    let mut removal = record(2, "REMOVE", &g2.message(&ts(5), "newest"));
    removal["userIdentity"] = json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
    let resp = serve("a REMOVE of the newest message", &|| {
        f.invoke(vec![removal.clone()])
    });
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_group_at(&env, &g2, &ts(1), "older");

    // 3. A replay of a message deleted since: nothing moves (the guard refuses it).
    let g3 = group(&env, 3, &ts(0));
    let replay = record(3, "INSERT", &g3.message(&ts(6), "deleted since"));
    let resp = serve("a replay of a deleted message", &|| {
        f.invoke(vec![replay.clone()])
    });
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_group_untouched(&env, &g3);

    // 4. A batch over several conversations: each moves.
    let many: Vec<Conversation> = (4..7).map(|n| group(&env, n, &ts(0))).collect();
    let resp = serve("a batch over several conversations", &|| {
        let records = many
            .iter()
            .enumerate()
            .map(|(i, g)| record(10 + i as u32, "INSERT", &g.message(&ts(7), "to each")));
        f.batch(records.collect())
    });
    assert_eq!(resp, json!({"batchItemFailures": []}));
    for g in &many {
        assert_group_at(&env, g, &ts(7), "to each");
    }

    // 5. An edit of the newest message (a MODIFY of the message the rows show).
    let g7 = Conversation::numbered(7);
    env.put_items(g7.rows(&ts(5), "before the edit", SOMEONE));
    env.put_items(vec![g7.message(&ts(5), "before the edit")]);
    let edit = record(20, "MODIFY", &g7.message(&ts(5), "after the edit"));
    serve("an edit of the newest message", &|| {
        f.batch(vec![edit.clone()])
    });

    // 6. An oversized row: the message fits in an item, the row showing it does not (the row
    // names the other participant, whose name is longer than the sender's).
    let g8 = Conversation::numbered(8);
    let long_name = "B".repeat(300);
    let names = Names {
        of_a: ("Al", "al"),
        of_b: (&long_name, "b"),
    };
    let rows = g8.rows(&ts(0), "first words", names);
    env.put_items(rows.clone());
    let empty = message(&g8.id, &ts(9), &format!("m-{}", ts(9)), "", g8.al());
    let text = "x".repeat(ITEM_LIMIT - item_size(&empty) - 16);
    let big = message(&g8.id, &ts(9), &format!("m-{}", ts(9)), &text, g8.al());
    let row_size = item_size(&rows[0]) - "first words".len() + text.len();
    assert!(
        item_size(&big) <= ITEM_LIMIT && row_size > ITEM_LIMIT,
        "{row_size}"
    );
    serve("an oversized row", &|| {
        f.batch(vec![record(30, "INSERT", &big)])
    });

    // The calls that make each case what it is.
    let table = table_arn(&env.table);
    let index = format!("{table}/index/message-group-sk-index");
    cases[0].made(&[
        ("dynamodb:Query", &index),
        ("dynamodb:ConditionCheckItem", &table),
        ("dynamodb:DeleteItem", &table),
        ("dynamodb:PutItem", &table),
    ]);
    cases[1].made(&[("dynamodb:Query", &table), ("dynamodb:PutItem", &table)]);
    cases[2].made(&[("dynamodb:ConditionCheckItem", &table)]);

    // Every call is allowed by the template's role, as deployed for this table.
    let t = template(&[], &[]);
    let stack = Stack::new(&t, &[("TableName", &env.table)]);
    let function = &t["Resources"][only(&t, "AWS::Lambda::Function")]["Properties"];
    let policies = stack.role_policies(&named(&function["Role"]));
    let recorded: Vec<Need> = cases.iter().flat_map(Case::needs).collect();
    let documented = lambda_needs(&stack);
    let mut denied: Vec<String> = recorded
        .iter()
        .chain(&documented)
        .filter_map(|n| match decide(&policies, &n.action, &n.resource) {
            Decision::Allowed => None,
            why => Some(format!(
                "{}: {} on {} is {why:?}: the role lacks it (declare the call in src/aws/calls.rs)",
                n.what, n.action, n.resource
            )),
        })
        .collect();
    denied.dedup();
    assert!(
        denied.is_empty(),
        "calls the role does not allow:\n{}",
        denied.join("\n")
    );

    // And the role grants nothing that no call needs: no wildcard action, no negation, each
    // (action, resource) granted is needed by a recorded or documented call, `*` only for an
    // action that has no resource type, and no grant reaches another table, index, stream,
    // queue, log group, account or region.
    let needs: Vec<&Need> = recorded.iter().chain(&documented).collect();
    let decoys = decoys(&env.table);
    let mut extra = Vec::new();
    let mut grants = 0;
    for st in policies.iter().flat_map(|p| &p.statements) {
        assert!(!st.actions.not && !st.resources.not, "{} negates", st.sid);
        for action in &st.actions.list {
            assert!(
                !action.contains(['*', '?']),
                "{}: wildcard action {action}",
                st.sid
            );
            for resource in &st.resources.list {
                grants += 1;
                let used: Vec<&&Need> = needs
                    .iter()
                    .filter(|n| action_matches(action, &n.action))
                    .filter(|n| wildcard(resource, &n.resource, true))
                    .collect();
                let what = format!("{}: {action} on {resource}", st.sid);
                if used.is_empty() {
                    extra.push(format!("{what}: no call needs it"));
                }
                if resource == "*" {
                    let typed = needs
                        .iter()
                        .find(|n| action_matches(action, &n.action) && n.resource != "*");
                    if let Some(n) = typed {
                        extra.push(format!("{what}: `*` where {} needs {}", n.what, n.resource));
                    }
                } else if let Some(d) = decoys.iter().find(|d| wildcard(resource, d, true)) {
                    extra.push(format!("{what}: reaches {d}"));
                }
            }
        }
    }
    assert!(grants > 0);
    assert!(
        extra.is_empty(),
        "the role grants more than the calls need:\n{}",
        extra.join("\n")
    );
}

/// Records of every kind the table's stream carries, built after the Lambda guide's DynamoDB
/// event: (what, record, whether the handler must see it).
fn stream_records() -> Vec<(String, Value, bool)> {
    let g = Conversation::numbered(1);
    let msg = g.message(&ts(5), "hi");
    let row = g.rows(&ts(5), "hi", SOMEONE).remove(0);
    let records = Records::lambda();
    let mut out = Vec::new();
    for (kind, image, wanted) in [("MSG#", &msg, true), ("GRP#", &row, false)] {
        for (i, name) in ["INSERT", "MODIFY", "REMOVE"].into_iter().enumerate() {
            out.push((
                format!("{kind} {name}"),
                records.record(i as u32, name, image),
                wanted,
            ));
        }
        // A TTL deletion: a REMOVE by the DynamoDB service.
        let mut ttl = records.record(9, "REMOVE", image);
        ttl["userIdentity"] = json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
        out.push((format!("{kind} REMOVE by TTL"), ttl, wanted));
    }
    out
}

#[test]
fn the_trigger_passes_every_message_record_and_no_group_row() {
    let t = template(&[], &[]);
    let mapping = &t["Resources"][only(&t, "AWS::Lambda::EventSourceMapping")]["Properties"];
    let criteria = &mapping["FilterCriteria"];
    let mut wrong: Vec<String> = stream_records()
        .into_iter()
        .filter(|(_, r, wanted)| passes(criteria, r) != *wanted)
        .map(|(what, _, wanted)| {
            let verb = if wanted {
                "is dropped"
            } else {
                "invokes the function"
            };
            format!("{what} {verb}")
        })
        .collect();
    // Lambda filters DynamoDB records on their `dynamodb` key only.
    for p in event_filter::patterns(criteria) {
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        if keys != ["dynamodb"] {
            wrong.push(format!(
                "a pattern filters on {keys:?}, not only on dynamodb: {p}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "the trigger's filter is wrong:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_evaluators_follow_the_documented_examples() {
    // The Lambda guide's DynamoDB example: a filter on a key value, and on a NewImage attribute.
    let record = json!({"eventID": "1", "eventVersion": "1.0", "dynamodb": {
        "Keys": {"CustomerName": {"S": "AnyCompany Industries"}},
        "NewImage": {"AccountManager": {"S": "Pat Candella"}, "PaymentTerms": {"S": "60 days"}},
        "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_IMAGE"}});
    let criteria = |p: Value| json!({"Filters": [{"Pattern": p.to_string()}]});
    let key = json!({"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}});
    assert!(passes(&criteria(key), &record));
    let names = json!(["Pat Candella", "Shirley Rodriguez"]);
    let manager = json!({"dynamodb": {"NewImage": {"AccountManager": {"S": names}}}});
    assert!(passes(&criteria(manager), &record));
    let other = json!({"dynamodb": {"Keys": {"CustomerName": {"S": [{"prefix": "Other"}]}}}});
    assert!(!passes(&criteria(other), &record));
    let absent = json!({"dynamodb": {"OldImage": {"x": {"S": [{"exists": false}]}}}});
    assert!(passes(&criteria(absent), &record));
    let size = json!({"dynamodb": {"SizeBytes": [{"numeric": [">", 0, "<=", 26]}]}});
    assert!(passes(&criteria(size), &record));
    let not_new = json!({"dynamodb": {"StreamViewType": [{"anything-but": ["NEW_IMAGE"]}]}});
    assert!(!passes(&criteria(not_new), &record));

    // IAM: an explicit Deny wins, nothing allowed is denied, a `*` ending a segment crosses
    // colons and one inside a segment does not.
    let policy = iam::Policy::parse(&json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:*:1:table/t*"},
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"},
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "arn:aws:logs:r:1:log-group:g:*"},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:r:1:q*x"},
    ]}));
    let p = [policy];
    let d = |a: &str, r: &str| decide(&p, a, r);
    assert_eq!(
        d("DynamoDB:query", "arn:aws:dynamodb:r:1:table/t/index/i"),
        Decision::Allowed
    );
    assert_eq!(
        d("dynamodb:DeleteItem", "arn:aws:dynamodb:r:1:table/t"),
        Decision::ExplicitlyDenied
    );
    assert_eq!(
        d("dynamodb:Query", "arn:aws:dynamodb:r:2:table/t"),
        Decision::ImplicitlyDenied
    );
    let stream = "arn:aws:logs:r:1:log-group:g:log-stream:s";
    assert_eq!(d("logs:PutLogEvents", stream), Decision::Allowed);
    assert_eq!(
        d("sqs:SendMessage", "arn:aws:sqs:r:1:q:x"),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        d("sqs:SendMessage", "arn:aws:sqs:r:1:qux"),
        Decision::Allowed
    );

    // A transaction is authorised item by item, each on its own table.
    let body = json!({"TransactItems": [
        {"ConditionCheck": {"TableName": "a", "Key": {}}},
        {"Put": {"TableName": "b", "Item": {}}},
        {"Delete": {"TableName": "a", "Key": {}}},
    ]});
    let needs: Vec<(String, String)> = authorizations("TransactWriteItems", &body)
        .into_iter()
        .map(|n| (n.action, n.resource))
        .collect();
    let on = |a: &str, t: &str| (format!("dynamodb:{a}"), table_arn(t));
    assert_eq!(
        needs,
        [
            on("ConditionCheckItem", "a"),
            on("PutItem", "b"),
            on("DeleteItem", "a")
        ]
    );
    let query = json!({"TableName": "a", "IndexName": "i"});
    let index = &authorizations("Query", &query)[0];
    assert_eq!(index.resource, format!("{}/index/i", table_arn("a")));
}

// ---- the template ----

/// The template as printed (YAML) by the binary under test.
fn printed_template(args: &[&str]) -> Value {
    let mut cmd = common::bare(&common::lambda::binary());
    let out = run(cmd.args(["lambda", "template"]).args(args)).ok();
    serde_norway::from_str(&out).unwrap_or_else(|e| panic!("not YAML ({e}):\n{out}"))
}

#[test]
fn the_template_wires_the_stream_to_the_handler() {
    let t = printed_template(&[]);
    let res = &t["Resources"];
    let mapping = &res["StreamMapping"]["Properties"];
    assert_eq!(
        res["StreamMapping"]["Type"],
        "AWS::Lambda::EventSourceMapping"
    );
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(mapping["StartingPosition"], "LATEST");
    assert_eq!(mapping["BisectBatchOnFunctionError"], true);
    let retries = mapping["MaximumRetryAttempts"].as_i64().unwrap();
    assert!((0..=100).contains(&retries), "bounded retries: {retries}");
    assert_eq!(
        mapping["EventSourceArn"],
        json!({"Fn::GetAtt": ["MessagesTable", "StreamArn"]})
    );
    assert_eq!(
        mapping["DestinationConfig"]["OnFailure"]["Destination"],
        json!({"Fn::GetAtt": ["FailureQueue", "Arn"]})
    );
    assert_eq!(res["FailureQueue"]["Type"], "AWS::SQS::Queue");

    let func = &res["Function"]["Properties"];
    assert_eq!(func["Runtime"], "provided.al2023");
    assert_eq!(func["Architectures"], json!(["x86_64"]));
    assert_eq!(
        func["Environment"]["Variables"]["DDB_TABLE"],
        json!({"Ref": "MessagesTable"})
    );
    // Lambda assumes the role.
    let trust = &res["FunctionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(
        trust,
        &json!([{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}])
    );

    // The table is the shipped schema's, with the stream, protection and backups on.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo_root().join("fixtures/schema.json")).unwrap(),
    )
    .unwrap();
    let table = &res["MessagesTable"]["Properties"];
    assert_eq!(table["KeySchema"], schema["KeySchema"]);
    assert_eq!(
        table["AttributeDefinitions"],
        schema["AttributeDefinitions"]
    );
    assert_eq!(
        table["GlobalSecondaryIndexes"],
        schema["GlobalSecondaryIndexes"]
    );
    assert_eq!(
        table["StreamSpecification"],
        json!({"StreamViewType": "NEW_IMAGE"})
    );
    assert_eq!(table["DeletionProtectionEnabled"], true);
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(t["Parameters"]["TableName"]["Default"], "cruddur-messages");
    for out in ["TableArn", "StreamArn", "FunctionArn", "FailureQueueArn"] {
        assert!(t["Outputs"][out]["Value"].is_object(), "output {out}");
    }

    // The YAML is the template exactly: it reads back equal to `-o json`.
    assert_eq!(t, template(&[], &[]));

    let arm = printed_template(&["--arch", "arm64"]);
    assert_eq!(
        arm["Resources"]["Function"]["Properties"]["Architectures"],
        json!(["arm64"])
    );
}

#[test]
fn an_alarm_goes_off_when_a_batch_lands_in_the_failure_queue() {
    let t = template(&[], &[]);
    let stack = Stack::new(&t, &[]);
    let alarm = &t["Resources"][only(&t, "AWS::CloudWatch::Alarm")]["Properties"];
    // SQS's queue depth metric, on the failure queue the trigger sends to.
    assert_eq!(alarm["Namespace"], "AWS/SQS");
    assert_eq!(alarm["MetricName"], "ApproximateNumberOfMessagesVisible");
    let mapping = &t["Resources"][only(&t, "AWS::Lambda::EventSourceMapping")]["Properties"];
    let queue = named(&mapping["DestinationConfig"]["OnFailure"]["Destination"]);
    assert_eq!(
        stack.resolve(&alarm["Dimensions"]),
        json!([{"Name": "QueueName", "Value": stack.attribute(&queue, "QueueName")}])
    );
    // One message is enough.
    assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold");
    assert_eq!(alarm["Threshold"], 0);
    assert_eq!(alarm["TreatMissingData"], "notBreaching");
    // It tells the optional topic, and nobody when the parameter is left empty.
    assert_eq!(t["Parameters"]["AlarmTopicArn"]["Default"], "");
    let tell =
        json!({"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]});
    assert_eq!(alarm["AlarmActions"], tell);
    assert_eq!(
        t["Conditions"]["HasAlarmTopic"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]})
    );
}

/// The shipped schema, changed by `change`, written to a file in `dir`.
fn schema_file(dir: &std::path::Path, change: impl FnOnce(&mut Value)) -> std::path::PathBuf {
    let path = common::repo_root().join("fixtures/schema.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    change(&mut schema);
    common::write_temp(dir, "schema.json", &schema.to_string())
}

#[test]
fn the_template_takes_the_runs_table_and_schema() {
    // --table, or DDB_TABLE, as for schema-load; the function's name follows within Lambda's
    // pattern ([a-zA-Z0-9_-], at most 64).
    let t = template(&["--table", "chat.staging"], &[]);
    assert_eq!(t["Parameters"]["TableName"]["Default"], "chat.staging");
    assert_eq!(
        t["Parameters"]["FunctionName"]["Default"],
        "chat-staging-stream"
    );
    let mut cmd = common::bare(&common::lambda::binary());
    let out = run(cmd
        .env("DDB_TABLE", "from-env")
        .args(["-o", "json", "lambda", "template"]));
    assert_eq!(out.json()["Parameters"]["TableName"]["Default"], "from-env");
    let long = "t".repeat(200);
    let t = template(&["--table", &long], &[]);
    let name = t["Parameters"]["FunctionName"]["Default"].as_str().unwrap();
    assert!(name.len() <= 64 && name.ends_with("-stream"), "{name}");
    assert!(name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));

    // --schema: on-demand billing and a second index come through to the table.
    let dir = tempfile::tempdir().unwrap();
    let path = schema_file(dir.path(), |s| {
        s["BillingMode"] = json!("PAY_PER_REQUEST");
        let gsis = s["GlobalSecondaryIndexes"].as_array_mut().unwrap();
        let mut by_user = gsis[0].clone();
        by_user["IndexName"] = json!("by-user");
        by_user
            .as_object_mut()
            .unwrap()
            .remove("ProvisionedThroughput");
        gsis[0]
            .as_object_mut()
            .unwrap()
            .remove("ProvisionedThroughput");
        gsis.push(by_user);
    });
    let t = template(&[], &["--schema", path.to_str().unwrap()]);
    let table = &t["Resources"]["MessagesTable"]["Properties"];
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert!(table.get("ProvisionedThroughput").is_none());
    let indexes: Vec<&str> = table["GlobalSecondaryIndexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["IndexName"].as_str().unwrap())
        .collect();
    assert_eq!(indexes, ["message-group-sk-index", "by-user"]);
}

#[test]
fn a_schema_the_handler_cannot_use_is_refused_for_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |change: fn(&mut Value), needle: &str| {
        let path = schema_file(dir.path(), change);
        let r = run(bare_ddb()
            .args(["lambda", "template", "--schema"])
            .arg(&path));
        r.assert_exit(8, &[needle]);
        assert!(r.stdout.is_empty(), "nothing half-written: {}", r.stdout);
    };
    refused(
        |s| {
            s.as_object_mut().unwrap().remove("StreamSpecification");
        },
        "no stream",
    );
    refused(
        |s| s["AttributeDefinitions"][1]["AttributeType"] = json!("N"),
        "the handler needs [pk HASH S, sk RANGE S]",
    );
    refused(
        |s| s["GlobalSecondaryIndexes"][0]["Projection"] = json!({"ProjectionType": "KEYS_ONLY"}),
        "index message-group-sk-index",
    );
}
