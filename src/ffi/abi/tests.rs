//! The ABI types and constants against the MPI 5.0 standard ABI: the status layout, spot values, and the predefined handles.

use super::*;

#[test]
fn status_layout() {
    assert_eq!(core::mem::size_of::<MPI_Status>(), 32);
    assert_eq!(core::mem::offset_of!(MPI_Status, MPI_ERROR), 8);
    assert_eq!(core::mem::size_of::<MPI_Comm>(), core::mem::size_of::<*mut c_void>());
}

#[test]
fn spot_values() {
    assert_eq!(handle_value(MPI_COMM_WORLD), 0x101);
    assert_eq!(handle_value(MPI_REQUEST_NULL), 0x180);
    assert_eq!(handle_value(MPI_INT), 0x209);
    assert_eq!(MPI_LONG_LONG_INT, MPI_LONG_LONG);
    assert_eq!(handle_value(MPI_IN_PLACE), 1);
    assert_eq!(MPI_ERR_TRUNCATE, 15);
    assert_eq!(MPI_ANY_SOURCE, -1);
    assert_eq!(MPI_UNDEFINED, -32766);
    assert_eq!(MPI_MAX_PROCESSOR_NAME, 256);
}

#[test]
fn predefined_handles_are_small_and_distinct() {
    // Handles of every kind except datatypes (those come from the datatype table); aliases left out.
    let others = [
        handle_value(MPI_OP_NULL),
        handle_value(MPI_SUM),
        handle_value(MPI_MIN),
        handle_value(MPI_MAX),
        handle_value(MPI_PROD),
        handle_value(MPI_BAND),
        handle_value(MPI_BOR),
        handle_value(MPI_BXOR),
        handle_value(MPI_LAND),
        handle_value(MPI_LOR),
        handle_value(MPI_LXOR),
        handle_value(MPI_MINLOC),
        handle_value(MPI_MAXLOC),
        handle_value(MPI_REPLACE),
        handle_value(MPI_NO_OP),
        handle_value(MPI_COMM_NULL),
        handle_value(MPI_COMM_WORLD),
        handle_value(MPI_COMM_SELF),
        handle_value(MPI_GROUP_NULL),
        handle_value(MPI_GROUP_EMPTY),
        handle_value(MPI_WIN_NULL),
        handle_value(MPI_FILE_NULL),
        handle_value(MPI_SESSION_NULL),
        handle_value(MPI_MESSAGE_NULL),
        handle_value(MPI_MESSAGE_NO_PROC),
        handle_value(MPI_INFO_NULL),
        handle_value(MPI_INFO_ENV),
        handle_value(MPI_ERRHANDLER_NULL),
        handle_value(MPI_ERRORS_ARE_FATAL),
        handle_value(MPI_ERRORS_ABORT),
        handle_value(MPI_ERRORS_RETURN),
        handle_value(MPI_REQUEST_NULL),
        handle_value(MPI_DATATYPE_NULL),
    ];
    let mut all = others.to_vec();
    all.extend(predefined_datatype_handles());
    assert_eq!(all.len(), 33 + 70);
    assert!(all.iter().all(|&h| h != 0 && h < PREDEFINED_HANDLE_LIMIT));
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 33 + 70, "two predefined handles share a value");
}
