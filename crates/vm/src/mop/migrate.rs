//! Bulk instance migration (`migrateInstancesOf:to:` and its `defaults:` form): every
//! instance of a class becomes an instance of another in one pass over the object table,
//! keeping its identity. Same-named fields are copied, the new class's other fields start
//! as nil or as a given default, fields the new class lacks are dropped. The previous
//! fields of every object go into one undo record (moved, not copied), so a rollback or a
//! revert puts the old objects back exactly.

use super::session::{err, MopResult, UpdateSession};
use super::undo::Undo;
use crate::interpreter::Interp;
use crate::object::InstanceKind;
use crate::value::Value;

impl UpdateSession {
    /// `migrateInstancesOf: old to: new defaults: pairs` (`defaults` maps a field name
    /// of `new` to its initial value; fields neither copied nor given start as nil).
    /// Answers how many instances were migrated.
    pub fn migrate_instances(
        &mut self,
        app: &mut Interp,
        old: Value,
        new: Value,
        defaults: &[(String, Value)],
    ) -> MopResult<usize> {
        self.operations += 1;
        Self::require_class(app, old)?;
        Self::require_class(app, new)?;
        if old == new {
            return err(format!(
                "cannot migrate the instances of {} to the same class",
                app.space.class_name(old)
            ));
        }
        let (a, b) = (app.space.class_info(old), app.space.class_info(new));
        if a.is_meta || b.is_meta {
            return err("metaclasses have a single instance each: migrate classes with superclass: instead");
        }
        if a.kind != b.kind {
            return err(format!(
                "incompatible instance spec: {} ({:?}) vs {} ({:?})",
                app.space.class_name(old),
                a.kind,
                app.space.class_name(new),
                b.kind
            ));
        }
        if a.kind == InstanceKind::Class {
            return err("classes cannot be migrated as instances");
        }
        if super::active_code::stale_code(app, old, new).is_some() {
            // A block found may be garbage not collected yet: look again after a collection.
            self.collect_garbage_keeping_log(app);
            if let Some(reason) = super::active_code::stale_code(app, old, new) {
                return err(reason);
            }
        }
        let (a, b) = (app.space.class_info(old), app.space.class_info(new));
        let (old_fields, new_fields) = (a.instance_fields.clone(), b.instance_fields.clone());
        let nil = app.nil();
        let mut template = vec![nil; new_fields.len()];
        let mut given = vec![false; new_fields.len()];
        for (name, value) in defaults {
            let Some(j) = new_fields
                .iter()
                .position(|&f| app.space.str_of(f) == Some(name.as_str()))
            else {
                return err(format!("{} has no field named {name}", app.space.class_name(new)));
            };
            template[j] = *value;
            given[j] = true;
        }
        // A default wins over a same-named old field: it is what the script asked for.
        let copies: Vec<(usize, usize)> = new_fields
            .iter()
            .enumerate()
            .filter(|&(j, _)| !given[j])
            .filter_map(|(j, f)| old_fields.iter().position(|g| g == f).map(|i| (j, i)))
            .collect();
        let mut fields = Vec::new();
        let objects = app
            .space
            .heap
            .migrate_instances(old, new, &template, &copies, &mut fields);
        let n = objects.len();
        self.log.push(Undo::Migration {
            old,
            new,
            objects,
            fields,
            copies,
        });
        app.space.bump_epoch();
        self.note_class(app, new);
        self.summary.instances += n;
        Ok(n)
    }
}

impl UpdateSession {
    /// Migrates like `migrate_instances` (no defaults) and answers, for each migrated
    /// instance, a copy of it as it was (a new object of the old class with the old
    /// fields and contents) and the instance itself, for `migrateInstancesOf:to:using:`.
    pub fn migrate_instances_keeping_old(
        &mut self,
        app: &mut Interp,
        old: Value,
        new: Value,
    ) -> MopResult<Vec<(Value, Value)>> {
        Self::require_class(app, old)?;
        let kind = app.space.class_info(old).kind;
        if !matches!(
            kind,
            InstanceKind::Plain | InstanceKind::Indexable | InstanceKind::Str | InstanceKind::Double
        ) {
            return err(format!(
                "migrateInstancesOf:to:using: handles plain, indexable, string and double instances, not {kind:?}"
            ));
        }
        self.migrate_instances(app, old, new, &[])?;
        let Some(Undo::Migration { objects, fields, .. }) = self.log.last() else {
            unreachable!("migrate_instances logs a migration");
        };
        let mut before: Vec<(u32, Box<[Value]>)> = Vec::with_capacity(objects.len());
        let mut at = 0;
        for &(i, n) in objects {
            before.push((i, fields[at..at + n as usize].into()));
            at += n as usize;
        }
        let mut pairs = Vec::with_capacity(before.len());
        for (i, fields) in before {
            let after = Value::object(i);
            let body = clone_body(&app.space.heap.get(after).body);
            let copy = app.space.heap.alloc(crate::object::Object {
                class: old,
                fields,
                body,
            });
            pairs.push((copy, after));
        }
        Ok(pairs)
    }
}

/// A copy of the contents of a plain, indexable, string or double object.
fn clone_body(body: &crate::object::Body) -> crate::object::Body {
    use crate::object::Body;
    match body {
        Body::Array(items) => Body::Array(items.clone()),
        Body::Str(s) => Body::Str(s.as_str().into()),
        Body::Double(d) => Body::Double(*d),
        _ => Body::Plain,
    }
}
