//! `Sink`: where a session seals plaintext while rustls is ready for traffic, in full records
//! wherever it can.

use super::session::{broken, internal, MAX_PLAINTEXT, OUTBOUND_CHUNK};
use rustls::unbuffered::{EncryptError, WriteTraffic};
use std::io::{self, IoSlice};

/// Why sealing failed: the key is used up (rustls updates keys long before), or a bug.
pub fn sealing(e: EncryptError) -> io::Error {
    match e {
        EncryptError::EncryptExhausted => broken(rustls::Error::EncryptError),
        e => internal(e),
    }
}

/// Where sealed records go while rustls is ready for traffic.
pub struct Sink<'s, 't, D> {
    pub traffic: &'s mut WriteTraffic<'t, D>,
    pub outbound: &'s mut Vec<u8>,
    pub filled: &'s mut usize,
}

impl<D> Sink<'_, '_, D> {
    /// Seals up to `OUTBOUND_CHUNK` bytes of `bufs` into full records where it can: whole
    /// records straight from the caller's buffers, the pieces between them gathered first.
    pub fn seal(mut self, bufs: &[IoSlice<'_>], gather: &mut Vec<u8>) -> io::Result<usize> {
        let mut taken = 0;
        for buf in bufs {
            let mut piece = &buf[..buf.len().min(OUTBOUND_CHUNK - taken)];
            taken += piece.len();
            while !piece.is_empty() {
                if gather.is_empty() && piece.len() >= MAX_PLAINTEXT {
                    let whole = piece.len() / MAX_PLAINTEXT * MAX_PLAINTEXT;
                    self.encrypt(&piece[..whole])?;
                    piece = &piece[whole..];
                } else {
                    let n = piece.len().min(MAX_PLAINTEXT - gather.len());
                    gather.extend_from_slice(&piece[..n]);
                    piece = &piece[n..];
                    if gather.len() == MAX_PLAINTEXT {
                        self.encrypt(gather)?;
                        gather.clear();
                    }
                }
            }
        }
        if !gather.is_empty() {
            self.encrypt(gather)?;
            gather.clear();
        }
        Ok(taken)
    }

    fn encrypt(&mut self, plaintext: &[u8]) -> io::Result<()> {
        *self.filled += self.traffic.encrypt(plaintext, &mut self.outbound[*self.filled..]).map_err(sealing)?;
        Ok(())
    }
}
