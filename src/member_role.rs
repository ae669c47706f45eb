//! The member role: STS `AssumeRole` into a member account, for accepting its invitations there.
//! The function's own role may assume only this role name, in the organisation's accounts.

use aws_sdk_guardduty::config::Credentials;
use aws_sdk_sts::Client;

use crate::config::RoleName;
use crate::limits::Deadline;
use crate::outcome::Reason;

/// What the sessions are named, as CloudTrail shows them in the member account.
const SESSION_NAME: &str = "onboarder-accept-invitation";

/// The role to assume in member accounts.
pub struct MemberRole {
    sts: Client,
    role: RoleName,
    /// `aws`, `aws-us-gov`, `aws-cn`: from the function's own region.
    partition: String,
}

impl MemberRole {
    /// `region` is the function's own, which gives the partition.
    pub fn new(sts: Client, role: RoleName, region: &str) -> MemberRole {
        let partition = if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        MemberRole {
            sts,
            role,
            partition: partition.to_owned(),
        }
    }

    pub fn name(&self) -> &RoleName {
        &self.role
    }

    /// The role's ARN in `account`.
    pub fn arn(&self, account: &str) -> String {
        format!("arn:{}:iam::{account}:role/{}", self.partition, self.role)
    }

    /// Temporary credentials in `account`, or why there are none.
    pub async fn assume(&self, account: &str, deadline: Deadline) -> Result<Credentials, Reason> {
        let arn = self.arn(account);
        let output = deadline
            .call(
                self.sts
                    .assume_role()
                    .role_arn(&arn)
                    .role_session_name(SESSION_NAME)
                    .send(),
            )
            .await
            .map_err(|error| Reason::AssumeRole {
                arn: arn.clone(),
                error,
            })?;
        let given = output
            .credentials()
            .ok_or_else(|| Reason::NoCredentials { arn: arn.clone() })?;
        let expiry = std::time::SystemTime::try_from(*given.expiration()).ok();
        Ok(Credentials::new(
            given.access_key_id(),
            given.secret_access_key(),
            Some(given.session_token().to_owned()),
            expiry,
            "member-role",
        ))
    }
}
