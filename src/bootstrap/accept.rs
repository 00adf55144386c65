//! The accepting side of `MPI_Init`: higher ranks connect to us; each greeting is read on its own thread, checked, and answered.

use super::*;

type Accepted = Vec<(usize, Bundle)>;

/// At most this many refused connections are quoted in a timeout message.
const QUOTED_REFUSALS: usize = 3;
/// The kind of repeated warning (`log::warn_repeated`) for each refused stranger.
const REFUSED: &str = "refused connections";

/// Accepts the higher ranks' links until each has greeted (or `stop`, or `deadline`).
pub(super) fn accept_peers(
    listener: Listener,
    me: Hello,
    cfg: &Config,
    tls: Option<Arc<Tls>>,
    joiner: Arc<Joiner>,
    deadline: Instant,
    stop: &AtomicBool,
) -> Result<Accepted> {
    let greeters = Greeters::default();
    // Closed however the loop ends.
    let _closing = Closing(&greeters);
    let greeters = &greeters;
    listener.set_nonblocking(true).map_err(|e| err!(Other, "cannot configure the listening socket: {e}"))?;
    let wanted: HashSet<usize> = (cfg.rank + 1..cfg.size).collect();
    let claimed = Arc::new(Mutex::new(HashSet::new()));
    let pending = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<(usize, Bundle)>();
    let mut accepted = Vec::new();
    // The last few, for the timeout message, and how many in all.
    let (mut refusals, mut refused) = (Vec::new(), 0);
    let (refusal_tx, refusal_rx) = mpsc::channel::<String>();
    while accepted.len() < wanted.len() {
        if stop.load(Ordering::Relaxed) {
            return Ok(accepted);
        }
        accepted.extend(rx.try_iter());
        for refusal in refusal_rx.try_iter() {
            refused += 1;
            refusals.push(refusal);
            if refusals.len() > QUOTED_REFUSALS {
                refusals.remove(0);
            }
        }
        if accepted.len() == wanted.len() {
            break;
        }
        if Instant::now() >= deadline {
            let got: HashSet<usize> = accepted.iter().map(|(r, _)| *r).collect();
            let mut missing: Vec<usize> = wanted.difference(&got).copied().collect();
            missing.sort_unstable();
            let missing: Vec<String> = missing.iter().map(|r| format!("{r} ({})", cfg.peers[*r])).collect();
            let refused = match refused {
                0 => String::new(),
                n if n == refusals.len() => format!("; connections refused meanwhile: {}", refusals.join("; ")),
                n => format!("; {n} connections refused meanwhile, the last: {}", refusals.join("; ")),
            };
            return Err(err!(Other, "rank {} timed out after {:.1} s waiting for rank(s) {} to connect{refused}; start every party, or raise PARTYLINE_CONNECT_TIMEOUT", me.rank, cfg.connect_timeout.as_secs_f64(), missing.join(", ")));
        }
        match listener.accept() {
            Ok((stream, from)) => {
                let from: Arc<str> = from.into();
                let (greeted, refused) = (from.clone(), from.clone());
                let me = greeting_on(&stream, &me, cfg, tls.is_some());
                let (tx, refusal_tx, tls) = (tx.clone(), refusal_tx.clone(), tls.clone());
                let (claimed, timeout, done) = (claimed.clone(), cfg.handshake_timeout, greeters.clone());
                let joiner = joiner.clone();
                let greeting = move || {
                    let until = Instant::now() + timeout;
                    greet(stream, tls.as_deref(), &me, &claimed, &joiner, until, &greeted)
                };
                greeters.start();
                let handed = hand_off(&pending, "partyline-greet", move || {
                    match greeting() {
                        Ok(Some((rank, bundle))) => {
                            let _ = tx.send((rank, bundle));
                        }
                        Ok(None) => {}
                        Err(why) => {
                            log::warn_repeated(REFUSED, &format!("refused connection from {refused}: {why}"));
                            let _ = refusal_tx.send(format!("{refused}: {why}"));
                        }
                    }
                    done.end();
                });
                if !matches!(handed, Handoff::Started) {
                    greeters.end();
                }
                match handed {
                    Handoff::Started => {}
                    Handoff::Busy => log::warn_repeated(
                        REFUSED,
                        &format!("refused connection from {from}: too many handshakes in progress"),
                    ),
                    Handoff::NoThread => return Err(err!(Intern, "cannot start a handshake thread")),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => {
                // Out of descriptors and the like: the connection stays queued, so do not spin on it.
                log::warn_repeated("failed accepts", &format!("accept failed: {e}"));
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
    Ok(accepted)
}

/// Closes the greeters when the accept loop ends.
struct Closing<'a>(&'a Greeters);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The handshake threads still running. Those that refuse a stranger after the accept loop has
/// ended log into a fresh window of repeated warnings, and the last of them prints its count.
#[derive(Clone, Default)]
struct Greeters {
    live: Arc<AtomicUsize>,
    closed: Arc<AtomicBool>,
}

impl Greeters {
    fn start(&self) {
        self.live.fetch_add(1, Ordering::SeqCst);
    }

    /// A handshake thread has finished (or never started).
    fn end(&self) {
        // SeqCst with `close`: either this sees the loop closed or `close` flushes after this
        // thread's warning, so no count is left unprinted.
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 && self.closed.load(Ordering::SeqCst) {
            log::flush_repeated();
        }
    }

    /// The accept loop has ended: print the counts so far, as the job may end before the
    /// remaining handshakes do.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        log::flush_repeated();
    }
}

/// Runs TLS (if configured) and reads a connecting party's greeting, all within `deadline`, and
/// answers it; returns its rank and link when accepted, or nothing for an extra stream (held
/// in `joiner` for its link).
fn greet(
    stream: Conn,
    tls: Option<&Tls>,
    me: &Hello,
    claimed: &Mutex<HashSet<usize>>,
    joiner: &Joiner,
    deadline: Instant,
    from: &str,
) -> std::result::Result<Option<(usize, Bundle)>, String> {
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    stream.set_nodelay();
    let who = format!("the connection from {from}");
    let mut channel = Channel::accept(stream, deadline, tls).map_err(|e| {
        if tls.is_some() {
            crate::tls::explain(&who, &e)
        } else {
            e.to_string()
        }
    })?;
    let theirs = match Greeting::read_from(&mut channel, &who) {
        Ok(Greeting::Hello(h)) => h,
        Ok(Greeting::Join(join)) => return joiner.admit(join, channel, me, tls).map(|()| None),
        Ok(_) => return Err("it did not open with a greeting".into()),
        Err(e) => return Err(e.message),
    };
    let mut more = Vec::new();
    let refusal = me.mismatch(&theirs).or_else(|| {
        if theirs.rank <= me.rank {
            return Some(format!(
                "rank {} must wait for rank {} to connect to it, not connect itself; is PARTYLINE_RANK duplicated?",
                theirs.rank, me.rank
            ));
        }
        // Before claiming the rank, so an impostor cannot lock the real party out.
        if let Err(why) = channel.check_rank(tls, theirs.rank as usize) {
            return Some(why);
        }
        match joiner.take(theirs.rank as usize, 0) {
            Ok(streams) => more = streams,
            Err(why) => return Some(why),
        }
        let mut claimed = claimed.lock().unwrap_or_else(|p| p.into_inner());
        if !claimed.insert(theirs.rank as usize) {
            return Some(format!("rank {} is already connected: two parties claim the same rank", theirs.rank));
        }
        None
    });
    if let Some(why) = refusal {
        let _ = Greeting::Reject(why.clone()).write_to(&mut channel, &who);
        return Err(format!("claimed rank {}: {why}", theirs.rank));
    }
    Greeting::Accept(me.clone()).write_to(&mut channel, &who).map_err(|e| e.message)?;
    Ok(Some((theirs.rank as usize, Bundle { first: channel, more, checksums: me.checks || theirs.checks })))
}
