//! Unit and property tests of src/group.rs against the MPI standard's definitions.

use super::*;
use proptest::prelude::*;

const PROC_NULL: i32 = -3;

fn g(members: &[usize]) -> Group {
    Group::new(members.to_vec())
}

#[test]
fn set_operations_keep_the_standards_order() {
    let a = g(&[5, 1, 3, 7]);
    let b = g(&[3, 9, 5, 2]);
    assert_eq!(*a.union(&b).members, vec![5, 1, 3, 7, 9, 2]);
    assert_eq!(*a.intersection(&b).members, vec![5, 3]);
    assert_eq!(*b.intersection(&a).members, vec![3, 5]);
    assert_eq!(*a.difference(&b).members, vec![1, 7]);
    assert_eq!(a.difference(&a).size(), 0);
    assert_eq!(a.union(&Group::empty()), a);
}

#[test]
fn incl_and_excl() {
    let a = g(&[10, 11, 12, 13, 14]);
    assert_eq!(*a.incl(&[4, 0, 2]).unwrap().members, vec![14, 10, 12]);
    assert_eq!(a.incl(&[]).unwrap().size(), 0);
    assert_eq!(*a.excl(&[4, 0, 2]).unwrap().members, vec![11, 13]);
    let e = a.incl(&[1, 1]).unwrap_err();
    assert!(e.message.contains("listed twice"), "{}", e.message);
    let e = a.excl(&[5]).unwrap_err();
    assert_eq!(e.class, crate::error::ErrorClass::Rank);
    assert!(e.message.contains("rank 5 is not in the group"), "{}", e.message);
    assert!(a.incl(&[-1]).is_err());
}

#[test]
fn ranges_follow_first_last_stride() {
    let a = Group::new((100..110).collect());
    let r = a.range_incl(&[[0, 9, 3], [8, 2, -3]]).unwrap();
    assert_eq!(*r.members, vec![100, 103, 106, 109, 108, 105, 102]);
    assert_eq!(*a.range_incl(&[[2, 2, 5]]).unwrap().members, vec![102]);
    assert_eq!(*a.range_excl(&[[0, 9, 2]]).unwrap().members, vec![101, 103, 105, 107, 109]);
    assert!(a.range_incl(&[[0, 9, 0]]).unwrap_err().message.contains("stride 0"));
    assert!(a.range_incl(&[[5, 1, 1]]).unwrap_err().message.contains("towards last"));
    assert!(a.range_incl(&[[0, 10, 1]]).unwrap_err().message.contains("last of range 0"));
    assert!(a.range_incl(&[[0, 4, 1], [4, 6, 1]]).unwrap_err().message.contains("twice"));
}

#[test]
fn translate_and_compare() {
    let a = g(&[4, 2, 0]);
    let b = g(&[0, 4]);
    let t = a.translate(&[0, 1, 2, PROC_NULL], &b, PROC_NULL).unwrap();
    assert_eq!(t, vec![Some(1), None, Some(0), Some(PROC_NULL)]);
    assert!(a.translate(&[3], &b, PROC_NULL).is_err());
    assert_eq!(a.compare(&g(&[4, 2, 0])), Likeness::Ident);
    assert_eq!(a.compare(&g(&[0, 2, 4])), Likeness::Similar);
    assert_eq!(a.compare(&b), Likeness::Unequal);
    assert_eq!(a.rank_of(0), Some(2));
    assert_eq!(a.rank_of(1), None);
    assert_ne!(a.digest(), g(&[0, 2, 4]).digest());
    assert_eq!(Group::empty().compare(&Group::empty()), Likeness::Ident);
}

/// A group over world ranks 0..16: a random subset in random order.
fn group() -> impl Strategy<Value = Group> {
    proptest::sample::subsequence((0..16usize).collect::<Vec<_>>(), 0..=16).prop_shuffle().prop_map(Group::new)
}

proptest! {
    #[test]
    fn set_operations_match_the_definitions(a in group(), b in group()) {
        // Reference model: straight from the standard's wording, by membership tests.
        let union: Vec<usize> = a.members.iter().copied()
            .chain(b.members.iter().copied().filter(|x| !a.members.contains(x))).collect();
        let inter: Vec<usize> = a.members.iter().copied().filter(|x| b.members.contains(x)).collect();
        let diff: Vec<usize> = a.members.iter().copied().filter(|x| !b.members.contains(x)).collect();
        prop_assert_eq!(&*a.union(&b).members, &union);
        prop_assert_eq!(&*a.intersection(&b).members, &inter);
        prop_assert_eq!(&*a.difference(&b).members, &diff);
        // Sizes: |A ∪ B| = |A| + |B| - |A ∩ B|.
        prop_assert_eq!(a.union(&b).size() + a.intersection(&b).size(), a.size() + b.size());
        let similar = a.union(&b).compare(&b.union(&a));
        prop_assert!(similar != Likeness::Unequal);
    }

    #[test]
    fn incl_excl_and_translate_agree(a in group(), picks in proptest::collection::vec(0..16usize, 0..16)) {
        let mut ranks: Vec<i32> = picks.iter().filter(|r| **r < a.size()).map(|r| *r as i32).collect();
        ranks.dedup();
        let mut seen = std::collections::HashSet::new();
        ranks.retain(|r| seen.insert(*r));
        let inc = a.incl(&ranks).unwrap();
        let exc = a.excl(&ranks).unwrap();
        prop_assert_eq!(inc.size() + exc.size(), a.size());
        prop_assert_eq!(inc.intersection(&exc).size(), 0);
        prop_assert_eq!(inc.union(&exc).compare(&a) != Likeness::Unequal, true);
        // Translating into the included group finds exactly the picked ranks, in order.
        let all: Vec<i32> = (0..a.size() as i32).collect();
        let t = a.translate(&all, &inc, PROC_NULL).unwrap();
        for (r, to) in t.iter().enumerate() {
            match ranks.iter().position(|x| *x == r as i32) {
                Some(pos) => prop_assert_eq!(*to, Some(pos as i32)),
                None => prop_assert_eq!(*to, None),
            }
        }
        // A range of stride 1 over everything is the whole group; excluding it leaves nothing.
        if a.size() > 0 {
            let last = a.size() as i32 - 1;
            prop_assert_eq!(a.range_incl(&[[0, last, 1]]).unwrap(), a.clone());
            prop_assert_eq!(a.range_excl(&[[last, 0, -1]]).unwrap().size(), 0);
        }
    }
}
