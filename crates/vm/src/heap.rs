//! The object table of one space: allocation, precise mark–sweep collection, `instances of`
//! and `swap identity`.
//!
//! Objects live in a table indexed by `Value::index()`. A reference is an index, so swapping
//! two table entries swaps the identities of two objects in O(1), and enumerating the
//! instances of a class is one scan. Collection only happens at interpreter safe points,
//! where every live value is reachable from the roots the interpreter hands in.

use crate::object::{Body, Object};
use crate::value::Value;

/// Allocation (in object units; big payloads are charged extra) between collections while
/// few objects are live. After each collection the threshold becomes the live count when
/// that is larger, so the table stays within about twice the live set and the cost of a
/// collection stays proportional to the allocation it pays for. (200,000 gave peaks of
/// 15–25 MB on the benchmarks; 20,000 gives 5–9 MB at the same speed; 64,000 roughly
/// halves the web application's time in collection, whose live set is 10–20 thousand
/// objects, but takes small programs to 11–12 MB, past twice Lua's peak: ADR 0015.)
const MIN_GC_THRESHOLD: usize = 20_000;

/// The object table of a space.
pub struct Heap {
    objects: Vec<Object>,
    marks: Vec<bool>,
    free_head: u32,
    free_count: usize,
    allocated_since_gc: usize,
    threshold: usize,
    /// Set when enough has been allocated that the next safe point should collect.
    pub gc_requested: bool,
    /// Number of collections so far.
    pub collections: u64,
    /// Time spent collecting, in total.
    pub gc_total: std::time::Duration,
    /// The longest collection (the program is stopped meanwhile).
    pub gc_longest: std::time::Duration,
}

impl Default for Heap {
    fn default() -> Self {
        Self::new()
    }
}

impl Heap {
    /// An empty heap.
    pub fn new() -> Heap {
        Heap {
            objects: Vec::with_capacity(1 << 16),
            marks: Vec::new(),
            free_head: u32::MAX,
            free_count: 0,
            allocated_since_gc: 0,
            threshold: MIN_GC_THRESHOLD,
            gc_requested: false,
            collections: 0,
            gc_total: std::time::Duration::ZERO,
            gc_longest: std::time::Duration::ZERO,
        }
    }

    /// Allocates an object and answers a reference to it.
    #[inline]
    pub fn alloc(&mut self, obj: Object) -> Value {
        self.allocated_since_gc += 1;
        if self.allocated_since_gc >= self.threshold {
            self.gc_requested = true;
        }
        if self.free_head != u32::MAX {
            let index = self.free_head;
            let slot = &mut self.objects[index as usize];
            self.free_head = match slot.body {
                Body::Free(next) => next,
                _ => unreachable!("free list points at a live object"),
            };
            self.free_count -= 1;
            *slot = obj;
            Value::object(index)
        } else {
            let index = self.objects.len() as u32;
            self.objects.push(obj);
            Value::object(index)
        }
    }

    /// Counts `n` more objects' worth of allocation (for objects with large payloads, so
    /// that memory, not just the object count, triggers collections).
    #[inline]
    pub fn charge(&mut self, n: usize) {
        self.allocated_since_gc += n;
        if self.allocated_since_gc >= self.threshold {
            self.gc_requested = true;
        }
    }

    /// The object a reference denotes.
    #[inline(always)]
    pub fn get(&self, v: Value) -> &Object {
        &self.objects[v.index()]
    }

    /// The object a reference denotes, mutably.
    #[inline(always)]
    pub fn get_mut(&mut self, v: Value) -> &mut Object {
        &mut self.objects[v.index()]
    }

    /// Number of live objects (table size minus free slots).
    pub fn live_count(&self) -> usize {
        self.objects.len() - self.free_count
    }

    /// Size of the object table (live and free slots).
    pub fn table_len(&self) -> usize {
        self.objects.len()
    }

    /// True if `v` refers to a live (not freed) object.
    pub fn is_live(&self, v: Value) -> bool {
        v.is_object() && v.index() < self.objects.len() && !matches!(self.objects[v.index()].body, Body::Free(_))
    }

    /// Swaps the identities of two objects: every reference to one now denotes the other.
    pub fn swap_identity(&mut self, a: Value, b: Value) {
        self.objects.swap(a.index(), b.index());
    }

    /// All live objects whose class is `class`.
    pub fn instances_of(&self, class: Value) -> Vec<Value> {
        self.objects
            .iter()
            .enumerate()
            .filter(|(_, o)| !matches!(o.body, Body::Free(_)) && o.class == class)
            .map(|(i, _)| Value::object(i as u32))
            .collect()
    }

    /// Bulk migration in one pass over the table: every live object of class `old` gets
    /// class `new` and fields built from `template` (the new fields' initial values) with
    /// `copies` (pairs of new index, old index) copied over. Identities are kept (the
    /// objects stay where they are). The previous fields go to `saved`, one after the
    /// other; the answer lists each migrated object's index and previous field count, in
    /// table order (together they are the undo record). Each object's field vector is
    /// resized in place where the allocator allows, so that no allocation per object is
    /// needed when the field count grows by one or two.
    pub fn migrate_instances(
        &mut self,
        old: Value,
        new: Value,
        template: &[Value],
        copies: &[(usize, usize)],
        saved: &mut Vec<Value>,
    ) -> Vec<(u32, u32)> {
        // Counting first sizes the undo record exactly (no regrowth of vectors of a
        // million entries while the application is paused).
        let mut count = 0;
        let mut values = 0;
        for o in self.objects.iter().filter(|o| o.class == old) {
            count += 1;
            values += o.fields.len();
        }
        let mut moved = Vec::with_capacity(count);
        saved.reserve_exact(values);
        for (i, obj) in self.objects.iter_mut().enumerate() {
            // Free slots have a SmallInteger for a class: they never match a class object.
            if obj.class != old {
                continue;
            }
            let start = saved.len();
            saved.extend_from_slice(&obj.fields);
            let mut fields = std::mem::take(&mut obj.fields).into_vec();
            fields.clear();
            fields.reserve_exact(template.len());
            fields.extend_from_slice(template);
            for &(to, from) in copies {
                if let Some(&v) = saved[start..].get(from) {
                    fields[to] = v;
                }
            }
            obj.fields = fields.into_boxed_slice();
            obj.class = new;
            moved.push((i as u32, (saved.len() - start) as u32));
        }
        moved
    }

    /// Undoes `migrate_instances`: gives each object class `old` and its previous fields
    /// (from `saved`, as `migrate_instances` wrote them), except that the fields the
    /// migration copied (`copies`, as given to it) take their present values back: what
    /// the program wrote into them since the migration is kept.
    pub fn unmigrate_instances(
        &mut self,
        old: Value,
        moved: &[(u32, u32)],
        saved: &[Value],
        copies: &[(usize, usize)],
    ) {
        let mut at = 0;
        let mut kept: Vec<(usize, Value)> = Vec::with_capacity(copies.len());
        for &(i, n) in moved {
            let n = n as usize;
            let obj = &mut self.objects[i as usize];
            kept.clear();
            kept.extend(
                copies
                    .iter()
                    .filter(|&&(to, from)| to < obj.fields.len() && from < n)
                    .map(|&(to, from)| (from, obj.fields[to])),
            );
            let mut fields = std::mem::take(&mut obj.fields).into_vec();
            fields.clear();
            fields.extend_from_slice(&saved[at..at + n]);
            for &(from, v) in &kept {
                fields[from] = v;
            }
            obj.fields = fields.into_boxed_slice();
            obj.class = old;
            at += n;
        }
    }

    /// Collects garbage: marks from `roots`, frees everything unmarked. Answers how many
    /// objects were freed and whether any method was among them (caches must then go).
    pub fn collect(&mut self, roots: &[Value]) -> (usize, bool) {
        let started = std::time::Instant::now();
        self.marks.clear();
        self.marks.resize(self.objects.len(), false);
        let mut stack: Vec<u32> = Vec::with_capacity(1024);
        for &r in roots {
            if let Some(i) = r.as_object() {
                if !self.marks[i as usize] {
                    self.marks[i as usize] = true;
                    stack.push(i);
                }
            }
        }
        while let Some(i) = stack.pop() {
            let marks = &mut self.marks;
            self.objects[i as usize].trace(|v| {
                if let Some(j) = v.as_object() {
                    if !marks[j as usize] {
                        marks[j as usize] = true;
                        stack.push(j);
                    }
                }
            });
        }
        // Sweep from the end: unmarked slots at the end of the table are dropped (the table
        // shrinks back after a burst, such as the garbage a migration leaves), the others
        // are chained so that the lowest free index is handed out first (new objects fill
        // the table from the front, next to each other, instead of in scattered order).
        let mut freed = 0;
        let mut freed_method = false;
        self.free_head = u32::MAX;
        self.free_count = 0;
        let mut tail = true;
        for i in (0..self.objects.len()).rev() {
            if self.marks[i] {
                tail = false;
                continue;
            }
            let obj = &mut self.objects[i];
            match obj.body {
                Body::Free(_) => {}
                Body::Method(_) => {
                    freed_method = true;
                    freed += 1;
                }
                _ => freed += 1,
            }
            if tail {
                self.objects.pop();
                continue;
            }
            *obj = Object {
                class: Value::small(0),
                fields: Box::new([]),
                body: Body::Free(self.free_head),
            };
            self.free_head = i as u32;
            self.free_count += 1;
        }
        self.allocated_since_gc = 0;
        self.threshold = MIN_GC_THRESHOLD.max(self.live_count());
        self.gc_requested = false;
        self.collections += 1;
        let took = started.elapsed();
        self.gc_total += took;
        self.gc_longest = self.gc_longest.max(took);
        (freed, freed_method)
    }
}
