//! The member role: STS `AssumeRole` into a member account, for accepting its invitations there.
//! The function's own role may assume only this role name, in the organisation's accounts other
//! than the management account.
//!
//! **A scoped session.** The role a member account offers is often an administrator
//! (`AWSControlTowerExecution`, `OrganizationAccountAccessRole`), yet accepting needs eight
//! actions. Each session is therefore limited by an inline session policy ([`SESSION_POLICY`]):
//! "the resulting session's permissions are the intersection of the role's identity-based policy
//! and the session policies" (STS `AssumeRole` reference, `Policy`), so even an administrator role
//! yields a session that can only accept invitations. And it lasts 900 s, the least STS allows
//! (`DurationSeconds`, "from 900 seconds (15 minutes)"), where the default is an hour.

use aws_config::SdkConfig;
use aws_sdk_guardduty::config::Credentials;
use aws_sdk_sts::Client;

use crate::config::RoleName;
use crate::limits::Deadline;
use crate::outcome::Reason;
use crate::pace::{Pace, Paces, ThrottlesArePaced};

/// STS's documented request rate: "For AWS STS requests made using AWS credentials, the
/// default request quota is 600 requests per second, per account, per Region", shared by
/// `AssumeRole`, `GetCallerIdentity` and the other credentialed operations, and "only the
/// account making the AssumeRole request impacts the STS quota" (IAM User Guide, "IAM and AWS
/// STS quotas", STS request quotas). A throttled call answers `Throttling` (HTTP 400, "Rate
/// exceeded": re:Post, "iam-sts-throttling-error"), which the pace reads as a throttle. Every
/// member account of a run is entered once, so this bounds how fast acceptance can go at
/// scale; the role's calls are paced at half of it, leaving the rest to whatever else the
/// administrator account runs, and slower still if STS throttles them ([`Pace`] learns it).
pub const STS_DOCUMENTED_RATE: u32 = 600;
/// The pace of `AssumeRole`: half the documented rate, with a burst of one second of it.
pub const ASSUME_ROLE_RATE: u32 = STS_DOCUMENTED_RATE / 2;

/// What the sessions are named, as CloudTrail shows them in the member account.
const SESSION_NAME: &str = "onboarder-accept-invitation";

/// How long a session lasts: STS's minimum. Accepting in one account takes seconds.
pub const SESSION_SECONDS: i32 = 900;

/// The session policy: exactly the member-side calls of both adapters
/// (`service::guardduty::member`, `service::securityhub::member`), and the service-linked roles
/// that `CreateDetector` and `EnableSecurityHub` create on first use, by their service names
/// (`iam:AWSServiceName`). GuardDuty's and Security Hub's member actions define no resource type
/// a session could narrow further for a detector or hub that may not exist yet.
pub const SESSION_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AcceptInvitations","Effect":"Allow","Action":["guardduty:ListDetectors","guardduty:CreateDetector","guardduty:ListInvitations","guardduty:AcceptAdministratorInvitation","securityhub:DescribeHub","securityhub:EnableSecurityHub","securityhub:ListInvitations","securityhub:AcceptAdministratorInvitation"],"Resource":"*"},{"Sid":"ServiceLinkedRoles","Effect":"Allow","Action":"iam:CreateServiceLinkedRole","Resource":"*","Condition":{"StringEquals":{"iam:AWSServiceName":["guardduty.amazonaws.com","malware-protection.guardduty.amazonaws.com","securityhub.amazonaws.com"]}}}]}"#;

/// The role to assume in member accounts.
pub struct MemberRole {
    sts: Client,
    /// `AssumeRole`'s pace, for the process.
    paces: Paces,
    role: RoleName,
    /// `aws`, `aws-us-gov`, `aws-cn`: from the function's own region.
    partition: String,
}

impl MemberRole {
    /// `region` is the function's own, which gives the partition.
    /// The role `role` in any member account, through STS in `region` (the function's own:
    /// STS's regional endpoint), each call making at most `attempts` attempts.
    pub fn new(sdk: &SdkConfig, role: RoleName, region: &str, attempts: u32) -> MemberRole {
        let sts = Client::from_conf(
            aws_sdk_sts::config::Builder::from(sdk)
                .retry_classifier(ThrottlesArePaced)
                .interceptor(ThrottlesArePaced)
                .build(),
        );
        let paces = Paces::new(
            "STS",
            region,
            &["AssumeRole"],
            || Pace::documented(ASSUME_ROLE_RATE, ASSUME_ROLE_RATE),
            attempts,
        );
        let partition = if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        MemberRole {
            sts,
            paces,
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
        let output = self
            .paces
            .send("AssumeRole", deadline, || {
                self.sts
                    .assume_role()
                    .role_arn(&arn)
                    .role_session_name(SESSION_NAME)
                    .policy(SESSION_POLICY)
                    .duration_seconds(SESSION_SECONDS)
                    .send()
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_policy_is_json_and_fits_sts() {
        let policy: serde_json::Value =
            serde_json::from_str(SESSION_POLICY).expect("the session policy is JSON");
        assert_eq!(policy["Version"], "2012-10-17");
        // AssumeRole's Policy: "The plaintext that you use for both inline and managed session
        // policies can't exceed 2,048 characters."
        assert!(SESSION_POLICY.len() <= 2_048, "{}", SESSION_POLICY.len());
        assert!(
            policy["Statement"]
                .as_array()
                .is_some_and(|s| s.iter().all(|s| s["Effect"] == "Allow"))
        );
    }
}
