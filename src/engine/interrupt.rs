//! Interrupting a sync from outside: a signal handler pulls the [`Interrupt`]; every source not
//! yet committing rolls back and reports [`super::SyncError::Interrupted`], naming the signal.

use std::fmt;
use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

/// The signal that interrupted a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT: Ctrl-C in a terminal.
    CtrlC,
    /// SIGTERM: how schedulers, systemd and Kubernetes stop a job.
    Sigterm,
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CtrlC => "Ctrl-C",
            Self::Sigterm => "SIGTERM",
        })
    }
}

/// The switch that interrupts a sync, shared by the sync and whoever may pull it (clones are the
/// same switch). The first pull is the one remembered.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    token: CancellationToken,
    by: Arc<OnceLock<StopSignal>>,
}

impl Interrupt {
    /// Interrupts the sync, because of `by` (unless it was interrupted already).
    pub fn interrupt(&self, by: StopSignal) {
        // Set before the token is cancelled, so whoever sees it cancelled also sees why.
        let _ = self.by.set(by);
        self.token.cancel();
    }

    /// What interrupted the sync, if anything did.
    pub fn by(&self) -> Option<StopSignal> {
        self.by.get().copied()
    }

    /// Waits until the sync is interrupted; what interrupted it.
    pub async fn interrupted(&self) -> StopSignal {
        self.token.cancelled().await;
        // `interrupt` is the only way to cancel the token, and it sets `by` first.
        self.by().unwrap_or(StopSignal::CtrlC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_signal_is_the_one_remembered() {
        let interrupt = Interrupt::default();
        assert_eq!(interrupt.by(), None);
        let seen = interrupt.clone();
        let waiter = tokio::spawn(async move { seen.interrupted().await });
        interrupt.interrupt(StopSignal::Sigterm);
        interrupt.interrupt(StopSignal::CtrlC);
        assert_eq!(interrupt.by(), Some(StopSignal::Sigterm));
        assert_eq!(waiter.await.ok(), Some(StopSignal::Sigterm));
    }
}
