//! How an exchange ended, decided in one place.
//!
//! Every answer ends exactly one way: the upstream finished it, the upstream failed, or the
//! front-end stopped reading (the client left, Ctrl-C, the shutdown deadline). [`final_status`]
//! is the one rule that turns that ending, plus whether any answer text was produced, into
//! the status the store records; no front-end decides a status itself.

use crate::qwen::QwenError;

use super::FinishReason;

/// The recorded status of an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Error,
    /// The client went away.
    Cancelled,
    /// The answer was cut off after some of it was produced.
    Partial,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Cancelled => "cancelled",
            Status::Partial => "partial",
        }
    }
}

/// Why a front-end stops an answer before it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The client went away (closed the connection, Ctrl-C, a closed stdout).
    ClientGone,
    /// The server's shutdown grace period ran out.
    ShutDown,
}

/// How an answer ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum End<'a> {
    Done(FinishReason),
    Failed(&'a QwenError),
    Stopped(Stop),
}

/// The status of an answer that ended with `end`, having produced answer text (`content`)
/// and/or reasoning text (`reasoning`) before that.
pub(crate) fn final_status(end: End<'_>, content: bool, reasoning: bool) -> Status {
    match end {
        End::Done(_) => Status::Ok,
        // Reasoning is part of the answer the store keeps: a failure after reasoning only is
        // a partial answer, like one after some text.
        End::Failed(_) if content || reasoning => Status::Partial,
        End::Failed(_) => Status::Error,
        End::Stopped(Stop::ClientGone) => Status::Cancelled,
        // The server cut the answer; what was produced is kept as partial.
        End::Stopped(Stop::ShutDown) => Status::Partial,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure() -> QwenError {
        QwenError::EmptyStream
    }

    #[test]
    fn ok_when_the_upstream_finished() {
        let end = End::Done(FinishReason::Stop);
        assert_eq!(final_status(end, true, false), Status::Ok);
        assert_eq!(
            final_status(End::Done(FinishReason::Length), false, false),
            Status::Ok
        );
    }

    #[test]
    fn partial_when_the_upstream_failed_after_some_text() {
        let err = failure();
        assert_eq!(
            final_status(End::Failed(&err), true, false),
            Status::Partial
        );
        assert_eq!(final_status(End::Failed(&err), true, true), Status::Partial);
    }

    #[test]
    fn error_when_the_upstream_failed_before_any_text() {
        let err = failure();
        assert_eq!(final_status(End::Failed(&err), false, false), Status::Error);
    }

    #[test]
    fn reasoning_only_failure_is_partial() {
        let err = failure();
        assert_eq!(
            final_status(End::Failed(&err), false, true),
            Status::Partial
        );
    }

    #[test]
    fn cancelled_when_the_client_left() {
        let end = End::Stopped(Stop::ClientGone);
        assert_eq!(final_status(end, false, false), Status::Cancelled);
        assert_eq!(final_status(end, true, true), Status::Cancelled);
    }

    #[test]
    fn partial_when_the_server_shut_down() {
        let end = End::Stopped(Stop::ShutDown);
        assert_eq!(final_status(end, true, false), Status::Partial);
        assert_eq!(final_status(end, false, false), Status::Partial);
    }
}
