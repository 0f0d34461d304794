//! `check --target`: a compiled config against one platform's limits. Things
//! the platform cannot do at all are errors; things it limits are warnings.

use crate::Gateway;
use crate::config::Location;
use std::time::Duration;

/// A deployment platform `tollgate check --target` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetPlatform {
    Cloudflare,
    Lambda,
}

/// One finding of a target check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFinding {
    pub error: bool,
    pub location: Location,
    pub message: String,
}

/// API Gateway's integration timeout; function URLs stop at the function's Timeout (30 s in template.yaml).
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(29);

impl Gateway {
    pub fn check_target(&self, target: TargetPlatform) -> Vec<TargetFinding> {
        let mut out = Vec::new();
        if target == TargetPlatform::Lambda {
            for r in &self.routes {
                if r.timeout > LAMBDA_TIMEOUT {
                    out.push(TargetFinding {
                        error: false,
                        location: r.timeout_loc,
                        message: format!(
                            "route `{}`: timeout {} s is longer than API Gateway's 29 s integration limit (and the 30 s function timeout in template.yaml)",
                            r.id,
                            r.timeout.as_secs()
                        ),
                    });
                }
            }
        }
        out
    }
}
