//! `Endpoint`: what a TLS session needs of a rustls unbuffered connection, client or server
//! alike (rustls gives the two sides' state machines different types).

use rustls::client::{ClientConnectionData, UnbufferedClientConnection};
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{UnbufferedConnectionCommon, UnbufferedStatus};

/// A rustls unbuffered connection, client or server.
pub trait Endpoint: Send + 'static {
    type Data;
    fn process<'c, 'i>(&'c mut self, incoming: &'i mut [u8]) -> UnbufferedStatus<'c, 'i, Self::Data>;
    fn state(&self) -> &rustls::CommonState;
}

impl Endpoint for UnbufferedClientConnection {
    type Data = ClientConnectionData;
    fn process<'c, 'i>(&'c mut self, incoming: &'i mut [u8]) -> UnbufferedStatus<'c, 'i, ClientConnectionData> {
        UnbufferedConnectionCommon::<ClientConnectionData>::process_tls_records(self, incoming)
    }
    fn state(&self) -> &rustls::CommonState {
        self
    }
}

impl Endpoint for UnbufferedServerConnection {
    type Data = ServerConnectionData;
    fn process<'c, 'i>(&'c mut self, incoming: &'i mut [u8]) -> UnbufferedStatus<'c, 'i, ServerConnectionData> {
        UnbufferedConnectionCommon::<ServerConnectionData>::process_tls_records(self, incoming)
    }
    fn state(&self) -> &rustls::CommonState {
        self
    }
}
