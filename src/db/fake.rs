//! An in-memory [`Rpc`] for native tests: scripted answers per function, and a log of every
//! call (function, arguments, identity) to assert what the orchestration did and how many calls
//! it took.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use serde_json::Value;

use super::{Failure, Rpc, Who};

/// One call as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub function: String,
    pub args: Value,
    pub as_service: bool,
}

type Handler = Box<dyn FnMut(&str, &Value, usize) -> Option<Result<Value, Failure>>>;

/// Answers each call with the first handler that returns `Some`; unknown calls fail the test.
#[derive(Default)]
pub struct FakeRpc {
    handlers: RefCell<Vec<Handler>>,
    pub calls: RefCell<Vec<Call>>,
}

impl FakeRpc {
    pub fn new() -> FakeRpc {
        FakeRpc::default()
    }

    /// Answers `function` with `answer(args, n)`, `n` counting this function's calls from 0.
    pub fn on(
        self,
        function: &'static str,
        mut answer: impl FnMut(&Value, usize) -> Result<Value, Failure> + 'static,
    ) -> FakeRpc {
        let mut seen = 0;
        self.handlers.borrow_mut().push(Box::new(move |f, args, _| {
            (f == function).then(|| {
                let n = seen;
                seen += 1;
                answer(args, n)
            })
        }));
        self
    }

    /// Adds `other`'s handlers after this one's (this one's answer first).
    pub fn merge(self, other: FakeRpc) -> FakeRpc {
        self.handlers
            .borrow_mut()
            .extend(other.handlers.into_inner());
        self
    }

    pub fn names(&self) -> Vec<String> {
        self.calls
            .borrow()
            .iter()
            .map(|c| c.function.clone())
            .collect()
    }

    pub fn count(&self, function: &str) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.function == function)
            .count()
    }
}

impl Rpc for FakeRpc {
    async fn call(&self, who: Who<'_>, function: &str, args: String) -> Result<String, Failure> {
        let args: Value = serde_json::from_str(&args).expect("the Worker sends JSON arguments");
        let n = self.calls.borrow().len();
        self.calls.borrow_mut().push(Call {
            function: function.to_owned(),
            args: args.clone(),
            as_service: who == Who::Service,
        });
        let mut handlers = self.handlers.borrow_mut();
        for h in handlers.iter_mut() {
            if let Some(answer) = h(function, &args, n) {
                return answer.map(|v| v.to_string());
            }
        }
        panic!("unexpected rpc {function}({args})");
    }
}

/// A PostgREST error answer.
pub fn pg_error(status: u16, sqlstate: &str, message: &str) -> Failure {
    Failure::Status {
        status,
        body: serde_json::json!({"code": sqlstate, "message": message}).to_string(),
    }
}

/// Runs a future whose awaits all complete at once (the fake never waits), natively.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("the future never finished: it awaited something the fake does not provide");
}
