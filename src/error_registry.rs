//! User-defined error classes, codes and strings (`MPI_Add_error_class/code/string` and their MPI 4.1 removals).

use crate::error::{err, Result};
use std::collections::BTreeMap;

/// Numbering and strings of the program's own error classes and codes. A class is also a code
/// (its own class). Numbers start above MPI_ERR_LASTCODE and are never reused.
#[derive(Debug)]
pub struct ErrorRegistry {
    /// The last predefined code; user numbers start after it.
    last_predefined: i32,
    next: i32,
    /// User code -> its class (a user class maps to itself).
    codes: BTreeMap<i32, i32>,
    strings: BTreeMap<i32, String>,
    /// The largest number ever handed out (MPI_LASTUSEDCODE).
    last_used: i32,
}

impl ErrorRegistry {
    pub const fn new(last_predefined: i32) -> Self {
        ErrorRegistry {
            last_predefined,
            next: last_predefined + 1,
            codes: BTreeMap::new(),
            strings: BTreeMap::new(),
            last_used: last_predefined,
        }
    }

    fn allocate(&mut self) -> Result<i32> {
        let n = self.next;
        self.next = n.checked_add(1).ok_or_else(|| err!(NoMem, "no error codes left to hand out"))?;
        self.last_used = n;
        Ok(n)
    }

    pub fn add_class(&mut self) -> Result<i32> {
        let n = self.allocate()?;
        self.codes.insert(n, n);
        Ok(n)
    }

    /// A new code in `class`, which is a predefined class (`is_predefined_class`) or a user one.
    pub fn add_code(&mut self, class: i32, is_predefined_class: bool) -> Result<i32> {
        if !is_predefined_class && self.codes.get(&class) != Some(&class) {
            return Err(err!(
                Arg,
                "error class {class} does not exist (use a class from MPI_Add_error_class or a predefined one)"
            ));
        }
        let n = self.allocate()?;
        self.codes.insert(n, class);
        Ok(n)
    }

    pub fn add_string(&mut self, code: i32, text: &str, max_len: usize) -> Result<()> {
        if !self.codes.contains_key(&code) {
            return Err(err!(Arg, "error code {code} is not user-defined; strings can be set only for codes and classes from MPI_Add_error_code/class"));
        }
        if text.len() >= max_len {
            return Err(err!(
                Arg,
                "the error string is {} bytes long; at most {} fit (MPI_MAX_ERROR_STRING)",
                text.len(),
                max_len - 1
            ));
        }
        self.strings.insert(code, text.to_string());
        Ok(())
    }

    /// The class of a user code or class.
    pub fn class_of(&self, code: i32) -> Option<i32> {
        self.codes.get(&code).copied()
    }

    pub fn string(&self, code: i32) -> Option<&str> {
        self.strings.get(&code).map(String::as_str)
    }

    pub fn last_used(&self) -> i32 {
        self.last_used
    }

    pub fn remove_class(&mut self, class: i32) -> Result<()> {
        if self.codes.get(&class) != Some(&class) {
            return Err(err!(Arg, "error class {class} is not a user-defined class"));
        }
        if let Some(code) = self.codes.iter().find(|&(&c, &k)| k == class && c != class).map(|(c, _)| *c) {
            return Err(err!(
                Arg,
                "error class {class} still has code {code}; remove its codes first (MPI_Remove_error_code)"
            ));
        }
        if self.strings.contains_key(&class) {
            return Err(err!(Arg, "error class {class} still has a string; remove it first (MPI_Remove_error_string)"));
        }
        self.codes.remove(&class);
        Ok(())
    }

    pub fn remove_code(&mut self, code: i32) -> Result<()> {
        match self.codes.get(&code) {
            // MPI 4.1 removes in the reverse order of adding: the string, then the code.
            Some(&class) if class != code && self.strings.contains_key(&code) => {
                Err(err!(Arg, "error code {code} still has a string; remove it first (MPI_Remove_error_string)"))
            }
            Some(&class) if class != code => {
                self.codes.remove(&code);
                Ok(())
            }
            Some(_) => Err(err!(Arg, "{code} is an error class; remove it with MPI_Remove_error_class")),
            None => Err(err!(Arg, "error code {code} is not a user-defined code")),
        }
    }

    pub fn remove_string(&mut self, code: i32) -> Result<()> {
        self.strings
            .remove(&code)
            .map(|_| ())
            .ok_or_else(|| err!(Arg, "error code {code} has no string set by MPI_Add_error_string"))
    }

    /// True for numbers above the predefined ones (whether or not still registered).
    pub fn is_user_range(&self, code: i32) -> bool {
        code > self.last_predefined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_codes_and_strings_round_trip() {
        let mut r = ErrorRegistry::new(100);
        assert_eq!(r.last_used(), 100);
        let class = r.add_class().unwrap();
        assert_eq!(class, 101);
        let code = r.add_code(class, false).unwrap();
        let on_predefined = r.add_code(13, true).unwrap();
        assert_eq!(
            (r.class_of(code), r.class_of(class), r.class_of(on_predefined)),
            (Some(class), Some(class), Some(13))
        );
        assert!(r.add_code(99, false).is_err(), "not a class");
        assert!(r.add_code(code, false).is_err(), "a code is not a class");
        r.add_string(code, "my error", 512).unwrap();
        assert_eq!(r.string(code), Some("my error"));
        assert!(r.add_string(13, "no", 512).is_err(), "predefined");
        assert!(r.add_string(code, &"x".repeat(512), 512).is_err(), "too long");
        assert_eq!(r.last_used(), on_predefined);
        assert!(r.remove_class(class).is_err(), "still has a code");
        assert!(r.remove_code(class).is_err(), "a class, not a code");
        assert!(r.remove_code(code).unwrap_err().message.contains("still has a string"));
        r.remove_string(code).unwrap();
        assert!(r.remove_string(code).is_err());
        r.remove_code(code).unwrap();
        r.add_string(class, "my class", 512).unwrap();
        assert!(r.remove_class(class).unwrap_err().message.contains("still has a string"));
        r.remove_string(class).unwrap();
        r.remove_class(class).unwrap();
        assert_eq!(r.class_of(class), None);
        assert!(r.add_class().unwrap() > on_predefined, "never reused");
        assert!(r.is_user_range(101) && !r.is_user_range(100));
    }
}
