//! What a revert of per-object MOP writes would overwrite. `slotAt:put:` records the
//! value it replaced and `swapIdentityWith:` the two identities; replaying them later puts
//! back the pre-update value or object even if the program has written there since the
//! update committed. At commit (`seal`) each such record keeps the state the update left —
//! the slot's value, or a fingerprint of each swapped object — and `conflicts` (asked
//! before a revert) compares: a revert is refused, naming the objects, once the program
//! changed any of them.

use super::undo::{SlotIndex, Undo};
use crate::interpreter::Interp;
use crate::object::{Body, Object};
use crate::value::Value;

/// A slot's present value, if the object still has that slot.
fn slot_value(app: &Interp, object: Value, index: SlotIndex) -> Option<Value> {
    let obj = app.space.heap.get(object);
    match index {
        SlotIndex::Field(i) => obj.fields.get(i).copied(),
        SlotIndex::Element(i) => match &obj.body {
            Body::Array(items) => items.get(i).copied(),
            _ => None,
        },
    }
}

/// A 64-bit fingerprint of an object's class, fields and contents (values by identity).
/// Cheap enough to take for a million swapped objects during a commit.
fn fingerprint(obj: &Object) -> u64 {
    #[inline]
    fn mix(h: u64, x: u64) -> u64 {
        (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
    }
    let mut h = mix(0, obj.class.raw());
    h = mix(h, obj.fields.len() as u64);
    for v in obj.fields.iter() {
        h = mix(h, v.raw());
    }
    match &obj.body {
        Body::Array(items) => {
            h = mix(h, items.len() as u64);
            for v in items {
                h = mix(h, v.raw());
            }
        }
        Body::Str(t) => {
            for chunk in t.as_str().as_bytes().chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                h = mix(h, u64::from_le_bytes(word));
            }
        }
        Body::Double(d) => h = mix(h, d.to_bits()),
        _ => {}
    }
    h
}

/// Called when a session commits with its undo log: every slot record keeps the value the
/// update left in its slot, every swap record the fingerprints of the two objects.
pub(super) fn seal(app: &Interp, log: &mut [Undo]) {
    for entry in log.iter_mut() {
        match entry {
            Undo::Slot {
                object, index, after, ..
            } => *after = slot_value(app, *object, *index),
            Undo::Swap { a, b, after } => {
                *after = Some((fingerprint(app.space.heap.get(*a)), fingerprint(app.space.heap.get(*b))));
            }
            _ => {}
        }
    }
}

/// Why a revert of `log` would overwrite what the program wrote since the commit, if it
/// would: the count of changed objects and the first one, described.
pub(super) fn conflicts(app: &Interp, log: &[Undo]) -> Option<String> {
    let mut changed = 0usize;
    let mut example = String::new();
    let mut note = |app: &Interp, object: Value, what: String| {
        changed += 1;
        if example.is_empty() {
            example = format!("{}{what}", super::mirrors::describe_in(app, object));
        }
    };
    for entry in log {
        match entry {
            Undo::Slot {
                object,
                index,
                after: Some(after),
                ..
            } if slot_value(app, *object, *index) != Some(*after) => {
                let slot = match *index {
                    SlotIndex::Field(i) => {
                        let class = app.space.class_of(*object);
                        let name = app.space.class_info(class).instance_fields.get(i).copied();
                        match name.and_then(|n| app.space.str_of(n)) {
                            Some(n) => format!(", field {n}"),
                            None => format!(", field {}", i + 1),
                        }
                    }
                    SlotIndex::Element(i) => format!(", element {}", i + 1),
                };
                note(app, *object, slot);
            }
            Undo::Swap {
                a,
                b,
                after: Some((fa, fb)),
            } => {
                for (v, f) in [(*a, *fa), (*b, *fb)] {
                    if fingerprint(app.space.heap.get(v)) != f {
                        note(app, v, String::new());
                    }
                }
            }
            _ => {}
        }
    }
    (changed > 0).then(|| {
        format!(
            "cannot revert: the update wrote objects one by one (slotAt:put:, swapIdentityWith:) and the program has changed {changed} of them since ({example}, ...); reverting would overwrite those changes: write an update that changes them back"
        )
    })
}
