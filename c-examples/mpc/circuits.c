/* circuits.c: equality (XNOR + AND tree) and less-than (Kogge-Stone carry) on boolean shares. */
#include "circuits.h"

#include <string.h>

static void copy_shares(shares *dst, const shares *src) {
    memcpy(dst->s1, src->s1, sizeof(uint64_t) * (size_t)src->n);
    memcpy(dst->s2, src->s2, sizeof(uint64_t) * (size_t)src->n);
}

/* Elements [from, from+n) of x, without copying. */
static shares view(const shares *x, long from, long n) {
    shares v = {x->s1 + from, x->s2 + from, n};
    return v;
}

void equal_circuit(shares *z, const shares *a, const shares *b, xchg_mode mode) {
    long n = a->n;
    /* Every bit of ~(a ^ b) is 1 exactly when a == b. */
    xor_gate(z, a, b);
    xor_const(z, ~(uint64_t)0);
    /* Fold the 64 bits in halves: after 6 levels bit 0 is their AND. */
    shares t = shares_alloc(n);
    for (int k = 32; k >= 1; k /= 2) {
        shift_right(&t, z, k);
        and_gate(z, z, &t, mode);
    }
    and_const(z, 1);
    shares_free(&t);
}

void less_than_circuit(shares *z, const shares *a, const shares *b, xchg_mode mode) {
    long n = a->n;
    /* a < b (unsigned) exactly when a + ~b + 1 has no carry out of bit 63. */
    shares nb = shares_alloc(n), g = shares_alloc(n), p = shares_alloc(n);
    copy_shares(&nb, b);
    xor_const(&nb, ~(uint64_t)0);
    and_gate(&g, a, &nb, mode); /* generate: both bits set */
    xor_gate(&p, a, &nb);       /* propagate: exactly one set (never together with generate) */
    /* The carry-in of 1 makes bit 0 generate whenever it propagates. */
    shares p0 = shares_alloc(n);
    copy_shares(&p0, &p);
    and_const(&p0, 1);
    xor_gate(&g, &g, &p0);
    shares_free(&p0);

    /* Kogge-Stone prefix: at level s bit i absorbs the group ending s bits
     * lower, (g, p) <- (g ^ (p & g<<s), p & p<<s).  g and p of a group are
     * never both 1, so the OR of the textbook formula is an XOR.  Both ANDs
     * of a level go in one exchange of 2n elements. */
    shares x = shares_alloc(2 * n), y = shares_alloc(2 * n);
    for (int s = 1; s < 64; s *= 2) {
        shares xl = view(&x, 0, n), xh = view(&x, n, n), yl = view(&y, 0, n), yh = view(&y, n, n);
        int last = s == 32; /* the last level needs no new propagate */
        copy_shares(&xl, &p);
        shift_left(&yl, &g, s);
        if (last) {
            and_gate(&yl, &xl, &yl, mode);
        } else {
            copy_shares(&xh, &p);
            shift_left(&yh, &p, s);
            and_gate(&y, &x, &y, mode);
            copy_shares(&p, &yh);
        }
        xor_gate(&g, &g, &yl);
    }
    shares_free(&x);
    shares_free(&y);

    /* Bit 63 of g is now the carry out, that is a >= b. */
    shift_right(z, &g, 63);
    xor_const(z, 1);
    shares_free(&nb);
    shares_free(&g);
    shares_free(&p);
}
