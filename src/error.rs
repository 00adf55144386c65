//! Errors of the core, each tagged with the MPI error class it maps to at the C boundary.

use std::fmt;

/// The MPI error classes the core can produce (values from the MPI 5.0 standard ABI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorClass {
    Buffer = 1,
    Count = 2,
    Type = 3,
    Tag = 4,
    Comm = 5,
    Rank = 6,
    Request = 7,
    Root = 8,
    Group = 9,
    Op = 10,
    Topology = 11,
    Dims = 12,
    Arg = 13,
    Unknown = 14,
    Truncate = 15,
    Other = 16,
    Intern = 17,
    Pending = 18,
    InStatus = 19,
    InfoKey = 31,
    InfoNokey = 32,
    InfoValue = 33,
    Info = 34,
    Keyval = 36,
    NoMem = 39,
    Unsupported = 55,
    ProcAborted = 58,
    Session = 60,
}

impl ErrorClass {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The standard name and a one-line meaning, used by `MPI_Error_string`.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorClass::Buffer => "MPI_ERR_BUFFER: invalid buffer pointer",
            ErrorClass::Count => "MPI_ERR_COUNT: invalid count argument",
            ErrorClass::Type => "MPI_ERR_TYPE: invalid datatype",
            ErrorClass::Tag => "MPI_ERR_TAG: invalid tag",
            ErrorClass::Comm => "MPI_ERR_COMM: invalid communicator",
            ErrorClass::Rank => "MPI_ERR_RANK: invalid rank",
            ErrorClass::Request => "MPI_ERR_REQUEST: invalid request",
            ErrorClass::Root => "MPI_ERR_ROOT: invalid root",
            ErrorClass::Group => "MPI_ERR_GROUP: invalid group",
            ErrorClass::Op => "MPI_ERR_OP: invalid reduce operation",
            ErrorClass::Topology => "MPI_ERR_TOPOLOGY: invalid topology",
            ErrorClass::Dims => "MPI_ERR_DIMS: invalid dimension argument",
            ErrorClass::Arg => "MPI_ERR_ARG: invalid argument",
            ErrorClass::Unknown => "MPI_ERR_UNKNOWN: unknown error",
            ErrorClass::Truncate => "MPI_ERR_TRUNCATE: message truncated",
            ErrorClass::Other => "MPI_ERR_OTHER: other error",
            ErrorClass::Intern => "MPI_ERR_INTERN: internal error",
            ErrorClass::Pending => "MPI_ERR_PENDING: pending request",
            ErrorClass::InStatus => "MPI_ERR_IN_STATUS: error code is in status",
            ErrorClass::InfoKey => "MPI_ERR_INFO_KEY: info key too long or empty",
            ErrorClass::InfoNokey => "MPI_ERR_INFO_NOKEY: info key not set",
            ErrorClass::InfoValue => "MPI_ERR_INFO_VALUE: info value too long or empty",
            ErrorClass::Info => "MPI_ERR_INFO: invalid info object",
            ErrorClass::Keyval => "MPI_ERR_KEYVAL: invalid attribute key",
            ErrorClass::NoMem => "MPI_ERR_NO_MEM: out of memory",
            ErrorClass::Unsupported => "MPI_ERR_UNSUPPORTED_OPERATION: operation not supported",
            ErrorClass::ProcAborted => "MPI_ERR_PROC_ABORTED: peer process failed or exited",
            ErrorClass::Session => "MPI_ERR_SESSION: invalid session",
        }
    }

    /// Every class, once.
    pub const ALL: [ErrorClass; 28] = {
        use ErrorClass::*;
        [
            Buffer,
            Count,
            Type,
            Tag,
            Comm,
            Rank,
            Request,
            Root,
            Group,
            Op,
            Topology,
            Dims,
            Arg,
            Unknown,
            Truncate,
            Other,
            Intern,
            Pending,
            InStatus,
            InfoKey,
            InfoNokey,
            InfoValue,
            Info,
            Keyval,
            NoMem,
            Unsupported,
            ProcAborted,
            Session,
        ]
    };

    pub fn from_code(code: i32) -> Option<ErrorClass> {
        ErrorClass::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// An error with its class and a message that says what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub class: ErrorClass,
    pub message: String,
}

impl Error {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Error {
        Error { class, message: message.into() }
    }
}

/// Why a link stopped working. A `Break` is the network's doing (a reset, a silent path, a
/// corrupted frame) and is repaired by reconnecting; a `Fatal` fault (tampering under TLS, a
/// peer that breaks the protocol) is not.
#[derive(Debug, Clone)]
pub enum Fault {
    Break(String),
    Fatal(Error),
}

impl From<Error> for Fault {
    fn from(e: Error) -> Fault {
        Fault::Fatal(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand constructors, so call sites read as the failure they report.
macro_rules! err {
    ($class:ident, $($arg:tt)*) => {
        $crate::error::Error::new($crate::error::ErrorClass::$class, format!($($arg)*))
    };
}
pub(crate) use err;

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard ABI constant each class must equal, by name and value. A match, so a new
    /// class does not compile until it is listed here.
    fn abi_constant(class: ErrorClass) -> (&'static str, i32, usize) {
        macro_rules! constants {
            ($($class:ident => $name:ident),* $(,)?) => {
                {
                    let (name, value) = match class {
                        $(ErrorClass::$class => (stringify!($name), crate::ffi::abi::$name),)*
                    };
                    (name, value, [$(stringify!($class)),*].len())
                }
            };
        }
        constants!(
            Buffer => MPI_ERR_BUFFER,
            Count => MPI_ERR_COUNT,
            Type => MPI_ERR_TYPE,
            Tag => MPI_ERR_TAG,
            Comm => MPI_ERR_COMM,
            Rank => MPI_ERR_RANK,
            Request => MPI_ERR_REQUEST,
            Root => MPI_ERR_ROOT,
            Group => MPI_ERR_GROUP,
            Op => MPI_ERR_OP,
            Topology => MPI_ERR_TOPOLOGY,
            Dims => MPI_ERR_DIMS,
            Arg => MPI_ERR_ARG,
            Unknown => MPI_ERR_UNKNOWN,
            Truncate => MPI_ERR_TRUNCATE,
            Other => MPI_ERR_OTHER,
            Intern => MPI_ERR_INTERN,
            Pending => MPI_ERR_PENDING,
            InStatus => MPI_ERR_IN_STATUS,
            InfoKey => MPI_ERR_INFO_KEY,
            InfoNokey => MPI_ERR_INFO_NOKEY,
            InfoValue => MPI_ERR_INFO_VALUE,
            Info => MPI_ERR_INFO,
            Keyval => MPI_ERR_KEYVAL,
            NoMem => MPI_ERR_NO_MEM,
            Unsupported => MPI_ERR_UNSUPPORTED_OPERATION,
            ProcAborted => MPI_ERR_PROC_ABORTED,
            Session => MPI_ERR_SESSION,
        )
    }

    #[test]
    fn every_class_is_its_abi_constant() {
        for class in ErrorClass::ALL {
            let (name, value, classes) = abi_constant(class);
            assert_eq!(class.code(), value, "{class:?} must be {name}");
            assert_eq!(ErrorClass::from_code(value), Some(class), "{name}");
            assert!(class.describe().starts_with(&format!("{name}: ")), "{class:?} describes itself as {name}");
            assert_eq!(ErrorClass::ALL.len(), classes, "ErrorClass::ALL must list every class");
        }
        let mut codes: Vec<i32> = ErrorClass::ALL.iter().map(|c| c.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorClass::ALL.len(), "ErrorClass::ALL lists a class twice");
        assert_eq!(ErrorClass::from_code(crate::ffi::abi::MPI_SUCCESS), None);
    }
}
