/* circuits.h: boolean circuits on RSS-shared 64-bit arrays: equality and less-than. */
#ifndef MPC_CIRCUITS_H
#define MPC_CIRCUITS_H

#include "rss.h"

/* z = (a == b) as a 0/1 boolean sharing: XNOR, then an AND tree over the
 * 64 bits (6 AND gates and 6 rounds per element). */
void equal_circuit(shares *z, const shares *a, const shares *b, xchg_mode mode);

/* z = (a < b), unsigned, as a 0/1 boolean sharing: the carry out of
 * a + ~b + 1 from a Kogge-Stone adder (12 AND gates and 7 rounds per element). */
void less_than_circuit(shares *z, const shares *a, const shares *b, xchg_mode mode);

#endif
