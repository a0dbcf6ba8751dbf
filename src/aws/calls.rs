//! The catalogue of AWS calls made with the deployed function's role, each declared once with
//! the IAM permissions it needs: every call the stream handler makes (its call sites name their
//! entry: `Pages::for_call`, and a transaction item's `rows::transaction::Role::call`), and every
//! call Lambda makes for the function (reading the stream, the failure queue, the logs).
//! `ddb lambda template` grants exactly these (`stream::template`), docs/deploying.md lists them
//! (`markdown`, checked by a test), and a call site can only name a call declared here, with its
//! permissions: a call without a permission cannot be written.
//!
//! The facts, from AWS's Service Authorization Reference and the DynamoDB and Lambda guides:
//! TransactWriteItems has no action of its own, each item is authorised as its own action on its
//! table (ConditionCheck → `dynamodb:ConditionCheckItem`, Put → `dynamodb:PutItem`, Delete →
//! `dynamodb:DeleteItem`); a Query on an index is authorised on the index's ARN, on the table
//! otherwise; DescribeStream, GetShardIterator and GetRecords take a stream ARN, and ListStreams
//! has no resource type at all, so it can only be granted on `*`.

use crate::model::GROUP_INDEX;

/// What a permission is granted on: the resources of the stack `ddb lambda template` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// The table.
    Table,
    /// An index of the table.
    Index(&'static str),
    /// Every stream of the table (`…/stream/*`): a stream disabled and enabled again gets a new
    /// ARN, and the function must keep reading.
    TableStreams,
    /// `*`: only for actions that have no resource type.
    Any,
    /// The queue where Lambda sends the batches it gave up on.
    FailureQueue,
    /// The function's log group (and so its log streams).
    LogGroup,
}

impl Resource {
    /// How docs/deploying.md names it.
    pub fn describe(self) -> String {
        match self {
            Resource::Table => "the table".to_string(),
            Resource::Index(name) => format!("the index `{name}`"),
            Resource::TableStreams => "the table's streams".to_string(),
            Resource::Any => "`*` (no resource type)".to_string(),
            Resource::FailureQueue => "the failure queue".to_string(),
            Resource::LogGroup => "the function's log group".to_string(),
        }
    }
}

/// One IAM action on one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    pub action: &'static str,
    pub resource: Resource,
}

/// Who makes a call with the function's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// ddb's own code, in the function.
    Handler,
    /// Lambda, for the function (the event source mapping, the logs).
    Lambda,
}

/// A catalogued call: what goes on the wire, who sends it, what for, and what it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub call: Call,
    pub caller: Caller,
    /// The API operation (a transaction's item: `TransactWriteItems: <kind>`).
    pub api: &'static str,
    pub why: &'static str,
    pub needs: &'static [Permission],
}

/// Declares the `Call` enum and its entries together, so that a call exists only with its
/// permissions, and `Call::ALL` lists every one of them.
macro_rules! catalogue {
    ($(
        $(#[doc = $doc:literal])*
        $call:ident: $caller:ident sends $api:literal to $why:literal,
        needing [$($action:literal on $res:expr),+];
    )+) => {
        /// Every AWS call made with the function's role. See the module's documentation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Call {
            $($(#[doc = $doc])* $call,)+
        }

        impl Call {
            /// Every call of the catalogue, in the order declared.
            pub const ALL: &'static [Call] = &[$(Call::$call),+];

            pub fn entry(self) -> Entry {
                match self {
                    $(Call::$call => Entry {
                        call: self,
                        caller: Caller::$caller,
                        api: $api,
                        why: $why,
                        needs: &[$(Permission { action: $action, resource: $res }),+],
                    },)+
                }
            }
        }
    };
}

catalogue! {
    /// A conversation's GRP# rows, through the group index (`rows::settle::Settler::group_rows`).
    GroupRows: Handler sends "Query" to "find a conversation's GRP# rows",
        needing ["dynamodb:Query" on Resource::Index(GROUP_INDEX)];
    /// One participant's rows, read consistently from the table (`Settler::owner_rows`).
    OwnerRows: Handler sends "Query" to
        "read a participant's rows consistently before settling them after a REMOVE",
        needing ["dynamodb:Query" on Resource::Table];
    /// The newest message of a conversation that still exists (`Settler::newest_message`).
    NewestMessage: Handler sends "Query" to
        "find the newest message that still exists after a REMOVE",
        needing ["dynamodb:Query" on Resource::Table];
    /// A transaction's guard on a message: it exists (moving to it) or is gone (moving back).
    MessageCheck: Handler sends "TransactWriteItems: ConditionCheck" to
        "guard each move: the message moved to still exists, one moved back from is gone",
        needing ["dynamodb:ConditionCheckItem" on Resource::Table];
    /// A transaction's Put of a participant's row at the target message.
    RowPut: Handler sends "TransactWriteItems: Put" to
        "put each participant's row at the newest message",
        needing ["dynamodb:PutItem" on Resource::Table];
    /// A transaction's Delete of a row's old key, or of a duplicate row.
    RowDelete: Handler sends "TransactWriteItems: Delete" to
        "delete a row's old key and any duplicate row",
        needing ["dynamodb:DeleteItem" on Resource::Table];
    /// The event source mapping reading the table's stream.
    ReadStream: Lambda sends "DescribeStream, GetShardIterator, GetRecords" to
        "read the table's stream for the trigger",
        needing [
            "dynamodb:DescribeStream" on Resource::TableStreams,
            "dynamodb:GetShardIterator" on Resource::TableStreams,
            "dynamodb:GetRecords" on Resource::TableStreams
        ];
    /// The event source mapping listing streams: an action without a resource type.
    ListStreams: Lambda sends "ListStreams" to "list the streams for the trigger",
        needing ["dynamodb:ListStreams" on Resource::Any];
    /// The event source mapping's on-failure destination.
    SendFailedBatch: Lambda sends "SendMessage" to
        "send a batch it gave up on to the failure queue",
        needing ["sqs:SendMessage" on Resource::FailureQueue];
    /// The function's output (log lines, metrics) going to CloudWatch Logs.
    WriteLogs: Lambda sends "CreateLogStream, PutLogEvents" to
        "write the function's log lines and metrics",
        needing [
            "logs:CreateLogStream" on Resource::LogGroup,
            "logs:PutLogEvents" on Resource::LogGroup
        ];
}

/// Every permission of the catalogue grouped by resource, in the order first declared, each
/// resource's actions sorted and without repeats: the statements of the function's role.
pub fn grants() -> Vec<(Resource, Vec<&'static str>)> {
    let mut out: Vec<(Resource, Vec<&'static str>)> = Vec::new();
    for need in Call::ALL.iter().flat_map(|c| c.entry().needs) {
        match out.iter_mut().find(|(r, _)| *r == need.resource) {
            Some((_, actions)) => actions.push(need.action),
            None => out.push((need.resource, vec![need.action])),
        }
    }
    for (_, actions) in &mut out {
        actions.sort_unstable();
        actions.dedup();
    }
    out
}

/// The permission list of docs/deploying.md: one row per permission of each call.
pub fn markdown() -> String {
    let mut out =
        String::from("| Permission | On | Called by | For |\n| --- | --- | --- | --- |\n");
    for entry in Call::ALL.iter().map(|c| c.entry()) {
        let by = match entry.caller {
            Caller::Handler => format!("the handler's {}", entry.api),
            Caller::Lambda => "Lambda".to_string(),
        };
        for need in entry.needs {
            out.push_str(&format!(
                "| `{}` | {} | {by} | {} |\n",
                need.action,
                need.resource.describe(),
                entry.why
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_is_in_all_once_with_its_own_entry() {
        for (i, call) in Call::ALL.iter().enumerate() {
            assert_eq!(call.entry().call, *call);
            assert!(!call.entry().needs.is_empty(), "{call:?}");
            assert!(!Call::ALL[i + 1..].contains(call), "{call:?} twice");
        }
    }

    #[test]
    fn grants_group_by_resource_without_repeats() {
        let grants = grants();
        let table = grants.iter().find(|(r, _)| *r == Resource::Table).unwrap();
        // Two reads and three transaction item kinds on the table: Query once.
        assert_eq!(
            table.1,
            [
                "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem",
                "dynamodb:PutItem",
                "dynamodb:Query"
            ]
        );
        let any = grants.iter().find(|(r, _)| *r == Resource::Any).unwrap();
        assert_eq!(any.1, ["dynamodb:ListStreams"]);
        let resources: Vec<Resource> = grants.iter().map(|(r, _)| *r).collect();
        let mut unique = resources.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), resources.len());
    }

    /// docs/deploying.md carries the list between two markers; `UPDATE_SNAPSHOTS=1` rewrites it.
    #[test]
    fn the_deploy_guide_lists_the_catalogue() {
        const START: &str = "<!-- permissions: generated from src/aws/calls.rs -->\n";
        const END: &str = "<!-- end of permissions -->";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploying.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let start = doc
            .find(START)
            .expect("the start marker in docs/deploying.md")
            + START.len();
        let end = start + doc[start..].find(END).expect("the end marker");
        let want = markdown();
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(path, format!("{}{want}{}", &doc[..start], &doc[end..])).unwrap();
            return;
        }
        assert_eq!(
            doc[start..end],
            want,
            "docs/deploying.md's permission list is not the catalogue's: UPDATE_SNAPSHOTS=1 cargo test --lib"
        );
    }
}
