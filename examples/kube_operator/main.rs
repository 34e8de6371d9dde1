//! A Job operator on kube-rs around `job_controller::JobController`: it
//! takes over the Jobs whose `spec.managedBy` is [`plan::MANAGER`] (the
//! built-in controller leaves those alone) and runs each exactly as
//! upstream's Job controller would.
//!
//! ```sh
//! cargo run --example kube_operator --features kube-example   # against the current kubeconfig context
//! kubectl apply -f - <<EOF
//! apiVersion: batch/v1
//! kind: Job
//! metadata: {name: pi}
//! spec:
//!   managedBy: example.com/job-controller-rs
//!   completions: 3
//!   parallelism: 2
//!   template:
//!     spec:
//!       restartPolicy: Never
//!       containers: [{name: pi, image: perl:5.34.0, command: [perl, -Mbignum=bpi, -wle, "print bpi(200)"]}]
//! EOF
//! ```
//!
//! RBAC: jobs get/list/watch/delete, jobs/status patch, pods
//! get/list/watch/create/delete/patch, events.k8s.io events create/patch.
//!
//! How it is put together:
//! - `kube::runtime::Controller` watches Jobs and, with `.owns`, the pods
//!   they control: a change of either reconciles the Job.
//! - One machine per Job (`plan::JobEntry`), rebuilt on first sight from
//!   the Job and its pods as listed (after a restart too).
//! - Each reconcile lists the Job's pods (by its selector's labels) and
//!   tells the machine which changed or went away since it last looked,
//!   then drains its actions, each one API request (`plan::Request`),
//!   reporting every outcome back before the next, and requeues at the
//!   machine's wake-up. (A list, not a second watch's cache: a cache can
//!   lag behind the watch that triggered the reconcile, and would show a
//!   change only at the next requeue. A larger operator would share the
//!   `.owns` watch's store through kube's unstable `owns_stream` instead.)
//! - A sweeper notices Jobs that are gone (the machine then removes the
//!   pods' tracking finalizers) and prints the summed metrics.
//!
//! Everything that does not touch the API is in `plan.rs`, tested by
//! `tests/kube_operator_plan.rs`.

mod plan;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use job_controller::k8s::ConversionError;
use job_controller::{ApiError, EventType, Metrics};
use k8s_openapi::api::batch::v1::Job as K8sJob;
use k8s_openapi::api::core::v1::{ObjectReference, Pod as K8sPod};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType as KubeEventType, Recorder, Reporter};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};

use plan::{JobEntry, Outcome, Request};

/// How often the sweeper looks for deleted Jobs and prints the metrics.
const SWEEP: Duration = Duration::from_secs(30);

/// A reconcile that could not go on (the API answered, but the operator
/// cannot use the answer, or the machine refused an input).
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("listing pods: {0}")]
    List(#[source] kube::Error),
    #[error(transparent)]
    Convert(#[from] ConversionError),
    #[error("{0}")]
    Plan(plan::PlanError),
}

impl From<plan::PlanError> for Error {
    fn from(e: plan::PlanError) -> Error {
        Error::Plan(e)
    }
}

struct Ctx {
    client: Client,
    recorder: Recorder,
    /// The machines, by Job UID. A reconcile takes its Job's entry out
    /// while it runs (kube's Controller never runs two reconciles of one
    /// Job at once) and puts it back when done.
    entries: Mutex<HashMap<String, JobEntry>>,
    /// The counters of the machines dropped so far.
    retired: Mutex<Metrics>,
}

impl Ctx {
    fn retire(&self, entry: &JobEntry) {
        self.retired
            .lock()
            .expect("metrics lock")
            .add(entry.metrics());
    }
}

/// The wall clock (chrono's `clock` feature is off in this crate).
fn now() -> chrono::DateTime<Utc> {
    std::time::SystemTime::now().into()
}

fn job_reference(ns: &str, name: &str, uid: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        namespace: Some(ns.into()),
        name: Some(name.into()),
        uid: Some(uid.into()),
        ..ObjectReference::default()
    }
}

async fn reconcile(job: Arc<K8sJob>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ours = job_controller::Job::try_from(&*job)?;
    if !plan::is_ours(&ours) {
        return Ok(Action::await_change());
    }
    let (ns, name, uid) = (
        ours.metadata.namespace.clone(),
        ours.metadata.name.clone(),
        ours.metadata.uid.clone(),
    );
    // The Job's pods, listed now (a consistent read: what the Controller's
    // trigger was about is in it).
    let pods: Api<K8sPod> = Api::namespaced(ctx.client.clone(), &ns);
    let selector = plan::pod_list_selector(&ours);
    let listed = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(Error::List)?;
    let taken = ctx.entries.lock().expect("entries lock").remove(&uid);
    let mut entry = match taken {
        Some(mut entry) => {
            if let Err(e) = feed(&mut entry, &ours, &listed.items, now()) {
                ctx.retire(&entry);
                return Err(e);
            }
            entry
        }
        None => {
            // First sight: a new Job, or any Job after a restart.
            let mut mine = Vec::new();
            for p in &listed.items {
                let p = job_controller::api::Pod::try_from(p)?;
                if plan::concerns(
                    &ours,
                    &p.metadata.namespace,
                    controller_uid(&p),
                    &p.metadata.labels,
                ) {
                    mine.push(p);
                }
            }
            JobEntry::start(&ours, &mine, now())?
        }
    };
    let reference = job_reference(&ns, &name, &uid);
    if let Err(e) = drive(&ctx, &mut entry, &ns, &name, Some(&reference)).await {
        ctx.retire(&entry);
        return Err(e);
    }
    let requeue = entry.requeue(now());
    ctx.entries.lock().expect("entries lock").insert(uid, entry);
    Ok(Action::requeue(requeue.after))
}

/// The UID of the pod's controller, if any.
fn controller_uid(pod: &job_controller::api::Pod) -> Option<&str> {
    pod.metadata
        .owner_references
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.as_str())
}

/// Hands the machine what changed since it last looked: the Job's spec,
/// its pods as listed, a wake-up that came due.
fn feed(
    entry: &mut JobEntry,
    job: &job_controller::Job,
    listed: &[K8sPod],
    now: chrono::DateTime<Utc>,
) -> Result<(), Error> {
    entry.sync_job(now, job)?;
    let mut changed = Vec::new();
    let mut unchanged = Vec::new();
    for pod in listed {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let owner = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| o.uid.as_str());
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        if !entry.concerns(ns, owner, &labels) {
            continue;
        }
        let name = pod.name_any();
        if entry.is_current(
            &name,
            pod.metadata.resource_version.as_deref().unwrap_or_default(),
        ) {
            unchanged.push(name);
        } else {
            changed.push(job_controller::api::Pod::try_from(pod)?);
        }
    }
    entry.sync_pods(now, &changed, unchanged.iter().map(String::as_str))?;
    entry.wake(now)?;
    Ok(())
}

/// Carries out every request the machine has, in order, reporting each
/// outcome before asking for the next.
async fn drive(
    ctx: &Ctx,
    entry: &mut JobEntry,
    ns: &str,
    name: &str,
    reference: Option<&ObjectReference>,
) -> Result<(), Error> {
    let pods: Api<K8sPod> = Api::namespaced(ctx.client.clone(), ns);
    let jobs: Api<K8sJob> = Api::namespaced(ctx.client.clone(), ns);
    while let Some(request) = entry.next_request() {
        let result = execute(ctx, &pods, &jobs, name, reference, &request).await;
        let now = now();
        match result {
            Ok(created) => {
                let created = created
                    .as_ref()
                    .map(job_controller::api::Pod::try_from)
                    .transpose()?;
                entry.report(now, &request, Outcome::Done(created.as_ref()))?;
            }
            Err(e) => {
                let api = ApiError::from(&e);
                eprintln!("{ns}/{name}: {request:?} failed: {e}");
                entry.report(now, &request, Outcome::Failed(&api))?;
            }
        }
    }
    Ok(())
}

/// One request, as kube-rs calls. A creation returns the pod the API
/// server made.
async fn execute(
    ctx: &Ctx,
    pods: &Api<K8sPod>,
    jobs: &Api<K8sJob>,
    job_name: &str,
    reference: Option<&ObjectReference>,
    request: &Request,
) -> Result<Option<K8sPod>, kube::Error> {
    let uid_only = |uid: &Option<String>| Preconditions {
        uid: uid.clone(),
        resource_version: None,
    };
    match request {
        Request::CreatePod { pod } => {
            let body = K8sPod::try_from(&**pod).map_err(|e| kube::Error::SerdeError(e.source))?;
            let created = pods.create(&PostParams::default(), &body).await?;
            return Ok(Some(created));
        }
        Request::DeletePod { name, uid } => {
            let params = DeleteParams::background().preconditions(uid_only(uid));
            pods.delete(name, &params).await?;
        }
        Request::PatchPod { name, patch, .. } => {
            pods.patch(name, &PatchParams::default(), &Patch::Strategic(patch))
                .await?;
        }
        Request::PatchJobStatus { patch, .. } => {
            jobs.patch_status(job_name, &PatchParams::default(), &Patch::Merge(patch))
                .await?;
        }
        Request::DeleteJob { uid } => {
            let params = DeleteParams::foreground().preconditions(uid_only(&Some(uid.clone())));
            jobs.delete(job_name, &params).await?;
        }
        Request::Event {
            type_,
            reason,
            note,
            action,
        } => {
            // Best effort: nothing depends on an event.
            let Some(reference) = reference else {
                return Ok(None);
            };
            let event = Event {
                type_: match type_ {
                    EventType::Normal => KubeEventType::Normal,
                    EventType::Warning => KubeEventType::Warning,
                },
                reason: reason.clone(),
                note: Some(note.clone()),
                action: (*action).to_owned(),
                secondary: None,
            };
            if let Err(e) = ctx.recorder.publish(&event, reference).await {
                eprintln!("{job_name}: event {reason} not recorded: {e}");
            }
        }
    }
    Ok(None)
}

fn error_policy(job: Arc<K8sJob>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    eprintln!("{}: reconcile failed: {error}", job.name_any());
    Action::requeue(Duration::from_secs(5))
}

/// Every [`SWEEP`]: the machines of Jobs gone from the Controller's cache
/// remove their pods' tracking finalizers and are dropped; then the
/// metrics of all machines, summed, are printed. (A machine in the middle of a reconcile
/// is out of the map and missed for that round.)
async fn sweep(ctx: Arc<Ctx>, jobs: Store<K8sJob>) {
    let mut tick = tokio::time::interval(SWEEP);
    loop {
        tick.tick().await;
        let live: std::collections::HashSet<String> =
            jobs.state().iter().filter_map(|j| j.uid()).collect();
        let gone: Vec<(String, JobEntry)> = {
            let mut entries = ctx.entries.lock().expect("entries lock");
            let uids: Vec<String> = entries
                .keys()
                .filter(|uid| !live.contains(*uid))
                .cloned()
                .collect();
            uids.into_iter()
                .filter_map(|uid| entries.remove(&uid).map(|e| (uid, e)))
                .collect()
        };
        for (_, mut entry) in gone {
            let (ns, name) = (entry.namespace().to_owned(), entry.name().to_owned());
            let done = match entry.job_deleted(now()) {
                Ok(()) => drive(&ctx, &mut entry, &ns, &name, None).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = done {
                eprintln!("{ns}/{name}: clean-up after deletion failed: {e}");
            }
            ctx.retire(&entry);
        }
        let text = {
            let entries = ctx.entries.lock().expect("entries lock");
            let retired = ctx.retired.lock().expect("metrics lock");
            plan::metrics_text(&retired, entries.values())
        };
        println!("{text}");
    }
}

#[tokio::main]
async fn main() -> Result<(), kube::Error> {
    let client = Client::try_default().await?;
    let reporter = Reporter {
        controller: plan::MANAGER.into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    let recorder = Recorder::new(client.clone(), reporter);

    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder,
        entries: Mutex::new(HashMap::new()),
        retired: Mutex::new(Metrics::default()),
    });
    let controller = Controller::new(
        Api::<K8sJob>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<K8sPod>::all(client), watcher::Config::default())
    .shutdown_on_signal();
    tokio::spawn(sweep(ctx.clone(), controller.store()));
    println!("managing Jobs with spec.managedBy={}", plan::MANAGER);
    controller
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                eprintln!("controller: {e}");
            }
        })
        .await;
    Ok(())
}
