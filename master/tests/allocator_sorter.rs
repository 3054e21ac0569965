//! Sorter contract tests, run against both the DRF and the random sorter, plus
//! policy-specific tests for each.

use std::collections::HashSet;

use mesos_master::allocator::quantities::{Quantities, ResourceNames};
use mesos_master::allocator::sorter::{DrfSorter, RandomSorter, SortCursor, Sorter};

fn names() -> ResourceNames {
    ResourceNames::new()
}

fn q(text: &str) -> Quantities {
    names().parse(text).unwrap()
}

fn sorters() -> Vec<(&'static str, Box<dyn Sorter>)> {
    let mask = names().share_mask();
    vec![
        ("drf", Box::new(DrfSorter::new(mask))),
        ("random", Box::new(RandomSorter::new(mask, 42))),
    ]
}

#[test]
fn contract_added_clients_are_inactive_until_activated() {
    for (kind, mut s) in sorters() {
        s.set_total(&q("cpus:100;mem:1000"));
        s.add(0, "a");
        s.add(1, "b");
        assert_eq!(s.count(), 2, "{kind}");
        assert!(s.contains(0) && s.contains(1), "{kind}");
        assert!(
            s.sort().is_empty(),
            "{kind}: inactive clients are not sorted"
        );
        s.activate(0);
        assert_eq!(s.sort(), vec![0], "{kind}");
        s.activate(1);
        s.activate(1);
        let mut all = s.sort();
        all.sort();
        assert_eq!(all, vec![0, 1], "{kind}: activate is idempotent");
        s.deactivate(0);
        assert_eq!(s.sort(), vec![1], "{kind}");
        assert_eq!(s.active_count(), 1, "{kind}");
        s.remove(1);
        assert!(!s.contains(1), "{kind}");
        assert_eq!(s.count(), 1, "{kind}");
        assert!(s.sort().is_empty(), "{kind}");
    }
}

#[test]
fn contract_allocation_is_tracked_per_client() {
    for (kind, mut s) in sorters() {
        s.set_total(&q("cpus:10;mem:100"));
        s.add(3, "x");
        s.activate(3);
        s.allocated(3, &q("cpus:2;mem:10"));
        s.allocated(3, &q("cpus:1"));
        s.unallocated(3, &q("cpus:2;mem:5"));
        assert_eq!(s.allocation(3), Some(&q("cpus:1;mem:5")), "{kind}");
        assert!(
            (s.share(3) - 0.1).abs() < 1e-9,
            "{kind}: dominant share is cpus 1/10"
        );
        assert_eq!(s.allocation(4), None, "{kind}");
    }
}

#[test]
fn contract_walk_returns_each_active_client_once_even_while_allocating() {
    for (kind, mut s) in sorters() {
        s.set_total(&q("cpus:1000;mem:1000"));
        for c in 0..50 {
            s.add(c, &format!("r{}/f{c}", c % 5));
            if c % 7 != 0 {
                s.activate(c);
            }
        }
        let mut cursor = SortCursor::new();
        let mut seen = HashSet::new();
        while let Some(c) = s.next(&mut cursor) {
            assert!(seen.insert(c), "{kind}: {c} returned twice");
            // Allocating moves the client later in DRF; it must not come back.
            s.allocated(c, &q("cpus:5"));
        }
        let expected: HashSet<_> = (0..50).filter(|c| c % 7 != 0).collect();
        assert_eq!(seen, expected, "{kind}");
    }
}

#[test]
fn contract_hierarchical_paths_and_virtual_leaves() {
    for (kind, mut s) in sorters() {
        s.set_total(&q("cpus:100"));
        s.add(0, "a");
        s.add(1, "a/b");
        s.add(2, "a/b/c");
        s.add(3, "d");
        for c in 0..4 {
            s.activate(c);
        }
        let mut order = s.sort();
        order.sort();
        assert_eq!(order, vec![0, 1, 2, 3], "{kind}");
        s.remove(1);
        s.remove(0);
        let mut order = s.sort();
        order.sort();
        assert_eq!(order, vec![2, 3], "{kind}");
        s.remove(2);
        s.add(5, "a/b");
        s.activate(5);
        let mut order = s.sort();
        order.sort();
        assert_eq!(order, vec![3, 5], "{kind}");
    }
}

#[test]
fn drf_orders_by_dominant_share() {
    let mut s = DrfSorter::new(names().share_mask());
    s.set_total(&q("cpus:100;mem:1000"));
    for c in 0..3 {
        s.add(c, &format!("f{c}"));
        s.activate(c);
    }
    assert_eq!(s.sort(), vec![0, 1, 2], "ties broken by insertion order");
    s.allocated(0, &q("cpus:10"));
    s.allocated(1, &q("mem:50"));
    assert_eq!(s.sort(), vec![2, 1, 0]);
    s.unallocated(0, &q("cpus:10"));
    assert_eq!(s.sort(), vec![0, 2, 1]);
}

#[test]
fn drf_weights_scale_shares() {
    let mut s = DrfSorter::new(names().share_mask());
    s.set_total(&q("cpus:100"));
    s.add(0, "heavy");
    s.add(1, "light");
    s.activate(0);
    s.activate(1);
    s.update_weight("heavy", 3.0);
    s.allocated(0, &q("cpus:29"));
    s.allocated(1, &q("cpus:10"));
    assert_eq!(s.sort(), vec![0, 1], "29/3 < 10/1");
    s.allocated(0, &q("cpus:2"));
    assert_eq!(s.sort(), vec![1, 0], "31/3 > 10/1");
    // Weights set before a client exists apply when it is added.
    s.update_weight("later", 10.0);
    s.add(2, "later");
    s.activate(2);
    s.allocated(2, &q("cpus:50"));
    assert_eq!(s.sort()[0], 2, "50/10 is the smallest share");
}

#[test]
fn drf_parent_share_includes_subtree_and_inactive_children() {
    let mut s = DrfSorter::new(names().share_mask());
    s.set_total(&q("cpus:100"));
    s.add(0, "a/x");
    s.add(1, "a/y");
    s.add(2, "b");
    for c in 0..3 {
        s.activate(c);
    }
    s.allocated(0, &q("cpus:30"));
    s.allocated(2, &q("cpus:20"));
    // a's subtree holds 30 > b's 20, so b first, then a's children (y before x).
    assert_eq!(s.sort(), vec![2, 1, 0]);
    s.deactivate(0);
    assert_eq!(s.sort(), vec![2, 1], "a/x's allocation still weighs on a");
}

#[test]
fn drf_excluded_resources_do_not_count() {
    let mut n = names();
    let total = n.parse("cpus:100;gpus:4").unwrap();
    let gpu_alloc = n.parse("cpus:1;gpus:4").unwrap();
    let cpu_alloc = n.parse("cpus:10").unwrap();
    n.set_fair_sharing_excluded(&["gpus".to_string()]).unwrap();
    let mut s = DrfSorter::new(n.share_mask());
    s.set_total(&total);
    s.add(0, "gpu");
    s.add(1, "cpu");
    s.activate(0);
    s.activate(1);
    s.allocated(0, &gpu_alloc);
    s.allocated(1, &cpu_alloc);
    assert_eq!(s.sort(), vec![0, 1], "gpus excluded: 1% < 10%");
    s.set_share_mask(names().share_mask());
    assert_eq!(s.sort(), vec![1, 0], "gpus counted: 100% > 10%");
}

#[test]
fn random_sorter_replays_from_its_seed_and_honours_weights() {
    let mask = names().share_mask();
    let mut a = RandomSorter::new(mask, 7);
    let mut b = RandomSorter::new(mask, 7);
    for s in [&mut a, &mut b] {
        for c in 0..20 {
            s.add(c, &format!("g{}/f{c}", c % 3));
            s.activate(c);
        }
    }
    let orders_a: Vec<_> = (0..10).map(|_| a.sort()).collect();
    let orders_b: Vec<_> = (0..10).map(|_| b.sort()).collect();
    assert_eq!(orders_a, orders_b, "same seed, same orders");
    assert!(
        orders_a.windows(2).any(|w| w[0] != w[1]),
        "orders vary between walks"
    );

    let mut w = RandomSorter::new(mask, 1);
    w.add(0, "heavy");
    w.add(1, "light");
    w.activate(0);
    w.activate(1);
    w.update_weight("heavy", 9.0);
    let firsts = (0..2000).filter(|_| w.sort()[0] == 0).count();
    // P(heavy first) = 9/10.
    assert!(
        (1650..=1950).contains(&firsts),
        "heavy first {firsts}/2000 times"
    );
}
