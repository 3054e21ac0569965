//! Calls an executor makes on the agent's v1 executor API.

use super::{validate_check_status_info, ValidationError};
use crate::mesos::v1::executor;
use crate::v1;

/// Whether 16 bytes form a UUID with a known version (1–5), as Mesos's UUID parser checks.
fn is_valid_uuid(bytes: &[u8]) -> bool {
    bytes.len() == 16 && (1..=5).contains(&(bytes[6] >> 4))
}

/// Validates an executor `Call`: its type, the member for that type, and for UPDATE a
/// status the executor may send (valid uuid, own executor id, SOURCE_EXECUTOR, not STAGING).
pub fn validate_executor_call(call: &executor::Call) -> Result<(), ValidationError> {
    use executor::call::Type;
    let Some(raw) = call.r#type else {
        return Err(ValidationError::new("Expecting 'type' to be present"));
    };
    let executor_id = &call.executor_id.value;
    let framework_id = &call.framework_id.value;
    match Type::try_from(raw).unwrap_or(Type::Unknown) {
        Type::Subscribe if call.subscribe.is_none() => {
            Err(ValidationError::new("Expecting 'subscribe' to be present"))
        }
        Type::Message if call.message.is_none() => {
            Err(ValidationError::new("Expecting 'message' to be present"))
        }
        Type::Update => {
            let Some(update) = &call.update else {
                return Err(ValidationError::new("Expecting 'update' to be present"));
            };
            let status = &update.status;
            let Some(uuid) = &status.uuid else {
                return Err(ValidationError::new("Expecting 'uuid' to be present"));
            };
            if !is_valid_uuid(uuid) {
                return Err(ValidationError::new("Not a valid UUID"));
            }
            if let Some(id) = &status.executor_id {
                if &id.value != executor_id {
                    return Err(ValidationError(format!(
                        "ExecutorID in Call: {executor_id} does not match ExecutorID in \
                         TaskStatus: {}",
                        id.value
                    )));
                }
            }
            if status.source() != v1::task_status::Source::Executor {
                return Err(ValidationError(format!(
                    "Received Call from executor {executor_id} of framework {framework_id} \
                     with invalid source, expecting 'SOURCE_EXECUTOR'"
                )));
            }
            if status.state() == v1::TaskState::TaskStaging {
                return Err(ValidationError(format!(
                    "Received TASK_STAGING from executor {executor_id} of framework \
                     {framework_id} which is not allowed"
                )));
            }
            match &status.check_status {
                Some(check) => validate_check_status_info(check),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}
