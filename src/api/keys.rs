//! Well-known label, annotation and finalizer keys the Job controller writes
//! and reads (upstream `batch/v1/types.go`).

/// Label with the Job's UID, placed on the template by the API server.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// Legacy unprefixed form of [`CONTROLLER_UID_LABEL`].
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// Label with the Job's name, placed on the template by the API server.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// Legacy unprefixed form of [`JOB_NAME_LABEL`].
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";
/// Annotation and label with an Indexed pod's completion index.
pub const JOB_COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// Annotation: counted failures of earlier pods of the same index.
pub const JOB_INDEX_FAILURE_COUNT: &str = "batch.kubernetes.io/job-index-failure-count";
/// Annotation: failures of earlier pods of the index that the policy ignored.
pub const JOB_INDEX_IGNORED_FAILURE_COUNT: &str =
    "batch.kubernetes.io/job-index-ignored-failure-count";
/// Finalizer that keeps a pod until the Job has counted it.
pub const JOB_TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// The environment variable that carries the completion index.
pub const JOB_COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// `spec.managedBy` value naming the built-in controller.
pub const JOB_CONTROLLER_NAME: &str = "kubernetes.io/job-controller";
