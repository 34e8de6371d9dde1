//! Decoding fuzzer bytes into a Job and a history (`fuzz_targets/events.rs`).

#[allow(unused_imports)]
use super::*;

/// Reads small numbers from fuzzer bytes (zeros once exhausted).
pub(crate) struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    /// Over `data`.
    pub(crate) fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes { data, pos: 0 }
    }

    /// Whether every byte was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The next byte.
    pub(crate) fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// A number below `n` (n > 0).
    pub(crate) fn below(&mut self, n: u8) -> u8 {
        self.byte() % n
    }

    /// An optional number below `n`: `None` for about a third of the bytes.
    pub(crate) fn opt(&mut self, n: u8) -> Option<i32> {
        let b = self.byte();
        if b % 3 == 0 {
            None
        } else {
            Some(i32::from((b / 3) % n))
        }
    }
}

/// Decodes a small Job (which may not validate).
pub(crate) fn decode_job(b: &mut Bytes<'_>) -> JobParams {
    let flags = b.byte();
    let indexed = flags & 1 != 0;
    let mut p = JobParams {
        indexed,
        completions: b.opt(4),
        parallelism: b.opt(4),
        backoff_limit: b.opt(4),
        suspend: flags & 2 != 0,
        on_failure: flags & 4 != 0,
        ..JobParams::default()
    };
    if indexed && p.completions.is_none() {
        p.completions = Some(2);
    }
    let extra = b.byte();
    if extra & 1 != 0 && indexed {
        p.backoff_limit_per_index = Some(i32::from(b.below(3)));
        if extra & 2 != 0 {
            p.max_failed_indexes = Some(i32::from(b.below(3)).min(p.completions.unwrap_or(0)));
        }
    }
    if extra & 4 != 0 {
        let n = 1 + b.below(3);
        let mut rules = Vec::new();
        for _ in 0..n {
            let a = b.byte();
            let action = match a % 4 {
                0 => PodFailurePolicyAction::FailJob,
                1 => PodFailurePolicyAction::Ignore,
                2 => PodFailurePolicyAction::Count,
                _ => PodFailurePolicyAction::FailIndex,
            };
            let on = if a & 4 != 0 {
                RuleOn::DisruptionTarget
            } else {
                let mask = b.byte();
                let mut values: Vec<i32> = EXIT_CODES
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, c)| *c)
                    .collect();
                if values.is_empty() {
                    values.push(42);
                }
                RuleOn::ExitCodes {
                    not_in: a & 8 != 0,
                    values,
                    named: a & 16 != 0,
                }
            };
            rules.push(Rule { action, on });
        }
        p.pod_failure_policy = Some(rules);
    }
    if extra & 8 != 0 && indexed {
        let c = p.completions.unwrap_or(1).max(1);
        let k = b.byte();
        let rule = match k % 3 {
            0 => SuccessRule {
                indexes: Some(format!("0-{}", i32::from(k / 3) % c)),
                count: None,
            },
            1 => SuccessRule {
                indexes: None,
                count: Some(1 + i32::from(k / 3) % c),
            },
            _ => SuccessRule {
                indexes: Some(format!("{}", i32::from(k / 3) % c)),
                count: Some(1),
            },
        };
        p.success_policy = Some(vec![rule]);
    }
    if extra & 16 != 0 {
        p.active_deadline_seconds = Some(1 + i64::from(b.byte()) * 10);
    }
    if extra & 32 != 0 {
        p.ttl_seconds_after_finished = Some(i32::from(b.below(4)) * 100);
    }
    if extra & 64 != 0 {
        p.pod_replacement_policy = Some(if extra & 128 != 0 {
            PodReplacementPolicy::Failed
        } else {
            PodReplacementPolicy::TerminatingOrFailed
        });
    }
    p
}

/// Decodes where the clock starts from the Job's flag byte (bits 3 to 7,
/// unused by the Job): `11111` near `MAX_UTC`, `01111` near `MIN_UTC`
/// (one more byte: seconds, minutes or hours away), anything else
/// [`Start::T0`]. (Inputs decoded before this was added keep their
/// meaning unless those bits read `11111` or `01111`.)
pub(crate) fn decode_start(flags: u8, b: &mut Bytes<'_>) -> Start {
    let far = match flags >> 3 {
        0b11111 => Start::BeforeMax as fn(u32) -> Start,
        0b01111 => Start::AfterMin,
        _ => return Start::T0,
    };
    let o = b.byte();
    let n = u32::from(o / 3);
    far(match o % 3 {
        0 => n,
        1 => n * 60,
        _ => n * 3600,
    })
}

/// Decodes one step (`far`: the history starts near an end of the range,
/// and big clock jumps run up against it).
pub(crate) fn decode_step(b: &mut Bytes<'_>, far: bool) -> Step {
    let a = b.byte();
    let advance = match a % 8 {
        0..=2 => Advance::Secs(0),
        3 => Advance::Secs(1 + u32::from(a / 8) % 15),
        5 if far && a >= 0xf8 => Advance::Secs(u32::MAX),
        5 if far => Advance::Secs(u32::from(b.byte()) * 3600),
        4 | 5 => Advance::Secs(u32::from(b.byte()) * 3),
        _ => Advance::ToTimeout,
    };
    let kind = b.byte();
    let x = b.byte();
    let input = match kind % 20 {
        0 => Input::Run(x),
        1 => Input::Ready(x),
        2 => Input::Unready(x),
        3 | 4 => Input::Succeed(x),
        5 | 6 => Input::Fail {
            pod: x,
            code: kind / 20,
            disruption: kind & 0x80 != 0,
        },
        7 => Input::Restart(x),
        8 => Input::Terminate(x),
        9 => Input::Gone {
            pod: x,
            force: kind & 0x80 != 0,
        },
        10 => Input::Duplicate,
        11 => Input::Stale { pod: x, age: kind },
        12 => Input::Late { pod: x, age: kind },
        13 => Input::CreateFail(x),
        14 => Input::Ack(x),
        15 => Input::Hold(x & 1 != 0),
        16 => Input::Suspend(x & 1 != 0),
        17 => Input::Parallelism(x % 4),
        _ => Input::Timeout,
    };
    Step { advance, input }
}

/// A decoded fuzz input.
#[derive(Debug, Clone)]
pub(crate) struct Decoded {
    /// The Job's parameters.
    pub params: JobParams,
    /// Where the clock starts.
    pub start: Start,
    /// The Job, admitted.
    pub job: ValidJob,
    /// The history.
    pub steps: Vec<Step>,
}

/// Decodes a Job, where its clock starts and up to `max_steps` steps;
/// `None` if the Job does not validate.
pub(crate) fn decode(data: &[u8], max_steps: usize) -> Option<Decoded> {
    let mut b = Bytes::new(data);
    let flags = b.data.first().copied().unwrap_or(0);
    let params = decode_job(&mut b);
    let start = decode_start(flags, &mut b);
    let job = params.admit().ok()?;
    let mut steps = Vec::new();
    while !b.is_empty() && steps.len() < max_steps {
        steps.push(decode_step(&mut b, start.is_extreme()));
    }
    Some(Decoded {
        params,
        start,
        job,
        steps,
    })
}
