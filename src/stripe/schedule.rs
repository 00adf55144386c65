//! Which of a striped link's streams the next chunk is offered to, and how large it may be there.

/// Which streams to offer the next chunk of `len` bytes, in order, and how large a chunk each
/// gets, from each stream's `Lane::fit` (None: not measured).
///
/// Stream 0 first if it takes the chunk whole, so a message that fits goes out on one warm
/// flow; then the streams worth a chunk, the one taking most first, so bulk transfers keep them
/// all busy; unmeasured streams are offered the whole chunk. A chunk is never larger than what
/// its stream takes whole: a stream that takes part of a chunk must take the rest before any
/// other chunk moves.
pub(crate) fn schedule(fits: &[Option<(usize, bool)>], len: usize) -> Vec<(usize, usize)> {
    let mut order: Vec<(usize, usize)> = fits
        .iter()
        .enumerate()
        .filter_map(|(lane, fit)| match *fit {
            None => Some((lane, len)),
            Some((fit, true)) => Some((lane, fit)),
            Some((_, false)) => None,
        })
        .collect();
    let whole = order.first().is_some_and(|&(lane, fit)| lane == 0 && fit == len);
    order.sort_by_key(|&(lane, fit)| (!(whole && lane == 0), std::cmp::Reverse(fit)));
    order
}
