//! `ddb lambda template`: the CloudFormation template that deploys the handler, built from the
//! schema the binary creates tables from (so the table in AWS has the keys, index and stream
//! `schema-load` gives DynamoDB Local), the table name of the run (`--table`), and the handler's
//! own facts: the role grants exactly the catalogue of calls made with it (`aws::calls`), and
//! the trigger passes exactly the records the handler acts on (`filter_pattern`).

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use crate::aws::calls::{self, Resource};
use crate::model::schema::{
    self, BillingMode, KeyElem, Schema, StreamSpec, StreamView, Throughput,
};
use crate::model::{GROUP_INDEX, MSG_PREFIX};

/// Records per invocation. Lambda allows up to 10,000 for a stream; a few hundred lets the
/// handler coalesce several messages of a busy conversation into one move while a batch stays
/// far below the 6 MB payload limit and the function's timeout.
pub const BATCH_SIZE: u32 = 500;
/// How long Lambda may gather records before invoking with fewer than BATCH_SIZE: a
/// conversation's rows lag its newest message by at most about this much when traffic is low.
pub const BATCHING_WINDOW_S: u32 = 1;
/// Retries of a failing batch (from the first reported failure) before its records go to the
/// on-failure queue; with bisection, a poison record is isolated within these.
pub const MAX_RETRY_ATTEMPTS: u32 = 10;
/// Records older than this are sent to the on-failure queue instead of being handled.
pub const MAX_RECORD_AGE_S: u32 = 6 * 3600;
/// Seconds per invocation: a batch of BATCH_SIZE records takes a few seconds at most.
pub const TIMEOUT_S: u32 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    #[value(name = "x86_64")]
    X86_64,
    #[value(name = "arm64")]
    Arm64,
}

impl Arch {
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// The filter pattern on the event source mapping: every record of a MSG# item invokes the
/// function (INSERT, MODIFY, and REMOVE: a deleted or TTL-expired message the rows may show),
/// and no record of a GRP# row, so the handler's own writes never wake it. It filters on the
/// record's `dynamodb` key only, the one Lambda filters DynamoDB records on.
pub fn filter_pattern() -> Value {
    json!({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": MSG_PREFIX}]}}}})
}

/// The function's default name: `<table>-stream`, within Lambda's 64 characters of
/// `[a-zA-Z0-9_-]` (a table name may hold dots and run to 255).
pub fn function_name(table: &str) -> String {
    const SUFFIX: &str = "-stream";
    let base: String = table
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => c,
            _ => '-',
        })
        .take(64 - SUFFIX.len())
        .collect();
    format!("{base}{SUFFIX}")
}

/// What the handler needs of the schema: the model's keys, the group index as the model has it,
/// and a stream with new images.
fn check(schema: &Schema) -> Result<StreamView> {
    let stream_view = match &schema.stream_specification {
        Some(StreamSpec {
            stream_enabled: true,
            stream_view_type: Some(v),
        }) => *v,
        _ => bail!("the schema has no stream; the handler needs one with NEW_IMAGE"),
    };
    if !matches!(
        stream_view,
        StreamView::NewImage | StreamView::NewAndOldImages
    ) {
        bail!("the schema's stream is {stream_view}; the handler needs NEW_IMAGE");
    }
    let (model, have) = (schema::builtin().shape(), schema.shape());
    if have.keys != model.keys {
        bail!(
            "the schema's keys are [{}]; the handler needs [{}]",
            have.keys,
            model.keys
        );
    }
    match (have.indexes.get(GROUP_INDEX), &model.indexes[GROUP_INDEX]) {
        (None, _) => bail!("the schema has no index {GROUP_INDEX}, which the handler queries"),
        (Some(index), needed) if index != needed => {
            bail!("the schema's index {GROUP_INDEX} is [{index}]; the handler needs [{needed}]")
        }
        _ => Ok(stream_view),
    }
}

/// A catalogued resource as the template names it.
fn arn(resource: Resource) -> Value {
    match resource {
        Resource::Table => json!({"Fn::GetAtt": ["MessagesTable", "Arn"]}),
        Resource::Index(name) => json!({"Fn::Sub": format!("${{MessagesTable.Arn}}/index/{name}")}),
        Resource::TableStreams => json!({"Fn::Sub": "${MessagesTable.Arn}/stream/*"}),
        Resource::Any => json!("*"),
        Resource::FailureQueue => json!({"Fn::GetAtt": ["FailureQueue", "Arn"]}),
        Resource::LogGroup => json!({"Fn::GetAtt": ["FunctionLogGroup", "Arn"]}),
    }
}

/// A statement id for the grants on a resource (letters and digits only).
fn sid(resource: Resource) -> String {
    match resource {
        Resource::Table => "OnTheTable".to_string(),
        Resource::Index(name) => {
            let mut sid = String::from("OnTheIndex");
            for word in name.split(|c: char| !c.is_ascii_alphanumeric()) {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    sid.push(first.to_ascii_uppercase());
                    sid.extend(chars);
                }
            }
            sid
        }
        Resource::TableStreams => "OnTheTableStreams".to_string(),
        Resource::Any => "OnActionsWithoutAResourceType".to_string(),
        Resource::FailureQueue => "OnTheFailureQueue".to_string(),
        Resource::LogGroup => "OnTheLogGroup".to_string(),
    }
}

/// The function role's policy: one statement per resource of the catalogue, granting the
/// actions its calls need there and nothing else.
fn role_policy() -> Value {
    let statements: Vec<Value> = calls::grants()
        .into_iter()
        .map(|(resource, actions)| {
            json!({
                "Sid": sid(resource),
                "Effect": "Allow",
                "Action": actions,
                "Resource": arn(resource),
            })
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// An alarm as soon as a batch lands in the failure queue: records the handler gave up on, and
/// conversations whose rows may show a stale message until someone looks.
fn failure_alarm() -> Value {
    let actions =
        json!({"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]});
    json!({
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": "The ddb stream handler gave up on a batch: its description is in the failure queue (see docs/deploying.md)",
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailureQueue", "QueueName"]}}],
            "Statistic": "Maximum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": actions.clone(),
            "OKActions": actions,
        },
    })
}

/// The whole template as a JSON value (printed as YAML), for the table `table`.
pub fn build(schema: &Schema, table: &str, arch: Arch) -> Result<Value> {
    let stream_view = check(schema)?;
    let provisioned = schema.billing() == BillingMode::Provisioned;

    let mut properties = Map::new();
    properties.insert("TableName".into(), json!({"Ref": "TableName"}));
    properties.insert(
        "AttributeDefinitions".into(),
        schema
            .attribute_definitions
            .iter()
            .map(|a| json!({"AttributeName": a.attribute_name, "AttributeType": a.attribute_type}))
            .collect(),
    );
    properties.insert("KeySchema".into(), keys(&schema.key_schema));
    let gsis: Vec<Value> = schema
        .global_secondary_indexes
        .iter()
        .map(|g| {
            let mut projection = json!({"ProjectionType": g.projection.projection_type});
            if !g.projection.non_key_attributes.is_empty() {
                projection["NonKeyAttributes"] = json!(g.projection.non_key_attributes);
            }
            let mut gsi = json!({
                "IndexName": g.index_name,
                "KeySchema": keys(&g.key_schema),
                "Projection": projection,
            });
            if let (true, Some(t)) = (provisioned, g.provisioned_throughput) {
                gsi["ProvisionedThroughput"] = throughput(t);
            }
            gsi
        })
        .collect();
    if !gsis.is_empty() {
        properties.insert("GlobalSecondaryIndexes".into(), Value::Array(gsis));
    }
    if provisioned {
        properties.insert("BillingMode".into(), json!("PROVISIONED"));
        if let Some(t) = schema.provisioned_throughput {
            properties.insert("ProvisionedThroughput".into(), throughput(t));
        }
    } else {
        properties.insert("BillingMode".into(), json!("PAY_PER_REQUEST"));
    }
    properties.insert(
        "StreamSpecification".into(),
        json!({"StreamViewType": stream_view}),
    );
    properties.insert("DeletionProtectionEnabled".into(), json!(true));
    properties.insert(
        "PointInTimeRecoverySpecification".into(),
        json!({"PointInTimeRecoveryEnabled": true}),
    );
    properties.insert("SSESpecification".into(), json!({"SSEEnabled": true}));

    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "Cruddur direct messages: the {table} table and the ddb stream handler (provided.al2023, {}) that moves both GRP# rows of a conversation to its newest message. Generated by `ddb lambda template`.",
            arch.as_str()
        ),
        "Parameters": {
            "TableName": {
                "Type": "String",
                "Default": table,
                "AllowedPattern": "[a-zA-Z0-9_.-]{3,255}",
                "Description": "DynamoDB table name",
            },
            "FunctionName": {
                "Type": "String",
                "Default": function_name(table),
                "AllowedPattern": "[a-zA-Z0-9_-]{1,64}",
                "Description": "Lambda function name",
            },
            "CodeS3Bucket": {
                "Type": "String",
                "Description": "S3 bucket holding the deployment zip (`just lambda-zip`)",
            },
            "CodeS3Key": {
                "Type": "String",
                "Default": "ddb/bootstrap.zip",
                "Description": "S3 key of the deployment zip",
            },
            "AlarmTopicArn": {
                "Type": "String",
                "Default": "",
                "Description": "SNS topic told when a batch lands in the failure queue (empty: the alarm only shows in CloudWatch)",
            },
        },
        "Conditions": {
            "HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]},
        },
        "Resources": {
            "MessagesTable": {
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": properties,
            },
            // What it holds (the batches Lambda gave up on) is evidence to keep.
            "FailureQueue": {
                "Type": "AWS::SQS::Queue",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "MessageRetentionPeriod": 1_209_600,
                    "SqsManagedSseEnabled": true,
                },
            },
            "FunctionLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Properties": {
                    "LogGroupName": {"Fn::Sub": "/aws/lambda/${FunctionName}"},
                    "RetentionInDays": 30,
                },
            },
            "FunctionRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }],
                    },
                    "Policies": [{
                        "PolicyName": "stream-handler",
                        "PolicyDocument": role_policy(),
                    }],
                },
            },
            "FailureQueueAlarm": failure_alarm(),
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": {"Ref": "FunctionName"},
                    "Description": "ddb stream handler: moves both GRP# rows to the newest message",
                    "Runtime": "provided.al2023",
                    "Handler": "bootstrap",
                    "Architectures": [arch.as_str()],
                    "Code": {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}},
                    "MemorySize": 256,
                    "Timeout": TIMEOUT_S,
                    "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                    "LoggingConfig": {"LogGroup": {"Ref": "FunctionLogGroup"}},
                    "Environment": {"Variables": {"DDB_TABLE": {"Ref": "MessagesTable"}}},
                },
            },
            "StreamMapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "EventSourceArn": {"Fn::GetAtt": ["MessagesTable", "StreamArn"]},
                    "FunctionName": {"Ref": "Function"},
                    "StartingPosition": "LATEST",
                    "BatchSize": BATCH_SIZE,
                    "MaximumBatchingWindowInSeconds": BATCHING_WINDOW_S,
                    "ParallelizationFactor": 1,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    "BisectBatchOnFunctionError": true,
                    "MaximumRetryAttempts": MAX_RETRY_ATTEMPTS,
                    "MaximumRecordAgeInSeconds": MAX_RECORD_AGE_S,
                    "DestinationConfig": {
                        "OnFailure": {"Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]}},
                    },
                    "FilterCriteria": {"Filters": [{"Pattern": filter_pattern().to_string()}]},
                },
            },
        },
        "Outputs": {
            "TableArn": {"Value": arn(Resource::Table)},
            "StreamArn": {"Value": {"Fn::GetAtt": ["MessagesTable", "StreamArn"]}},
            "FunctionArn": {"Value": {"Fn::GetAtt": ["Function", "Arn"]}},
            "FunctionRoleArn": {"Value": {"Fn::GetAtt": ["FunctionRole", "Arn"]}},
            "FailureQueueArn": {"Value": {"Fn::GetAtt": ["FailureQueue", "Arn"]}},
            "FailureQueueUrl": {"Value": {"Ref": "FailureQueue"}},
            "FailureQueueAlarmName": {"Value": {"Ref": "FailureQueueAlarm"}},
        },
    }))
}

fn keys(ks: &[KeyElem]) -> Value {
    ks.iter()
        .map(|k| json!({"AttributeName": k.attribute_name, "KeyType": k.key_type}))
        .collect()
}

fn throughput(t: Throughput) -> Value {
    json!({"ReadCapacityUnits": t.read_capacity_units, "WriteCapacityUnits": t.write_capacity_units})
}
