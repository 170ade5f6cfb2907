//! The heap: collection keeps memory bounded, become swaps identities, instances are found.

mod common;
use common::interp;

#[test]
fn allocation_loop_stays_bounded() {
    let (mut i, _) = interp();
    i.eval("1 to: 2000000 do: [:k | Array new: 10]", "test").unwrap();
    i.collect_garbage();
    let live = i.space.heap.live_count();
    assert!(live < 200_000, "live objects after collection: {live}");
    assert!(i.space.heap.collections > 0, "the loop triggered collections by itself");
}

#[test]
fn collection_keeps_reachable_objects() {
    let (mut i, _) = interp();
    i.eval(
        "Keep := Array new: 3. Keep at: 1 put: 'kept'. 1 to: 500000 do: [:k | Array new: 4]",
        "test",
    )
    .unwrap();
    i.collect_garbage();
    let v = i.eval("(Keep at: 1) = 'kept'", "test").unwrap();
    assert_eq!(v, i.space.boolean(true));
}

#[test]
fn swap_identity_redirects_every_reference() {
    let (mut i, _) = interp();
    i.eval(
        "A := Array with: 1. B := 'bee'. Holder := Array with: A with: A",
        "test",
    )
    .unwrap();
    let a = i.eval("A", "test").unwrap();
    let b = i.eval("B", "test").unwrap();
    i.space.heap.swap_identity(a, b);
    let r = i
        .eval("(Holder at: 1) = 'bee' and: [(Holder at: 2) == A]", "test")
        .unwrap();
    assert_eq!(r, i.space.boolean(true));
}

#[test]
fn instances_of_sees_every_live_instance() {
    let (mut i, _) = interp();
    i.eval(
        "Points := Array new: 5. 1 to: 5 do: [:k | Points at: k put: k @ k]",
        "test",
    )
    .unwrap();
    i.collect_garbage();
    let point = i.load_class("Point").unwrap().unwrap();
    assert_eq!(i.space.heap.instances_of(point).len(), 5);
}
