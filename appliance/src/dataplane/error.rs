//! The data plane's error type.

use std::io;

/// A data-plane failure, naming the interface (or clock) and the operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataplaneError {
    /// A system call failed.
    #[error("{interface}: {op}: {error}")]
    Io {
        /// The interface.
        interface: String,
        /// What was being done (usually the call or socket option).
        op: &'static str,
        /// The OS error.
        error: io::Error,
    },
    /// The interface cannot do what the configuration asks.
    #[error("{interface}: {op}: {reason}")]
    Unsupported {
        /// The interface.
        interface: String,
        /// What was being set up.
        op: &'static str,
        /// Why it cannot be done.
        reason: String,
    },
    /// The configuration is not usable.
    #[error("{interface}: {reason}")]
    InvalidConfig {
        /// The interface.
        interface: String,
        /// What is wrong.
        reason: String,
    },
    /// A send request this port cannot carry (wrong address family, message too long…).
    #[error("{interface}: send: {reason}")]
    InvalidSend {
        /// The interface.
        interface: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// `poll` failed.
    #[error("poll: {0}")]
    Poll(io::Error),
}

impl DataplaneError {
    /// Whether this is a full socket buffer (`EAGAIN`): the message was dropped, nothing is
    /// broken.
    pub fn is_would_block(&self) -> bool {
        matches!(self, DataplaneError::Io { error, .. } if error.kind() == io::ErrorKind::WouldBlock)
    }
}

/// An error builder naming the interface and operation.
pub(crate) fn io_err<'a>(
    interface: &'a str,
    op: &'static str,
) -> impl FnOnce(io::Error) -> DataplaneError + 'a {
    move |error| DataplaneError::Io {
        interface: interface.to_owned(),
        op,
        error,
    }
}

/// A send dropped because `op` had no room (queue or ring full, buffer pool empty):
/// [`DataplaneError::is_would_block`] is true for it.
#[cfg_attr(not(feature = "dpdk"), allow(dead_code))]
pub(crate) fn would_block(interface: &str, op: &'static str) -> DataplaneError {
    DataplaneError::Io {
        interface: interface.to_owned(),
        op,
        error: io::ErrorKind::WouldBlock.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_name_interface_and_operation() {
        let e = io_err("veth0", "SO_TIMESTAMPING")(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        assert!(e
            .to_string()
            .starts_with("veth0: SO_TIMESTAMPING: Operation not supported"));
        assert!(!e.is_would_block());
        let e = io_err("veth0", "sendmsg")(io::Error::from_raw_os_error(libc::EAGAIN));
        assert!(e.is_would_block());
        assert!(would_block("net_null0", "rte_eth_tx_burst").is_would_block());
    }
}
